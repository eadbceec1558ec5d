import { randomUUID } from 'node:crypto';
import type { Runtime, TimerHandle } from '../core/runtime.js';

/** The real runtime: wall clock, Node timers, crypto randomness. */
export function createNodeRuntime(): Runtime {
  const start = performance.now();
  const epoch = Date.now();
  return {
    clock: { now: () => epoch + (performance.now() - start) },
    timers: {
      after(delayMs, fn) {
        const t = setTimeout(fn, delayMs);
        t.unref();
        return { __timer: t };
      },
      every(periodMs, fn) {
        const t = setInterval(fn, periodMs);
        t.unref();
        return { __timer: t };
      },
      clear(handle: TimerHandle) {
        clearTimeout(handle.__timer as NodeJS.Timeout);
      },
      defer(fn) {
        setImmediate(fn);
      },
    },
    random: {
      next: () => Math.random(),
      int: (bound) => Math.floor(Math.random() * bound),
      uuid: () => randomUUID(),
    },
  };
}
