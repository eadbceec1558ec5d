/**
 * The only sources of time, timers and entropy the engine may use.
 *
 * Everything above `core/` receives a `Runtime`; the real one (engine/node-runtime.ts) wraps
 * the wall clock, Node's timers and crypto, the simulator's wraps a virtual clock and a seeded
 * PRNG. Nothing in src/ outside the real runtime reads the clock or an unseeded random source,
 * which is what makes a simulator seed replay byte for byte.
 */
export interface TimerHandle {
  /** Opaque; only passed back to `Timers.clear`. */
  readonly __timer: unknown;
}

export interface Clock {
  /** Milliseconds, monotonic within one member. */
  now(): number;
}

export interface Timers {
  /** Runs `fn` once after `delayMs`. */
  after(delayMs: number, fn: () => void): TimerHandle;
  /** Runs `fn` every `periodMs` until cleared. */
  every(periodMs: number, fn: () => void): TimerHandle;
  clear(handle: TimerHandle): void;
  /** Runs `fn` after the current batch of I/O callbacks (Node's check phase). */
  defer(fn: () => void): void;
}

export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, bound). */
  int(bound: number): number;
  /** 128 random bits as a lower-case UUID-shaped string. */
  uuid(): string;
}

export interface Runtime {
  readonly clock: Clock;
  readonly timers: Timers;
  readonly random: Random;
}
