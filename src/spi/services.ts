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

/** Asks a service for the data of one replica of one partition. */
export class PartitionReplicationEvent {
  constructor(
    readonly partitionId: number,
    readonly replicaIndex: number,
  ) {}
  getPartitionId(): number {
    return this.partitionId;
  }
  getReplicaIndex(): number {
    return this.replicaIndex;
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
  ) {}
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

export function isBackupAwareOperation(op: unknown): op is Operation & import('./operation.js').BackupAwareOperation {
  return hasMethods(op, ['getSyncBackupCount', 'getAsyncBackupCount', 'shouldBackup', 'getBackupOperation']);
}
