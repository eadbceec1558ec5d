/**
 * The partition table: for every partition, the member (by uuid) holding each replica index
 * (0 = owner, 1..6 = backups), with a per-partition version bumped on every change.
 *
 * Only the master writes it; members install what the master publishes when its `tableVersion`
 * is newer. Pure data plus pure functions: no I/O.
 */
import { assert } from './membership.js';

/** Owner plus at most 6 backups. */
export const REPLICA_COUNT_MAX = 7;

export type ReplicaRow = (string | null)[];

export interface PartitionTableSnapshot {
  /** Bumped by the master on every publication; members ignore older ones. */
  readonly tableVersion: number;
  readonly partitionCount: number;
  /** Partitions `0..hashedCount-1` are hashed and planned; the rest are named-partition slots. */
  readonly hashedCount?: number;
  /** `replicas[p][r]`: uuid of the member holding replica `r` of partition `p`, or null. */
  readonly replicas: readonly (readonly (string | null)[])[];
  /** Per-partition version, bumped on every replica change of that partition. */
  readonly versions: readonly number[];
}

export class PartitionTable {
  /** Every partition: hashed ones first, then named-partition slots. */
  readonly partitionCount: number;
  /**
   * Partitions `0..hashedCount-1` are hashed: the planner balances them over the members. The
   * rest are named-partition slots whose rows the application's definitions decide; the planner
   * leaves them alone.
   */
  readonly hashedCount: number;
  tableVersion = 0;
  /** Bumped on every change of any row, so readers can cache derived views. */
  modCount = 0;
  private readonly replicas: ReplicaRow[];
  private readonly versions: number[];

  constructor(partitionCount: number, hashedCount = partitionCount) {
    assert(Number.isInteger(partitionCount) && partitionCount > 0, 'partitionCount must be a positive integer');
    assert(Number.isInteger(hashedCount) && hashedCount > 0 && hashedCount <= partitionCount, 'hashedCount must be in 1..partitionCount');
    this.partitionCount = partitionCount;
    this.hashedCount = hashedCount;
    this.replicas = Array.from({ length: partitionCount }, () => new Array<string | null>(REPLICA_COUNT_MAX).fill(null));
    this.versions = new Array<number>(partitionCount).fill(0);
  }

  /** True once the hashed partitions have owners (named slots do not count). */
  isAssigned(): boolean {
    for (let p = 0; p < this.hashedCount; p++) if (this.replicas[p][0] !== null) return true;
    return false;
  }

  owner(partitionId: number): string | null {
    return this.replicas[partitionId][0];
  }

  replica(partitionId: number, replicaIndex: number): string | null {
    return this.replicas[partitionId][replicaIndex];
  }

  row(partitionId: number): readonly (string | null)[] {
    return this.replicas[partitionId];
  }

  version(partitionId: number): number {
    return this.versions[partitionId];
  }

  /** The replica index `uuid` holds for `partitionId`, or -1. */
  replicaIndexOf(partitionId: number, uuid: string): number {
    return this.replicas[partitionId].indexOf(uuid);
  }

  /** Sets one partition's row and bumps its version when it changed. */
  setRow(partitionId: number, row: readonly (string | null)[]): boolean {
    const changed = this.copyRow(partitionId, row);
    if (changed) this.versions[partitionId]++;
    return changed;
  }

  /** Installs a row with the version the master gave it. Returns whether the row changed. */
  setRowWithVersion(partitionId: number, row: readonly (string | null)[], version: number): boolean {
    const changed = this.copyRow(partitionId, row);
    this.versions[partitionId] = version;
    return changed;
  }

  /**
   * Moves every partition's version `by` ahead, rows unchanged: a new master does it once it
   * recovered the table, so its rows never reuse a version the dead master gave to a row nobody
   * alive saw (see `PartitionService.recoverAsNewMaster`).
   */
  advanceVersions(by: number): void {
    assert(Number.isInteger(by) && by > 0, 'advanceVersions: by must be a positive integer');
    for (let p = 0; p < this.partitionCount; p++) this.versions[p] += by;
  }

  private copyRow(partitionId: number, row: readonly (string | null)[]): boolean {
    const current = this.replicas[partitionId];
    let changed = false;
    for (let r = 0; r < REPLICA_COUNT_MAX; r++) {
      const next = row[r] ?? null;
      if (current[r] !== next) {
        current[r] = next;
        changed = true;
      }
    }
    if (changed) {
      assertNoDuplicates(current, partitionId);
      this.modCount++;
    }
    return changed;
  }

  snapshot(): PartitionTableSnapshot {
    return {
      tableVersion: this.tableVersion,
      partitionCount: this.partitionCount,
      hashedCount: this.hashedCount,
      replicas: this.replicas.map((row) => row.slice()),
      versions: this.versions.slice(),
    };
  }

  /** Installs a snapshot published by the master. Returns the partitions whose row changed. */
  install(snapshot: PartitionTableSnapshot): number[] {
    assert(snapshot.partitionCount === this.partitionCount, 'partition count mismatch');
    const changed: number[] = [];
    for (let p = 0; p < this.partitionCount; p++) {
      const row = snapshot.replicas[p];
      const current = this.replicas[p];
      let differs = false;
      for (let r = 0; r < REPLICA_COUNT_MAX; r++) {
        if (current[r] !== (row[r] ?? null)) differs = true;
        current[r] = row[r] ?? null;
      }
      this.versions[p] = snapshot.versions[p];
      if (differs) changed.push(p);
    }
    this.tableVersion = snapshot.tableVersion;
    this.modCount++;
    return changed;
  }

  /** Hashed-partition count per member for replica index `r` (owners when r = 0). */
  countsAt(r: number): Map<string, number> {
    const counts = new Map<string, number>();
    for (let p = 0; p < this.hashedCount; p++) {
      const m = this.replicas[p][r];
      if (m !== null) counts.set(m, (counts.get(m) ?? 0) + 1);
    }
    return counts;
  }
}

function assertNoDuplicates(row: readonly (string | null)[], partitionId: number): void {
  const seen = new Set<string>();
  for (const m of row) {
    if (m === null) continue;
    assert(!seen.has(m), `partition ${partitionId} lists member ${m} twice`);
    seen.add(m);
  }
}

/**
 * After members died: remove them from every row and shift the survivors up, so the first live
 * backup becomes owner (promotion, no data movement). Returns the new rows for changed partitions.
 */
export function promoteSurvivors(table: PartitionTable, alive: ReadonlySet<string>): Map<number, ReplicaRow> {
  const changes = new Map<number, ReplicaRow>();
  for (let p = 0; p < table.partitionCount; p++) {
    const row = table.row(p);
    if (row.every((m) => m === null || alive.has(m))) continue;
    const survivors = row.filter((m): m is string => m !== null && alive.has(m));
    const next: ReplicaRow = new Array<string | null>(REPLICA_COUNT_MAX).fill(null);
    survivors.forEach((m, i) => (next[i] = m));
    changes.set(p, next);
  }
  return changes;
}

/**
 * Computes a balanced target table for `members` (oldest first), keeping every placement it can.
 *
 * For each replica index r < min(members, 7): every member holds ⌊P/n⌋ or ⌈P/n⌉ partitions at
 * index r; a member never holds two replicas of one partition. Placements are kept when the member
 * is alive, under quota and not already holding the partition at a lower index, so the number of
 * moves is close to the minimum (property-tested). Members with the most current placements get
 * the ⌈P/n⌉ quotas first, which is what keeps moves low.
 */
export function planTarget(table: PartitionTable, members: readonly string[], replicaCountMax = REPLICA_COUNT_MAX): ReplicaRow[] {
  // Only hashed partitions are planned; a named slot's target is its current row (no moves).
  const P = table.hashedCount;
  const rows = planHashed(table, members, replicaCountMax);
  for (let p = P; p < table.partitionCount; p++) rows.push(table.row(p).slice());
  return rows;
}

function planHashed(table: PartitionTable, members: readonly string[], replicaCountMax: number): ReplicaRow[] {
  const P = table.hashedCount;
  const n = members.length;
  const rows: ReplicaRow[] = Array.from({ length: P }, () => new Array<string | null>(REPLICA_COUNT_MAX).fill(null));
  if (n === 0) return rows;
  const replicaCount = Math.min(n, replicaCountMax, REPLICA_COUNT_MAX);
  const alive = new Set(members);

  for (let r = 0; r < replicaCount; r++) {
    if (r === 0) {
      fillIndex(table, rows, r, members, alive, new Quota(members, P, members.slice(0, P % n)));
      continue;
    }
    // Backups: the ⌈P/n⌉ quotas first go to the members holding the fewest replicas at lower
    // indexes (with as many replicas as members the counts are forced that way); if that leaves
    // a slot no member can take, retry letting whichever member needs an extra slot take it.
    const held = new Map<string, number>(members.map((m) => [m, 0]));
    for (let p = 0; p < P; p++) for (let q = 0; q < r; q++) if (rows[p][q] !== null) held.set(rows[p][q]!, held.get(rows[p][q]!)! + 1);
    const order = new Map(members.map((m, i) => [m, i]));
    const fewestHeld = [...members].sort((a, b) => held.get(a)! - held.get(b)! || order.get(a)! - order.get(b)!);
    const attempt = rows.map((row) => row.slice());
    const empty = fillIndex(table, attempt, r, members, alive, new Quota(members, P, fewestHeld.slice(0, P % n)));
    if (empty === 0) {
      for (let p = 0; p < P; p++) rows[p] = attempt[p];
      continue;
    }
    if (fillIndex(table, rows, r, members, alive, new Quota(members, P, null)) > 0) {
      // Fewer partitions than the arrangement needs (P < n·replicas, a toy configuration): a
      // full set of replicas matters more than an exact balance, so fill past the quotas.
      const counts = new Map<string, number>(members.map((m) => [m, 0]));
      for (let p = 0; p < P; p++) if (rows[p][r] !== null) counts.set(rows[p][r]!, counts.get(rows[p][r]!)! + 1);
      for (let p = 0; p < P; p++) {
        if (rows[p][r] !== null) continue;
        const m = members.filter((c) => !rows[p].includes(c)).sort((a, b) => counts.get(a)! - counts.get(b)!)[0];
        if (m === undefined) continue;
        rows[p][r] = m;
        counts.set(m, counts.get(m)! + 1);
      }
    }
  }
  return rows;
}

/** Fills replica index `r` of `rows`; returns how many slots stayed empty. */
function fillIndex(table: PartitionTable, rows: ReplicaRow[], r: number, members: readonly string[], alive: ReadonlySet<string>, quota: Quota): number {
  const P = rows.length;
  // Pass 1: keep current placements that fit.
  for (let p = 0; p < P; p++) {
    const m = table.replica(p, r);
    if (m === null || !alive.has(m) || rows[p].includes(m) || !quota.hasRoom(m)) continue;
    rows[p][r] = m;
    quota.take(m);
  }
  // Pass 2: fill the rest in partition order, each slot going to the first member (in
  // membership order) with room that does not hold the partition yet. A fresh table becomes
  // contiguous runs per member, and the fill does not depend on which moves already happened.
  let empty = 0;
  for (let p = 0; p < P; p++) {
    if (rows[p][r] !== null) continue;
    let best: string | null = null;
    for (const m of members) {
      if (quota.hasRoom(m) && !rows[p].includes(m)) {
        best = m;
        break;
      }
    }
    // Every member with room already holds this partition: shift a slot along a chain of
    // partitions until it reaches a member with room (an augmenting path).
    if (best === null) best = augment(rows, p, r, members, quota);
    if (best === null) {
      empty++;
      continue;
    }
    rows[p][r] = best;
    quota.take(best);
  }
  return empty;
}

/**
 * How many slots of one replica index each member may take: ⌊P/n⌋, and ⌈P/n⌉ for `P mod n` of
 * them. For owners the ⌈P/n⌉ go to the oldest members (fixed by membership alone, so the owner
 * target does not shift while its own moves are carried out); for backups they go to whichever
 * members need them first, since a member cannot back up the partitions it owns.
 */
class Quota {
  private readonly base: number;
  private extrasLeft: number;
  private readonly fixedExtra: Set<string> | null;
  private readonly assigned = new Map<string, number>();

  /** `fixedExtra`: the members allowed ⌈P/n⌉, or null to let any member take one while they last. */
  constructor(members: readonly string[], P: number, fixedExtra: readonly string[] | null) {
    this.base = Math.floor(P / members.length);
    this.extrasLeft = P % members.length;
    this.fixedExtra = fixedExtra === null ? null : new Set(fixedExtra);
    for (const m of members) this.assigned.set(m, 0);
  }

  hasRoom(m: string): boolean {
    const a = this.assigned.get(m)!;
    if (a < this.base) return true;
    if (a > this.base) return false;
    return this.fixedExtra !== null ? this.fixedExtra.has(m) : this.extrasLeft > 0;
  }

  take(m: string): void {
    const a = this.assigned.get(m)!;
    if (a === this.base && this.fixedExtra === null) this.extrasLeft--;
    this.assigned.set(m, a + 1);
  }

  give(m: string): void {
    const a = this.assigned.get(m)!;
    if (a === this.base + 1 && this.fixedExtra === null) this.extrasLeft++;
    this.assigned.set(m, a - 1);
  }
}

/**
 * Finds a member for slot (p, r) when every member with room already holds p: a breadth-first
 * search over "member X could take slot (q, r) from member Y" until a member with room is reached,
 * then shifts the slots along that path. Returns the member that takes (p, r), or null.
 */
function augment(
  rows: ReplicaRow[],
  p: number,
  r: number,
  members: readonly string[],
  quota: Quota,
): string | null {
  const slotsOf = new Map<string, number[]>(members.map((m) => [m, []]));
  for (let q = 0; q < rows.length; q++) {
    const m = rows[q][r];
    if (m !== null) slotsOf.get(m)?.push(q);
  }
  // parent[m] = [previous member, partition handed over] on the path from p's candidates.
  const parent = new Map<string, [string | null, number]>();
  const queue: string[] = [];
  for (const m of members) {
    if (!rows[p].includes(m)) {
      parent.set(m, [null, p]);
      queue.push(m);
    }
  }
  while (queue.length > 0) {
    const m = queue.shift()!;
    for (const q of slotsOf.get(m)!) {
      for (const n of members) {
        if (parent.has(n) || rows[q].includes(n)) continue;
        parent.set(n, [m, q]);
        if (quota.hasRoom(n)) {
          // Walk back: n takes q from m, m takes the slot it handed to its own parent, …
          let taker = n;
          let step = parent.get(taker)!;
          while (step[0] !== null) {
            rows[step[1]][r] = taker;
            taker = step[0];
            step = parent.get(taker)!;
          }
          quota.take(n);
          quota.give(taker);
          return taker;
        }
        queue.push(n);
      }
    }
  }
  return null;
}

export interface PlannedMigration {
  readonly partitionId: number;
  readonly replicaIndex: number;
  /** Member losing replica `replicaIndex` (null when the slot was empty). */
  readonly source: string | null;
  readonly destination: string;
}

/**
 * The replica moves from `table` to `target`, one per (partition, replica index) whose member
 * changes to a new one. Owner moves come first so data flows to new owners early. A move whose
 * destination already holds another replica of the partition is still a copy: the destination
 * receives a full copy for its new index.
 */
export function diffMigrations(table: PartitionTable, target: readonly ReplicaRow[]): PlannedMigration[] {
  const moves: PlannedMigration[] = [];
  for (let r = 0; r < REPLICA_COUNT_MAX; r++) {
    for (let p = 0; p < table.partitionCount; p++) {
      const from = table.replica(p, r);
      const to = target[p][r] ?? null;
      if (to !== null && to !== from) moves.push({ partitionId: p, replicaIndex: r, source: from, destination: to });
    }
  }
  return moves;
}
