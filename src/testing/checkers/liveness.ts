/**
 * `liveness`: after the faults stop and the network heals, the cluster converges within a bound
 * of virtual time: every pending call completes (with a result or an error), migrations finish,
 * and the other checkers pass. The simulator runs the cluster until `converged` or the bound; this
 * checker turns what was still unfinished at the bound into a violation.
 */
import type { Violation } from './types.js';

export const LIVENESS = 'liveness';

export interface LivenessObservation {
  /** When the faults stopped and the network healed. */
  readonly healedAt: number;
  /** The bound, ms after `healedAt`. */
  readonly boundMs: number;
  /** Now (virtual ms). */
  readonly now: number;
  /** True once everything converged. */
  readonly converged: boolean;
  /** Calls still pending. */
  readonly pendingCalls: number;
  /** What was still unfinished (one line each): unsafe members, disagreements, … */
  readonly unfinished: readonly string[];
}

export function liveness(o: LivenessObservation): Violation[] {
  if (o.converged || o.now - o.healedAt < o.boundMs) return [];
  const what = [...(o.pendingCalls > 0 ? [`${o.pendingCalls} call(s) still pending`] : []), ...o.unfinished];
  return [
    {
      checker: LIVENESS,
      at: o.now,
      message: `no convergence within ${o.boundMs} ms after heal: ${what.slice(0, 6).join('; ')}${what.length > 6 ? `; … ${what.length - 6} more` : ''}`,
    },
  ];
}
