/**
 * Virtual time for the simulator: one clock and one timer queue for the whole simulated cluster,
 * and a `Runtime` view of it per simulated process (member incarnation).
 *
 * Timers run one at a time in (time, sequence) order; the sequence number is taken when a timer
 * is armed, so two timers due at the same virtual millisecond run in the order they were armed.
 * `defer` is a timer with zero delay. A paused process's timers that come due are held and run
 * when it resumes (late, as after a long GC pause); a dead process's timers never run.
 */
import type { Random, Runtime, TimerHandle } from '../core/runtime.js';

export interface SimTimer {
  at: number;
  seq: number;
  readonly fn: () => void;
  readonly owner: SimProcess | null;
  /** > 0 for a periodic timer. */
  readonly periodMs: number;
  cancelled: boolean;
  /** Diagnostic label (shown in traces of simulator-level timers). */
  readonly label: string;
}

/** Min-heap of timers ordered by (at, seq). */
class TimerHeap {
  private readonly items: SimTimer[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): SimTimer | undefined {
    return this.items[0];
  }

  push(t: SimTimer): void {
    const items = this.items;
    items.push(t);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(items[i], items[parent])) break;
      [items[i], items[parent]] = [items[parent], items[i]];
      i = parent;
    }
  }

  pop(): SimTimer | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < items.length && before(items[l], items[m])) m = l;
        if (r < items.length && before(items[r], items[m])) m = r;
        if (m === i) break;
        [items[i], items[m]] = [items[m], items[i]];
        i = m;
      }
    }
    return top;
  }
}

function before(a: SimTimer, b: SimTimer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** What a timer callback that throws is reported as. */
export type TimerErrorHandler = (owner: SimProcess | null, error: unknown) => void;

export class Scheduler {
  private nowMs = 0;
  private seq = 0;
  private readonly heap = new TimerHeap();
  /** Timers run so far. */
  fired = 0;
  onError: TimerErrorHandler = (_owner, error) => {
    throw error;
  };

  get now(): number {
    return this.nowMs;
  }

  /** Arms a timer `delayMs` from now (negative or NaN delays count as zero). */
  schedule(owner: SimProcess | null, delayMs: number, fn: () => void, periodMs = 0, label = ''): SimTimer {
    const delay = delayMs > 0 ? delayMs : 0;
    const t: SimTimer = { at: this.nowMs + delay, seq: ++this.seq, fn, owner, periodMs, cancelled: false, label };
    this.heap.push(t);
    return t;
  }

  /** Puts an existing timer back in the queue at `at` (a new sequence number: it goes last among equals). */
  requeue(t: SimTimer, at: number): void {
    t.at = Math.max(at, this.nowMs);
    t.seq = ++this.seq;
    this.heap.push(t);
  }

  /** Virtual time of the next live timer, or undefined when none is armed. */
  nextAt(): number | undefined {
    for (;;) {
      const top = this.heap.peek();
      if (top === undefined) return undefined;
      if (!top.cancelled) return top.at;
      this.heap.pop();
    }
  }

  /**
   * Runs the next timer due at or before `untilMs`, advancing the clock to it. Returns false when
   * no timer is due by then (the clock is not moved).
   */
  runNext(untilMs: number): boolean {
    const at = this.nextAt();
    if (at === undefined || at > untilMs) return false;
    const t = this.heap.pop() as SimTimer;
    this.nowMs = Math.max(this.nowMs, t.at);
    const owner = t.owner;
    if (owner !== null) {
      if (owner.dead) return true;
      if (owner.paused) {
        owner.held.push(t);
        return true;
      }
    }
    if (t.periodMs > 0) this.requeue(t, this.nowMs + t.periodMs);
    this.fired++;
    try {
      t.fn();
    } catch (error) {
      this.onError(owner, error);
    }
    return true;
  }

  /** Moves the clock forward to `ms` (never backwards). */
  advanceTo(ms: number): void {
    if (ms > this.nowMs) this.nowMs = ms;
  }

  /** Armed timers, including cancelled ones not yet discarded. */
  get queued(): number {
    return this.heap.size;
  }
}

/**
 * One simulated process (a member incarnation): its timers, its pause state, its random stream.
 * `runtime` is what the engine gets; nothing in it reads the wall clock or Math.random.
 */
export class SimProcess {
  paused = false;
  dead = false;
  /** Timers that came due while paused, in the order they came due. */
  readonly held: SimTimer[] = [];
  readonly runtime: Runtime;

  constructor(
    readonly name: string,
    private readonly scheduler: Scheduler,
    random: Random,
  ) {
    const s = scheduler;
    this.runtime = {
      clock: { now: () => s.now },
      timers: {
        after: (delayMs, fn) => handle(s.schedule(this, delayMs, fn)),
        every: (periodMs, fn) => handle(s.schedule(this, periodMs, fn, Math.max(1, periodMs))),
        clear: (h: TimerHandle) => {
          const t = h.__timer as SimTimer | undefined;
          if (t !== undefined) t.cancelled = true;
        },
        defer: (fn) => {
          s.schedule(this, 0, fn);
        },
      },
      random,
    };
  }

  /** Stops running timers (they are held until `resume`). */
  pause(): void {
    this.paused = true;
  }

  /** Runs the held timers next, in the order they came due. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const held = this.held.splice(0);
    for (const t of held) if (!t.cancelled) this.scheduler.requeue(t, this.scheduler.now);
  }

  /** The process is gone: none of its timers runs again. */
  kill(): void {
    this.dead = true;
    this.paused = false;
    this.held.length = 0;
  }
}

function handle(t: SimTimer): TimerHandle {
  return { __timer: t };
}
