/**
 * Shoal member processes (bench/member.ts) for the harness.
 *
 * A `MemberPool` spawns the processes once (tsx start-up costs seconds on a small machine); each
 * scenario then starts a fresh Shoal instance in some of them (`BenchCluster.start`) on its own
 * loopback ports and cluster name, and terminates it afterwards. A process that was killed (the
 * failover scenario) is replaced by a new one.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnWorker, type Worker } from './ipc.js';
import type { LogLevel, MemberCommands, MemberInfo, MemberSpec } from './protocol.js';

export const BENCH_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_ROOT = resolve(BENCH_DIR, '..');
const MEMBER_FILE = resolve(BENCH_DIR, 'member.ts');

export type MemberWorker = Worker<MemberCommands>;

export class MemberPool {
  readonly workers: MemberWorker[] = [];
  private spawned = 0;

  constructor(size: number) {
    for (let k = 0; k < size; k++) this.workers.push(this.spawn());
  }

  private spawn(): MemberWorker {
    const label = `member-process-${this.spawned++}`;
    return spawnWorker<MemberCommands>(MEMBER_FILE, [], {
      label,
      cwd: REPO_ROOT,
      // --expose-gc: the memory scenario gc()s before reading the heap.
      nodeArgs: ['--expose-gc'],
      env: { SHOAL_COUNTER_QUIET: '1' },
    });
  }

  /** Waits until every process answers. */
  async ready(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.call('ping', null)));
  }

  /** Worker k, replaced by a fresh process if it has exited. */
  async worker(k: number): Promise<MemberWorker> {
    if (this.workers[k].hasExited) {
      this.workers[k] = this.spawn();
      await this.workers[k].call('ping', null);
    }
    return this.workers[k];
  }

  /** Replaces processes `indexes` with fresh ones (clean heap, JIT state of a new process). */
  async recycle(indexes: readonly number[]): Promise<void> {
    await Promise.all(
      indexes.map(async (k) => {
        const old = this.workers[k];
        if (!old.hasExited) {
          await Promise.race([old.call('exit', null).catch(() => null), old.exitedPromise]);
          await old.stop(2000);
        }
        this.workers[k] = this.spawn();
        await this.workers[k].call('ping', null);
      }),
    );
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.workers.map(async (w) => {
        if (w.hasExited) return;
        await Promise.race([w.call('exit', null).catch(() => null), w.exitedPromise]);
        await w.stop(2000);
      }),
    );
  }
}

export interface Member {
  readonly worker: MemberWorker;
  readonly spec: MemberSpec;
  info: MemberInfo | null;
}

export interface ClusterOptions {
  /** Names the members and the cluster. */
  readonly label: string;
  /** Members started now (the first one first, so it becomes master; then the others together). */
  readonly members: number;
  /** Members started only when `join(k)` is called. */
  readonly deferred?: number;
  /** Member k listens on basePort + k. */
  readonly basePort: number;
  /** Pool processes to use, by member index (default 0, 1, 2, …). */
  readonly processes?: readonly number[];
  readonly backupCount: number;
  /** Indexes of lite members (they join and call, but own no partitions). */
  readonly lite?: readonly number[];
  /** Indexes of members that busy-poll while their calls wait (invocation.busyPollUs = BUSY_POLL_US). */
  readonly busyPoll?: readonly number[];
  readonly partitionCount?: number;
  readonly heartbeatIntervalMs?: number;
  readonly maxNoHeartbeatMs?: number;
  readonly logLevel?: LogLevel;
}

/**
 * The busy-poll window of a polling load member: longer than a 1- or 2-backup round trip here
 * (p99 ~0.5 ms), so a sequential caller polls for its whole wait.
 */
export const BUSY_POLL_US = 1000;

export const DEFAULT_DETECTOR = { heartbeatIntervalMs: 1000, maxNoHeartbeatMs: 6000 } as const;

export class BenchCluster {
  readonly members: Member[] = [];
  private readonly opts: ClusterOptions;

  private constructor(opts: ClusterOptions) {
    this.opts = opts;
  }

  /** Starts a cluster in pool processes 0..members+deferred-1. */
  static async start(pool: MemberPool, opts: ClusterOptions): Promise<BenchCluster> {
    const cluster = new BenchCluster(opts);
    const total = opts.members + (opts.deferred ?? 0);
    const seeds = Array.from({ length: total }, (_, k) => `127.0.0.1:${opts.basePort + k}`);
    for (let k = 0; k < total; k++) {
      const spec: MemberSpec = {
        name: `${opts.label}-${k}`,
        clusterName: `shoal-bench-${process.pid}-${opts.label}`,
        lite: opts.lite?.includes(k) ?? false,
        port: opts.basePort + k,
        seeds,
        backupCount: opts.backupCount,
        partitionCount: opts.partitionCount ?? 271,
        heartbeatIntervalMs: opts.heartbeatIntervalMs ?? DEFAULT_DETECTOR.heartbeatIntervalMs,
        maxNoHeartbeatMs: opts.maxNoHeartbeatMs ?? DEFAULT_DETECTOR.maxNoHeartbeatMs,
        joinTimeoutMs: 1000,
        logLevel: opts.logLevel ?? 'warn',
        busyPollUs: opts.busyPoll?.includes(k) === true ? BUSY_POLL_US : 0,
      };
      cluster.members.push({ worker: await pool.worker(opts.processes?.[k] ?? k), spec, info: null });
    }
    try {
      const first = cluster.members[0];
      first.info = await first.worker.call('start', first.spec);
      await Promise.all(
        cluster.members.slice(1, opts.members).map(async (m) => {
          m.info = await m.worker.call('start', m.spec);
        }),
      );
      await Promise.all(cluster.members.slice(0, opts.members).map((m) => m.worker.call('waitMembers', { count: opts.members, timeoutMs: 20_000 })));
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  member(k: number): Member {
    return this.members[k];
  }

  /** Starts deferred member k; resolves once it joined. */
  async join(k: number): Promise<MemberInfo> {
    const m = this.members[k];
    m.info = await m.worker.call('start', m.spec);
    return m.info;
  }

  /** Members started and still running. */
  started(): Member[] {
    return this.members.filter((m) => m.info !== null && !m.worker.hasExited);
  }

  /** Terminates every member's Shoal instance (the processes stay in the pool). */
  async stop(): Promise<void> {
    await Promise.all(
      this.members.map(async (m) => {
        if (m.worker.hasExited || m.info === null) return;
        try {
          await m.worker.call('stop', null);
        } catch {
          // The process is unhealthy: end it; the pool replaces it when it is next needed.
          await m.worker.stop(1000);
        }
      }),
    );
  }
}
