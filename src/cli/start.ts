/**
 * `shoal start`: one member in the foreground.
 *
 * Lifecycle and exit codes:
 * - the config is loaded (see options.ts); any problem with it prints the `ConfigError` message
 *   (`file:line: field: detail`) on stderr and exits 2;
 * - the member starts (`Shoal.newInstance`); a failure to start (no free port, a service whose
 *   `init` throws) is logged and exits 1;
 * - once it is in a cluster, one machine-readable line goes to stdout:
 *   `SHOAL_MEMBER_READY <host:port> <uuid>`; everything else (the address, every member-list
 *   change, `cluster safe` after each change (safety.ts), warnings) is logged by pino on stderr;
 * - the first SIGINT or SIGTERM shuts the member down gracefully (partitions move away, the
 *   cluster is told, services get `shutdown(false)`), then the process exits 0 (1 if shutting
 *   down failed). A second signal while that runs terminates the member at once (services get
 *   `shutdown(true)`) and exits 128 + the signal number (130 for SIGINT, 143 for SIGTERM).
 */
import { constants } from 'node:os';
import type { Logger } from 'pino';
import { ConfigError } from '../config/errors.js';
import { createMemberLogger } from '../engine/logging.js';
import type { ShoalInstance } from '../engine/instance.js';
import { Shoal } from '../shoal.js';
import { loadStartConfig, type StartConfig, type StartFlags } from './options.js';
import { watchClusterSafety } from './safety.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_CONFIG = 2;

/** The prefix of the line `shoal start` prints on stdout once the member is in a cluster. */
export const READY_PREFIX = 'SHOAL_MEMBER_READY';

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
type StopSignal = (typeof SIGNALS)[number];

/** Where `shoal start` writes; the process streams by default. */
export interface StartIo {
  /** One line of machine-readable output (stdout). */
  readonly out: (line: string) => void;
  /** Human-readable text outside the log (stderr). */
  readonly err: (text: string) => void;
}

const processIo: StartIo = {
  out: (line) => {
    process.stdout.write(`${line}\n`);
  },
  err: (text) => {
    process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
  },
};

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Resolves with the first stop signal, and tells `onSecond` about every later one. */
class SignalWatch {
  private first: StopSignal | null = null;
  private resolveFirst: ((signal: StopSignal) => void) | null = null;
  readonly firstSignal: Promise<StopSignal>;
  onSecond: (signal: StopSignal) => void = () => {};
  private readonly handlers = new Map<StopSignal, () => void>();

  constructor() {
    this.firstSignal = new Promise((resolve) => {
      this.resolveFirst = resolve;
    });
    for (const signal of SIGNALS) {
      const handler = (): void => this.receive(signal);
      this.handlers.set(signal, handler);
      process.on(signal, handler);
    }
  }

  get received(): StopSignal | null {
    return this.first;
  }

  private receive(signal: StopSignal): void {
    if (this.first === null) {
      this.first = signal;
      this.resolveFirst?.(signal);
      return;
    }
    this.onSecond(signal);
  }

  dispose(): void {
    for (const [signal, handler] of this.handlers) process.off(signal, handler);
    this.handlers.clear();
  }
}

function exitCodeOf(signal: StopSignal): number {
  return 128 + constants.signals[signal];
}

/** Runs `shoal start` until the member has stopped; resolves with the process exit code. */
export async function runStart(flags: StartFlags, io: StartIo = processIo): Promise<number> {
  let start: StartConfig;
  try {
    start = await loadStartConfig(flags);
  } catch (error) {
    if (error instanceof ConfigError) {
      io.err(`shoal start: invalid configuration\n${error.message}`);
      return EXIT_CONFIG;
    }
    throw error;
  }
  const log: Logger = createMemberLogger(start.resolved.logging.level).child({ component: 'cli' });
  const signals = new SignalWatch();
  try {
    return await runMember(start, log, signals, io);
  } finally {
    signals.dispose();
  }
}

async function runMember(
  start: StartConfig,
  cliLog: Logger,
  signals: SignalWatch,
  io: StartIo,
): Promise<number> {
  const { resolved } = start;
  let log = cliLog;
  log.info(
    { config: start.file ?? null, cluster: resolved.clusterName, port: resolved.network.port },
    start.file === undefined ? 'starting member with default settings' : `starting member from ${start.file}`,
  );

  // A signal while starting: the member is shut down as soon as it is up; a second one exits now.
  signals.onSecond = (signal) => {
    log.warn(`received ${signal} again while starting: exiting without waiting`);
    process.exit(exitCodeOf(signal));
  };
  let instance: ShoalInstance;
  try {
    instance = await Shoal.newInstance(start.config);
  } catch (error) {
    if (error instanceof ConfigError) {
      io.err(`shoal start: invalid configuration\n${error.message}`);
      return EXIT_CONFIG;
    }
    log.fatal({ err: error }, `member failed to start: ${describeError(error)}`);
    return EXIT_FAILURE;
  }

  const local = instance.getCluster().getLocalMember();
  log = log.child({ member: instance.getName() });
  const members = instance.getCluster().getMembers();
  log.info(
    { address: local.address.key, uuid: local.uuid, members: members.length },
    `member ${instance.getName()} started on ${local.address.toString()} in cluster '${resolved.clusterName}' of ${members.length}`,
  );
  io.out(`${READY_PREFIX} ${local.address.key} ${local.uuid}`);
  const stopSafetyWatch = watchClusterSafety(instance, log);

  const signal = signals.received ?? (await signals.firstSignal);
  stopSafetyWatch();
  log.info(`received ${signal}: shutting down gracefully (send it again to terminate at once)`);

  const stop: { forced: StopSignal | null } = { forced: null };
  const terminated = new Promise<void>((resolve) => {
    signals.onSecond = (again) => {
      if (stop.forced !== null) return;
      stop.forced = again;
      log.warn(`received ${again} again: terminating without migrating partitions`);
      instance.terminate().then(resolve, (error: unknown) => {
        log.error({ err: error }, `terminate failed: ${describeError(error)}`);
        resolve();
      });
    };
  });
  const graceful = instance.shutdown().then(
    () => true,
    (error: unknown) => {
      log.error({ err: error }, `graceful shutdown failed: ${describeError(error)}`);
      return false;
    },
  );
  const outcome = await Promise.race([graceful, terminated.then(() => 'terminated' as const)]);
  if (outcome === 'terminated' || stop.forced !== null) {
    log.warn('member terminated');
    return exitCodeOf(stop.forced ?? signal);
  }
  if (!outcome) return EXIT_FAILURE;
  log.info('member shut down; exiting');
  return EXIT_OK;
}
