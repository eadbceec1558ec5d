/**
 * A Shoal member process of the benchmark, driven by bench/run.ts over IPC
 * (`node --expose-gc --import tsx bench/member.ts`, spawned by lib/cluster.ts).
 *
 * It runs one Shoal instance at a time (`start` with a MemberSpec, `stop`), with CounterService
 * (examples/counter) at the spec's `backup-count`. The same program is a serving member, the
 * load member (a lite member that joined the cluster and drives the counter calls), the
 * local-owner member and the migration/memory member: the harness picks the role by the
 * commands it sends.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import {
  CounterMigrationOperation,
  CounterService,
  IncOperation,
  type Counter,
} from '../examples/counter/counter.js';
import {
  ObjectDataOutput,
  Operation,
  registerOperation,
  Shoal,
  type Config,
  type PartitionAwareOperation,
  type ShoalInstance,
} from '../src/index.js';
import { serve, type Handlers } from './lib/ipc.js';
import { driveConcurrent, driveSequential, sleep } from './lib/load.js';
import type {
  FailoverReport,
  HeapReport,
  MemberCommands,
  MemberDiagnostics,
  MemberInfo,
  MemberSpec,
  PlacementReport,
  ReplicaEntries,
  VerifyReport,
} from './lib/protocol.js';

let instance: ShoalInstance | null = null;
let service: CounterService | null = null;

/** The counters this member drives (load member / local-owner member), and what was acknowledged. */
let counters: Counter[] = [];
let acked = new Float64Array(0);
/** Calls that failed: the increment may or may not have been applied (indeterminate). */
let failed = new Float64Array(0);

function shoal(): ShoalInstance {
  if (instance === null) throw new Error('member not started');
  return instance;
}

function config(s: MemberSpec): Config {
  service = new CounterService();
  return {
    clusterName: s.clusterName,
    memberName: s.name,
    liteMember: s.lite,
    partitionCount: s.partitionCount,
    network: {
      host: '127.0.0.1',
      port: s.port,
      portAutoIncrement: false,
      join: { tcpIp: { enabled: true, members: [...s.seeds] }, multicast: { enabled: false }, joinTimeoutMs: s.joinTimeoutMs },
    },
    failureDetector: { heartbeatIntervalMs: s.heartbeatIntervalMs, maxNoHeartbeatMs: s.maxNoHeartbeatMs },
    invocation: { busyPollUs: s.busyPollUs },
    logging: { level: s.logLevel },
    services: [{ name: CounterService.NAME, implementation: service, properties: { 'backup-count': String(s.backupCount) } }],
  };
}

function info(): MemberInfo {
  const i = shoal();
  const cluster = i.getCluster();
  return {
    pid: process.pid,
    name: i.getName(),
    address: i.getNodeEngine().getThisAddress().key,
    uuid: cluster.getLocalMember().uuid,
    isMaster: cluster.isMaster(),
    members: cluster.getMembers().length,
    localPartitions: i.getPartitionService().getLocalPartitions().length,
  };
}

/** True when this member holds replica 0..lastIndex of the partition. */
function holdsReplica(partitionId: number, lastIndex: number): boolean {
  const node = shoal().node;
  for (let r = 0; r <= lastIndex; r++) {
    if (node.partitions.replicaAddress(partitionId, r)?.equals(node.address) === true) return true;
  }
  return false;
}

async function prepareCounters(args: MemberCommands['prepareCounters']['args']): Promise<PlacementReport> {
  const i = shoal();
  const partitions = i.getPartitionService();
  const localUuid = i.getCluster().getLocalMember().uuid;
  const names = Array.from({ length: args.count }, (_, k) => `${args.prefix}-${k}`);
  const partitionsUsed = new Set<number>();
  const perOwner: Record<string, number> = {};
  let localOwned = 0;
  let backupHere = 0;
  counters = [];
  for (let from = 0; from < names.length; from += 100) {
    const batch = await Promise.all(names.slice(from, from + 100).map((n) => i.getDistributedObject<Counter>(CounterService.NAME, n)));
    counters.push(...batch);
  }
  for (const name of names) {
    const p = partitions.getPartitionId(name);
    let owner = partitions.getPartitionOwner(p);
    for (let tries = 0; owner === null && tries < 200; tries++) {
      await sleep(10);
      owner = partitions.getPartitionOwner(p);
    }
    if (owner === null) throw new Error(`partition ${p} has no owner after 2 s`);
    if (owner.uuid === localUuid) localOwned++;
    else if (args.backupCount > 0 && holdsReplica(p, args.backupCount)) backupHere++;
    perOwner[owner.address.key] = (perOwner[owner.address.key] ?? 0) + 1;
    partitionsUsed.add(p);
  }
  acked = new Float64Array(counters.length);
  failed = new Float64Array(counters.length);
  return { counters: names.length, partitions: partitionsUsed.size, localOwned, backupHere, perOwner };
}

const onAck = (slot: number): void => {
  acked[slot % counters.length] += 1;
};
const onError = (slot: number): void => {
  failed[slot % counters.length] += 1;
};
const issueInc = (slot: number): Promise<number> => counters[slot % counters.length].inc(1);

async function verify(): Promise<VerifyReport> {
  const values = await Promise.all(counters.map((c) => c.get()));
  const examples: string[] = [];
  let mismatches = 0;
  let indeterminate = 0;
  let total = 0;
  for (let k = 0; k < counters.length; k++) {
    const got = values[k];
    total += got;
    if (got === acked[k]) continue;
    if (failed[k] > 0 && got >= acked[k] && got <= acked[k] + failed[k]) {
      indeterminate++;
      continue;
    }
    mismatches++;
    if (examples.length < 10) examples.push(`${counters[k].getName()}: value ${got}, acknowledged ${acked[k]}, failed calls ${failed[k]}`);
  }
  return { checked: counters.length, mismatches, examples, indeterminate, total };
}

// ---- bulk counters (migration / memory scenarios), created through operations -------------

function bulkName(prefix: string, k: number): string {
  return `${prefix}${k}`;
}

function bulkValue(k: number): number {
  return (k % 1000) + 1;
}

/**
 * Runs `count` calls, `concurrency` at a time; `call(k)` issues call number k and `onResult`
 * receives its value. Resolves with the number of calls that failed.
 */
async function pipelined<T>(count: number, concurrency: number, call: (k: number) => Promise<T>, onResult: (k: number, value: T) => void): Promise<number> {
  let next = 0;
  let errors = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      const k = next++;
      try {
        onResult(k, await call(k));
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return errors;
}

async function populate(args: MemberCommands['populate']['args']): Promise<{ ms: number; errors: number }> {
  const i = shoal();
  const ops = i.getNodeEngine().getOperationService();
  const partitions = i.getPartitionService();
  const t0 = performance.now();
  const errors = await pipelined(
    args.count,
    args.concurrency,
    (k) => {
      const name = bulkName(args.prefix, k);
      return ops.invokeOnPartition<number>(CounterService.NAME, new IncOperation(name, bulkValue(k)), partitions.getPartitionId(name));
    },
    () => {},
  );
  return { ms: performance.now() - t0, errors };
}

/**
 * Reads one partition's counters on its owner, as a Map (bench-only operation: verifying 1M
 * counters one `get()` at a time would take longer than the migration it checks).
 */
class PartitionSnapshotOperation extends Operation implements PartitionAwareOperation {
  static readonly typeId = 9_000_001;
  private snapshot = new Map<string, number>();

  run(): void {
    this.snapshot = new Map(this.getService<CounterService>().containers[this.getPartitionId()].values);
  }

  override getResponse(): Map<string, number> {
    return this.snapshot;
  }
}
registerOperation(PartitionSnapshotOperation);

async function verifyBulk(args: MemberCommands['verifyBulk']['args']): Promise<VerifyReport> {
  const i = shoal();
  const ops = i.getNodeEngine().getOperationService();
  // Every partition that can hold data (hashed ones and enabled named ones).
  const partitionIds = i.getPartitionService().getPartitionIds();
  const seen = new Map<string, number>();
  const examples: string[] = [];
  const errors = await pipelined(
    partitionIds.length,
    args.concurrency,
    (k) => ops.invokeOnPartition<Map<string, number>>(CounterService.NAME, new PartitionSnapshotOperation(), partitionIds[k]),
    (_p, snapshot) => {
      for (const [k, v] of snapshot) if (k.startsWith(args.prefix)) seen.set(k, v);
    },
  );
  let mismatches = 0;
  let total = 0;
  for (let k = 0; k < args.count; k++) {
    const name = bulkName(args.prefix, k);
    const value = seen.get(name);
    total += value ?? 0;
    if (value !== bulkValue(k)) {
      mismatches++;
      if (examples.length < 10) examples.push(`${name}: value ${String(value)}, expected ${bulkValue(k)}`);
    }
  }
  if (seen.size !== args.count) examples.push(`${seen.size} counters named ${args.prefix}* found, ${args.count} expected`);
  if (errors > 0) examples.push(`${errors} partition reads failed`);
  return { checked: args.count, mismatches: mismatches + errors + (seen.size !== args.count ? 1 : 0), examples, indeterminate: 0, total };
}

/** Entries this member holds (any replica) and their migration payload size, as the service writes it. */
function replicaEntries(): ReplicaEntries {
  if (service === null) throw new Error('member not started');
  const out = new ObjectDataOutput(64 * 1024);
  let entries = 0;
  let bytes = 0;
  let partitionsWithData = 0;
  for (const container of service.containers) {
    if (container.values.size === 0) continue;
    partitionsWithData++;
    entries += container.values.size;
    out.clear();
    new CounterMigrationOperation(container.values).writeInternal(out);
    bytes += out.view().length;
  }
  return { entries, payloadBytes: bytes, partitionsWithData };
}

function heap(): HeapReport {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('start the member with --expose-gc to measure the heap');
  for (let k = 0; k < 3; k++) gc();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, rss: m.rss, external: m.external, arrayBuffers: m.arrayBuffers };
}

/** Polls isClusterSafe() (every 2 ms) and waitForMigrations() in parallel; both times from the call. */
async function waitSafe(timeoutMs: number): Promise<{ safeMs: number; waitForMigrationsMs: number }> {
  const i = shoal();
  const partitions = i.getPartitionService();
  const t0 = performance.now();
  // The table must be known here first: an unassigned table counts as "safe".
  while (partitions.getPartitionOwner(0) === null) {
    if (performance.now() - t0 > timeoutMs) throw new Error('no partition table after the timeout');
    await sleep(2);
  }
  const waited = partitions.waitForMigrations({ timeout: timeoutMs }).then(() => performance.now() - t0);
  let safeMs = -1;
  while (safeMs < 0) {
    if (partitions.isClusterSafe()) safeMs = performance.now() - t0;
    else if (performance.now() - t0 > timeoutMs) throw new Error(`cluster not safe after ${timeoutMs} ms`);
    else await sleep(2);
  }
  return { safeMs, waitForMigrationsMs: await waited };
}

/**
 * SIGKILLs the owner of counter `counterIndex`, then increments that counter (each call retried
 * by the engine) until one succeeds: the time from the kill to that success. Calls that fail
 * meanwhile are recorded (they count as indeterminate in `verify`).
 */
async function failover(args: MemberCommands['failover']['args']): Promise<FailoverReport> {
  const k = args.counterIndex;
  const counter = counters[k];
  // Warm path: a few increments to the owner before the crash.
  for (let n = 0; n < 20; n++) {
    await counter.inc(1);
    acked[k] += 1;
  }
  const failedCalls: { atMs: number; error: string }[] = [];
  const t0 = performance.now();
  process.kill(args.victimPid, 'SIGKILL');
  while (performance.now() - t0 < args.giveUpMs) {
    try {
      await counter.inc(1);
      acked[k] += 1;
      return { ms: performance.now() - t0, failedCalls };
    } catch (error) {
      failed[k] += 1;
      failedCalls.push({ atMs: performance.now() - t0, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
    }
  }
  return { ms: Number.NaN, failedCalls };
}

function ownerOf(index: number): string {
  const i = shoal();
  const partitions = i.getPartitionService();
  const owner = partitions.getPartitionOwner(partitions.getPartitionId(counters[index].getName()));
  return owner === null ? '' : owner.address.key;
}

/** Event-loop stalls of this process (GC pauses, long synchronous work), 10 ms resolution. */
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

function takeLoopDelayMaxMs(): number {
  const max = loopDelay.max / 1e6;
  loopDelay.reset();
  return Math.round(max);
}

/** Engine internals (pending calls, busy partitions, transport counters) for stall reports. */
function diagnostics(): MemberDiagnostics | null {
  if (instance === null) return null;
  const node = instance.node;
  const partitionCount = instance.getPartitionService().getPartitionCount();
  let busyPartitions = 0;
  let queuedTasks = 0;
  for (let p = 0; p < partitionCount; p++) {
    if (node.operations.executor.isBusy(p)) busyPartitions++;
    queuedTasks += node.operations.executor.queued(p);
  }
  const t = node.transport.stats();
  return {
    name: instance.getName(),
    members: instance.getCluster().getMembers().length,
    pendingInvocations: node.operations.pendingCount(),
    busyPartitions,
    queuedTasks,
    framesSent: t.framesSent,
    framesReceived: t.framesReceived,
    bytesSent: t.bytesSent,
    bytesReceived: t.bytesReceived,
    connectionsRefused: t.connectionsRefused,
    clusterSafe: instance.getPartitionService().isClusterSafe(),
    heapMB: Math.round(process.memoryUsage().heapUsed / 1e6),
    loopDelayMaxMs: takeLoopDelayMaxMs(),
  };
}

let profiler: Session | null = null;

const handlers: Handlers<MemberCommands> = {
  ping: () => process.pid,
  diag: () => diagnostics(),
  loopDelay: () => takeLoopDelayMaxMs(),
  async start(spec) {
    if (instance !== null) throw new Error('a Shoal instance is already running in this process');
    instance = await Shoal.newInstance(config(spec));
    return info();
  },
  async stop() {
    const running = instance;
    instance = null;
    service = null;
    counters = [];
    acked = new Float64Array(0);
    failed = new Float64Array(0);
    if (running !== null) await running.terminate();
    return null;
  },
  info: () => info(),
  async waitMembers({ count, timeoutMs }) {
    const t0 = performance.now();
    while (shoal().getCluster().getMembers().length !== count) {
      if (performance.now() - t0 > timeoutMs) throw new Error(`${shoal().getCluster().getMembers().length} members after ${timeoutMs} ms, expected ${count}`);
      await sleep(5);
    }
    return performance.now() - t0;
  },
  prepareCounters: (args) => prepareCounters(args),
  concurrent: (args) => driveConcurrent(args, issueInc, onAck, onError),
  sequential: (args) => driveSequential(args, issueInc, onAck, onError),
  verify: () => verify(),
  populate: (args) => populate(args),
  verifyBulk: (args) => verifyBulk(args),
  entries: () => replicaEntries(),
  heap: () => heap(),
  mem: () => {
    const m = process.memoryUsage();
    return { heapUsed: m.heapUsed, rss: m.rss, external: m.external, arrayBuffers: m.arrayBuffers };
  },
  waitSafe: ({ timeoutMs }) => waitSafe(timeoutMs),
  isSafe: () => shoal().getPartitionService().isClusterSafe(),
  ownerOf: ({ index }) => ownerOf(index),
  failover: (args) => failover(args),
  async profileStart() {
    if (profiler !== null) throw new Error('already profiling');
    profiler = new Session();
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.setSamplingInterval', { interval: 500 });
    await profiler.post('Profiler.start');
    return null;
  },
  async profileStop({ file }) {
    const session = profiler;
    if (session === null) throw new Error('not profiling');
    profiler = null;
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    writeFileSync(file, JSON.stringify(profile));
    return file;
  },
  async exit() {
    setImmediate(() => {
      const done = (): never => process.exit(0);
      if (instance === null) done();
      else instance.terminate().then(done, done);
    });
    return null;
  },
};

serve<MemberCommands>(handlers, () => {
  // The harness went away: do not linger.
  process.exit(0);
});
process.on('SIGTERM', () => process.exit(0));
