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
  /** `replicas[p][r]`: uuid of the member holding replica `r` of partition `p`, or null. */
  readonly replicas: readonly (readonly (string | null)[])[];
  /** Per-partition version, bumped on every replica change of that partition. */
  readonly versions: readonly number[];
}

export class PartitionTable {
  readonly partitionCount: number;
  tableVersion = 0;
  private readonly replicas: ReplicaRow[];
  private readonly versions: number[];

  constructor(partitionCount: number) {
    assert(Number.isInteger(partitionCount) && partitionCount > 0, 'partitionCount must be a positive integer');
    this.partitionCount = partitionCount;
    this.replicas = Array.from({ length: partitionCount }, () => new Array<string | null>(REPLICA_COUNT_MAX).fill(null));
    this.versions = new Array<number>(partitionCount).fill(0);
  }

  isAssigned(): boolean {
    return this.replicas.some((row) => row[0] !== null);
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
      this.versions[partitionId]++;
    }
    return changed;
  }

  /** Installs a row with the version the master gave it. Returns whether the row changed. */
  setRowWithVersion(partitionId: number, row: readonly (string | null)[], version: number): boolean {
    const current = this.replicas[partitionId];
    let changed = false;
    for (let r = 0; r < REPLICA_COUNT_MAX; r++) {
      const next = row[r] ?? null;
      if (current[r] !== next) {
        current[r] = next;
        changed = true;
      }
    }
    assertNoDuplicates(current, partitionId);
    this.versions[partitionId] = version;
    return changed;
  }

  snapshot(): PartitionTableSnapshot {
    return {
      tableVersion: this.tableVersion,
      partitionCount: this.partitionCount,
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
    return changed;
  }

  /** Partition count per member for replica index `r` (owners when r = 0). */
  countsAt(r: number): Map<string, number> {
    const counts = new Map<string, number>();
    for (const row of this.replicas) {
      const m = row[r];
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
  const P = table.partitionCount;
  const n = members.length;
  const rows: ReplicaRow[] = Array.from({ length: P }, () => new Array<string | null>(REPLICA_COUNT_MAX).fill(null));
  if (n === 0) return rows;
  const replicaCount = Math.min(n, replicaCountMax, REPLICA_COUNT_MAX);
  const alive = new Set(members);
  const order = new Map(members.map((m, i) => [m, i]));

  for (let r = 0; r < replicaCount; r++) {
    const current = new Map<string, number>();
    for (let p = 0; p < P; p++) {
      const m = table.replica(p, r);
      if (m !== null && alive.has(m)) current.set(m, (current.get(m) ?? 0) + 1);
    }
    const base = Math.floor(P / n);
    const extra = P % n;
    // Quotas depend on membership alone (the oldest members take the ⌈P/n⌉ ones), so the target
    // does not shift while its own moves are carried out, whatever order they commit in.
    const byCurrent = [...members].sort((a, b) => (current.get(b) ?? 0) - (current.get(a) ?? 0) || order.get(a)! - order.get(b)!);
    const quota = new Map<string, number>();
    members.forEach((m, i) => quota.set(m, base + (i < extra ? 1 : 0)));
    const assigned = new Map<string, number>(members.map((m) => [m, 0]));

    // Pass 1: keep current placements that fit.
    for (let p = 0; p < P; p++) {
      const m = table.replica(p, r);
      if (m === null || !alive.has(m)) continue;
      if (rows[p].includes(m)) continue;
      if (assigned.get(m)! >= quota.get(m)!) continue;
      rows[p][r] = m;
      assigned.set(m, assigned.get(m)! + 1);
    }
    // Pass 2: fill the rest, giving each member a run of consecutive partitions up to its quota
    // (members with the most current placements first), so a fresh table is a few contiguous
    // blocks per member rather than an interleaving.
    for (let p = 0; p < P; p++) {
      if (rows[p][r] !== null) continue;
      let best: string | null = null;
      for (const m of byCurrent) {
        if (assigned.get(m)! >= quota.get(m)!) continue;
        if (rows[p].includes(m)) continue;
        best = m;
        break;
      }
      if (best === null) {
        // Every member with room already holds this partition at a lower index: swap with a
        // partition already filled at this index whose member can take ours.
        best = swapForRoom(rows, p, r, members, assigned, quota);
      }
      if (best !== null) {
        rows[p][r] = best;
        assigned.set(best, assigned.get(best)! + 1);
      }
    }
  }
  return rows;
}

function swapForRoom(
  rows: ReplicaRow[],
  p: number,
  r: number,
  members: readonly string[],
  assigned: Map<string, number>,
  quota: Map<string, number>,
): string | null {
  const needy = members.find((m) => assigned.get(m)! < quota.get(m)!);
  if (needy === undefined) return null;
  for (let q = 0; q < rows.length; q++) {
    if (q === p) continue;
    const holder = rows[q][r];
    if (holder === null || rows[p].includes(holder)) continue;
    if (rows[q].includes(needy)) continue;
    // holder moves to p, needy takes q.
    rows[q][r] = needy;
    assigned.set(needy, assigned.get(needy)! + 1);
    assigned.set(holder, assigned.get(holder)! - 1);
    return holder;
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
