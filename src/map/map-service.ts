/**
 * Shoal's built-in distributed map, written only against the public SPI (`src/index.ts`), the
 * way a user would write a service: a container per partition, operations with backups, and
 * migration hooks. It is registered on every member as `shoal:map`; give a service of that name
 * in the config (`implementation: new MapService()`) to set its properties.
 *
 * Properties: `backup-count` (synchronous backups, 0..6, default 1) and `async-backup-count`
 * (0..6, default 0). On a named partition the engine sends backups as the partition's definition
 * says instead.
 */
import {
  MergePolicy,
  MigrationEndpoint,
  ObjectNotUniqueError,
  type ChunkedMigrationAwareService,
  type ManagedService,
  type NodeEngine,
  type Operation,
  type PartitionMigrationEvent,
  type PartitionReplicationEvent,
  type Properties,
  type RemoteService,
} from '../index.js';
import { MapReplicationOperation, type Bytes } from './map-ops.js';
import { MapProxy } from './map-proxy.js';
import { MAP_SERVICE_NAME } from './name.js';

interface Entry {
  readonly key: Bytes;
  readonly value: Bytes;
}

/** One partition's maps: map name → (key bytes as a binary string → entry). */
export class MapStore {
  readonly maps = new Map<string, Map<string, Entry>>();

  private map(name: string, create: boolean): Map<string, Entry> | undefined {
    let m = this.maps.get(name);
    if (m === undefined && create) this.maps.set(name, (m = new Map<string, Entry>()));
    return m;
  }

  put(name: string, key: Bytes, value: Bytes): Bytes | null {
    const m = this.map(name, true)!;
    const id = key.toString('latin1');
    const previous = m.get(id);
    m.set(id, { key, value });
    return previous?.value ?? null;
  }

  get(name: string, key: Bytes): Bytes | null {
    return this.maps.get(name)?.get(key.toString('latin1'))?.value ?? null;
  }

  has(name: string, id: string): boolean {
    return this.maps.get(name)?.has(id) === true;
  }

  remove(name: string, key: Bytes): Bytes | null {
    const m = this.maps.get(name);
    if (m === undefined) return null;
    const id = key.toString('latin1');
    const previous = m.get(id);
    if (previous === undefined) return null;
    m.delete(id);
    if (m.size === 0) this.maps.delete(name);
    return previous.value;
  }

  removeId(name: string, id: string): void {
    const m = this.maps.get(name);
    if (m === undefined) return;
    m.delete(id);
    if (m.size === 0) this.maps.delete(name);
  }

  size(name: string): number {
    return this.maps.get(name)?.size ?? 0;
  }

  entries(name: string): [Bytes, Bytes][] {
    const m = this.maps.get(name);
    return m === undefined ? [] : [...m.values()].map((e) => [e.key, e.value]);
  }

  /**
   * Empties the map's entry table in place before dropping it: a batched copy of the partition
   * may be part-way through iterating that table (prepareReplicationChunks, resumed between
   * operations), and must not go on yielding entries that no longer exist.
   */
  clearMap(name: string): number {
    const m = this.maps.get(name);
    if (m === undefined) return 0;
    const n = m.size;
    m.clear();
    this.maps.delete(name);
    return n;
  }

  clear(): void {
    for (const m of this.maps.values()) m.clear();
    this.maps.clear();
  }

  /** Every entry count, for tests and tools. */
  entryCount(): number {
    let n = 0;
    for (const m of this.maps.values()) n += m.size;
    return n;
  }
}

/** A copy being merged into a partition (named-partition restore) and what it added. */
interface Merge {
  readonly policy: MergePolicy;
  readonly added: [string, string][];
}

export class MapService implements ManagedService, RemoteService, ChunkedMigrationAwareService {
  static readonly NAME = MAP_SERVICE_NAME;
  /** One store per partition id (hashed partitions and named slots). */
  stores: MapStore[] = [];
  syncBackups = 1;
  asyncBackups = 0;
  private nodeEngine: NodeEngine | null = null;
  private readonly merges = new Map<number, Merge>();

  init(nodeEngine: NodeEngine, properties: Properties): void {
    this.nodeEngine = nodeEngine;
    this.syncBackups = parseCount(properties['backup-count'], 1, 'backup-count');
    this.asyncBackups = parseCount(properties['async-backup-count'], 0, 'async-backup-count');
    if (this.syncBackups + this.asyncBackups > 6) throw new RangeError(`shoal:map: backup-count + async-backup-count must be at most 6, got ${this.syncBackups + this.asyncBackups}`);
    const count = nodeEngine.getPartitionService().getPartitionCount();
    this.stores = Array.from({ length: count }, () => new MapStore());
  }

  shutdown(_terminate: boolean): void {}

  reset(): void {
    for (const s of this.stores) s.clear();
    this.merges.clear();
  }

  store(partitionId: number): MapStore {
    const s = this.stores[partitionId];
    if (s === undefined) throw new RangeError(`shoal:map has no partition ${partitionId}`);
    return s;
  }

  engine(): NodeEngine {
    if (this.nodeEngine === null) throw new Error('shoal:map is not initialised');
    return this.nodeEngine;
  }

  // --- RemoteService ------------------------------------------------------------------------------

  createDistributedObject(objectName: string): MapProxy<unknown, unknown> {
    return new MapProxy(objectName, this.engine(), this);
  }

  destroyDistributedObject(objectName: string): void {
    for (const s of this.stores) s.clearMap(objectName);
  }

  // --- migration ----------------------------------------------------------------------------------

  beforeMigration(event: PartitionMigrationEvent): void {
    if (event.getMigrationEndpoint() === MigrationEndpoint.DESTINATION && event.getMergePolicy() !== MergePolicy.REPLACE) {
      this.merges.set(event.getPartitionId(), { policy: event.getMergePolicy(), added: [] });
    }
  }

  prepareReplicationOperation(event: PartitionReplicationEvent): Operation | null {
    if (!this.carriesData(event)) return null;
    const store = this.store(event.getPartitionId());
    const data: [string, [Bytes, Bytes][]][] = [];
    for (const [name, m] of store.maps) data.push([name, [...m.values()].map((e): [Bytes, Bytes] => [e.key, e.value])]);
    return data.length === 0 ? null : new MapReplicationOperation(data);
  }

  /**
   * Yields the partition's entries in slices of at most `event.getChunkObjectsMax()` entries (or
   * about `chunkBytesHint` bytes). Each slice is taken when the engine asks for it, so values are
   * those at that moment; the engine replays later changes after it. The iteration runs over the
   * live entry tables (a batched copy resumes it between operations): an entry removed or cleared
   * meanwhile is not yielded any more, which is why the store clears a table in place.
   */
  *prepareReplicationChunks(event: PartitionReplicationEvent, chunkBytesHint: number): Iterable<Operation> {
    if (!this.carriesData(event)) return;
    const store = this.store(event.getPartitionId());
    const objectsMax = event.getChunkObjectsMax() > 0 ? event.getChunkObjectsMax() : Infinity;
    let data: [string, [Bytes, Bytes][]][] = [];
    let objects = 0;
    let bytes = 0;
    for (const name of [...store.maps.keys()]) {
      const m = store.maps.get(name);
      if (m === undefined) continue;
      let current: [Bytes, Bytes][] | null = null;
      for (const e of m.values()) {
        if (current === null) {
          current = [];
          data.push([name, current]);
        }
        current.push([e.key, e.value]);
        objects++;
        bytes += e.key.length + e.value.length + 16;
        if (objects >= objectsMax || bytes >= chunkBytesHint) {
          yield new MapReplicationOperation(data);
          data = [];
          current = null;
          objects = 0;
          bytes = 0;
        }
      }
    }
    if (objects > 0) yield new MapReplicationOperation(data);
  }

  /** Hashed partitions: only replicas that receive backups hold data. Named ones ask for replica 0. */
  private carriesData(event: PartitionReplicationEvent): boolean {
    return event.getReplicaIndex() <= this.syncBackups + this.asyncBackups;
  }

  /** Applies replicated entries to a partition, as the partition's merge policy (if any) says. */
  applyReplication(partitionId: number, data: readonly [string, readonly [Bytes, Bytes][]][]): void {
    const store = this.store(partitionId);
    const merge = this.merges.get(partitionId);
    if (merge === undefined) {
      for (const [name, entries] of data) for (const [k, v] of entries) store.put(name, k, v);
      return;
    }
    if (merge.policy === MergePolicy.FAIL_ON_DUPLICATE) {
      for (const [name, entries] of data) {
        for (const [k] of entries) {
          if (store.has(name, k.toString('latin1'))) {
            throw new ObjectNotUniqueError(`map '${name}': key ${this.describeKey(k)} exists both on this member and on the node it is restored from`);
          }
        }
      }
    }
    for (const [name, entries] of data) {
      for (const [k, v] of entries) {
        const id = k.toString('latin1');
        if (store.has(name, id)) continue; // KEEP_EXISTING (FAIL_ON_DUPLICATE checked above)
        store.put(name, k, v);
        merge.added.push([name, id]);
      }
    }
  }

  private describeKey(key: Bytes): string {
    try {
      return JSON.stringify(this.engine().getSerializationService().toObject(key)) ?? '(a key)';
    } catch {
      return '(a key that cannot be shown)';
    }
  }

  commitMigration(event: PartitionMigrationEvent): void {
    const p = event.getPartitionId();
    if (event.getMigrationEndpoint() === MigrationEndpoint.DESTINATION) this.merges.delete(p);
    // The source drops its copy only when it keeps no replica of the partition.
    if (event.getMigrationEndpoint() === MigrationEndpoint.SOURCE && event.getNewReplicaIndex() === -1) this.store(p).clear();
  }

  rollbackMigration(event: PartitionMigrationEvent): void {
    if (event.getMigrationEndpoint() !== MigrationEndpoint.DESTINATION) return;
    const p = event.getPartitionId();
    const merge = this.merges.get(p);
    if (merge !== undefined) {
      // A merge keeps what this member had: remove only what the merge added.
      this.merges.delete(p);
      const store = this.store(p);
      for (const [name, id] of merge.added) store.removeId(name, id);
      return;
    }
    // A destination that held no replica before drops the partial copy.
    if (event.getCurrentReplicaIndex() === -1) this.store(p).clear();
  }

  clearPartitionReplica(partitionId: number): void {
    this.store(partitionId).clear();
  }
}

function parseCount(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 6) throw new RangeError(`shoal:map property ${name} must be an integer in 0..6, got '${value}'`);
  return n;
}
