/**
 * Load drivers shared by every side of a comparison (Shoal members, the ioredis client, the
 * local-owner scenario), so each figure pays the same caller overhead.
 *
 * - `driveConcurrent`: `concurrency` independent callers; each issues its next call as soon as
 *   the previous one settled (closed loop). Throughput counts calls completed inside the measured
 *   window, after a warm-up; then issuing stops and every call in flight is awaited, so the
 *   caller knows exactly which calls were acknowledged.
 * - `driveSequential`: one caller, one call at a time; latency of each call in µs.
 */
import { performance } from 'node:perf_hooks';
import { LatencyRecorder } from './stats.js';

export interface ConcurrentOptions {
  readonly concurrency: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Longest wait for calls in flight after the window closed; a hang fails the run. */
  readonly drainTimeoutMs?: number;
}

export interface ConcurrentResult {
  /** Calls completed inside the measured window. */
  readonly ops: number;
  readonly seconds: number;
  readonly opsPerSec: number;
  /** Every call acknowledged during the whole run (warm-up and drain included). */
  readonly acked: number;
  readonly errors: number;
  readonly firstError: string | null;
}

export interface SequentialOptions {
  readonly warmupMs: number;
  readonly durationMs: number;
}

export interface SequentialResult {
  readonly ops: number;
  readonly seconds: number;
  readonly opsPerSec: number;
  readonly p50us: number;
  readonly p99us: number;
  readonly meanUs: number;
  readonly acked: number;
  readonly errors: number;
  readonly firstError: string | null;
}

/** Issues call number `slot`'s next call; `onAck` learns each acknowledged call's slot and value. */
export type Issue = (slot: number) => Promise<unknown>;
export type OnAck = (slot: number, value: unknown) => void;
export type OnError = (slot: number, error: unknown) => void;

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

export async function driveConcurrent(opts: ConcurrentOptions, issue: Issue, onAck: OnAck, onError?: OnError): Promise<ConcurrentResult> {
  let running = true;
  let completed = 0;
  let errors = 0;
  let firstError: string | null = null;
  let inFlight = 0;
  let drained: (() => void) | null = null;
  let windowClosed: (() => void) | null = null;

  // The window is opened and closed by the clock, checked both by timers and every 64
  // completions: calls that complete without ever yielding to the event loop (a local owner
  // answers in microtasks) would otherwise starve the timers and never stop.
  const warmEnd = performance.now() + opts.warmupMs;
  const measureEnd = warmEnd + opts.durationMs;
  let countFrom = -1;
  let timeFrom = 0;
  let countTo = -1;
  let timeTo = 0;
  const tick = (now: number): void => {
    if (countFrom < 0 && now >= warmEnd) {
      countFrom = completed;
      timeFrom = now;
    }
    if (countFrom >= 0 && countTo < 0 && now >= measureEnd) {
      countTo = completed;
      timeTo = now;
      running = false;
      windowClosed?.();
    }
  };

  // One pair of callbacks per caller, made once: no closure per call in the driver.
  const callers = Array.from({ length: opts.concurrency }, (_, slot) => {
    const next = (): void => {
      if (running && (completed & 63) === 0) tick(performance.now());
      if (!running) {
        inFlight--;
        if (inFlight === 0 && drained !== null) drained();
        return;
      }
      issue(slot).then(ok, fail);
    };
    const ok = (value: unknown): void => {
      completed++;
      onAck(slot, value);
      next();
    };
    const fail = (error: unknown): void => {
      errors++;
      firstError ??= describe(error);
      onError?.(slot, error);
      next();
    };
    return next;
  });
  inFlight = callers.length;
  for (const start of callers) start();

  if (running) {
    await new Promise<void>((resolve) => {
      windowClosed = resolve;
      const poll = setInterval(() => {
        tick(performance.now());
        if (!running) clearInterval(poll);
      }, 5);
      if (!running) {
        clearInterval(poll);
        resolve();
      }
    });
  }
  if (inFlight > 0) {
    const drainTimeoutMs = opts.drainTimeoutMs ?? 30_000;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${inFlight} calls still in flight ${drainTimeoutMs} ms after the load stopped (lost responses?)`)), drainTimeoutMs);
      drained = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  const seconds = (timeTo - timeFrom) / 1000;
  const ops = countTo - countFrom;
  return { ops, seconds, opsPerSec: ops / seconds, acked: completed, errors, firstError };
}

export async function driveSequential(opts: SequentialOptions, issue: Issue, onAck: OnAck, onError?: OnError): Promise<SequentialResult> {
  const recorder = new LatencyRecorder();
  let acked = 0;
  let errors = 0;
  let firstError: string | null = null;
  let slot = 0;
  const started = performance.now();
  const measureFrom = started + opts.warmupMs;
  const end = measureFrom + opts.durationMs;
  let measuredOps = 0;
  let now = started;
  while (now < end) {
    const t0 = performance.now();
    try {
      const value = await issue(slot);
      now = performance.now();
      acked++;
      onAck(slot, value);
      if (t0 >= measureFrom) {
        recorder.add((now - t0) * 1000);
        measuredOps++;
      }
    } catch (error) {
      now = performance.now();
      errors++;
      firstError ??= describe(error);
      onError?.(slot, error);
    }
    slot++;
  }
  const seconds = (now - Math.max(measureFrom, started)) / 1000;
  const { p50, p99, mean } = recorder.summary();
  return { ops: measuredOps, seconds, opsPerSec: measuredOps / seconds, p50us: p50, p99us: p99, meanUs: mean, acked, errors, firstError };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
