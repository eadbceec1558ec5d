/**
 * One seed of the built-in scenario: a cluster running the simulator's counter service, the
 * counter workload, the nemesis, and every checker.
 *
 * Phases: warm-up (the initial members join), faults (workload and nemesis run; safety checks
 * after every event), heal (faults stop, the network heals, paused members resume), convergence
 * (the cluster must settle: calls complete, migrations finish, members and replicas agree). In
 * liveness mode not settling within the bound is a violation; in safety mode it only means the
 * end-state checks are skipped.
 */
import { performance } from 'node:perf_hooks';
import { counterWithinAckedRange } from './checkers/counter-within-acked-range.js';
import { liveness } from './checkers/liveness.js';
import { membershipAgrees } from './checkers/membership-agrees.js';
import { replicasConverge } from './checkers/replicas-converge.js';
import { canonical, short, type Violation } from './checkers/types.js';
import { SIM_COUNTER_SERVICE, SimCounterService } from './counter-service.js';
import { NamedApp, type NamedStats } from './named-app.js';
import { Nemesis } from './nemesis.js';
import { deriveOptions, type SimOptions, type SimOverrides } from './options.js';
import { Prng } from './prng.js';
import { Simulation } from './simulation.js';
import { CounterWorkload } from './workload.js';
import type { LoggingLevel } from '../config/types.js';

export interface SeedResult {
  readonly seed: number;
  readonly options: SimOptions;
  /** The first violations found (at most `violationsMax`). */
  readonly violations: readonly Violation[];
  /** How many violations were found in all. */
  readonly violationCount: number;
  /** Simulator events (timers) run. */
  readonly events: number;
  readonly virtualMs: number;
  readonly wallMs: number;
  readonly faults: Readonly<Record<string, number>>;
  readonly traceHash: string;
  readonly calls: { readonly ok: number; readonly failed: number; readonly indeterminate: number; readonly pending: number };
  /** Whether the cluster settled after the heal. */
  readonly converged: boolean;
  /** What was unfinished when it did not settle. */
  readonly unfinished: readonly string[];
  /** The last trace lines (or all of them with `keepTrace`). */
  readonly trace: readonly string[];
  /** Named partitions: failovers, what asynchronous replicas lacked, what was lost (null: none defined). */
  readonly named: NamedStats | null;
}

export interface RunSeedExtras {
  readonly keepTrace?: boolean;
  readonly logLevel?: LoggingLevel;
  /** Most violations kept (default 25). */
  readonly violationsMax?: number;
}

const CHECK_EVERY_MS = 250;
/** Longest the named partitions' definition and enabling may take before the faults start. */
const NAMED_SETUP_MS = 60_000;

/** Runs `seed` with the options it draws (narrowed by `overrides`). */
export function runSeed(seed: number, overrides: SimOverrides = {}, extras: RunSeedExtras = {}): Promise<SeedResult> {
  return runOptions(deriveOptions(seed, overrides), extras);
}

/** Runs with exactly these options (a regression file keeps them, so a replay survives changes to how options are drawn). */
export async function runOptions(options: SimOptions, extras: RunSeedExtras = {}): Promise<SeedResult> {
  const wallStart = performance.now();
  const seed = options.seed;
  const dataBackups = options.syncBackups + options.asyncBackups;
  const namedSetup = options.named ?? null;
  let app: NamedApp | null = null;
  const sim = new Simulation({
    seed,
    members: options.members,
    cluster: options.cluster,
    network: options.network,
    sites: options.sites,
    bugs: options.bugs,
    keepTrace: extras.keepTrace,
    logLevel: extras.logLevel,
    // Named partitions place data by member name: a slot keeps its name across incarnations.
    memberName: namedSetup === null ? undefined : (slot) => NamedApp.memberName(slot),
    services: ({ slot, incarnation }) => {
      const service = new SimCounterService();
      service.onApply = (e) => sim.record(`apply ${e.role} m${slot}.${incarnation} p${e.partitionId} ${e.name} call#${e.tag} -> ${e.value}`);
      service.onEvent = (line) => sim.record(`service m${slot}.${incarnation} ${line}`);
      app?.attach(service);
      const properties: Record<string, string> = { 'backup-count': String(options.syncBackups), 'async-backup-count': String(options.asyncBackups) };
      if (namedSetup !== null) properties['track-tags'] = 'true';
      if (options.keyedOps === true) properties['keyed-ops'] = 'true';
      return [{ name: SIM_COUNTER_SERVICE, instance: service, properties }];
    },
  });
  sim.network.cutsDrop = options.faults.includes('drop');
  const workload = new CounterWorkload(sim, options, new Prng(seed, 'workload'));
  const nemesis = new Nemesis(sim, options, new Prng(seed, 'faults'));
  if (namedSetup !== null) {
    const named = new NamedApp(sim, namedSetup, workload.history, new Prng(seed, 'named-app'));
    named.install();
    nemesis.canLose = (m) => named.canLose(m);
    app = named;
  }
  const counterData = (uuid: string, p: number): unknown => {
    const m = sim.members.find((x) => x.alive && x.node !== undefined && x.node.uuid === uuid);
    return m?.service<SimCounterService>(SIM_COUNTER_SERVICE)?.containers[p];
  };

  // Warm-up.
  sim.start();
  await sim.runUntil(options.warmupMaxMs, () => sim.members.every((m) => m.status === 'up'));
  if (app !== null) {
    // Named partitions: defined and enabled before the faults start.
    let setup: string | null | undefined;
    app.defineAll().then(
      (error) => (setup = error),
      (error: unknown) => (setup = String(error)),
    );
    await sim.runUntil(sim.now + NAMED_SETUP_MS, () => setup !== undefined);
    if (setup !== null) sim.report('named', setup ?? `the named partitions were not defined and enabled within ${NAMED_SETUP_MS} ms`);
  }
  sim.record(`phase faults (cluster: ${sim.describe()})`);

  // Faults.
  workload.start();
  nemesis.start();
  await sim.runUntil(sim.now + options.durationMs);

  // Heal.
  workload.stop();
  nemesis.healAll();
  const healedAt = sim.now;
  sim.record('phase convergence');

  // Convergence: checked every CHECK_EVERY_MS; converged once the checks pass twice, settleMs
  // apart, with nothing changing in between.
  let converged = false;
  let unfinished: string[] = [];
  let passedAt = -1;
  let passedDigest = '';
  sim.every(CHECK_EVERY_MS, () => {
    const state = convergenceState(sim, workload, dataBackups, counterData, app);
    unfinished = state.unfinished;
    if (unfinished.length > 0) {
      passedAt = -1;
      return true;
    }
    if (passedAt < 0 || state.digest !== passedDigest) {
      passedAt = sim.now;
      passedDigest = state.digest;
      return true;
    }
    if (sim.now - passedAt >= options.settleMs) {
      converged = true;
      return false;
    }
    return true;
  });
  await sim.runUntil(healedAt + options.convergenceMs, () => converged);

  // End-state checks.
  if (converged) {
    const finals = finalValues(sim, workload);
    for (const v of counterWithinAckedRange(workload.history.calls, finals, sim.now, app?.allowance())) sim.addViolation(v);
    if (app !== null) for (const v of app.checkTags((counter) => finalOwner(sim, counter))) sim.addViolation({ ...v, at: sim.now });
  } else if (options.mode === 'liveness') {
    for (const v of liveness({ healedAt, boundMs: options.convergenceMs, now: sim.now, converged, pendingCalls: workload.history.pending, unfinished })) {
      sim.addViolation(v);
    }
  }
  sim.record(`end converged=${converged} calls=${canonical(workload.history.summary())} violations=${sim.violations.length}`);

  const max = extras.violationsMax ?? 25;
  return {
    seed,
    options,
    violations: sim.violations.slice(0, max),
    violationCount: sim.violations.length,
    events: sim.events,
    virtualMs: sim.now,
    wallMs: performance.now() - wallStart,
    faults: sim.faults.toObject(),
    traceHash: sim.trace.digest(),
    calls: workload.history.summary(),
    converged,
    unfinished,
    trace: sim.trace.lines ?? sim.trace.recent(),
    named: app === null ? null : app.stats,
  };
}

function convergenceState(
  sim: Simulation,
  workload: CounterWorkload,
  dataBackups: number,
  data: (uuid: string, p: number) => unknown,
  app: NamedApp | null,
): { unfinished: string[]; digest: string } {
  const unfinished: string[] = [];
  if (workload.history.pending > 0) unfinished.push(`${workload.history.pending} call(s) pending`);
  for (const m of sim.alive()) if (m.status !== 'up') unfinished.push(`${m.name} is ${m.status}`);
  const views = sim.views();
  if (views.length === 0) unfinished.push('no member is up');
  for (const v of membershipAgrees(views, sim.deadUuids)) unfinished.push(`${v.checker}: ${v.message}`);
  for (const v of views) if (!v.clusterSafe) unfinished.push(`member ${short(v.uuid)} is not cluster-safe (${sim.unsafeReason(v.uuid)})`);
  if (app !== null && unfinished.length === 0) unfinished.push(...app.unfinished());
  if (unfinished.length === 0) {
    for (const v of replicasConverge(views, { dataBackups, data })) unfinished.push(`${v.checker}: ${v.message}`);
  }
  const digest = views
    .map((v) => {
      let rv = 0;
      for (let p = 0; p < v.table.partitionCount; p++) rv += v.replicaVersion(p) * (p + 1);
      return `${v.uuid}:${v.memberListVersion}:${v.table.tableVersion}:${rv}`;
    })
    .join('|');
  return { unfinished, digest };
}

/** Each counter's value on its owner (by the master's table). */
function finalValues(sim: Simulation, workload: CounterWorkload): Map<string, number> {
  const finals = new Map<string, number>();
  for (const name of workload.counterNames) {
    const owner = finalOwner(sim, name);
    finals.set(name, owner?.service.value(owner.partitionId, name) ?? 0);
  }
  return finals;
}

/** The counter service of a counter's owner, by the master's table. */
function finalOwner(sim: Simulation, counter: string): { service: SimCounterService; partitionId: number } | null {
  const master = sim.master();
  if (master === undefined) return null;
  let p: number;
  try {
    p = master.node.partitions.getPartitionId(counter);
  } catch {
    return null; // mapped to a named partition that was never defined (its setup failed: reported)
  }
  const ownerUuid = master.node.partitions.table.owner(p);
  const owner = sim.members.find((m) => m.alive && m.node.uuid === ownerUuid);
  const service = owner?.service<SimCounterService>(SIM_COUNTER_SERVICE);
  return service === undefined ? null : { service, partitionId: p };
}
