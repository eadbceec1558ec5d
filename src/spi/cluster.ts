import type { Address } from '../core/address.js';

/** One member of the cluster, as users see it. */
export interface Member {
  readonly uuid: string;
  readonly name: string;
  readonly address: Address;
  /** True for the member this instance is. */
  readonly localMember: boolean;
  toString(): string;
}

export interface MembershipEvent {
  readonly type: 'added' | 'removed';
  readonly member: Member;
  /** The member list after the change, oldest first. */
  readonly members: readonly Member[];
}

export interface MembershipListener {
  memberAdded?(event: MembershipEvent): void;
  memberRemoved?(event: MembershipEvent): void;
}

export interface Cluster {
  /** Members, oldest first; the first is the master. */
  getMembers(): readonly Member[];
  getLocalMember(): Member;
  getMaster(): Member | null;
  isMaster(): boolean;
  /** Returns an id for `removeMembershipListener`. */
  addMembershipListener(listener: MembershipListener): string;
  removeMembershipListener(id: string): boolean;
}

export interface MigrationInfo {
  readonly partitionId: number;
  readonly replicaIndex: number;
  readonly source: Member | null;
  readonly destination: Member;
}

export interface MigrationListener {
  migrationStarted?(info: MigrationInfo): void;
  migrationCompleted?(info: MigrationInfo): void;
  migrationFailed?(info: MigrationInfo & { readonly reason: string }): void;
}

export interface PartitionService {
  /**
   * All partition ids: the hashed partitions `0..getHashedPartitionCount()-1` followed by the
   * named-partition slots. A service that keeps a container per partition sizes it with this.
   */
  getPartitionCount(): number;
  /** The hashed partitions only (`partitionCount` in config): the range keys hash into. */
  getHashedPartitionCount(): number;
  /**
   * The partitions a partition-wide operation (size, clear, …) visits: every hashed partition and
   * every enabled named partition.
   */
  getPartitionIds(): number[];
  /** The partition a key belongs to (mappers for named partitions first, then the hash). */
  getPartitionId(key: unknown): number;
  /** The owner of a partition, or null while unassigned (asking triggers assignment). */
  getPartitionOwner(partitionId: number): Member | null;
  /** Partitions owned by this member. */
  getLocalPartitions(): number[];
  /** True when no migration is pending and every replica slot that can be filled is in sync. */
  isClusterSafe(): boolean;
  /** Resolves once the cluster is safe; rejects after `timeout` ms. */
  waitForMigrations(options?: { timeout?: number }): Promise<void>;
  addMigrationListener(listener: MigrationListener): string;
  removeMigrationListener(id: string): boolean;
}
