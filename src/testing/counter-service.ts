/**
 * The simulator's counter: the seeds' distributed counter without proxies or console output,
 * keyed by counter name in one container per partition. Increments are backed up (sync and async
 * counts from the service properties `backup-count` and `async-backup-count`; a named partition's
 * backups follow its definition) and move with their partitions. Every replica of a named
 * partition holds the data.
 *
 * With the property `track-tags` = `true` the service also keeps, per counter, the set of calls
 * (tags) its value is made of, and copies it with the data: the simulator then knows exactly which
 * increments a replica holds (which ones a failover to an asynchronous replica lost).
 */
import { Operation } from '../spi/operation.js';
import { registerOperation } from '../spi/register.js';
import type { BackupAwareOperation, KeyedOperation } from '../spi/operation.js';
import type { NodeEngine } from '../spi/node-engine.js';
import {
  MigrationEndpoint,
  type ManagedService,
  type MigrationAwareService,
  type PartitionMigrationEvent,
  type PartitionReplicationEvent,
  type Properties,
} from '../spi/services.js';
import type { ObjectDataInput, ObjectDataOutput } from '../serialization/object-data.js';

export const SIM_COUNTER_SERVICE = 'sim-counter';

export class SimCounterService implements ManagedService, MigrationAwareService {
  /** `containers[p]`: counter name → value, for the partitions this member holds a replica of. */
  containers: Map<string, number>[] = [];
  syncBackups = 1;
  asyncBackups = 0;
  /** Observation hook: called on every increment applied, on owners and backups. */
  onApply: ((event: { role: 'owner' | 'backup'; partitionId: number; name: string; tag: number; value: number }) => void) | null = null;
  /** Observation hook: migration events and replica copies, as one line each. */
  onEvent: ((line: string) => void) | null = null;
  /** Observation hook: this member became a partition's owner from a backup (a promotion or a move). */
  onPromoted: ((partitionId: number) => void) | null = null;
  /** Keep the calls each value is made of (`track-tags`). */
  trackTags = false;
  /**
   * Increments and reads declare their counter as ordering key (`keyed-ops`), so a write waiting
   * for its backups holds back only its own counter: the simulator runs both hold modes.
   */
  keyedOps = false;
  /** `tags[p]`: counter name → tags of the increments its value holds (with `track-tags`). */
  tags: Map<string, Set<number>>[] = [];
  /** Partitions `0..hashedCount-1` are hashed; the rest are named slots (every replica holds data). */
  private hashedCount = 0;

  init(nodeEngine: NodeEngine, properties: Properties): void {
    this.syncBackups = count(properties['backup-count'], 1);
    this.asyncBackups = count(properties['async-backup-count'], 0);
    this.trackTags = properties['track-tags'] === 'true';
    this.keyedOps = properties['keyed-ops'] === 'true';
    const service = nodeEngine.getPartitionService();
    const partitions = service.getPartitionCount();
    this.hashedCount = service.getHashedPartitionCount();
    this.containers = Array.from({ length: partitions }, () => new Map<string, number>());
    this.tags = Array.from({ length: partitions }, () => new Map<string, Set<number>>());
  }

  shutdown(_terminate: boolean): void {}

  reset(): void {
    for (const c of this.containers) c.clear();
    for (const t of this.tags) t.clear();
  }

  /** Replica indexes 1..this hold data (the owner is index 0). */
  get backupsTotal(): number {
    return Math.min(6, this.syncBackups + this.asyncBackups);
  }

  beforeMigration(event: PartitionMigrationEvent): void {
    this.onEvent?.(`before ${describe(event)}`);
  }

  prepareReplicationOperation(event: PartitionReplicationEvent): Operation | null {
    if (event.getReplicaIndex() > this.backupsTotal) return null;
    const p = event.getPartitionId();
    const data = this.containers[p];
    this.onEvent?.(`replicate p${p} r${event.getReplicaIndex()} ${data.size === 0 ? 'nothing' : JSON.stringify([...data])}`);
    if (data.size === 0) return null;
    if (!this.trackTags) return new SimCounterReplicaOp([...data]);
    return new SimCounterTaggedReplicaOp([...data], [...this.tags[p]].map(([name, tags]): [string, number[]] => [name, [...tags]]));
  }

  commitMigration(event: PartitionMigrationEvent): void {
    this.onEvent?.(`commit ${describe(event)}`);
    const p = event.getPartitionId();
    const next = event.getNewReplicaIndex();
    // A replica this member no longer keeps data for (none, or, hashed, an index past the backups).
    if (event.getMigrationEndpoint() === MigrationEndpoint.SOURCE && (next === -1 || (p < this.hashedCount && next > this.backupsTotal))) {
      this.drop(p);
    }
    if (event.getMigrationEndpoint() === MigrationEndpoint.DESTINATION && event.getCurrentReplicaIndex() > 0 && next === 0) this.onPromoted?.(p);
  }

  rollbackMigration(event: PartitionMigrationEvent): void {
    this.onEvent?.(`rollback ${describe(event)}`);
    if (event.getMigrationEndpoint() === MigrationEndpoint.DESTINATION && event.getCurrentReplicaIndex() === -1) {
      this.drop(event.getPartitionId());
    }
  }

  clearPartitionReplica(partitionId: number): void {
    if (this.containers[partitionId].size > 0) this.onEvent?.(`clear p${partitionId} ${JSON.stringify([...this.containers[partitionId]])}`);
    this.drop(partitionId);
  }

  private drop(p: number): void {
    this.containers[p].clear();
    this.tags[p]?.clear();
  }

  /** Tags of the increments counter `name` holds in this member's replica of `partitionId` (with `track-tags`). */
  tagsOf(partitionId: number, name: string): ReadonlySet<number> {
    return this.tags[partitionId]?.get(name) ?? EMPTY_TAGS;
  }

  /** Value of `name` in this member's replica of `partitionId`. */
  value(partitionId: number, name: string): number {
    return this.containers[partitionId]?.get(name) ?? 0;
  }
}

const EMPTY_TAGS: ReadonlySet<number> = new Set<number>();

function describe(e: PartitionMigrationEvent): string {
  return `p${e.getPartitionId()} ${e.getMigrationEndpoint()} ${e.getCurrentReplicaIndex()}->${e.getNewReplicaIndex()}`;
}

function count(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 6) throw new RangeError(`counter backup count must be an integer in 0..6, got '${value}'`);
  return n;
}

/** Adds `amount` to counter `name`; answers the new value. */
/** The fields an increment carries, on the owner and on its backups alike. */
abstract class SimCounterDelta extends Operation {
  name = '';
  amount = 0;
  /** The caller's id for this call (shows in traces; not used by the engine). */
  tag = 0;

  constructor(name?: string, amount?: number, tag?: number) {
    super();
    if (name !== undefined) this.name = name;
    if (amount !== undefined) this.amount = amount;
    if (tag !== undefined) this.tag = tag;
  }

  /** Adds the amount in this partition's container and reports it; returns the new value. */
  protected apply(role: 'owner' | 'backup'): number {
    const service = this.getService<SimCounterService>();
    const c = service.containers[this.getPartitionId()];
    const value = (c.get(this.name) ?? 0) + this.amount;
    c.set(this.name, value);
    if (service.trackTags) {
      const tags = service.tags[this.getPartitionId()];
      let set = tags.get(this.name);
      if (set === undefined) tags.set(this.name, (set = new Set<number>()));
      set.add(this.tag);
    }
    service.onApply?.({ role, partitionId: this.getPartitionId(), name: this.name, tag: this.tag, value });
    return value;
  }

  override writeInternal(out: ObjectDataOutput): void {
    out.writeUTF(this.name);
    out.writeInt(this.amount);
    out.writeInt(this.tag);
  }

  override readInternal(input: ObjectDataInput): void {
    this.name = input.readUTF();
    this.amount = input.readInt();
    this.tag = input.readInt();
  }
}

export class SimIncOp extends SimCounterDelta implements BackupAwareOperation, KeyedOperation {
  static readonly typeId = 2_000_101;
  private result = 0;

  getOrderingKey(): string | null {
    return this.getService<SimCounterService>().keyedOps ? this.name : null;
  }

  run(): void {
    this.result = this.apply('owner');
  }

  override getResponse(): number {
    return this.result;
  }

  getSyncBackupCount(): number {
    return this.getService<SimCounterService>().syncBackups;
  }

  getAsyncBackupCount(): number {
    return this.getService<SimCounterService>().asyncBackups;
  }

  shouldBackup(): boolean {
    return this.amount !== 0;
  }

  getBackupOperation(): Operation {
    return new SimIncBackupOp(this.name, this.amount, this.tag);
  }
}

/** Replays an increment on a backup replica. */
export class SimIncBackupOp extends SimCounterDelta {
  static readonly typeId = 2_000_102;

  run(): void {
    this.apply('backup');
  }
}

/** A partition's counters, copied to a new replica (migration or replica sync). */
export class SimCounterReplicaOp extends Operation {
  static readonly typeId = 2_000_103;
  entries: [string, number][] = [];

  constructor(entries?: [string, number][]) {
    super();
    if (entries !== undefined) this.entries = entries;
  }

  run(): void {
    const service = this.getService<SimCounterService>();
    const c = service.containers[this.getPartitionId()];
    for (const [k, v] of this.entries) c.set(k, v);
    service.onEvent?.(`replica-applied p${this.getPartitionId()} r${this.getReplicaIndex()} ${JSON.stringify(this.entries)}`);
  }

  override writeInternal(out: ObjectDataOutput): void {
    out.writeInt(this.entries.length);
    for (const [k, v] of this.entries) {
      out.writeUTF(k);
      out.writeLong(v);
    }
  }

  override readInternal(input: ObjectDataInput): void {
    const n = input.readInt();
    if (n < 0 || n > input.remaining()) throw new RangeError(`replica claims ${n} counters`);
    this.entries = [];
    for (let i = 0; i < n; i++) this.entries.push([input.readUTF(), input.readLong()]);
  }
}

/** A partition's counters and the calls each is made of (`track-tags`), copied to a new replica. */
export class SimCounterTaggedReplicaOp extends Operation {
  static readonly typeId = 2_000_105;
  entries: [string, number][] = [];
  tags: [string, number[]][] = [];

  constructor(entries?: [string, number][], tags?: [string, number[]][]) {
    super();
    if (entries !== undefined) this.entries = entries;
    if (tags !== undefined) this.tags = tags;
  }

  run(): void {
    const service = this.getService<SimCounterService>();
    const p = this.getPartitionId();
    const c = service.containers[p];
    for (const [k, v] of this.entries) c.set(k, v);
    for (const [k, t] of this.tags) service.tags[p].set(k, new Set(t));
    service.onEvent?.(`replica-applied p${p} r${this.getReplicaIndex()} ${JSON.stringify(this.entries)}`);
  }

  override writeInternal(out: ObjectDataOutput): void {
    out.writeInt(this.entries.length);
    for (const [k, v] of this.entries) {
      out.writeUTF(k);
      out.writeLong(v);
    }
    out.writeInt(this.tags.length);
    for (const [k, t] of this.tags) {
      out.writeUTF(k);
      out.writeInt(t.length);
      for (const tag of t) out.writeInt(tag);
    }
  }

  override readInternal(input: ObjectDataInput): void {
    const n = input.readInt();
    if (n < 0 || n > input.remaining()) throw new RangeError(`replica claims ${n} counters`);
    this.entries = [];
    for (let i = 0; i < n; i++) this.entries.push([input.readUTF(), input.readLong()]);
    const m = input.readInt();
    if (m < 0 || m > input.remaining()) throw new RangeError(`replica claims ${m} tag sets`);
    this.tags = [];
    for (let i = 0; i < m; i++) {
      const name = input.readUTF();
      const count = input.readInt();
      if (count < 0 || count * 4 > input.remaining()) throw new RangeError(`replica claims ${count} tags`);
      const t: number[] = [];
      for (let j = 0; j < count; j++) t.push(input.readInt());
      this.tags.push([name, t]);
    }
  }
}

/** Reads counter `name`. */
export class SimGetOp extends Operation implements KeyedOperation {
  static readonly typeId = 2_000_104;
  name = '';
  private result = 0;

  getOrderingKey(): string | null {
    return this.getService<SimCounterService>().keyedOps ? this.name : null;
  }

  constructor(name?: string) {
    super();
    if (name !== undefined) this.name = name;
  }

  run(): void {
    this.result = this.getService<SimCounterService>().value(this.getPartitionId(), this.name);
  }

  override getResponse(): number {
    return this.result;
  }

  override writeInternal(out: ObjectDataOutput): void {
    out.writeUTF(this.name);
  }

  override readInternal(input: ObjectDataInput): void {
    this.name = input.readUTF();
  }
}

registerOperation(SimIncOp, SimIncBackupOp, SimCounterReplicaOp, SimGetOp, SimCounterTaggedReplicaOp);
