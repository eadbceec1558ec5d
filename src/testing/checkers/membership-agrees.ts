/**
 * `membershipAgrees`: after the cluster settled, every live member has the same member list
 * (same version, same members in the same order), that list is exactly the live members, and no
 * dead member is listed or holds a partition replica.
 */
import { short, type MemberView, type Violation } from './types.js';

export const MEMBERSHIP_AGREES = 'membershipAgrees';

export function membershipAgrees(views: readonly MemberView[], deadUuids: Iterable<string> = [], at?: number): Violation[] {
  const out: Violation[] = [];
  if (views.length === 0) return out;
  const v = (message: string): void => {
    out.push({ checker: MEMBERSHIP_AGREES, message, at });
  };
  const ref = views[0];
  for (const view of views.slice(1)) {
    if (view.memberListVersion !== ref.memberListVersion || view.memberUuids.join(',') !== ref.memberUuids.join(',')) {
      v(`member ${short(view.uuid)} has list v${view.memberListVersion} [${view.memberUuids.map(short).join(' ')}], member ${short(ref.uuid)} has v${ref.memberListVersion} [${ref.memberUuids.map(short).join(' ')}]`);
    }
  }
  const live = new Set(views.map((x) => x.uuid));
  const dead = new Set(deadUuids);
  for (const view of views) {
    for (const u of view.memberUuids) {
      if (dead.has(u)) v(`member ${short(view.uuid)} still lists dead member ${short(u)}`);
      else if (!live.has(u)) v(`member ${short(view.uuid)} lists ${short(u)}, which is not a live member`);
    }
    for (const u of live) if (!view.memberUuids.includes(u)) v(`member ${short(view.uuid)} does not list live member ${short(u)}`);
    const t = view.table;
    for (let p = 0; p < t.partitionCount; p++) {
      const holder = t.replicas[p].find((m) => m !== null && dead.has(m));
      if (holder != null) {
        v(`member ${short(view.uuid)}: partition ${p} is still assigned to dead member ${short(holder)}`);
        break;
      }
    }
  }
  return out;
}
