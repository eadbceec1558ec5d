/**
 * Per-partition replication bookkeeping (sans-I/O).
 *
 * Replica versions: the owner counts the backup operations it sends for each partition; a backup
 * counts those it applied. A backup receiving version v applies it only when it holds v-1; a
 * higher v means it missed one (a lost async backup, a dropped connection) and must be re-synced.
 *
 * Call records: the owner remembers, per partition, the responses of calls it applied, keyed by
 * the caller (address and incarnation) and its call id. They travel with backups and migrations,
 * so a call retried after its owner died is answered from the record on the promoted backup
 * instead of being applied twice. Every call carries its caller's low-water mark (the oldest call
 * it still has in flight); records below it are dropped, so at a steady call rate the records are
 * about the calls in flight. A count per caller and an age bound the rest (a caller that stalls).
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

/** One call record as it travels in a migration or a replica copy. */
export type ExportedCallRecord = [caller: string, callId: number, response: unknown, at: number];

export interface CallRecordLimits {
  /** Most records kept per partition for one caller; the oldest go first. */
  readonly recordsPerCallerMax: number;
  /** Records older than this are dropped (a retry later than this is no longer deduplicated). */
  readonly recordAgeMaxMs: number;
}

/**
 * The records of one caller (one member incarnation) on one partition, in arrival order, which
 * is call-id order but for retries: a caller's call ids only grow.
 */
class CallerLog {
  readonly records = new Map<number, CallRecord>();
  /** The caller's low-water mark: every call below it has completed and is never retried. */
  lowWater = 0;
  /** The low-water mark the log was last pruned at. */
  prunedAt = 0;
}

export class CallRecords {
  private readonly byPartition: (Map<string, CallerLog> | undefined)[];
  private readonly limits: CallRecordLimits;

  constructor(partitionCount: number, limits: CallRecordLimits) {
    this.byPartition = new Array<Map<string, CallerLog> | undefined>(partitionCount);
    this.limits = limits;
  }

  get(partitionId: number, caller: string, callId: number, now: number): CallRecord | undefined {
    const log = this.byPartition[partitionId]?.get(caller);
    if (log === undefined) return undefined;
    const record = log.records.get(callId);
    if (record === undefined) return undefined;
    if (now - record.at > this.limits.recordAgeMaxMs) {
      log.records.delete(callId);
      return undefined;
    }
    return record;
  }

  /**
   * Whether the caller has already settled this call (its low-water mark, as later calls of it
   * brought to this partition, passed it): a retry of it still waiting in the partition's queue
   * must not run — its record may be gone, and running it would apply the call twice.
   */
  isSettled(partitionId: number, caller: string, callId: number): boolean {
    const log = this.byPartition[partitionId]?.get(caller);
    return log !== undefined && callId < log.lowWater;
  }

  /**
   * Records a call's response. `lowWater` is the caller's mark as it came with the call (0 when
   * unknown): records below it can never be asked for again, so they are dropped here — that
   * bounds the records to the calls in flight rather than to a count and an age.
   */
  put(partitionId: number, caller: string, callId: number, response: unknown, now: number, lowWater: number): void {
    let callers = this.byPartition[partitionId];
    if (callers === undefined) callers = this.byPartition[partitionId] = new Map();
    let log = callers.get(caller);
    if (log === undefined) {
      log = new CallerLog();
      callers.set(caller, log);
    }
    if (lowWater > log.lowWater) log.lowWater = lowWater;
    if (callId < log.lowWater) return; // completed at the caller already: nobody will ask
    const records = log.records;
    records.set(callId, { response, at: now });
    if (log.lowWater > log.prunedAt) {
      log.prunedAt = log.lowWater;
      for (const id of records.keys()) {
        if (id >= log.lowWater) break;
        records.delete(id);
      }
    }
    if (records.size > this.limits.recordsPerCallerMax) {
      // Maps iterate in insertion order, so the first key is the oldest.
      records.delete(records.keys().next().value as number);
    }
  }

  /** All live records of one partition, for a migration or a replica copy. */
  export(partitionId: number, now: number): ExportedCallRecord[] {
    const callers = this.byPartition[partitionId];
    if (callers === undefined) return [];
    const out: ExportedCallRecord[] = [];
    for (const [caller, log] of callers) {
      for (const [callId, record] of log.records) {
        if (callId >= log.lowWater && now - record.at <= this.limits.recordAgeMaxMs) out.push([caller, callId, record.response, record.at]);
      }
    }
    return out;
  }

  /** Merges exported records (a migration's or a replica copy's). */
  import(partitionId: number, records: readonly ExportedCallRecord[]): void {
    for (const [caller, callId, response, at] of records) this.put(partitionId, caller, callId, response, at, 0);
  }

  clear(partitionId: number): void {
    this.byPartition[partitionId] = undefined;
  }

  /** Records held for one partition (all callers). */
  count(partitionId: number): number {
    let n = 0;
    for (const log of this.byPartition[partitionId]?.values() ?? []) n += log.records.size;
    return n;
  }
}
