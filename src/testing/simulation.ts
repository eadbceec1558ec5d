/**
 * A whole Shoal cluster in one process: real `Node`s (engine, services, codecs) over a simulated
 * network, on virtual time, driven one event at a time.
 *
 * The event loop: take the earliest timer (by virtual time, then by the order timers were armed),
 * run it, then let every promise continuation it caused run to completion before the next timer
 * (one macrotask turn: Node drains the whole microtask queue before it). Nothing in the engine
 * reads the wall clock or Math.random: time comes from the scheduler, randomness from streams
 * derived from the seed. So the same seed gives the same run, frame for frame, and the trace hash
 * says so.
 *
 * Members are addressed by slot (`SimMember`); a slot keeps its address across incarnations, so a
 * crashed member restarts as a new member (new uuid, empty memory) at the same address.
 */
import { pino, type Logger } from 'pino';
import { Address } from '../core/address.js';
import { resolveConfig } from '../config/load.js';
import type { LoggingLevel, ResolvedConfig } from '../config/types.js';
import { NO_BUGS, type DeliberateBugs } from '../engine/fault-sites.js';
import { Node } from '../engine/node.js';
import { MapService } from '../map/map-service.js';
import { MAP_SERVICE_NAME } from '../map/name.js';
import { OwnerLedger } from './checkers/single-owner-per-partition-version.js';
import type { MemberView, Violation } from './checkers/types.js';
import { membershipAgrees } from './checkers/membership-agrees.js';
import type { NodeEngine } from '../spi/node-engine.js';
import { Prng } from './prng.js';
import { CALM_NETWORK, InboundGate, SimNetwork, SimTransport, type NetworkFaultRates } from './sim-network.js';
import { NO_SITE_FAULTS, SimFaultSites, type SiteFaultRates } from './sim-sites.js';
import { FaultCounter, Trace, formatTime } from './trace.js';
import { Scheduler, SimProcess } from './virtual-time.js';

/** One service a simulated member runs. */
export interface ServiceSpec {
  readonly name: string;
  readonly instance: object;
  readonly properties?: Readonly<Record<string, string>>;
}

/** Builds the services of one member incarnation (fresh instances: a restart loses all memory). */
export type ServiceFactory = (member: { readonly slot: number; readonly incarnation: number }) => readonly ServiceSpec[];

/** The engine settings the simulator sets on every member. */
export interface ClusterSettings {
  readonly partitionCount: number;
  readonly heartbeatIntervalMs: number;
  readonly maxNoHeartbeatMs: number;
  readonly joinTimeoutMs: number;
  readonly callTimeoutMs: number;
  readonly retryPauseMs: number;
  readonly backupAckTimeoutMs: number;
  readonly antiEntropyIntervalMs: number;
  readonly migrationConcurrentMax: number;
  readonly gracefulShutdownTimeoutMs: number;
  /** Slots for named partitions after the hashed ones (0: none; each costs table space). */
  readonly namedPartitionsMax: number;
  /** How often a master looks for another cluster to merge with after a split (0 or absent: never). */
  readonly mergeIntervalMs?: number;
}

export const DEFAULT_CLUSTER_SETTINGS: ClusterSettings = Object.freeze({
  partitionCount: 16,
  heartbeatIntervalMs: 500,
  maxNoHeartbeatMs: 3000,
  joinTimeoutMs: 3500,
  callTimeoutMs: 10_000,
  retryPauseMs: 50,
  backupAckTimeoutMs: 2000,
  antiEntropyIntervalMs: 2000,
  migrationConcurrentMax: 4,
  gracefulShutdownTimeoutMs: 20_000,
  namedPartitionsMax: 0,
  mergeIntervalMs: 0,
});

export interface SimulationSetup {
  readonly seed: number;
  /** Members started at the beginning. */
  readonly members: number;
  readonly services: ServiceFactory;
  readonly cluster?: Partial<ClusterSettings>;
  readonly network?: NetworkFaultRates;
  readonly sites?: SiteFaultRates;
  readonly bugs?: Partial<DeliberateBugs>;
  /** Engine log level (default 'silent'); logs go to stderr stamped with virtual time. */
  readonly logLevel?: LoggingLevel;
  /** Keep every trace line (for `--trace`); otherwise only the last ones and the hash. */
  readonly keepTrace?: boolean;
  /** The initial members start at random times in [0, startSpreadMs] (default 300). */
  readonly startSpreadMs?: number;
  /** Port of slot 0 (default 5701); slot i listens on basePort + i. */
  readonly basePort?: number;
  /**
   * The member name (config `memberName`) of an incarnation. Default `m<slot>.<incarnation>`, the
   * name traces use; named partitions place data by member name, so a scenario with them names a
   * slot the same in every incarnation (`m<slot>`), as a restarted node keeps its name.
   */
  readonly memberName?: (slot: number, incarnation: number) => string;
}

export type MemberStatus = 'starting' | 'up' | 'leaving' | 'left' | 'crashed';

/** One member slot: an address, and the incarnation currently (or last) running there. */
export class SimMember {
  status: MemberStatus = 'starting';
  incarnation = 0;
  node!: Node;
  process!: SimProcess;
  gate!: InboundGate;
  sites!: SimFaultSites;
  services = new Map<string, object>();
  /** Until when a pause lasts (virtual ms), when paused. */
  pausedUntil = 0;
  /** Settles when the last stop (terminate or shutdown) finished. */
  stopped: Promise<void> = Promise.resolve();

  constructor(
    readonly slot: number,
    readonly address: string,
  ) {}

  get uuid(): string {
    return this.node.uuid;
  }

  get name(): string {
    return `m${this.slot}.${this.incarnation}`;
  }

  /** The process runs (it may be joining, serving or leaving). */
  get alive(): boolean {
    return this.status === 'starting' || this.status === 'up' || this.status === 'leaving';
  }

  get paused(): boolean {
    return this.alive && this.process !== undefined && this.process.paused;
  }

  /** Joined, running, not paused: may issue calls. */
  get callable(): boolean {
    return this.status === 'up' && !this.process.paused && this.node.isRunning();
  }

  /** What services see of this member: its operation service, partition service, cluster, … */
  get engine(): NodeEngine {
    return this.node.nodeEngine;
  }

  service<S>(name: string): S | undefined {
    return this.services.get(name) as S | undefined;
  }
}

let activeSimulation: Simulation | null = null;
/** The simulation that ran last: a rejection surfacing after its run still belongs to it. */
let lastSimulation: Simulation | null = null;
let rejectionHookInstalled = false;

function markRunning(sim: Simulation | null): void {
  activeSimulation = sim;
  if (sim !== null) lastSimulation = sim;
}

function onUnhandledRejection(reason: unknown): void {
  const sim = activeSimulation ?? lastSimulation;
  if (sim === null) {
    // Not ours: keep Node's default of failing loudly.
    throw reason instanceof Error ? reason : new Error(String(reason));
  }
  sim.report('engine', `unhandled promise rejection: ${describeError(reason)}`);
}

export class Simulation {
  readonly seed: number;
  readonly scheduler = new Scheduler();
  readonly trace: Trace;
  readonly faults = new FaultCounter();
  readonly network: SimNetwork;
  readonly settings: ClusterSettings;
  readonly bugs: DeliberateBugs;
  readonly siteRates: SiteFaultRates;
  readonly members: SimMember[] = [];
  readonly violations: Violation[] = [];
  /** Fed by every member's `ownerRunning` observation. */
  readonly owners = new OwnerLedger();
  /** Uuids of incarnations that crashed or left. */
  readonly deadUuids = new Set<string>();
  /** Events (timers) run. */
  events = 0;
  /** Whether new incarnations' fault sites inject faults (turned off when the faults stop). */
  siteInjection = true;
  private readonly setup: SimulationSetup;
  private readonly basePort: number;
  private readonly afterEventChecks: (() => void)[] = [];
  private readonly logger: Logger;
  private started = false;

  constructor(setup: SimulationSetup) {
    this.setup = setup;
    this.seed = setup.seed;
    this.settings = { ...DEFAULT_CLUSTER_SETTINGS, ...setup.cluster };
    this.bugs = { ...NO_BUGS, ...setup.bugs };
    this.siteRates = setup.sites ?? NO_SITE_FAULTS;
    this.basePort = setup.basePort ?? 5701;
    this.trace = new Trace(setup.keepTrace ?? false);
    this.network = new SimNetwork(this.scheduler, new Prng(setup.seed, 'network'), setup.network ?? CALM_NETWORK, this.faults, this.trace);
    const level = setup.logLevel ?? 'silent';
    this.logger =
      level === 'silent'
        ? pino({ level: 'silent' })
        : pino({ level, base: null, timestamp: () => `,"vt":${this.scheduler.now}` }, pino.destination({ fd: 2, sync: true }));
    this.scheduler.onError = (owner, error) => {
      const member = this.members.find((m) => m.alive && m.process === owner);
      this.report('engine', `${member ? member.name : 'simulator'}: uncaught exception in a timer: ${describeError(error)}`);
      // As in a real process, an uncaught exception takes the member down.
      if (member) this.crash(member, 'uncaught exception');
    };
  }

  get now(): number {
    return this.scheduler.now;
  }

  /** Starts the initial members (at random times within `startSpreadMs`). */
  start(): void {
    if (this.started) throw new Error('Simulation.start called twice');
    this.started = true;
    const rng = new Prng(this.seed, 'startup');
    const spread = this.setup.startSpreadMs ?? 300;
    for (let i = 0; i < this.setup.members; i++) this.addMember(Math.round(rng.real(0, spread)));
  }

  // --- members --------------------------------------------------------------------------------

  /** A new slot; its first incarnation starts after `delayMs`. */
  addMember(delayMs = 0): SimMember {
    const slot = this.members.length;
    const member = new SimMember(slot, `127.0.0.1:${this.basePort + slot}`);
    this.members.push(member);
    member.status = 'starting';
    this.at(delayMs, () => this.startIncarnation(member));
    return member;
  }

  /** Starts a new incarnation in a slot whose last one crashed or left. */
  restart(member: SimMember): void {
    if (member.alive) throw new Error(`${member.name} is still running`);
    member.status = 'starting';
    this.startIncarnation(member);
  }

  private startIncarnation(member: SimMember): void {
    if (member.node !== undefined) member.incarnation++;
    const label = `member/${member.slot}/${member.incarnation}`;
    const process = new SimProcess(member.name, this.scheduler, new Prng(this.seed, label));
    const gate = new InboundGate();
    const specs = [...this.setup.services({ slot: member.slot, incarnation: member.incarnation })];
    // The member would load the built-in map itself with a dynamic import() at start, which is
    // real I/O (and, under a loader such as tsx, a message to another thread): its timing would
    // leak into the run. Handing it over here keeps the start deterministic.
    if (!specs.some((s) => s.name === MAP_SERVICE_NAME)) specs.push({ name: MAP_SERVICE_NAME, instance: new MapService() });
    const sites = new SimFaultSites(this.siteRates, this.bugs, new Prng(this.seed, `sites/${member.slot}/${member.incarnation}`), process, this.faults, this.trace, (uuid, p, v) => {
      const violation = this.owners.record({ memberUuid: uuid, partitionId: p, partitionVersion: v, at: this.now });
      if (violation !== null) this.addViolation(violation);
    });
    sites.injecting = this.siteInjection;
    const config = this.memberConfig(member, specs);
    const logger = this.logger.child({ m: member.name });
    const node = new Node({
      config,
      runtime: process.runtime,
      logger,
      services: new Map(specs.map((s) => [s.name, s.instance])),
      faults: sites,
      multicast: false,
      createTransport: ({ uuid, name }) =>
        new SimTransport(
          {
            host: '127.0.0.1',
            port: this.basePort + member.slot,
            portAutoIncrement: false,
            portCount: 1,
            clusterName: config.clusterName,
            memberUuid: uuid,
            memberName: name,
            frameBytesMax: config.network.frameBytesMax,
            peerQueueBytesMax: config.network.peerQueueBytesMax,
          },
          process.runtime,
          this.network,
          {
            info: (msg, fields) => logger.info(fields ?? {}, msg),
            warn: (msg, fields) => logger.warn(fields ?? {}, msg),
            debug: (msg, fields) => logger.debug(fields ?? {}, msg),
          },
          gate,
        ),
    });
    member.node = node;
    member.process = process;
    member.gate = gate;
    member.sites = sites;
    member.services = new Map(specs.map((s) => [s.name, s.instance]));
    member.status = 'starting';
    this.record(`start ${member.name} ${member.address} uuid=${node.uuid.slice(0, 8)}`);
    node.start().then(
      () => {
        if (member.node !== node || member.status !== 'starting') return;
        member.status = 'up';
        this.record(`joined ${member.name} list=v${node.cluster.core.list.version} master=${node.cluster.getMaster()?.address.key ?? '-'}`);
      },
      (error: unknown) => {
        if (member.node !== node || member.status !== 'starting') return;
        this.report('engine', `${member.name} failed to start: ${describeError(error)}`);
        this.kill(member, 'crashed');
      },
    );
  }

  private memberConfig(member: SimMember, specs: readonly ServiceSpec[]): ResolvedConfig {
    const s = this.settings;
    const seeds = this.members.map((m) => m.address).filter((a) => a !== member.address);
    return resolveConfig({
      clusterName: 'sim',
      memberName: this.setup.memberName?.(member.slot, member.incarnation) ?? member.name,
      partitionCount: s.partitionCount,
      namedPartitionsMax: s.namedPartitionsMax,
      network: {
        host: '127.0.0.1',
        port: this.basePort + member.slot,
        portAutoIncrement: false,
        join: { tcpIp: { enabled: true, members: seeds.length > 0 ? seeds : [member.address] }, multicast: { enabled: false }, joinTimeoutMs: s.joinTimeoutMs, mergeIntervalMs: s.mergeIntervalMs ?? 0 },
      },
      invocation: { callTimeoutMs: s.callTimeoutMs, retryPauseMs: s.retryPauseMs, backupAckTimeoutMs: s.backupAckTimeoutMs, failOnIndeterminateBackup: true },
      failureDetector: { heartbeatIntervalMs: s.heartbeatIntervalMs, maxNoHeartbeatMs: s.maxNoHeartbeatMs },
      migration: { concurrentMax: s.migrationConcurrentMax, gracefulShutdownTimeoutMs: s.gracefulShutdownTimeoutMs },
      backup: { antiEntropyIntervalMs: s.antiEntropyIntervalMs },
      logging: { level: this.setup.logLevel ?? 'silent' },
      services: specs.map((spec) => ({ name: spec.name, implementation: spec.instance, properties: { ...spec.properties } })),
    });
  }

  /** Crash: the process is gone at once, with all its memory; peers see its connections drop. */
  crash(member: SimMember, why = 'crash'): void {
    if (!member.alive || member.node === undefined) return;
    this.record(`crash ${member.name} (${why})`);
    this.kill(member, 'crashed');
  }

  private kill(member: SimMember, status: 'crashed' | 'left'): void {
    member.status = status;
    member.process.kill();
    member.gate.close();
    member.sites.injecting = false;
    this.deadUuids.add(member.node.uuid);
    member.stopped = member.node.terminate().catch((error: unknown) => {
      this.report('engine', `${member.name}: terminate threw: ${describeError(error)}`);
    });
  }

  /** Graceful leave: the member moves its partitions away (bounded), says goodbye and stops. */
  leave(member: SimMember): void {
    if (member.status !== 'up') return;
    member.status = 'leaving';
    this.record(`leave ${member.name}`);
    const node = member.node;
    member.stopped = node.shutdown().then(
      () => {
        if (member.node !== node || member.status !== 'leaving') return;
        this.record(`left ${member.name}`);
        this.kill(member, 'left');
      },
      (error: unknown) => {
        this.report('engine', `${member.name}: shutdown threw: ${describeError(error)}`);
        if (member.node === node && member.alive) this.kill(member, 'crashed');
      },
    );
  }

  /** The member stops processing (timers and inbound frames) for `ms`, like a long GC pause. */
  pause(member: SimMember, ms: number): void {
    if (!member.alive || member.process === undefined || member.process.paused) return;
    const process = member.process;
    process.pause();
    member.gate.hold();
    member.pausedUntil = this.now + ms;
    this.record(`pause ${member.name} ${Math.round(ms)}ms`);
    this.at(ms, () => {
      if (member.process === process) this.resume(member);
    });
  }

  resume(member: SimMember): void {
    if (!member.alive || !member.process.paused) return;
    this.record(`resume ${member.name}`);
    member.gate.release();
    member.process.resume();
  }

  // --- network --------------------------------------------------------------------------------

  /**
   * Cuts every link between members of different groups, both ways, for `forMs`: frames sent
   * across meanwhile wait and arrive when the cut ends (as TCP retransmits them), or are lost when
   * the network's `cutsDrop` is set or no duration is given. `heal` ends cuts early.
   */
  partition(groups: readonly (readonly SimMember[])[], forMs = Number.POSITIVE_INFINITY): void {
    for (let i = 0; i < groups.length; i++) {
      for (let j = 0; j < groups.length; j++) {
        if (i !== j) this.cutOneWay(groups[i], groups[j], forMs);
      }
    }
  }

  /** Cuts the links from every member of `from` to every member of `to` (one way), for `forMs`. */
  cutOneWay(from: readonly SimMember[], to: readonly SimMember[], forMs = Number.POSITIVE_INFINITY): void {
    const until = this.now + forMs;
    for (const a of from) for (const b of to) this.network.cut(a.address, b.address, until);
  }

  /** Stops all fault injection: frame faults and every member's fault sites (latency stays). */
  stopInjecting(): void {
    this.network.frameFaults = false;
    this.siteInjection = false;
    for (const m of this.members) if (m.sites !== undefined) m.sites.injecting = false;
  }

  /** Removes every cut. */
  heal(): void {
    if (this.network.hasCuts) this.record('heal');
    this.network.clearCuts();
  }

  // --- running --------------------------------------------------------------------------------

  /** Runs `fn` at now + `delayMs` as a simulator event. */
  at(delayMs: number, fn: () => void): void {
    this.scheduler.schedule(null, delayMs, fn);
  }

  /** Runs `fn` every `periodMs` until it returns false. */
  every(periodMs: number, fn: () => boolean | void): void {
    const t = this.scheduler.schedule(
      null,
      periodMs,
      () => {
        if (fn() === false) t.cancelled = true;
      },
      periodMs,
    );
  }

  /** Registers a check run after every event. */
  afterEvery(check: () => void): void {
    this.afterEventChecks.push(check);
  }

  /**
   * Runs events until virtual time `untilMs` (then the clock stands there), or until `stop`
   * returns true (checked after every event). Returns true when stopped by `stop`.
   */
  async runUntil(untilMs: number, stop?: () => boolean): Promise<boolean> {
    if (!this.started) this.start();
    if (!rejectionHookInstalled) {
      process.on('unhandledRejection', onUnhandledRejection);
      rejectionHookInstalled = true;
    }
    const previous = activeSimulation;
    markRunning(this);
    try {
      for (;;) {
        await settle();
        this.traceTables();
        for (const check of this.afterEventChecks) check();
        if (stop?.()) return true;
        if (!this.scheduler.runNext(untilMs)) break;
        this.events++;
      }
      this.scheduler.advanceTo(untilMs);
      return false;
    } finally {
      markRunning(previous);
    }
  }

  runFor(ms: number, stop?: () => boolean): Promise<boolean> {
    return this.runUntil(this.now + ms, stop);
  }

  /**
   * Runs until the cluster is quiet (every live member joined and not paused, all agree on the
   * member list, every member is cluster-safe: no migration or replica sync pending), checked every
   * `checkEveryMs`, for at most `boundMs`. Returns whether it got there.
   */
  async runUntilSafe(boundMs: number, checkEveryMs = 100): Promise<boolean> {
    let safe = false;
    const deadline = this.now + boundMs;
    this.every(checkEveryMs, () => {
      safe = this.isQuiet();
      return !safe && this.now < deadline;
    });
    await this.runUntil(deadline, () => safe);
    return safe;
  }

  /** Every live member joined, none paused, all agree on the members, all cluster-safe. */
  isQuiet(): boolean {
    const alive = this.alive();
    if (alive.length === 0 || alive.some((m) => m.status !== 'up' || m.paused)) return false;
    const views = this.views();
    return membershipAgrees(views, this.deadUuids).length === 0 && views.every((v) => v.clusterSafe);
  }

  /** Why the cluster is not quiet, one line per reason (empty when it is). */
  diagnose(): string[] {
    const out: string[] = [];
    for (const m of this.alive()) if (m.status !== 'up' || m.paused) out.push(`${m.name} is ${m.status}${m.paused ? ' (paused)' : ''}`);
    const views = this.views();
    for (const v of membershipAgrees(views, this.deadUuids)) out.push(v.message);
    for (const v of views) if (!v.clusterSafe) out.push(`${this.nameOf(v.uuid)} is not cluster-safe: ${this.unsafeReason(v.uuid)}`);
    return out;
  }

  /** The member slot whose current incarnation has `uuid`. */
  memberByUuid(uuid: string): SimMember | undefined {
    return this.members.find((m) => m.node !== undefined && m.node.uuid === uuid);
  }

  /** Table versions last traced, per member incarnation. */
  private readonly tracedTables = new Map<Node, { version: number; rows: string[]; list: number }>();

  /** Writes every member's membership and partition-table changes to the trace. */
  private traceTables(): void {
    for (const m of this.members) {
      if (!m.alive || m.node === undefined || m.node.partitions === undefined) continue;
      const node = m.node;
      const table = node.partitions.table;
      const list = node.cluster.core.list;
      let seen = this.tracedTables.get(node);
      if (seen === undefined) {
        seen = { version: -1, rows: [], list: -1 };
        this.tracedTables.set(node, seen);
      }
      if (seen.list !== list.version) {
        seen.list = list.version;
        this.record(`members ${m.name} v${list.version} [${list.members.map((x) => this.nameOf(x.uuid)).join(' ')}]`);
      }
      if (seen.version === table.tableVersion) continue;
      seen.version = table.tableVersion;
      const changed: string[] = [];
      for (let p = 0; p < table.partitionCount; p++) {
        const row = `${table.row(p)
          .filter((u) => u !== null)
          .map((u) => this.nameOf(u))
          .join(',')}@${table.version(p)}`;
        if (seen.rows[p] !== row) {
          changed.push(`p${p}=${row}`);
          seen.rows[p] = row;
        }
      }
      this.record(`table ${m.name} v${table.tableVersion} ${changed.join(' ')}`);
    }
  }

  /** `m<slot>.<incarnation>` of a member uuid (or its first 8 characters when unknown). */
  nameOf(uuid: string | null): string {
    if (uuid === null) return '-';
    for (const m of this.members) if (m.node !== undefined && m.node.uuid === uuid) return m.name;
    return uuid.slice(0, 8);
  }

  // --- reporting ------------------------------------------------------------------------------

  record(line: string): void {
    this.trace.record(this.now, line);
  }

  report(checker: string, message: string): void {
    this.addViolation({ checker, message, at: this.now });
  }

  addViolation(v: Violation): void {
    this.violations.push(v);
    this.trace.record(v.at ?? this.now, `VIOLATION ${v.checker}: ${v.message}`);
  }

  // --- views ----------------------------------------------------------------------------------

  /** Members whose process runs (joining, serving or leaving). */
  alive(): SimMember[] {
    return this.members.filter((m) => m.alive);
  }

  /** Members that joined and serve. */
  up(): SimMember[] {
    return this.members.filter((m) => m.status === 'up');
  }

  /** Views of the members that joined and serve, for the checkers. */
  views(): MemberView[] {
    return this.up().map((m) => memberView(m.node));
  }

  /** The member the serving members' lists name as master (by the first serving member's list). */
  master(): SimMember | undefined {
    const first = this.up()[0];
    const uuid = first?.node.cluster.core.list.members[0]?.uuid;
    return this.members.find((m) => m.alive && m.node !== undefined && m.node.uuid === uuid);
  }

  /** Why a member's partition service is not cluster-safe (diagnostics). */
  unsafeReason(uuid: string): string {
    const m = this.members.find((x) => x.alive && x.node !== undefined && x.node.uuid === uuid);
    if (m === undefined) return 'not a live member';
    // Diagnostics only: reads the partition service's private state by name, tolerating its absence.
    const partitions = m.node.partitions as unknown as {
      describeUnsafe?: () => string;
      frozen?: Map<number, { migrationId: string }>;
      incoming?: Map<number, { migrationId: string }>;
    };
    const base = typeof partitions.describeUnsafe === 'function' ? partitions.describeUnsafe() : 'unknown';
    const list = (map: Map<number, { migrationId: string }> | undefined): string =>
      map === undefined ? '' : [...map].map(([p, x]) => `p${p}:${x.migrationId}`).join(' ');
    return `${base}; frozen [${list(partitions.frozen)}] incoming [${list(partitions.incoming)}]`;
  }

  describe(): string {
    return this.members
      .map((m) => `${m.name}@${m.address}:${m.status}${m.paused ? '(paused)' : ''}`)
      .join(' ');
  }

  formatNow(): string {
    return formatTime(this.now);
  }
}

/** The checkers' view of one member. */
export function memberView(node: Node): MemberView {
  const list = node.cluster.core.list;
  const rv = node.operations.replicaVersions;
  return {
    uuid: node.uuid,
    address: node.address.key,
    memberListVersion: list.version,
    memberUuids: list.members.map((m) => m.uuid),
    table: node.partitions.table.snapshot(),
    hashedPartitionCount: node.partitions.getHashedPartitionCount(),
    replicaVersion: (p) => rv.get(p),
    replicaDirty: (p) => rv.isDirty(p),
    clusterSafe: node.partitions.isClusterSafe(),
    pendingInvocations: node.operations.pendingCount(),
  };
}

/** Lets every promise continuation queued so far (and those they queue) run. */
function settle(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** Parses `host:port` into an Address (helper for users' scenarios). */
export function addressOf(member: SimMember): Address {
  return Address.parse(member.address);
}
