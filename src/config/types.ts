/**
 * Shoal's configuration types.
 *
 * `Config` is what a user writes (programmatically, or in `shoal.xml` / `shoal.yaml`): every field is
 * optional. `ResolvedConfig` is what the engine reads: validated, with every default filled in.
 * The reference of every setting (names in XML, YAML and code, defaults, meaning) is docs/config.md.
 */

export const LOGGING_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LoggingLevel = (typeof LOGGING_LEVELS)[number];

export interface ServiceConfig {
  /** Unique service name; remote calls look the service up by it, so keep it short. */
  name: string;
  /** Default true. */
  enabled?: boolean;
  /**
   * `"<module>#<ExportName>"`, or `"<module>"` for the module's default export. A relative module
   * path is resolved against the directory of the config file (or the working directory for a
   * programmatic config). Exactly one of `className` and `implementation` must be given.
   */
  className?: string;
  /** Programmatic only: a ready service instance, used as-is. */
  implementation?: object;
  /** Handed to the service's `init`; all values are strings. */
  properties?: Record<string, string>;
}

export interface TcpIpJoinConfig {
  /** Default: true, unless multicast is enabled (then false). */
  enabled?: boolean;
  /** `host`, `host:port`, `[ipv6]` or `[ipv6]:port`. Default [] (scan own host, port..port+2). */
  members?: string[];
}

export interface MulticastJoinConfig {
  /** Default false. */
  enabled?: boolean;
  /** Default "224.2.2.3". */
  group?: string;
  /** Default 54327. */
  port?: number;
  /** Local interface address multicast is sent and received on. Default "127.0.0.1". */
  interface?: string;
  /** Default 0 (packets do not leave the host). */
  ttl?: number;
}

export interface JoinConfig {
  tcpIp?: TcpIpJoinConfig;
  multicast?: MulticastJoinConfig;
  /** Default 3000. */
  joinTimeoutMs?: number;
  /**
   * Default 5000. How often a master looks for another cluster of the same name at the addresses
   * it knows (its join addresses, members it removed): after a network split heals, the smaller
   * cluster merges into the larger. 0 turns merging off.
   */
  mergeIntervalMs?: number;
}

export interface NetworkConfig {
  /** Address to bind and advertise. Default "127.0.0.1". */
  host?: string;
  /** Default 5701. */
  port?: number;
  /** Default true. */
  portAutoIncrement?: boolean;
  /** Default 100. */
  portCount?: number;
  /** Default 16 MiB. */
  frameBytesMax?: number;
  /** Default 64 MiB. */
  peerQueueBytesMax?: number;
  join?: JoinConfig;
}

export interface InvocationConfig {
  /** Default 60000. */
  callTimeoutMs?: number;
  /** Default 50. */
  retryPauseMs?: number;
  /**
   * Default 0 (off). Microseconds the event loop keeps polling the network, instead of sleeping,
   * after a call goes out while at most a few calls are in flight: lower latency for sequential
   * callers, for up to this much CPU per call. See docs/config.md.
   */
  busyPollUs?: number;
  /** Default 5000. */
  backupAckTimeoutMs?: number;
  /** Default true. */
  failOnIndeterminateBackup?: boolean;
}

export interface FailureDetectorConfig {
  /** Default 1000. */
  heartbeatIntervalMs?: number;
  /** Default 6000; must be greater than heartbeatIntervalMs. */
  maxNoHeartbeatMs?: number;
}

export interface MigrationConfig {
  /** Default 4. */
  concurrentMax?: number;
  /** Default 1 MiB; must be smaller than network.frameBytesMax. */
  chunkBytesMax?: number;
  /** Default 30000. */
  gracefulShutdownTimeoutMs?: number;
}

export interface BackupConfig {
  /** Default 5000. */
  antiEntropyIntervalMs?: number;
}

export interface LoggingConfig {
  /** Default 'info'. */
  level?: LoggingLevel;
}

/** What users write. Every field is optional. */
export interface Config {
  /** Default "dev". */
  clusterName?: string;
  /** Default: left undefined; the engine generates one. */
  memberName?: string;
  /** A lite member joins the cluster and calls into it but owns no partitions. Default false. */
  liteMember?: boolean;
  /** Default 271, range 1..65535. */
  partitionCount?: number;
  /**
   * Slots for named partitions, numbered after the hashed ones (ids partitionCount..
   * partitionCount + namedPartitionsMax - 1). Default 64, range 0..4096.
   */
  namedPartitionsMax?: number;
  /** How long defining or migrating a named partition waits for its active node to be a member. Default 60. */
  nodeActiveTimeoutSeconds?: number;
  network?: NetworkConfig;
  invocation?: InvocationConfig;
  failureDetector?: FailureDetectorConfig;
  migration?: MigrationConfig;
  backup?: BackupConfig;
  logging?: LoggingConfig;
  services?: ServiceConfig[];
}

export interface ResolvedServiceConfig {
  name: string;
  enabled: boolean;
  className?: string;
  implementation?: object;
  properties: Record<string, string>;
}

/** Where a resolved config was read from. */
export interface ConfigSource {
  /** Absolute path of the config file. */
  file: string;
  /** Absolute directory of the config file; relative `className` modules resolve against it. */
  dir: string;
}

/** `Config` validated, with every default applied. */
export interface ResolvedConfig {
  clusterName: string;
  /** Undefined unless configured; the engine then generates one. */
  memberName?: string;
  liteMember: boolean;
  partitionCount: number;
  namedPartitionsMax: number;
  nodeActiveTimeoutSeconds: number;
  network: {
    host: string;
    port: number;
    portAutoIncrement: boolean;
    portCount: number;
    frameBytesMax: number;
    peerQueueBytesMax: number;
    join: {
      tcpIp: { enabled: boolean; members: string[] };
      multicast: { enabled: boolean; group: string; port: number; interface: string; ttl: number };
      joinTimeoutMs: number;
      mergeIntervalMs: number;
    };
  };
  invocation: {
    callTimeoutMs: number;
    retryPauseMs: number;
    busyPollUs: number;
    backupAckTimeoutMs: number;
    failOnIndeterminateBackup: boolean;
  };
  failureDetector: { heartbeatIntervalMs: number; maxNoHeartbeatMs: number };
  migration: { concurrentMax: number; chunkBytesMax: number; gracefulShutdownTimeoutMs: number };
  backup: { antiEntropyIntervalMs: number };
  logging: { level: LoggingLevel };
  services: ResolvedServiceConfig[];
  /** Set by `loadConfig` when the config came from a file; absent for programmatic configs. */
  source?: ConfigSource;
}
