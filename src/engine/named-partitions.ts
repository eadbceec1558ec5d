/**
 * Named partitions on one member (the ActiveSpaces model). See docs/architecture.md, "Named
 * partitions".
 *
 * A named partition is one more partition id: slots `hashedCount..hashedCount+slotCount-1` follow
 * the hashed partitions, so services keep a container per partition id and work on named
 * partitions unchanged. What differs is who decides a slot's row in the partition table: not the
 * planner, but the partition's definition — its active node and ordered replica nodes, by member
 * name. The master owns every definition (like the table) and publishes them to all members as a
 * versioned registry; the partition service asks this module for a named slot's target row and
 * runs the ordinary migration protocol to reach it.
 *
 * Rules (each enforced here or in the partition service):
 * - The target row of an enabled definition is its node list, in priority order, keeping only
 *   members that are alive, not lite, not leaving, and not `failed`. A node that died or left while
 *   in the row is marked failed and stays out until it enables the partition again (restore), so a
 *   failover promotes the first live replica and nothing moves back by itself.
 * - An empty row is placed directly (no data moves): its owner keeps whatever it holds (the
 *   restore-from node first when it is in the target) and the replicas copy from it.
 * - Backups follow the definition (sync replicas waited for, async ones not), whatever counts the
 *   operation asks for.
 * - `broadcast definition updates = false`: the member that enables the partition serves it on its
 *   own (an overlay on its routing), outside the table. Two members doing that simulate a
 *   multi-master split; enabling again with broadcast on restores it with the EnableAction's rules.
 */
import { Address } from '../core/address.js';
import type { MemberInfo, MemberList } from '../core/membership.js';
import { REPLICA_COUNT_MAX, type ReplicaRow } from '../core/partition-table.js';
import type { Runtime, TimerHandle } from '../core/runtime.js';
import {
  IndeterminateOperationStateError,
  InstanceNotActiveError,
  NodeListMismatchError,
  NotActiveNodeError,
  ObjectNotUniqueError,
  OperationTimeoutError,
  PartitionNotFoundError,
  ResourceUnavailableError,
  WrongTargetError,
} from '../spi/errors.js';
import type { Logger } from '../spi/node-engine.js';
import { MergePolicy } from '../spi/services.js';
import type { ClusterService } from './cluster-service.js';
import { MalformedMessageError, arr, bool, int, isRecord, rec, str } from './guards.js';
import { INTERNAL_SERVICE, type InternalOperation } from './internal-operation.js';
import {
  EnableAction,
  NAMED_PARTITION_LIMITS as LIMITS,
  PARTITION_PROPERTY_DEFAULTS,
  PartitionMapper,
  ReplicaNode,
  ReplicationType,
  type ClassOf,
  type MigrationReport,
  type Partition,
  type PartitionListener,
  type PartitionManager,
  type PartitionProperties,
  type PartitionState,
  type ResolvedPartitionProperties,
} from './named-partitions-api.js';
import { NamedDefineOp, NamedEnableOp, NamedMergeStreamOp, NamedMigrateOp, NamedRegistryOp, NamedResyncOp } from './named-partitions-ops.js';
import type { NamedBackupPlan, NamedOperationHooks, OperationServiceImpl } from './operation-service.js';
import type { CopySettings, NamedSlots, PartitionServiceImpl } from './partition-service.js';

/** One entry of a node list: index 0 is the active node (its type is not used). */
export interface NodeSpec {
  readonly name: string;
  readonly type: ReplicationType;
}

/** The cluster-wide record of one named partition. */
export interface NamedDefinition {
  readonly name: string;
  /** The partition id (hashedCount + slot index). */
  readonly slot: number;
  properties: ResolvedPartitionProperties;
  /** Priority order; [0] is the active node. */
  nodes: NodeSpec[];
  /** The node list it was first defined with. */
  readonly original: readonly NodeSpec[];
  enabled: boolean;
  /** Member names kept out of the row until they enable the partition again (died or left). */
  failed: string[];
  /** Reserved by a member serving it on its own (broadcast definition updates = false); never placed. */
  localOnly: boolean;
  /** Bumped whenever nodes or properties change. */
  revision: number;
}

/** What this member itself defined (applied when it enables the partition). */
interface LocalDefinition {
  readonly name: string;
  readonly slot: number;
  nodes: NodeSpec[];
  properties: ResolvedPartitionProperties;
  /** The cluster revision this definition was made against; a newer published one replaces it. */
  basedOn: number;
}

export interface NamedPartitionDeps {
  readonly runtime: Runtime;
  readonly logger: Logger;
  /** Hashed partitions; named slots start here. */
  readonly hashedCount: number;
  /** Named slots (`namedPartitionsMax`). */
  readonly slotCount: number;
  readonly nodeActiveTimeoutMs: number;
  /** Bound for requests to the master (enable and migrate wait for their copies). */
  readonly callTimeoutMs: number;
  /** The master re-sends the registry this often (a member that lost a publication, or joined as one went out, catches up). */
  readonly republishIntervalMs: number;
  readonly localUuid: string;
  localName(): string;
  localAddress(): Address;
  readonly cluster: ClusterService;
  readonly partitions: PartitionServiceImpl;
  readonly operations: OperationServiceImpl;
}

/** What a request of a stopped member ends with (the operation service's own error at stop). */
function notRunning(): InstanceNotActiveError {
  return new InstanceNotActiveError('this Shoal instance is not running');
}

function hasControlCharacters(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

export class NamedPartitionService implements NamedSlots, NamedOperationHooks {
  readonly from: number;
  readonly manager: PartitionManagerImpl;
  private readonly deps: NamedPartitionDeps;
  private readonly defs = new Map<string, NamedDefinition>();
  private bySlot: (NamedDefinition | undefined)[];
  private registryMaster: string | null = null;
  private registryVersion = 0;
  private readonly localDefs = new Map<string, LocalDefinition>();
  /** Slots this member serves on its own (broadcast definition updates = false). */
  private readonly overlays = new Set<number>();
  /**
   * Copies kept from the other side of a split (slot → partition name): this member held them when
   * its cluster merged into another; they are not served and wait for the application to enable
   * the partition, whose EnableAction decides what becomes of them (see `retainForMerge`).
   */
  private retained = new Map<number, string>();
  /** Mappers by the prototype of the class they were installed for. */
  private readonly mappers = new Map<object, PartitionMapper<never>>();
  private readonly listeners = new Map<string, PartitionListener>();
  private readonly namesByUuid = new Map<string, string>();
  private readonly namesSeen = new Set<string>();
  /** Last reported signature per partition name, for listeners. */
  private readonly signatures = new Map<string, string>();
  private publishScheduled = false;
  private wasMaster = false;
  private republishTimer: TimerHandle | null = null;
  /** Set by stop(): requests of this member still waiting end (see stop). */
  private stopped = false;
  /** Rejects the waits of define and migrate for their active node to join (see stop). */
  private readonly nodeWaits = new Set<(error: Error) => void>();

  // master state (transient: a new master starts without it)
  /** Members excluded from a slot's row while their JOIN_CLUSTER_RESTORE merge runs. */
  private readonly restoring = new Map<number, Set<string>>();
  /** Properties of a migration in flight (defined ones with the migrate overrides). */
  private readonly overrides = new Map<number, ResolvedPartitionProperties>();
  /** Copies that must not clear the destination (JOIN_CLUSTER restore): slot → destination uuid → policy. */
  private readonly pendingMerge = new Map<number, Map<string, MergePolicy>>();
  /** Why a copy to a member failed for good (ObjectNotUniqueError): slot → destination uuid → error. */
  private readonly failures = new Map<number, Map<string, Error>>();
  /** Moves started per slot while a migrate is in flight. */
  private readonly moveCounts = new Map<number, number>();

  constructor(deps: NamedPartitionDeps) {
    this.deps = deps;
    this.from = deps.hashedCount;
    this.bySlot = new Array<NamedDefinition | undefined>(deps.slotCount);
    this.manager = new PartitionManagerImpl(this);
  }

  // --- queries ------------------------------------------------------------------------------------

  private localName(): string {
    return this.deps.localName();
  }

  isNamedSlot(p: number): boolean {
    return p >= this.from && p < this.from + this.deps.slotCount;
  }

  private defAt(p: number): NamedDefinition | undefined {
    return this.isNamedSlot(p) ? this.bySlot[p - this.from] : undefined;
  }

  /** A definition other members may see (not a local-only reservation). */
  private publishedAt(p: number): NamedDefinition | undefined {
    const def = this.defAt(p);
    return def === undefined || def.localOnly ? undefined : def;
  }

  private liveMemberByName(name: string): { uuid: string; address: Address } | null {
    for (const m of this.deps.cluster.getMembers()) if (m.name === name) return { uuid: m.uuid, address: m.address };
    return null;
  }

  private isAlive(uuid: string): boolean {
    return this.deps.cluster.memberByUuid(uuid) !== undefined;
  }

  private nameOf(uuid: string): string | undefined {
    return this.deps.cluster.memberByUuid(uuid)?.name ?? this.namesByUuid.get(uuid);
  }

  /** How a member looks from here, in the words of the error the seed shows. */
  private nodeState(name: string): string {
    if (this.liveMemberByName(name) !== null) return 'Up';
    return this.namesSeen.has(name) ? 'Down' : 'Undiscovered';
  }

  private unreachable(name: string): ResourceUnavailableError {
    return new ResourceUnavailableError(`Remote node '${name}' cannot be accessed, current state is '${this.nodeState(name)}'`);
  }

  // --- hooks for the operation service (hot paths: cheap) ------------------------------------------

  backupPlan(p: number): NamedBackupPlan | null {
    if (this.overlays.size > 0 && this.overlays.has(p)) return null;
    const def = this.defAt(p);
    const shadow = this.deps.partitions.shadowOf(p);
    const row = this.deps.partitions.table.row(p);
    let last = 0;
    for (let r = 1; r < REPLICA_COUNT_MAX; r++) if (row[r] !== null) last = r;
    if (last === 0 && shadow === null) return null;
    const sync: boolean[] = [];
    for (let r = 1; r <= last; r++) {
      const uuid = row[r];
      const name = uuid === null ? undefined : this.nameOf(uuid);
      const spec = name === undefined || def === undefined ? undefined : def.nodes.find((n) => n.name === name);
      sync.push(spec === undefined || spec.type === ReplicationType.SYNCHRONOUS);
    }
    return { sync, shadow };
  }

  unavailableReason(p: number): string | null {
    if (this.overlays.has(p)) return null;
    const def = this.publishedAt(p);
    if (def === undefined) return `named partition slot ${p - this.from} (partition id ${p}) is not defined`;
    if (!def.enabled) return `partition '${def.name}' is not active`;
    for (const uuid of this.deps.partitions.table.row(p)) if (uuid !== null && this.isAlive(uuid)) return null; // a promotion or move is under way
    for (const n of def.nodes) if (!def.failed.includes(n.name) && this.liveMemberByName(n.name) !== null) return null; // placement is under way
    return `partition '${def.name}' is not active: no node of its list (${def.nodes.map((n) => n.name).join(', ')}) is available`;
  }

  // --- hooks for the partition service --------------------------------------------------------------

  servesLocally(p: number): boolean {
    return this.overlays.has(p);
  }

  isEnabledSlot(p: number): boolean {
    if (this.overlays.has(p)) return true;
    const def = this.publishedAt(p);
    return def !== undefined && def.enabled;
  }

  hasOverlays(): boolean {
    return this.overlays.size > 0;
  }

  /** Master: the row slot `p` should have, or null to leave it alone. */
  targetRow(p: number): ReplicaRow | null {
    const def = this.defAt(p);
    if (def === undefined || !def.enabled || def.localOnly) return null;
    const excluded = this.restoring.get(p);
    const row: ReplicaRow = [];
    for (const n of def.nodes) {
      if (def.failed.includes(n.name) || excluded?.has(n.name) === true) continue;
      const m = this.liveMemberByName(n.name);
      if (m === null || !this.deps.partitions.isPlannable(m.uuid) || row.includes(m.uuid)) continue;
      row.push(m.uuid);
    }
    while (row.length < REPLICA_COUNT_MAX) row.push(null);
    return this.handBackStage(p, row.slice(0, REPLICA_COUNT_MAX));
  }

  /**
   * The row to reach first when the target's active node holds no replica of the slot yet while the
   * current active node stays in the target as a replica (a failback after the definition's active
   * node returned, or a migrate to a new active node): the target with the new active node added as
   * one more replica, everyone else where they are. Why: going straight to the target would be an
   * owner move into a member holding no replica, and a commit keeps the old owner only at the
   * destination's old index, so the old owner would leave the row and clear its copy, to get it back
   * by a later copy from the new owner. Until then the new owner would hold the only copy of a
   * partition that had a replica (a sync or async one of the definition), and its crash would lose
   * every acknowledged write. Staged, the new active node first receives a copy as a replica, then
   * the owner move swaps the two: the old owner keeps its data at the returning node's index, and
   * later moves (swaps as well, each destination holding a replica) put it where the target wants.
   * Without a current owner (an empty row, placed directly) or when the old owner leaves the list,
   * the target is returned unchanged.
   */
  private handBackStage(p: number, target: ReplicaRow): ReplicaRow {
    const next = target[0] ?? null;
    const current = this.deps.partitions.table.row(p);
    const owner = current[0] ?? null;
    if (next === null || owner === null || owner === next || current.includes(next) || !target.includes(owner)) return target;
    // A JOIN_CLUSTER copy keeping the returning member's orphans (FAIL_ON_DUPLICATE) must be its
    // owner copy: a staged one would be replaced by the owner move's REPLACE copy, orphans and all.
    if (this.pendingMerge.get(p)?.has(next) === true) return target;
    // Members the target drops are dropped now as well (no data moves for that), so a slot is free:
    // at most REPLICA_COUNT_MAX - 1 members other than `next` stay, and index 0 is the owner's.
    const staged: ReplicaRow = [];
    for (let r = 0; r < REPLICA_COUNT_MAX; r++) {
      const uuid = current[r] ?? null;
      staged.push(uuid !== null && target.includes(uuid) ? uuid : null);
    }
    const free = staged.indexOf(null, 1);
    if (free < 0) return target;
    staged[free] = next;
    return staged;
  }

  /** Master: which member of `target` owns an empty row when it is placed. */
  placementOwner(p: number, target: ReplicaRow): string | null {
    const def = this.defAt(p);
    if (def !== undefined) {
      const source = this.liveMemberByName(this.restoreSource(def));
      if (source !== null && target.includes(source.uuid)) return source.uuid;
    }
    return target[0] ?? null;
  }

  rowMembersGone(p: number, uuids: readonly string[]): void {
    const def = this.defAt(p);
    if (def === undefined) return;
    for (const uuid of uuids) {
      const name = this.nameOf(uuid);
      if (name === undefined || def.failed.includes(name) || !def.nodes.some((n) => n.name === name)) continue;
      this.deps.logger.info({ partition: def.name, node: name }, 'named partition node is gone: kept out until it enables the partition again');
      def.failed.push(name);
      this.schedulePublish();
    }
  }

  memberLeaving(uuid: string): void {
    const name = this.nameOf(uuid);
    if (name === undefined) return;
    for (const def of this.defs.values()) {
      if (!def.enabled || def.failed.includes(name) || !def.nodes.some((n) => n.name === name)) continue;
      def.failed.push(name);
      this.schedulePublish();
    }
  }

  copySettings(p: number, destination: string): CopySettings {
    const def = this.defAt(p);
    const props = this.overrides.get(p) ?? def?.properties ?? PARTITION_PROPERTY_DEFAULTS;
    const count = this.moveCounts.get(p);
    if (count !== undefined) this.moveCounts.set(p, count + 1);
    return {
      objectsPerBatch: props.objectsLockedPerTransaction,
      streams: props.numberOfThreads,
      mergePolicy: this.pendingMerge.get(p)?.get(destination) ?? MergePolicy.REPLACE,
    };
  }

  migrationCommitted(p: number, destination: string): void {
    this.pendingMerge.get(p)?.delete(destination);
  }

  migrationFailed(p: number, destination: string, error: unknown): void {
    if (!(error instanceof Error) || error.name !== 'ObjectNotUniqueError') return;
    const pending = this.pendingMerge.get(p);
    if (pending?.has(destination) !== true) return;
    pending.delete(destination);
    let failures = this.failures.get(p);
    if (failures === undefined) this.failures.set(p, (failures = new Map<string, Error>()));
    failures.set(destination, error);
    const def = this.defAt(p);
    const name = this.nameOf(destination);
    if (def !== undefined && name !== undefined && !def.failed.includes(name)) def.failed.push(name);
    this.schedulePublish();
  }

  /** Whether this member (leaving) must move its replica of `p` away first: someone can take it. */
  mustDrain(p: number): boolean {
    const def = this.publishedAt(p);
    if (def === undefined || !def.enabled) return false;
    const me = this.localName();
    return def.nodes.some((n) => n.name !== me && !def.failed.includes(n.name) && this.liveMemberByName(n.name) !== null);
  }

  /** The partition a key maps to through the mappers, or -1 (hash it). */
  slotOfKey(key: unknown): number {
    if (this.mappers.size === 0 || key === null || key === undefined) return -1;
    const mapper = this.mapperFor(key);
    if (mapper === null) return -1;
    const name = (mapper as PartitionMapper<unknown>).getPartition(key);
    if (name === null || name === undefined) return -1;
    return this.slotOfName(name);
  }

  private mapperFor(value: unknown): PartitionMapper<never> | null {
    let proto: unknown = Object.getPrototypeOf(value);
    while (proto !== null && proto !== undefined) {
      const m = this.mappers.get(proto);
      if (m !== undefined) return m;
      proto = Object.getPrototypeOf(proto);
    }
    return null;
  }

  private slotOfName(name: string): number {
    const local = this.localDefs.get(name);
    if (local !== undefined && this.overlays.has(local.slot)) return local.slot;
    const def = this.defs.get(name);
    if (def !== undefined && !def.localOnly) return def.slot;
    if (local !== undefined) return local.slot;
    throw new PartitionNotFoundError(`no partition named '${name}' is defined`);
  }

  tableChanged(): void {
    this.notifyListeners();
  }

  // --- membership and registry ----------------------------------------------------------------------

  onMembersChanged(list: MemberList, added: readonly MemberInfo[], _removed: readonly MemberInfo[]): void {
    for (const m of list.members) {
      this.namesByUuid.set(m.uuid, m.name);
      this.namesSeen.add(m.name);
    }
    const isMaster = this.deps.cluster.isMaster();
    const becameMaster = isMaster && !this.wasMaster;
    this.wasMaster = isMaster;
    // Deferred: a joiner must have the member list (sent right after this) before the registry,
    // or it drops the registry as coming from no master it knows. (An empty registry has nothing
    // to lose: it goes at once, as it always did.)
    if (isMaster && (becameMaster || added.some((m) => m.uuid !== this.deps.localUuid))) {
      if (this.defs.size === 0) this.publish();
      else this.schedulePublish();
    }
    this.notifyListeners();
  }

  /** Starts re-sending the registry (master) every `republishIntervalMs`. */
  start(): void {
    if (this.republishTimer !== null || this.deps.republishIntervalMs <= 0 || this.deps.slotCount === 0) return;
    this.republishTimer = this.deps.runtime.timers.every(this.deps.republishIntervalMs, () => this.republish());
  }

  stop(): void {
    if (this.republishTimer !== null) this.deps.runtime.timers.clear(this.republishTimer);
    this.republishTimer = null;
    // The waits between a request's tries, for a placement and for a node to join end on timers,
    // which a stopped member may never run again (a crash in the simulator freezes them for good):
    // an enable waiting to ask the master again when its member crashed never settled, and the
    // application saw it in flight forever (seed 61 named). They end now, with the error the
    // operation service gives the calls it holds at stop.
    this.stopped = true;
    this.deps.partitions.notifyProgress();
    for (const reject of [...this.nodeWaits]) reject(notRunning());
  }

  /** Master: the current registry again, same version (members that have it ignore it). */
  private republish(): void {
    if (!this.deps.cluster.isMaster() || this.defs.size === 0 || this.registryMaster !== this.deps.localUuid || this.publishScheduled) return;
    this.sendRegistry();
  }

  private schedulePublish(): void {
    if (this.publishScheduled) return;
    this.publishScheduled = true;
    this.deps.runtime.timers.defer(() => {
      this.publishScheduled = false;
      this.publish();
    });
  }

  /** Master: sends the registry to every other member. */
  private publish(): void {
    if (!this.deps.cluster.isMaster()) return;
    this.registryVersion++;
    this.registryMaster = this.deps.localUuid;
    this.sendRegistry();
    this.afterRegistryChange();
  }

  private sendRegistry(): void {
    const wire: Record<string, unknown> = {
      masterUuid: this.deps.localUuid,
      version: this.registryVersion,
      defs: [...this.defs.values()].map(defToWire),
    };
    for (const m of this.deps.cluster.getMembers()) {
      if (m.localMember) continue;
      this.deps.operations
        .createInvocationBuilderOnMember(INTERNAL_SERVICE, new NamedRegistryOp(wire), m.address)
        .invoke()
        .catch((error: unknown) => this.deps.logger.debug({ err: error }, 'could not send the named-partition registry'));
    }
  }

  /** A registry published by the master. */
  installRegistry(from: Address | null, wire: Record<string, unknown>): void {
    const masterUuid = str(wire, 'masterUuid', 64);
    const version = int(wire, 'version', 0);
    const master = this.deps.cluster.getMaster();
    if (master === null || master.uuid !== masterUuid || (from !== null && !master.address.equals(from))) return;
    if (masterUuid === this.registryMaster && version <= this.registryVersion) return;
    const defs = arr(wire, 'defs', this.deps.slotCount).map((d) => defFromWire(d, this.from, this.deps.slotCount));
    this.defs.clear();
    for (const def of defs) this.defs.set(def.name, def);
    this.registryMaster = masterUuid;
    this.registryVersion = version;
    this.afterRegistryChange();
  }

  private afterRegistryChange(): void {
    this.bySlot = new Array<NamedDefinition | undefined>(this.deps.slotCount);
    for (const def of this.defs.values()) this.bySlot[def.slot - this.from] = def;
    // A newer published definition replaces what this member defined (definition updates are
    // broadcast), unless this member serves the partition on its own.
    for (const local of this.localDefs.values()) {
      const def = this.defs.get(local.name);
      if (def === undefined || def.localOnly || def.revision <= local.basedOn || this.overlays.has(local.slot)) continue;
      local.nodes = def.nodes.slice();
      local.properties = def.properties;
      local.basedOn = def.revision;
    }
    this.deps.partitions.notifyProgress();
    this.notifyListeners();
  }

  /** The member was dropped from the cluster and rejoins: it serves nothing on its own any more. */
  reset(): void {
    this.overlays.clear();
    this.retained.clear();
    this.restoring.clear();
    this.overrides.clear();
    this.pendingMerge.clear();
    this.failures.clear();
  }

  /**
   * Split-brain merge (node.ts `mergeInto`): this member leaves its cluster for another one. The
   * named slots it holds a copy of (as active node, replica, or serving alone) are kept aside;
   * returns them. Its services keep their data of these slots, nothing else. Until the
   * application enables such a partition, the copy is not served and the member stays out of
   * its row (the cluster it joins marked it failed when it lost it at the split). Enabling then
   * applies the EnableAction to it as to any local copy: JOIN_CLUSTER keeps it (a key on both
   * sides: ObjectNotUniqueError; keys only here: orphans), JOIN_CLUSTER_PURGE drops it,
   * JOIN_CLUSTER_RESTORE merges it into the partition (KEEP_EXISTING on the active node).
   */
  retainForMerge(): ReadonlySet<number> {
    const kept = new Map<number, string>();
    for (let i = 0; i < this.deps.slotCount; i++) {
      const p = this.from + i;
      const holds = this.overlays.has(p) || this.retained.has(p) || this.deps.partitions.table.replicaIndexOf(p, this.deps.localUuid) >= 0;
      if (!holds) continue;
      const name = this.retained.get(p) ?? [...this.localDefs.values()].find((d) => d.slot === p && this.overlays.has(p))?.name ?? this.bySlot[i]?.name;
      if (name !== undefined) kept.set(p, name);
    }
    this.reset();
    this.retained = kept;
    // Whatever the cluster it joins publishes is the registry now.
    this.registryMaster = null;
    this.registryVersion = 0;
    if (kept.size > 0) this.deps.logger.warn({ partitions: [...kept.values()] }, 'keeping this member\'s copies of named partitions aside until they are enabled again (multi-master restore)');
    return new Set(kept.keys());
  }

  /**
   * Takes this member's kept copy of partition `name` (now at slot `p`): true when there is one.
   * A copy kept under another slot (the partition was defined anew on the other side) is dropped.
   */
  private async takeRetained(name: string, p: number): Promise<boolean> {
    let found = false;
    for (const [slot, kept] of [...this.retained]) {
      if (kept !== name) continue;
      this.retained.delete(slot);
      if (slot === p) found = true;
      else {
        this.deps.logger.warn({ partition: name, kept: slot, now: p }, 'a kept copy of a named partition is in another slot than the cluster gives the partition: dropped');
        await this.deps.partitions.clearLocalSlot(slot);
      }
    }
    if (this.retained.get(p) !== undefined && this.retained.get(p) !== name) {
      // Another partition's copy in the slot this name has now: it cannot be restored as that partition.
      this.retained.delete(p);
      await this.deps.partitions.clearLocalSlot(p);
    }
    return found;
  }

  /** Names of the partitions whose copies this member keeps from a split, until they are enabled again. */
  retainedPartitions(): string[] {
    return [...this.retained.values()].sort();
  }

  // --- master: requests ---------------------------------------------------------------------------

  private requireMaster(): void {
    if (!this.deps.cluster.isMaster()) throw new WrongTargetError('not the master');
  }

  masterDefine(payload: Record<string, unknown>): Record<string, unknown> {
    this.requireMaster();
    const req = parseDefinitionRequest(payload);
    const existing = this.defs.get(req.name);
    if (existing !== undefined) return { slot: existing.slot, revision: existing.revision };
    let index = -1;
    for (let i = 0; i < this.deps.slotCount; i++) {
      if (this.bySlot[i] === undefined) {
        index = i;
        break;
      }
    }
    if (index < 0) throw new ResourceUnavailableError(`cannot define partition '${req.name}': all ${this.deps.slotCount} named partition slots are taken (named-partitions-max)`);
    if (this.liveMemberByName(req.nodes[0].name) === null) throw this.unreachable(req.nodes[0].name);
    const def: NamedDefinition = {
      name: req.name,
      slot: this.from + index,
      properties: req.properties,
      nodes: req.nodes,
      original: req.nodes,
      enabled: false,
      failed: [],
      localOnly: !req.properties.broadcastDefinitionUpdates,
      revision: 1,
    };
    this.defs.set(def.name, def);
    this.deps.logger.info({ partition: def.name, slot: def.slot, nodes: describeNodes(def.nodes) }, 'named partition defined');
    this.publish();
    return { slot: def.slot, revision: def.revision };
  }

  async masterEnable(payload: Record<string, unknown>): Promise<void> {
    this.requireMaster();
    const req = parseDefinitionRequest(payload);
    const action = parseAction(str(payload, 'action', 32));
    const requesterUuid = str(payload, 'requesterUuid', 64);
    const hadLocalData = bool(payload, 'hadLocalData');
    const def = this.defs.get(req.name);
    if (def === undefined) throw new PartitionNotFoundError(`no partition named '${req.name}' is defined`);
    const requester = this.nameOf(requesterUuid);
    if (requester === undefined) throw new ResourceUnavailableError(`member ${requesterUuid} is not in the cluster`);
    const p = def.slot;

    if (!req.properties.broadcastDefinitionUpdates) {
      // The requester serves the partition on its own from now on: it stays out of the cluster's
      // row until it enables the partition with broadcasting on again (a restore).
      if (!def.failed.includes(requester)) def.failed.push(requester);
      this.publish();
      this.deps.partitions.maybeMigrate();
      await this.settled(p);
      return;
    }

    this.reconcileDefinition(def, req, requester);
    def.localOnly = false;
    def.enabled = true;
    def.failed = def.failed.filter((n) => n !== requester);
    this.deps.partitions.assignIfNeeded();
    if (hadLocalData && def.nodes.some((n) => n.name === requester)) {
      // This member served the partition on its own: restore it from the restore-from node,
      // which must be (or become, if the partition is not placed yet) its active node.
      const source = this.restoreSource(def);
      const owner = this.deps.partitions.table.owner(p);
      const ownerName = owner === null ? null : (this.nameOf(owner) ?? null);
      if (ownerName !== null && ownerName !== source) {
        throw new ResourceUnavailableError(`partition '${def.name}' cannot be restored from '${source}': it is active on '${ownerName}'; restore from '${ownerName}' or migrate it to '${source}' first`);
      }
      if (source !== requester) {
        if (this.liveMemberByName(source) === null) throw this.unreachable(source);
        if (action === EnableAction.JOIN_CLUSTER) {
          let pending = this.pendingMerge.get(p);
          if (pending === undefined) this.pendingMerge.set(p, (pending = new Map<string, MergePolicy>()));
          pending.set(requesterUuid, MergePolicy.FAIL_ON_DUPLICATE);
        } else if (action === EnableAction.JOIN_CLUSTER_RESTORE) {
          await this.restoreMerge(def, requester, requesterUuid);
        }
      }
    }
    this.deps.logger.info({ partition: def.name, requester, action }, 'named partition enabled');
    this.publish();
    this.deps.partitions.maybeMigrate();
    try {
      await this.settled(p);
    } finally {
      this.pendingMerge.get(p)?.delete(requesterUuid);
    }
    const failure = this.failures.get(p)?.get(requesterUuid);
    if (failure !== undefined) {
      this.failures.get(p)?.delete(requesterUuid);
      throw failure instanceof ObjectNotUniqueError ? failure : new ObjectNotUniqueError(failure.message);
    }
  }

  /** Applies the requester's definition: equal (or the original) → nothing; otherwise a redefinition or a sparse audit. */
  private reconcileDefinition(def: NamedDefinition, req: DefinitionRequest, requester: string): void {
    if (def.localOnly) {
      def.nodes = req.nodes;
      def.properties = req.properties;
      def.revision++;
      return;
    }
    const sameNodes = sameNodeList(req.nodes, def.nodes) || sameNodeList(req.nodes, def.original);
    const listed = req.nodes.some((n) => n.name === requester);
    if (!sameNodes) {
      if (!listed) {
        if (req.properties.sparsePartitionAudit) {
          throw new NodeListMismatchError(`partition '${def.name}': node list ${describeNodes(req.nodes)} on '${requester}' does not match the cluster's ${describeNodes(def.nodes)} (sparse partition audit)`);
        }
        return; // a sparse member accepts the cluster's definition
      }
      this.deps.logger.info({ partition: def.name, from: describeNodes(def.nodes), to: describeNodes(req.nodes), by: requester }, 'named partition redefined');
      def.nodes = req.nodes;
      def.properties = req.properties;
      def.revision++;
      return;
    }
    if (listed && !sameProperties(req.properties, def.properties)) {
      def.properties = req.properties;
      def.revision++;
    }
  }

  private restoreSource(def: NamedDefinition): string {
    if (def.properties.restoreFromNode !== null) return def.properties.restoreFromNode;
    const owner = this.deps.partitions.table.owner(def.slot);
    const ownerName = owner === null ? undefined : this.nameOf(owner);
    return ownerName ?? def.nodes[0].name;
  }

  /**
   * JOIN_CLUSTER_RESTORE of `requester`: keep it out of the row, let the restore-from node be
   * active, stream the requester's objects to it (it adds the ones it lacks), re-copy its
   * replicas, then let the requester in (it then gets a full copy of the merged partition).
   */
  private async restoreMerge(def: NamedDefinition, requester: string, requesterUuid: string): Promise<void> {
    const p = def.slot;
    let excluded = this.restoring.get(p);
    if (excluded === undefined) this.restoring.set(p, (excluded = new Set()));
    excluded.add(requester);
    try {
      this.publish();
      this.deps.partitions.maybeMigrate();
      await this.settled(p);
      const owner = this.deps.partitions.table.owner(p);
      const ownerAddress = owner === null ? null : this.deps.partitions.addressOf(owner);
      const requesterAddress = this.deps.partitions.addressOf(requesterUuid);
      if (ownerAddress === null || requesterAddress === null) throw new ResourceUnavailableError(`partition '${def.name}' has no active node to restore into`);
      await this.deps.operations
        .createInvocationBuilderOnMember(INTERNAL_SERVICE, new NamedMergeStreamOp({ slot: p, destination: ownerAddress.key, policy: MergePolicy.KEEP_EXISTING }), requesterAddress)
        .setCallTimeout(this.deps.callTimeoutMs)
        .invoke();
      await this.resyncReplicas(p, new Set());
    } finally {
      excluded.delete(requester);
      if (excluded.size === 0) this.restoring.delete(p);
    }
  }

  /** Re-copies every backup replica of `p` (except `skip`) from the owner; returns how many. */
  private async resyncReplicas(p: number, skip: ReadonlySet<string>): Promise<number> {
    const row = this.deps.partitions.table.row(p);
    const targets = row.slice(1).filter((u): u is string => u !== null && !skip.has(u));
    await Promise.all(
      targets.map((uuid) => {
        const address = this.deps.partitions.addressOf(uuid);
        if (address === null) return Promise.resolve();
        return this.deps.operations
          .createInvocationBuilderOnMember(INTERNAL_SERVICE, new NamedResyncOp({ slot: p, timeoutMs: this.deps.callTimeoutMs }), address)
          .setCallTimeout(this.deps.callTimeoutMs)
          .invoke();
      }),
    );
    return targets.length;
  }

  async masterMigrate(payload: Record<string, unknown>): Promise<MigrationReport> {
    this.requireMaster();
    const req = parseDefinitionRequest(payload);
    const overrides = parseOverrides(rec(payload, 'overrides'));
    const requesterUuid = str(payload, 'requesterUuid', 64);
    const def = this.defs.get(req.name);
    if (def === undefined || def.localOnly) throw new PartitionNotFoundError(`no partition named '${req.name}' is defined`);
    const p = def.slot;
    const owner = this.deps.partitions.table.owner(p);
    if (!def.enabled || owner === null) throw new ResourceUnavailableError(`partition '${def.name}' is not active`);
    if (owner !== requesterUuid) {
      throw new NotActiveNodeError(`partition '${def.name}' can only be migrated on its active node '${this.nameOf(owner) ?? owner}'; '${this.nameOf(requesterUuid) ?? requesterUuid}' is not`);
    }
    if (this.overrides.has(p)) throw new ResourceUnavailableError(`partition '${def.name}' is already being migrated`);
    if (this.liveMemberByName(req.nodes[0].name) === null) throw this.unreachable(req.nodes[0].name);
    const effective: ResolvedPartitionProperties = { ...def.properties, ...overrides };
    const before = new Set(this.deps.partitions.table.row(p).filter((u): u is string => u !== null));
    this.deps.logger.info({ partition: def.name, from: describeNodes(def.nodes), to: describeNodes(req.nodes), properties: effective }, 'migrating named partition');
    def.nodes = req.nodes;
    def.failed = def.failed.filter((n) => !req.nodes.some((x) => x.name === n));
    def.revision++;
    this.overrides.set(p, effective);
    this.moveCounts.set(p, 0);
    try {
      this.publish();
      this.deps.partitions.maybeMigrate();
      await this.settled(p);
      const moves = this.moveCounts.get(p) ?? 0;
      // Force replication: re-copy every replica that stayed without receiving a copy.
      const copied = new Set([...this.deps.partitions.table.row(p)].filter((u): u is string => u !== null && !before.has(u)));
      const forcedResyncs = effective.forceReplication ? await this.resyncReplicas(p, copied) : 0;
      return { partitionName: def.name, moves, forcedResyncs, properties: effective };
    } finally {
      this.overrides.delete(p);
      this.moveCounts.delete(p);
    }
  }

  /** Master: the slot's row is its target and no move of it is running. */
  private isSettled(p: number): boolean {
    const target = this.targetRow(p);
    if (target === null || target.every((u) => u === null)) return !this.deps.partitions.isMigrating(p);
    const row = this.deps.partitions.table.row(p);
    for (let r = 0; r < REPLICA_COUNT_MAX; r++) if ((row[r] ?? null) !== (target[r] ?? null)) return false;
    return !this.deps.partitions.isMigrating(p);
  }

  private async settled(p: number): Promise<void> {
    const ok = await this.deps.partitions.waitUntil(() => this.stopped || this.isSettled(p) || !this.deps.cluster.isMaster(), this.deps.callTimeoutMs);
    if (this.stopped) throw notRunning();
    if (!this.deps.cluster.isMaster()) throw new IndeterminateOperationStateError('the master changed while the partition was being placed; ask again');
    if (!ok) throw new OperationTimeoutError(`partition '${this.defAt(p)?.name ?? p}' was not placed within ${this.deps.callTimeoutMs} ms`);
  }

  // --- member: API -------------------------------------------------------------------------------

  /** Sends a request to the master, asking again when the master changed under it. */
  private async callMaster<T>(make: () => InternalOperation): Promise<T> {
    const deadline = this.deps.runtime.clock.now() + this.deps.callTimeoutMs;
    for (;;) {
      if (this.stopped) throw notRunning();
      const master = this.deps.cluster.getMaster();
      const remaining = deadline - this.deps.runtime.clock.now();
      if (master === null || remaining <= 0) throw new OperationTimeoutError('no master answered a named-partition request in time');
      try {
        return await this.deps.operations.createInvocationBuilderOnMember(INTERNAL_SERVICE, make(), master.address).setCallTimeout(remaining).invoke<T>();
      } catch (error) {
        const retry = error instanceof WrongTargetError || error instanceof IndeterminateOperationStateError;
        if (!retry || this.deps.runtime.clock.now() >= deadline) throw error;
        await this.deps.partitions.waitUntil(() => this.stopped || this.deps.cluster.getMaster()?.uuid !== master.uuid, Math.min(1000, remaining));
      }
    }
  }

  /** Resolves once a member named `name` is in the cluster; ResourceUnavailableError after `timeoutMs`. */
  private waitForNode(name: string, timeoutMs: number): Promise<void> {
    if (this.stopped) return Promise.reject(notRunning());
    if (this.liveMemberByName(name) !== null) return Promise.resolve();
    if (timeoutMs <= 0) return Promise.reject(this.unreachable(name));
    return new Promise<void>((resolve, reject) => {
      const cluster = this.deps.cluster;
      const end = (error: Error | null): void => {
        cluster.removeMembershipListener(id);
        this.deps.runtime.timers.clear(timer);
        this.nodeWaits.delete(end);
        if (error === null) resolve();
        else reject(error);
      };
      const id = cluster.addMembershipListener({
        memberAdded: (event) => {
          if (event.member.name === name) end(null);
        },
      });
      const timer = this.deps.runtime.timers.after(timeoutMs, () => end(this.unreachable(name)));
      this.nodeWaits.add(end);
    });
  }

  async define(name: string, properties: PartitionProperties | null, activeNode: string, replicas: readonly ReplicaNode[] | null): Promise<Partition> {
    checkName(name);
    const props = resolveProperties(properties, 'properties');
    const nodes = nodeList(activeNode, replicas);
    await this.waitForNode(activeNode, this.deps.nodeActiveTimeoutMs);
    const reply = await this.callMaster<Record<string, unknown>>(() => new NamedDefineOp({ name, nodes: nodes.map(nodeToWire), properties: propsToWire(props) }));
    const slot = int(reply, 'slot', this.from, this.from + this.deps.slotCount - 1);
    const revision = int(reply, 'revision', 0);
    this.localDefs.set(name, { name, slot, nodes, properties: props, basedOn: revision });
    this.notifyListeners();
    return this.view(name);
  }

  async enableAll(action: EnableAction): Promise<void> {
    parseAction(action);
    for (const name of [...this.localDefs.keys()]) await this.enable(name, action);
  }

  async enable(name: string, action: EnableAction): Promise<void> {
    parseAction(action);
    let local = this.localDefs.get(name);
    if (local === undefined) {
      const def = this.defs.get(name);
      if (def === undefined || def.localOnly) throw new PartitionNotFoundError(`no partition named '${name}' is defined`);
      local = { name, slot: def.slot, nodes: def.nodes.slice(), properties: def.properties, basedOn: def.revision };
      this.localDefs.set(name, local);
    }
    const p = local.slot;
    const request = (hadLocalData: boolean): Record<string, unknown> => ({
      name,
      nodes: local.nodes.map(nodeToWire),
      properties: propsToWire(local.properties),
      action,
      requesterUuid: this.deps.localUuid,
      hadLocalData,
    });
    const holdsReplica = this.deps.partitions.table.replicaIndexOf(p, this.deps.localUuid) >= 0;
    const hadRetained = await this.takeRetained(name, p);
    if (!local.properties.broadcastDefinitionUpdates) {
      if (local.nodes[0].name !== this.localName()) {
        throw new RangeError(`partition '${name}' has broadcast definition updates off, so it can only be enabled on its active node '${local.nodes[0].name}' (this member is '${this.localName()}')`);
      }
      if (action === EnableAction.JOIN_CLUSTER_PURGE && !this.overlays.has(p)) await this.deps.partitions.clearLocalSlot(p);
      // Serve it locally before the master drops this member from the row, so the copy it holds stays.
      this.overlays.add(p);
      this.deps.partitions.notifyProgress();
      try {
        await this.callMaster(() => new NamedEnableOp(request(false)));
      } catch (error) {
        this.overlays.delete(p);
        throw error;
      }
      this.deps.logger.warn({ partition: name }, 'named partition served by this member alone (broadcast definition updates off): a simulated multi-master');
      this.notifyListeners();
      return;
    }
    const hadOverlay = this.overlays.delete(p);
    if (hadOverlay) this.notifyListeners();
    const hadLocal = hadOverlay || hadRetained;
    if (action === EnableAction.JOIN_CLUSTER_PURGE && (hadLocal || !holdsReplica)) await this.deps.partitions.clearLocalSlot(p);
    const merging = hadLocal && action !== EnableAction.JOIN_CLUSTER_PURGE;
    try {
      await this.callMaster(() => new NamedEnableOp(request(merging)));
    } catch (error) {
      // Not restored (ObjectNotUniqueError, a timeout): the copy stays aside for another try.
      if (merging && this.deps.partitions.table.replicaIndexOf(p, this.deps.localUuid) < 0) this.retained.set(p, name);
      throw error;
    }
  }

  async migrate(name: string, properties: PartitionProperties | null, activeNode: string, replicas: readonly ReplicaNode[] | null): Promise<MigrationReport> {
    const def = this.defs.get(name);
    if (def === undefined || def.localOnly) throw new PartitionNotFoundError(`no partition named '${name}' is defined`);
    // Whether this member is the active node is decided by the master (its table is the
    // authority; this member's copy may still be on its way after a migration or failover).
    const overrides = properties === null ? {} : partialProperties(properties);
    if (overrides.broadcastDefinitionUpdates === false) {
      throw new RangeError('broadcast definition updates cannot be turned off for a migration; define and enable the partition with it off to simulate a multi-master scenario');
    }
    const nodes = nodeList(activeNode, replicas);
    await this.waitForNode(activeNode, this.deps.nodeActiveTimeoutMs);
    const report = await this.callMaster<Record<string, unknown>>(
      () => new NamedMigrateOp({ name, nodes: nodes.map(nodeToWire), properties: propsToWire(def.properties), overrides: propsToWire({ ...def.properties, ...overrides }), requesterUuid: this.deps.localUuid }),
    );
    const local = this.localDefs.get(name);
    if (local !== undefined) local.nodes = nodes;
    return parseReport(report);
  }

  setMapper<T>(type: ClassOf<T>, mapper: PartitionMapper<T>): void {
    if (typeof type !== 'function' || typeof type.prototype !== 'object' || type.prototype === null) throw new TypeError('setMapper: type must be a class');
    if (mapper === null || typeof mapper !== 'object' || typeof mapper.getPartition !== 'function') throw new TypeError('setMapper: mapper must have a getPartition(obj) method');
    this.mappers.set(type.prototype as object, mapper as PartitionMapper<never>);
  }

  removeMapper(type: ClassOf<unknown>): boolean {
    return typeof type === 'function' && this.mappers.delete(type.prototype as object);
  }

  /** The partition an object maps to, by its mapper. */
  objectPartition(obj: unknown): Partition {
    const mapper = obj === null || obj === undefined ? null : this.mapperFor(obj);
    if (mapper === null) throw new PartitionNotFoundError(`no partition mapper is installed for ${describeValue(obj)}`);
    const name = (mapper as PartitionMapper<unknown>).getPartition(obj);
    if (name === null || name === undefined) throw new PartitionNotFoundError(`the mapper places ${describeValue(obj)} in no named partition (it is hashed)`);
    return this.view(name);
  }

  view(name: string): Partition {
    if (typeof name !== 'string') throw new TypeError('a partition name must be a string');
    if (!this.knows(name)) throw new PartitionNotFoundError(`no partition named '${name}' is defined`);
    return new PartitionView(this, name);
  }

  knows(name: string): boolean {
    const def = this.defs.get(name);
    return (def !== undefined && !def.localOnly) || this.localDefs.has(name);
  }

  views(): Partition[] {
    const names = new Set<string>();
    for (const def of this.defs.values()) if (!def.localOnly) names.add(def.name);
    for (const name of this.localDefs.keys()) names.add(name);
    return [...names].sort().map((n) => new PartitionView(this, n));
  }

  addListener(listener: PartitionListener): string {
    const id = this.deps.runtime.random.uuid();
    this.listeners.set(id, listener);
    return id;
  }

  removeListener(id: string): boolean {
    return this.listeners.delete(id);
  }

  // --- member: what a partition looks like from here -------------------------------------------------

  /** The definition this member goes by: the published one, unless it serves the partition on its own. */
  private effective(name: string): { slot: number; nodes: readonly NodeSpec[]; properties: ResolvedPartitionProperties; enabled: boolean; failed: readonly string[]; localOnly: boolean } {
    const local = this.localDefs.get(name);
    if (local !== undefined && this.overlays.has(local.slot)) return { slot: local.slot, nodes: local.nodes, properties: local.properties, enabled: true, failed: [], localOnly: true };
    const def = this.defs.get(name);
    if (def !== undefined && !def.localOnly) return def;
    if (local !== undefined) return { slot: local.slot, nodes: local.nodes, properties: local.properties, enabled: false, failed: [], localOnly: false };
    throw new PartitionNotFoundError(`no partition named '${name}' is defined`);
  }

  slotOf(name: string): number {
    return this.effective(name).slot;
  }

  activeNode(name: string): string {
    const e = this.effective(name);
    if (e.localOnly) return this.localName();
    const owner = this.deps.partitions.table.owner(e.slot);
    if (owner !== null && this.isAlive(owner)) return this.nameOf(owner) ?? e.nodes[0].name;
    return e.nodes[0].name;
  }

  replicaNodes(name: string): ReplicaNode[] {
    const e = this.effective(name);
    const active = this.activeNode(name);
    return e.nodes
      .slice(1)
      .filter((n) => n.name !== active)
      .map((n) => new ReplicaNode(n.name, n.type));
  }

  properties(name: string): ResolvedPartitionProperties {
    return { ...this.effective(name).properties };
  }

  isLocalOnly(name: string): boolean {
    return this.effective(name).localOnly;
  }

  /**
   * Members of the partition's node list kept out of its row until they enable it again (they
   * died, left, or a restore of theirs failed), as this member's registry says.
   */
  keptOut(name: string): readonly string[] {
    return this.effective(name).failed.slice();
  }

  state(name: string): PartitionState {
    const e = this.effective(name);
    if (e.localOnly) return 'ACTIVE';
    if (!e.enabled) return 'INITIAL';
    const row = this.deps.partitions.table.row(e.slot);
    const liveRow = row.filter((u): u is string => u !== null && this.isAlive(u));
    const candidates = e.nodes.filter((n) => !e.failed.includes(n.name)).map((n) => this.liveMemberByName(n.name)).filter((m) => m !== null);
    if (liveRow.length === 0) return candidates.length === 0 ? 'UNAVAILABLE' : 'MIGRATING';
    if (row[0] === null || !this.isAlive(row[0])) return 'MIGRATING';
    const wanted = candidates.map((m) => m.uuid);
    const current = row.filter((u): u is string => u !== null);
    if (wanted.length !== current.length || wanted.some((u, i) => current[i] !== u)) return 'MIGRATING';
    return 'ACTIVE';
  }

  private notifyListeners(): void {
    if (this.listeners.size === 0) {
      this.signatures.clear();
      return;
    }
    for (const name of new Set([...this.defs.keys(), ...this.localDefs.keys()])) {
      if (!this.knows(name)) continue;
      const e = this.effective(name);
      const signature = `${this.state(name)}|${this.activeNode(name)}|${describeNodes(e.nodes)}|${e.failed.join(',')}`;
      if (this.signatures.get(name) === signature) continue;
      this.signatures.set(name, signature);
      const view = new PartitionView(this, name);
      for (const listener of this.listeners.values()) {
        try {
          listener(view);
        } catch (error) {
          this.deps.logger.error({ err: error }, 'partition listener threw');
        }
      }
    }
  }
}

// --- the public objects ---------------------------------------------------------------------------

class PartitionView implements Partition {
  constructor(
    private readonly service: NamedPartitionService,
    private readonly name: string,
  ) {}
  getName(): string {
    return this.name;
  }
  getPartitionId(): number {
    return this.service.slotOf(this.name);
  }
  getActiveNode(): string {
    return this.service.activeNode(this.name);
  }
  getReplicaNodes(): ReplicaNode[] {
    return this.service.replicaNodes(this.name);
  }
  getProperties(): ResolvedPartitionProperties {
    return this.service.properties(this.name);
  }
  getState(): PartitionState {
    return this.service.state(this.name);
  }
  isLocalOnly(): boolean {
    return this.service.isLocalOnly(this.name);
  }
  enable(action: EnableAction): Promise<void> {
    return this.service.enable(this.name, action);
  }
  migrate(properties: PartitionProperties | null, activeNode: string, replicas: readonly ReplicaNode[] | null): Promise<MigrationReport> {
    return this.service.migrate(this.name, properties, activeNode, replicas);
  }
  toString(): string {
    return `Partition{name=${this.name}, active=${this.getActiveNode()}, replicas=[${this.getReplicaNodes().join(', ')}], state=${this.getState()}}`;
  }
}

export class PartitionManagerImpl implements PartitionManager {
  constructor(private readonly service: NamedPartitionService) {}
  setMapper<T>(type: ClassOf<T>, mapper: PartitionMapper<T>): void {
    this.service.setMapper(type, mapper);
  }
  removeMapper(type: ClassOf<unknown>): boolean {
    return this.service.removeMapper(type);
  }
  definePartition(name: string, properties: PartitionProperties | null, activeNode: string, replicas: readonly ReplicaNode[] | null): Promise<Partition> {
    return this.service.define(name, properties, activeNode, replicas);
  }
  enablePartitions(action: EnableAction): Promise<void> {
    return this.service.enableAll(action);
  }
  getPartition(name: string): Partition {
    return this.service.view(name);
  }
  getObjectPartition(obj: unknown): Partition {
    return this.service.objectPartition(obj);
  }
  getPartitions(): Partition[] {
    return this.service.views();
  }
  addPartitionListener(listener: PartitionListener): string {
    if (typeof listener !== 'function') throw new TypeError('a partition listener must be a function');
    return this.service.addListener(listener);
  }
  removePartitionListener(id: string): boolean {
    return this.service.removeListener(id);
  }
}

// --- validation and wire forms ----------------------------------------------------------------------

interface DefinitionRequest {
  readonly name: string;
  readonly nodes: NodeSpec[];
  readonly properties: ResolvedPartitionProperties;
}

function checkName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0 || name.length > LIMITS.nameLengthMax || hasControlCharacters(name)) {
    throw new RangeError(`a partition name must be a string of 1..${LIMITS.nameLengthMax} characters without control characters, got ${describeValue(name)}`);
  }
}

function checkMemberName(name: unknown, what: string): asserts name is string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 128) throw new RangeError(`${what} must be a member name (1..128 characters), got ${describeValue(name)}`);
}

function nodeList(activeNode: string, replicas: readonly ReplicaNode[] | null): NodeSpec[] {
  checkMemberName(activeNode, 'the active node');
  const list = replicas ?? [];
  if (!Array.isArray(list)) throw new TypeError('replicas must be an array of ReplicaNode (or null)');
  if (list.length > LIMITS.replicaNodesMax) throw new RangeError(`at most ${LIMITS.replicaNodesMax} replica nodes are allowed, got ${list.length}`);
  const nodes: NodeSpec[] = [{ name: activeNode, type: ReplicationType.SYNCHRONOUS }];
  for (const r of list as readonly unknown[]) {
    if (!isRecord(r) && !(r instanceof ReplicaNode)) throw new TypeError(`a replica must be a ReplicaNode, got ${describeValue(r)}`);
    const node = r as Partial<ReplicaNode>;
    checkMemberName(node.memberName, 'a replica node');
    const type = node.replicationType ?? ReplicationType.SYNCHRONOUS;
    if (type !== ReplicationType.SYNCHRONOUS && type !== ReplicationType.ASYNCHRONOUS) throw new RangeError(`replication type must be SYNCHRONOUS or ASYNCHRONOUS, got ${describeValue(type)}`);
    if (nodes.some((n) => n.name === node.memberName)) throw new RangeError(`node '${node.memberName}' appears twice in the node list`);
    nodes.push({ name: node.memberName, type });
  }
  return nodes;
}

/** Checks the given properties; returns only the ones set. */
function partialProperties(props: PartitionProperties): Partial<ResolvedPartitionProperties> {
  if (!isRecord(props)) throw new TypeError(`partition properties must be an object or null, got ${describeValue(props)}`);
  const known = new Set(Object.keys(PARTITION_PROPERTY_DEFAULTS));
  for (const key of Object.keys(props)) if (!known.has(key)) throw new RangeError(`unknown partition property '${key}' (known: ${[...known].join(', ')})`);
  const out: { -readonly [K in keyof ResolvedPartitionProperties]?: ResolvedPartitionProperties[K] } = {};
  const boolProp = (key: 'broadcastDefinitionUpdates' | 'forceReplication' | 'sparsePartitionAudit'): void => {
    const v = props[key];
    if (v === undefined) return;
    if (typeof v !== 'boolean') throw new RangeError(`partition property ${key} must be true or false, got ${describeValue(v)}`);
    out[key] = v;
  };
  boolProp('broadcastDefinitionUpdates');
  boolProp('forceReplication');
  boolProp('sparsePartitionAudit');
  const intProp = (key: 'numberOfThreads' | 'objectsLockedPerTransaction', min: number, max: number): void => {
    const v = props[key];
    if (v === undefined) return;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new RangeError(`partition property ${key} must be an integer in ${min}..${max}, got ${describeValue(v)}`);
    out[key] = v;
  };
  intProp('numberOfThreads', 1, LIMITS.numberOfThreadsMax);
  intProp('objectsLockedPerTransaction', 0, LIMITS.objectsLockedPerTransactionMax);
  if (props.restoreFromNode !== undefined) {
    checkMemberName(props.restoreFromNode, 'partition property restoreFromNode');
    out.restoreFromNode = props.restoreFromNode;
  }
  return out;
}

function resolveProperties(props: PartitionProperties | null, _what: string): ResolvedPartitionProperties {
  return { ...PARTITION_PROPERTY_DEFAULTS, ...(props === null || props === undefined ? {} : partialProperties(props)) };
}

function parseAction(action: unknown): EnableAction {
  if (action === EnableAction.JOIN_CLUSTER || action === EnableAction.JOIN_CLUSTER_PURGE || action === EnableAction.JOIN_CLUSTER_RESTORE) return action;
  throw new RangeError(`enable action must be JOIN_CLUSTER, JOIN_CLUSTER_PURGE or JOIN_CLUSTER_RESTORE, got ${describeValue(action)}`);
}

function nodeToWire(n: NodeSpec): Record<string, unknown> {
  return { name: n.name, type: n.type };
}

function nodeFromWire(v: unknown): NodeSpec {
  if (!isRecord(v)) throw new MalformedMessageError('node must be an object');
  const type = str(v, 'type', 32);
  if (type !== String(ReplicationType.SYNCHRONOUS) && type !== String(ReplicationType.ASYNCHRONOUS)) throw new MalformedMessageError(`bad replication type '${type}'`);
  return { name: str(v, 'name', 128), type: type as ReplicationType };
}

function propsToWire(p: ResolvedPartitionProperties): Record<string, unknown> {
  return { ...p };
}

function propsFromWire(o: Record<string, unknown>): ResolvedPartitionProperties {
  const restore = o.restoreFromNode;
  if (restore !== null && typeof restore !== 'string') throw new MalformedMessageError('restoreFromNode must be a string or null');
  return {
    broadcastDefinitionUpdates: bool(o, 'broadcastDefinitionUpdates'),
    forceReplication: bool(o, 'forceReplication'),
    numberOfThreads: int(o, 'numberOfThreads', 1, LIMITS.numberOfThreadsMax),
    objectsLockedPerTransaction: int(o, 'objectsLockedPerTransaction', 0, LIMITS.objectsLockedPerTransactionMax),
    restoreFromNode: restore,
    sparsePartitionAudit: bool(o, 'sparsePartitionAudit'),
  };
}

function parseOverrides(o: Record<string, unknown>): ResolvedPartitionProperties {
  return propsFromWire(o);
}

function parseDefinitionRequest(o: Record<string, unknown>): DefinitionRequest {
  const nodes = arr(o, 'nodes', LIMITS.replicaNodesMax + 1).map(nodeFromWire);
  if (nodes.length === 0) throw new MalformedMessageError('a node list needs an active node');
  return { name: str(o, 'name', LIMITS.nameLengthMax), nodes, properties: propsFromWire(rec(o, 'properties')) };
}

function defToWire(d: NamedDefinition): Record<string, unknown> {
  return {
    name: d.name,
    slot: d.slot,
    properties: propsToWire(d.properties),
    nodes: d.nodes.map(nodeToWire),
    original: d.original.map(nodeToWire),
    enabled: d.enabled,
    failed: d.failed.slice(),
    localOnly: d.localOnly,
    revision: d.revision,
  };
}

function defFromWire(v: unknown, from: number, slotCount: number): NamedDefinition {
  if (!isRecord(v)) throw new MalformedMessageError('definition must be an object');
  return {
    name: str(v, 'name', LIMITS.nameLengthMax),
    slot: int(v, 'slot', from, from + slotCount - 1),
    properties: propsFromWire(rec(v, 'properties')),
    nodes: arr(v, 'nodes', LIMITS.replicaNodesMax + 1).map(nodeFromWire),
    original: arr(v, 'original', LIMITS.replicaNodesMax + 1).map(nodeFromWire),
    enabled: bool(v, 'enabled'),
    failed: arr(v, 'failed', 1000).map((n) => (typeof n === 'string' ? n : '')),
    localOnly: bool(v, 'localOnly'),
    revision: int(v, 'revision', 0),
  };
}

function parseReport(o: Record<string, unknown>): MigrationReport {
  return {
    partitionName: str(o, 'partitionName', LIMITS.nameLengthMax),
    moves: int(o, 'moves', 0),
    forcedResyncs: int(o, 'forcedResyncs', 0),
    properties: propsFromWire(rec(o, 'properties')),
  };
}

function sameNodeList(a: readonly NodeSpec[], b: readonly NodeSpec[]): boolean {
  return a.length === b.length && a.every((n, i) => n.name === b[i].name && (i === 0 || n.type === b[i].type));
}

function sameProperties(a: ResolvedPartitionProperties, b: ResolvedPartitionProperties): boolean {
  return (Object.keys(PARTITION_PROPERTY_DEFAULTS) as (keyof ResolvedPartitionProperties)[]).every((k) => a[k] === b[k]);
}

function describeNodes(nodes: readonly NodeSpec[]): string {
  return `[${nodes.map((n, i) => (i === 0 ? n.name : `${n.name}:${n.type === ReplicationType.SYNCHRONOUS ? 'sync' : 'async'}`)).join(', ')}]`;
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'object') {
    const ctor = (Object.getPrototypeOf(v) as { constructor?: { name?: unknown } } | null)?.constructor;
    return typeof ctor?.name === 'string' && ctor.name !== '' ? `a ${ctor.name}` : 'an object';
  }
  return String(v as number | boolean | bigint);
}
