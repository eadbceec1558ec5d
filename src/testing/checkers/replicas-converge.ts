/**
 * `replicasConverge`: after the network healed and the cluster settled, the replicas agree.
 *
 * - every live member has the same partition table (rows, per-partition versions, table version);
 * - every partition has an owner, every replica slot names a live member, and each partition has
 *   at least min(live members, data backups + 1) replicas;
 * - each backup that carries data (indexes 1..dataBackups) has the owner's replica version, is not
 *   dirty, and holds exactly the owner's data;
 * - no member holds data for a partition it holds no data replica of.
 *
 * A named partition (ids from `hashedPartitionCount` on) keeps its data on every replica of its
 * row, whatever `dataBackups` says, and needs only an owner (its row is its definition's live
 * nodes, not a count).
 *
 * The service's data is read through `data(memberUuid, partitionId)`, so any service can be
 * checked; values are compared by canonical JSON (Maps and Sets as sorted entries).
 */
import { canonical, short, type MemberView, type Violation } from './types.js';

export const REPLICAS_CONVERGE = 'replicasConverge';

export interface ReplicasConvergeOptions {
  /** Replica indexes 1..dataBackups carry the service's data (sync plus async backups). */
  readonly dataBackups: number;
  /** The service's data for one partition on one member. */
  readonly data: (memberUuid: string, partitionId: number) => unknown;
  /** Whether a value from `data` means "holds nothing". Default: nullish or an empty Map/Set/array/object. */
  readonly isEmpty?: (value: unknown) => boolean;
  readonly at?: number;
  /** Most violations listed (default 10); the rest are summarised. */
  readonly max?: number;
}

export function isEmptyData(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (value instanceof Map || value instanceof Set) return value.size === 0;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object') return Object.keys(value).length === 0;
  return false;
}

export function replicasConverge(views: readonly MemberView[], options: ReplicasConvergeOptions): Violation[] {
  const out: string[] = [];
  const max = options.max ?? 10;
  const isEmpty = options.isEmpty ?? isEmptyData;
  if (views.length === 0) return [];
  const byUuid = new Map(views.map((v) => [v.uuid, v]));
  const masterUuid = views[0].memberUuids[0];
  const ref = (masterUuid !== undefined ? byUuid.get(masterUuid) : undefined) ?? views[0];
  const table = ref.table;
  const P = table.partitionCount;

  // Same table everywhere.
  for (const v of views) {
    if (v === ref) continue;
    if (v.table.tableVersion !== table.tableVersion) {
      out.push(`member ${short(v.uuid)} has table version ${v.table.tableVersion}, master ${short(ref.uuid)} has ${table.tableVersion}`);
      continue;
    }
    for (let p = 0; p < P; p++) {
      if (v.table.versions[p] !== table.versions[p] || !sameRow(v.table.replicas[p], table.replicas[p])) {
        out.push(`member ${short(v.uuid)} disagrees with master ${short(ref.uuid)} on partition ${p}: ${row(v.table.replicas[p])} v${v.table.versions[p]} vs ${row(table.replicas[p])} v${table.versions[p]}`);
        break;
      }
    }
  }

  const assigned = table.replicas.some((r) => r[0] !== null);
  const wanted = Math.min(views.length, options.dataBackups + 1);
  const hashed = ref.hashedPartitionCount ?? P;
  for (let p = 0; p < P; p++) {
    const replicas = table.replicas[p];
    const owner = replicas[0];
    // A named partition nobody defined has no replicas and must hold no data.
    if (p >= hashed && replicas.every((m) => m === null)) {
      for (const v of views) {
        const d = options.data(v.uuid, p);
        if (!isEmpty(d)) out.push(`undefined partition ${p}: member ${short(v.uuid)} holds ${clip(canonical(d))}`);
      }
      continue;
    }
    const named = p >= hashed;
    const dataBackups = named ? replicas.length : options.dataBackups;
    if (assigned) {
      if (owner === null) out.push(`partition ${p} has no owner`);
      const filled = replicas.filter((m) => m !== null).length;
      if (!named && filled < wanted) out.push(`partition ${p} has ${filled} replica(s), expected at least ${wanted}: ${row(replicas)}`);
    }
    for (const m of replicas) if (m !== null && !byUuid.has(m)) out.push(`partition ${p} lists ${short(m)}, which is not a live member: ${row(replicas)}`);
    const ownerView = owner === null ? undefined : byUuid.get(owner);
    if (ownerView !== undefined) {
      const ownerData = canonical(options.data(ownerView.uuid, p) ?? null);
      for (let r = 1; r <= dataBackups && r < replicas.length; r++) {
        const b = replicas[r];
        const bv = b === null ? undefined : byUuid.get(b);
        if (bv === undefined) continue;
        if (bv.replicaDirty(p)) out.push(`partition ${p}: backup ${r} on ${short(b)} is dirty`);
        else if (bv.replicaVersion(p) !== ownerView.replicaVersion(p)) {
          out.push(`partition ${p}: backup ${r} on ${short(b)} has replica version ${bv.replicaVersion(p)}, owner has ${ownerView.replicaVersion(p)}`);
        }
        const backupData = canonical(options.data(bv.uuid, p) ?? null);
        if (backupData !== ownerData) out.push(`partition ${p}: backup ${r} on ${short(b)} holds ${clip(backupData)}, owner ${short(owner)} holds ${clip(ownerData)}`);
      }
    }
    // No data where it does not belong.
    for (const v of views) {
      const index = replicas.indexOf(v.uuid);
      if (index >= 0 && index <= dataBackups) continue;
      const d = options.data(v.uuid, p);
      if (!isEmpty(d)) out.push(`partition ${p}: member ${short(v.uuid)} holds ${clip(canonical(d))} but ${index < 0 ? 'is no replica' : `is replica ${index}, past the ${dataBackups} data backup(s)`}`);
    }
  }
  const listed = out.slice(0, max).map((message): Violation => ({ checker: REPLICAS_CONVERGE, message, at: options.at }));
  if (out.length > max) listed.push({ checker: REPLICAS_CONVERGE, message: `… and ${out.length - max} more`, at: options.at });
  return listed;
}

function sameRow(a: readonly (string | null)[], b: readonly (string | null)[]): boolean {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) if ((a[i] ?? null) !== (b[i] ?? null)) return false;
  return true;
}

function row(r: readonly (string | null)[]): string {
  let end = r.length;
  while (end > 0 && r[end - 1] === null) end--;
  return `[${r.slice(0, end).map(short).join(' ')}]`;
}

function clip(text: string): string {
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
