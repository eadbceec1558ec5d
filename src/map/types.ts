/**
 * The built-in distributed map's public interface (no runtime imports: src/engine/instance.ts
 * and src/index.ts import it for types only).
 */
import type { DistributedObject } from '../spi/distributed-object.js';

/**
 * A distributed key-value map (`instance.getMap(name)`). Keys and values travel serialized
 * (ObjectDataOutput.writeObject), so two keys are the same key when they serialize to the same
 * bytes. A key's partition comes from a partition mapper when one is installed for its class
 * (a named partition), else from its hash.
 *
 * Backups: service properties `backup-count` (synchronous, default 1) and `async-backup-count`
 * (default 0) of the service `shoal:map`; a key in a named partition is backed up to the
 * partition's replica nodes instead, as its definition says.
 */
export interface DistributedMap<K = unknown, V = unknown> extends DistributedObject {
  /** Sets the value; resolves with the previous value, or undefined. */
  put(key: K, value: V): Promise<V | undefined>;
  get(key: K): Promise<V | undefined>;
  /** Removes the key; resolves with the value it had, or undefined. */
  remove(key: K): Promise<V | undefined>;
  containsKey(key: K): Promise<boolean>;
  /** Entries in every partition (hashed and enabled named ones). */
  size(): Promise<number>;
  keys(): Promise<K[]>;
  entries(): Promise<[K, V][]>;
  /** Removes every entry (the map itself stays). */
  clear(): Promise<void>;
}
