/**
 * What the checkers look at and what they report. A checker is a plain function (or a small
 * class, for the ones that run after every event) over these shapes, so a user's own simulation
 * or test can call it with views it built itself.
 */
import type { PartitionTableSnapshot } from '../../core/partition-table.js';

/** One broken invariant. */
export interface Violation {
  /** The checker that found it (`counterWithinAckedRange`, …). */
  readonly checker: string;
  readonly message: string;
  /** Virtual time it was found at, when known. */
  readonly at?: number;
}

/** One live member as the checkers see it: its member list, its table, its replica bookkeeping. */
export interface MemberView {
  readonly uuid: string;
  /** `host:port` */
  readonly address: string;
  readonly memberListVersion: number;
  /** Member uuids in this member's list, oldest (master) first. */
  readonly memberUuids: readonly string[];
  readonly table: PartitionTableSnapshot;
  /**
   * Partitions `0..hashedPartitionCount-1` are hashed and always assigned; the ones after them
   * (named partitions) only once defined. Defaults to the whole table.
   */
  readonly hashedPartitionCount?: number;
  /** Backup operations applied (or sent, on the owner) for the partition. */
  replicaVersion(partitionId: number): number;
  /** True when this member knows its replica of the partition missed a backup. */
  replicaDirty(partitionId: number): boolean;
  /** The member's own `isClusterSafe()`. */
  readonly clusterSafe: boolean;
  /** Invocations this member is still waiting on (its own calls, internal ones included). */
  readonly pendingInvocations: number;
}

/** Canonical text of a value (object keys sorted, Maps and Sets as sorted entries), for equality. */
export function canonical(value: unknown): string {
  return JSON.stringify(normalise(value));
}

function normalise(value: unknown): unknown {
  if (value instanceof Map) {
    return { $map: [...value.entries()].map(([k, v]) => [normalise(k), normalise(v)]).sort(byJson) };
  }
  if (value instanceof Set) return { $set: [...value].map(normalise).sort(byJson) };
  if (Array.isArray(value)) return value.map(normalise);
  if (typeof value === 'bigint') return { $bigint: value.toString() };
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = normalise((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}

function byJson(a: unknown, b: unknown): number {
  const x = JSON.stringify(a);
  const y = JSON.stringify(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Short form of a uuid for messages. */
export function short(uuid: string | null | undefined): string {
  return uuid == null ? '-' : uuid.slice(0, 8);
}
