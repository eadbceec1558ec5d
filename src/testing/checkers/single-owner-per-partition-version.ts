/**
 * `singleOwnerPerPartitionVersion`: for every partition and every partition version, at most one
 * member ever runs an operation as that partition's owner. Two members accepting writes under the
 * same version means two owners (split brain, or a table that went backwards).
 *
 * Fed by the engine's `FaultSites.ownerRunning` observation, one call per operation run as owner;
 * `OwnerLedger.record` checks each one as it happens.
 */
import { short, type Violation } from './types.js';

export const SINGLE_OWNER_PER_PARTITION_VERSION = 'singleOwnerPerPartitionVersion';

export interface OwnerObservation {
  readonly memberUuid: string;
  readonly partitionId: number;
  readonly partitionVersion: number;
  readonly at?: number;
}

export class OwnerLedger {
  /** `partition:version` → first owner seen and when. */
  private readonly owners = new Map<string, { uuid: string; at: number | undefined }>();
  /** Pairs already reported, so a long split reports once per (partition, version, member). */
  private readonly reported = new Set<string>();
  observations = 0;

  record(o: OwnerObservation): Violation | null {
    this.observations++;
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
