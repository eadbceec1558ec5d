/**
 * Test-only service and operations of the reliability tests.
 *
 * - BulkService: many small entries per partition, moved with the chunked migration SPI
 *   (`prepareReplicationChunks`), each chunk operation kept within the engine's chunk budget.
 * - InspectCounterOp: reads one counter from the local CounterService container of the member it
 *   is sent to, whatever replica that member holds (owner or backup), without touching it.
 */
import { CounterService } from '../../examples/counter/counter.js';
import {
  MigrationEndpoint,
  ObjectDataOutput,
  Operation,
  registerOperation,
  type ChunkedMigrationAwareService,
  type ManagedService,
  type NodeEngine,
  type ObjectDataInput,
  type PartitionMigrationEvent,
  type PartitionReplicationEvent,
  type Properties,
} from '../../src/index.js';

/** The value bulkLoad stores for entry `id`: derived from the id alone, so any member can check it. */
export function bulkValueOf(id: number): string {
  return `v${id}:${(Math.imul(id, 2654435761) >>> 0).toString(36)}`;
}

/** The key of entry `id`; its partition is the key's partition, as for any user key. */
export function bulkKeyOf(id: number): string {
  return `entry-${id}`;
}

/** Bytes an entry takes inside a BulkChunkOp (int id, UTF value with its int32 length). */
function entryBytes(value: string): number {
  return 4 + 4 + Buffer.byteLength(value, 'utf8');
}

/** Fixed part of an encoded BulkChunkOp body: service name, type id, entry count, with slack. */
const CHUNK_OP_OVERHEAD = 64;

export class BulkService implements ManagedService, ChunkedMigrationAwareService {
  static readonly NAME = 'BulkService';
  containers: Map<number, string>[] = [];
  /** Largest replication operation produced on this member, encoded (bytes), and how many. */
  producedOpMax = 0;
  producedOps = 0;

  init(nodeEngine: NodeEngine, _properties: Properties): void {
    const count = nodeEngine.getPartitionService().getPartitionCount();
    this.containers = Array.from({ length: count }, () => new Map<number, string>());
  }

  shutdown(_terminate: boolean): void {}

  reset(): void {
    for (const c of this.containers) c.clear();
  }

  beforeMigration(_event: PartitionMigrationEvent): void {}

  /** The single-operation form (not used while the chunked form exists; kept valid). */
  prepareReplicationOperation(event: PartitionReplicationEvent): Operation | null {
    if (event.getReplicaIndex() > 0) return null;
    const container = this.containers[event.getPartitionId()];
    return container.size === 0 ? null : new BulkChunkOp([...container]);
  }

  *prepareReplicationChunks(event: PartitionReplicationEvent, chunkBytesHint: number): Iterable<Operation> {
    if (event.getReplicaIndex() > 0) return; // this service keeps no backups
    const container = this.containers[event.getPartitionId()];
    let batch: [number, string][] = [];
    let bytes = CHUNK_OP_OVERHEAD;
    const emit = (): Operation => {
      const op = new BulkChunkOp(batch);
      const size = encodedSize(op);
      this.producedOps++;
      if (size > this.producedOpMax) this.producedOpMax = size;
      batch = [];
      bytes = CHUNK_OP_OVERHEAD;
      return op;
    };
    for (const entry of container) {
      const b = entryBytes(entry[1]);
      if (batch.length > 0 && bytes + b > chunkBytesHint) yield emit();
      batch.push(entry);
      bytes += b;
    }
    if (batch.length > 0) yield emit();
  }

  commitMigration(event: PartitionMigrationEvent): void {
    if (event.getMigrationEndpoint() === MigrationEndpoint.SOURCE && event.getNewReplicaIndex() === -1) {
      this.containers[event.getPartitionId()].clear();
    }
  }

  rollbackMigration(event: PartitionMigrationEvent): void {
    if (event.getMigrationEndpoint() === MigrationEndpoint.DESTINATION && event.getCurrentReplicaIndex() === -1) {
      this.containers[event.getPartitionId()].clear();
    }
  }

  clearPartitionReplica(partitionId: number): void {
    this.containers[partitionId].clear();
  }

  entryCount(): number {
    let n = 0;
    for (const c of this.containers) n += c.size;
    return n;
  }
}

const sizer = new ObjectDataOutput(64 * 1024);
function encodedSize(op: Operation): number {
  sizer.clear();
  sizer.writeUTF(BulkService.NAME);
  sizer.writeInt(BulkChunkOp.typeId);
  op.writeInternal(sizer);
  return sizer.position();
}

/** Applies part of a partition's entries on a migration destination. */
export class BulkChunkOp extends Operation {
  static readonly typeId = 3_100_001;
  entries: [number, string][] = [];

  constructor(entries?: [number, string][]) {
    super();
    if (entries !== undefined) this.entries = entries;
  }

  run(): void {
    const container = this.getService<BulkService>().containers[this.getPartitionId()];
    for (const [id, value] of this.entries) container.set(id, value);
  }

  override writeInternal(out: ObjectDataOutput): void {
    out.writeInt(this.entries.length);
    for (const [id, value] of this.entries) {
      out.writeInt(id);
      out.writeUTF(value);
    }
  }

  override readInternal(input: ObjectDataInput): void {
    const n = input.readInt();
    this.entries = new Array<[number, string]>(n);
    for (let i = 0; i < n; i++) this.entries[i] = [input.readInt(), input.readUTF()];
  }
}

/** Stores the entries with these ids in the partition it runs on. */
export class BulkLoadOp extends Operation {
  static readonly typeId = 3_100_002;
  ids: number[] = [];

  constructor(ids?: number[]) {
    super();
    if (ids !== undefined) this.ids = ids;
  }

  run(): void {
    const container = this.getService<BulkService>().containers[this.getPartitionId()];
    for (const id of this.ids) container.set(id, bulkValueOf(id));
  }

  override getResponse(): number {
    return this.ids.length;
  }

  override writeInternal(out: ObjectDataOutput): void {
    out.writeInt(this.ids.length);
    for (const id of this.ids) out.writeInt(id);
  }

  override readInternal(input: ObjectDataInput): void {
    const n = input.readInt();
    this.ids = new Array<number>(n);
    for (let i = 0; i < n; i++) this.ids[i] = input.readInt();
  }
}

/** Checks every entry of its partition on the owner: [entries, id sum, id xor, wrong values]. */
export class BulkVerifyOp extends Operation {
  static readonly typeId = 3_100_003;
  private result: [number, number, number, number] = [0, 0, 0, 0];

  run(): void {
    const container = this.getService<BulkService>().containers[this.getPartitionId()];
    let sum = 0;
    let xor = 0;
    let wrong = 0;
    for (const [id, value] of container) {
      sum += id;
      xor ^= Math.imul(id, 0x9e3779b1);
      if (value !== bulkValueOf(id)) wrong++;
    }
    this.result = [container.size, sum, xor, wrong];
  }

  override getResponse(): [number, number, number, number] {
    return this.result;
  }
}

/** Member-targeted: the local container's value of one counter (null: no entry here). */
export class InspectCounterOp extends Operation {
  static readonly typeId = 3_100_010;
  name = '';
  private value: number | null = null;

  constructor(name?: string) {
    super();
    if (name !== undefined) this.name = name;
  }

  run(): void {
    const engine = this.getNodeEngine();
    const p = engine.getPartitionService().getPartitionId(this.name);
    this.value = engine.getService<CounterService>(CounterService.NAME).containers[p].values.get(this.name) ?? null;
  }

  override getResponse(): number | null {
    return this.value;
  }

  override writeInternal(out: ObjectDataOutput): void {
    out.writeUTF(this.name);
  }

  override readInternal(input: ObjectDataInput): void {
    this.name = input.readUTF();
  }
}

registerOperation(BulkChunkOp, BulkLoadOp, BulkVerifyOp, InspectCounterOp);
