/** The map's proxy: serializes keys and values, routes each call to the key's partition. */
import { AbstractDistributedObject, type NodeEngine, type Operation } from '../index.js';
import {
  MapClearOperation,
  MapContainsKeyOperation,
  MapEntriesOperation,
  MapGetOperation,
  MapPutOperation,
  MapRemoveOperation,
  MapSizeOperation,
  type Bytes,
} from './map-ops.js';
import type { MapService } from './map-service.js';
import { MAP_SERVICE_NAME } from './name.js';
import type { DistributedMap } from './types.js';

export class MapProxy<K, V> extends AbstractDistributedObject<MapService> implements DistributedMap<K, V> {
  private readonly name: string;

  constructor(name: string, nodeEngine: NodeEngine, service: MapService) {
    super(nodeEngine, service);
    this.name = name;
  }

  getName(): string {
    return this.name;
  }

  getServiceName(): string {
    return MAP_SERVICE_NAME;
  }

  private toBytes(value: unknown): Bytes {
    return this.getNodeEngine().getSerializationService().toBytes(value);
  }

  private fromBytes<T>(bytes: Bytes | null): T | undefined {
    return bytes === null ? undefined : this.getNodeEngine().getSerializationService().toObject<T>(bytes);
  }

  private partitionOf(key: K): number {
    return this.getNodeEngine().getPartitionService().getPartitionId(key);
  }

  async put(key: K, value: V): Promise<V | undefined> {
    const op = new MapPutOperation(this.name, this.toBytes(key), this.toBytes(value));
    return this.fromBytes<V>(await this.getNodeEngine().getOperationService().invokeOnPartition<Bytes | null>(MAP_SERVICE_NAME, op, this.partitionOf(key)));
  }

  async get(key: K): Promise<V | undefined> {
    const op = new MapGetOperation(this.name, this.toBytes(key));
    return this.fromBytes<V>(await this.getNodeEngine().getOperationService().invokeOnPartition<Bytes | null>(MAP_SERVICE_NAME, op, this.partitionOf(key)));
  }

  async remove(key: K): Promise<V | undefined> {
    const op = new MapRemoveOperation(this.name, this.toBytes(key));
    return this.fromBytes<V>(await this.getNodeEngine().getOperationService().invokeOnPartition<Bytes | null>(MAP_SERVICE_NAME, op, this.partitionOf(key)));
  }

  containsKey(key: K): Promise<boolean> {
    const op = new MapContainsKeyOperation(this.name, this.toBytes(key));
    return this.getNodeEngine().getOperationService().invokeOnPartition<boolean>(MAP_SERVICE_NAME, op, this.partitionOf(key));
  }

  /** Runs one operation per partition (every hashed one and every enabled named one). */
  private onEveryPartition<T>(make: () => Operation): Promise<T[]> {
    const engine = this.getNodeEngine();
    const ops = engine.getOperationService();
    return Promise.all(engine.getPartitionService().getPartitionIds().map((p) => ops.invokeOnPartition<T>(MAP_SERVICE_NAME, make(), p)));
  }

  async size(): Promise<number> {
    const sizes = await this.onEveryPartition<number>(() => new MapSizeOperation(this.name));
    return sizes.reduce((a, b) => a + b, 0);
  }

  async keys(): Promise<K[]> {
    const parts = await this.onEveryPartition<(Bytes | null)[][]>(() => new MapEntriesOperation(this.name, true));
    return parts.flat().map(([k]) => this.fromBytes<K>(k) as K);
  }

  async entries(): Promise<[K, V][]> {
    const parts = await this.onEveryPartition<(Bytes | null)[][]>(() => new MapEntriesOperation(this.name, false));
    return parts.flat().map(([k, v]): [K, V] => [this.fromBytes<K>(k) as K, this.fromBytes<V>(v) as V]);
  }

  async clear(): Promise<void> {
    await this.onEveryPartition<number>(() => new MapClearOperation(this.name));
  }

  /**
   * Clears the map through its partitions first, then removes its proxies on every member. The
   * clear is ordered with each partition's migrations and backups (a frozen partition answers
   * RETRY until its new owner has it); the proxy removal alone empties each member's stores
   * outside the partitions, where a copy in flight could land afterwards and bring entries back.
   */
  override async destroy(): Promise<void> {
    await this.clear();
    await super.destroy();
  }
}
