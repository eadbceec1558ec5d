/**
 * Named partitions in a simulated run: what an ActiveSpaces application does on every node, and
 * what the checkers need to know about failovers.
 *
 * The application:
 * - every member incarnation installs the partition mapper (counter name → partition name; the
 *   counters not mapped are hashed) before it issues a call;
 * - once the initial members joined, one member defines every partition (active node and ordered
 *   synchronous/asynchronous replicas, by member name) and enables them with JOIN_CLUSTER;
 * - a node of a partition's list that the partition keeps out (its previous incarnation crashed or
 *   left, or it was dropped from the cluster and rejoined) enables the partition again, with
 *   JOIN_CLUSTER or JOIN_CLUSTER_PURGE (its memory is empty either way), as a restored node does;
 *   a failed enable is tried again a little later.
 *
 * Members are named `m<slot>` in every incarnation (a restarted node keeps its name), so a
 * definition outlives crashes.
 *
 * Failovers: when a member becomes a named partition's owner from a backup because the owner is
 * gone, and that member is an asynchronous replica in the partition's definition, the increments
 * the old owner held and the new one lacks were still queued to it: the spec lets them be lost
 * ("asynchronous replicas: creates, updates and deletes still queued are lost"). They are kept per
 * counter (by call tag, exact: the counter service tracks which calls each value holds) and are the
 * only losses the counter check excuses. The same gap after a failover to a synchronous replica is
 * not excused (and should only hold calls that were never acknowledged).
 */
import { EnableAction, PartitionMapper, ReplicaNode, ReplicationType } from '../engine/named-partitions-api.js';
import type { Node } from '../engine/node.js';
import type { AsyncLossAllowance } from './checkers/counter-within-acked-range.js';
import type { Violation } from './checkers/types.js';
import { SIM_COUNTER_SERVICE, type SimCounterService } from './counter-service.js';
import type { NamedPartitionSpec, NamedSetup } from './options.js';
import type { Prng } from './prng.js';
import { describeError, type SimMember, type Simulation } from './simulation.js';
import type { CounterHistory } from './workload.js';

/** What happened to named partitions in one run (the measurement). */
export interface NamedStats {
  /** Failovers onto an asynchronous replica (owner gone, an async replica promoted). */
  asyncFailovers: number;
  /** Failovers onto a synchronous replica. */
  syncFailovers: number;
  /** Increments the promoted asynchronous replicas lacked (acknowledged or not). */
  asyncGap: number;
  /** Of those, acknowledged ones: what the spec allows to be lost. */
  asyncGapAcked: number;
  /** Acknowledged increments that are not in the final value (all of them excused, or a violation). */
  lostAcked: number;
  /** Enables by returning nodes (restarts and rejoins), and how many of them failed (and were retried). */
  enables: number;
  enableFailures: number;
}

export function emptyNamedStats(): NamedStats {
  return { asyncFailovers: 0, syncFailovers: 0, asyncGap: 0, asyncGapAcked: 0, lostAcked: 0, enables: 0, enableFailures: 0 };
}

/** Mapper: counters listed go to their named partition, the rest are hashed. */
class CounterMapper extends PartitionMapper<string> {
  constructor(private readonly counters: Readonly<Record<string, string>>) {
    super();
  }
  getPartition(key: string): string | null {
    return Object.hasOwn(this.counters, key) ? this.counters[key] : null;
  }
}

const ENABLE_RETRY_MS = 1000;
const SETUP_ATTEMPTS = 5;

export class NamedApp {
  readonly stats: NamedStats = emptyNamedStats();
  /** Set once every partition is defined and enabled. */
  setupDone = false;
  private readonly mapper: CounterMapper;
  private readonly mapped = new WeakSet<Node>();
  /** Enables in flight or waiting to be retried, per incarnation and partition (`uuid/name`). */
  private readonly enabling = new Set<string>();
  private readonly servicesByUuid = new Map<string, SimCounterService>();
  /** Per named partition id: the last owner seen in the master's table, and the one before it. */
  private readonly lastOwner = new Map<number, string>();
  private readonly previousOwner = new Map<number, string>();
  /** Per counter: tags lost (or not) with failovers onto asynchronous replicas. */
  private readonly asyncGap = new Map<string, Set<number>>();
  private readonly specs: ReadonlyMap<string, NamedPartitionSpec>;

  constructor(
    private readonly sim: Simulation,
    private readonly setup: NamedSetup,
    private readonly history: CounterHistory,
    private readonly rng: Prng,
  ) {
    this.mapper = new CounterMapper(setup.counters);
    this.specs = new Map(setup.partitions.map((p) => [p.name, p]));
  }

  /** Member name of a slot (the simulation's `memberName`). */
  static memberName(slot: number): string {
    return `m${slot}`;
  }

  /** Hooks the app into the simulation; call before `sim.start()`. */
  install(): void {
    this.sim.afterEvery(() => this.step());
  }

  /** Wires a member incarnation's counter service (promotions); call from the service factory. */
  attach(service: SimCounterService): void {
    service.onPromoted = (p) => this.promoted(service, p);
  }

  // --- setup ------------------------------------------------------------------------------------

  /** One member defines and enables every partition. Resolves with an error text, or null when done. */
  async defineAll(): Promise<string | null> {
    const member = this.sim.members.find((m) => m.callable);
    if (member === undefined) return 'no member is up to define the named partitions';
    const pm = member.node.named.manager;
    const props = { objectsLockedPerTransaction: this.setup.objectsLockedPerTransaction, numberOfThreads: this.setup.numberOfThreads };
    // A request to the master can time out (its answer lost with a broken connection; enabling
    // waits for the copies, which the fault sites' held migration steps slow down). Defining and
    // enabling again are harmless: the same definition, the same placement.
    const retried = async (what: string, step: () => Promise<unknown>): Promise<string | null> => {
      for (let attempt = 1; ; attempt++) {
        try {
          await step();
          return null;
        } catch (error) {
          this.sim.record(`named: ${what} failed (attempt ${attempt}): ${describeError(error)}`);
          if (attempt >= SETUP_ATTEMPTS || !member.callable) return `${member.name} could not ${what}: ${describeError(error)}`;
        }
      }
    };
    for (const spec of this.setup.partitions) {
      const replicas = spec.replicas.map((r) => new ReplicaNode(NamedApp.memberName(r.slot), r.sync ? ReplicationType.SYNCHRONOUS : ReplicationType.ASYNCHRONOUS));
      const error = await retried(`define ${spec.name}`, () => pm.definePartition(spec.name, props, NamedApp.memberName(spec.active), replicas));
      if (error !== null) return error;
    }
    const error = await retried('enable the named partitions', () => pm.enablePartitions(EnableAction.JOIN_CLUSTER));
    if (error !== null) return error;
    this.setupDone = true;
    this.sim.record(`named: ${member.name} defined and enabled ${this.setup.partitions.map((p) => p.name).join(',')}`);
    return null;
  }

  // --- after every event --------------------------------------------------------------------------

  private step(): void {
    for (const m of this.sim.members) {
      if (!m.alive || m.node === undefined) continue;
      const node = m.node;
      if (!this.servicesByUuid.has(node.uuid)) {
        const service = m.service<SimCounterService>(SIM_COUNTER_SERVICE);
        if (service !== undefined) this.servicesByUuid.set(node.uuid, service);
      }
      if (node.named !== undefined && !this.mapped.has(node)) {
        node.named.manager.setMapper(String, this.mapper);
        this.mapped.add(node);
      }
    }
    const master = this.sim.master();
    if (master === undefined || master.node.partitions === undefined) return;
    const table = master.node.partitions.table;
    for (let p = table.hashedCount; p < table.partitionCount; p++) {
      const owner = table.owner(p);
      const last = this.lastOwner.get(p);
      if (owner === null || owner === last) continue;
      if (last !== undefined) this.previousOwner.set(p, last);
      this.lastOwner.set(p, owner);
    }
    if (this.setupDone) this.enableReturningNodes(master);
  }

  /** Members of a partition's list that it keeps out (by the master's registry) enable it again. */
  private enableReturningNodes(master: SimMember): void {
    for (const m of this.sim.members) {
      if (!m.callable) continue;
      const name = NamedApp.memberName(m.slot);
      for (const spec of this.setup.partitions) {
        if (spec.active !== m.slot && !spec.replicas.some((r) => r.slot === m.slot)) continue;
        if (!master.node.named.knows(spec.name) || !master.node.named.keptOut(spec.name).includes(name)) continue;
        if (!m.node.named.knows(spec.name)) continue; // its registry has not arrived yet
        const key = `${m.node.uuid}/${spec.name}`;
        if (this.enabling.has(key)) continue;
        this.enabling.add(key);
        this.enable(m, spec.name, key);
      }
    }
  }

  private enable(m: SimMember, name: string, key: string): void {
    const node = m.node;
    const action = this.rng.chance(0.5) ? EnableAction.JOIN_CLUSTER : EnableAction.JOIN_CLUSTER_PURGE;
    this.stats.enables++;
    this.sim.record(`named: ${m.name} enables ${name} ${action}`);
    node.named.manager
      .getPartition(name)
      .enable(action)
      .then(
        () => {
          this.sim.record(`named: ${m.name} enabled ${name}`);
          this.enabling.delete(key);
        },
        (error: unknown) => {
          this.stats.enableFailures++;
          this.sim.record(`named: ${m.name} could not enable ${name}: ${describeError(error)}`);
          // Try again later (by then it may be kept out no more, or gone).
          this.sim.at(ENABLE_RETRY_MS, () => this.enabling.delete(key));
        },
      );
  }

  // --- failovers ----------------------------------------------------------------------------------

  /** `service`'s member became owner of `p` from a backup. */
  private promoted(service: SimCounterService, p: number): void {
    const newOwner = [...this.servicesByUuid].find(([, s]) => s === service)?.[0];
    if (newOwner === undefined) return;
    const last = this.lastOwner.get(p);
    const oldOwner = last !== undefined && last !== newOwner ? last : this.previousOwner.get(p);
    // A move from a live owner copies everything; only a promotion over a lost owner can lose.
    if (oldOwner === undefined || oldOwner === newOwner || !this.sim.deadUuids.has(oldOwner)) return;
    const spec = this.specOf(p);
    const member = this.sim.memberByUuid(newOwner);
    if (spec === undefined || member === undefined) return;
    const replica = spec.replicas.find((r) => r.slot === member.slot);
    const async = replica !== undefined && !replica.sync;
    const before = this.servicesByUuid.get(oldOwner);
    let gap = 0;
    if (before !== undefined && service.trackTags) {
      for (const [counter, tags] of before.tags[p] ?? []) {
        const have = service.tagsOf(p, counter);
        const missing = [...tags].filter((t) => !have.has(t));
        if (missing.length === 0) continue;
        gap += missing.length;
        if (!async) continue;
        let set = this.asyncGap.get(counter);
        if (set === undefined) this.asyncGap.set(counter, (set = new Set<number>()));
        for (const t of missing) set.add(t);
        this.history.rolledBack(counter, service.value(p, counter));
      }
    }
    if (async) {
      this.stats.asyncFailovers++;
      this.stats.asyncGap += gap;
    } else {
      this.stats.syncFailovers++;
    }
    this.sim.record(`named: ${spec.name} (p${p}) failed over from ${this.sim.nameOf(oldOwner)} to ${member.name} (${async ? 'asynchronous' : 'synchronous'} replica), lacking ${gap} increment(s)`);
  }

  private specOf(p: number): NamedPartitionSpec | undefined {
    const master = this.sim.master() ?? this.sim.members.find((m) => m.alive && m.node?.named !== undefined);
    if (master === undefined) return undefined;
    for (const spec of this.setup.partitions) {
      if (master.node.named.knows(spec.name) && master.node.named.slotOf(spec.name) === p) return spec;
    }
    return undefined;
  }

  // --- the nemesis and convergence ----------------------------------------------------------------

  /**
   * Whether `victim` may be lost now: every named partition whose row holds it keeps another live
   * member in its row (one holding the data, up to what an asynchronous replica may lack).
   */
  canLose(victim: SimMember): boolean {
    const master = this.sim.master();
    if (master === undefined || victim.node === undefined) return false;
    const table = master.node.partitions.table;
    for (let p = table.hashedCount; p < table.partitionCount; p++) {
      const row = table.row(p);
      if (!row.includes(victim.node.uuid)) continue;
      // A member already leaving does not count: it stays in the row only until it is gone.
      const others = row.filter((u) => u !== null && u !== victim.node.uuid && this.sim.memberByUuid(u)?.status === 'up' && !this.sim.deadUuids.has(u));
      if (others.length === 0) return false;
    }
    // A copy still moving to the victim is not in the row yet: the row's members hold the data.
    return true;
  }

  /** What keeps named partitions from having settled (empty when they have). */
  unfinished(): string[] {
    const out: string[] = [];
    if (!this.setupDone) return out;
    if (this.enabling.size > 0) out.push(`named: ${this.enabling.size} enable(s) in flight or waiting to be retried`);
    const master = this.sim.master();
    if (master === undefined) return out;
    const named = master.node.named;
    for (const spec of this.setup.partitions) {
      if (!named.knows(spec.name)) {
        out.push(`named: the master does not know partition ${spec.name}`);
        continue;
      }
      const state = named.state(spec.name);
      if (state !== 'ACTIVE') out.push(`named: partition ${spec.name} is ${state} on the master`);
      const keptOut = named.keptOut(spec.name);
      for (const m of this.sim.up()) {
        const name = NamedApp.memberName(m.slot);
        if (keptOut.includes(name) && (spec.active === m.slot || spec.replicas.some((r) => r.slot === m.slot))) out.push(`named: ${m.name} has not enabled ${spec.name} again`);
      }
    }
    return out;
  }

  // --- end of run -------------------------------------------------------------------------------------

  /** What each counter may have lost to failovers onto asynchronous replicas. */
  allowance(): Map<string, AsyncLossAllowance> {
    const ok = this.okTags();
    const out = new Map<string, AsyncLossAllowance>();
    for (const [counter, tags] of this.asyncGap) {
      let acked = 0;
      for (const t of tags) if (ok.get(counter)?.has(t) === true) acked++;
      out.set(counter, { acked, total: tags.size });
      this.stats.asyncGapAcked += acked;
    }
    return out;
  }

  /**
   * The exact check, by call tag, on each counter's final owner: every acknowledged increment is
   * in its value unless a failover onto an asynchronous replica lost it; no increment that failed
   * before it was sent is; and the value is the number of increments it holds.
   */
  checkTags(finalOwner: (counter: string) => { service: SimCounterService; partitionId: number } | null): Violation[] {
    const out: Violation[] = [];
    const ok = this.okTags();
    const failed = new Map<string, Set<number>>();
    for (const c of this.history.calls) {
      if (c.outcome !== 'failed') continue;
      let set = failed.get(c.counter);
      if (set === undefined) failed.set(c.counter, (set = new Set<number>()));
      set.add(c.id);
    }
    const counters = new Set([...ok.keys(), ...failed.keys()]);
    for (const counter of [...counters].sort()) {
      const owner = finalOwner(counter);
      if (owner === null || !owner.service.trackTags) continue;
      const held = owner.service.tagsOf(owner.partitionId, counter);
      const value = owner.service.value(owner.partitionId, counter);
      if (value !== held.size) out.push(v(`counter ${counter}: value ${value} on its owner, which holds ${held.size} increment(s) (applied twice, or a copy lost its calls)`));
      const lost = [...(ok.get(counter) ?? [])].filter((t) => !held.has(t));
      const excused = this.asyncGap.get(counter);
      const unexcused = lost.filter((t) => excused?.has(t) !== true);
      this.stats.lostAcked += lost.length;
      if (unexcused.length > 0) {
        out.push(v(`counter ${counter}: acknowledged call(s) ${unexcused.slice(0, 8).map((t) => `#${t}`).join(' ')}${unexcused.length > 8 ? ' …' : ''} lost (not queued to an asynchronous replica at a failover)`));
      }
      const applied = [...(failed.get(counter) ?? [])].filter((t) => held.has(t));
      if (applied.length > 0) out.push(v(`counter ${counter}: call(s) ${applied.slice(0, 8).map((t) => `#${t}`).join(' ')} failed before they were sent but were applied`));
    }
    return out;
  }

  private okTags(): Map<string, Set<number>> {
    const ok = new Map<string, Set<number>>();
    for (const c of this.history.calls) {
      if (c.outcome !== 'ok') continue;
      let set = ok.get(c.counter);
      if (set === undefined) ok.set(c.counter, (set = new Set<number>()));
      set.add(c.id);
    }
    return ok;
  }
}

function v(message: string): Violation {
  return { checker: 'counterWithinAckedRange', message };
}
