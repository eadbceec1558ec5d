/**
 * `counterWithinAckedRange`: no acknowledged increment lost, none applied twice.
 *
 * For every counter, with `acked` the sum of increments whose call succeeded and `unknown` the sum
 * of those that ended indeterminate (or never ended):
 *
 *     acked ≤ final ≤ acked + unknown
 *
 * Calls that failed definitely (rejected before they were sent) count in neither. Two more clues
 * of a lost update are checked as they come, after every event (`AckedValues`): with positive
 * increments applied one at a time, no two acknowledged calls of one counter may answer the same
 * value; and at the end no acknowledged value may exceed the final value.
 *
 * Named partitions with asynchronous replicas: a failover to an asynchronous replica may lose the
 * increments still queued to it (the spec: committed work can be lost). Those, and only those, are
 * passed in as `allowance` per counter: the lower bound becomes `acked - allowance.acked`, and an
 * acknowledged value may exceed the final one by at most `allowance.total`.
 */
import type { Violation } from './types.js';

export const COUNTER_WITHIN_ACKED_RANGE = 'counterWithinAckedRange';

export type CallOutcome = 'pending' | 'ok' | 'failed' | 'indeterminate';

/** One increment call as the checker needs it. */
export interface CounterCallRecord {
  readonly counter: string;
  /** Positive amount added. */
  readonly amount: number;
  readonly outcome: CallOutcome;
  /** The value the call answered (outcome 'ok'). */
  readonly value?: number;
}

/** What a counter may have lost to failovers onto asynchronous replicas. */
export interface AsyncLossAllowance {
  /** Acknowledged increments the promoted asynchronous replica lacked. */
  readonly acked: number;
  /** All increments (acknowledged or not) it lacked. */
  readonly total: number;
}

export function counterWithinAckedRange(
  calls: Iterable<CounterCallRecord>,
  finals: ReadonlyMap<string, number>,
  at?: number,
  allowance?: ReadonlyMap<string, AsyncLossAllowance>,
): Violation[] {
  const acked = new Map<string, number>();
  const unknown = new Map<string, number>();
  const maxAck = new Map<string, number>();
  for (const c of calls) {
    if (c.outcome === 'ok') {
      acked.set(c.counter, (acked.get(c.counter) ?? 0) + c.amount);
      if (c.value !== undefined) maxAck.set(c.counter, Math.max(maxAck.get(c.counter) ?? -Infinity, c.value));
    } else if (c.outcome === 'indeterminate' || c.outcome === 'pending') {
      unknown.set(c.counter, (unknown.get(c.counter) ?? 0) + c.amount);
    }
  }
  const names = new Set([...acked.keys(), ...unknown.keys(), ...finals.keys()]);
  const out: Violation[] = [];
  for (const name of [...names].sort()) {
    const a = acked.get(name) ?? 0;
    const u = unknown.get(name) ?? 0;
    const f = finals.get(name) ?? 0;
    const lossAcked = allowance?.get(name)?.acked ?? 0;
    const lossTotal = allowance?.get(name)?.total ?? 0;
    if (f < a - lossAcked) {
      const excused = lossAcked > 0 ? ` (${lossAcked} more may be lost to failovers onto asynchronous replicas)` : '';
      out.push({ checker: COUNTER_WITHIN_ACKED_RANGE, at, message: `counter ${name}: final ${f} < ${a} acknowledged: ${a - f} acknowledged increment(s) lost${excused}` });
    } else if (f > a + u) {
      out.push({ checker: COUNTER_WITHIN_ACKED_RANGE, at, message: `counter ${name}: final ${f} > ${a} acknowledged + ${u} indeterminate: applied more than was asked (a call applied twice?)` });
    }
    const m = maxAck.get(name);
    if (m !== undefined && m - lossTotal > f) {
      out.push({ checker: COUNTER_WITHIN_ACKED_RANGE, at, message: `counter ${name}: a call was answered ${m} but the final value is ${f}: an acknowledged update was lost` });
    }
  }
  return out;
}

/**
 * Incremental half of the check, run as outcomes arrive: two acknowledged increments of one
 * counter answering the same value means both were applied to the same base (a lost update).
 */
export class AckedValues {
  private readonly seen = new Map<string, Set<number>>();

  /** Records one acknowledged call; returns a violation if its value was answered before. */
  add(counter: string, value: number, at?: number): Violation | null {
    let values = this.seen.get(counter);
    if (values === undefined) this.seen.set(counter, (values = new Set()));
    if (values.has(value)) {
      return { checker: COUNTER_WITHIN_ACKED_RANGE, at, message: `counter ${counter}: two acknowledged increments both answered ${value} (lost update)` };
    }
    values.add(value);
    return null;
  }

  /**
   * A failover to an asynchronous replica rolled `counter` back to `value`: the values answered
   * above it were lost with the replica's queue, and the new owner answers them again.
   */
  forgetAbove(counter: string, value: number): void {
    const values = this.seen.get(counter);
    if (values === undefined) return;
    for (const v of [...values]) if (v > value) values.delete(v);
  }
}
