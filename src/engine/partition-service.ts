/**
 * Partition table, migrations and replica maintenance on one member.
 *
 * Every member: installs tables the master publishes; knows which partitions it owns and
 * accepts operations only for those that are not frozen by a migration; serves as migration
 * source/destination; keeps its backup replicas in sync (replica sync on a gap, anti-entropy).
 *
 * The master also: assigns partitions on first use; promotes backups when members die; plans
 * balanced targets and runs migrations (at most `migrationsConcurrentMax` per member at a time);
 * recovers the table from the members when it takes over from a dead master.
 *
 * Safety rules (see docs/architecture.md):
 * - The table changes only on the master, only at commit, and every change bumps the partition's
 *   version and the table version.
 * - The owner freezes a partition before capturing its data and stays frozen until it learns the
 *   migration's outcome, so the old and new owner never both accept operations for it.
 * - A destination applies data only for a migration of the current master, and a source or
 *   destination orphaned by a master change resolves its migration from the new master's table.
 *
 * Named partitions are the slots after the hashed ones (`hashedCount..partitionCount-1`). The
 * planner leaves them alone: their target rows come from their definitions (`NamedSlots`,
 * named-partitions.ts) and reach the table through the same migrations. A named copy may run in
 * batches with the application still writing (a "batched copy", see runBatchedSource).
 */
import type { ExportedCallRecord } from '../core/replica-bookkeeping.js';
import { Address } from '../core/address.js';
import type { MemberInfo, MemberList } from '../core/membership.js';
import {
  PartitionTable,
  REPLICA_COUNT_MAX,
  diffMigrations,
  planTarget,
  promoteSurvivors,
  type PlannedMigration,
  type ReplicaRow,
} from '../core/partition-table.js';
import type { Runtime, TimerHandle } from '../core/runtime.js';
import { ObjectDataInput, ObjectDataOutput } from '../serialization/object-data.js';
import type { TypeRegistry } from '../serialization/type-registry.js';
import type { Member, MigrationInfo, MigrationListener, PartitionService } from '../spi/cluster.js';
import { OperationTimeoutError } from '../spi/errors.js';
import type { Logger, NodeEngine } from '../spi/node-engine.js';
import type { Operation } from '../spi/operation.js';
import {
  MergePolicy,
  MigrationEndpoint,
  PartitionMigrationEvent,
  PartitionReplicationEvent,
  isChunkedMigrationAwareService,
  type MigrationAwareService,
} from '../spi/services.js';
import type { ClusterService } from './cluster-service.js';
import type { FaultSites } from './fault-sites.js';
import { INTERNAL_SERVICE } from './internal-operation.js';
import {
  AssignPartitionsOp,
  MigrationChunkOp,
  MigrationFinalizeOp,
  MigrationRequestOp,
  PartitionStateOp,
  ReplicaSyncRequestOp,
  ShutdownRequestOp,
  type ChunkHeader,
  type FinalizeOrder,
  type MigrationOrder,
} from './migration-ops.js';
import type { OperationServiceImpl } from './operation-service.js';
import { readOperationBody, writeOperationBody } from './wire.js';

/** The table as it travels: member uuids once, slots as indexes into them (-1 = empty). */
export interface WireTable {
  tableVersion: number;
  partitionCount: number;
  members: string[];
  slots: number[];
  versions: number[];
  /** Uuid of the master that published it. */
  masterUuid: string;
}

export interface MigrationSettings {
  readonly migrationsConcurrentMax: number;
  readonly chunkBytesMax: number;
  readonly migrationTimeoutMs: number;
  readonly antiEntropyIntervalMs: number;
  readonly gracefulShutdownTimeoutMs: number;
}

/** How a named slot's data is copied to one destination. */
export interface CopySettings {
  /** 0: the owner is frozen for the whole copy; > 0: a batched copy, this many objects per step. */
  readonly objectsPerBatch: number;
  /** Copy steps in flight at once (batched copies only). */
  readonly streams: number;
  readonly mergePolicy: MergePolicy;
}

/** What the partition service asks of named partitions (implemented by named-partitions.ts). */
export interface NamedSlots {
  /** Master: the row a named slot should have now, or null to leave it alone. */
  targetRow(partitionId: number): ReplicaRow | null;
  /** Master: the owner of an empty named row when it is placed (a member of `target`). */
  placementOwner(partitionId: number, target: ReplicaRow): string | null;
  /** Master: these members of the slot's row are gone. */
  rowMembersGone(partitionId: number, uuids: readonly string[]): void;
  /** Master: a member is leaving gracefully. */
  memberLeaving(uuid: string): void;
  copySettings(partitionId: number, destination: string): CopySettings;
  migrationCommitted(partitionId: number, destination: string): void;
  migrationFailed(partitionId: number, destination: string, error: unknown): void;
  /** A leaving member must move its replica of this slot away first. */
  mustDrain(partitionId: number): boolean;
  /** The slot a key maps to through the mappers, or -1. */
  slotOfKey(key: unknown): number;
  /** True for a slot partition-wide operations visit (enabled, or served locally). */
  isEnabledSlot(partitionId: number): boolean;
  hasOverlays(): boolean;
  /** This member serves the slot on its own (broadcast definition updates off). */
  servesLocally(partitionId: number): boolean;
  tableChanged(): void;
}

/** A batched copy's destination, which receives the owner's backups while it catches up. */
export interface ShadowTarget {
  readonly address: Address;
  readonly replicaIndex: number;
}

export interface PartitionServiceDeps {
  readonly runtime: Runtime;
  readonly logger: Logger;
  /** Every partition id: hashed partitions and named slots. */
  readonly partitionCount: number;
  /** Hashed partitions (the rest are named slots). Default: all of them. */
  readonly hashedCount?: number;
  readonly settings: MigrationSettings;
  readonly cluster: ClusterService;
  readonly operations: OperationServiceImpl;
  readonly registry: TypeRegistry;
  readonly nodeEngine: NodeEngine;
  readonly faults: FaultSites;
  /** Migration-aware services, by name. */
  migrationAwareServices(): [string, MigrationAwareService][];
  partitionIdOf(key: unknown): number;
  sendTable(to: Address, table: WireTable): void;
  sendReplicaVersions(to: Address, partitions: number[], versions: number[]): void;
  isRunning(): boolean;
}

interface FrozenPartition {
  readonly migrationId: string;
  readonly masterUuid: string;
  readonly replicaIndex: number;
  readonly destinationUuid: string;
  /** The row version the master ordered the migration by (its commit publishes a later one). */
  readonly rowVersion: number;
}

interface IncomingReplica {
  readonly migrationId: string;
  readonly masterUuid: string;
  readonly replicaIndex: number;
  /** Index this member held before the copy (-1 none). */
  readonly previousIndex: number;
  /** Not REPLACE: the destination kept its own data (a named partition's restore). */
  readonly mergePolicy: MergePolicy;
  /** The copy lands on the data of an in-sync replica this member already held (see beginIncoming). */
  readonly keptData: boolean;
  applied: boolean;
  /** When the first chunk arrived; an unapplied copy older than the migration timeout is dead. */
  readonly startedAt: number;
}

interface ActiveMigration {
  readonly id: string;
  readonly move: PlannedMigration;
  readonly ownerUuid: string;
  readonly startedAt: number;
}

/** How many finalized migration ids a member remembers (to ignore resent finalizes and late chunks). */
const FINALIZED_REMEMBERED_MAX = 10_000;

/** After a migration to a member failed, no new migration goes there for this long. */
const MIGRATION_RETRY_PAUSE_MS = 1000;

/** How far a new master moves every partition version past the newest it recovered (see recoverAsNewMaster). */
const TAKEOVER_VERSION_MARGIN = 1000;

export class PartitionServiceImpl implements PartitionService {
  readonly table: PartitionTable;
  /** Named partitions; set by the member after construction. */
  named: NamedSlots | null = null;
  /** Batched copies this member runs as owner: their destinations get every backup. */
  private readonly shadows = new Map<number, ShadowTarget>();
  private readonly deps: PartitionServiceDeps;
  private readonly localUuid: string;
  private memberUuids: string[] = [];
  /** Members that own no replicas (lite members). */
  private liteUuids = new Set<string>();
  private addresses = new Map<string, Address>();
  private masterUuid: string | null = null;
  /** The master that published the table this member holds (null: none yet). */
  private tableMasterUuid: string | null = null;
  /** Partitions this member froze as the owner of a migration in progress. */
  private readonly frozen = new Map<number, FrozenPartition>();
  /**
   * Partitions this member handed over as owner (a SOURCE commit from replica 0) while its table
   * still names it owner: the finalize can arrive before the table that moves the partition, and
   * the services already dropped the data, so nothing may run here as owner until that table
   * arrives (simulator seed 243: an increment applied on the emptied source).
   */
  private readonly handedOver = new Set<number>();
  /**
   * Partitions this member owns and unfroze at the commit of a backup move (finalize OWNER) before
   * the table with the committed row arrived: by its own row it would back its writes up to the
   * member the move replaced, not to the one that took the index. That member keeps no data for
   * the index any more (it dropped it at its own finalize) and applies such backups onto nothing
   * from the row it last saw, while the new backup misses them (seed 1127 named: a member at an
   * index past the backups kept such data for good; the writes were acknowledged by a member that
   * was no backup). Nothing runs here as owner until a later row, or another master's table, is in.
   */
  private readonly awaitingRow = new Map<number, { readonly version: number; readonly masterUuid: string }>();
  /** Batched copies this member runs as owner, by partition (migration id): one at a time each. */
  private readonly batching = new Map<number, string>();
  /** Replicas this member is receiving (migration destination). */
  private readonly incoming = new Map<number, IncomingReplica>();
  /** Replica syncs this member asked for and has not received. */
  private readonly syncRequested = new Map<number, number>();
  /** Per partition, the replica index this member held and the owner, as of the last reconciliation. */
  private reconciledIndex: Int8Array;
  private reconciledOwner: (string | null)[];
  private readonly migrationListeners = new Map<string, MigrationListener>();
  private readonly safeWaiters = new Set<() => void>();
  private assignRequestedAt = -Infinity;
  private antiEntropyTimer: TimerHandle | null = null;
  private planTimer: TimerHandle | null = null;
  private nextSyncId = 1;

  // master state
  private readonly active = new Map<number, ActiveMigration>();
  private readonly leaving = new Set<string>();
  /** Partitions whose last migration committed but has not finalized on every end yet. */
  private readonly finalizing = new Set<number>();
  /** When a migration to each destination last failed: it gets a pause before the next try. */
  private readonly lastFailure = new Map<string, number>();
  private recovering = false;
  private nextMigrationId = 1;
  private stats = { completed: 0, failed: 0, entries: 0, bytes: 0, startedAt: 0 };

  constructor(deps: PartitionServiceDeps, localUuid: string) {
    this.deps = deps;
    this.localUuid = localUuid;
    this.table = new PartitionTable(deps.partitionCount, deps.hashedCount ?? deps.partitionCount);
    this.reconciledIndex = new Int8Array(deps.partitionCount).fill(-1);
    this.reconciledOwner = new Array<string | null>(deps.partitionCount).fill(null);
  }

  start(): void {
    this.antiEntropyTimer = this.deps.runtime.timers.every(this.deps.settings.antiEntropyIntervalMs, () => this.antiEntropy());
    // Re-plan periodically too: a migration that failed is retried without waiting for an event.
    this.planTimer = this.deps.runtime.timers.every(500, () => {
      this.maybeMigrate();
      this.expireIncoming();
      this.notifySafeWaiters();
    });
  }

  stop(): void {
    if (this.antiEntropyTimer) this.deps.runtime.timers.clear(this.antiEntropyTimer);
    if (this.planTimer) this.deps.runtime.timers.clear(this.planTimer);
  }

  // --- queries used by the operation service -------------------------------------------------

  acceptsOperations(partitionId: number): boolean {
    if (this.handedOver.has(partitionId) || this.awaitingRow.has(partitionId)) return false;
    if (this.table.owner(partitionId) === this.localUuid) return !this.frozen.has(partitionId);
    return this.servesLocally(partitionId) && !this.frozen.has(partitionId);
  }

  /** A named partition this member serves on its own (broadcast definition updates off). */
  private servesLocally(partitionId: number): boolean {
    const named = this.named;
    return named !== null && named.hasOverlays() && named.servesLocally(partitionId);
  }

  replicaAddress(partitionId: number, replicaIndex: number): Address | null {
    if (this.servesLocally(partitionId)) return replicaIndex === 0 ? this.deps.nodeEngine.getThisAddress() : null;
    if (replicaIndex === 0) return this.ownerAddress(partitionId);
    const uuid = this.table.replica(partitionId, replicaIndex);
    return uuid === null ? null : (this.addresses.get(uuid) ?? null);
  }

  // Owner addresses are looked up on every call, so they are cached until the table or the
  // member list changes.
  private ownerCache: (Address | null)[] = [];
  private ownerCacheMod = -1;
  private ownerCacheAddresses: Map<string, Address> | null = null;

  private ownerAddress(partitionId: number): Address | null {
    if (this.ownerCacheMod !== this.table.modCount || this.ownerCacheAddresses !== this.addresses) {
      const owners: (Address | null)[] = new Array<Address | null>(this.table.partitionCount);
      for (let p = 0; p < this.table.partitionCount; p++) {
        const uuid = this.table.owner(p);
        owners[p] = uuid === null ? null : (this.addresses.get(uuid) ?? null);
      }
      this.ownerCache = owners;
      this.ownerCacheMod = this.table.modCount;
      this.ownerCacheAddresses = this.addresses;
    }
    return this.ownerCache[partitionId];
  }


  // --- PartitionService -----------------------------------------------------------------------

  getPartitionCount(): number {
    return this.deps.partitionCount;
  }

  getHashedPartitionCount(): number {
    return this.table.hashedCount;
  }

  getPartitionIds(): number[] {
    const out = range(this.table.hashedCount);
    const named = this.named;
    if (named !== null) for (let p = this.table.hashedCount; p < this.deps.partitionCount; p++) if (named.isEnabledSlot(p)) out.push(p);
    return out;
  }

  getPartitionId(key: unknown): number {
    const named = this.named;
    if (named !== null) {
      const slot = named.slotOfKey(key);
      if (slot >= 0) return slot;
    }
    return this.deps.partitionIdOf(key);
  }

  getPartitionOwner(partitionId: number): Member | null {
    if (!Number.isInteger(partitionId) || partitionId < 0 || partitionId >= this.deps.partitionCount) {
      throw new RangeError(`partitionId ${partitionId} is outside 0..${this.deps.partitionCount - 1}`);
    }
    const uuid = this.table.owner(partitionId);
    if (uuid === null) {
      this.triggerAssignment();
      return null;
    }
    return this.deps.cluster.memberByUuid(uuid) ?? null;
  }

  getLocalPartitions(): number[] {
    const out: number[] = [];
    for (let p = 0; p < this.deps.partitionCount; p++) if (this.table.owner(p) === this.localUuid) out.push(p);
    return out;
  }

  isClusterSafe(): boolean {
    if (this.frozen.size > 0 || this.incoming.size > 0 || this.syncRequested.size > 0) return false;
    if (this.deps.cluster.isMaster() && (this.active.size > 0 || this.recovering)) return false;
    if (!this.table.isAssigned()) return true;
    const members = this.plannableMembers();
    const alive = new Set(this.memberUuids);
    for (let p = 0; p < this.deps.partitionCount; p++) {
      for (const m of this.table.row(p)) if (m !== null && !alive.has(m)) return false;
    }
    return diffMigrations(this.table, this.fullTarget(members)).length === 0;
  }

  // Planning costs milliseconds and is asked for on every commit, finalize, safety check and
  // timer tick; the answer only changes with the table or the plannable members.
  private targetCache: { mod: number; members: string; rows: ReplicaRow[] } | null = null;

  /** planTarget, cached; callers get their own copy of the rows (they may edit them). */
  private hashedTarget(members: readonly string[]): ReplicaRow[] {
    const key = members.join(',');
    const c = this.targetCache;
    if (c === null || c.mod !== this.table.modCount || c.members !== key) {
      this.targetCache = { mod: this.table.modCount, members: key, rows: planTarget(this.table, members) };
    }
    return this.targetCache!.rows.map((row) => row.slice());
  }

  /** The planner's target for hashed partitions, with each named slot's target from its definition. */
  private fullTarget(members: readonly string[] = this.plannableMembers()): ReplicaRow[] {
    const target = this.hashedTarget(members);
    const named = this.named;
    if (named === null) return target;
    for (let p = this.table.hashedCount; p < this.deps.partitionCount; p++) {
      const row = named.targetRow(p);
      if (row !== null) target[p] = row;
    }
    return target;
  }

  waitForMigrations(options: { timeout?: number } = {}): Promise<void> {
    const timeout = options.timeout ?? 60_000;
    if (this.isClusterSafe()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (this.isClusterSafe()) {
          this.safeWaiters.delete(check);
          this.deps.runtime.timers.clear(timer);
          resolve();
        }
      };
      const timer = this.deps.runtime.timers.after(timeout, () => {
        this.safeWaiters.delete(check);
        reject(new OperationTimeoutError(`cluster not safe after ${timeout} ms: ${this.describeUnsafe()}`));
      });
      this.safeWaiters.add(check);
    });
  }

  private describeUnsafe(): string {
    const diff = this.table.isAssigned() ? diffMigrations(this.table, this.fullTarget()).length : 0;
    return `${diff} replica moves pending, ${this.frozen.size} frozen, ${this.incoming.size} incoming, ${this.syncRequested.size} syncs requested, ${this.active.size} active (master view)`;
  }

  private notifySafeWaiters(): void {
    for (const w of [...this.safeWaiters]) w();
  }

  /** Re-checks everything waiting on partition progress (named partitions call it on their changes). */
  notifyProgress(): void {
    this.notifySafeWaiters();
  }

  /**
   * Resolves true once `check()` holds, re-checked on every table change, migration step and plan
   * tick; false after `timeoutMs`.
   */
  waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
    if (check()) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const waiter = (): void => {
        if (!check()) return;
        this.safeWaiters.delete(waiter);
        this.deps.runtime.timers.clear(timer);
        resolve(true);
      };
      const timer = this.deps.runtime.timers.after(timeoutMs, () => {
        this.safeWaiters.delete(waiter);
        resolve(check());
      });
      this.safeWaiters.add(waiter);
    });
  }

  /** Master: a move of this partition is running or finalizing. */
  isMigrating(partitionId: number): boolean {
    return this.active.has(partitionId) || this.finalizing.has(partitionId);
  }

  /** A member that may hold replicas (alive, not lite, not leaving). */
  isPlannable(uuid: string): boolean {
    return this.addresses.has(uuid) && !this.liteUuids.has(uuid) && !this.leaving.has(uuid);
  }

  addressOf(uuid: string): Address | null {
    return this.addresses.get(uuid) ?? null;
  }

  /** The destination of a batched copy of `partitionId` this member runs as owner. */
  shadowOf(partitionId: number): ShadowTarget | null {
    return this.shadows.size === 0 ? null : (this.shadows.get(partitionId) ?? null);
  }

  addMigrationListener(listener: MigrationListener): string {
    const id = this.deps.runtime.random.uuid();
    this.migrationListeners.set(id, listener);
    return id;
  }

  removeMigrationListener(id: string): boolean {
    return this.migrationListeners.delete(id);
  }

  private emitMigration(kind: 'started' | 'completed' | 'failed', move: PlannedMigration, reason?: string): void {
    const destination = this.deps.cluster.memberByUuid(move.destination);
    if (destination === undefined) return;
    const info: MigrationInfo = {
      partitionId: move.partitionId,
      replicaIndex: move.replicaIndex,
      source: move.source === null ? null : (this.deps.cluster.memberByUuid(move.source) ?? null),
      destination,
    };
    for (const l of this.migrationListeners.values()) {
      try {
        if (kind === 'started') l.migrationStarted?.(info);
        else if (kind === 'completed') l.migrationCompleted?.(info);
        else l.migrationFailed?.({ ...info, reason: reason ?? 'unknown' });
      } catch (error) {
        this.deps.logger.error({ err: error }, 'migration listener threw');
      }
    }
  }

  // --- membership -----------------------------------------------------------------------------

  onMembersChanged(list: MemberList, _added: readonly MemberInfo[], removed: readonly MemberInfo[]): void {
    const previousMaster = this.masterUuid;
    this.memberUuids = list.members.map((m) => m.uuid);
    this.liteUuids = new Set(list.members.filter((m) => m.lite).map((m) => m.uuid));
    this.addresses = new Map(list.members.map((m) => [m.uuid, Address.parse(m.address)]));
    this.masterUuid = list.members[0]?.uuid ?? null;
    for (const r of removed) this.leaving.delete(r.uuid);
    for (const r of removed) {
      const address = Address.parse(r.address);
      this.deps.operations.onTargetGone(address);
      this.deps.operations.releaseAcksFrom(address);
    }
    this.notifySafeWaiters();
    if (!this.deps.cluster.isMaster()) return;
    if (previousMaster !== this.localUuid && previousMaster !== null) {
      void this.recoverAsNewMaster();
      return;
    }
    for (const [p, m] of this.active) {
      const involved = [m.move.source, m.move.destination, m.ownerUuid];
      if (involved.some((u) => u !== null && !this.addresses.has(u))) this.abortActive(p, 'a member of the migration left');
    }
    // While it recovers the table, its own rows may be stale: the recovery promotes when it is
    // done, from the newest rows it gathered (a member removed meanwhile made it promote from its
    // own old row, seed 4355).
    if (this.recovering) return;
    if (removed.length > 0) this.promoteAndPublish();
    this.maybeMigrate();
  }

  /** After master failover: learn the newest table any member has, then carry on. */
  private async recoverAsNewMaster(): Promise<void> {
    this.recovering = true;
    this.deps.logger.info('became master: recovering the partition table from members');
    let tableVersion = this.table.tableVersion;
    // Every member still in the list must answer: a row newer than ours that we did not see (a
    // commit only the old master and its ends knew of) would otherwise be published again under
    // a version it already had, with other replicas (seed 2590: an answer timed out, and two rows
    // of one partition shared a version). A member that does not answer is asked again until it
    // does or the failure detector removes it.
    let asking = this.memberUuids.filter((u) => u !== this.localUuid);
    while (asking.length > 0) {
      const replies = await Promise.allSettled(
        asking.map((u) =>
          this.deps.operations
            .createInvocationBuilderOnMember(INTERNAL_SERVICE, new PartitionStateOp(), this.addresses.get(u)!)
            .setCallTimeout(Math.max(2000, this.deps.settings.migrationTimeoutMs / 10))
            .invoke<WireTable | null>(),
        ),
      );
      if (!this.deps.cluster.isMaster() || !this.deps.isRunning()) return;
      const unanswered: string[] = [];
      replies.forEach((r, i) => {
        if (r.status !== 'fulfilled') {
          unanswered.push(asking[i]);
          return;
        }
        if (r.value === null) return;
        const wire = r.value;
        tableVersion = Math.max(tableVersion, wire.tableVersion);
        const snap = this.decodeWire(wire);
        for (let p = 0; p < this.deps.partitionCount; p++) {
          if (snap.versions[p] > this.table.version(p)) this.table.setRowWithVersion(p, snap.rows[p], snap.versions[p]);
        }
      });
      asking = unanswered.filter((u) => this.addresses.has(u));
      if (asking.length > 0) await new Promise<void>((resolve) => this.deps.runtime.timers.after(100, resolve));
    }
    this.table.tableVersion = tableVersion;
    // The newest rows the survivors hold may still be older than the dead master's last ones: a
    // commit it published that only members now gone received (seed 4355: the master left, the
    // only holder of partition 2's row v2 crashed, and this member, promoting from its v1 row,
    // published v2 again with another owner: two owners under one version). So every version
    // moves a margin past what was recovered, and no later row of this master can collide with
    // one of an earlier master. The margin only has to exceed the changes of one partition that
    // no survivor saw: commits or promotions of its last moments (it moves a partition once at a
    // time, and re-sends the table every anti-entropy round to members that missed one), a
    // handful at most. It stays modest because versions travel as 32-bit ints (backups carry the
    // owner's row version): 1000 per takeover leaves room for two million takeovers.
    this.table.advanceVersions(TAKEOVER_VERSION_MARGIN);
    this.recovering = false;
    this.promoteAndPublish(true);
    this.maybeMigrate();
  }


  private promoteAndPublish(forcePublish = false): void {
    if (!this.table.isAssigned()) {
      if (forcePublish) this.publish();
      return;
    }
    const alive = new Set(this.memberUuids);
    const changes = promoteSurvivors(this.table, alive);
    for (const [p, row] of changes) {
      if (p >= this.table.hashedCount && this.named !== null) {
        this.named.rowMembersGone(p, this.table.row(p).filter((u): u is string => u !== null && !alive.has(u)));
      }
      if (row[0] === null) this.deps.logger.error({ partitionId: p }, 'partition lost every replica: its data is gone');
      this.table.setRow(p, row);
    }
    // A hashed partition with no survivor gets an owner at once (empty): calls must not wait
    // forever. A named one stays empty (unavailable) until a node of its list enables it again.
    let orphaned = false;
    for (let p = 0; p < this.table.hashedCount; p++) if (this.table.owner(p) === null) orphaned = true;
    if (orphaned) {
      const target = this.hashedTarget(this.plannableMembers());
      for (let p = 0; p < this.table.hashedCount; p++) {
        if (this.table.owner(p) === null) {
          const row = this.table.row(p).slice();
          row[0] = target[p][0] ?? this.plannableMembers()[0] ?? null;
          if (row.indexOf(row[0]) !== 0) row[row.indexOf(row[0], 1)] = null;
          this.table.setRow(p, row);
        }
      }
    }
    if (changes.size > 0 || orphaned || forcePublish) {
      this.deps.logger.info({ promoted: changes.size }, 'partition table updated after members left');
      this.publish();
    }
  }

  // --- table publication ----------------------------------------------------------------------

  private publish(): void {
    this.table.tableVersion++;
    const wire = this.wireSnapshot();
    for (const uuid of this.memberUuids) {
      if (uuid === this.localUuid) continue;
      const address = this.addresses.get(uuid);
      if (address) this.deps.sendTable(address, wire);
    }
    this.afterTableChange(new Set(range(this.deps.partitionCount)), wire.masterUuid);
  }

  wireSnapshot(): WireTable {
    const members: string[] = [];
    const index = new Map<string, number>();
    const slots: number[] = new Array<number>(this.deps.partitionCount * REPLICA_COUNT_MAX);
    for (let p = 0; p < this.deps.partitionCount; p++) {
      const row = this.table.row(p);
      for (let r = 0; r < REPLICA_COUNT_MAX; r++) {
        const m = row[r];
        if (m === null) {
          slots[p * REPLICA_COUNT_MAX + r] = -1;
          continue;
        }
        let i = index.get(m);
        if (i === undefined) {
          i = members.length;
          members.push(m);
          index.set(m, i);
        }
        slots[p * REPLICA_COUNT_MAX + r] = i;
      }
    }
    return {
      tableVersion: this.table.tableVersion,
      partitionCount: this.deps.partitionCount,
      members,
      slots,
      versions: range(this.deps.partitionCount).map((p) => this.table.version(p)),
      masterUuid: this.masterUuid ?? this.localUuid,
    };
  }

  private decodeWire(wire: WireTable): { rows: ReplicaRow[]; versions: number[] } {
    if (wire.partitionCount !== this.deps.partitionCount) {
      throw new RangeError(`table for ${wire.partitionCount} partitions, this member has ${this.deps.partitionCount}: partition-count and named-partitions-max must match across the cluster`);
    }
    if (wire.slots.length !== wire.partitionCount * REPLICA_COUNT_MAX || wire.versions.length !== wire.partitionCount) {
      throw new RangeError('malformed partition table');
    }
    const rows: ReplicaRow[] = [];
    for (let p = 0; p < wire.partitionCount; p++) {
      const row: ReplicaRow = [];
      for (let r = 0; r < REPLICA_COUNT_MAX; r++) {
        const i = wire.slots[p * REPLICA_COUNT_MAX + r];
        row.push(i < 0 ? null : (wire.members[i] ?? null));
      }
      rows.push(row);
    }
    return { rows, versions: wire.versions };
  }

  /** A table published by the master. */
  handleTable(from: Address, wire: WireTable): void {
    const master = this.deps.cluster.getMaster();
    if (master === null || !master.address.equals(from) || master.uuid !== wire.masterUuid) return;
    if (wire.tableVersion <= this.table.tableVersion) return;
    const { rows, versions } = this.decodeWire(wire);
    const changed = new Set<number>();
    for (let p = 0; p < this.deps.partitionCount; p++) {
      if (this.table.setRowWithVersion(p, rows[p], versions[p])) changed.add(p);
    }
    this.table.tableVersion = wire.tableVersion;
    this.afterTableChange(changed, wire.masterUuid);
  }

  /**
   * Reconciles local state with a new table: resolves migrations orphaned by a master change,
   * tells services about promotions, drops data of replicas this member no longer holds, and
   * asks for copies of replicas it newly holds without a migration.
   */
  private afterTableChange(changed: Set<number>, masterUuid: string): void {
    this.tableMasterUuid = masterUuid;
    for (const p of [...this.handedOver]) if (this.table.owner(p) !== this.localUuid) this.handedOver.delete(p);
    for (const [p, w] of [...this.awaitingRow]) if (this.table.version(p) > w.version || w.masterUuid !== masterUuid) this.awaitingRow.delete(p);
    for (const [p, f] of [...this.frozen]) {
      if (f.masterUuid === masterUuid) continue;
      // The master that ordered this migration is gone; the new master's table decides.
      const committed = this.table.replica(p, f.replicaIndex) === f.destinationUuid;
      this.deps.logger.warn({ partitionId: p, committed }, 'resolving a migration orphaned by a master change');
      this.frozen.delete(p);
      if (f.replicaIndex === 0) this.notifyServices(p, committed, MigrationEndpoint.SOURCE, 0, this.table.replicaIndexOf(p, this.localUuid));
      if (committed && this.table.replicaIndexOf(p, this.localUuid) < 0) this.clearReplica(p);
    }
    for (const [p, inc] of [...this.incoming]) {
      if (inc.masterUuid !== masterUuid) this.resolveOrphanedIncoming(p, inc);
    }
    // Compared with what this member held when it last reconciled (the master changes its own
    // table in place, other members install publications: both come through here).
    for (const p of changed) {
      const was = this.reconciledIndex[p];
      const now = this.table.replicaIndexOf(p, this.localUuid);
      // Partitions that had no owner before hold no data anywhere: their new backups need no copy.
      const fresh = this.reconciledOwner[p] === null;
      this.reconciledIndex[p] = now;
      this.reconciledOwner[p] = this.table.owner(p);
      {
        if (this.incoming.has(p) || this.frozen.has(p)) continue;
        if (was === now) continue;
        if (now === 0 && was > 0) {
          // Promotion: the owner died and this backup took over with the data it holds.
          this.deps.logger.info({ partitionId: p, from: was }, 'promoted to owner');
          this.notifyServices(p, true, MigrationEndpoint.DESTINATION, was, 0);
          // Deliberate bug (simulator tests only): the promoted backup drops what it held.
          if (this.deps.faults.active && this.deps.faults.bugs?.promotedBackupDropsData === true) this.clearReplica(p);
        } else if (now < 0 && was >= 0 && !this.table.row(p).every((m) => m === null)) {
          // A member serving a named partition on its own keeps the copy it had.
          if (this.servesLocally(p)) continue;
          this.notifyServices(p, true, MigrationEndpoint.SOURCE, was, -1);
          this.clearReplica(p);
        } else if (now > 0 && !fresh) {
          // A different backup index than before, without a copy: services keep data per index
          // (a lower one may need data the old one did not keep; a higher one may no longer be
          // backed up and must not keep a stale copy), so ask the owner for a full copy of this one.
          this.requestReplicaSync(p);
        }
      }
    }
    this.named?.tableChanged();
    this.notifySafeWaiters();
  }

  /** A copy ordered by a master that is gone: the new master's table tells whether it was committed. */
  private resolveOrphanedIncoming(p: number, inc: IncomingReplica): void {
    const now = this.table.replicaIndexOf(p, this.localUuid);
    // Committed when the table lists this member where the copy put it, or anywhere at all when
    // it held no replica before: a promotion after the commit (the owner died with the master
    // that committed) moves it to a lower index. Read as "not committed", the copy was rolled
    // back and the member, promoted to owner, served an empty partition (seed 6887).
    const committed = inc.applied && (now === inc.replicaIndex || (now >= 0 && inc.previousIndex < 0));
    this.incoming.delete(p);
    this.notifyServices(p, committed, MigrationEndpoint.DESTINATION, inc.previousIndex, committed ? inc.replicaIndex : inc.previousIndex);
    if (committed) {
      if (now === 0 && inc.replicaIndex > 0) this.notifyServices(p, true, MigrationEndpoint.DESTINATION, inc.replicaIndex, 0);
      else if (now > 0 && now !== inc.replicaIndex) this.requestReplicaSync(p);
    } else if (now < 0) {
      if (inc.mergePolicy === MergePolicy.REPLACE) this.clearReplica(p);
    } else this.requestReplicaSync(p);
  }

  private notifyServices(p: number, commit: boolean, endpoint: MigrationEndpoint, currentIndex: number, newIndex: number): void {
    const event = new PartitionMigrationEvent(p, endpoint, currentIndex, newIndex);
    for (const [name, s] of this.deps.migrationAwareServices()) {
      try {
        if (commit) s.commitMigration(event);
        else s.rollbackMigration(event);
      } catch (error) {
        this.deps.logger.error({ err: error, service: name, partitionId: p }, `${commit ? 'commitMigration' : 'rollbackMigration'} threw`);
      }
    }
  }

  private clearReplica(p: number): void {
    for (const [name, s] of this.deps.migrationAwareServices()) {
      try {
        s.clearPartitionReplica(p);
      } catch (error) {
        this.deps.logger.error({ err: error, service: name, partitionId: p }, 'clearPartitionReplica threw');
      }
    }
    this.deps.operations.replicaVersions.clear(p);
    this.deps.operations.callRecords.clear(p);
  }

  // --- assignment -----------------------------------------------------------------------------

  triggerAssignment(): void {
    if (this.table.isAssigned()) return;
    if (this.deps.cluster.isMaster()) {
      this.assignIfNeeded();
      return;
    }
    const now = this.deps.runtime.clock.now();
    if (now - this.assignRequestedAt < 200) return;
    this.assignRequestedAt = now;
    const master = this.deps.cluster.getMaster();
    if (master === null) return;
    this.deps.operations.createInvocationBuilderOnMember(INTERNAL_SERVICE, new AssignPartitionsOp(), master.address).invoke().catch(() => {});
  }

  assignIfNeeded(): void {
    if (!this.deps.cluster.isMaster() || this.table.isAssigned() || this.recovering) return;
    if (this.plannableMembers().length === 0) return; // only lite members so far
    const target = this.hashedTarget(this.plannableMembers());
    for (let p = 0; p < this.table.hashedCount; p++) this.table.setRow(p, target[p]);
    this.deps.logger.info({ members: this.memberUuids.length }, `assigned ${this.table.hashedCount} partitions`);
    this.publish();
  }

  /** Members that may hold replicas: not lite, and not leaving (unless nobody else is left). */
  private plannableMembers(): string[] {
    const data = this.memberUuids.filter((u) => !this.liteUuids.has(u));
    const staying = data.filter((u) => !this.leaving.has(u));
    return staying.length > 0 ? staying : data;
  }

  // --- master: planning and running migrations -------------------------------------------------

  maybeMigrate(): void {
    if (!this.deps.cluster.isMaster() || this.recovering || !this.table.isAssigned() || !this.deps.isRunning()) return;
    const alive = new Set(this.memberUuids);
    if (this.table.row(0) !== undefined && promoteSurvivors(this.table, alive).size > 0) this.promoteAndPublish();
    const target = this.fullTarget();
    this.placeEmptyNamedRows(target);
    this.dropSurplusReplicas(target);
    const moves = diffMigrations(this.table, target);
    if (moves.length === 0) {
      if (this.stats.startedAt !== 0 && this.active.size === 0) this.logProgress(0, true);
      return;
    }
    if (this.stats.startedAt === 0) this.stats = { completed: 0, failed: 0, entries: 0, bytes: 0, startedAt: this.deps.runtime.clock.now() };
    const load = new Map<string, number>();
    for (const m of this.active.values()) {
      for (const u of [m.ownerUuid, m.move.destination]) load.set(u, (load.get(u) ?? 0) + 1);
    }
    const max = this.deps.settings.migrationsConcurrentMax;
    const seen = new Set<number>();
    for (const move of moves) {
      if (seen.has(move.partitionId)) continue; // one move per partition at a time, owner moves first
      seen.add(move.partitionId);
      if (this.active.has(move.partitionId) || this.finalizing.has(move.partitionId)) continue;
      const owner = this.table.owner(move.partitionId);
      if (owner === null) continue;
      if (move.replicaIndex > 0 && move.destination === owner) continue; // wait for the owner move
      if ((load.get(owner) ?? 0) >= max || (load.get(move.destination) ?? 0) >= max) continue;
      const failedAt = this.lastFailure.get(move.destination) ?? -Infinity;
      if (this.deps.runtime.clock.now() - failedAt < MIGRATION_RETRY_PAUSE_MS) continue;
      load.set(owner, (load.get(owner) ?? 0) + 1);
      load.set(move.destination, (load.get(move.destination) ?? 0) + 1);
      this.startMigration(move, owner);
    }
    this.logProgress(moves.length, false);
  }

  /**
   * Replica slots the target leaves empty (fewer members than replicas, or a leaving member's
   * backup) are emptied directly: removing a backup moves no data. Owner slots never are.
   */
  private dropSurplusReplicas(target: readonly ReplicaRow[]): void {
    let changed = false;
    for (let p = 0; p < this.deps.partitionCount; p++) {
      if (this.active.has(p) || this.finalizing.has(p)) continue;
      const row = this.table.row(p);
      // Never fewer live replicas while moving: a leaving owner hands over first (its move makes
      // the surplus slot the leaving member's own), then the surplus goes.
      if (row[0] !== null && this.leaving.has(row[0])) continue;
      let next: ReplicaRow | null = null;
      // A hashed row keeps no hole before a backup. A commit empties the destination's old slot
      // when its source is leaving, and that slot may lie before other backups (a leaving owner
      // handing over to its first backup): they move up into it, as in a promotion (no data moves;
      // each asks the owner for a copy of its new index). Left behind the hole they would sit past
      // the target's replica count and be dropped as surplus, leaving fewer live replicas until a
      // migration copied them back: a crash in between loses acknowledged writes.
      if (p < this.table.hashedCount && row[0] !== null) {
        const held = row.filter((m): m is string => m !== null);
        if (held.some((m, i) => row[i] !== m)) next = [...held, ...new Array<string | null>(REPLICA_COUNT_MAX - held.length).fill(null)];
      }
      const current = next ?? row;
      for (let r = 1; r < REPLICA_COUNT_MAX; r++) {
        // A named slot keeps a member its target still lists elsewhere: a move reorders it.
        if (current[r] !== null && target[p][r] === null && (p < this.table.hashedCount || !target[p].includes(current[r]))) (next ??= row.slice())[r] = null;
      }
      if (next !== null) changed = this.table.setRow(p, next) || changed;
    }
    if (changed) this.publish();
  }

  /**
   * A named slot with an empty row gets its owner directly: nobody else holds its data (the
   * placement owner may, restoring a partition), so there is nothing to move. Its replicas are
   * then added by ordinary migrations, which copy whatever the owner holds.
   */
  private placeEmptyNamedRows(target: readonly ReplicaRow[]): void {
    const named = this.named;
    if (named === null) return;
    let changed = false;
    for (let p = this.table.hashedCount; p < this.deps.partitionCount; p++) {
      if (this.active.has(p) || this.table.owner(p) !== null) continue;
      const wanted = target[p];
      if (wanted.every((u) => u === null)) continue;
      const owner = named.placementOwner(p, wanted);
      if (owner === null) continue;
      changed = this.table.setRow(p, [owner]) || changed;
    }
    if (changed) this.publish();
  }

  private lastProgressLog = 0;
  private logProgress(remaining: number, done: boolean): void {
    const now = this.deps.runtime.clock.now();
    const s = this.stats;
    if (done) {
      this.deps.logger.info({ completed: s.completed, failed: s.failed, entries: s.entries, bytes: s.bytes, elapsedMs: Math.round(now - s.startedAt) }, 'migrations finished');
      this.stats.startedAt = 0;
      return;
    }
    if (now - this.lastProgressLog < 1000) return;
    this.lastProgressLog = now;
    this.deps.logger.info({ remaining, active: this.active.size, completed: s.completed, entries: s.entries, bytes: s.bytes, elapsedMs: Math.round(now - s.startedAt) }, 'migrating partitions');
  }

  private startMigration(move: PlannedMigration, ownerUuid: string): void {
    const id = `${this.localUuid.slice(0, 8)}-${this.nextMigrationId++}`;
    const active: ActiveMigration = { id, move, ownerUuid, startedAt: this.deps.runtime.clock.now() };
    this.active.set(move.partitionId, active);
    this.emitMigration('started', move);
    const copy: CopySettings =
      move.partitionId >= this.table.hashedCount && this.named !== null
        ? this.named.copySettings(move.partitionId, move.destination)
        : { objectsPerBatch: 0, streams: 1, mergePolicy: MergePolicy.REPLACE };
    const order: MigrationOrder = {
      migrationId: id,
      partitionId: move.partitionId,
      replicaIndex: move.replicaIndex,
      sourceUuid: move.source,
      destinationUuid: move.destination,
      destinationAddress: this.addresses.get(move.destination)!.key,
      partitionVersion: this.table.version(move.partitionId),
      masterUuid: this.localUuid,
      objectsPerBatch: copy.objectsPerBatch,
      streams: copy.streams,
      mergePolicy: copy.mergePolicy,
    };
    this.deps.operations
      .createInvocationBuilderOnMember(INTERNAL_SERVICE, new MigrationRequestOp(order), this.addresses.get(ownerUuid)!)
      .setCallTimeout(this.deps.settings.migrationTimeoutMs)
      .invoke<[number, number]>()
      .then(
        (moved) => this.commitMigration(active, moved),
        (error: unknown) => {
          if (this.active.get(move.partitionId) === active && move.partitionId >= this.table.hashedCount) this.named?.migrationFailed(move.partitionId, move.destination, error);
          this.abortActive(move.partitionId, error instanceof Error ? error.message : String(error), active);
        },
      );
  }

  private async commitMigration(active: ActiveMigration, moved: [number, number]): Promise<void> {
    const { move } = active;
    const p = move.partitionId;
    if (this.active.get(p) !== active) return; // aborted meanwhile
    if (!this.deps.cluster.isMaster()) return;
    const fault = this.deps.faults.active ? this.deps.faults.atMigrationStep('migration.commit', p) : null;
    if (fault) await fault;
    if (this.active.get(p) !== active || !this.addresses.has(move.destination)) {
      this.abortActive(p, 'destination left before commit', active);
      return;
    }
    // A destination that is shutting down would have to hand the replica straight back.
    if (this.leaving.has(move.destination)) {
      this.abortActive(p, 'destination is leaving', active);
      return;
    }
    const row = this.table.row(p).slice();
    const destOldIndex = row.indexOf(move.destination);
    const source = row[move.replicaIndex];
    row[move.replicaIndex] = move.destination;
    let sourceNewIndex = -1;
    if (destOldIndex >= 0) {
      const keepSource = source !== null && this.addresses.has(source) && !this.leaving.has(source);
      row[destOldIndex] = keepSource ? source : null;
      if (keepSource) sourceNewIndex = destOldIndex;
    }
    this.table.setRow(p, row);
    this.active.delete(p);
    if (p >= this.table.hashedCount) this.named?.migrationCommitted(p, move.destination);
    this.stats.completed++;
    this.stats.entries += moved[0];
    this.stats.bytes += moved[1];
    this.publish();
    this.emitMigration('completed', move);
    const finalizing: Promise<unknown>[] = [];
    const finalize = (uuid: string | null, order: Omit<FinalizeOrder, 'memberUuid'>): void => {
      if (uuid !== null) finalizing.push(this.sendFinalize(uuid, order));
    };
    finalize(move.destination, { migrationId: active.id, partitionId: p, commit: true, currentIndex: destOldIndex, newIndex: move.replicaIndex, endpoint: 'DESTINATION' });
    if (source !== null && source !== move.destination) {
      finalize(source, { migrationId: active.id, partitionId: p, commit: true, currentIndex: move.replicaIndex, newIndex: sourceNewIndex, endpoint: 'SOURCE' });
    }
    if (active.ownerUuid !== source && active.ownerUuid !== move.destination) {
      finalize(active.ownerUuid, { migrationId: active.id, partitionId: p, commit: true, currentIndex: 0, newIndex: 0, endpoint: 'OWNER' });
    }
    // The next move of this partition waits until every end has finalized this one (the owner
    // unfreezes only at finalize).
    this.finalizing.add(p);
    void Promise.all(finalizing).then(() => {
      this.finalizing.delete(p);
      this.maybeMigrate();
      this.notifySafeWaiters();
    });
    this.maybeMigrate();
  }

  /**
   * Sends a commit or rollback to one end of a migration until it is acknowledged, the member
   * left, or this member stops being master: a lost finalize would leave an owner frozen or a
   * destination waiting for good. Finalize is idempotent on the receiving end.
   */
  private async sendFinalize(uuid: string, unaddressed: Omit<FinalizeOrder, 'memberUuid'>): Promise<void> {
    // Named by uuid: the address may be taken over by a restart of that member (see FinalizeOrder).
    const order: FinalizeOrder = { ...unaddressed, memberUuid: uuid };
    for (let attempt = 1; ; attempt++) {
      const address = this.addresses.get(uuid);
      if (address === undefined || !this.deps.isRunning() || !this.deps.cluster.isMaster()) return;
      try {
        await this.deps.operations
          .createInvocationBuilderOnMember(INTERNAL_SERVICE, new MigrationFinalizeOp(order), address)
          .setCallTimeout(Math.min(this.deps.settings.migrationTimeoutMs, 5000))
          .invoke();
        return;
      } catch (error) {
        if (!this.addresses.has(uuid) || !this.deps.isRunning()) return;
        if (attempt === 3) this.deps.logger.warn({ err: error, partitionId: order.partitionId }, 'migration finalize not acknowledged yet; still retrying');
        await new Promise<void>((resolve) => this.deps.runtime.timers.after(Math.min(100 * attempt, 2000), resolve));
      }
    }
  }

  private abortActive(p: number, reason: string, expected?: ActiveMigration): void {
    const active = this.active.get(p);
    if (active === undefined || (expected !== undefined && active !== expected)) return;
    this.active.delete(p);
    this.stats.failed++;
    this.lastFailure.set(active.move.destination, this.deps.runtime.clock.now());
    this.deps.logger.warn({ partitionId: p, replicaIndex: active.move.replicaIndex, reason }, 'migration failed; rolled back and re-planned');
    this.emitMigration('failed', active.move, reason);
    const rollbacks: Promise<void>[] = [];
    const rollback = (uuid: string, endpoint: FinalizeOrder['endpoint'], index: number): void => {
      rollbacks.push(this.sendFinalize(uuid, { migrationId: active.id, partitionId: p, commit: false, currentIndex: index, newIndex: index, endpoint }));
    };
    rollback(active.move.destination, 'DESTINATION', this.table.replicaIndexOf(p, active.move.destination));
    if (active.ownerUuid !== active.move.destination) rollback(active.ownerUuid, active.move.replicaIndex === 0 ? 'SOURCE' : 'OWNER', 0);
    // As after a commit, the next move of this partition waits until every end has its
    // rollback: a late rollback reaching a destination that a later move of the same partition
    // has since made owner would clear the data it now owns (simulator seed 110).
    this.finalizing.add(p);
    void Promise.all(rollbacks).then(() => {
      this.finalizing.delete(p);
      this.maybeMigrate();
      this.notifySafeWaiters();
    });
    this.scheduleReplan();
  }

  private replanTimer: TimerHandle | null = null;
  /** Re-plan after a pause (one pending timer at most) so a failing destination is not hammered. */
  private scheduleReplan(): void {
    if (this.replanTimer !== null) return;
    this.replanTimer = this.deps.runtime.timers.after(250, () => {
      this.replanTimer = null;
      this.maybeMigrate();
    });
  }

  /**
   * Master: `uuid` is shutting down gracefully. Returns false when no data member would be left
   * to take its partitions (the whole cluster is stopping), so it need not wait for a drain.
   */
  markLeaving(uuid: string): boolean {
    if (!this.deps.cluster.isMaster()) return true;
    if (!this.leaving.has(uuid)) this.deps.logger.info({ member: uuid }, 'member is leaving: moving its replicas away');
    if (!this.leaving.has(uuid)) this.named?.memberLeaving(uuid);
    this.leaving.add(uuid);
    this.maybeMigrate();
    return this.memberUuids.some((u) => !this.liteUuids.has(u) && !this.leaving.has(u));
  }

  /** True when this member holds no replica of any partition (safe to leave). */
  holdsNoReplicas(): boolean {
    for (let p = 0; p < this.deps.partitionCount; p++) {
      if (this.table.replicaIndexOf(p, this.localUuid) < 0) continue;
      // A named slot no other node of its list can take stays with this member until it leaves.
      if (p >= this.table.hashedCount && this.named !== null && !this.named.mustDrain(p)) continue;
      return false;
    }
    // A copy this member received may still be committed by the master, which would make it a
    // replica after it left (seed 369: with no backups, the partition's data left with it).
    return this.frozen.size === 0 && this.incoming.size === 0;
  }

  /** Graceful shutdown: ask the master to move every replica off this member, wait for it. */
  async drainForShutdown(): Promise<boolean> {
    // A member that has no table yet may still hold a copy the master is about to commit (seed
    // 5593): it waits for that copy's outcome like any other member.
    if (this.memberUuids.length <= 1 || (!this.table.isAssigned() && this.incoming.size === 0)) return true;
    const deadline = this.deps.runtime.clock.now() + this.deps.settings.gracefulShutdownTimeoutMs;
    while (this.deps.runtime.clock.now() < deadline) {
      // The last member has nowhere to move its data to. A master also waits for the migrations
      // it coordinates, so its successor does not have to re-plan them.
      // Committed ones count until every end acknowledged its finalize (the publication of the
      // commit travels ahead of it): leaving earlier could take the only record of a commit away
      // with this member (seed 6637: the new owner never learnt it owned the partition).
      const coordinating = this.deps.cluster.isMaster() && (this.active.size > 0 || this.finalizing.size > 0);
      if ((this.holdsNoReplicas() && !coordinating) || this.plannableMembers().every((u) => u === this.localUuid)) return true;
      const master = this.deps.cluster.getMaster();
      if (master !== null) {
        let canDrain: boolean;
        if (master.uuid === this.localUuid) canDrain = this.markLeaving(this.localUuid);
        else {
          canDrain = await this.deps.operations
            .createInvocationBuilderOnMember(INTERNAL_SERVICE, new ShutdownRequestOp(this.localUuid), master.address)
            .setCallTimeout(2000)
            .invoke<boolean>()
            .catch(() => true);
        }
        if (!canDrain) {
          this.deps.logger.warn('every data member is leaving: nowhere to move this member\'s partitions');
          return false;
        }
      }
      await this.waitForTableChange(500);
    }
    return this.holdsNoReplicas();
  }

  private waitForTableChange(maxMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const check = (): void => {
        this.safeWaiters.delete(check);
        this.deps.runtime.timers.clear(timer);
        resolve();
      };
      const timer = this.deps.runtime.timers.after(maxMs, check);
      this.safeWaiters.add(check);
    });
  }

  // --- source side ----------------------------------------------------------------------------

  /**
   * Runs on the owner: freeze the partition, capture its data between two operations, stream it
   * to the destination. Resolves with [entries, bytes] once the destination applied it all.
   * The partition stays frozen until finalize (or until a new master's table decides).
   */
  runMigrationSource(order: MigrationOrder): Promise<[number, number]> {
    const p = order.partitionId;
    if (this.table.owner(p) !== this.localUuid) return Promise.reject(new Error(`not the owner of partition ${p}`));
    if (this.table.version(p) !== order.partitionVersion) return Promise.reject(new Error(`stale order for partition ${p}: version ${order.partitionVersion}, have ${this.table.version(p)}`));
    const f = this.frozen.get(p);
    if ((f !== undefined && !supersedes(order, f)) || this.batching.has(p)) return Promise.reject(new Error(`partition ${p} is already migrating`));
    const destination = Address.parse(order.destinationAddress);
    if (order.objectsPerBatch > 0 && p >= this.table.hashedCount) {
      // A copy the master gave up on runs until its rollback arrives; a second one at the same
      // time would share its shadow slot.
      this.batching.set(p, order.migrationId);
      return this.runBatchedSource(order, destination).finally(() => {
        if (this.batching.get(p) === order.migrationId) this.batching.delete(p);
      });
    }
    return new Promise<[number, number]>((resolve, reject) => {
      this.deps.operations.executor.submit(p, async () => {
        try {
          const fault = this.deps.faults.active ? this.deps.faults.atMigrationStep('migration.prepare', p) : null;
          if (fault) await fault;
          if (this.table.owner(p) !== this.localUuid) throw new Error(`lost ownership of partition ${p}`);
          this.rollBackSuperseded(p, order);
          // The master may have given up on this migration (and sent its rollback) before the
          // request reached the front of the queue: freezing now would never be undone.
          if (this.finalized.has(order.migrationId)) throw new Error(`migration ${order.migrationId} was already finalized`);
          this.frozen.set(p, { migrationId: order.migrationId, masterUuid: order.masterUuid, replicaIndex: order.replicaIndex, destinationUuid: order.destinationUuid, rowVersion: order.partitionVersion });
          if (order.replicaIndex === 0) {
            const event = new PartitionMigrationEvent(p, MigrationEndpoint.SOURCE, 0, -1);
            for (const [, s] of this.deps.migrationAwareServices()) s.beforeMigration(event);
          }
          const header = { migrationId: order.migrationId, partitionId: p, replicaIndex: order.replicaIndex, replicaVersion: this.deps.operations.replicaVersions.get(p), masterUuid: order.masterUuid, batched: false, mergePolicy: order.mergePolicy, backupIndexMax: this.deps.operations.backupIndexMax[p], destinationUuid: order.destinationUuid };
          if (this.deps.faults.active && this.deps.faults.bugs?.commitBeforeDestinationApplied === true) {
            // Deliberate bug (simulator tests only): report success before the destination applied the data.
            const streaming = this.streamReplica(header, destination);
            resolve([0, 0]);
            await streaming.catch(() => undefined);
            return;
          }
          resolve(await this.streamReplica(header, destination));
        } catch (error) {
          const f = this.frozen.get(p);
          if (f?.migrationId === order.migrationId) this.frozen.delete(p);
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
    });
  }

  /**
   * A batched copy of a named partition (`objects locked per transaction` > 0): the owner is not
   * frozen while the data is copied. Each step runs in the partition's slot, between the
   * application's operations: it takes the next replication operation from the services (a
   * ChunkedMigrationAwareService yields at most `objectsPerBatch` objects each) and sends it. From
   * the first step on, the destination also gets every backup of the partition (a shadow
   * replica), on the same connection and so in order after the chunks captured before it: each
   * chunk sets objects to their value at capture time, each backup replays a later change. Up to
   * `streams` steps are in flight at once. The last step freezes the partition and sends the call
   * records and the owner's replica version, which the destination must have reached (a lost
   * backup fails the copy, and the master retries it).
   */
  private async runBatchedSource(order: MigrationOrder, destination: Address): Promise<[number, number]> {
    const p = order.partitionId;
    const streams = Math.max(1, Math.min(order.streams, 64));
    const event = new PartitionReplicationEvent(p, 0, order.objectsPerBatch);
    const budget = this.deps.settings.chunkBytesMax - 1024;
    const services = this.deps.migrationAwareServices();
    const out = new ObjectDataOutput(4096, this.deps.registry);
    const inFlight = new Set<Promise<void>>();
    // Set by a failed step (a callback, hence an object: the loop re-reads it).
    const state: { failure: Error | null } = { failure: null };
    let serviceIndex = 0;
    let iterator: Iterator<Operation> | null = null;
    let first = true;
    let exhausted = false;
    let entries = 0;
    let bytes = 0;
    const base = { migrationId: order.migrationId, partitionId: p, replicaIndex: order.replicaIndex, masterUuid: order.masterUuid, batched: true, mergePolicy: order.mergePolicy, destinationUuid: order.destinationUuid };
    const nextOperation = (): [string, Operation] | null => {
      while (serviceIndex < services.length) {
        const [name, service] = services[serviceIndex];
        if (iterator === null) {
          if (!isChunkedMigrationAwareService(service)) {
            serviceIndex++;
            const op = service.prepareReplicationOperation(event);
            if (op !== null) return [name, op];
            continue;
          }
          iterator = service.prepareReplicationChunks(event, budget)[Symbol.iterator]();
        }
        const next = iterator.next();
        if (next.done !== true) return [name, next.value];
        iterator = null;
        serviceIndex++;
      }
      return null;
    };
    const send = (operations: Buffer[], last: boolean): Promise<void> => {
      const records = last ? this.deps.operations.callRecords.export(p, this.deps.runtime.clock.now()) : [];
      const op = new MigrationChunkOp({ ...base, first, last, replicaVersion: this.deps.operations.replicaVersions.get(p), backupIndexMax: this.deps.operations.backupIndexMax[p] }, operations, records);
      first = false;
      return this.deps.operations.createInvocationBuilderOnMember(INTERNAL_SERVICE, op, destination).setCallTimeout(this.deps.settings.migrationTimeoutMs).invoke();
    };
    const ownedOrThrow = (): void => {
      if (this.table.owner(p) !== this.localUuid) throw new Error(`lost ownership of partition ${p}`);
      // The master may have given up on this copy (its answer lost to a reset, say) and sent its
      // rollback while the copy ran unfrozen: freezing after that would never be undone.
      if (this.finalized.has(order.migrationId)) throw new Error(`migration ${order.migrationId} was already finalized`);
      this.rollBackSuperseded(p, order);
    };
    const startSource = (): void => {
      if (order.replicaIndex !== 0) return;
      const e = new PartitionMigrationEvent(p, MigrationEndpoint.SOURCE, 0, -1);
      for (const [, s] of services) s.beforeMigration(e);
    };
    // The last step: freeze, and send the records and the version the destination must be at.
    const last: { sent: Promise<void> | null } = { sent: null };
    const finish = (): void => {
      if (first) startSource();
      this.frozen.set(p, { migrationId: order.migrationId, masterUuid: order.masterUuid, replicaIndex: order.replicaIndex, destinationUuid: order.destinationUuid, rowVersion: order.partitionVersion });
      this.shadows.delete(p);
      last.sent = send([], true);
    };
    try {
      while (!exhausted) {
        while (inFlight.size >= streams && state.failure === null) await Promise.race(inFlight);
        if (state.failure !== null) throw state.failure;
        await this.inSlot(p, () => {
          ownedOrThrow();
          const isFirst = first;
          const item = nextOperation();
          if (item === null) {
            exhausted = true;
            // Nothing to copy at the first step: the end goes out in this same step. Sent in a
            // later one, it would be the copy's first message and start it there (a destination
            // not in sync for this index starts from empty) after the backups of the changes made
            // in between had reached it, dropping them, with nothing left to notice: no shadow
            // followed, and the version it starts at is the owner's (seed 1253 named: the
            // owner's only increment lost on an owner move to its synchronous replica).
            if (isFirst) finish();
            return;
          }
          if (isFirst) startSource();
          out.clear();
          writeOperationBody(out, item[0], item[1]);
          const encoded = out.toBuffer();
          entries++;
          bytes += encoded.length;
          const done: Promise<void> = send([encoded], false).then(
            () => void inFlight.delete(done),
            (error: unknown) => {
              inFlight.delete(done);
              state.failure ??= error instanceof Error ? error : new Error(String(error));
            },
          );
          inFlight.add(done);
          // From here on the destination follows every change (unless it already is a replica).
          if (isFirst && this.table.replicaIndexOf(p, order.destinationUuid) < 0) this.shadows.set(p, { address: destination, replicaIndex: order.replicaIndex });
        });
      }
      while (inFlight.size > 0) await Promise.race(inFlight);
      if (state.failure !== null) throw state.failure;
      if (last.sent === null) {
        await this.inSlot(p, () => {
          ownedOrThrow();
          finish();
        });
      }
      if (last.sent !== null) await last.sent;
      return [entries, bytes];
    } catch (error) {
      this.shadows.delete(p);
      const f = this.frozen.get(p);
      if (f?.migrationId === order.migrationId) this.frozen.delete(p);
      throw error instanceof Error ? error : new Error(String(error));
    }
  }

  /**
   * In the partition's slot: this member is frozen for an older migration of the master that sent
   * `order` (see supersedes). The master has given up on it, so it is rolled back here as its
   * rollback would (which is then ignored if it still arrives).
   */
  private rollBackSuperseded(p: number, order: MigrationOrder): void {
    const f = this.frozen.get(p);
    if (f === undefined || !supersedes(order, f)) return;
    this.deps.logger.warn({ partitionId: p, migrationId: f.migrationId, next: order.migrationId }, 'rolling back a migration the master has moved on from');
    this.frozen.delete(p);
    this.rememberFinalized(`${f.migrationId}/${f.replicaIndex === 0 ? 'SOURCE' : 'OWNER'}`);
    this.rememberFinalized(f.migrationId);
    if (f.replicaIndex === 0) this.notifyServices(p, false, MigrationEndpoint.SOURCE, 0, 0);
  }

  /** Runs `fn` in the partition's slot (between operations) and resolves with its result. */
  private inSlot<T>(p: number, fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.deps.operations.executor.submit(p, () => {
        try {
          resolve(fn());
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
    });
  }

  /**
   * Restore (JOIN_CLUSTER_RESTORE): streams this member's objects of a named slot to its active
   * node, which adds the ones it lacks. This member is not in the slot's row.
   */
  streamMerge(p: number, destination: Address, policy: MergePolicy): Promise<[number, number]> {
    if (p < this.table.hashedCount || p >= this.deps.partitionCount) return Promise.reject(new RangeError(`partition ${p} is not a named slot`));
    return new Promise<[number, number]>((resolve, reject) => {
      this.deps.operations.executor.submit(p, async () => {
        try {
          const header = { migrationId: `merge:${this.localUuid.slice(0, 8)}-${this.nextSyncId++}`, partitionId: p, replicaIndex: 0, replicaVersion: 0, masterUuid: this.masterUuid ?? '', batched: false, mergePolicy: policy, backupIndexMax: 0, destinationUuid: '' };
          resolve(await this.streamReplica(header, destination));
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
    });
  }

  /** Drops this member's data of one partition now, between operations (JOIN_CLUSTER_PURGE). */
  clearLocalSlot(p: number): Promise<void> {
    return this.inSlot(p, () => this.clearReplica(p));
  }

  /** A backup re-copies its replica from the owner at once and resolves when it is applied (force replication). */
  async forceReplicaSync(p: number, timeoutMs: number): Promise<void> {
    this.syncRequested.delete(p);
    this.requestReplicaSync(p);
    if (!this.syncRequested.has(p)) throw new Error(`this member holds no backup replica of partition ${p}`);
    const done = await this.waitUntil(() => !this.syncRequested.has(p), timeoutMs);
    if (!done) throw new OperationTimeoutError(`replica of partition ${p} was not re-copied within ${timeoutMs} ms`);
  }

  /** Captures every migration-aware service's replica data and sends it in bounded chunks. */
  /**
   * `eager`: capture every service's data (and the call records) before the first await, so the
   * copy is consistent even though the partition is not frozen (a replica sync).
   */
  private async streamReplica(header: Omit<ChunkHeader, 'first' | 'last'>, destination: Address, eager = false): Promise<[number, number]> {
    const p = header.partitionId;
    // Every replica of a named partition is a full copy of its active node's data, so services
    // are asked for replica 0's data whatever the destination's index.
    const event = new PartitionReplicationEvent(p, p >= this.table.hashedCount ? 0 : header.replicaIndex);
    const out = new ObjectDataOutput(4096, this.deps.registry);
    const budget = this.deps.settings.chunkBytesMax - 1024;
    let chunk: Buffer[] = [];
    let chunkBytes = 0;
    let entries = 0;
    let bytes = 0;
    let first = true;
    const exportRecords = (): ExportedCallRecord[] => this.deps.operations.callRecords.export(p, this.deps.runtime.clock.now());
    const capturedRecords = eager ? exportRecords() : null;
    const flush = async (last: boolean, records: ExportedCallRecord[] = []): Promise<void> => {
      const op = new MigrationChunkOp({ ...header, first, last }, chunk, records);
      first = false;
      chunk = [];
      chunkBytes = 0;
      await this.deps.operations.createInvocationBuilderOnMember(INTERNAL_SERVICE, op, destination).setCallTimeout(this.deps.settings.migrationTimeoutMs).invoke();
    };
    const add = async (serviceName: string, op: Operation): Promise<void> => {
      out.clear();
      writeOperationBody(out, serviceName, op);
      const encoded = out.toBuffer();
      if (chunkBytes > 0 && chunkBytes + encoded.length > budget) await flush(false);
      chunk.push(encoded);
      chunkBytes += encoded.length;
      entries++;
      bytes += encoded.length;
    };
    const captured: [string, Operation][] = [];
    for (const [name, service] of this.deps.migrationAwareServices()) {
      if (isChunkedMigrationAwareService(service)) {
        for (const op of service.prepareReplicationChunks(event, budget)) {
          if (eager) captured.push([name, op]);
          else await add(name, op);
        }
      } else {
        const op = service.prepareReplicationOperation(event);
        if (op === null) continue;
        if (eager) captured.push([name, op]);
        else await add(name, op);
      }
    }
    for (const [name, op] of captured) await add(name, op);
    // Call records travel in chunks of their own size budget too (a partition may hold thousands).
    const records = capturedRecords ?? exportRecords();
    let batch: ExportedCallRecord[] = [];
    let batchBytes = 0;
    for (const record of records) {
      out.clear();
      out.writeObject(record);
      const size = out.position();
      if (batch.length > 0 && chunkBytes + batchBytes + size > budget) {
        await flush(false, batch);
        batch = [];
        batchBytes = 0;
      }
      batch.push(record);
      batchBytes += size;
      bytes += size;
    }
    await flush(true, batch);
    // The owner just gave replica `replicaIndex` data of its own: that replica must follow the
    // owner's version from now on (anti-entropy checks replicas up to backupIndexMax), even
    // before this owner sends it a backup — a new owner may have sent none that far yet.
    const r = header.replicaIndex;
    if (r > 0 && entries > 0 && this.table.owner(p) === this.localUuid && r > this.deps.operations.backupIndexMax[p]) {
      this.deps.operations.backupIndexMax[p] = r;
    }
    return [entries, bytes];
  }

  // --- destination side -----------------------------------------------------------------------

  /** Applies one chunk of a migration or replica sync on this member, inside the partition slot. */
  applyChunk(header: ChunkHeader, operations: Buffer[], records: readonly ExportedCallRecord[]): Promise<void> {
    const p = header.partitionId;
    if (header.migrationId.startsWith('merge:')) return this.applyMergeChunk(header, operations);
    const isSync = header.migrationId.startsWith('sync:');
    // A copy for an earlier incarnation at this address: the master rolls it back with that
    // member, so nothing would ever finalize it here (seed 1358: a copy stuck for good).
    if (!isSync && header.destinationUuid !== this.localUuid) {
      return Promise.reject(new Error(`migration ${header.migrationId} is for member ${header.destinationUuid}, not this one`));
    }
    if (!isSync && header.masterUuid !== this.masterUuid) {
      // The member list naming that master may still be on its way (it travels on another
      // connection than the data); wait briefly for it before refusing.
      return this.waitForMaster(header.masterUuid, 2000).then((ok) => {
        if (!ok) throw new Error('migration ordered by a member that is not master');
        return this.applyChunk(header, operations, records);
      });
    }
    return new Promise<void>((resolve, reject) => {
      this.deps.operations.executor.submit(p, async () => {
        try {
          if (isSync && (this.incoming.has(p) || this.table.replicaIndexOf(p, this.localUuid) !== header.replicaIndex)) {
            // A copy asked for under an earlier table: this member no longer holds that replica
            // (it may be the owner by now), or a migration is bringing it a newer one; applying
            // it would replace newer data. If a copy is still needed, the request is asked again.
            resolve();
            return;
          }
          // A chunk that arrives after its migration was finalized (a late or duplicated frame)
          // must not start a copy nobody will finalize.
          if (!isSync && this.finalized.has(header.migrationId)) {
            reject(new Error(`migration ${header.migrationId} is already finalized`));
            return;
          }
          if (header.first) this.beginIncoming(header, isSync);
          const fault = this.deps.faults.active && header.last ? this.deps.faults.atMigrationStep('migration.apply', p) : null;
          if (fault) await fault;
          const input = new ObjectDataInput(Buffer.alloc(0), 0, 0, this.deps.registry);
          for (const bytes of operations) {
            input.reset(bytes, 0, bytes.length);
            const { serviceName, op } = readOperationBody(input, this.deps.registry);
            op._nodeEngine = this.deps.nodeEngine;
            op._serviceName = serviceName;
            op._partitionId = p;
            op._replicaIndex = header.replicaIndex;
            await op.run();
          }
          // Call records may come in any chunk (they are chunked like the data): merge them.
          this.deps.operations.callRecords.import(p, records);
          if (header.last) {
            const rv = this.deps.operations.replicaVersions;
            if (header.batched && !isSync && (rv.isDirty(p) || rv.get(p) !== header.replicaVersion)) {
              throw new Error(`batched copy of partition ${p} fell behind (at version ${rv.get(p)}${rv.isDirty(p) ? ', dirty' : ''}, owner at ${header.replicaVersion}): a change sent during the copy was lost`);
            }
            this.deps.operations.replicaVersions.set(p, header.replicaVersion);
            const index = this.table.replicaIndexOf(p, this.localUuid);
            if (isSync && index > 0 && index !== header.replicaIndex) {
              // The table moved this backup to another index while the copy was applied (a
              // promotion, or a hole closed behind a leaving member): it holds the old index's
              // data, which may be less than the new one needs. Ask again (the request made on
              // the move was throttled behind this one).
              this.deps.operations.replicaVersions.markDirty(p);
              this.syncRequested.delete(p);
              this.requestReplicaSync(p);
            } else if (isSync) {
              this.syncRequested.delete(p);
              this.deps.operations.replicaSynced(p, header.replicaVersion);
              this.notifySafeWaiters();
            } else {
              const inc = this.incoming.get(p);
              if (inc) inc.applied = true;
              // An owner move: check the backups as far as the old owner did (see ChunkHeader).
              const max = this.deps.operations.backupIndexMax;
              if (header.replicaIndex === 0 && header.backupIndexMax > max[p]) max[p] = header.backupIndexMax;
            }
          }
          resolve();
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
    });
  }

  /** The active node of a named slot adds a restored member's objects (see streamMerge). */
  private applyMergeChunk(header: ChunkHeader, operations: Buffer[]): Promise<void> {
    const p = header.partitionId;
    return this.inSlot(p, async () => {
      const index = this.table.replicaIndexOf(p, this.localUuid);
      if (index !== 0) throw new Error(`merge into partition ${p} sent to a member that is not its active node`);
      if (header.first) {
        const event = new PartitionMigrationEvent(p, MigrationEndpoint.DESTINATION, 0, 0, header.mergePolicy);
        for (const [, s] of this.deps.migrationAwareServices()) s.beforeMigration(event);
      }
      try {
        const input = new ObjectDataInput(Buffer.alloc(0), 0, 0, this.deps.registry);
        for (const bytes of operations) {
          input.reset(bytes, 0, bytes.length);
          const { serviceName, op } = readOperationBody(input, this.deps.registry);
          op._nodeEngine = this.deps.nodeEngine;
          op._serviceName = serviceName;
          op._partitionId = p;
          op._replicaIndex = 0;
          await op.run();
        }
      } catch (error) {
        this.notifyServices(p, false, MigrationEndpoint.DESTINATION, 0, 0);
        throw error;
      }
      if (header.last) this.notifyServices(p, true, MigrationEndpoint.DESTINATION, 0, 0);
    }).then((work) => work);
  }

  private waitForMaster(masterUuid: string, maxMs: number): Promise<boolean> {
    if (this.masterUuid === masterUuid) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const check = (): void => {
        if (this.masterUuid !== masterUuid) return;
        this.safeWaiters.delete(check);
        this.deps.runtime.timers.clear(timer);
        resolve(true);
      };
      const timer = this.deps.runtime.timers.after(maxMs, () => {
        this.safeWaiters.delete(check);
        resolve(this.masterUuid === masterUuid);
      });
      this.safeWaiters.add(check);
    });
  }

  private beginIncoming(header: ChunkHeader, isSync: boolean): void {
    const p = header.partitionId;
    const previousIndex = this.table.replicaIndexOf(p, this.localUuid);
    const inSync = previousIndex >= 0 && !this.deps.operations.replicaVersions.isDirty(p) && this.deps.operations.replicaVersions.get(p) === header.replicaVersion && previousIndex <= header.replicaIndex;
    const merging = !isSync && header.mergePolicy !== MergePolicy.REPLACE;
    if (!isSync) {
      this.incoming.set(p, { migrationId: header.migrationId, masterUuid: header.masterUuid, replicaIndex: header.replicaIndex, previousIndex, mergePolicy: header.mergePolicy, keptData: !merging && inSync, applied: false, startedAt: this.deps.runtime.clock.now() });
      const event = new PartitionMigrationEvent(p, MigrationEndpoint.DESTINATION, previousIndex, header.replicaIndex, header.mergePolicy);
      for (const [, s] of this.deps.migrationAwareServices()) s.beforeMigration(event);
    }
    // A replica already in sync keeps its data and the copy lands on top (so a failure midway
    // never leaves it with less than it had); anything else starts from empty, except a named
    // partition's restore, which merges into what this member holds.
    if (!merging && (isSync || !inSync)) this.clearReplica(p);
    // A batched copy: the owner's backups follow from this version on.
    if (header.batched && !isSync) this.deps.operations.replicaVersions.set(p, header.replicaVersion);
  }

  /** Migration ids (and id/endpoint pairs) this member finalized, oldest first, bounded. */
  private readonly finalized = new Set<string>();

  private rememberFinalized(key: string): void {
    this.finalized.add(key);
    if (this.finalized.size > FINALIZED_REMEMBERED_MAX) this.finalized.delete(this.finalized.values().next().value as string);
  }

  /**
   * A copy that never completed within the migration timeout belongs to a migration the master
   * has given up on (its request timed out there too): drop it. An applied copy is left to its
   * finalize, which the master resends until acknowledged, or to the next master's table.
   */
  private expireIncoming(): void {
    const now = this.deps.runtime.clock.now();
    for (const [p, inc] of [...this.incoming]) {
      if (inc.applied && inc.masterUuid !== this.masterUuid && this.masterUuid !== null) {
        // Ordered by a master that is gone, and it arrived after the new master's table was
        // reconciled: that table decides, as for any orphaned migration. Not before that table
        // is here: the one held may predate the commit (the old master died right after it), and
        // reading it would roll back a copy the cluster made owner; the table's arrival resolves it.
        if (this.tableMasterUuid !== this.masterUuid) continue;
        this.rememberFinalized(inc.migrationId);
        this.resolveOrphanedIncoming(p, inc);
        continue;
      }
      if (inc.applied || now - inc.startedAt < this.deps.settings.migrationTimeoutMs * 2) continue;
      this.deps.logger.warn({ partitionId: p, migrationId: inc.migrationId }, 'dropping a migration copy that never completed');
      this.incoming.delete(p);
      this.rememberFinalized(inc.migrationId);
      this.notifyServices(p, false, MigrationEndpoint.DESTINATION, inc.previousIndex, inc.previousIndex);
      if (this.table.replicaIndexOf(p, this.localUuid) < 0) this.clearReplica(p);
      else this.requestReplicaSync(p);
    }
  }

  async finalizeMigration(order: FinalizeOrder): Promise<void> {
    const p = order.partitionId;
    const fault = this.deps.faults.active ? this.deps.faults.atMigrationStep('migration.finalize', p) : null;
    if (fault) await fault;
    // An order for an earlier incarnation at this address (resent by the master until that member
    // is gone): its migration died with that member, and nothing here belongs to it. Applied, a
    // rollback cleared the copy this member had just received for a later move of the same
    // partition, which the master then committed: the new owner served an empty partition
    // (seed 344). Acknowledged, so the master stops resending it.
    if (order.memberUuid !== this.localUuid) return;
    await new Promise<void>((resolve) => {
      this.deps.operations.executor.submit(p, () => {
        // Finalize may be resent (the master retries until acknowledged): apply it once.
        const key = `${order.migrationId}/${order.endpoint}`;
        if (this.finalized.has(key)) {
          resolve();
          return;
        }
        this.rememberFinalized(key);
        this.rememberFinalized(order.migrationId);
        const f = this.frozen.get(p);
        if (f?.migrationId === order.migrationId) {
          this.frozen.delete(p);
          if (order.commit && order.endpoint === 'OWNER' && this.table.version(p) <= f.rowVersion) this.awaitingRow.set(p, { version: f.rowVersion, masterUuid: f.masterUuid });
        }
        const inc = this.incoming.get(p);
        const merged = order.endpoint === 'DESTINATION' && inc?.migrationId === order.migrationId && inc.mergePolicy !== MergePolicy.REPLACE;
        if (order.endpoint === 'DESTINATION' && inc?.migrationId === order.migrationId) this.incoming.delete(p);
        // A late rollback of an earlier copy (delayed in flight, say, while a new master ordered
        // another move here) while a later copy is in flight: that copy replaced it, so there is
        // nothing left of it to undo, and clearing would drop the later copy (see seed 344).
        const superseded = order.endpoint === 'DESTINATION' && !order.commit && inc !== undefined && inc.migrationId !== order.migrationId;
        if (order.endpoint !== 'OWNER' && !superseded) {
          const endpoint = order.endpoint === 'SOURCE' ? MigrationEndpoint.SOURCE : MigrationEndpoint.DESTINATION;
          const current = order.endpoint === 'DESTINATION' && !order.commit ? (inc?.previousIndex ?? order.currentIndex) : order.currentIndex;
          this.notifyServices(p, order.commit, endpoint, current, order.commit ? order.newIndex : current);
          const holds = this.table.replicaIndexOf(p, this.localUuid);
          if (order.commit && order.endpoint === 'SOURCE' && order.currentIndex === 0 && holds === 0) this.handedOver.add(p);
          if (order.commit && order.endpoint === 'DESTINATION' && order.newIndex === 0) this.handedOver.delete(p);
          if (order.commit && order.endpoint === 'SOURCE' && order.newIndex >= 0) this.requestReplicaSync(p);
          // The table moved this member to another backup index while its copy was in flight (the
          // reconciliation skips partitions with a copy in flight): the copy holds what the old
          // index keeps, under the owner's replica version, so anti-entropy would never notice
          // (seeds 1669, 2727). Or an in-sync replica moved to a higher index kept its data under
          // the copy (so a failure midway left it no worse off), but a higher index keeps less,
          // and what only the old one kept would stay for good (seed 149: data at index 4, past
          // the backups). Either way a full copy of the index it holds replaces it.
          else if (order.commit && order.endpoint === 'DESTINATION' && holds > 0 && (holds !== order.newIndex || (inc?.migrationId === order.migrationId && inc.keptData && order.newIndex > inc.previousIndex))) this.requestReplicaSync(p);
          else if (!order.commit && order.endpoint === 'DESTINATION' && holds > 0) this.requestReplicaSync(p);
          else if (holds < 0 && (order.endpoint === 'SOURCE' ? order.commit : !order.commit) && !merged) this.clearReplica(p);
        }
        resolve();
      });
    });
    this.notifySafeWaiters();
  }

  // --- replica sync and anti-entropy ----------------------------------------------------------

  /** Asks the owner for a full copy of this member's replica of `p`. */
  requestReplicaSync(p: number): void {
    const index = this.table.replicaIndexOf(p, this.localUuid);
    const owner = this.replicaAddress(p, 0);
    if (index <= 0 || owner === null) {
      this.syncRequested.delete(p);
      return;
    }
    const now = this.deps.runtime.clock.now();
    const last = this.syncRequested.get(p);
    if (last !== undefined && now - last < 1000) return;
    this.syncRequested.set(p, now);
    this.deps.operations.replicaVersions.markDirty(p);
    this.deps.operations
      .createInvocationBuilderOnMember(INTERNAL_SERVICE, new ReplicaSyncRequestOp(p, index), owner)
      .invoke<boolean>()
      .then(
        (served) => {
          // The owner may not have installed the table that made it owner yet: ask again shortly.
          if (!served) this.retryReplicaSync(p);
        },
        () => this.retryReplicaSync(p),
      );
  }

  private retryReplicaSync(p: number): void {
    this.deps.runtime.timers.after(100, () => {
      if (!this.syncRequested.has(p) || !this.deps.isRunning()) return;
      this.syncRequested.delete(p);
      this.requestReplicaSync(p);
    });
  }

  /** Owner side of a replica sync: capture between operations and stream it to the requester. */
  serveReplicaSync(p: number, replicaIndex: number, requester: Address): boolean {
    // Not while handing the partition over (frozen for an owner move, or handed over with the
    // table naming the new owner still on its way): the requester may be that new owner, whose
    // table is not there yet either, and the copy of its old backup index would replace the data
    // it now owns (seeds 7603, 11361: the new owner served an emptied partition). It asks again.
    const owns = (): boolean => this.table.owner(p) === this.localUuid && !this.handedOver.has(p) && this.frozen.get(p)?.replicaIndex !== 0;
    if (!owns()) return false;
    const serve = async (): Promise<void> => {
      // Checked again at capture: a request queued behind a migration of this partition may run
      // after this member handed the partition over (and dropped its data).
      if (!owns()) return;
      const header = { migrationId: `sync:${this.nextSyncId++}`, partitionId: p, replicaIndex, replicaVersion: this.deps.operations.replicaVersions.get(p), masterUuid: this.masterUuid ?? '', batched: false, mergePolicy: MergePolicy.REPLACE, backupIndexMax: 0, destinationUuid: '' };
      try {
        await this.streamReplica(header, requester, true);
      } catch (error) {
        this.deps.logger.warn({ err: error, partitionId: p }, 'replica sync failed; the backup will ask again');
      }
    };
    // Writes holding the partition (or their keys) may be waiting for this very replica's
    // acknowledgement (the replica holds it until its copy arrives). No run is in progress, so
    // the data is consistent now: capture at once instead of queueing behind them, which would
    // stall the partition, and start nothing new until the copy is delivered — a write slipping
    // in after the capture would be missing from the copy and refused by the replica.
    // (An async operation still running while keyed writes wait makes the copy queue behind it
    // and them; the wait then ends at the backup-ack timeout.)
    if (this.deps.operations.isAwaitingBackupAcks(p)) this.deps.operations.executor.block(p, serve());
    else this.deps.operations.executor.submit(p, serve);
    return true;
  }

  /** Called for a backup that detected a gap. */
  onDirtyReplica(p: number): void {
    this.requestReplicaSync(p);
  }

  /** Owner: tell each backup the replica versions of the partitions it backs up. */
  private antiEntropy(): void {
    if (!this.table.isAssigned()) return;
    // The master re-sends the current table: a member that lost a publication (a connection
    // reset) catches up here; members that have this version ignore it.
    if (this.deps.cluster.isMaster() && !this.recovering) {
      const wire = this.wireSnapshot();
      for (const uuid of this.memberUuids) {
        const address = uuid === this.localUuid ? undefined : this.addresses.get(uuid);
        if (address !== undefined) this.deps.sendTable(address, wire);
      }
    }
    const perMember = new Map<string, [number[], number[]]>();
    for (let p = 0; p < this.deps.partitionCount; p++) {
      if (this.table.owner(p) !== this.localUuid || this.frozen.has(p)) continue;
      const version = this.deps.operations.replicaVersions.get(p);
      // Only replicas that receive backups follow the owner's version.
      const last = this.deps.operations.backupIndexMax[p];
      for (let r = 1; r <= last; r++) {
        const m = this.table.replica(p, r);
        if (m === null) continue;
        let entry = perMember.get(m);
        if (entry === undefined) perMember.set(m, (entry = [[], []]));
        entry[0].push(p);
        entry[1].push(version);
      }
    }
    for (const [uuid, [partitions, versions]] of perMember) {
      const address = this.addresses.get(uuid);
      if (address) this.deps.sendReplicaVersions(address, partitions, versions);
    }
    // Re-ask for syncs that got no answer.
    for (const p of this.syncRequested.keys()) this.requestReplicaSync(p);
  }

  /**
   * Backup: compare with the owner's versions. The check runs in each partition's slot and
   * arrives on the same ordered connection as the backups, so every backup sent before it has
   * been applied by then: a lower version means a backup was lost.
   */
  handleReplicaVersions(from: Address, partitions: number[], versions: number[]): void {
    for (let i = 0; i < partitions.length; i++) {
      const p = partitions[i];
      const version = versions[i];
      if (!Number.isInteger(p) || p < 0 || p >= this.deps.partitionCount) continue;
      const owner = this.replicaAddress(p, 0);
      if (owner === null || !owner.equals(from)) continue;
      this.deps.operations.executor.submit(p, () => {
        const rv = this.deps.operations.replicaVersions;
        if (rv.isDirty(p) || rv.get(p) !== version) {
          if (this.table.replicaIndexOf(p, this.localUuid) > 0 && !this.incoming.has(p)) {
            this.deps.logger.warn({ partitionId: p, have: rv.get(p), owner: version }, 'anti-entropy: replica out of date, requesting a copy');
            this.requestReplicaSync(p);
          }
        }
      });
    }
  }

  /** Everything this member holds is dropped (it was removed from the cluster and rejoins). */
  resetAll(): void {
    this.tableMasterUuid = null;
    this.frozen.clear();
    this.handedOver.clear();
    this.awaitingRow.clear();
    this.incoming.clear();
    this.syncRequested.clear();
    this.active.clear();
    this.leaving.clear();
    for (let p = 0; p < this.deps.partitionCount; p++) {
      this.deps.operations.replicaVersions.clear(p);
      this.deps.operations.callRecords.clear(p);
    }
    const empty = new PartitionTable(this.deps.partitionCount, this.table.hashedCount);
    this.table.install(empty.snapshot());
    this.reconciledIndex.fill(-1);
    this.reconciledOwner.fill(null);
  }
}

/**
 * The master runs one migration of a partition at a time and starts the next only once the last
 * one committed (and every end acknowledged its finalize) or was given up. So a later order of the
 * master that froze the partition means it gave up on the frozen migration: its rollback is on its
 * way, or was lost with the answer it followed. (Ids are `<master>-<sequence>`.)
 */
function supersedes(order: MigrationOrder, frozen: FrozenPartition): boolean {
  if (order.masterUuid !== frozen.masterUuid) return false;
  const sequence = (id: string): number => Number(id.slice(id.lastIndexOf('-') + 1));
  return sequence(order.migrationId) > sequence(frozen.migrationId);
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
