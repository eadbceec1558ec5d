/**
 * The Shoal benchmark harness (issue 7): Shoal against ioredis → redis-server and against the raw
 * Node.js TCP limit, measured side by side in one run. See bench/README.md.
 *
 *   npm run bench                 full run (several minutes)
 *   npm run bench -- --quick      the same scenarios, shorter and smaller (< 60 s)
 *
 * Options: --runs N, --backups 0,1,2, --only s1,s2,... (counter, local, migration, failover),
 * --out FILE, --log-level LEVEL (members' log level, default warn), --profile (an extra, unmeasured run per phase with every member CPU-profiled into
 * bench/results/profiles/). See bench/README.md.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { measureTcpLimit, startTcpLatencyRig, type TcpLatencyResult } from './micro/tcp-limit.js';
import { BENCH_DIR, BenchCluster, BUSY_POLL_US, DEFAULT_DETECTOR, MemberPool, REPO_ROOT, type ClusterOptions, type Member, type MemberWorker } from './lib/cluster.js';
import { cpuWindow, systemIdle, type CpuShare } from './lib/cpu.js';
import { spawnWorker, type Worker } from './lib/ipc.js';
import type { ConcurrentResult, SequentialResult } from './lib/load.js';
import { type FailoverReport, type LogLevel, type PlacementReport, type RedisCommands, type RedisMode, type VerifyReport } from './lib/protocol.js';
import { RedisServer, redisServerPath, redisVersion } from './lib/redis-server.js';
import { fmtRate, fmtRatio, fmtSpread, fmtUs, renderTable, type Row, type Verdict } from './lib/report.js';
import { spread, type Spread } from './lib/stats.js';

// ---- settings --------------------------------------------------------------------------------

type Mode = 'quick' | 'full';
type ScenarioName = 'counter' | 'local' | 'migration' | 'failover';
const SCENARIOS: readonly ScenarioName[] = ['counter', 'local', 'migration', 'failover'];

interface Settings {
  readonly mode: Mode;
  readonly runs: number;
  readonly concurrency: number;
  readonly counters: number;
  readonly concWarmupMs: number;
  readonly concMs: number;
  readonly seqWarmupMs: number;
  readonly seqMs: number;
  /** Unmeasured pass per side before the runs (JIT, connections, caches). */
  readonly warmPassMs: number;
  readonly tcpSeconds: number;
  /** Counters created for the migration and memory scenarios. */
  readonly bulkCounters: number;
  readonly failoverSamples: number;
  readonly only: ReadonlySet<ScenarioName>;
  /** Backup counts of the counter scenario to run (default 0, 1, 2). */
  readonly backups: readonly number[];
  readonly profile: boolean;
  /** Members' log level (default warn). */
  readonly logLevel: LogLevel;
  readonly out: string;
}

/** Short failure-detector settings for the failover scenario (defaults are 1000/6000 ms). */
const FAILOVER_DETECTOR = { heartbeatIntervalMs: 250, maxNoHeartbeatMs: 1500 } as const;
const PORTS = { b0: 17701, b1: 17711, b2: 17721, localUsed: 17731, remote: 17761, migration: 17741, failover: 17751, redis: 17791 } as const;

const TARGETS = {
  backup1VsWait: 2.0,
  backup0VsPipelined: 1.0,
  backup1SeqP50VsWait: 0.6,
  localOpsPerSec: 2_000_000,
  remoteVsTcp: 0.4,
} as const;

function parseArgs(argv: readonly string[]): Settings {
  const quick = argv.includes('--quick');
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    if (i >= 0) return argv[i + 1];
    const eq = argv.find((a) => a.startsWith(`${flag}=`));
    return eq?.slice(flag.length + 1);
  };
  const known = new Set(['--quick', '--runs', '--only', '--backups', '--out', '--profile', '--log-level']);
  for (const a of argv) {
    if (a.startsWith('--') && !known.has(a.split('=')[0])) throw new Error(`unknown option ${a} (known: ${[...known].join(', ')})`);
  }
  const only = new Set((value('--only') ?? SCENARIOS.join(',')).split(',').map((s) => s.trim()) as ScenarioName[]);
  for (const s of only) if (!SCENARIOS.includes(s)) throw new Error(`--only: unknown scenario '${s}' (known: ${SCENARIOS.join(', ')})`);
  const backups = (value('--backups') ?? '0,1,2').split(',').map(Number);
  if (backups.some((b) => ![0, 1, 2].includes(b))) throw new Error('--backups takes a list of 0, 1, 2');
  const logLevel = (value('--log-level') ?? 'warn') as LogLevel;
  if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(logLevel)) throw new Error(`--log-level: unknown level '${logLevel}'`);
  const runsGiven = value('--runs');
  const runs = Number(runsGiven ?? (quick ? 3 : 5));
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
  const date = new Date().toISOString().slice(0, 10);
  return {
    mode: quick ? 'quick' : 'full',
    runs,
    concurrency: 1000,
    counters: 1000,
    concWarmupMs: quick ? 150 : 500,
    concMs: quick ? 500 : 2000,
    seqWarmupMs: quick ? 50 : 200,
    seqMs: quick ? 300 : 1500,
    warmPassMs: quick ? 300 : 1500,
    tcpSeconds: quick ? 0.5 : 2,
    bulkCounters: quick ? 200_000 : 1_000_000,
    failoverSamples: runsGiven !== undefined ? runs : quick ? 1 : 3,
    only,
    backups,
    profile: argv.includes('--profile'),
    logLevel,
    out: resolve(value('--out') ?? resolve(BENCH_DIR, 'results', `${date}.json`)),
  };
}

// ---- resources (always cleaned up) ----------------------------------------------------------

const cleanups = new Set<() => Promise<void>>();
function track(cleanup: () => Promise<void>): () => Promise<void> {
  cleanups.add(cleanup);
  return async () => {
    cleanups.delete(cleanup);
    await cleanup();
  };
}
async function cleanupAll(): Promise<void> {
  const all = [...cleanups];
  cleanups.clear();
  await Promise.allSettled(all.map((c) => c()));
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping every process the harness started…`);
    void cleanupAll().finally(() => process.exit(130));
  });
}

let pool: MemberPool | null = null;

/** " (pids m0 …, load …)" for the log, so CPU profiles can be matched to roles. */
function pidList(): string {
  if (pool === null) return '';
  return ` (pids ${pool.workers.map((w, k) => `${k === 3 ? 'load' : `m${k}`} ${w.pid}`).join(', ')})`;
}

let memberLogLevel: LogLevel = 'warn';

async function startCluster(opts: ClusterOptions): Promise<{ cluster: BenchCluster; stop: () => Promise<void> }> {
  if (pool === null) throw new Error('member pool not started');
  const cluster = await BenchCluster.start(pool, { logLevel: memberLogLevel, ...opts });
  return { cluster, stop: track(() => cluster.stop()) };
}

// ---- results ----------------------------------------------------------------------------------

const rows: Row[] = [];
const failures: string[] = [];
const notes: string[] = [];
const results: Record<string, unknown> = {};

function verdict(ok: boolean): Verdict {
  return ok ? 'PASS' : 'FAIL';
}

function check(label: string, report: VerifyReport): void {
  if (report.mismatches > 0) {
    const message = `VERIFY FAILED — ${label}: ${report.mismatches} of ${report.checked} counters differ from the acknowledged increments: ${report.examples.join('; ')}`;
    failures.push(message);
    console.error(`\n!!! ${message}\n`);
  }
}

function noteErrors(label: string, r: { errors: number; firstError: string | null }): void {
  if (r.errors > 0) {
    const message = `${label}: ${r.errors} calls failed (first: ${r.firstError ?? '?'})`;
    failures.push(message);
    console.error(`!!! ${message}`);
  }
}

/** Runs one scenario; an error is recorded (row + failure) and the next scenario still runs. */
async function scenario(label: string, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (error) {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    failures.push(`${label}: ${message}`);
    console.error(`\n!!! ${label} failed: ${message}\n`);
    rows.push({ scenario: label, shoal: 'ERROR (see log)', anchor: '', ratio: '', target: '', verdict: 'ERROR' });
  }
}

function log(message: string): void {
  console.log(`[bench ${((performance.now() - T0) / 1000).toFixed(1)}s] ${message}`);
}

const T0 = performance.now();

// ---- anchors ----------------------------------------------------------------------------------

interface Anchor {
  readonly label: string;
  readonly pids: Record<string, number>;
  conc(): Promise<ConcurrentResult>;
  seq(): Promise<SequentialResult>;
  /** WAIT anchor only: the same sequential calls with INCRBY and WAIT each awaited (two round trips). */
  readonly seqTwoTrips: (() => Promise<SequentialResult>) | null;
  verify(): Promise<VerifyReport>;
  warm(): Promise<void>;
}

interface RedisSetup {
  readonly version: string;
  readonly plain: Anchor;
  readonly wait: Anchor;
  /** Ends the redis-server processes and the client processes. */
  readonly stop: () => Promise<void>;
}

async function startRedis(s: Settings, path: string): Promise<RedisSetup> {
  const base = PORTS.redis;
  const servers: RedisServer[] = [];
  const clients: Worker<RedisCommands>[] = [];
  const stop = track(async () => {
    await Promise.all(clients.map((c) => c.stop()));
    await Promise.all(servers.map((srv) => srv.stop()));
  });
  const plainServer = await RedisServer.start(path, base);
  servers.push(plainServer);
  const waitPrimary = await RedisServer.start(path, base + 1);
  servers.push(waitPrimary);
  const waitReplica = await RedisServer.start(path, base + 2, base + 1);
  servers.push(waitReplica);

  const client = async (label: string, port: number, replicaPort: number | null, connections: number, mode: RedisMode, serverPids: Record<string, number>): Promise<Anchor> => {
    const worker = spawnWorker<RedisCommands>(resolve(BENCH_DIR, 'redis-client.ts'), [], { label, cwd: REPO_ROOT });
    clients.push(worker);
    await worker.call('connect', { port, replicaPort, connections, counters: s.counters, prefix: `bench:${mode}` });
    const conc = { concurrency: s.concurrency, warmupMs: s.concWarmupMs, durationMs: s.concMs };
    const seq = { warmupMs: s.seqWarmupMs, durationMs: s.seqMs };
    return {
      label,
      pids: { client: worker.pid, ...serverPids },
      conc: () => worker.call('concurrent', { ...conc, mode }),
      seq: () => worker.call('sequential', { ...seq, mode }),
      seqTwoTrips: mode === 'incrby-wait' ? () => worker.call('sequential', { ...seq, mode: 'incrby-then-wait' }) : null,
      verify: () => worker.call('verify', null),
      warm: async () => {
        await worker.call('concurrent', { concurrency: s.concurrency, warmupMs: 0, durationMs: s.warmPassMs, mode });
        await worker.call('sequential', { warmupMs: 0, durationMs: s.warmPassMs / 4, mode });
      },
    };
  };
  const [plain, wait] = await Promise.all([
    client('redis-client-incrby', base, null, 1, 'incrby', { server: plainServer.pid }),
    client('redis-client-wait', base + 1, base + 2, 10, 'incrby-wait', { server: waitPrimary.pid, replica: waitReplica.pid }),
  ]);
  return { version: redisVersion(path), plain, wait, stop };
}

// ---- scenario 1 and 2: counters on 3 members + a load member, against Redis and TCP -------------

interface CounterPhase {
  readonly backups: number;
  readonly placement: PlacementReport;
  readonly conc: ConcurrentResult[];
  readonly seq: SequentialResult[];
  /** The same sequential runs from a second load member that busy-polls (invocation.busyPollUs). */
  readonly seqPoll: SequentialResult[];
  /** The latency floor (raw Node TCP through the same hops, nothing else running), per run. */
  readonly floorSleep: TcpLatencyResult[];
  readonly floorPoll: TcpLatencyResult[];
  /** CPU of every process during the busy-polling sequential runs. */
  readonly seqPollCpu: Record<string, CpuShare>[];
  readonly anchorConc: ConcurrentResult[];
  readonly anchorSeq: SequentialResult[];
  /** Redis INCRBY then WAIT, each awaited (1-backup phase only). */
  readonly anchorSeqTwoTrips: SequentialResult[];
  readonly tcp: number[];
  readonly cpu: Record<string, CpuShare>[];
  readonly anchorCpu: Record<string, CpuShare>[];
  readonly verify: VerifyReport[];
  readonly anchorVerify: VerifyReport[];
  /** heapUsed (MB, no gc) of each member process after the last run. */
  heapMB: Record<string, number>;
  /** Longest event-loop stall (ms) of each member during the Shoal 1000-concurrent runs. */
  loopDelayMaxMs: Record<string, number>;
}

/** m0..m2 own the partitions; `load` drives the calls; `poll` is the busy-polling sequential caller. */
function roleOf(k: number): string {
  return k === 3 ? 'load' : k === 4 ? 'poll' : `m${k}`;
}

function clusterPids(cluster: BenchCluster): Record<string, number> {
  const out: Record<string, number> = {};
  cluster.members.forEach((m, k) => {
    out[roleOf(k)] = m.worker.pid;
  });
  return out;
}

async function counterPhase(s: Settings, backups: number, port: number, anchor: Anchor | null, withTcp: boolean): Promise<CounterPhase> {
  log(`counters, ${backups} sync backup(s): starting 3 members + 2 lite load members (one busy-polls) on 127.0.0.1:${port}..${port + 4}${pidList()}`);
  const { cluster, stop } = await startCluster({
    label: `b${backups}`,
    members: 5,
    basePort: port,
    backupCount: backups,
    lite: [3, 4],
    busyPoll: [4],
  });
  try {
    const load = cluster.member(3).worker;
    const poll = cluster.member(4).worker;
    const placement = await load.call('prepareCounters', { count: s.counters, prefix: `b${backups}c`, backupCount: backups });
    await poll.call('prepareCounters', { count: s.counters, prefix: `b${backups}p`, backupCount: backups });
    const phase: CounterPhase = { backups, placement, conc: [], seq: [], seqPoll: [], floorSleep: [], floorPoll: [], seqPollCpu: [], anchorConc: [], anchorSeq: [], anchorSeqTwoTrips: [], tcp: [], cpu: [], anchorCpu: [], verify: [], anchorVerify: [], heapMB: {}, loopDelayMaxMs: {} };
    const pids = clusterPids(cluster);
    // Warm-up pass (not measured): JIT, connections.
    await load.call('concurrent', { concurrency: s.concurrency, warmupMs: 0, durationMs: s.warmPassMs });
    await load.call('sequential', { warmupMs: 0, durationMs: s.warmPassMs / 4 });
    await poll.call('sequential', { warmupMs: 0, durationMs: s.warmPassMs / 4 });
    await anchor?.warm();
    const conc = { concurrency: s.concurrency, warmupMs: s.concWarmupMs, durationMs: s.concMs };
    const seq = { warmupMs: s.seqWarmupMs, durationMs: s.seqMs };
    // The floor under the sequential figures: raw sockets through the same number of hops.
    const floorRig = backups <= 1 ? await startTcpLatencyRig(backups === 0 ? 2 : 4) : null;
    const stopFloor = floorRig === null ? null : track(() => floorRig.stop());
    for (let run = 0; run < s.runs; run++) {
      const shoalFirst = run % 2 === 0;
      const shoalConc = async (): Promise<void> => {
        await Promise.all(cluster.members.map((m) => m.worker.call('loopDelay', null)));
        const w = cpuWindow(pids);
        const r = await load.call('concurrent', conc);
        phase.cpu.push(w.stop());
        const delays = await Promise.all(cluster.members.map((m) => m.worker.call('loopDelay', null)));
        delays.forEach((ms, k) => {
          const role = roleOf(k);
          phase.loopDelayMaxMs[role] = Math.max(phase.loopDelayMaxMs[role] ?? 0, ms);
        });
        noteErrors(`Shoal ${backups} backups concurrent run ${run + 1}`, r);
        phase.conc.push(r);
      };
      const anchorConc = async (): Promise<void> => {
        if (anchor === null) return;
        const w = cpuWindow(anchor.pids);
        const r = await anchor.conc();
        phase.anchorCpu.push(w.stop());
        noteErrors(`${anchor.label} concurrent run ${run + 1}`, r);
        phase.anchorConc.push(r);
      };
      const tcp = async (): Promise<void> => {
        if (withTcp) phase.tcp.push((await measureTcpLimit({ seconds: s.tcpSeconds, inFlight: s.concurrency })).msgsPerSec);
      };
      const shoalSeq = async (): Promise<void> => {
        const r = await load.call('sequential', seq);
        noteErrors(`Shoal ${backups} backups sequential run ${run + 1}`, r);
        phase.seq.push(r);
      };
      const shoalSeqPoll = async (): Promise<void> => {
        const w = cpuWindow(pids);
        const r = await poll.call('sequential', seq);
        phase.seqPollCpu.push(w.stop());
        noteErrors(`Shoal ${backups} backups sequential (busy-poll) run ${run + 1}`, r);
        phase.seqPoll.push(r);
      };
      const anchorSeq = async (): Promise<void> => {
        if (anchor === null) return;
        const r = await anchor.seq();
        noteErrors(`${anchor.label} sequential run ${run + 1}`, r);
        phase.anchorSeq.push(r);
      };
      const anchorSeqTwoTrips = async (): Promise<void> => {
        if (anchor?.seqTwoTrips == null) return;
        const r = await anchor.seqTwoTrips();
        noteErrors(`${anchor.label} sequential (INCRBY then WAIT) run ${run + 1}`, r);
        phase.anchorSeqTwoTrips.push(r);
      };
      const floor = async (): Promise<void> => {
        if (floorRig === null) return;
        phase.floorSleep.push(await floorRig.measure(s.seqMs / 1000, false));
        phase.floorPoll.push(await floorRig.measure(s.seqMs / 1000, true));
      };
      // Alternate which side goes first (ABBA), so drift on a noisy machine cancels out.
      for (const step of shoalFirst ? [shoalConc, anchorConc, tcp, shoalSeq, anchorSeq, shoalSeqPoll, anchorSeqTwoTrips, floor] : [floor, anchorSeqTwoTrips, tcp, anchorConc, shoalConc, shoalSeqPoll, anchorSeq, shoalSeq]) await step();
      const v = await load.call('verify', null);
      check(`Shoal counters (${backups} sync backups) after run ${run + 1}`, v);
      phase.verify.push(v);
      check(`Shoal counters of the busy-polling caller (${backups} sync backups) after run ${run + 1}`, await poll.call('verify', null));
      if (anchor !== null) {
        const av = await anchor.verify();
        check(`${anchor.label} after run ${run + 1}`, av);
        phase.anchorVerify.push(av);
      }
      const last = phase.conc[phase.conc.length - 1];
      log(
        `  run ${run + 1}/${s.runs}: Shoal ${fmtRate(last.opsPerSec)} ops/s, seq p50 ${fmtUs(phase.seq[phase.seq.length - 1].p50us)} (busy-poll ${fmtUs(phase.seqPoll[phase.seqPoll.length - 1].p50us)})` +
          (anchor === null ? '' : `; ${anchor.label} ${fmtRate(phase.anchorConc[phase.anchorConc.length - 1].opsPerSec)} ops/s, seq p50 ${fmtUs(phase.anchorSeq[phase.anchorSeq.length - 1].p50us)}`) +
          (withTcp ? `; TCP limit ${fmtRate(phase.tcp[phase.tcp.length - 1])} msgs/s` : '') +
          `; verified ${v.checked} counters (sum ${v.total})`,
      );
    }
    await stopFloor?.();
    // No gc() here: a full collection of a member's heap can stall it for seconds, long enough
    // for the failure detector to suspect it.
    const mems = await Promise.all(cluster.members.map((m) => m.worker.call('mem', null)));
    mems.forEach((m, k) => {
      phase.heapMB[roleOf(k)] = Math.round(m.heapUsed / 1e6);
    });
    // --profile: one extra, unmeasured 1000-concurrent run with every member profiled.
    const roles = cluster.members.map((_, k) => roleOf(k));
    await profiled(s, `counter-b${backups}`, cluster, roles, async () => {
      await load.call('concurrent', { ...conc, durationMs: conc.durationMs * 2 });
      await load.call('sequential', seq);
    });
    // Sequential calls alone: per-call costs a 1000-concurrent profile hides behind batching.
    await profiled(s, `counter-b${backups}-sequential-poll`, cluster, roles, () => poll.call('sequential', { ...seq, durationMs: seq.durationMs * 2 }));
    return phase;
  } catch (error) {
    // A stall or a crash: say what the engine was doing before tearing it down.
    const snapshot = (): Promise<string> =>
      Promise.all(cluster.members.map((m) => m.worker.call('diag', null).catch((e: unknown) => `unavailable: ${String(e)}`))).then((d) => JSON.stringify(d));
    const first = await snapshot();
    await new Promise((r) => setTimeout(r, 1000));
    const second = await snapshot();
    const message = `${error instanceof Error ? error.message : String(error)}\n  engine state: ${first}\n  1 s later:    ${second}`;
    throw new Error(message, { cause: error });
  } finally {
    await stop();
  }
}

/**
 * The remote path like for like with the TCP echo: two processes, one member that owns every
 * partition and one lite load member, 0 backups, 1000 calls in flight — against the echo's two
 * processes, alternating. (The 4-process counter cluster against the 2-process echo compares
 * four processes sharing two cores with two.)
 */
interface RemotePhase {
  readonly conc: ConcurrentResult[];
  readonly tcp: number[];
  readonly cpu: Record<string, CpuShare>[];
}

async function remotePathPhase(s: Settings): Promise<RemotePhase> {
  log(`remote path: 1 member + 1 lite load member on 127.0.0.1:${PORTS.remote}..${PORTS.remote + 1}, 0 backups, against the TCP echo`);
  const { cluster, stop } = await startCluster({ label: 'remote', members: 2, basePort: PORTS.remote, backupCount: 0, lite: [1] });
  try {
    const load = cluster.member(1).worker;
    await load.call('prepareCounters', { count: s.counters, prefix: 'remote', backupCount: 0 });
    await load.call('concurrent', { concurrency: s.concurrency, warmupMs: 0, durationMs: s.warmPassMs });
    const out: RemotePhase = { conc: [], tcp: [], cpu: [] };
    const pids = { member: cluster.member(0).worker.pid, load: load.pid };
    for (let run = 0; run < s.runs; run++) {
      const shoal = async (): Promise<void> => {
        const w = cpuWindow(pids);
        const r = await load.call('concurrent', { concurrency: s.concurrency, warmupMs: s.concWarmupMs, durationMs: s.concMs });
        out.cpu.push(w.stop());
        noteErrors(`remote path run ${run + 1}`, r);
        out.conc.push(r);
      };
      const tcp = async (): Promise<void> => {
        out.tcp.push((await measureTcpLimit({ seconds: s.tcpSeconds, inFlight: s.concurrency })).msgsPerSec);
      };
      for (const step of run % 2 === 0 ? [shoal, tcp] : [tcp, shoal]) await step();
      const v = await load.call('verify', null);
      check(`remote path counters after run ${run + 1}`, v);
      log(`  run ${run + 1}/${s.runs}: Shoal ${fmtRate(out.conc[run].opsPerSec)} ops/s; TCP echo ${fmtRate(out.tcp[run])} msgs/s; verified ${v.checked} counters`);
    }
    await profiled(s, 'remote', cluster, ['member', 'load'], () => load.call('concurrent', { concurrency: s.concurrency, warmupMs: 0, durationMs: s.concMs * 2 }));
    const r = ratios(
      out.conc.map((x) => x.opsPerSec),
      out.tcp,
    );
    rows.push({
      scenario: '1. remote path, 2 processes (1 member owning all + lite load member), 0 backups, 1000 concurrent',
      shoal: `${fmtSpread(spread(out.conc.map((x) => x.opsPerSec)), fmtRate)} ops/s`,
      anchor: `Node TCP echo, 2 procs: ${fmtSpread(spread(out.tcp), fmtRate)} msgs/s`,
      ratio: fmtSpread(r, fmtRatio),
      target: `≥ ${TARGETS.remoteVsTcp.toFixed(2)}×`,
      verdict: verdict(r.median >= TARGETS.remoteVsTcp),
    });
    notes.push(`remote path (2 processes): CPU % of one core (and % waiting for a core): ${medianCpu(out.cpu)}; CPU time per call: ${cpuPerOp(out.cpu, out.conc)}`);
    return out;
  } finally {
    await stop();
  }
}

function ratios(a: readonly number[], b: readonly number[]): Spread {
  return spread(a.map((x, i) => x / b[i]));
}

/** Median CPU µs per acknowledged call, per process and in total (robust to a busy machine). */
function cpuPerOp(samples: readonly Record<string, CpuShare>[], results: readonly { readonly acked: number }[]): string {
  if (samples.length === 0 || samples.length !== results.length) return '';
  const keys = Object.keys(samples[0]);
  const per = (f: (sample: Record<string, CpuShare>) => number): number => spread(samples.map((sample, i) => (f(sample) / results[i].acked) * 1e6)).median;
  const total = per((sample) => keys.reduce((sum, k) => sum + (sample[k]?.seconds ?? 0), 0));
  return `${total.toFixed(1)} µs (${keys.map((k) => `${k} ${per((sample) => sample[k]?.seconds ?? 0).toFixed(1)}`).join(', ')})`;
}

function medianCpu(samples: readonly Record<string, CpuShare>[]): string {
  if (samples.length === 0) return '';
  const keys = Object.keys(samples[0]);
  const med = (k: string, f: (c: CpuShare) => number): number => Math.round(spread(samples.map((s) => (s[k] === undefined ? 0 : f(s[k])))).median);
  return keys.map((k) => `${k} ${med(k, (c) => c.cpu)}% (waited ${med(k, (c) => c.waitingForCore)}%)`).join(', ');
}

function counterRows(phases: readonly CounterPhase[], redisSkipped: string | null): void {
  for (const p of phases) {
    const conc = spread(p.conc.map((r) => r.opsPerSec));
    const label = `${p.backups} sync backup${p.backups === 1 ? '' : 's'}`;
    const hasAnchor = p.anchorConc.length > 0;
    const anchorName = p.backups === 0 ? 'Redis INCRBY auto-pipelined' : 'Redis INCRBY+WAIT 1 0, 10 conns';
    const anchorSeqName = p.backups === 0 ? 'Redis INCRBY' : 'Redis INCRBY+WAIT 1 0';
    const skippedAnchor = p.backups === 2 ? 'no Redis equivalent (WAIT 2 needs 2 replicas)' : (redisSkipped ?? 'n/a');
    let concRatio = 'n/a';
    let concVerdict: Verdict = 'info';
    let concTarget = '';
    if (p.backups === 0) concTarget = `≥ ${TARGETS.backup0VsPipelined.toFixed(1)}×`;
    if (p.backups === 1) concTarget = `≥ ${TARGETS.backup1VsWait.toFixed(1)}×`;
    if (hasAnchor) {
      const r = ratios(
        p.conc.map((x) => x.opsPerSec),
        p.anchorConc.map((x) => x.opsPerSec),
      );
      concRatio = fmtSpread(r, fmtRatio);
      if (p.backups === 0) concVerdict = verdict(r.median >= TARGETS.backup0VsPipelined);
      if (p.backups === 1) concVerdict = verdict(r.median >= TARGETS.backup1VsWait);
    } else if (concTarget !== '') {
      concVerdict = 'skipped';
    }
    rows.push({
      scenario: `1. counter inc, 3 members, ${label}, 1000 concurrent`,
      shoal: `${fmtSpread(conc, fmtRate)} ops/s`,
      anchor: hasAnchor ? `${anchorName}: ${fmtSpread(spread(p.anchorConc.map((x) => x.opsPerSec)), fmtRate)} ops/s` : skippedAnchor,
      ratio: concRatio,
      target: concTarget,
      verdict: concVerdict,
    });
    // The sequential target is judged for both callers: the default one (sleeps between
    // answers) and one with invocation.busyPollUs (polls while its call waits; costs CPU).
    const seqTarget = p.backups === 1 ? `p50 ≤ ${TARGETS.backup1SeqP50VsWait.toFixed(1)}×` : '';
    const sequentialRow = (results: readonly SequentialResult[], how: string): void => {
      let seqRatio = 'n/a';
      let seqVerdict: Verdict = 'info';
      if (hasAnchor && results.length === p.anchorSeq.length) {
        const r = ratios(
          results.map((x) => x.p50us),
          p.anchorSeq.map((x) => x.p50us),
        );
        seqRatio = `p50 ${fmtSpread(r, fmtRatio)}`;
        if (p.backups === 1) seqVerdict = verdict(r.median <= TARGETS.backup1SeqP50VsWait);
      } else if (seqTarget !== '') {
        seqVerdict = 'skipped';
      }
      rows.push({
        scenario: `1. counter inc, 3 members, ${label}, sequential${how}`,
        shoal: `p50 ${fmtSpread(spread(results.map((r) => r.p50us)), fmtUs)}, p99 ${fmtSpread(spread(results.map((r) => r.p99us)), fmtUs)}`,
        anchor: hasAnchor
          ? `${anchorSeqName}: p50 ${fmtSpread(spread(p.anchorSeq.map((x) => x.p50us)), fmtUs)}, p99 ${fmtSpread(spread(p.anchorSeq.map((x) => x.p99us)), fmtUs)}`
          : skippedAnchor,
        ratio: seqRatio,
        target: seqTarget,
        verdict: seqVerdict,
      });
    };
    sequentialRow(p.seq, '');
    if (p.seqPoll.length > 0) sequentialRow(p.seqPoll, `, caller busy-polls ${BUSY_POLL_US} µs`);
    // The same WAIT anchor written the usual way (each command awaited): information, the target
    // is judged above against Redis's best case.
    if (p.anchorSeqTwoTrips.length > 0 && p.anchorSeqTwoTrips.length === p.seq.length && p.seqPoll.length === p.seq.length) {
      const two = p.anchorSeqTwoTrips.map((x) => x.p50us);
      rows.push({
        scenario: `1. counter inc, 3 members, ${label}, sequential, vs INCRBY then WAIT each awaited`,
        shoal: `p50 ${fmtSpread(spread(p.seq.map((r) => r.p50us)), fmtUs)}; caller busy-polls: ${fmtSpread(spread(p.seqPoll.map((r) => r.p50us)), fmtUs)}`,
        anchor: `Redis await INCRBY; await WAIT 1 0: p50 ${fmtSpread(spread(two), fmtUs)}, p99 ${fmtSpread(spread(p.anchorSeqTwoTrips.map((x) => x.p99us)), fmtUs)}`,
        ratio: `p50 ${fmtRatio(ratios(p.seq.map((r) => r.p50us), two).median)}; busy-poll ${fmtRatio(ratios(p.seqPoll.map((r) => r.p50us), two).median)}`,
        target: '',
        verdict: 'info',
      });
    }
    // The floor: what bare sockets through the same hops take, and its ratio to the same anchor.
    const hops = p.backups === 0 ? '2 hops (caller → owner → caller)' : '4 hops (caller → owner → backup → owner → caller)';
    for (const [results, how] of [
      [p.floorSleep, 'caller sleeps'],
      [p.floorPoll, 'caller polls'],
    ] as const) {
      if (results.length === 0) continue;
      rows.push({
        scenario: `1. floor: raw Node TCP, ${hops}, ${how}`,
        shoal: `p50 ${fmtSpread(spread(results.map((r) => r.p50us)), fmtUs)}, p99 ${fmtSpread(spread(results.map((r) => r.p99us)), fmtUs)}`,
        anchor: hasAnchor ? `${anchorSeqName}: p50 ${fmtSpread(spread(p.anchorSeq.map((x) => x.p50us)), fmtUs)}` : skippedAnchor,
        ratio: hasAnchor && results.length === p.anchorSeq.length ? `p50 ${fmtSpread(ratios(results.map((r) => r.p50us), p.anchorSeq.map((x) => x.p50us)), fmtRatio)}` : 'n/a',
        target: '',
        verdict: 'info',
      });
    }
    if (p.tcp.length > 0) {
      const r = ratios(
        p.conc.map((x) => x.opsPerSec),
        p.tcp,
      );
      rows.push({
        scenario: '1. the 4-process cluster above (0 backups, 1000 concurrent) vs raw TCP limit',
        shoal: `${fmtSpread(conc, fmtRate)} ops/s`,
        anchor: `Node TCP echo, 2 procs: ${fmtSpread(spread(p.tcp), fmtRate)} msgs/s`,
        ratio: fmtSpread(r, fmtRatio),
        target: '',
        verdict: 'info',
      });
    }
    const pl = p.placement;
    notes.push(
      `${label}: the lite load member drove ${pl.counters} counters on ${pl.partitions} partitions (${pl.localOwned} owned by the load member, ${pl.backupHere} backed up on it; ` +
        `per owner: ${Object.values(pl.perOwner).join('/')}); CPU % of one core, and % of time the event loop waited for a core, during Shoal 1000-concurrent runs (median): ${medianCpu(p.cpu)}` +
        (p.anchorCpu.length > 0 ? `; during the Redis runs: ${medianCpu(p.anchorCpu)}` : '') +
        `; CPU time per call, all processes: Shoal ${cpuPerOp(p.cpu, p.conc)}` +
        (p.anchorCpu.length > 0 ? `, Redis ${cpuPerOp(p.anchorCpu, p.anchorConc)}` : '') +
        (p.seqPollCpu.length > 0 ? `; CPU time per sequential call of the busy-polling caller (its polling included): ${cpuPerOp(p.seqPollCpu, p.seqPoll)}` : '') +
        `; longest event-loop stall during those runs: ${Object.entries(p.loopDelayMaxMs).map(([k, v]) => `${k} ${v} ms`).join(', ')}` +
        `; heap used after the phase (MB, no gc): ${Object.entries(p.heapMB).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    );
  }
}

// ---- scenario 3: local-owner calls ----------------------------------------------------------

interface LocalResult {
  readonly conc: ConcurrentResult[];
  readonly seq: SequentialResult[];
}

async function localRuns(s: Settings, member: MemberWorker, label: string): Promise<LocalResult> {
  const out: LocalResult = { conc: [], seq: [] };
  await member.call('prepareCounters', { count: s.counters, prefix: 'local', backupCount: 1 });
  await member.call('concurrent', { concurrency: s.concurrency, warmupMs: 0, durationMs: s.warmPassMs });
  for (let run = 0; run < s.runs; run++) {
    const r = await member.call('concurrent', { concurrency: s.concurrency, warmupMs: s.concWarmupMs, durationMs: s.concMs });
    noteErrors(`${label} run ${run + 1}`, r);
    out.conc.push(r);
    const q = await member.call('sequential', { warmupMs: s.seqWarmupMs, durationMs: s.seqMs / 2 });
    noteErrors(`${label} sequential run ${run + 1}`, q);
    out.seq.push(q);
    const v = await member.call('verify', null);
    check(`${label} counters after run ${run + 1}`, v);
    log(`  run ${run + 1}/${s.runs}: ${fmtRate(r.opsPerSec)} ops/s (1000 concurrent), sequential ${fmtRate(q.opsPerSec)} ops/s; verified ${v.checked} counters`);
  }
  return out;
}

/**
 * 3. Local-owner calls, in a fresh process: one member alone (CounterService at its default
 * backup-count 1, with no other member to back up to), 1000 concurrent callers.
 */
async function localScenario(s: Settings, cluster: BenchCluster): Promise<LocalResult> {
  const member = cluster.member(0).worker;
  log('local-owner calls: 1 member alone, no network, fresh process');
  const out = await localRuns(s, member, 'local');
  await profiled(s, 'local', cluster, ['m0'], async () => {
    await member.call('concurrent', { concurrency: s.concurrency, warmupMs: s.concWarmupMs, durationMs: s.concMs });
  });
  const conc = spread(out.conc.map((r) => r.opsPerSec));
  rows.push({
    scenario: '3. local-owner counter.inc, 1 member, 1000 concurrent',
    shoal: `${fmtSpread(conc, fmtRate)} ops/s`,
    anchor: `sequential caller: ${fmtSpread(spread(out.seq.map((r) => r.opsPerSec)), fmtRate)} ops/s`,
    ratio: fmtRatio(conc.median / TARGETS.localOpsPerSec),
    target: `≥ ${fmtRate(TARGETS.localOpsPerSec)} ops/s`,
    verdict: verdict(conc.median >= TARGETS.localOpsPerSec),
  });
  if (results.localAfterTraffic !== undefined) {
    const used = spread((results.localAfterTraffic as LocalResult).conc.map((r) => r.opsPerSec));
    rows.push({
      scenario: '3. same, in a process that had served the counter scenarios',
      shoal: `${fmtSpread(used, fmtRate)} ops/s`,
      anchor: 'vs the fresh process above',
      ratio: fmtRatio(used.median / conc.median),
      target: '',
      verdict: 'info',
    });
  }
  return out;
}

/**
 * The local path again, in pool process 1 after it served as a member in the counter scenarios
 * (what every real member's process has been through): JIT state and heap as a member has them.
 */
async function localAfterTraffic(s: Settings): Promise<void> {
  log('local-owner calls again, in a process that served the counter scenarios');
  const { cluster, stop } = await startCluster({ label: 'used', members: 1, basePort: PORTS.localUsed, backupCount: 1, processes: [1] });
  try {
    results.localAfterTraffic = await localRuns(s, cluster.member(0).worker, 'local (used process)');
  } finally {
    await stop();
  }
}

// ---- scenarios 4 and 6: memory per entry, migration throughput -----------------------------

interface JoinResult {
  readonly joinMs: number;
  readonly migrationMs: number;
  readonly waitForMigrationsMs: number[];
  readonly entries: number;
  readonly payloadBytes: number;
}

async function joinAndMigrate(cluster: BenchCluster, k: number, timeoutMs: number): Promise<JoinResult> {
  const t0 = performance.now();
  await cluster.join(k);
  const joined = performance.now();
  const started = cluster.started();
  const waits = await Promise.all(started.map((m) => m.worker.call('waitSafe', { timeoutMs })));
  const safe = performance.now();
  const moved = await cluster.member(k).worker.call('entries', null);
  return {
    joinMs: joined - t0,
    migrationMs: safe - joined,
    waitForMigrationsMs: waits.map((w) => w.waitForMigrationsMs),
    entries: moved.entries,
    payloadBytes: moved.payloadBytes,
  };
}

async function migrationScenario(s: Settings): Promise<void> {
  const wantLocal = s.only.has('local');
  const wantMigration = s.only.has('migration');
  log(`member with --expose-gc on 127.0.0.1:${PORTS.migration} (${wantMigration ? '+2 joiners' : 'alone'})`);
  const { cluster, stop } = await startCluster({
    label: 'mig',
    members: 1,
    deferred: wantMigration ? 2 : 0,
    basePort: PORTS.migration,
    backupCount: 1,
  });
  try {
    const a = cluster.member(0).worker;
    if (wantLocal) results.local = await localScenario(s, cluster);
    if (!wantMigration) return;

    // 6. memory per entry
    log(`memory: creating ${s.bulkCounters.toLocaleString('en-US')} counters through IncOperation calls`);
    const entriesBefore = (await a.call('entries', null)).entries;
    const before = await a.call('heap', null);
    const populated = await a.call('populate', { count: s.bulkCounters, prefix: 'counter-', concurrency: 1000 });
    if (populated.errors > 0) failures.push(`populate: ${populated.errors} calls failed`);
    const after = await a.call('heap', null);
    const held = (await a.call('entries', null)).entries - entriesBefore;
    const perEntry = (after.heapUsed - before.heapUsed) / s.bulkCounters;
    log(`  ${held} new entries in ${Math.round(populated.ms)} ms; heap +${((after.heapUsed - before.heapUsed) / 1e6).toFixed(1)} MB = ${perEntry.toFixed(1)} B/entry`);
    results.memory = { counters: s.bulkCounters, entriesHeld: held, heapBefore: before, heapAfter: after, bytesPerEntry: perEntry, populateMs: populated.ms };
    if (held !== s.bulkCounters) failures.push(`memory scenario: member holds ${held} new entries, expected ${s.bulkCounters}`);
    rows.push({
      scenario: `6. memory per counter entry (heap after ${fmtRate(s.bulkCounters)} counters, gc'd)`,
      shoal: `${perEntry.toFixed(0)} B/entry`,
      anchor: `heap +${((after.heapUsed - before.heapUsed) / 1e6).toFixed(1)} MB; rss ${(after.rss / 1e6).toFixed(0)} MB`,
      ratio: '',
      target: '',
      verdict: 'info',
    });
    rows.push({
      scenario: `4. bulk create ${fmtRate(s.bulkCounters)} counters (local IncOperation, 1000 in flight)`,
      shoal: `${fmtRate(s.bulkCounters / (populated.ms / 1000))} ops/s`,
      anchor: '',
      ratio: '',
      target: '',
      verdict: 'info',
    });

    // 4. migration: an empty member joins the member holding everything, then a third one.
    log('migration: member 2 joins (empty)');
    const j1 = await joinAndMigrate(cluster, 1, 300_000);
    log(`  ${j1.entries} entries (${(j1.payloadBytes / 1e6).toFixed(1)} MB) migrated in ${Math.round(j1.migrationMs)} ms (join ${Math.round(j1.joinMs)} ms)`);
    log('migration: member 3 joins (empty)');
    const j2 = await joinAndMigrate(cluster, 2, 300_000);
    log(`  ${j2.entries} entries (${(j2.payloadBytes / 1e6).toFixed(1)} MB) on the new member after ${Math.round(j2.migrationMs)} ms`);
    results.migration = { counters: s.bulkCounters, backupCount: 1, secondMember: j1, thirdMember: j2 };
    for (const [label, j] of [
      ['member 2 of 2 joins', j1],
      ['member 3 of 3 joins', j2],
    ] as const) {
      const secs = j.migrationMs / 1000;
      rows.push({
        scenario: `4. migration, ${fmtRate(s.bulkCounters)} counters, 1 backup: ${label}`,
        shoal: `${fmtRate(j.entries / secs)} entries/s, ${(j.payloadBytes / 1e6 / secs).toFixed(1)} MB/s`,
        anchor: `${fmtRate(j.entries)} entries, ${(j.payloadBytes / 1e6).toFixed(1)} MB to the joiner; safe after ${(j.migrationMs / 1000).toFixed(2)} s (waitForMigrations ${j.waitForMigrationsMs.map((x) => (x / 1000).toFixed(2)).join('/')} s)`,
        ratio: '',
        target: '',
        verdict: 'info',
      });
    }
    log('verifying every counter after the migrations');
    const v = await a.call('verifyBulk', { count: s.bulkCounters, prefix: 'counter-', concurrency: 1000 });
    check('bulk counters after migrations', v);
    log(`  verified ${v.checked} counters, ${v.mismatches} mismatches`);
    if (v.mismatches > 0) {
      rows.push({ scenario: '4. values intact after migrations', shoal: `${v.mismatches} MISMATCHES`, anchor: '', ratio: '', target: 'all intact', verdict: 'FAIL' });
    } else {
      rows.push({ scenario: '4. values intact after migrations', shoal: `${v.checked.toLocaleString('en-US')} counters verified`, anchor: '', ratio: '', target: 'all intact', verdict: 'PASS' });
    }
  } finally {
    await stop();
  }
}

// ---- scenario 5: failover -----------------------------------------------------------------------

interface FailoverSample {
  readonly victim: string;
  readonly report: FailoverReport;
  readonly verified: VerifyReport;
}

async function failoverOnce(s: Settings, sample: number): Promise<FailoverSample> {
  const { cluster, stop } = await startCluster({
    label: `fo${sample}`,
    members: 4,
    basePort: PORTS.failover,
    backupCount: 1,
    lite: [3],
    ...FAILOVER_DETECTOR,
  });
  try {
    const load = cluster.member(3).worker;
    await load.call('prepareCounters', { count: 100, prefix: `fo${sample}`, backupCount: 1 });
    await load.call('concurrent', { concurrency: 100, warmupMs: 0, durationMs: 300 });
    const master = cluster.members.find((m) => m.info?.isMaster === true);
    // A counter owned by a serving member that is not the master (a master crash adds a takeover).
    let index = -1;
    let victim: Member | undefined;
    for (let k = 0; k < 100 && victim === undefined; k++) {
      const owner = await load.call('ownerOf', { index: k });
      const m = cluster.members.slice(0, 3).find((x) => x.info?.address === owner);
      if (m !== undefined && m !== master) {
        victim = m;
        index = k;
      }
    }
    if (victim === undefined) throw new Error('no counter owned by a non-master serving member');
    const report = await load.call('failover', { counterIndex: index, victimPid: victim.worker.pid, giveUpMs: 30_000 });
    const verified = await load.call('verify', null);
    check(`counters after SIGKILL of ${victim.spec.name}`, verified);
    return { victim: victim.spec.name, report, verified };
  } finally {
    await stop();
  }
}

async function failoverScenario(s: Settings): Promise<void> {
  const samples: FailoverSample[] = [];
  for (let k = 0; k < s.failoverSamples; k++) {
    log(`failover ${k + 1}/${s.failoverSamples}: 3 members + lite load member, 1 sync backup, SIGKILL the owner of a counter`);
    try {
      const r = await failoverOnce(s, k);
      samples.push(r);
      const { ms, failedCalls } = r.report;
      log(
        `  first increment on the dead owner's partition succeeded ${Math.round(ms)} ms after SIGKILL of ${r.victim}` +
          (failedCalls.length > 0 ? ` — ${failedCalls.length} increment(s) FAILED before that: ${failedCalls.map((f) => `at ${Math.round(f.atMs)} ms ${f.error}`).join('; ')}` : '') +
          `; ${r.verified.checked} counters verified (${r.verified.indeterminate} indeterminate)`,
      );
      if (failedCalls.length > 0) {
        failures.push(`failover sample ${k + 1}: after SIGKILL of one member (1 sync backup, 2 members left), ${failedCalls.length} increment(s) failed: ${failedCalls.map((f) => f.error).join('; ')}`);
      }
      if (Number.isNaN(ms)) failures.push(`failover sample ${k + 1}: no increment succeeded within 30 s of the SIGKILL`);
    } catch (error) {
      failures.push(`failover sample ${k + 1}: ${error instanceof Error ? error.message : String(error)}`);
      log(`  sample ${k + 1} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  results.failover = { samples, detector: FAILOVER_DETECTOR };
  const ok = samples.map((x) => x.report.ms).filter((ms) => !Number.isNaN(ms));
  const withErrors = samples.filter((x) => x.report.failedCalls.length > 0).length;
  rows.push({
    scenario: '5. failover: SIGKILL owner (1 sync backup) → next inc ok',
    shoal: ok.length === 0 ? 'no sample succeeded' : `${fmtSpread(spread(ok), (v) => `${Math.round(v)}`)} ms` + (withErrors > 0 ? `; ${withErrors}/${s.failoverSamples} samples had FAILED calls` : ''),
    anchor: `heartbeat ${FAILOVER_DETECTOR.heartbeatIntervalMs} ms, max-no-heartbeat ${FAILOVER_DETECTOR.maxNoHeartbeatMs} ms`,
    ratio: '',
    target: withErrors > 0 || ok.length < s.failoverSamples ? 'no failed calls' : '',
    verdict: withErrors > 0 || ok.length < s.failoverSamples ? 'FAIL' : 'info',
  });
}

// ---- machine, profile flags, output ---------------------------------------------------------

const PROFILE_DIR = resolve(BENCH_DIR, 'results', 'profiles');

/** With --profile: profiles every process of `cluster` (by role) while `measure` runs. */
async function profiled(s: Settings, label: string, cluster: BenchCluster, roles: readonly string[], measure: () => Promise<unknown>): Promise<void> {
  if (!s.profile) return;
  mkdirSync(PROFILE_DIR, { recursive: true });
  const members = cluster.started();
  await Promise.all(members.map((m) => m.worker.call('profileStart', null)));
  try {
    await measure();
  } finally {
    const files = await Promise.all(members.map((m, k) => m.worker.call('profileStop', { file: resolve(PROFILE_DIR, `${label}-${roles[k] ?? `m${k}`}.cpuprofile`) })));
    log(`  profiles: ${files.map((f) => relative(process.cwd(), f)).join(', ')}`);
  }
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

function machine(s: Settings, redis: string | null): Record<string, unknown> {
  const cpus = os.cpus();
  const pkg = JSON.parse(readFileSync(resolve(REPO_ROOT, 'node_modules/ioredis/package.json'), 'utf8')) as { version: string };
  return {
    mode: s.mode,
    date: new Date().toISOString(),
    cores: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGB: Math.round(os.totalmem() / 1e9),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    redisServer: redis ?? 'not installed',
    ioredis: pkg.version,
    loadAverageAtStart: os.loadavg(),
    gitCommit: git(['rev-parse', 'HEAD']),
    gitDirtySrc: git(['status', '--porcelain', '--', 'src']) !== '',
  };
}

function settingsSummary(s: Settings): Record<string, unknown> {
  return {
    runs: s.runs,
    concurrency: s.concurrency,
    counters: s.counters,
    concurrentWindowMs: s.concMs,
    concurrentWarmupMs: s.concWarmupMs,
    sequentialWindowMs: s.seqMs,
    warmPassMs: s.warmPassMs,
    tcpSeconds: s.tcpSeconds,
    bulkCounters: s.bulkCounters,
    failoverSamples: s.failoverSamples,
    detectorDefault: DEFAULT_DETECTOR,
    detectorFailover: FAILOVER_DETECTOR,
    scenarios: [...s.only],
    backups: s.backups,
  };
}

// ---- main --------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const s = parseArgs(process.argv.slice(2));
  memberLogLevel = s.logLevel;
  const redisPath = redisServerPath();
  const redisSkipped = redisPath === null ? 'skipped: redis-server not installed' : null;
  const info = machine(s, redisPath === null ? null : redisVersion(redisPath));
  log(
    `mode ${s.mode}: ${s.runs} runs per figure; ${info.cores as number} cores (${info.cpuModel as string}), Node ${process.version}, redis-server ${info.redisServer as string}`,
  );
  results.machine = info;
  results.settings = settingsSummary(s);

  const idleBefore = await systemIdle(500);
  info.idleBeforeStart = idleBefore;
  if (idleBefore !== null && idleBefore < 0.8) {
    const warning = `the machine was only ${Math.round(idleBefore * 100)}% idle before the run (other processes use the cores): absolute figures are low and ratios noisy`;
    notes.push(`WARNING: ${warning}`);
    log(`WARNING: ${warning}`);
  }

  try {
    // Member processes and Redis start together (both mostly wait on tsx / redis start-up).
    const needPool = s.only.size > 0;
    const poolReady = (async () => {
      if (!needPool) return;
      pool = new MemberPool(5);
      const p = pool;
      track(() => p.stop());
      await p.ready();
    })();
    let redis: RedisSetup | null = null;
    if (s.only.has('counter')) {
      if (redisPath !== null) {
        log(`starting redis-server on 127.0.0.1:${PORTS.redis} (standalone) and :${PORTS.redis + 1} + replica :${PORTS.redis + 2}; 5 member processes`);
        redis = await startRedis(s, redisPath);
      } else {
        log('redis-server is not on PATH: Redis rows are skipped (apt-get install -y redis-server)');
      }
    }
    await poolReady;
    if (s.only.has('counter')) {
      const phases: CounterPhase[] = [];
      results.counter = phases;
      const phase = async (backups: number, port: number, anchor: Anchor | null, withTcp: boolean): Promise<void> => {
        if (!s.backups.includes(backups)) return;
        await scenario(`counter scenario, ${backups} backups`, async () => {
          phases.push(await counterPhase(s, backups, port, anchor, withTcp));
        });
      };
      await phase(0, PORTS.b0, redis?.plain ?? null, true);
      await phase(1, PORTS.b1, redis?.wait ?? null, false);
      await redis?.stop(); // not needed any more: free the cores
      await phase(2, PORTS.b2, null, false);
      counterRows(phases, redisSkipped);
      if (s.backups.includes(0)) await scenario('remote path scenario', async () => void (results.remotePath = await remotePathPhase(s)));
    }
    if (s.only.has('local') && s.only.has('counter')) await scenario('local scenario (used process)', () => localAfterTraffic(s));
    if (s.only.has('local') || s.only.has('migration')) {
      // Fresh processes for the local, memory and migration scenarios: clean heap and JIT state.
      await pool?.recycle([0, 1, 2]);
      await scenario('local/migration/memory scenarios', () => migrationScenario(s));
    }
    if (s.only.has('failover')) await scenario('failover scenario', () => failoverScenario(s));
  } catch (error) {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    failures.push(`harness error: ${message}`);
    console.error(`\n!!! harness error: ${message}\n`);
    rows.push({ scenario: 'harness', shoal: 'ERROR (see log)', anchor: '', ratio: '', target: '', verdict: 'ERROR' });
  } finally {
    await cleanupAll();
  }
  info.loadAverageAtEnd = os.loadavg();

  results.rows = rows;
  results.notes = notes;
  results.failures = failures;
  results.elapsedSeconds = (performance.now() - T0) / 1000;
  mkdirSync(dirname(s.out), { recursive: true });
  writeFileSync(s.out, `${JSON.stringify(results, null, 2)}\n`);
  const mdOut = s.out.replace(/\.json$/, '') + '.md';

  const header =
    `Shoal benchmark — \`npm run bench${s.mode === 'quick' ? ' -- --quick' : ''}\`, ${s.runs} runs per figure (median [min..max]; ratios per run, same run, alternating sides)\n` +
    `${info.cores as number} cores ${info.cpuModel as string}, Node ${process.version}, redis-server ${info.redisServer as string}, ioredis ${info.ioredis as string}, ` +
    `commit ${String(info.gitCommit).slice(0, 12)}${info.gitDirtySrc === true ? ' (+uncommitted src changes)' : ''}` +
    (idleBefore === null ? '' : `, machine ${Math.round(idleBefore * 100)}% idle before the run`);
  console.log(`\n${header}\n`);
  notes.push(
    `failure detector: ${DEFAULT_DETECTOR.heartbeatIntervalMs}/${DEFAULT_DETECTOR.maxNoHeartbeatMs} ms (heartbeat/max-no-heartbeat) for throughput clusters, ` +
      `${FAILOVER_DETECTOR.heartbeatIntervalMs}/${FAILOVER_DETECTOR.maxNoHeartbeatMs} ms for failover`,
  );
  const table = `${renderTable(rows)}\n\n${notes.map((n) => `- ${n}`).join('\n')}\n`;
  console.log(table);
  writeFileSync(mdOut, `${header}\n\n${table}`);
  console.log(`results: ${relative(process.cwd(), s.out)}, ${relative(process.cwd(), mdOut)} (${((performance.now() - T0) / 1000).toFixed(1)} s)`);
  if (failures.length > 0) {
    console.error(`\n!!! ${failures.length} FAILURE(S) — the figures above are not trustworthy:`);
    for (const f of failures) console.error(`!!!   ${f}`);
    process.exitCode = 1;
  }
}

await main();
