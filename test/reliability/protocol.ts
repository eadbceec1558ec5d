/**
 * What the reliability harness and its member processes say to each other.
 *
 * A member process (member.ts) gets its MemberSpec as a JSON argument and, optionally, a fault
 * plan in its environment. It prints one line `READY <ReadyInfo JSON>` on stdout once it joined,
 * then answers one JSON request per stdin line with one `RES <Response JSON>` line on stdout.
 * Asynchronous happenings (a held migration step, a self-kill) are `EVENT <JSON>` lines.
 * Shoal's own logs go to stderr.
 */
import type { PartitionTableSnapshot } from '../../src/core/partition-table.js';

export interface MemberSpec {
  readonly name: string;
  readonly port: number;
  /**
   * Address to bind and advertise (`network.host`). Default 127.0.0.1; the chaos run gives each
   * member its own network namespace and the address it has there.
   */
  readonly host?: string;
  /** Live members to join through (`host:port`); the first member lists only itself. */
  readonly seeds: readonly string[];
  readonly clusterName: string;
  readonly lite: boolean;
  readonly partitionCount: number;
  /** CounterService `backup-count` (sync backups). */
  readonly backupCount: number;
  /** CounterService `async-backup-count`. */
  readonly asyncBackupCount: number;
  readonly heartbeatIntervalMs: number;
  readonly maxNoHeartbeatMs: number;
  readonly antiEntropyIntervalMs: number;
  readonly callTimeoutMs: number;
  readonly backupAckTimeoutMs: number;
  readonly gracefulShutdownTimeoutMs: number;
  readonly migrationConcurrentMax?: number;
  readonly chunkBytesMax?: number;
  /** Start without joining; join on the `join` command (a replacement started ahead of time). */
  readonly standby: boolean;
  /** Also run the test-only BulkService (large-migration test). */
  readonly bulkService: boolean;
  /** The built-in map's (`shoal:map`) `backup-count`; unset: the map's default (1). */
  readonly mapBackupCount?: number;
  /** The built-in map's `async-backup-count`; unset: the map's default (0). */
  readonly mapAsyncBackupCount?: number;
  /** `invocation.busyPollUs` (unset: off). */
  readonly busyPollUs?: number;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
}

/**
 * Environment variable naming a migration step to hold forever (until the process is killed):
 * `<step>:<partitionId>` or `<step>:any` (the first partition reaching that step).
 */
export const HOLD_STEP_ENV = 'SHOAL_TEST_HOLD_STEP';

export interface ReadyInfo {
  readonly address: string;
  readonly uuid: string;
  readonly pid: number;
}

export interface StateInfo {
  readonly name: string;
  readonly uuid: string;
  readonly address: string;
  readonly lite: boolean;
  readonly isMaster: boolean;
  /** Member-list size as this member sees it (lite members included). */
  readonly members: number;
  readonly safe: boolean;
  /** Why the member is not safe (its waitForMigrations message), when it is not. */
  readonly unsafe?: string;
  /** When not safe: the replica copies it waits for, with its own view of the partition. */
  readonly pendingSyncs?: { partitionId: number; replicaIndex: number; owner: string | null; tableVersion: number }[];
  readonly localPartitions: number;
  /** Longest event-loop delay of this process so far (ms). */
  readonly eventLoopDelayMaxMs: number;
}

/** What the simulator's checkers look at (`MemberView`), as one member sees it. */
export interface ViewInfo {
  readonly uuid: string;
  readonly address: string;
  readonly memberListVersion: number;
  /** Member uuids in this member's list, oldest (master) first. */
  readonly memberUuids: string[];
  readonly table: PartitionTableSnapshot;
  readonly safe: boolean;
}

export interface PlacementInfo {
  readonly partitionId: number;
  /** Replica addresses by index (null: empty slot), as this member's table has them. */
  readonly replicas: (string | null)[];
  /** Owner uuid (null: unassigned). */
  readonly ownerUuid: string | null;
}

/** Outcomes of increments per counter, in the order of the names given. */
export interface IncTally {
  readonly names: string[];
  readonly acked: number[];
  /** IndeterminateOperationStateError or OperationTimeoutError: applied or not, unknown. */
  readonly indeterminate: number[];
  /** Any other error. */
  readonly failed: number[];
  /** Distinct error messages (name: message) with their counts. */
  readonly errors: Record<string, number>;
}

export interface IncResult extends IncTally {
  /** Per call, in call order: the value it returned, or the error it failed with ("Name: message"). */
  readonly outcomes: (number | string)[];
}

export interface LoadProgress {
  readonly running: boolean;
  readonly acked: number;
  readonly indeterminate: number;
  readonly failed: number;
}

export interface BulkVerifyResult {
  readonly partitions: number;
  readonly entries: number;
  /** Entries whose value is not the one loaded. */
  readonly wrongValues: number;
  /** Partitions whose entry count or id checksum differ from what was loaded. */
  readonly badPartitions: number[];
}

export interface BulkLocalInfo {
  readonly entries: number;
  readonly partitionsHeld: number;
  /** Largest migration chunk frame (MigrationChunkOp) this member received, in bytes. */
  readonly chunkFrameMax: number;
  readonly chunkFrames: number;
  /** Largest replication operation the BulkService produced here, encoded, in bytes. */
  readonly producedOpMax: number;
  readonly producedOps: number;
  /** Longest event-loop delay seen since the last reset (ms). */
  readonly eventLoopDelayMaxMs: number;
}

/** What happened to one key of a map load, and what the key may hold now. */
export interface MapKeyOutcome {
  readonly key: string;
  /**
   * Every state the key may be in after the load (null: absent): the state after its last
   * acknowledged call, plus the state each later unacknowledged call would have left. One entry
   * when no call on the key ended without an answer after its last acknowledged one.
   */
  readonly possible: (string | null)[];
  readonly acked: number;
  readonly indeterminate: number;
  readonly failed: number;
}

export interface MapLoadResult {
  readonly acked: number;
  readonly indeterminate: number;
  readonly failed: number;
  /** Acknowledged calls by kind. */
  readonly puts: number;
  readonly removes: number;
  readonly gets: number;
  readonly errors: Record<string, number>;
  readonly keys: MapKeyOutcome[];
  /**
   * Acknowledged calls whose answer contradicts the model: a put or remove that returned a
   * previous value, or a get that returned a value, the key could not hold at that moment (a
   * lost or resurrected write seen while the load ran). At most 50.
   */
  readonly violations: string[];
}

/** One member's view of a map (every read goes through the cluster, not the local store). */
export interface MapReadResult {
  readonly size: number;
  readonly keys: string[];
  readonly entries: [string, string][];
  /** `get` of each key asked for, in order (null: absent). */
  readonly values: (string | null)[];
  /** `containsKey` of each key asked for, in order. */
  readonly contains: boolean[];
}

/** A replica node of a named partition, by member name. */
export interface NamedReplica {
  readonly member: string;
  readonly sync: boolean;
}

export interface NamedPartitionInfo {
  readonly partitionId: number;
  readonly state: string;
  readonly activeNode: string;
  readonly replicaNodes: string[];
}

/** Command name → [arguments, result]. */
export interface Commands {
  /** Standby process: join the cluster through these seeds now (answers once READY). */
  join: [{ seeds: string[] }, null];
  state: [Record<string, never>, StateInfo];
  /** Member list and partition table, for the checkers (membershipAgrees). */
  view: [Record<string, never>, ViewInfo];
  waitForMigrations: [{ timeoutMs: number }, null];
  placement: [{ name: string }, PlacementInfo];
  /** Creates the counters' proxies (on every member). */
  prepare: [{ names: string[] }, null];
  /** Sequential increments of one counter; every outcome is tallied. */
  inc: [{ name: string; times: number; amount: number }, IncResult];
  get: [{ names: string[] }, number[]];
  /** Names `<prefix>-<i>`, the first one found for each partition, in partition order. */
  namesCoveringPartitions: [{ prefix: string }, string[]];
  /** One increment per counter (by its amount), all at once; the tally of their outcomes. */
  add: [{ names: string[]; amounts: number[] }, IncTally];
  startLoad: [{ names: string[]; concurrency: number }, null];
  loadProgress: [Record<string, never>, LoadProgress];
  /** The tally so far, while the load keeps running. */
  loadTally: [Record<string, never>, IncTally];
  /** Stops issuing, waits for every call in flight to settle, returns the tally. */
  stopLoad: [Record<string, never>, IncTally];
  /** Reads a counter from the local container of the member at `address` (test-only op). */
  inspect: [{ name: string; address: string }, number | null];
  /** The owner drops the next `count` backups of this partition (FaultSites.dropBackup). */
  armDropBackup: [{ partitionId: number; count: number }, null];
  /** This member SIGKILLs itself at its `nth` FaultSites.afterApply of this partition. */
  armKillAfterApply: [{ partitionId: number; nth: number }, null];
  bulkLoad: [{ total: number }, { entries: number; ms: number }];
  /** Checks every entry of every partition on its owner against what bulkLoad stored. */
  bulkVerify: [{ total: number }, BulkVerifyResult];
  bulkLocal: [{ reset: boolean }, BulkLocalInfo];
  /**
   * Map load: `concurrency` workers, each on its own keys (every key's calls are sequential, so
   * the model of what it holds is exact), choosing get, remove or put at random (seeded).
   * `freezeUncertain`: a key whose put or remove went unanswered is not touched again, so its
   * final state shows whether that call survived.
   */
  mapStartLoad: [{ map: string; keys: string[]; concurrency: number; getPercent: number; removePercent: number; seed: number; freezeUncertain: boolean }, null];
  mapLoadProgress: [Record<string, never>, LoadProgress];
  /** Stops issuing, waits for every call in flight to settle, returns the outcomes and model. */
  mapStopLoad: [Record<string, never>, MapLoadResult];
  /** Puts these entries (distinct keys), up to 100 at once; the previous values, in order. */
  mapPut: [{ map: string; entries: [string, string][] }, (string | null)[]];
  /** size, keys, entries, and get/containsKey of each key given, through this member. */
  mapRead: [{ map: string; keys: string[] }, MapReadResult];
  mapClear: [{ map: string }, null];
  mapDestroy: [{ map: string }, null];
  /** Entries of this map in this member's own stores (every replica it holds; -1: all partitions). */
  mapLocalEntries: [{ map: string; partitionId: number }, number];
  /** Names of the map proxies this member has. */
  mapNames: [Record<string, never>, string[]];
  /** Installs (on this member) a mapper placing string keys starting with `prefix` in `partition`. */
  mapSetMapper: [{ prefix: string; partition: string }, null];
  /** Defines a named partition from this member and enables it (JOIN_CLUSTER). */
  namedDefine: [{ name: string; activeNode: string; replicas: NamedReplica[]; objectsLockedPerTransaction: number }, NamedPartitionInfo];
  /**
   * Migrates a named partition (on its current active node), with `objectsLockedPerTransaction`
   * overridden for this migration unless null; the replica moves it took.
   */
  namedMigrate: [{ name: string; activeNode: string; replicas: NamedReplica[]; objectsLockedPerTransaction: number | null }, { moves: number }];
  namedInfo: [{ name: string }, NamedPartitionInfo];
  shutdown: [Record<string, never>, null];
  terminate: [Record<string, never>, null];
}

export type CommandName = keyof Commands;

export interface Request {
  readonly id: number;
  readonly cmd: CommandName;
  readonly args: unknown;
}

export type Response = { readonly id: number; readonly ok: true; readonly value: unknown } | { readonly id: number; readonly ok: false; readonly error: string };

export type MemberEvent =
  | { readonly type: 'held'; readonly step: string; readonly partitionId: number }
  | { readonly type: 'killing-self'; readonly partitionId: number; readonly nth: number }
  | { readonly type: 'backup-dropped'; readonly partitionId: number; readonly replicaIndex: number };
