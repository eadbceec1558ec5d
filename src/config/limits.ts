/**
 * Named limits and defaults of the config layer. Every number a user can set has a range, and every
 * list or text has a maximum size, so a broken or hostile file fails early with a clear message.
 */

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

export const CONFIG_LIMITS = Object.freeze({
  /** Largest config file read (bytes on disk, or characters of text handed to a parser). */
  fileBytesMax: MiB,
  /** Longest cluster, member, service or property name. */
  nameLengthMax: 128,
  /** Longest `className`. */
  classNameLengthMax: 1024,
  /** Longest host name (DNS limit). */
  hostLengthMax: 253,
  /** Most services in one config. */
  servicesCountMax: 256,
  /** Most properties per service. */
  propertiesCountMax: 256,
  /** Longest property value. */
  propertyValueLengthMax: 64 * KiB,
  /** Most `tcp-ip` members. */
  membersCountMax: 1024,
  /** Partition count range. */
  partitionCountMax: 65535,
  /** Most named partition slots. */
  namedPartitionsMaxMax: 4096,
  /** Longest wait for a named partition's active node (one day). */
  nodeActiveTimeoutSecondsMax: 24 * 60 * 60,
  /** Smallest and largest frame a member will send or accept. */
  frameBytesMin: 4 * KiB,
  frameBytesMaxMax: GiB,
  /** Largest outbound queue per peer. */
  peerQueueBytesMaxMax: 4 * GiB,
  /** Most partition migrations running at once. */
  migrationsConcurrentMax: 256,
  /** Smallest migration chunk. */
  chunkBytesMin: KiB,
  /** Longest timeout of any kind (one day). */
  timeoutMsMax: 24 * 60 * 60 * 1000,
  /** Longest interval of any periodic task (one hour). */
  intervalMsMax: 60 * 60 * 1000,
  /** Longest retry pause (one minute). */
  retryPauseMsMax: 60 * 1000,
  /** Longest busy-poll window after a call goes out (10 ms: past that, sleeping costs nothing noticeable). */
  busyPollUsMax: 10_000,
  /** Most problems listed in one ConfigError message (all are kept in `problems`). */
  problemsReportedMax: 20,
});

export const CONFIG_DEFAULTS = Object.freeze({
  clusterName: 'dev',
  partitionCount: 271,
  namedPartitionsMax: 64,
  nodeActiveTimeoutSeconds: 60,
  host: '127.0.0.1',
  port: 5701,
  portAutoIncrement: true,
  portCount: 100,
  frameBytesMax: 16 * MiB,
  peerQueueBytesMax: 64 * MiB,
  multicastEnabled: false,
  multicastGroup: '224.2.2.3',
  multicastPort: 54327,
  multicastInterface: '127.0.0.1',
  multicastTtl: 0,
  joinTimeoutMs: 3000,
  mergeIntervalMs: 5000,
  callTimeoutMs: 60000,
  retryPauseMs: 50,
  busyPollUs: 0,
  backupAckTimeoutMs: 5000,
  failOnIndeterminateBackup: true,
  heartbeatIntervalMs: 1000,
  maxNoHeartbeatMs: 6000,
  migrationConcurrentMax: 4,
  chunkBytesMax: MiB,
  gracefulShutdownTimeoutMs: 30000,
  antiEntropyIntervalMs: 5000,
  loggingLevel: 'info',
  serviceEnabled: true,
} as const);
