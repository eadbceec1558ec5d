/** Starts and stops Shoal member processes (bench/member.ts) on loopback for the harness. */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnWorker, type Worker } from './ipc.js';
import type { LogLevel, MemberCommands, MemberInfo, MemberSpec } from './protocol.js';

export const BENCH_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_ROOT = resolve(BENCH_DIR, '..');
const MEMBER_FILE = resolve(BENCH_DIR, 'member.ts');

export type MemberWorker = Worker<MemberCommands>;

export interface Member {
  readonly worker: MemberWorker;
  readonly spec: MemberSpec;
  info: MemberInfo | null;
}

export interface ClusterOptions {
  /** Label prefix for the member processes. */
  readonly label: string;
  /** Members of the cluster (all started, the first one first so it becomes master). */
  readonly members: number;
  /** First port; member k listens on basePort + k. */
  readonly basePort: number;
  readonly backupCount: number;
  readonly partitionCount?: number;
  readonly heartbeatIntervalMs?: number;
  readonly maxNoHeartbeatMs?: number;
  readonly logLevel?: LogLevel;
  /** Extra node flags per member index (e.g. --expose-gc). */
  readonly nodeArgs?: (index: number) => readonly string[];
  /** Members started only when `join()` is called later (spawned up front to hide tsx start-up). */
  readonly deferred?: number;
}

export const DEFAULT_DETECTOR = { heartbeatIntervalMs: 1000, maxNoHeartbeatMs: 6000 } as const;

export class BenchCluster {
  readonly members: Member[] = [];
  private readonly opts: ClusterOptions;

  private constructor(opts: ClusterOptions) {
    this.opts = opts;
  }

  /**
   * Spawns `members + deferred` processes, then starts the first member, then the other
   * `members - 1` together. Deferred members stay idle until `join(k)`.
   */
  static async start(opts: ClusterOptions): Promise<BenchCluster> {
    const cluster = new BenchCluster(opts);
    const total = opts.members + (opts.deferred ?? 0);
    const seeds = Array.from({ length: total }, (_, k) => `127.0.0.1:${opts.basePort + k}`);
    const clusterName = `shoal-bench-${process.pid}-${opts.label}`;
    for (let k = 0; k < total; k++) {
      const spec: MemberSpec = {
        name: `${opts.label}-${k}`,
        clusterName,
        port: opts.basePort + k,
        seeds,
        backupCount: opts.backupCount,
        partitionCount: opts.partitionCount ?? 271,
        heartbeatIntervalMs: opts.heartbeatIntervalMs ?? DEFAULT_DETECTOR.heartbeatIntervalMs,
        maxNoHeartbeatMs: opts.maxNoHeartbeatMs ?? DEFAULT_DETECTOR.maxNoHeartbeatMs,
        joinTimeoutMs: 1000,
        logLevel: opts.logLevel ?? 'warn',
      };
      const worker = spawnWorker<MemberCommands>(MEMBER_FILE, [JSON.stringify(spec)], {
        label: spec.name,
        cwd: REPO_ROOT,
        nodeArgs: opts.nodeArgs?.(k) ?? [],
        env: { SHOAL_COUNTER_QUIET: '1' },
      });
      cluster.members.push({ worker, spec, info: null });
    }
    try {
      const first = cluster.members[0];
      first.info = await first.worker.call('start', null);
      await Promise.all(
        cluster.members.slice(1, opts.members).map(async (m) => {
          m.info = await m.worker.call('start', null);
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

  /** Starts deferred member k (index in `members`); resolves once it joined. */
  async join(k: number): Promise<MemberInfo> {
    const m = this.members[k];
    m.info = await m.worker.call('start', null);
    return m.info;
  }

  /** Running members that were started. */
  started(): Member[] {
    return this.members.filter((m) => m.info !== null && !m.worker.hasExited);
  }

  /** Ends every member process: asks it to exit, then SIGTERM/SIGKILL by pid if it lingers. */
  async stop(): Promise<void> {
    await Promise.all(
      this.members.map(async (m) => {
        if (m.worker.hasExited) return;
        const asked = m.worker.call('exit', null).catch(() => null);
        const timer = new Promise<void>((r) => setTimeout(r, 2000));
        await Promise.race([m.worker.exitedPromise, asked.then(() => Promise.race([m.worker.exitedPromise, timer]))]);
        await m.worker.stop(1000);
      }),
    );
  }
}
