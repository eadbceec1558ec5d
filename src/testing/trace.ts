/**
 * The record of one simulated run: every fault, call, outcome and frame, stamped with virtual
 * time, folded into a SHA-256 hash. Same seed and same code ⇒ same hash; the test suite checks it.
 *
 * Frames are hashed by their bytes (the encoded wire payload), so a change in what the engine
 * sends, in what order or when, changes the hash. Only the last lines are kept as text (to print
 * with a failure) unless `keepAll` asks for the whole trace.
 */
import { createHash, type Hash } from 'node:crypto';

export class Trace {
  private readonly hash: Hash = createHash('sha256');
  private readonly tail: string[] = [];
  private tailHead = 0;
  private digestValue: string | null = null;
  /** Every line, when `keepAll`. */
  readonly lines: string[] | null;
  /** Lines and frames recorded. */
  entries = 0;

  constructor(
    keepAll = false,
    private readonly tailMax = 200,
  ) {
    this.lines = keepAll ? [] : null;
  }

  /** One event at virtual time `now`. */
  record(now: number, line: string): void {
    const text = `${formatTime(now)} ${line}`;
    if (this.digestValue === null) {
      this.hash.update(text);
      this.hash.update('\n');
    }
    this.entries++;
    this.lines?.push(text);
    if (this.tail.length < this.tailMax) this.tail.push(text);
    else {
      this.tail[this.tailHead] = text;
      this.tailHead = (this.tailHead + 1) % this.tailMax;
    }
  }

  /** One frame handed to the network (hashed by content; kept as text only with `keepAll`). */
  frame(now: number, from: string, to: string, payload: Uint8Array, decision: string): void {
    if (this.digestValue !== null) return;
    this.hash.update(`${now}|${from}|${to}|${decision}|`);
    this.hash.update(payload);
    this.entries++;
    this.lines?.push(`${formatTime(now)} frame ${from}->${to} kind=${payload[0] ?? -1} bytes=${payload.length} ${decision}`);
  }

  /** The last lines recorded, oldest first. */
  recent(): string[] {
    return [...this.tail.slice(this.tailHead), ...this.tail.slice(0, this.tailHead)];
  }

  /** Hex digest (first 16 bytes) of everything recorded so far; later records no longer count. */
  digest(): string {
    this.digestValue ??= this.hash.digest('hex').slice(0, 32);
    return this.digestValue;
  }
}

/** `12.345s`: virtual milliseconds as seconds with three decimals. */
export function formatTime(ms: number): string {
  return `${(ms / 1000).toFixed(3)}s`;
}

/** Counts of injected faults (and other notable events) by kind. */
export class FaultCounter {
  private readonly counts = new Map<string, number>();

  count(kind: string, n = 1): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + n);
  }

  get(kind: string): number {
    return this.counts.get(kind) ?? 0;
  }

  /** Kinds in alphabetical order. */
  toObject(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const k of [...this.counts.keys()].sort()) out[k] = this.counts.get(k)!;
    return out;
  }

  /** Adds another counter's (or a plain record's) counts into this one. */
  add(other: Record<string, number>): void {
    for (const [k, v] of Object.entries(other)) this.count(k, v);
  }
}
