import type { Logger } from 'pino';
import type { Address } from '../core/address.js';
import type { SerializationService } from '../serialization/serialization-service.js';
import type { Cluster, Member, PartitionService } from './cluster.js';
import type { DistributedObject } from './distributed-object.js';
import type { Operation } from './operation.js';

export type { Logger };

/** Builds and sends one invocation. */
export interface InvocationBuilder {
  /** Per-call timeout in ms (default: `invocation.callTimeoutMs`, 60 s). */
  setCallTimeout(ms: number): this;
  /** Sends the operation and resolves with its response (undefined for fire-and-forget). */
  invoke<T = unknown>(): Promise<T>;
}

export interface OperationService {
  /** Routes `op` to the owner of `partitionId`, retrying transparently while ownership moves. */
  createInvocationBuilder(serviceName: string, op: Operation, partitionId: number): InvocationBuilder;
  /** Runs `op` on one member (not tied to a partition). */
  createInvocationBuilderOnMember(serviceName: string, op: Operation, target: Address): InvocationBuilder;
  /** Shorthand for `createInvocationBuilder(...).invoke()`. */
  invokeOnPartition<T = unknown>(serviceName: string, op: Operation, partitionId: number): Promise<T>;
}

export interface ProxyService {
  getDistributedObject<T extends DistributedObject>(serviceName: string, name: string): Promise<T>;
  destroyDistributedObject(serviceName: string, name: string): Promise<void>;
  getDistributedObjects(): DistributedObject[];
}

/** What a service sees of the member it runs in. */
export interface NodeEngine {
  getThisAddress(): Address;
  getLocalMember(): Member;
  getClusterService(): Cluster;
  getPartitionService(): PartitionService;
  getOperationService(): OperationService;
  getProxyService(): ProxyService;
  getSerializationService(): SerializationService;
  /** A service registered on this member, by name; throws ServiceNotFoundError. */
  getService<S = unknown>(serviceName: string): S;
  getLogger(name: string): Logger;
  /** True while the member accepts work (between start and shutdown). */
  isRunning(): boolean;
}
