/**
 * `singleOwnerPerPartitionVersion`: for every partition and every partition version, at most one
 * member ever runs an operation as that partition's owner. Two members accepting writes under the
 * same version means two owners (split brain, or a table that went backwards).
 *
 * Fed by the engine's `FaultSites.ownerRunning` observation, one call per operation run as owner;
 * `OwnerLedger.record` checks each one as it happens.
 *
 * Two sides of a split do not always share a version: the side that elects a new master moves
 * every version past the ones it recovered (see `PartitionService.recoverAsNewMaster`), so the
 * ledger also keeps who ran operations as each partition's owner and when (`ownersBetween`), which
 * shows two owners at once whatever their versions.
 */
import { short, type Violation } from './types.js';

export const SINGLE_OWNER_PER_PARTITION_VERSION = 'singleOwnerPerPartitionVersion';

export interface OwnerObservation {
  readonly memberUuid: string;
  readonly partitionId: number;
  readonly partitionVersion: number;
  readonly at?: number;
}

/** Consecutive operations one member ran as a partition's owner, with no other member's between. */
interface OwnerRun {
  readonly uuid: string;
  readonly from: number;
  to: number;
}

export class OwnerLedger {
  /** `partition:version` → first owner seen and when. */
  private readonly owners = new Map<string, { uuid: string; at: number | undefined }>();
  /**
   * Per partition, its owners' runs in time order. A new run starts only when another member runs
   * an operation as owner, so this grows with owner changes (and with the interleaving of a split),
   * not with the operations.
   */
  private readonly runs = new Map<number, OwnerRun[]>();
  /** Pairs already reported, so a long split reports once per (partition, version, member). */
  private readonly reported = new Set<string>();
  observations = 0;

  record(o: OwnerObservation): Violation | null {
    this.observations++;
    if (o.at !== undefined) this.noteRun(o.partitionId, o.memberUuid, o.at);
    const key = `${o.partitionId}:${o.partitionVersion}`;
    const first = this.owners.get(key);
    if (first === undefined) {
      this.owners.set(key, { uuid: o.memberUuid, at: o.at });
      return null;
    }
    if (first.uuid === o.memberUuid) return null;
    const pair = `${key}:${o.memberUuid}`;
    if (this.reported.has(pair)) return null;
    this.reported.add(pair);
    return {
      checker: SINGLE_OWNER_PER_PARTITION_VERSION,
      at: o.at,
      message: `partition ${o.partitionId} version ${o.partitionVersion}: member ${short(o.memberUuid)} ran an operation as owner, but ${short(first.uuid)} already did under the same version${first.at === undefined ? '' : ` (at ${first.at} ms)`}`,
    };
  }

  /**
   * The members that acted as owner of `partitionId` within [from, to] (observations with a time
   * only): each ran an operation as its owner in that window, or ran some before and after it with
   * no other member's in between. Two members in a window no ownership change falls into are two
   * owners at once.
   */
  ownersBetween(partitionId: number, from: number, to: number): string[] {
    const out = new Set<string>();
    for (const run of this.runs.get(partitionId) ?? []) if (run.from <= to && run.to >= from) out.add(run.uuid);
    return [...out];
  }

  private noteRun(partitionId: number, uuid: string, at: number): void {
    let list = this.runs.get(partitionId);
    if (list === undefined) this.runs.set(partitionId, (list = []));
    const last = list[list.length - 1];
    if (last !== undefined && last.uuid === uuid) last.to = Math.max(last.to, at);
    else list.push({ uuid, from: at, to: at });
  }
}

/** The whole check over a list of observations. */
export function singleOwnerPerPartitionVersion(observations: Iterable<OwnerObservation>): Violation[] {
  const ledger = new OwnerLedger();
  const out: Violation[] = [];
  for (const o of observations) {
    const v = ledger.record(o);
    if (v !== null) out.push(v);
  }
  return out;
}
