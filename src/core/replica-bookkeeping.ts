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

/** See CallRecords.find. */
export const SETTLED = Symbol('settled');

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
 * The records of one caller (one member incarnation) on one partition, sorted by call id, in
 * three parallel arrays from `head` on.
 *
 * Why not a Map keyed by call id: a caller's ids only grow, so records arrive almost always in
 * id order and leave from the front (below the caller's low-water mark). A sorted window makes
 * the common lookup — a new call, above every record — one comparison, an insert a push and a
 * prune a moved index, with no record object per call. The Map version (a hash of a heap-number
 * key, an object per record, deletes that leave the map's front full of holes) cost 360 ns per
 * call, a fifth of what an owner spends on a remote call (bench --profile); this costs ~40 ns.
 */
class CallerLog {
  private ids: number[] = [];
  private responses: unknown[] = [];
  private ats: number[] = [];
  private head = 0;
  /** The caller's low-water mark: every call below it has completed and is never retried. */
  lowWater = 0;

  get size(): number {
    return this.ids.length - this.head;
  }

  /** Index of `callId`'s record, or -1. */
  indexOf(callId: number): number {
    const ids = this.ids;
    let lo = this.head;
    let hi = ids.length - 1;
    if (hi < lo || callId > ids[hi] || callId < ids[lo]) return -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const id = ids[mid];
      if (id === callId) return mid;
      if (id < callId) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  response(index: number): unknown {
    return this.responses[index];
  }

  at(index: number): number {
    return this.ats[index];
  }

  /** Adds or replaces the record of `callId`, keeping the window sorted. */
  set(callId: number, response: unknown, at: number): void {
    const ids = this.ids;
    const last = ids.length - 1;
    if (last < this.head || callId > ids[last]) {
      ids.push(callId);
      this.responses.push(response);
      this.ats.push(at);
      return;
    }
    // A retry or an imported record: rare, so a splice is fine.
    let lo = this.head;
    let hi = last;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (ids[mid] === callId) {
        this.responses[mid] = response;
        this.ats[mid] = at;
        return;
      }
      if (ids[mid] < callId) lo = mid + 1;
      else hi = mid - 1;
    }
    ids.splice(lo, 0, callId);
    this.responses.splice(lo, 0, response);
    this.ats.splice(lo, 0, at);
  }

  /** Drops the record at `index` (an expired one). */
  removeAt(index: number): void {
    if (index === this.head) {
      this.dropFront(1);
      return;
    }
    this.ids.splice(index, 1);
    this.responses.splice(index, 1);
    this.ats.splice(index, 1);
  }

  /** Drops every record below `callId`. */
  dropBelow(callId: number): void {
    let n = 0;
    const ids = this.ids;
    while (this.head + n < ids.length && ids[this.head + n] < callId) n++;
    if (n > 0) this.dropFront(n);
  }

  dropFront(n: number): void {
    for (let i = this.head; i < this.head + n; i++) this.responses[i] = undefined; // let go of responses
    this.head += n;
    // Compact once the dead front outweighs the live window, so memory follows the window.
    if (this.head >= 64 && this.head * 2 >= this.ids.length) {
      this.ids = this.ids.slice(this.head);
      this.responses = this.responses.slice(this.head);
      this.ats = this.ats.slice(this.head);
      this.head = 0;
    }
  }

  /** Live records as [callId, response, at], oldest first. */
  *entries(): Generator<[number, unknown, number]> {
    for (let i = this.head; i < this.ids.length; i++) yield [this.ids[i], this.responses[i], this.ats[i]];
  }
}

export class CallRecords {
  private readonly byPartition: (Map<string, CallerLog> | undefined)[];
  private readonly limits: CallRecordLimits;

  constructor(partitionCount: number, limits: CallRecordLimits) {
    this.byPartition = new Array<Map<string, CallerLog> | undefined>(partitionCount);
    this.limits = limits;
  }

  /**
   * What the partition knows of a call about to run, with one lookup of its caller: its record
   * (a retry: answer from it), SETTLED (the caller's low-water mark, as later calls of it brought
   * to this partition, passed it: a retry still waiting in the partition's queue must not run —
   * its record may be gone, and running it would apply the call twice), or undefined (run it).
   */
  find(partitionId: number, caller: string, callId: number, now: number): CallRecord | typeof SETTLED | undefined {
    const log = this.byPartition[partitionId]?.get(caller);
    if (log === undefined) return undefined;
    if (callId < log.lowWater) return SETTLED;
    const index = log.indexOf(callId);
    if (index < 0) return undefined;
    const at = log.at(index);
    if (now - at > this.limits.recordAgeMaxMs) {
      log.removeAt(index);
      return undefined;
    }
    return { response: log.response(index), at };
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
    if (lowWater > log.lowWater) {
      log.lowWater = lowWater;
      log.dropBelow(lowWater);
    }
    if (callId < log.lowWater) return; // completed at the caller already: nobody will ask
    log.set(callId, response, now);
    if (log.size > this.limits.recordsPerCallerMax) log.dropFront(1); // the lowest id is the oldest call
  }

  /** All live records of one partition, for a migration or a replica copy. */
  export(partitionId: number, now: number): ExportedCallRecord[] {
    const callers = this.byPartition[partitionId];
    if (callers === undefined) return [];
    const out: ExportedCallRecord[] = [];
    for (const [caller, log] of callers) {
      for (const [callId, response, at] of log.entries()) {
        if (callId >= log.lowWater && now - at <= this.limits.recordAgeMaxMs) out.push([caller, callId, response, at]);
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
    for (const log of this.byPartition[partitionId]?.values() ?? []) n += log.size;
    return n;
  }
}
