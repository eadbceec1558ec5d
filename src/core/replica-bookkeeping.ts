/**
 * Per-partition replication bookkeeping (sans-I/O).
 *
 * Replica versions: the owner counts the backup operations it sends for each partition; a backup
 * counts those it applied. A backup receiving version v applies it only when it holds v-1; a
 * higher v means it missed one (a lost async backup, a dropped connection) and must be re-synced.
 *
 * Call records: the owner remembers, per partition, the responses of calls it applied, keyed by
 * the caller's call key. They travel with backups and migrations, so a call retried after its
 * owner died is answered from the record on the promoted backup instead of being applied twice.
 * Bounded by count per partition and by age.
 */

export const enum BackupVerdict {
  /** Version is the next one: apply it. */
  APPLY = 0,
  /** Already applied (a duplicate or an old retry): acknowledge, do not apply. */
  DUPLICATE = 1,
  /** One or more earlier versions are missing: the replica is dirty and needs a full copy. */
  GAP = 2,
}

export class ReplicaVersions {
  private readonly versions: Float64Array;
  private readonly dirty: Uint8Array;

  constructor(partitionCount: number) {
    this.versions = new Float64Array(partitionCount);
    this.dirty = new Uint8Array(partitionCount);
  }

  get(partitionId: number): number {
    return this.versions[partitionId];
  }

  set(partitionId: number, version: number): void {
    this.versions[partitionId] = version;
    this.dirty[partitionId] = 0;
  }

  /** Owner side: the version for the next backup of this partition. */
  next(partitionId: number): number {
    return ++this.versions[partitionId];
  }

  /** Backup side: decide what to do with backup `version`. A gap marks the replica dirty. */
  check(partitionId: number, version: number): BackupVerdict {
    if (this.dirty[partitionId] === 1) return BackupVerdict.GAP;
    const current = this.versions[partitionId];
    if (version === current + 1) return BackupVerdict.APPLY;
    if (version <= current) return BackupVerdict.DUPLICATE;
    this.dirty[partitionId] = 1;
    return BackupVerdict.GAP;
  }

  isDirty(partitionId: number): boolean {
    return this.dirty[partitionId] === 1;
  }

  markDirty(partitionId: number): void {
    this.dirty[partitionId] = 1;
  }

  clear(partitionId: number): void {
    this.versions[partitionId] = 0;
    this.dirty[partitionId] = 0;
  }
}

export interface CallRecord {
  readonly response: unknown;
  readonly at: number;
}

export interface CallRecordLimits {
  /** Most records kept per partition; the oldest go first. */
  readonly recordsPerPartitionMax: number;
  /** Records older than this are dropped (a retry later than this is no longer deduplicated). */
  readonly recordAgeMaxMs: number;
}

export class CallRecords {
  private readonly byPartition: (Map<string, CallRecord> | undefined)[];
  private readonly limits: CallRecordLimits;

  constructor(partitionCount: number, limits: CallRecordLimits) {
    this.byPartition = new Array<Map<string, CallRecord> | undefined>(partitionCount);
    this.limits = limits;
  }

  get(partitionId: number, callKey: string, now: number): CallRecord | undefined {
    const map = this.byPartition[partitionId];
    const record = map?.get(callKey);
    if (record === undefined) return undefined;
    if (now - record.at > this.limits.recordAgeMaxMs) {
      map!.delete(callKey);
      return undefined;
    }
    return record;
  }

  put(partitionId: number, callKey: string, response: unknown, now: number): void {
    let map = this.byPartition[partitionId];
    if (map === undefined) map = this.byPartition[partitionId] = new Map();
    map.set(callKey, { response, at: now });
    if (map.size > this.limits.recordsPerPartitionMax) {
      // Maps iterate in insertion order, so the first key is the oldest.
      const oldest = map.keys().next().value as string;
      map.delete(oldest);
    }
  }

  /** All live records of one partition, for a migration or a replica copy. */
  export(partitionId: number, now: number): [string, CallRecord][] {
    const map = this.byPartition[partitionId];
    if (map === undefined) return [];
    const out: [string, CallRecord][] = [];
    for (const [key, record] of map) if (now - record.at <= this.limits.recordAgeMaxMs) out.push([key, record]);
    return out;
  }

  clear(partitionId: number): void {
    this.byPartition[partitionId] = undefined;
  }

}
