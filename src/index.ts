/**
 * Shoal: a partitioned in-memory data grid for Node.js.
 * Everything public is exported here; internal modules are not part of the API.
 */
export { Shoal, type InstanceOptions } from './shoal.js';
export { ShoalInstance } from './engine/instance.js';
export { Address } from './core/address.js';
export type { Config, ServiceConfig, ResolvedConfig } from './config/types.js';
export { ConfigError } from './config/errors.js';
export { loadConfig } from './config/load.js';

// SPI
export {
  Operation,
  AbstractOperation,
  type PartitionAwareOperation,
  type BackupAwareOperation,
  type KeyedOperation,
  type BackupOperation,
  type OperationConstructor,
} from './spi/operation.js';
export {
  MergePolicy,
  MigrationEndpoint,
  PartitionMigrationEvent,
  PartitionReplicationEvent,
  isManagedService,
  isRemoteService,
  isMigrationAwareService,
  isChunkedMigrationAwareService,
  isBackupAwareOperation,
  isKeyedOperation,
  type Properties,
  type ManagedService,
  type RemoteService,
  type MigrationAwareService,
  type ChunkedMigrationAwareService,
} from './spi/services.js';
export { AbstractDistributedObject, type DistributedObject } from './spi/distributed-object.js';
export type { NodeEngine, OperationService, InvocationBuilder, ProxyService, Logger } from './spi/node-engine.js';
export type {
  Cluster,
  Member,
  MembershipEvent,
  MembershipListener,
  PartitionService,
  MigrationInfo,
  MigrationListener,
} from './spi/cluster.js';
export * from './spi/errors.js';

// Serialization
export { ObjectDataInput, ObjectDataOutput } from './serialization/object-data.js';
export { SerializationService } from './serialization/serialization-service.js';
export { registerType, type DataSerializable, type TypeConstructor } from './serialization/type-registry.js';
export { registerOperation } from './spi/register.js';

// Named partitions
export {
  EnableAction,
  PartitionMapper,
  ReplicaNode,
  ReplicationType,
  type ClassOf,
  type MigrationReport,
  type Partition,
  type PartitionListener,
  type PartitionManager,
  type PartitionProperties,
  type PartitionState,
  type ResolvedPartitionProperties,
} from './engine/named-partitions-api.js';

// The built-in distributed map. It is written against the exports above only, so these lines
// stay last: when this module is the entry, everything the map imports from it is ready first.
export type { DistributedMap } from './map/types.js';
export { MAP_SERVICE_NAME } from './map/name.js';
export { MapService } from './map/map-service.js';
