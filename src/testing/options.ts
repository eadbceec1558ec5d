/**
 * Every parameter of a simulated run is drawn from its seed (swarm testing: each seed gets its own
 * cluster size, timings, workload and mix of faults), then printed. Flags narrow the draw
 * (`--members`, `--faults`, `--mode`, …); the same seed with the same flags gives the same options.
 */
import { NO_BUGS, type DeliberateBugs } from '../engine/fault-sites.js';
import { Prng } from './prng.js';
import type { NetworkFaultRates } from './sim-network.js';
import type { SiteFaultRates } from './sim-sites.js';
import type { ClusterSettings } from './simulation.js';

export const FAULT_KINDS = [
  'delay',
  'reset',
  'drop',
  'duplicate',
  'reorder',
  'partition',
  'crash',
  'pause',
  'join',
  'leave',
  'sites',
  'split',
  'long-pause',
] as const;

export type FaultKind = (typeof FAULT_KINDS)[number];

/**
 * Kinds outside what Shoal claims to survive, so not run unless asked for:
 * - `drop`, `duplicate`, `reorder`: frame faults TCP never produces on a live connection (the
 *   engine relies on its transport's ordered, lossless connections); with `drop` on, partitions
 *   lose frames instead of delaying them.
 * - `split` (a partition longer than the failure detector's timeout) and `long-pause` (a pause
 *   that long): both sides keep serving; after the heal the smaller side merges into the larger
 *   one (split-brain merge, on for these seeds) and drops what it held of hashed partitions, so
 *   writes acknowledged there are lost.
 */
export const BEYOND_CONTRACT_FAULTS: readonly FaultKind[] = ['drop', 'duplicate', 'reorder', 'split', 'long-pause'];

/** What Shoal claims to survive, and so what runs by default. */
export const DEFAULT_FAULTS: readonly FaultKind[] = FAULT_KINDS.filter((k) => !BEYOND_CONTRACT_FAULTS.includes(k));

export type SimMode = 'safety' | 'liveness';

export const BUG_NAMES = ['ackBeforeBackups', 'promotedBackupDropsData', 'commitBeforeDestinationApplied'] as const satisfies readonly (keyof DeliberateBugs)[];

/** What flags (or a test) fix; everything else is drawn from the seed. */
export interface SimOverrides {
  readonly members?: number;
  readonly faults?: readonly FaultKind[];
  /**
   * Swarm: each seed turns on a random subset (about 70 %) of the fault kinds allowed. Default:
   * on when `faults` is not given (the allowed kinds are then the defaults), off when it is.
   */
  readonly swarm?: boolean;
  readonly mode?: SimMode;
  readonly bugs?: Partial<DeliberateBugs>;
  /** Length of the fault phase, virtual ms. */
  readonly durationMs?: number;
  readonly partitionCount?: number;
  readonly syncBackups?: number;
  /**
   * Named partitions (the ActiveSpaces model) defined at the start: each gets an active node and
   * an ordered list of synchronous and asynchronous replicas drawn from the seed, and some of the
   * counters are mapped onto them. 0 (the default): none.
   */
  readonly named?: number;
  /** Force the hold mode (see SimOptions.keyedOps); default: drawn from the seed. */
  readonly keyedOps?: boolean;
}

/** One named partition of a simulated run; nodes are member slots (members are named `m<slot>`). */
export interface NamedPartitionSpec {
  readonly name: string;
  readonly active: number;
  readonly replicas: readonly { readonly slot: number; readonly sync: boolean }[];
}

/** The named partitions of a run and which counters the mapper puts in them. */
export interface NamedSetup {
  readonly partitions: readonly NamedPartitionSpec[];
  /** Counter name → named partition; counters not listed are hashed. */
  readonly counters: Readonly<Record<string, string>>;
  /** Partition properties every definition gets. */
  readonly objectsLockedPerTransaction: number;
  readonly numberOfThreads: number;
}

export interface SimOptions {
  readonly seed: number;
  readonly mode: SimMode;
  /** Members started at the beginning. */
  readonly members: number;
  /** Most members alive at once (joins stop there). */
  readonly membersMax: number;
  readonly cluster: ClusterSettings;
  readonly syncBackups: number;
  readonly asyncBackups: number;
  /**
   * The counter's operations declare their counter as ordering key (KeyedOperation): a write
   * waiting for its backups holds back only its counter instead of its partition. Half the seeds.
   */
  readonly keyedOps?: boolean;
  readonly counters: number;
  readonly concurrency: number;
  readonly callsPerSecond: number;
  /** Faults start once the initial members joined, or at this time at the latest. */
  readonly warmupMaxMs: number;
  /** Length of the fault phase. */
  readonly durationMs: number;
  /** After the heal, the cluster must converge within this (liveness). */
  readonly convergenceMs: number;
  /** Converged means: the checks pass and the state stays the same for this long. */
  readonly settleMs: number;
  /** Fault kinds this seed uses. */
  readonly faults: readonly FaultKind[];
  /** Mean time between fault events (partitions, crashes, pauses, joins, leaves). */
  readonly faultIntervalMs: number;
  readonly network: NetworkFaultRates;
  readonly sites: SiteFaultRates;
  readonly bugs: DeliberateBugs;
  /** Named partitions (absent or null: none; regression files written before them lack it). */
  readonly named?: NamedSetup | null;
}

export function parseFaults(text: string): FaultKind[] {
  const out = new Set<FaultKind>();
  for (const raw of text.split(',')) {
    const word = raw.trim();
    if (word === '') continue;
    if (word === 'default') DEFAULT_FAULTS.forEach((k) => out.add(k));
    else if (word === 'all') FAULT_KINDS.forEach((k) => out.add(k));
    else if (word === 'none') continue;
    else if ((FAULT_KINDS as readonly string[]).includes(word)) out.add(word as FaultKind);
    else throw new RangeError(`unknown fault kind '${word}'; known: ${FAULT_KINDS.join(', ')}, or default, all, none`);
  }
  return FAULT_KINDS.filter((k) => out.has(k));
}

export function parseBugs(text: string): Partial<DeliberateBugs> {
  const bugs: Record<string, boolean> = {};
  for (const raw of text.split(',')) {
    const word = raw.trim();
    if (word === '') continue;
    if (!(BUG_NAMES as readonly string[]).includes(word)) throw new RangeError(`unknown bug '${word}'; known: ${BUG_NAMES.join(', ')}`);
    bugs[word] = true;
  }
  return bugs;
}

export function deriveOptions(seed: number, overrides: SimOverrides = {}): SimOptions {
  const rng = new Prng(seed, 'options');
  const members = overrides.members ?? rng.between(2, 5);
  if (!Number.isInteger(members) || members < 1 || members > 20) throw new RangeError(`members must be an integer in 1..20, got ${members}`);
  const heartbeatIntervalMs = rng.pick([250, 500, 500, 1000]);
  const maxNoHeartbeatMs = heartbeatIntervalMs * rng.between(5, 8);
  const partitionCount = overrides.partitionCount ?? rng.pick([4, 8, 13, 16, 23, 32]);
  const syncBackups = overrides.syncBackups ?? rng.pick([0, 1, 1, 1, 2]);
  const asyncBackups = rng.pick([0, 0, 1]);
  let cluster: ClusterSettings = {
    partitionCount,
    heartbeatIntervalMs,
    maxNoHeartbeatMs,
    // Longer than any silence the default faults cause, so a joiner never gives up and founds a
    // cluster of its own (there is no merge to bring it back).
    joinTimeoutMs: maxNoHeartbeatMs + heartbeatIntervalMs,
    callTimeoutMs: rng.between(4, 15) * 1000,
    retryPauseMs: rng.pick([10, 25, 50, 100]),
    backupAckTimeoutMs: rng.between(5, 30) * 100,
    antiEntropyIntervalMs: rng.between(1, 5) * 1000,
    migrationConcurrentMax: rng.between(1, 4),
    gracefulShutdownTimeoutMs: 30_000,
    namedPartitionsMax: overrides.named ?? 0,
  };
  // In FAULT_KINDS order whatever order they were listed in, so a seed draws the same options
  // from `--faults a,b` and `--faults b,a` (and a printed replay command replays).
  const allowed = FAULT_KINDS.filter((k) => (overrides.faults ?? DEFAULT_FAULTS).includes(k));
  // Swarm: each allowed kind is on for about 70 % of seeds.
  const swarm = overrides.swarm ?? overrides.faults === undefined;
  let faults = swarm ? allowed.filter(() => rng.chance(0.7)) : [...allowed];
  if (faults.length === 0 && allowed.length > 0) faults = [rng.pick(allowed)];
  const on = (k: FaultKind): boolean => faults.includes(k);
  // Splits and long pauses split the cluster: its halves merge back after the heal (the smaller
  // side drops its hashed data, beyond what Shoal claims to survive: see BEYOND_CONTRACT_FAULTS).
  if (on('split') || on('long-pause')) cluster = { ...cluster, mergeIntervalMs: 2 * heartbeatIntervalMs };
  const network: NetworkFaultRates = {
    latencyMinMs: rng.between(0, 5),
    latencyMeanMs: rng.pick([0, 1, 2, 5, 10, 20]),
    delayRate: on('delay') ? rng.real(0.001, 0.03) : 0,
    delayMaxMs: on('delay') ? rng.between(50, Math.min(1000, heartbeatIntervalMs * 2)) : 0,
    resetRate: on('reset') ? rng.real(0.0005, 0.01) : 0,
    dropRate: on('drop') ? rng.real(0.001, 0.02) : 0,
    duplicateRate: on('duplicate') ? rng.real(0.001, 0.02) : 0,
    reorderRate: on('reorder') ? rng.real(0.001, 0.02) : 0,
  };
  const sites: SiteFaultRates = on('sites')
    ? { dropBackupRate: rng.real(0.001, 0.02), migrationStepRate: rng.real(0.05, 0.5), migrationStepDelayMaxMs: rng.between(10, 2000) }
    : { dropBackupRate: 0, migrationStepRate: 0, migrationStepDelayMaxMs: 0 };
  const durationMs = overrides.durationMs ?? rng.between(10, 25) * 1000;
  let counters = rng.between(1, 12);
  let named: NamedSetup | null = null;
  let backups = syncBackups;
  const namedCount = overrides.named ?? 0;
  if (namedCount > 0) {
    if (!Number.isInteger(namedCount) || namedCount > 64) throw new RangeError(`named must be an integer in 0..64, got ${namedCount}`);
    // Its own stream: the draws above stay those of the same seed without named partitions.
    const nrng = new Prng(seed, 'named');
    counters = Math.max(counters, namedCount + 1);
    named = drawNamed(nrng, namedCount, members, counters);
    // At least one synchronous backup of the hashed counters, so members can be lost (failovers).
    const drawn = nrng.pick([1, 1, 2]);
    if (overrides.syncBackups === undefined) backups = drawn;
  }
  return {
    seed,
    mode: overrides.mode ?? 'liveness',
    members,
    membersMax: Math.min(members + 2, 7),
    cluster,
    syncBackups: backups,
    asyncBackups,
    // Its own stream, so the other draws of a seed stay what they were before this option.
    keyedOps: overrides.keyedOps ?? new Prng(seed, 'keyed-ops').chance(0.5),
    counters,
    concurrency: rng.between(1, 12),
    callsPerSecond: rng.pick([5, 10, 20, 50, 100]),
    warmupMaxMs: 2 * cluster.joinTimeoutMs + 2000,
    durationMs,
    convergenceMs: Math.max(cluster.callTimeoutMs, 2 * maxNoHeartbeatMs) + 30_000,
    settleMs: Math.max(1000, 2 * heartbeatIntervalMs),
    faults,
    faultIntervalMs: rng.between(5, 30) * 100,
    network,
    sites,
    bugs: { ...NO_BUGS, ...overrides.bugs },
    named,
  };
}

/**
 * `count` named partitions over the initial members' slots: a random active node and 1..3
 * replicas (when there are other members) in random order, each synchronous with probability 0.6.
 * Counter i < count goes to partition i, the last counter stays hashed, the others go to a random
 * named partition half the time.
 */
function drawNamed(rng: Prng, count: number, members: number, counters: number): NamedSetup {
  const partitions: NamedPartitionSpec[] = [];
  for (let i = 0; i < count; i++) {
    const active = rng.int(members);
    const others = Array.from({ length: members }, (_, s) => s).filter((s) => s !== active);
    for (let j = others.length - 1; j > 0; j--) {
      const k = rng.int(j + 1);
      [others[j], others[k]] = [others[k], others[j]];
    }
    const replicaCount = others.length === 0 ? 0 : rng.between(1, Math.min(3, others.length));
    const replicas = others.slice(0, replicaCount).map((slot) => ({ slot, sync: rng.chance(0.6) }));
    partitions.push({ name: `np${i}`, active, replicas });
  }
  const map: Record<string, string> = {};
  for (let i = 0; i < counters; i++) {
    const pick = rng.int(count);
    const half = rng.chance(0.5);
    if (i === counters - 1) continue;
    if (i < count) map[`c${i}`] = `np${i}`;
    else if (half) map[`c${i}`] = `np${pick}`;
  }
  return {
    partitions,
    counters: map,
    objectsLockedPerTransaction: rng.pick([0, 1, 2, 1000]),
    numberOfThreads: rng.pick([1, 1, 2]),
  };
}

/** `m0:[m0, m2:async, m1:sync]` */
export function describeNamed(n: NamedSetup): string {
  const defs = n.partitions.map((p) => `${p.name}=[m${p.active}${p.replicas.map((r) => `, m${r.slot}:${r.sync ? 'sync' : 'async'}`).join('')}]`);
  const mapped = Object.entries(n.counters).map(([c, p]) => `${c}->${p}`);
  return `named: ${defs.join(' ')}; counters ${mapped.join(' ') || 'none'} (others hashed); objects-locked-per-transaction=${n.objectsLockedPerTransaction} threads=${n.numberOfThreads}`;
}

/** One line per group of options, for printing. */
export function describeOptions(o: SimOptions): string {
  const c = o.cluster;
  const n = o.network;
  const bugs = BUG_NAMES.filter((b) => o.bugs[b]);
  return [
    `seed=${o.seed} mode=${o.mode} members=${o.members} (max ${o.membersMax}) partitions=${c.partitionCount} backups=${o.syncBackups} sync + ${o.asyncBackups} async${o.keyedOps === true ? ' keyed-ops' : ''}`,
    `timing: heartbeat=${c.heartbeatIntervalMs}ms max-no-heartbeat=${c.maxNoHeartbeatMs}ms join-timeout=${c.joinTimeoutMs}ms call-timeout=${c.callTimeoutMs}ms backup-ack-timeout=${c.backupAckTimeoutMs}ms retry-pause=${c.retryPauseMs}ms anti-entropy=${c.antiEntropyIntervalMs}ms migrations<=${c.migrationConcurrentMax}`,
    `workload: counters=${o.counters} concurrency=${o.concurrency} rate=${o.callsPerSecond}/s; phases: faults ${o.durationMs}ms, convergence <= ${o.convergenceMs}ms`,
    ...(o.named ? [describeNamed(o.named)] : []),
    `faults: ${o.faults.join(',') || 'none'} every ~${o.faultIntervalMs}ms; network latency ${n.latencyMinMs}+exp(${n.latencyMeanMs})ms delay=${pct(n.delayRate)} (<=${n.delayMaxMs}ms) reset=${pct(n.resetRate)} drop=${pct(n.dropRate)} dup=${pct(n.duplicateRate)} reorder=${pct(n.reorderRate)}; sites drop-backup=${pct(o.sites.dropBackupRate)} migration-step=${pct(o.sites.migrationStepRate)} (<=${o.sites.migrationStepDelayMaxMs}ms)${bugs.length > 0 ? `; BUGS: ${bugs.join(',')}` : ''}`,
  ].join('\n');
}

function pct(p: number): string {
  return `${(p * 100).toFixed(2)}%`;
}
