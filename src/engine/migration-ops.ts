/**
 * The engine's own operations for partition management. They travel like user operations
 * (member-targeted invocations with responses and timeouts), with type ids below 1000.
 */
import type { ExportedCallRecord } from '../core/replica-bookkeeping.js';
import type { ObjectDataInput, ObjectDataOutput } from '../serialization/object-data.js';
import { registerType } from '../serialization/type-registry.js';
import { MergePolicy } from '../spi/services.js';
import { InternalOperation } from './internal-operation.js';
import type { WireTable } from './partition-service.js';

/** Member → master: assign partitions now (they are assigned lazily on first use). */
export class AssignPartitionsOp extends InternalOperation {
  static readonly typeId = 1;
  override returnsResponse(): boolean {
    return false;
  }
  run(): void {
    this.node().partitions.assignIfNeeded();
  }
}

/** New master → member: your view of the table and of migrations you are part of. */
export class PartitionStateOp extends InternalOperation {
  static readonly typeId = 2;
  private response: WireTable | null = null;
  run(): void {
    this.response = this.node().partitions.wireSnapshot();
  }
  override getResponse(): unknown {
    return this.response;
  }
}

export interface MigrationOrder {
  migrationId: string;
  partitionId: number;
  replicaIndex: number;
  sourceUuid: string | null;
  destinationUuid: string;
  destinationAddress: string;
  /** The partition version the master planned against; the owner refuses a stale order. */
  partitionVersion: number;
  masterUuid: string;
  /** 0: freeze the partition for the whole copy; > 0: batched copy with this many objects per step (named partitions). */
  objectsPerBatch: number;
  /** Batched copy: steps in flight at once. */
  streams: number;
  /** How the destination applies the copy (REPLACE except when restoring a named partition). */
  mergePolicy: MergePolicy;
}

const MERGE_POLICIES: ReadonlySet<string> = new Set(Object.values(MergePolicy));

function readMergePolicy(input: ObjectDataInput): MergePolicy {
  const v = input.readUTF();
  if (!MERGE_POLICIES.has(v)) throw new RangeError(`bad merge policy ${v}`);
  return v as MergePolicy;
}

function writeOrder(out: ObjectDataOutput, o: MigrationOrder): void {
  out.writeUTF(o.migrationId);
  out.writeInt(o.partitionId);
  out.writeByte(o.replicaIndex);
  out.writeUTF(o.sourceUuid);
  out.writeUTF(o.destinationUuid);
  out.writeUTF(o.destinationAddress);
  out.writeInt(o.partitionVersion);
  out.writeUTF(o.masterUuid);
  out.writeInt(o.objectsPerBatch);
  out.writeByte(o.streams);
  out.writeUTF(o.mergePolicy);
}

function readOrder(input: ObjectDataInput): MigrationOrder {
  return {
    migrationId: input.readUTF(),
    partitionId: input.readInt(),
    replicaIndex: input.readByte(),
    sourceUuid: input.readNullableUTF(),
    destinationUuid: input.readUTF(),
    destinationAddress: input.readUTF(),
    partitionVersion: input.readInt(),
    masterUuid: input.readUTF(),
    objectsPerBatch: input.readInt(),
    streams: input.readByte(),
    mergePolicy: readMergePolicy(input),
  };
}

/**
 * Master → owner: copy one replica of a partition to the destination. The owner freezes the
 * partition, captures every service's data, streams it in chunks, and answers once the
 * destination applied the last one. Its response is the number of entries and bytes moved.
 */
export class MigrationRequestOp extends InternalOperation {
  static readonly typeId = 3;
  order!: MigrationOrder;
  private result: [number, number] = [0, 0];
  constructor(order?: MigrationOrder) {
    super();
    if (order) this.order = order;
  }
  async run(): Promise<void> {
    this.result = await this.node().partitions.runMigrationSource(this.order);
  }
  override getResponse(): unknown {
    return this.result;
  }
  override writeInternal(out: ObjectDataOutput): void {
    writeOrder(out, this.order);
  }
  override readInternal(input: ObjectDataInput): void {
    this.order = readOrder(input);
  }
}

/** One encoded replication operation: service name, type id and fields, as on the wire. */
export type EncodedOperation = Buffer;

export interface ChunkHeader {
  /** Migration id, or `sync:<n>` for a replica sync. */
  migrationId: string;
  partitionId: number;
  replicaIndex: number;
  first: boolean;
  last: boolean;
  /** The owner's replica version when it captured the data. */
  replicaVersion: number;
  masterUuid: string;
  /**
   * A batched copy: the destination takes `replicaVersion` from the first chunk and applies the
   * owner's backups in between; the last chunk's version must then match what it reached.
   */
  batched: boolean;
  mergePolicy: MergePolicy;
  /**
   * The sending owner's highest backed-up replica index (how far its anti-entropy checks). The
   * destination of an owner move takes it over: a new owner that has sent no backup yet would
   * otherwise never compare the backups it inherits, and one that missed the old owner's last
   * backups would stay behind for good.
   */
  backupIndexMax: number;
  /**
   * The member (uuid) a migration's copy is for ('' for a replica sync or a merge): a member
   * restarted at the destination's address must not take it.
   */
  destinationUuid: string;
}

/** Owner → destination: one chunk of replication operations (and, in the last, call records). */
export class MigrationChunkOp extends InternalOperation {
  static readonly typeId = 4;
  header!: ChunkHeader;
  operations: EncodedOperation[] = [];
  /** [callKey, response, at] triples, sent with the last chunk. */
  records: ExportedCallRecord[] = [];
  constructor(header?: ChunkHeader, operations?: EncodedOperation[], records?: ExportedCallRecord[]) {
    super();
    if (header) this.header = header;
    if (operations) this.operations = operations;
    if (records) this.records = records;
  }
  run(): Promise<void> {
    return this.node().partitions.applyChunk(this.header, this.operations, this.records);
  }
  override writeInternal(out: ObjectDataOutput): void {
    const h = this.header;
    out.writeUTF(h.migrationId);
    out.writeInt(h.partitionId);
    out.writeByte(h.replicaIndex);
    out.writeBoolean(h.first);
    out.writeBoolean(h.last);
    out.writeLong(h.replicaVersion);
    out.writeUTF(h.masterUuid);
    out.writeBoolean(h.batched);
    out.writeUTF(h.mergePolicy);
    out.writeByte(h.backupIndexMax);
    out.writeUTF(h.destinationUuid);
    out.writeInt(this.operations.length);
    for (const op of this.operations) out.writeByteArray(op);
    out.writeObject(this.records);
  }
  override readInternal(input: ObjectDataInput): void {
    this.header = {
      migrationId: input.readUTF(),
      partitionId: input.readInt(),
      replicaIndex: input.readByte(),
      first: input.readBoolean(),
      last: input.readBoolean(),
      replicaVersion: input.readLong(),
      masterUuid: input.readUTF(),
      batched: input.readBoolean(),
      mergePolicy: readMergePolicy(input),
      backupIndexMax: input.readByte(),
      destinationUuid: input.readUTF(),
    };
    const n = input.readInt();
    if (n < 0 || n > input.remaining()) throw new RangeError(`chunk claims ${n} operations`);
    this.operations = [];
    for (let i = 0; i < n; i++) this.operations.push(input.readByteArray() ?? Buffer.alloc(0));
    this.records = readCallRecords(input);
  }
}

export interface FinalizeOrder {
  migrationId: string;
  partitionId: number;
  commit: boolean;
  /** Index this member held before (-1 none) and holds after (-1 none). */
  currentIndex: number;
  newIndex: number;
  endpoint: 'SOURCE' | 'DESTINATION' | 'OWNER';
  /**
   * The member (uuid) the order is for. The master resends an order to that member's address
   * until it is acknowledged, so a member restarted at the same address may receive it: it is
   * not its migration, and applying it would roll back (clear) a copy of its own (seed 344).
   */
  memberUuid: string;
}

/** Master → source/destination/owner: commit or roll back one migration. */
export class MigrationFinalizeOp extends InternalOperation {
  static readonly typeId = 5;
  order!: FinalizeOrder;
  constructor(order?: FinalizeOrder) {
    super();
    if (order) this.order = order;
  }
  run(): Promise<void> {
    return this.node().partitions.finalizeMigration(this.order);
  }
  override writeInternal(out: ObjectDataOutput): void {
    const o = this.order;
    out.writeUTF(o.migrationId);
    out.writeInt(o.partitionId);
    out.writeBoolean(o.commit);
    out.writeInt(o.currentIndex);
    out.writeInt(o.newIndex);
    out.writeUTF(o.endpoint);
    out.writeUTF(o.memberUuid);
  }
  override readInternal(input: ObjectDataInput): void {
    const migrationId = input.readUTF();
    const partitionId = input.readInt();
    const commit = input.readBoolean();
    const currentIndex = input.readInt();
    const newIndex = input.readInt();
    const endpoint = input.readUTF();
    if (endpoint !== 'SOURCE' && endpoint !== 'DESTINATION' && endpoint !== 'OWNER') throw new RangeError(`bad endpoint ${endpoint}`);
    const memberUuid = input.readUTF();
    this.order = { migrationId, partitionId, commit, currentIndex, newIndex, endpoint, memberUuid };
  }
}

/** Backup → owner: send me a full copy of replica `replicaIndex` (I am dirty or new). */
export class ReplicaSyncRequestOp extends InternalOperation {
  static readonly typeId = 6;
  partitionId = 0;
  replicaIndex = 0;
  constructor(partitionId?: number, replicaIndex?: number) {
    super();
    if (partitionId !== undefined) this.partitionId = partitionId;
    if (replicaIndex !== undefined) this.replicaIndex = replicaIndex;
  }
  /** True when this member owns the partition and will stream the copy. */
  private served = false;
  run(): void {
    const caller = this.getCallerAddress();
    if (caller !== null) this.served = this.node().partitions.serveReplicaSync(this.partitionId, this.replicaIndex, caller);
  }
  override getResponse(): unknown {
    return this.served;
  }
  override writeInternal(out: ObjectDataOutput): void {
    out.writeInt(this.partitionId);
    out.writeByte(this.replicaIndex);
  }
  override readInternal(input: ObjectDataInput): void {
    this.partitionId = input.readInt();
    this.replicaIndex = input.readByte();
  }
}

/** Leaving member → master: move my replicas away before I go. Responds when none are left. */
export class ShutdownRequestOp extends InternalOperation {
  static readonly typeId = 7;
  uuid = '';
  constructor(uuid?: string) {
    super();
    if (uuid !== undefined) this.uuid = uuid;
  }
  /** False when every data member is leaving: there is nowhere to move the partitions. */
  private canDrain = true;
  run(): void {
    this.canDrain = this.node().partitions.markLeaving(this.uuid);
  }
  override getResponse(): unknown {
    return this.canDrain;
  }
  override writeInternal(out: ObjectDataOutput): void {
    out.writeUTF(this.uuid);
  }
  override readInternal(input: ObjectDataInput): void {
    this.uuid = input.readUTF();
  }
}

for (const ctor of [AssignPartitionsOp, PartitionStateOp, MigrationRequestOp, MigrationChunkOp, MigrationFinalizeOp, ReplicaSyncRequestOp, ShutdownRequestOp]) {
  registerType(ctor);
}

/** Call records as a chunk carries them, checked: a malformed chunk fails here, not later. */
function readCallRecords(input: ObjectDataInput): ExportedCallRecord[] {
  const value = input.readObject();
  if (!Array.isArray(value)) throw new RangeError('chunk call records are not a list');
  for (const r of value as unknown[]) {
    if (!Array.isArray(r) || r.length !== 4 || typeof r[0] !== 'string' || typeof r[1] !== 'number' || typeof r[3] !== 'number') {
      throw new RangeError('chunk call record is not [caller, callId, response, at]');
    }
  }
  return value as ExportedCallRecord[];
}
