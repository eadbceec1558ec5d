/** The commands bench/run.ts sends to its worker processes, and what they answer. */
import type { ConcurrentOptions, ConcurrentResult, SequentialOptions, SequentialResult } from './load.js';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export interface MemberSpec {
  readonly name: string;
  readonly clusterName: string;
  /** A lite member joins and calls but owns no partitions (the load member). */
  readonly lite: boolean;
  readonly port: number;
  /** `host:port` of every member of the cluster. */
  readonly seeds: readonly string[];
  readonly backupCount: number;
  readonly partitionCount: number;
  readonly heartbeatIntervalMs: number;
  readonly maxNoHeartbeatMs: number;
  readonly joinTimeoutMs: number;
  readonly logLevel: LogLevel;
  /** invocation.busyPollUs (0: the caller sleeps while it waits for answers). */
  readonly busyPollUs: number;
}

export interface MemberInfo {
  readonly pid: number;
  readonly name: string;
  readonly address: string;
  readonly uuid: string;
  readonly isMaster: boolean;
  readonly members: number;
  readonly localPartitions: number;
}

export interface PlacementReport {
  readonly counters: number;
  readonly partitions: number;
  /** Counters whose owner is the calling member itself (local calls). */
  readonly localOwned: number;
  /** Counters the calling member holds a sync backup of (it applies their backups). */
  readonly backupHere: number;
  /** Counters per owner address. */
  readonly perOwner: Record<string, number>;
}

export interface VerifyReport {
  readonly checked: number;
  readonly mismatches: number;
  readonly examples: readonly string[];
  /** Counters whose value is explained by calls that failed (indeterminate), not a mismatch. */
  readonly indeterminate: number;
  /** Sum of the values read. */
  readonly total: number;
}

export interface HeapReport {
  readonly heapUsed: number;
  readonly rss: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

export interface ReplicaEntries {
  readonly entries: number;
  /** Bytes of CounterMigrationOperation payload for those entries, as the service writes them. */
  readonly payloadBytes: number;
  readonly partitionsWithData: number;
}

export interface FailoverReport {
  /** From SIGKILL to the first increment that succeeded (NaN if none did before giving up). */
  readonly ms: number;
  /** Increments that failed before that, with their errors (each may or may not have applied). */
  readonly failedCalls: readonly { readonly atMs: number; readonly error: string }[];
}

/** Engine internals for diagnosing a stall (best effort; the fields are the engine's). */
export interface MemberDiagnostics {
  readonly name: string;
  readonly members: number;
  readonly pendingInvocations: number;
  /** Partitions whose executor is busy, and the tasks queued behind them. */
  readonly busyPartitions: number;
  readonly queuedTasks: number;
  readonly framesSent: number;
  readonly framesReceived: number;
  readonly bytesSent: number;
  readonly bytesReceived: number;
  readonly connectionsRefused: number;
  readonly clusterSafe: boolean;
  /** Heap used now (no gc), MB. */
  readonly heapMB: number;
  /** Longest event-loop stall since the previous diag call, ms (perf_hooks monitorEventLoopDelay). */
  readonly loopDelayMaxMs: number;
}

export type MemberCommands = {
  ping: { args: null; result: number };
  /** Starts a Shoal instance in this process (one at a time). */
  start: { args: MemberSpec; result: MemberInfo };
  /** Terminates this process's Shoal instance (abruptly: no migration). */
  stop: { args: null; result: null };
  info: { args: null; result: MemberInfo };
  waitMembers: { args: { count: number; timeoutMs: number }; result: number };
  prepareCounters: { args: { count: number; prefix: string; backupCount: number }; result: PlacementReport };
  concurrent: { args: ConcurrentOptions; result: ConcurrentResult };
  sequential: { args: SequentialOptions; result: SequentialResult };
  verify: { args: null; result: VerifyReport };
  populate: { args: { count: number; prefix: string; concurrency: number }; result: { ms: number; errors: number } };
  verifyBulk: { args: { count: number; prefix: string; concurrency: number }; result: VerifyReport };
  entries: { args: null; result: ReplicaEntries };
  heap: { args: null; result: HeapReport };
  /** process.memoryUsage() without a gc. */
  mem: { args: null; result: HeapReport };
  waitSafe: { args: { timeoutMs: number }; result: { safeMs: number; waitForMigrationsMs: number } };
  isSafe: { args: null; result: boolean };
  ownerOf: { args: { index: number }; result: string };
  failover: { args: { counterIndex: number; victimPid: number; giveUpMs: number }; result: FailoverReport };
  diag: { args: null; result: MemberDiagnostics | null };
  /** Longest event-loop stall since the previous call (ms), and resets the histogram. */
  loopDelay: { args: null; result: number };
  /** Starts the V8 CPU profiler in this process (node:inspector). */
  profileStart: { args: null; result: null };
  /** Stops it and writes the profile to `file`. */
  profileStop: { args: { file: string }; result: string };
  exit: { args: null; result: null };
};

export type RedisMode = 'incrby' | 'incrby-wait' | 'incrby-then-wait';

export type RedisCommands = {
  connect: { args: { port: number; replicaPort: number | null; connections: number; counters: number; prefix: string }; result: null };
  concurrent: { args: ConcurrentOptions & { mode: RedisMode }; result: ConcurrentResult };
  sequential: { args: SequentialOptions & { mode: RedisMode }; result: SequentialResult };
  verify: { args: null; result: VerifyReport };
  close: { args: null; result: null };
};
