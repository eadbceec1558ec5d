import type { NodeEngine } from './node-engine.js';
import type { Operation } from './operation.js';
import type { DistributedObject } from './distributed-object.js';

/** Service properties from config (`<properties>` in XML), all values as strings. */
export type Properties = Readonly<Record<string, string>>;

/** A service whose lifecycle the member manages. */
export interface ManagedService {
  init(nodeEngine: NodeEngine, properties: Properties): void | Promise<void>;
  /** `terminate` is true for an abrupt stop (terminate()), false for a graceful shutdown. */
  shutdown(terminate: boolean): void | Promise<void>;
  /** Drop all state: the member left the cluster and rejoins (its data can no longer be trusted). */
  reset(): void;
}

/** A service that hands out distributed objects (proxies) by name. */
export interface RemoteService {
  createDistributedObject(objectName: string): DistributedObject;
  destroyDistributedObject(objectName: string): void;
}

export enum MigrationEndpoint {
  SOURCE = 'SOURCE',
  DESTINATION = 'DESTINATION',
}

/**
 * How a destination applies copied data (named partitions only; everything else is REPLACE).
 * A service that ignores it applies every copy as REPLACE.
 */
export enum MergePolicy {
  /** The destination was emptied first (or already holds this data): copied objects overwrite. */
  REPLACE = 'REPLACE',
  /**
   * The destination keeps its objects (a node restored with JOIN_CLUSTER after a multi-master
   * split); a copied object whose key the destination already holds must fail the copy with
   * ObjectNotUniqueError, and a rollback removes only the objects this copy added.
   */
  FAIL_ON_DUPLICATE = 'FAIL_ON_DUPLICATE',
  /**
   * The destination keeps its objects and adds only those it lacks (JOIN_CLUSTER_RESTORE merging a
   * restored node's objects into the partition); a rollback removes only the objects it added.
   */
  KEEP_EXISTING = 'KEEP_EXISTING',
}

/** Asks a service for the data of one replica of one partition. */
export class PartitionReplicationEvent {
  constructor(
    readonly partitionId: number,
    readonly replicaIndex: number,
    /**
     * Most objects the engine wants per replication operation, 0 for no preference. A named
     * partition's `objects locked per transaction` sets it; a ChunkedMigrationAwareService that
     * honours it lets the application run between chunks of a migration.
     */
    readonly chunkObjectsMax = 0,
  ) {}
  getPartitionId(): number {
    return this.partitionId;
  }
  getReplicaIndex(): number {
    return this.replicaIndex;
  }
  getChunkObjectsMax(): number {
    return this.chunkObjectsMax;
  }
}

/**
 * Tells a service about one step of a replica move. `currentReplicaIndex` is the index this
 * member held before (-1: none), `newReplicaIndex` the one it holds after (-1: none).
 */
export class PartitionMigrationEvent {
  constructor(
    readonly partitionId: number,
    readonly migrationEndpoint: MigrationEndpoint,
    readonly currentReplicaIndex: number,
    readonly newReplicaIndex: number,
    /** On a destination: how the copied data is to be applied (see MergePolicy). */
    readonly mergePolicy: MergePolicy = MergePolicy.REPLACE,
  ) {}
  getMergePolicy(): MergePolicy {
    return this.mergePolicy;
  }
  getPartitionId(): number {
    return this.partitionId;
  }
  getMigrationEndpoint(): MigrationEndpoint {
    return this.migrationEndpoint;
  }
  getCurrentReplicaIndex(): number {
    return this.currentReplicaIndex;
  }
  getNewReplicaIndex(): number {
    return this.newReplicaIndex;
  }
}

/**
 * A service whose per-partition data moves with its partitions.
 *
 * Order on a move: `beforeMigration` on both ends; `prepareReplicationOperation` on the owner
 * (the operation it returns is sent and run on the destination); then either `commitMigration`
 * on both ends or `rollbackMigration` on both ends. `clearPartitionReplica` drops one
 * partition's data (before a full copy is applied, or when this member holds no replica of it).
 */
export interface MigrationAwareService {
  beforeMigration(event: PartitionMigrationEvent): void;
  prepareReplicationOperation(event: PartitionReplicationEvent): Operation | null;
  commitMigration(event: PartitionMigrationEvent): void;
  rollbackMigration(event: PartitionMigrationEvent): void;
  clearPartitionReplica(partitionId: number): void;
}

/**
 * Optional extension for services with much data: supply a partition's replica as a sequence of
 * operations (chunks), each run on the destination in order. The engine pulls chunks one at a
 * time and sends each in its own frame, so no single step holds the event loop for long.
 */
export interface ChunkedMigrationAwareService extends MigrationAwareService {
  prepareReplicationChunks(event: PartitionReplicationEvent, chunkBytesHint: number): Iterable<Operation>;
}

// --- run-time capability detection ------------------------------------------------------------
// TypeScript interfaces do not exist at run time, so a capability is recognised by the methods it
// requires: a service is a MigrationAwareService when it has all five migration methods, and so on.

function hasMethods(value: unknown, names: readonly string[]): boolean {
  if (value === null || typeof value !== 'object') return false;
  const record = value as Record<string, unknown>;
  return names.every((n) => typeof record[n] === 'function');
}

export function isManagedService(service: unknown): service is ManagedService {
  return hasMethods(service, ['init', 'shutdown', 'reset']);
}

export function isRemoteService(service: unknown): service is RemoteService {
  return hasMethods(service, ['createDistributedObject', 'destroyDistributedObject']);
}

export function isMigrationAwareService(service: unknown): service is MigrationAwareService {
  return hasMethods(service, ['beforeMigration', 'prepareReplicationOperation', 'commitMigration', 'rollbackMigration', 'clearPartitionReplica']);
}

export function isChunkedMigrationAwareService(service: unknown): service is ChunkedMigrationAwareService {
  return isMigrationAwareService(service) && hasMethods(service, ['prepareReplicationChunks']);
}

const backupAwareByClass = new WeakMap<object, boolean>();

/** Cached per class: this runs for every operation an owner executes. */
export function isBackupAwareOperation(op: unknown): op is Operation & import('./operation.js').BackupAwareOperation {
  if (op === null || typeof op !== 'object') return false;
  const proto = Object.getPrototypeOf(op) as object | null;
  if (proto === null) return hasMethods(op, BACKUP_AWARE_METHODS);
  let known = backupAwareByClass.get(proto);
  if (known === undefined) {
    known = hasMethods(op, BACKUP_AWARE_METHODS);
    backupAwareByClass.set(proto, known);
  }
  return known;
}

/** Whether an operation declares the key it touches (see KeyedOperation). */
export function isKeyedOperation(op: unknown): op is Operation & import('./operation.js').KeyedOperation {
  return typeof (op as { getOrderingKey?: unknown } | null)?.getOrderingKey === 'function';
}

const BACKUP_AWARE_METHODS = ['getSyncBackupCount', 'getAsyncBackupCount', 'shouldBackup', 'getBackupOperation'] as const;
