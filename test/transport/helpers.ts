import { randomUUID } from 'node:crypto';
import type { Address } from '../../src/core/address.js';
import type { Runtime, TimerHandle } from '../../src/core/runtime.js';
import type {
  Hello,
  TransportHandler,
  TransportLogger,
  TransportOptions,
} from '../../src/transport/transport.js';

// ---- runtimes ----------------------------------------------------------------------------------

function nodeTimer(handle: TimerHandle): NodeJS.Timeout {
  return handle.__timer as NodeJS.Timeout;
}

/** A minimal real runtime for tests: wall clock, Node timers, Math.random, crypto UUIDs. */
export function realRuntime(): Runtime {
  return {
    clock: { now: () => Date.now() },
    timers: {
      after: (delayMs, fn) => ({ __timer: setTimeout(fn, delayMs) }),
      every: (periodMs, fn) => ({ __timer: setInterval(fn, periodMs) }),
      clear: (handle) => clearTimeout(nodeTimer(handle)),
      defer: (fn) => {
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

interface VirtualTimer {
  readonly id: number;
  at: number;
  readonly periodMs: number | null;
  readonly fn: () => void;
}

/**
 * Virtual time for deterministic tests: nothing runs until `run` is called; `defer`red callbacks
 * run before any timer, timers run in (time, creation) order and advance the clock.
 */
export class VirtualRuntime implements Runtime {
  private nowMs = 0;
  private ids = 0;
  private deferred: (() => void)[] = [];
  private readonly pending = new Map<number, VirtualTimer>();
  private seed = 1;

  readonly clock = { now: (): number => this.nowMs };

  readonly timers = {
    after: (delayMs: number, fn: () => void): TimerHandle => this.add(delayMs, null, fn),
    every: (periodMs: number, fn: () => void): TimerHandle => this.add(periodMs, periodMs, fn),
    clear: (handle: TimerHandle): void => {
      this.pending.delete(handle.__timer as number);
    },
    defer: (fn: () => void): void => {
      this.deferred.push(fn);
    },
  };

  readonly random = {
    next: (): number => {
      // xorshift32: deterministic, good enough for tests.
      let x = this.seed;
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      this.seed = x >>> 0;
      return this.seed / 0x1_0000_0000;
    },
    int: (bound: number): number => Math.floor(this.random.next() * bound),
    uuid: (): string => {
      const hex = Array.from({ length: 32 }, () => this.random.int(16).toString(16)).join('');
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    },
  };

  get now(): number {
    return this.nowMs;
  }

  /** Runs deferred callbacks and timers due up to `untilMs` (default: until nothing is left). */
  run(untilMs = Number.POSITIVE_INFINITY): void {
    for (;;) {
      if (this.deferred.length > 0) {
        const batch = this.deferred;
        this.deferred = [];
        for (const fn of batch) fn();
        continue;
      }
      let next: VirtualTimer | null = null;
      for (const t of this.pending.values()) {
        if (next === null || t.at < next.at || (t.at === next.at && t.id < next.id)) next = t;
      }
      if (next === null || next.at > untilMs) break;
      this.nowMs = Math.max(this.nowMs, next.at);
      if (next.periodMs === null) this.pending.delete(next.id);
      else next.at += Math.max(1, next.periodMs);
      next.fn();
    }
    if (Number.isFinite(untilMs)) this.nowMs = Math.max(this.nowMs, untilMs);
  }

  private add(delayMs: number, periodMs: number | null, fn: () => void): TimerHandle {
    this.ids += 1;
    const timer: VirtualTimer = { id: this.ids, at: this.nowMs + Math.max(0, delayMs), periodMs, fn };
    this.pending.set(timer.id, timer);
    return { __timer: timer.id };
  }
}

// ---- waiting on conditions ---------------------------------------------------------------------

interface Waiter {
  readonly check: () => boolean;
  readonly resolve: () => void;
}

/** Re-checks registered conditions whenever `notify` is called; no polling, no sleeps. */
export class Conditions {
  private waiters: Waiter[] = [];

  notify(): void {
    if (this.waiters.length === 0) return;
    const still: Waiter[] = [];
    const met: Waiter[] = [];
    for (const w of this.waiters) (w.check() ? met : still).push(w);
    this.waiters = still;
    for (const w of met) w.resolve();
  }

  /** Resolves once `check()` holds; rejects after `timeoutMs` naming `what` (a deadline, not a sleep). */
  until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`));
      }, timeoutMs);
      const waiter: Waiter = {
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.push(waiter);
    });
  }
}

// ---- handler and logger ------------------------------------------------------------------------

export interface ReceivedFrame {
  readonly from: Address;
  /** A copy: the transport's buffer is only valid during onFrame. */
  readonly frame: Buffer;
}

export interface Unreachable {
  readonly peer: Address;
  readonly reason: string;
}

/** Records everything a transport reports, copying frames. */
export class CollectingHandler implements TransportHandler {
  readonly hellos: Hello[] = [];
  readonly frames: ReceivedFrame[] = [];
  readonly unreachable: Unreachable[] = [];
  readonly changed = new Conditions();
  /** Returned from acceptPeer: null accepts. */
  refusal: string | null = null;

  acceptPeer(hello: Hello): string | null {
    this.hellos.push(hello);
    this.changed.notify();
    return this.refusal;
  }

  onFrame(from: Address, bytes: Buffer, start: number, end: number): void {
    this.frames.push({ from, frame: Buffer.from(bytes.subarray(start, end)) });
    this.changed.notify();
  }

  onPeerUnreachable(peer: Address, reason: string): void {
    this.unreachable.push({ peer, reason });
    this.changed.notify();
  }

  framesFrom(peer: Address): Buffer[] {
    return this.frames.filter((f) => f.from.equals(peer)).map((f) => f.frame);
  }

  until(check: (h: this) => boolean, what: string, timeoutMs?: number): Promise<void> {
    return this.changed.until(() => check(this), what, timeoutMs);
  }

  untilUnreachable(peer: Address, afterCount = 0): Promise<void> {
    return this.until(
      (h) => h.unreachable.filter((u) => u.peer.equals(peer)).length > afterCount,
      `onPeerUnreachable(${peer.toString()}) #${afterCount + 1}`,
    );
  }

  unreachableCount(peer: Address): number {
    return this.unreachable.filter((u) => u.peer.equals(peer)).length;
  }
}

export interface LogEntry {
  readonly level: 'info' | 'warn' | 'debug';
  readonly msg: string;
  readonly fields: Record<string, unknown>;
}

export class CollectingLogger implements TransportLogger {
  readonly entries: LogEntry[] = [];
  readonly changed = new Conditions();

  info(msg: string, fields?: object): void {
    this.add('info', msg, fields);
  }

  warn(msg: string, fields?: object): void {
    this.add('warn', msg, fields);
  }

  debug(msg: string, fields?: object): void {
    this.add('debug', msg, fields);
  }

  warnings(): LogEntry[] {
    return this.entries.filter((e) => e.level === 'warn');
  }

  /** Waits for a warning whose `reason` field contains `text`; returns it. */
  async untilWarning(text: string, timeoutMs?: number): Promise<LogEntry> {
    const find = (): LogEntry | undefined =>
      this.warnings().find((e) => typeof e.fields.reason === 'string' && e.fields.reason.includes(text));
    await this.changed.until(() => find() !== undefined, `a warning with reason containing '${text}'`, timeoutMs);
    return find()!;
  }

  private add(level: LogEntry['level'], msg: string, fields?: object): void {
    this.entries.push({ level, msg, fields: { ...(fields ?? {}) } as Record<string, unknown> });
    this.changed.notify();
  }
}

// ---- options -----------------------------------------------------------------------------------

export const TEST_CLUSTER = 'shoal-transport-test';

export function testOptions(port: number, overrides: Partial<TransportOptions> = {}): TransportOptions {
  return {
    host: '127.0.0.1',
    port,
    portAutoIncrement: true,
    portCount: 100,
    clusterName: TEST_CLUSTER,
    memberUuid: randomUUID(),
    memberName: `member-${port}`,
    frameBytesMax: 1024 * 1024,
    peerQueueBytesMax: 64 * 1024 * 1024,
    ...overrides,
  };
}

/** A frame carrying a sequence number and `padding` filler bytes. */
export function seqFrame(seq: number, padding = 0): Buffer {
  const frame = Buffer.alloc(4 + padding, seq & 0xff);
  frame.writeUInt32BE(seq, 0);
  return frame;
}
