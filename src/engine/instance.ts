/** The public face of one member: what `Shoal.newInstance` returns. */
import type { Cluster, PartitionService } from '../spi/cluster.js';
import type { DistributedObject } from '../spi/distributed-object.js';
import type { NodeEngine } from '../spi/node-engine.js';
import { MAP_SERVICE_NAME } from '../map/name.js';
import type { DistributedMap } from '../map/types.js';
import type { PartitionManager } from './named-partitions-api.js';
import type { Node } from './node.js';

export class ShoalInstance implements AsyncDisposable {
  /** @internal */
  readonly node: Node;

  constructor(node: Node) {
    this.node = node;
  }

  /** The member name (configured, or `member-<port>`). */
  getName(): string {
    return this.node.name;
  }

  getCluster(): Cluster {
    return this.node.cluster;
  }

  getPartitionService(): PartitionService {
    return this.node.partitions;
  }

  /** Named partitions: define, enable, migrate, map objects to them (see docs/architecture.md). */
  getPartitionManager(): PartitionManager {
    return this.node.named.manager;
  }

  /** The built-in distributed map of that name (created on every member first). */
  getMap<K = unknown, V = unknown>(name: string): Promise<DistributedMap<K, V>> {
    return this.getDistributedObject<DistributedMap<K, V>>(MAP_SERVICE_NAME, name);
  }

  /** The node engine services see; handy for tests and tools. */
  getNodeEngine(): NodeEngine {
    return this.node.nodeEngine;
  }

  /**
   * The proxy of a distributed object, created on every member first. The same name gives the
   * same proxy object on this member.
   */
  getDistributedObject<T extends DistributedObject = DistributedObject>(serviceName: string, name: string): Promise<T> {
    return this.node.proxies.getDistributedObject<T>(serviceName, name);
  }

  getDistributedObjects(): DistributedObject[] {
    return this.node.proxies.getDistributedObjects();
  }

  isRunning(): boolean {
    return this.node.isRunning();
  }

  /** Graceful: migrates this member's partitions away (bounded), leaves, stops services. */
  shutdown(): Promise<void> {
    return this.node.shutdown();
  }

  /** Abrupt, as a crash would be: no migration and no goodbye. */
  terminate(): Promise<void> {
    return this.node.terminate();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  toString(): string {
    return `ShoalInstance{name=${this.getName()}, address=${this.node.address.toString()}}`;
  }
}
