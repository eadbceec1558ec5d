/**
 * One Shoal member process of the reliability tests, driven over stdin/stdout (see protocol.ts).
 *
 *   node --import tsx test/reliability/member.ts '<MemberSpec JSON>'
 *
 * Runs CounterService (examples/counter) with the spec's backup counts, the built-in map (with
 * the spec's map backup counts, when given) and, optionally, the test-only BulkService. Lite
 * members (spec.lite) own no partitions: the tests run their load from them, so killing a data
 * member never takes the load generator with it. The map commands (`map*`, `named*`) drive a map
 * load that keeps an exact model of every key (MapLoad) and read maps back for the checks.
 *
 * Test hooks (FaultSites): a migration step named in SHOAL_TEST_HOLD_STEP is held until the
 * process is killed; `armDropBackup` drops backups of one partition; `armKillAfterApply` makes
 * the member SIGKILL itself after it applied an operation (and its sync backups were
 * acknowledged) but before it answered.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { CounterService, type Counter } from '../../examples/counter/counter.js';
import type { FaultSites } from '../../src/engine/fault-sites.js';
import { INTERNAL_SERVICE } from '../../src/engine/internal-operation.js';
import { MigrationChunkOp } from '../../src/engine/migration-ops.js';
import { FrameKind, OPERATION_HEADER_BYTES } from '../../src/engine/wire.js';
import {
  EnableAction,
  IndeterminateOperationStateError,
  MAP_SERVICE_NAME,
  MapService,
  ObjectDataInput,
  OperationTimeoutError,
  PartitionMapper,
  ReplicaNode,
  ReplicationType,
  Shoal,
  Address,
  type Config,
  type DistributedMap,
  type Partition,
  type ServiceConfig,
  type ShoalInstance,
} from '../../src/index.js';
import {
  HOLD_STEP_ENV,
  type BulkLocalInfo,
  type BulkVerifyResult,
  type CommandName,
  type Commands,
  type IncResult,
  type IncTally,
  type MapKeyOutcome,
  type MapLoadResult,
  type MapReadResult,
  type MemberEvent,
  type NamedPartitionInfo,
  type NamedReplica,
  type MemberSpec,
  type PlacementInfo,
  type Request,
  type Response,
  type StateInfo,
  type ViewInfo,
} from './protocol.js';
import { BulkLoadOp, BulkService, BulkVerifyOp, InspectCounterOp, bulkKeyOf } from './services.js';
import { seededRandom } from '../../src/testing/prng.js';

const spec = JSON.parse(process.argv[2] ?? 'null') as MemberSpec | null;
if (spec === null || typeof spec.port !== 'number') throw new Error('usage: member.ts <MemberSpec JSON>');

function emit(event: MemberEvent): void {
  process.stdout.write(`EVENT ${JSON.stringify(event)}\n`);
}

// --- fault sites ---------------------------------------------------------------------------------

class TestFaults implements FaultSites {
  readonly active = true;
  private hold: { step: string; partitionId: number | 'any' } | null = null;
  private readonly drops = new Map<number, number>();
  private kill: { partitionId: number; nth: number; seen: number } | null = null;

  constructor(holdSpec: string | undefined) {
    if (holdSpec !== undefined && holdSpec !== '') {
      const at = holdSpec.lastIndexOf(':');
      const step = holdSpec.slice(0, at);
      const p = holdSpec.slice(at + 1);
      this.hold = { step, partitionId: p === 'any' ? 'any' : Number(p) };
    }
  }

  armDrop(partitionId: number, count: number): void {
    this.drops.set(partitionId, (this.drops.get(partitionId) ?? 0) + count);
  }

  armKill(partitionId: number, nth: number): void {
    this.kill = { partitionId, nth, seen: 0 };
  }

  dropBackup(partitionId: number, replicaIndex: number): boolean {
    const left = this.drops.get(partitionId) ?? 0;
    if (left <= 0) return false;
    this.drops.set(partitionId, left - 1);
    emit({ type: 'backup-dropped', partitionId, replicaIndex });
    return true;
  }

  atMigrationStep(step: string, partitionId: number): Promise<void> | null {
    const h = this.hold;
    if (h === null || h.step !== step || (h.partitionId !== 'any' && h.partitionId !== partitionId)) return null;
    this.hold = null; // hold one occurrence: the first partition that reaches the step
    emit({ type: 'held', step, partitionId });
    return new Promise<void>(() => {}); // until the process is killed
  }

  afterApply(partitionId: number): Promise<void> | null {
    const k = this.kill;
    if (k === null || k.partitionId !== partitionId) return null;
    if (++k.seen < k.nth) return null;
    emit({ type: 'killing-self', partitionId, nth: k.nth });
    process.kill(process.pid, 'SIGKILL');
    return new Promise<void>(() => {});
  }
}

const faults = new TestFaults(process.env[HOLD_STEP_ENV]);

// --- the member ----------------------------------------------------------------------------------

const counterService = new CounterService();
const bulkService = spec.bulkService ? new BulkService() : null;

function config(s: MemberSpec): Config {
  const services: ServiceConfig[] = [
    {
      name: CounterService.NAME,
      implementation: counterService,
      properties: { 'backup-count': String(s.backupCount), 'async-backup-count': String(s.asyncBackupCount) },
    },
  ];
  if (bulkService !== null) services.push({ name: BulkService.NAME, implementation: bulkService });
  if (s.mapBackupCount !== undefined || s.mapAsyncBackupCount !== undefined) {
    const properties: Record<string, string> = {};
    if (s.mapBackupCount !== undefined) properties['backup-count'] = String(s.mapBackupCount);
    if (s.mapAsyncBackupCount !== undefined) properties['async-backup-count'] = String(s.mapAsyncBackupCount);
    services.push({ name: MAP_SERVICE_NAME, implementation: new MapService(), properties });
  }
  return {
    clusterName: s.clusterName,
    memberName: s.name,
    liteMember: s.lite,
    partitionCount: s.partitionCount,
    network: {
      host: s.host ?? '127.0.0.1',
      port: s.port,
      portAutoIncrement: false,
      join: { tcpIp: { enabled: true, members: [...s.seeds] }, multicast: { enabled: false } },
    },
    failureDetector: { heartbeatIntervalMs: s.heartbeatIntervalMs, maxNoHeartbeatMs: s.maxNoHeartbeatMs },
    invocation: { callTimeoutMs: s.callTimeoutMs, backupAckTimeoutMs: s.backupAckTimeoutMs, busyPollUs: s.busyPollUs ?? 0 },
    migration: {
      gracefulShutdownTimeoutMs: s.gracefulShutdownTimeoutMs,
      ...(s.migrationConcurrentMax !== undefined ? { concurrentMax: s.migrationConcurrentMax } : {}),
      ...(s.chunkBytesMax !== undefined ? { chunkBytesMax: s.chunkBytesMax } : {}),
    },
    backup: { antiEntropyIntervalMs: s.antiEntropyIntervalMs },
    logging: { level: s.logLevel },
    services,
  };
}

let instance: ShoalInstance | null = null;
function shoal(): ShoalInstance {
  if (instance === null) throw new Error('this member has not joined yet (standby)');
  return instance;
}

/** Starts the member (at once, or on `join` for a standby process) and prints READY. */
async function start(seeds: readonly string[]): Promise<void> {
  if (instance !== null) throw new Error('already joined');
  instance = await Shoal.newInstance(config({ ...spec!, seeds }), { faults });
  observeChunkFrames(instance);
  const i = instance;
  process.stdout.write(`READY ${JSON.stringify({ address: i.getNodeEngine().getThisAddress().key, uuid: i.getCluster().getLocalMember().uuid, pid: process.pid })}\n`);
}

// Observe migration chunk frames as they arrive (OPERATION frames carrying a MigrationChunkOp of
// the internal service), to check that none exceeds the configured chunk size.
const frames = { chunkMax: 0, chunks: 0 };
function observeChunkFrames(i: ShoalInstance): void {
  const ops = i.node.operations;
  const handle = ops.handleFrame.bind(ops);
  const peek = new ObjectDataInput(Buffer.alloc(0));
  const headerBytes = OPERATION_HEADER_BYTES;
  ops.handleFrame = (from, kind, bytes, start, end) => {
    const length = end - start;
    if (kind === FrameKind.OPERATION && length > headerBytes + 8) {
      try {
        peek.reset(bytes, start + headerBytes, end);
        if (peek.readUTF() === INTERNAL_SERVICE && peek.readInt() === MigrationChunkOp.typeId) {
          frames.chunks++;
          if (length > frames.chunkMax) frames.chunkMax = length;
        }
      } catch {
        // not what this observer expects; the engine decodes the frame itself below
      }
    }
    handle(from, kind, bytes, start, end);
  };
}
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
/** Never reset: the longest stall of this process, reported by `state`. */
const stateLoopDelay = monitorEventLoopDelay({ resolution: 10 });
stateLoopDelay.enable();

const counters = new Map<string, Counter>();
async function counter(name: string): Promise<Counter> {
  let c = counters.get(name);
  if (c === undefined) {
    c = await shoal().getDistributedObject<Counter>(CounterService.NAME, name);
    counters.set(name, c);
  }
  return c;
}

// --- outcomes ------------------------------------------------------------------------------------

class Tally {
  readonly acked: number[];
  readonly indeterminate: number[];
  readonly failed: number[];
  readonly errors = new Map<string, number>();
  constructor(readonly names: string[]) {
    this.acked = names.map(() => 0);
    this.indeterminate = names.map(() => 0);
    this.failed = names.map(() => 0);
  }
  error(k: number, error: unknown): void {
    if (error instanceof IndeterminateOperationStateError || error instanceof OperationTimeoutError) this.indeterminate[k]++;
    else this.failed[k]++;
    const name = error instanceof Error ? error.name : 'non-Error';
    const message = error instanceof Error ? error.message : String(error);
    const key = `${name}: ${message.slice(0, 160)}`;
    this.errors.set(key, (this.errors.get(key) ?? 0) + 1);
  }
  report(): IncTally {
    return {
      names: this.names,
      acked: this.acked,
      indeterminate: this.indeterminate,
      failed: this.failed,
      errors: Object.fromEntries(this.errors),
    };
  }
}

const pause = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

class Load {
  private running = true;
  private readonly workers: Promise<void>[] = [];
  private next = 0;
  constructor(
    private readonly list: Counter[],
    readonly tally: Tally,
    concurrency: number,
  ) {
    for (let i = 0; i < concurrency; i++) this.workers.push(this.worker());
  }
  private async worker(): Promise<void> {
    while (this.running) {
      const k = this.next++ % this.list.length;
      try {
        await this.list[k].inc(1);
        this.tally.acked[k]++;
      } catch (error) {
        this.tally.error(k, error);
        await pause(20); // a failing call must not spin the event loop
      }
    }
  }
  get isRunning(): boolean {
    return this.running;
  }
  async stop(): Promise<IncTally> {
    this.running = false;
    await Promise.all(this.workers);
    return this.tally.report();
  }
}

let load: Load | null = null;

// --- the map -------------------------------------------------------------------------------------

type StringMap = DistributedMap<string, string>;

function map(name: string): Promise<StringMap> {
  return shoal().getMap<string, string>(name);
}


const VIOLATIONS_MAX = 50;

/** What one key may hold (see MapKeyOutcome), updated call by call. */
class KeyModel {
  possible = new Set<string | null>([null]);
  acked = 0;
  indeterminate = 0;
  failed = 0;
  constructor(readonly key: string) {}
  describe(): string {
    return JSON.stringify([...this.possible]);
  }
}

/**
 * Map load: each worker owns the keys whose index is its number modulo the worker count, so the
 * calls on one key never overlap and the model of the key is exact: an acknowledged put or
 * remove leaves one possible state, an unanswered one adds its state to the possible ones.
 */
class MapLoad {
  private running = true;
  private readonly workers: Promise<void>[] = [];
  readonly models: KeyModel[];
  readonly tally = new Tally(['map']);
  readonly violations: string[] = [];
  puts = 0;
  removes = 0;
  gets = 0;
  private seq = 0;

  constructor(
    private readonly target: StringMap,
    keys: string[],
    concurrency: number,
    private readonly getPercent: number,
    private readonly removePercent: number,
    seed: number,
    private readonly freezeUncertain: boolean,
  ) {
    this.models = keys.map((k) => new KeyModel(k));
    for (let w = 0; w < concurrency; w++) {
      const own = this.models.filter((_, i) => i % concurrency === w);
      if (own.length > 0) this.workers.push(this.worker(own, seededRandom(seed + w)));
    }
  }

  private violation(text: string): void {
    if (this.violations.length < VIOLATIONS_MAX) this.violations.push(text);
  }

  private async worker(own: KeyModel[], random: () => number): Promise<void> {
    while (this.running && own.length > 0) {
      const m = own[Math.floor(random() * own.length)];
      const dice = random() * 100;
      if (dice < this.getPercent) {
        try {
          const value = (await this.target.get(m.key)) ?? null;
          this.gets++;
          this.tally.acked[0]++;
          if (!m.possible.has(value)) this.violation(`get ${m.key} answered ${JSON.stringify(value)}; it may hold only ${m.describe()}`);
        } catch (error) {
          this.tally.error(0, error);
          await pause(20);
        }
        continue;
      }
      const remove = dice < this.getPercent + this.removePercent;
      const value = remove ? null : `${m.key}@${this.seq++}`;
      try {
        const previous = (remove ? await this.target.remove(m.key) : await this.target.put(m.key, value!)) ?? null;
        if (!m.possible.has(previous)) {
          this.violation(`${remove ? 'remove' : `put ${JSON.stringify(value)} of`} ${m.key} answered previous ${JSON.stringify(previous)}; it may have held only ${m.describe()}`);
        }
        m.possible = new Set([value]);
        m.acked++;
        this.tally.acked[0]++;
        if (remove) this.removes++;
        else this.puts++;
      } catch (error) {
        this.tally.error(0, error);
        if (error instanceof IndeterminateOperationStateError || error instanceof OperationTimeoutError) m.indeterminate++;
        else m.failed++;
        // Applied or not: the key may now hold what this call wrote.
        m.possible.add(value);
        if (this.freezeUncertain) own.splice(own.indexOf(m), 1);
        await pause(20); // a failing call must not spin the event loop
      }
    }
  }

  get isRunning(): boolean {
    return this.running;
  }

  progress(): { running: boolean; acked: number; indeterminate: number; failed: number } {
    return { running: this.running, acked: this.tally.acked[0], indeterminate: this.tally.indeterminate[0], failed: this.tally.failed[0] };
  }

  async stop(): Promise<MapLoadResult> {
    this.running = false;
    await Promise.all(this.workers);
    const t = this.tally.report();
    const keys: MapKeyOutcome[] = this.models.map((m) => ({ key: m.key, possible: [...m.possible], acked: m.acked, indeterminate: m.indeterminate, failed: m.failed }));
    return {
      acked: t.acked[0],
      indeterminate: t.indeterminate[0],
      failed: t.failed[0],
      puts: this.puts,
      removes: this.removes,
      gets: this.gets,
      errors: t.errors,
      keys,
      violations: this.violations,
    };
  }
}

let mapLoad: MapLoad | null = null;

/** Places string keys that start with `prefix` in a named partition; any other key is hashed. */
class PrefixMapper extends PartitionMapper<string> {
  constructor(
    private readonly prefix: string,
    private readonly partition: string,
  ) {
    super();
  }
  getPartition(key: string): string | null {
    return key.startsWith(this.prefix) ? this.partition : null;
  }
}

function replicaNodes(replicas: readonly NamedReplica[]): ReplicaNode[] {
  return replicas.map((r) => new ReplicaNode(r.member, r.sync ? ReplicationType.SYNCHRONOUS : ReplicationType.ASYNCHRONOUS));
}

function namedInfo(p: Partition): NamedPartitionInfo {
  return { partitionId: p.getPartitionId(), state: p.getState(), activeNode: p.getActiveNode(), replicaNodes: p.getReplicaNodes().map((r) => r.getMemberName()) };
}

/** Reads in batches, so a member is not handed thousands of calls at once. */
async function inBatches<T, R>(items: readonly T[], size: number, f: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(f))));
  return out;
}

// --- commands ------------------------------------------------------------------------------------

type Handlers = { [C in CommandName]: (args: Commands[C][0]) => Promise<Commands[C][1]> };

async function state(): Promise<StateInfo> {
  const i = shoal();
  const cluster = i.getCluster();
  const partitions = i.getPartitionService();
  const safe = partitions.isClusterSafe();
  let unsafe: string | undefined;
  let pendingSyncs: StateInfo['pendingSyncs'];
  if (!safe) {
    unsafe = await partitions.waitForMigrations({ timeout: 1 }).then(() => undefined, (error: unknown) => (error instanceof Error ? error.message : String(error)));
    // Diagnostics only: the engine's private bookkeeping of the replica copies it asked for.
    const engine = i.node.partitions;
    const requested = (engine as unknown as { syncRequested?: Map<number, number> }).syncRequested;
    if (requested !== undefined) {
      pendingSyncs = [...requested.keys()].slice(0, 10).map((p) => ({
        partitionId: p,
        replicaIndex: engine.table.replicaIndexOf(p, cluster.getLocalMember().uuid),
        owner: engine.replicaAddress(p, 0)?.key ?? null,
        tableVersion: engine.table.tableVersion,
      }));
    }
  }
  return {
    name: i.getName(),
    uuid: cluster.getLocalMember().uuid,
    address: i.getNodeEngine().getThisAddress().key,
    lite: spec!.lite,
    isMaster: cluster.isMaster(),
    members: cluster.getMembers().length,
    safe,
    ...(unsafe !== undefined ? { unsafe } : {}),
    ...(pendingSyncs !== undefined && pendingSyncs.length > 0 ? { pendingSyncs } : {}),
    localPartitions: partitions.getLocalPartitions().length,
    eventLoopDelayMaxMs: Math.round(stateLoopDelay.max / 1e6),
  };
}

function placement(partitionId: number): PlacementInfo {
  const partitions = shoal().node.partitions;
  const replicas: (string | null)[] = [];
  for (let r = 0; r < 7; r++) replicas.push(partitions.replicaAddress(partitionId, r)?.key ?? null);
  return { partitionId, replicas, ownerUuid: partitions.table.owner(partitionId) };
}

/** Entries of a bulk load, grouped by partition (computed the same way for load and verify). */
let bulkIds: { total: number; byPartition: number[][] } | null = null;
function bulkIdsByPartition(total: number): number[][] {
  if (bulkIds?.total === total) return bulkIds.byPartition;
  const ps = shoal().getPartitionService();
  // Keys hash into the hashed partitions only (the named-partition slots after them stay empty).
  const byPartition = Array.from({ length: ps.getHashedPartitionCount() }, (): number[] => []);
  for (let id = 0; id < total; id++) byPartition[ps.getPartitionId(bulkKeyOf(id))].push(id);
  bulkIds = { total, byPartition };
  return byPartition;
}

const handlers: Handlers = {
  join: async ({ seeds }) => {
    await start(seeds);
    return null;
  },
  state: () => state(),
  view: async (): Promise<ViewInfo> => {
    const i = shoal();
    const list = i.node.cluster.core.list;
    return {
      uuid: i.getCluster().getLocalMember().uuid,
      address: i.getNodeEngine().getThisAddress().key,
      memberListVersion: list.version,
      memberUuids: list.members.map((m) => m.uuid),
      table: i.node.partitions.table.snapshot(),
      safe: i.getPartitionService().isClusterSafe(),
    };
  },
  waitForMigrations: async ({ timeoutMs }) => {
    await shoal().getPartitionService().waitForMigrations({ timeout: timeoutMs });
    return null;
  },
  placement: async ({ name }) => placement(shoal().getPartitionService().getPartitionId(name)),
  prepare: async ({ names }) => {
    // Partitions are assigned on first use: ask, then wait (bounded) until the table has owners.
    const ps = shoal().getPartitionService();
    const deadline = Date.now() + 10_000;
    while (ps.getPartitionOwner(0) === null) {
      if (Date.now() > deadline) throw new Error('partitions were not assigned within 10 s');
      await pause(20);
    }
    for (let i = 0; i < names.length; i += 50) await Promise.all(names.slice(i, i + 50).map((n) => counter(n)));
    return null;
  },
  inc: async ({ name, times, amount }): Promise<IncResult> => {
    const c = await counter(name);
    const tally = new Tally([name]);
    const outcomes: (number | string)[] = [];
    for (let i = 0; i < times; i++) {
      try {
        outcomes.push(await c.inc(amount));
        tally.acked[0]++;
      } catch (error) {
        tally.error(0, error);
        outcomes.push(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
      }
    }
    return { ...tally.report(), outcomes };
  },
  get: async ({ names }) => Promise.all(names.map(async (n) => (await counter(n)).get())),
  namesCoveringPartitions: async ({ prefix }) => {
    const ps = shoal().getPartitionService();
    // Keys hash into the hashed partitions only (named-partition slots follow them).
    const byPartition = new Array<string | undefined>(ps.getHashedPartitionCount());
    let missing = byPartition.length;
    for (let i = 0; missing > 0; i++) {
      const name = `${prefix}-${i}`;
      const p = ps.getPartitionId(name);
      if (byPartition[p] === undefined) {
        byPartition[p] = name;
        missing--;
      }
    }
    return byPartition.map((n) => n!);
  },
  add: async ({ names, amounts }) => {
    const tally = new Tally(names);
    await Promise.all(
      names.map(async (name, k) => {
        try {
          await (await counter(name)).inc(amounts[k]);
          tally.acked[k]++;
        } catch (error) {
          tally.error(k, error);
        }
      }),
    );
    return tally.report();
  },
  startLoad: async ({ names, concurrency }) => {
    if (load?.isRunning === true) throw new Error('load already running');
    const list = await Promise.all(names.map((n) => counter(n)));
    load = new Load(list, new Tally(names), concurrency);
    return null;
  },
  loadProgress: async () => {
    if (load === null) return { running: false, acked: 0, indeterminate: 0, failed: 0 };
    const sum = (a: number[]): number => a.reduce((x, y) => x + y, 0);
    return { running: load.isRunning, acked: sum(load.tally.acked), indeterminate: sum(load.tally.indeterminate), failed: sum(load.tally.failed) };
  },
  loadTally: async () => {
    if (load === null) throw new Error('no load was started');
    return load.tally.report();
  },
  stopLoad: async () => {
    if (load === null) throw new Error('no load was started');
    return load.stop();
  },
  inspect: async ({ name, address }) =>
    shoal()
      .getNodeEngine()
      .getOperationService()
      .createInvocationBuilderOnMember(CounterService.NAME, new InspectCounterOp(name), Address.parse(address))
      .setCallTimeout(5000)
      .invoke<number | null>(),
  armDropBackup: async ({ partitionId, count }) => {
    faults.armDrop(partitionId, count);
    return null;
  },
  armKillAfterApply: async ({ partitionId, nth }) => {
    faults.armKill(partitionId, nth);
    return null;
  },
  bulkLoad: async ({ total }) => {
    const started = performance.now();
    const byPartition = bulkIdsByPartition(total);
    const ops = shoal().getNodeEngine().getOperationService();
    let entries = 0;
    const counts = await Promise.all(byPartition.map((ids, p) => ops.invokeOnPartition<number>(BulkService.NAME, new BulkLoadOp(ids), p)));
    for (const n of counts) entries += n;
    return { entries, ms: Math.round(performance.now() - started) };
  },
  bulkVerify: async ({ total }): Promise<BulkVerifyResult> => {
    const byPartition = bulkIdsByPartition(total);
    const ops = shoal().getNodeEngine().getOperationService();
    // A few partitions at a time, so no member runs hundreds of verifications in one go.
    const results: [number, number, number, number][] = [];
    for (let from = 0; from < byPartition.length; from += 16) {
      const batch = byPartition.slice(from, from + 16).map((_, k) => ops.invokeOnPartition<[number, number, number, number]>(BulkService.NAME, new BulkVerifyOp(), from + k));
      results.push(...(await Promise.all(batch)));
    }
    let entries = 0;
    let wrongValues = 0;
    const badPartitions: number[] = [];
    results.forEach(([count, sum, xor, wrong], p) => {
      entries += count;
      wrongValues += wrong;
      const ids = byPartition[p];
      let eSum = 0;
      let eXor = 0;
      for (const id of ids) {
        eSum += id;
        eXor ^= Math.imul(id, 0x9e3779b1);
      }
      if (count !== ids.length || sum !== eSum || xor !== eXor) badPartitions.push(p);
    });
    return { partitions: results.length, entries, wrongValues, badPartitions };
  },
  bulkLocal: async ({ reset }): Promise<BulkLocalInfo> => {
    const local = shoal().getPartitionService().getLocalPartitions();
    const info: BulkLocalInfo = {
      entries: bulkService?.entryCount() ?? 0,
      partitionsHeld: local.length,
      chunkFrameMax: frames.chunkMax,
      chunkFrames: frames.chunks,
      producedOpMax: bulkService?.producedOpMax ?? 0,
      producedOps: bulkService?.producedOps ?? 0,
      eventLoopDelayMaxMs: Math.round(loopDelay.max / 1e6),
    };
    if (reset) {
      frames.chunkMax = 0;
      frames.chunks = 0;
      if (bulkService !== null) {
        bulkService.producedOpMax = 0;
        bulkService.producedOps = 0;
      }
      loopDelay.reset();
    }
    return info;
  },
  mapStartLoad: async ({ map: name, keys, concurrency, getPercent, removePercent, seed, freezeUncertain }) => {
    if (mapLoad?.isRunning === true) throw new Error('map load already running');
    mapLoad = new MapLoad(await map(name), keys, concurrency, getPercent, removePercent, seed, freezeUncertain);
    return null;
  },
  mapLoadProgress: async () => mapLoad?.progress() ?? { running: false, acked: 0, indeterminate: 0, failed: 0 },
  mapStopLoad: async () => {
    if (mapLoad === null) throw new Error('no map load was started');
    return mapLoad.stop();
  },
  mapPut: async ({ map: name, entries }) => {
    const m = await map(name);
    return inBatches(entries, 100, async ([k, v]) => (await m.put(k, v)) ?? null);
  },
  mapRead: async ({ map: name, keys }): Promise<MapReadResult> => {
    const m = await map(name);
    const [size, allKeys, entries] = [await m.size(), await m.keys(), await m.entries()];
    const values = await inBatches(keys, 100, async (k) => (await m.get(k)) ?? null);
    const contains = await inBatches(keys, 100, (k) => m.containsKey(k));
    return { size, keys: allKeys, entries, values, contains };
  },
  mapClear: async ({ map: name }) => {
    await (await map(name)).clear();
    return null;
  },
  mapDestroy: async ({ map: name }) => {
    await (await map(name)).destroy();
    return null;
  },
  mapLocalEntries: async ({ map: name, partitionId }) => {
    const stores = shoal().getNodeEngine().getService<MapService>(MAP_SERVICE_NAME).stores;
    if (partitionId >= 0) return stores[partitionId].size(name);
    return stores.reduce((n, s) => n + s.size(name), 0);
  },
  mapNames: async () =>
    shoal()
      .getDistributedObjects()
      .filter((o) => o.getServiceName() === MAP_SERVICE_NAME)
      .map((o) => o.getName())
      .sort(),
  mapSetMapper: async ({ prefix, partition }) => {
    shoal().getPartitionManager().setMapper(String, new PrefixMapper(prefix, partition));
    return null;
  },
  namedDefine: async ({ name, activeNode, replicas, objectsLockedPerTransaction }) => {
    const manager = shoal().getPartitionManager();
    const p = await manager.definePartition(name, { objectsLockedPerTransaction }, activeNode, replicaNodes(replicas));
    await p.enable(EnableAction.JOIN_CLUSTER);
    return namedInfo(p);
  },
  namedMigrate: async ({ name, activeNode, replicas, objectsLockedPerTransaction }) => {
    const properties = objectsLockedPerTransaction === null ? null : { objectsLockedPerTransaction };
    const report = await shoal().getPartitionManager().getPartition(name).migrate(properties, activeNode, replicaNodes(replicas));
    return { moves: report.moves };
  },
  namedInfo: async ({ name }) => namedInfo(shoal().getPartitionManager().getPartition(name)),
  shutdown: async () => {
    await shoal().shutdown();
    return null;
  },
  terminate: async () => {
    await shoal().terminate();
    return null;
  },
};

function respond(response: Response): void {
  process.stdout.write(`RES ${JSON.stringify(response)}\n`);
}

async function dispatch(request: Request): Promise<void> {
  const handler = handlers[request.cmd] as ((args: unknown) => Promise<unknown>) | undefined;
  if (handler === undefined) {
    respond({ id: request.id, ok: false, error: `unknown command '${request.cmd}'` });
    return;
  }
  try {
    const value = await handler(request.args);
    respond({ id: request.id, ok: true, value: value ?? null });
  } catch (error) {
    respond({ id: request.id, ok: false, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
  }
  if (request.cmd === 'shutdown' || request.cmd === 'terminate') process.exit(0);
}

process.once('SIGTERM', () => {
  if (instance === null) process.exit(0);
  instance.shutdown().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});

const input = createInterface({ input: process.stdin, crlfDelay: Infinity });
input.on('line', (line) => {
  if (line.trim() === '') return;
  const request = JSON.parse(line) as Request;
  void dispatch(request);
});
// The harness went away (its stdin pipe closed): do not outlive it.
input.on('close', () => process.exit(2));

// A standby process (started ahead, so a test does not wait for the runtime to load) joins on
// `join`; any other member joins now.
if (spec.standby) process.stdout.write('STANDBY\n');
else await start(spec.seeds);
