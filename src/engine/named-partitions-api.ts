/**
 * The public face of named partitions (the ActiveSpaces model): partitions an application
 * defines by name and places explicitly, an active node and an ordered list of replica nodes,
 * each replicated synchronously or asynchronously. See docs/architecture.md, "Named partitions".
 */

/** How a replica node receives a named partition's changes. */
export enum ReplicationType {
  /** The write waits until this replica applied it: nothing acknowledged is lost on failover. */
  SYNCHRONOUS = 'SYNCHRONOUS',
  /** The write does not wait; changes are queued to this replica and applied in order. */
  ASYNCHRONOUS = 'ASYNCHRONOUS',
}

/** How a member's copy of a partition joins the cluster when the partition is enabled. */
export enum EnableAction {
  /** Keep local objects; copy what the partition needs. For new nodes and after hard failures. */
  JOIN_CLUSTER = 'JOIN_CLUSTER',
  /** Delete this member's local objects of the partition first, then copy. For a node brought back into service. */
  JOIN_CLUSTER_PURGE = 'JOIN_CLUSTER_PURGE',
  /**
   * Merge this member's local objects with the restore-from node's after a multi-master split:
   * the restore-from node's object wins where both hold a key, objects only this member holds are
   * kept and become part of the partition again.
   */
  JOIN_CLUSTER_RESTORE = 'JOIN_CLUSTER_RESTORE',
}

/** One replica of a named partition: a member (by member name) and how it is replicated. */
export class ReplicaNode {
  readonly memberName: string;
  readonly replicationType: ReplicationType;

  constructor(memberName: string, replicationType: ReplicationType = ReplicationType.SYNCHRONOUS) {
    this.memberName = memberName;
    this.replicationType = replicationType;
  }

  getMemberName(): string {
    return this.memberName;
  }

  getReplicationType(): ReplicationType {
    return this.replicationType;
  }

  toString(): string {
    return `${this.memberName}:${this.replicationType.toLowerCase()}`;
  }
}

/**
 * Optional partition properties; anything left out takes its default. Properties given to
 * `Partition.migrate` override the defined ones for that migration only.
 */
export interface PartitionProperties {
  /**
   * Default true: definition changes go to the master and every member. False keeps the
   * definition on the member that enables it, which then serves the partition on its own: a way
   * to simulate a multi-master (split-brain) scenario in one cluster.
   */
  readonly broadcastDefinitionUpdates?: boolean;
  /** Default false: true makes a migration also re-copy the data to every replica that stays. */
  readonly forceReplication?: boolean;
  /** Default 1, range 1..64: copy streams a migration keeps in flight at once. */
  readonly numberOfThreads?: number;
  /**
   * Default 1000, range 0..1000000: objects copied per step of a migration; the application's
   * operations on the partition run between steps. 0 locks the whole partition for the whole copy
   * (and `numberOfThreads` is then ignored).
   */
  readonly objectsLockedPerTransaction?: number;
  /**
   * The member whose copy wins when a partition that was active on several members is restored
   * (JOIN_CLUSTER / JOIN_CLUSTER_PURGE / JOIN_CLUSTER_RESTORE). Default: the partition's current
   * active node, else its defined active node.
   */
  readonly restoreFromNode?: string;
  /**
   * Default true: enabling a partition on a member that is not in its node list (a sparse
   * partition) fails with NodeListMismatchError when this member's node list differs from the
   * cluster's. False accepts the cluster's node list instead.
   */
  readonly sparsePartitionAudit?: boolean;
}

/** Every property with its value. */
export interface ResolvedPartitionProperties {
  readonly broadcastDefinitionUpdates: boolean;
  readonly forceReplication: boolean;
  readonly numberOfThreads: number;
  readonly objectsLockedPerTransaction: number;
  readonly restoreFromNode: string | null;
  readonly sparsePartitionAudit: boolean;
}

export const PARTITION_PROPERTY_DEFAULTS: ResolvedPartitionProperties = Object.freeze({
  broadcastDefinitionUpdates: true,
  forceReplication: false,
  numberOfThreads: 1,
  objectsLockedPerTransaction: 1000,
  restoreFromNode: null,
  sparsePartitionAudit: true,
});

/** Limits of named partitions. */
export const NAMED_PARTITION_LIMITS = Object.freeze({
  /** Longest partition name. */
  nameLengthMax: 256,
  /** Replica nodes per partition (the active node plus these fill one table row). */
  replicaNodesMax: 6,
  numberOfThreadsMax: 64,
  objectsLockedPerTransactionMax: 1_000_000,
});

/**
 * Where a named partition stands, as this member sees it:
 * - INITIAL: defined, not enabled yet;
 * - ACTIVE: enabled, its active node is a member and every live node of its list holds its copy;
 * - MIGRATING: enabled, copies are moving (enable, migrate, a node restored, a failover refilling);
 * - UNAVAILABLE: enabled, but no node of its list is a member: operations on it fail.
 */
export type PartitionState = 'INITIAL' | 'ACTIVE' | 'MIGRATING' | 'UNAVAILABLE';

/** A named partition. A live view: every getter reads the current state. */
export interface Partition {
  getName(): string;
  /** The partition id services see (`partitionCount` + slot). */
  getPartitionId(): number;
  /** The member name of the current active node (the defined one until the partition is placed). */
  getActiveNode(): string;
  /** The replica nodes in priority order, without the current active node. */
  getReplicaNodes(): ReplicaNode[];
  /** The defined properties, defaults filled in. */
  getProperties(): ResolvedPartitionProperties;
  getState(): PartitionState;
  /** True while this member serves the partition on its own (broadcast definition updates = false). */
  isLocalOnly(): boolean;
  /** Enables this partition (see PartitionManager.enablePartitions). */
  enable(action: EnableAction): Promise<void>;
  /**
   * Moves the partition to a new active node and replica list, copying objects while the
   * application keeps running. Only on the current active node (NotActiveNodeError elsewhere).
   * `properties` override the defined ones for this migration only. Resolves once every copy is
   * done and the new active node serves the partition.
   */
  migrate(properties: PartitionProperties | null, activeNode: string, replicas: readonly ReplicaNode[] | null): Promise<MigrationReport>;
  toString(): string;
}

/** What one `Partition.migrate` did. */
export interface MigrationReport {
  readonly partitionName: string;
  /** Replica moves the migration took (each copies the partition to one member). */
  readonly moves: number;
  /** Replicas re-copied because `forceReplication` was set. */
  readonly forcedResyncs: number;
  /** The properties the migration ran with (overrides applied). */
  readonly properties: ResolvedPartitionProperties;
}

/**
 * Decides which named partition an object belongs to. Installed per class with
 * `PartitionManager.setMapper`; subclasses inherit it unless they install their own.
 */
export abstract class PartitionMapper<T = unknown> {
  /** The partition name for `obj`, or null to place it by hash like any other key. */
  abstract getPartition(obj: T): string | null;
}

/** A class, as `setMapper` takes it (String and Number work for primitive keys). */
export type ClassOf<T> = abstract new (...args: never[]) => T;

/** Called after any change to a named partition's definition, state or active node. */
export type PartitionListener = (partition: Partition) => void;

/** `instance.getPartitionManager()`. */
export interface PartitionManager {
  /** Installs `mapper` for objects of `type` and its subclasses (on this member). */
  setMapper<T>(type: ClassOf<T>, mapper: PartitionMapper<T>): void;
  /** Removes the mapper installed for exactly `type`; true if there was one. */
  removeMapper(type: ClassOf<unknown>): boolean;
  /**
   * Defines a partition: a cluster-wide unique name, optional properties, the initial active node
   * and the replica nodes in priority order. Resolves once the active node is a member; rejects
   * with ResourceUnavailableError after `nodeActiveTimeoutSeconds` otherwise. Defining a name
   * again with the same (or the original) node list is a no-op; with another node list it takes
   * effect when this member enables the partition. A definition cannot be removed.
   */
  definePartition(name: string, properties: PartitionProperties | null, activeNode: string, replicas: readonly ReplicaNode[] | null): Promise<Partition>;
  /** Enables every partition this member defined; resolves once the copies they need are done. */
  enablePartitions(action: EnableAction): Promise<void>;
  /** A partition by name; throws PartitionNotFoundError. */
  getPartition(name: string): Partition;
  /** The partition `obj` maps to; throws PartitionNotFoundError when no mapper places it in one. */
  getObjectPartition(obj: unknown): Partition;
  /** Every partition this member knows. */
  getPartitions(): Partition[];
  addPartitionListener(listener: PartitionListener): string;
  removePartitionListener(id: string): boolean;
}
