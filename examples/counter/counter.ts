/**
 * The seeds' distributed counter, complete: proxy, a container per partition, migration and
 * backups. Steps 6 and 7, the failover example, the demo, the tests and the benchmarks use it.
 * (Steps 1, 4 and 5 keep their own smaller versions, as the walk-through builds it up.)
 *
 * Run under tsx, the console lines show where each operation ran, as in the seeds.
 */
import {
  AbstractDistributedObject,
  MigrationEndpoint,
  Operation,
  registerOperation,
  type BackupAwareOperation,
  type BackupOperation,
  type DistributedObject,
  type KeyedOperation,
  type ManagedService,
  type MigrationAwareService,
  type NodeEngine,
  type ObjectDataInput,
  type ObjectDataOutput,
  type PartitionAwareOperation,
  type PartitionMigrationEvent,
  type PartitionReplicationEvent,
  type Properties,
  type RemoteService,
} from '../../src/index.js';

export interface Counter extends DistributedObject {
  inc(amount: number): Promise<number>;
  get(): Promise<number>;
}

/** Set SHOAL_COUNTER_QUIET=1 to silence the "Executing …" lines (benchmarks, big tests). */
const verbose = process.env.SHOAL_COUNTER_QUIET !== '1';

/** One per partition: no state is shared between partitions, and one operation runs at a time. */
export class Container {
  readonly values = new Map<string, number>();

  inc(id: string, amount: number): number {
    const next = (this.values.get(id) ?? 0) + amount;
    this.values.set(id, next);
    return next;
  }

  clear(): void {
    this.values.clear();
  }

  applyMigrationData(data: ReadonlyMap<string, number>): void {
    for (const [k, v] of data) this.values.set(k, v);
  }

  toMigrationData(): Map<string, number> {
    return new Map(this.values);
  }

  init(objectName: string): void {
    if (!this.values.has(objectName)) this.values.set(objectName, 0);
  }

  destroy(objectName: string): void {
    this.values.delete(objectName);
  }
}

export class CounterService implements ManagedService, RemoteService, MigrationAwareService {
  static readonly NAME = 'CounterService';
  containers: Container[] = [];
  /** Backups per increment, from the service property `backup-count` (default 1, sync). */
  syncBackups = 1;
  asyncBackups = 0;
  private nodeEngine!: NodeEngine;

  init(nodeEngine: NodeEngine, properties: Properties): void {
    this.nodeEngine = nodeEngine;
    this.syncBackups = parseCount(properties['backup-count'], 1, 'backup-count');
    this.asyncBackups = parseCount(properties['async-backup-count'], 0, 'async-backup-count');
    const count = nodeEngine.getPartitionService().getPartitionCount();
    this.containers = Array.from({ length: count }, () => new Container());
  }

  shutdown(_terminate: boolean): void {}

  reset(): void {
    for (const c of this.containers) c.clear();
  }

  createDistributedObject(objectName: string): CounterProxy {
    const partitionId = this.nodeEngine.getPartitionService().getPartitionId(objectName);
    this.containers[partitionId].init(objectName);
    return new CounterProxy(objectName, this.nodeEngine, this);
  }

  destroyDistributedObject(objectName: string): void {
    const partitionId = this.nodeEngine.getPartitionService().getPartitionId(objectName);
    this.containers[partitionId].destroy(objectName);
  }

  beforeMigration(_event: PartitionMigrationEvent): void {}

  prepareReplicationOperation(event: PartitionReplicationEvent): Operation | null {
    if (event.getReplicaIndex() > this.syncBackups + this.asyncBackups) return null;
    const data = this.containers[event.getPartitionId()].toMigrationData();
    return data.size === 0 ? null : new CounterMigrationOperation(data);
  }

  commitMigration(event: PartitionMigrationEvent): void {
    // The source drops its copy only when it keeps no replica of the partition.
    if (event.getMigrationEndpoint() === MigrationEndpoint.SOURCE && event.getNewReplicaIndex() === -1) {
      this.containers[event.getPartitionId()].clear();
    }
  }

  rollbackMigration(event: PartitionMigrationEvent): void {
    // A destination that held no replica before drops the partial copy.
    if (event.getMigrationEndpoint() === MigrationEndpoint.DESTINATION && event.getCurrentReplicaIndex() === -1) {
      this.containers[event.getPartitionId()].clear();
    }
  }

  clearPartitionReplica(partitionId: number): void {
    this.containers[partitionId].clear();
  }
}

function parseCount(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 6) throw new RangeError(`CounterService property ${name} must be an integer in 0..6, got '${value}'`);
  return n;
}

export class CounterProxy extends AbstractDistributedObject<CounterService> implements Counter {
  private readonly name: string;
  private readonly partitionId: number;

  constructor(name: string, nodeEngine: NodeEngine, service: CounterService) {
    super(nodeEngine, service);
    this.name = name;
    this.partitionId = nodeEngine.getPartitionService().getPartitionId(name);
  }

  getServiceName(): string {
    return CounterService.NAME;
  }

  getName(): string {
    return this.name;
  }

  inc(amount: number): Promise<number> {
    const op = new IncOperation(this.name, amount);
    return this.getNodeEngine().getOperationService().invokeOnPartition<number>(CounterService.NAME, op, this.partitionId);
  }

  get(): Promise<number> {
    return this.getNodeEngine().getOperationService().invokeOnPartition<number>(CounterService.NAME, new GetOperation(this.name), this.partitionId);
  }
}

export class IncOperation extends Operation implements PartitionAwareOperation, BackupAwareOperation, KeyedOperation {
  static readonly typeId = 1001;
  private objectId = '';
  private amount = 0;
  private returnValue = 0;

  constructor(objectId?: string, amount?: number) {
    super();
    if (objectId !== undefined) this.objectId = objectId;
    if (amount !== undefined) this.amount = amount;
  }

  /**
   * Beyond the seeds: a counter is one key of its partition, so while this increment waits for
   * its sync backup only calls on the same counter wait behind it, not the whole partition.
   */
  getOrderingKey(): string {
    return this.objectId;
  }

  run(): void {
    if (verbose) console.log(`Executing ${this.objectId}.inc() on: ${this.getNodeEngine().getThisAddress().toString()}`);
    const service = this.getService<CounterService>();
    this.returnValue = service.containers[this.getPartitionId()].inc(this.objectId, this.amount);
  }

  override getResponse(): number {
    return this.returnValue;
  }

  getSyncBackupCount(): number {
    return this.getService<CounterService>().syncBackups;
  }

  getAsyncBackupCount(): number {
    return this.getService<CounterService>().asyncBackups;
  }

  shouldBackup(): boolean {
    return this.amount !== 0;
  }

  getBackupOperation(): Operation {
    return new IncBackupOperation(this.objectId, this.amount);
  }

  override writeInternal(out: ObjectDataOutput): void {
    out.writeUTF(this.objectId);
    out.writeInt(this.amount);
  }

  override readInternal(input: ObjectDataInput): void {
    this.objectId = input.readUTF();
    this.amount = input.readInt();
  }
}

export class IncBackupOperation extends Operation implements BackupOperation {
  static readonly typeId = 1002;
  private objectId = '';
  private amount = 0;

  constructor(objectId?: string, amount?: number) {
    super();
    if (objectId !== undefined) this.objectId = objectId;
    if (amount !== undefined) this.amount = amount;
  }

  run(): void {
    if (verbose) console.log(`Executing backup ${this.objectId}.inc() on: ${this.getNodeEngine().getThisAddress().toString()}`);
    this.getService<CounterService>().containers[this.getPartitionId()].inc(this.objectId, this.amount);
  }

  override writeInternal(out: ObjectDataOutput): void {
    out.writeUTF(this.objectId);
    out.writeInt(this.amount);
  }

  override readInternal(input: ObjectDataInput): void {
    this.objectId = input.readUTF();
    this.amount = input.readInt();
  }
}

export class GetOperation extends Operation implements PartitionAwareOperation, KeyedOperation {
  static readonly typeId = 1003;
  private objectId = '';
  private value = 0;

  constructor(objectId?: string) {
    super();
    if (objectId !== undefined) this.objectId = objectId;
  }

  /** Waits for a pending increment of the same counter (see IncOperation.getOrderingKey). */
  getOrderingKey(): string {
    return this.objectId;
  }

  run(): void {
    this.value = this.getService<CounterService>().containers[this.getPartitionId()].values.get(this.objectId) ?? 0;
  }

  override getResponse(): number {
    return this.value;
  }

  override writeInternal(out: ObjectDataOutput): void {
    out.writeUTF(this.objectId);
  }

  override readInternal(input: ObjectDataInput): void {
    this.objectId = input.readUTF();
  }
}

/** Carries a partition's counters to a new replica; applied with `applyMigrationData`. */
export class CounterMigrationOperation extends Operation {
  static readonly typeId = 1004;
  migrationData = new Map<string, number>();

  constructor(migrationData?: Map<string, number>) {
    super();
    if (migrationData !== undefined) this.migrationData = migrationData;
  }

  run(): void {
    const service = this.getService<CounterService>();
    service.containers[this.getPartitionId()].applyMigrationData(this.migrationData);
  }

  override writeInternal(out: ObjectDataOutput): void {
    out.writeInt(this.migrationData.size);
    for (const [k, v] of this.migrationData) {
      out.writeUTF(k);
      out.writeInt(v);
    }
  }

  override readInternal(input: ObjectDataInput): void {
    const size = input.readInt();
    this.migrationData = new Map();
    for (let i = 0; i < size; i++) this.migrationData.set(input.readUTF(), input.readInt());
  }
}

registerOperation(IncOperation, IncBackupOperation, GetOperation, CounterMigrationOperation);
