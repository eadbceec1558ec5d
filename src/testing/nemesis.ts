/**
 * The nemesis: decides, from the seed's fault stream, when to partition the network, crash,
 * restart, pause, add or remove members, within what Shoal claims to survive:
 *
 * - Silences (partitions and pauses) are shorter than the failure detector's timeout and never
 *   overlap, so no live member is declared dead by them (longer ones are the opt-in `split` and
 *   `long-pause` kinds).
 * - Members lost (crashes and leaves) since the cluster was last seen fully replicated (every
 *   partition on its owner and all its synchronous backups, nothing migrating or dirty) stay below
 *   the number of synchronous backups: an acknowledged write always survives on some replica.
 *   Until the cluster is first seen fully replicated, nobody is lost.
 * - Nobody starts while the network is partitioned, and no partition starts while someone joins:
 *   a joiner cut off from everyone for the join timeout founds a cluster of its own.
 * - With named partitions, `canLose` vetoes a crash or leave (a named partition must keep a live
 *   node holding its data; see named-app.ts).
 *
 * Each event is counted by kind and written to the trace.
 */
import { membershipAgrees } from './checkers/membership-agrees.js';
import type { FaultKind, SimOptions } from './options.js';
import type { Prng } from './prng.js';
import type { SimMember, Simulation } from './simulation.js';

const TICK_MS = 100;
const EVENT_KINDS: readonly FaultKind[] = ['partition', 'split', 'crash', 'pause', 'long-pause', 'join', 'leave'];

export class Nemesis {
  /** Crashes and leaves since the cluster was last seen fully replicated (none allowed before that). */
  lossesSinceSafe: number;
  private running = false;
  private partitioned = false;
  /** No new partition or pause before this time (lets heartbeats catch up after the last one). */
  private quietUntil = 0;
  private readonly restarts: { member: SimMember; at: number }[] = [];
  private readonly events: FaultKind[];
  private readonly silenceMaxMs: number;
  private readonly gapMs: number;
  /** Whether `victim` may be lost now (crash or leave), beside the backup budget. */
  canLose: (victim: SimMember) => boolean = () => true;

  constructor(
    private readonly sim: Simulation,
    private readonly options: SimOptions,
    private readonly rng: Prng,
  ) {
    this.events = EVENT_KINDS.filter((k) => options.faults.includes(k));
    this.lossesSinceSafe = Math.max(1, options.syncBackups);
    const c = options.cluster;
    this.gapMs = 2 * c.heartbeatIntervalMs + options.network.delayMaxMs + 100;
    this.silenceMaxMs = Math.max(100, c.maxNoHeartbeatMs - 2 * c.heartbeatIntervalMs - options.network.delayMaxMs - 200);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.sim.every(TICK_MS, () => {
      if (!this.running) return false;
      this.tick();
      return true;
    });
  }

  /** Stops injecting, heals the network, resumes paused members, restarts the ones due to restart. */
  healAll(): void {
    this.running = false;
    this.sim.stopInjecting();
    this.sim.heal();
    this.partitioned = false;
    for (const m of this.sim.alive()) if (m.paused) this.sim.resume(m);
    for (const r of this.restarts.splice(0)) if (!r.member.alive) this.restartMember(r.member);
  }

  private tick(): void {
    if (this.lossesSinceSafe > 0 && this.isSafe()) {
      this.lossesSinceSafe = 0;
      this.sim.record('nemesis: cluster fully replicated again');
    }
    if (!this.partitioned) {
      for (const r of [...this.restarts]) {
        if (r.at > this.sim.now) continue;
        this.restarts.splice(this.restarts.indexOf(r), 1);
        if (!r.member.alive) this.restartMember(r.member);
      }
    }
    const fire = this.rng.chance(TICK_MS / this.options.faultIntervalMs);
    const pick = this.rng.next();
    if (!fire || this.events.length === 0) return;
    this.inject(this.events[Math.floor(pick * this.events.length)], true);
  }

  /** Injects one event of `kind` if the fault model allows it now; returns whether it did. */
  inject(kind: FaultKind, followUps: boolean): boolean {
    switch (kind) {
      case 'partition':
        return this.partition(false);
      case 'split':
        return this.partition(true);
      case 'pause':
        return this.pause(false);
      case 'long-pause':
        return this.pause(true);
      case 'crash':
        return this.crash();
      case 'join':
        return this.join(followUps);
      case 'leave':
        return this.leave();
      default:
        return false;
    }
  }

  // --- the events -------------------------------------------------------------------------------

  private partition(long: boolean): boolean {
    const sim = this.sim;
    const members = sim.alive().filter((m) => m.node !== undefined);
    if (this.partitioned || sim.now < this.quietUntil || members.length < 2) return false;
    if (members.some((m) => m.status === 'starting' || m.paused)) return false;
    if (this.restarts.some((r) => r.at <= sim.now + 1)) return false;
    const c = this.options.cluster;
    const duration = long
      ? this.rng.real(c.maxNoHeartbeatMs + 2 * c.heartbeatIntervalMs, 3 * c.maxNoHeartbeatMs)
      : this.rng.real(100, this.silenceMaxMs);
    const shuffled = this.shuffle(members);
    const modes = long ? ['symmetric', 'isolate'] : members.length >= 4 ? ['symmetric', 'asymmetric', 'isolate', 'ring'] : ['symmetric', 'asymmetric', 'isolate'];
    const mode = this.rng.pick(modes);
    let detail: string;
    if (mode === 'isolate') {
      const [lonely, ...rest] = shuffled;
      sim.partition([[lonely], rest], duration);
      detail = `isolate ${lonely.name}`;
    } else if (mode === 'ring') {
      // Majorities ring: each member reaches its neighbours (a majority with itself), no two the same majority.
      const n = shuffled.length;
      const reach = Math.floor(n / 2);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          const d = Math.min((i - j + n) % n, (j - i + n) % n);
          if (i !== j && d > Math.floor(reach / 2) + (reach % 2)) sim.network.cut(shuffled[i].address, shuffled[j].address, sim.now + duration);
        }
      }
      detail = `ring ${shuffled.map((m) => m.name).join('-')}`;
    } else {
      const cut = 1 + this.rng.int(shuffled.length - 1);
      const a = shuffled.slice(0, cut);
      const b = shuffled.slice(cut);
      if (mode === 'symmetric') sim.partition([a, b], duration);
      else sim.cutOneWay(b, a, duration);
      detail = `${mode} ${a.map((m) => m.name).join(',')} | ${b.map((m) => m.name).join(',')}${mode === 'asymmetric' ? ' (second group cannot reach the first)' : ''}`;
    }
    this.partitioned = true;
    const kind = long ? 'split' : `partition.${mode}`;
    sim.faults.count(kind);
    sim.record(`nemesis ${kind} ${detail} for ${Math.round(duration)}ms`);
    sim.at(duration, () => {
      if (!this.partitioned) return; // healed already
      sim.heal();
      this.partitioned = false;
      this.quietUntil = sim.now + this.gapMs;
    });
    return true;
  }

  private pause(long: boolean): boolean {
    const sim = this.sim;
    if (this.partitioned || sim.now < this.quietUntil) return false;
    const alive = sim.alive().filter((m) => m.node !== undefined);
    if (alive.some((m) => m.paused)) return false;
    const candidates = alive.filter((m) => m.status === 'up' || m.status === 'leaving');
    if (candidates.length === 0) return false;
    const victim = this.rng.pick(candidates);
    const c = this.options.cluster;
    const duration = long ? this.rng.real(c.maxNoHeartbeatMs + 2 * c.heartbeatIntervalMs, 3 * c.maxNoHeartbeatMs) : this.rng.real(20, this.silenceMaxMs);
    sim.faults.count(long ? 'long-pause' : 'pause');
    sim.pause(victim, duration);
    this.quietUntil = sim.now + duration + this.gapMs;
    return true;
  }

  private crash(): boolean {
    const sim = this.sim;
    if (this.lossesSinceSafe >= this.options.syncBackups) return false;
    const alive = sim.alive().filter((m) => m.node !== undefined);
    if (alive.length < 2) return false;
    const victim = this.rng.pick(alive);
    if (!this.canLose(victim)) return false;
    sim.faults.count('crash');
    this.lossesSinceSafe++;
    sim.crash(victim);
    if (this.rng.chance(0.85)) {
      const at = sim.now + this.rng.real(50, 2 * this.options.cluster.maxNoHeartbeatMs);
      this.restarts.push({ member: victim, at });
    }
    return true;
  }

  private leave(): boolean {
    const sim = this.sim;
    if (this.lossesSinceSafe >= Math.max(1, this.options.syncBackups)) return false;
    const up = sim.up().filter((m) => !m.paused);
    if (up.length < 2 || sim.alive().length < 2) return false;
    const victim = this.rng.pick(up);
    if (!this.canLose(victim)) return false;
    sim.faults.count('leave');
    this.lossesSinceSafe++;
    sim.leave(victim);
    return true;
  }

  private join(followUps: boolean): boolean {
    const sim = this.sim;
    if (this.partitioned || sim.alive().length >= this.options.membersMax) return false;
    const pending = new Set(this.restarts.map((r) => r.member));
    const idle = sim.members.filter((m) => !m.alive && !pending.has(m));
    const reuse = idle.length > 0 && (sim.members.length >= this.options.membersMax + 3 || this.rng.chance(0.5));
    sim.faults.count('join');
    if (reuse) {
      const member = this.rng.pick(idle);
      sim.record(`nemesis join ${member.address} (new incarnation)`);
      sim.restart(member);
    } else {
      const member = sim.addMember(0);
      sim.record(`nemesis join new slot ${member.address}`);
    }
    if (followUps && this.rng.chance(0.5)) {
      // Another membership change while the migrations of this one run.
      const next = this.rng.pick((['join', 'leave', 'crash'] as const).filter((k) => this.options.faults.includes(k)));
      const delay = this.rng.real(20, 1500);
      sim.at(delay, () => {
        if (this.running && this.inject(next, false)) sim.faults.count(`${next}.mid-migration`);
      });
    }
    return true;
  }

  private restartMember(member: SimMember): void {
    this.sim.faults.count('restart');
    this.sim.record(`nemesis restart ${member.address}`);
    this.sim.restart(member);
  }

  /**
   * The cluster is back to full redundancy: everyone joined and agrees, nothing migrating, every
   * partition on its owner and all its synchronous backups, none of them dirty.
   */
  private isSafe(): boolean {
    const sim = this.sim;
    if (this.partitioned) return false;
    const alive = sim.alive();
    if (alive.some((m) => m.status !== 'up' || m.paused)) return false;
    const views = sim.views();
    if (views.length === 0 || membershipAgrees(views, sim.deadUuids).length > 0) return false;
    const sync = this.options.syncBackups;
    for (const v of views) {
      if (!v.clusterSafe) return false;
      const hashed = v.hashedPartitionCount ?? v.table.partitionCount;
      for (let p = 0; p < v.table.partitionCount; p++) {
        const row = v.table.replicas[p];
        if (p >= hashed) continue; // named partitions: their node lists decide (canLose)
        for (let r = 0; r <= sync; r++) if (row[r] === null) return false;
        const index = row.indexOf(v.uuid);
        if (index > 0 && index <= sync && v.replicaDirty(p)) return false;
      }
    }
    return true;
  }

  private shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.rng.int(i + 1);
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }
}
