/**
 * Split-brain healing: finding another cluster of the same name after a network split healed, and
 * deciding which of the two merges into the other (sans-I/O: plain data in, decisions out).
 *
 * While the network is split, each side removes the other's members (missed heartbeats), and the
 * side without the master elects its own (the oldest member it still hears from). After the heal
 * nothing brings them back: each master talks only to its own members. So every master, every
 * `intervalMs`, sends a probe to the addresses it knows but that are not in its list (its seeds,
 * and members it removed): a member of another cluster answers with its cluster's view (master,
 * members, list version). When the view is of another cluster, the smaller one merges into the
 * larger (equal sizes: the one whose master has the higher address merges), as Hazelcast does. A
 * master that learns of another cluster from a probe probes that cluster's master in turn, so
 * both sides decide on fresh answers, never on a probe that waited out the split in a queue.
 *
 * Merging members leave their cluster without a goodbye and join the other one's master; what
 * they held of hashed partitions is dropped (the other side's copy stands), and what they held of
 * named partitions is kept aside until the application enables those partitions again (the
 * multi-master restore of the named-partition model; see named-partitions.ts).
 */
import { compareAddress, type MemberList } from './membership.js';

/** What a member says about its cluster. */
export interface ClusterView {
  readonly masterUuid: string;
  readonly masterAddress: string;
  /** Member uuids, oldest (master) first. */
  readonly memberUuids: readonly string[];
  readonly listVersion: number;
}

export function viewOf(list: MemberList): ClusterView | null {
  const master = list.members[0];
  if (master === undefined) return null;
  return { masterUuid: master.uuid, masterAddress: master.address, memberUuids: list.members.map((m) => m.uuid), listVersion: list.version };
}

/**
 * Whether `remote` is another cluster than ours (`local`, as seen by `localUuid`): no member in
 * common. A view that still lists us, or a master we list, is our own cluster seen late.
 */
export function isForeign(local: ClusterView, localUuid: string, remote: ClusterView): boolean {
  if (remote.memberUuids.includes(localUuid) || remote.masterUuid === local.masterUuid) return false;
  const ours = new Set(local.memberUuids);
  return !remote.memberUuids.some((u) => ours.has(u));
}

/** Whether our cluster (`local`) merges into `remote`: the smaller one does; on a tie, the one whose master's address is higher. */
export function mergesInto(local: ClusterView, remote: ClusterView): boolean {
  if (local.memberUuids.length !== remote.memberUuids.length) return local.memberUuids.length < remote.memberUuids.length;
  return compareAddress(local.masterAddress, remote.masterAddress) > 0;
}

/** Addresses a master probes, and when it last probed each. */
export class ProbeTargets {
  /** Address → when it was last a member (removed members), oldest first. */
  private readonly removed = new Map<string, number>();
  private readonly lastProbe = new Map<string, number>();

  constructor(private readonly rememberedMax = 256) {}

  /** Members removed from our list: the other side of a split, maybe. */
  noteRemoved(addresses: readonly string[], now: number): void {
    for (const a of addresses) {
      this.removed.delete(a);
      this.removed.set(a, now);
    }
    while (this.removed.size > this.rememberedMax) {
      const oldest = this.removed.keys().next().value;
      if (oldest === undefined) break;
      this.removed.delete(oldest);
    }
  }

  /** Addresses due for a probe (`intervalMs` since the last one), not our own members; marks them probed. */
  due(seeds: readonly string[], members: ReadonlySet<string>, self: string, now: number, intervalMs: number): string[] {
    // Forget probe times long past (masters of other clusters probed once, addresses dropped).
    for (const [a, at] of this.lastProbe) if (now - at > 10 * intervalMs) this.lastProbe.delete(a);
    const out: string[] = [];
    for (const a of new Set([...seeds, ...this.removed.keys()])) {
      if (a === self || members.has(a)) continue;
      const last = this.lastProbe.get(a);
      if (last !== undefined && now - last < intervalMs) continue;
      this.lastProbe.set(a, now);
      out.push(a);
    }
    return out;
  }

  /** Whether `address` may be probed now (not within `intervalMs` / 2 of the last probe); marks it probed. */
  mayProbe(address: string, now: number, intervalMs: number): boolean {
    const last = this.lastProbe.get(address);
    if (last !== undefined && now - last < intervalMs / 2) return false;
    this.lastProbe.set(address, now);
    return true;
  }
}
