/**
 * The map's operations. Type ids 500..599 are reserved for the built-in map; registered with
 * `registerType` (registerOperation keeps ids below 1000 for Shoal itself, and this is Shoal).
 */
import {
  Operation,
  registerType,
  type BackupAwareOperation,
  type BackupOperation,
  type KeyedOperation,
  type ObjectDataInput,
  type ObjectDataOutput,
  type PartitionAwareOperation,
} from '../index.js';
import type { MapService } from './map-service.js';

/** Serialized key and value bytes. */
export type Bytes = Buffer;

function readBytes(input: ObjectDataInput): Bytes {
  const b = input.readByteArray();
  if (b === null) throw new RangeError('map operation: missing bytes');
  return b;
}

abstract class KeyOperation extends Operation implements PartitionAwareOperation, KeyedOperation {
  mapName = '';
  key: Bytes = Buffer.alloc(0);

  constructor(mapName?: string, key?: Bytes) {
    super();
    if (mapName !== undefined) this.mapName = mapName;
    if (key !== undefined) this.key = key;
  }

  protected service(): MapService {
    return this.getService<MapService>();
  }

  /** One entry: a put waiting for its sync backups holds back only this key (see KeyedOperation). */
  getOrderingKey(): string {
    return `${this.mapName}\u0000${this.key.toString('latin1')}`;
  }

  override writeInternal(out: ObjectDataOutput): void {
    out.writeUTF(this.mapName);
    out.writeByteArray(this.key);
  }

  override readInternal(input: ObjectDataInput): void {
    this.mapName = input.readUTF();
    this.key = readBytes(input);
  }
}

abstract class KeyValueOperation extends KeyOperation {
  value: Bytes = Buffer.alloc(0);

  constructor(mapName?: string, key?: Bytes, value?: Bytes) {
    super(mapName, key);
    if (value !== undefined) this.value = value;
  }

  override writeInternal(out: ObjectDataOutput): void {
    super.writeInternal(out);
    out.writeByteArray(this.value);
  }

  override readInternal(input: ObjectDataInput): void {
    super.readInternal(input);
    this.value = readBytes(input);
  }
}

export class MapPutOperation extends KeyValueOperation implements BackupAwareOperation {
  static readonly typeId = 500;
  private previous: Bytes | null = null;
  run(): void {
    this.previous = this.service().store(this.getPartitionId()).put(this.mapName, this.key, this.value);
  }
  override getResponse(): Bytes | null {
    return this.previous;
  }
  getSyncBackupCount(): number {
    return this.service().syncBackups;
  }
  getAsyncBackupCount(): number {
    return this.service().asyncBackups;
  }
  shouldBackup(): boolean {
    return true;
  }
  getBackupOperation(): Operation {
    return new MapPutBackupOperation(this.mapName, this.key, this.value);
  }
}

export class MapPutBackupOperation extends KeyValueOperation implements BackupOperation {
  static readonly typeId = 501;
  run(): void {
    this.service().store(this.getPartitionId()).put(this.mapName, this.key, this.value);
  }
}

export class MapGetOperation extends KeyOperation {
  static readonly typeId = 502;
  private value: Bytes | null = null;
  run(): void {
    this.value = this.service().store(this.getPartitionId()).get(this.mapName, this.key);
  }
  override getResponse(): Bytes | null {
    return this.value;
  }
}

export class MapRemoveOperation extends KeyOperation implements BackupAwareOperation {
  static readonly typeId = 503;
  private previous: Bytes | null = null;
  run(): void {
    this.previous = this.service().store(this.getPartitionId()).remove(this.mapName, this.key);
  }
  override getResponse(): Bytes | null {
    return this.previous;
  }
  getSyncBackupCount(): number {
    return this.service().syncBackups;
  }
  getAsyncBackupCount(): number {
    return this.service().asyncBackups;
  }
  shouldBackup(): boolean {
    return this.previous !== null;
  }
  getBackupOperation(): Operation {
    return new MapRemoveBackupOperation(this.mapName, this.key);
  }
}

export class MapRemoveBackupOperation extends KeyOperation implements BackupOperation {
  static readonly typeId = 504;
  run(): void {
    this.service().store(this.getPartitionId()).remove(this.mapName, this.key);
  }
}

export class MapContainsKeyOperation extends KeyOperation {
  static readonly typeId = 505;
  private found = false;
  run(): void {
    this.found = this.service().store(this.getPartitionId()).get(this.mapName, this.key) !== null;
  }
  override getResponse(): boolean {
    return this.found;
  }
}

/** The shape of the partition-wide operations: one map's name, and nothing else on the wire. */
abstract class MapWideOperation extends Operation implements PartitionAwareOperation {
  mapName = '';
  constructor(mapName?: string) {
    super();
    if (mapName !== undefined) this.mapName = mapName;
  }
  override writeInternal(out: ObjectDataOutput): void {
    out.writeUTF(this.mapName);
  }
  override readInternal(input: ObjectDataInput): void {
    this.mapName = input.readUTF();
  }
}

/** Partition-wide: entry count of one map in this partition. */
export class MapSizeOperation extends MapWideOperation {
  static readonly typeId = 506;
  private size = 0;
  run(): void {
    this.size = this.getService<MapService>().store(this.getPartitionId()).size(this.mapName);
  }
  override getResponse(): number {
    return this.size;
  }
}

/** Partition-wide: the entries (or only the keys) of one map in this partition. */
export class MapEntriesOperation extends MapWideOperation {
  static readonly typeId = 507;
  keysOnly = false;
  private entries: (Bytes | null)[][] = [];
  constructor(mapName?: string, keysOnly?: boolean) {
    super(mapName);
    if (keysOnly !== undefined) this.keysOnly = keysOnly;
  }
  run(): void {
    this.entries = this.getService<MapService>()
      .store(this.getPartitionId())
      .entries(this.mapName)
      .map(([k, v]) => (this.keysOnly ? [k, null] : [k, v]));
  }
  override getResponse(): (Bytes | null)[][] {
    return this.entries;
  }
  override writeInternal(out: ObjectDataOutput): void {
    super.writeInternal(out);
    out.writeBoolean(this.keysOnly);
  }
  override readInternal(input: ObjectDataInput): void {
    super.readInternal(input);
    this.keysOnly = input.readBoolean();
  }
}

/** Partition-wide: removes every entry of one map in this partition. */
export class MapClearOperation extends MapWideOperation implements BackupAwareOperation {
  static readonly typeId = 508;
  private removed = 0;
  run(): void {
    this.removed = this.getService<MapService>().store(this.getPartitionId()).clearMap(this.mapName);
  }
  override getResponse(): number {
    return this.removed;
  }
  getSyncBackupCount(): number {
    return this.getService<MapService>().syncBackups;
  }
  getAsyncBackupCount(): number {
    return this.getService<MapService>().asyncBackups;
  }
  shouldBackup(): boolean {
    return this.removed > 0;
  }
  getBackupOperation(): Operation {
    return new MapClearBackupOperation(this.mapName);
  }
}

export class MapClearBackupOperation extends MapWideOperation implements BackupOperation {
  static readonly typeId = 509;
  run(): void {
    this.getService<MapService>().store(this.getPartitionId()).clearMap(this.mapName);
  }
}

/**
 * Carries a slice of one partition's entries to another member (migration, replica copy,
 * restore). Applied as the service's current merge policy for the partition says.
 */
export class MapReplicationOperation extends Operation {
  static readonly typeId = 510;
  /** [map name, [key, value][]] */
  data: [string, [Bytes, Bytes][]][] = [];
  constructor(data?: [string, [Bytes, Bytes][]][]) {
    super();
    if (data !== undefined) this.data = data;
  }
  run(): void {
    const service = this.getService<MapService>();
    service.applyReplication(this.getPartitionId(), this.data);
  }
  override writeInternal(out: ObjectDataOutput): void {
    out.writeInt(this.data.length);
    for (const [name, entries] of this.data) {
      out.writeUTF(name);
      out.writeInt(entries.length);
      for (const [k, v] of entries) {
        out.writeByteArray(k);
        out.writeByteArray(v);
      }
    }
  }
  override readInternal(input: ObjectDataInput): void {
    const maps = input.readInt();
    if (maps < 0 || maps > input.remaining()) throw new RangeError(`map replication claims ${maps} maps`);
    this.data = [];
    for (let i = 0; i < maps; i++) {
      const name = input.readUTF();
      const n = input.readInt();
      if (n < 0 || n > input.remaining()) throw new RangeError(`map replication claims ${n} entries`);
      const entries: [Bytes, Bytes][] = [];
      for (let j = 0; j < n; j++) entries.push([readBytes(input), readBytes(input)]);
      this.data.push([name, entries]);
    }
  }
}

for (const ctor of [
  MapPutOperation,
  MapPutBackupOperation,
  MapGetOperation,
  MapRemoveOperation,
  MapRemoveBackupOperation,
  MapContainsKeyOperation,
  MapSizeOperation,
  MapEntriesOperation,
  MapClearOperation,
  MapClearBackupOperation,
  MapReplicationOperation,
]) {
  registerType(ctor);
}
