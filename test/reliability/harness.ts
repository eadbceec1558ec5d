/**
 * Real member processes for the reliability tests: spawn (member.ts under tsx), talk to them
 * over stdin/stdout, signal them by PID (SIGKILL, SIGTERM), wait for conditions with deadlines,
 * and kill whatever is left when a test ends (`cleanup`, registered with `t.after`).
 *
 * No fixed sleeps stand in for conditions: every wait is for a line, an exit or a polled
 * condition, bounded by a deadline, and a timeout fails with what the processes printed last.
 *
 * Each test file owns 100 ports (19000-19099, 19100-19199, ...). Environment:
 *   SHOAL_RELIABILITY_PORT_OFFSET=n  shifts every range (two runs at once on one host);
 *   SHOAL_TEST_ECHO=1                echoes every process's output;
 *   SHOAL_TEST_TRACE_SAFE=1          traces why the cluster is not safe yet while waiting;
 *   SHOAL_TEST_SEED=n                replays failover-kill's sequence of victims.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { CommandName, Commands, MemberEvent, MemberSpec, ReadyInfo, Response, StateInfo } from './protocol.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MEMBER_MAIN = join(REPO_ROOT, 'test', 'reliability', 'member.ts');
const TAIL_LINES = 60;

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

function describeExit(e: ExitInfo): string {
  return e.signal !== null ? `signal ${e.signal}` : `code ${String(e.code)}`;
}

/** Defaults: short failure detection, so a killed member is noticed within ~2 s. */
export const DEFAULT_SPEC: Omit<MemberSpec, 'name' | 'port' | 'seeds' | 'clusterName'> = {
  lite: false,
  partitionCount: 271,
  backupCount: 0,
  asyncBackupCount: 0,
  heartbeatIntervalMs: 300,
  maxNoHeartbeatMs: 2000,
  antiEntropyIntervalMs: 5000,
  callTimeoutMs: 30_000,
  backupAckTimeoutMs: 5000,
  gracefulShutdownTimeoutMs: 30_000,
  standby: false,
  bulkService: false,
  logLevel: 'info',
};

/**
 * For tests that kill no member: a failure detector that tolerates the multi-second stalls two
 * busy cores produce (see the report on false suspicions), since nothing there waits for a
 * detection. Tests that kill members keep the 2 s detector.
 */
export const NO_KILL_DETECTOR: Pick<MemberSpec, 'heartbeatIntervalMs' | 'maxNoHeartbeatMs'> = {
  heartbeatIntervalMs: 500,
  maxNoHeartbeatMs: 10_000,
};

interface Pending {
  readonly cmd: string;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

interface EventWaiter {
  readonly test: (e: MemberEvent) => boolean;
  readonly resolve: (e: MemberEvent) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** One member process. */
export class MemberProcess {
  readonly name: string;
  readonly port: number;
  readonly address: string;
  readonly spec: MemberSpec;
  readonly pid: number;
  /** Resolves once the member joined (READY); rejects if it exits first. */
  readonly ready: Promise<ReadyInfo>;
  /** Resolves when the process exited. Never rejects. */
  readonly exited: Promise<ExitInfo>;
  readonly events: MemberEvent[] = [];
  /** Every stderr line (Shoal's JSON logs) and the stdout lines that are not protocol lines. */
  readonly lines: string[] = [];
  private readonly child: ChildProcess;
  private exitInfo: ExitInfo | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly eventWaiters = new Set<EventWaiter>();
  private readyInfo: ReadyInfo | null = null;
  private standbyLoaded = false;
  private standbyWaiters: (() => void)[] = [];

  /**
   * `launcher`: a command the member is started through (`['ip', 'netns', 'exec', ns]` for the
   * chaos run's namespaces). It must exec node in place, so `pid` stays node's PID and signals by
   * PID reach the member.
   */
  constructor(spec: MemberSpec, env: Readonly<Record<string, string>>, launcher: readonly string[] = []) {
    this.spec = spec;
    this.name = spec.name;
    this.port = spec.port;
    this.address = `${spec.host ?? '127.0.0.1'}:${spec.port}`;
    const command = [...launcher, process.execPath, '--import', 'tsx', MEMBER_MAIN, JSON.stringify(spec)];
    this.child = spawn(command[0], command.slice(1), {
      cwd: REPO_ROOT,
      env: { ...process.env, SHOAL_LOG_JSON: '1', SHOAL_COUNTER_QUIET: '1', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    if (this.child.pid === undefined) throw new Error(`${spec.name}: spawn failed`);
    this.pid = this.child.pid;
    // A write to a member that just died must not crash the test process.
    this.child.stdin?.on('error', () => {});
    let readyResolve!: (info: ReadyInfo) => void;
    let readyReject!: (error: Error) => void;
    this.ready = new Promise<ReadyInfo>((res, rej) => {
      readyResolve = res;
      readyReject = rej;
    });
    this.ready.catch(() => {}); // observed by whoever awaits it
    const streams: Promise<void>[] = [];
    if (this.child.stdout !== null) {
      const rl = createInterface({ input: this.child.stdout, crlfDelay: Infinity });
      rl.on('line', (line) => this.onStdout(line, readyResolve));
      streams.push(new Promise((done) => rl.once('close', done)));
    }
    if (this.child.stderr !== null) {
      const rl = createInterface({ input: this.child.stderr, crlfDelay: Infinity });
      rl.on('line', (line) => this.pushLine(line));
      streams.push(new Promise((done) => rl.once('close', done)));
    }
    const exit = new Promise<ExitInfo>((done) => {
      this.child.once('exit', (code, signal) => done({ code, signal }));
      this.child.once('error', () => done({ code: null, signal: null }));
    });
    this.exited = Promise.all([exit, ...streams]).then(([info]) => {
      this.exitInfo = info;
      const why = new Error(`${this.name} exited (${describeExit(info)})\n${this.tail()}`);
      if (this.readyInfo === null) readyReject(why);
      for (const p of this.pending.values()) {
        clearTimeout(p.timer);
        p.reject(new Error(`${this.name}: '${p.cmd}' got no answer: process exited (${describeExit(info)})\n${this.tail()}`));
      }
      this.pending.clear();
      for (const w of this.eventWaiters) {
        clearTimeout(w.timer);
        w.reject(why);
      }
      this.eventWaiters.clear();
      return info;
    });
  }

  get running(): boolean {
    return this.exitInfo === null;
  }

  /** Running and a member of the cluster (a standby process is neither until `join`). */
  get joined(): boolean {
    return this.exitInfo === null && this.readyInfo !== null;
  }

  get exit(): ExitInfo | null {
    return this.exitInfo;
  }

  /** The member's uuid (after READY). */
  get uuid(): string {
    if (this.readyInfo === null) throw new Error(`${this.name} is not ready yet`);
    return this.readyInfo.uuid;
  }

  private pushLine(line: string): void {
    this.lines.push(line);
    if (process.env.SHOAL_TEST_ECHO === '1') process.stderr.write(`[${this.name}] ${line}\n`);
  }

  private onStdout(line: string, readyResolve: (info: ReadyInfo) => void): void {
    if (line.startsWith('RES ')) {
      const response = JSON.parse(line.slice(4)) as Response;
      const p = this.pending.get(response.id);
      if (p === undefined) return;
      this.pending.delete(response.id);
      clearTimeout(p.timer);
      if (response.ok) p.resolve(response.value);
      else p.reject(new Error(`${this.name}: '${p.cmd}' failed: ${response.error}`));
      return;
    }
    if (line.startsWith('EVENT ')) {
      const event = JSON.parse(line.slice(6)) as MemberEvent;
      this.events.push(event);
      for (const w of [...this.eventWaiters]) {
        if (!w.test(event)) continue;
        clearTimeout(w.timer);
        this.eventWaiters.delete(w);
        w.resolve(event);
      }
      return;
    }
    if (line === 'STANDBY') {
      this.standbyLoaded = true;
      for (const w of this.standbyWaiters) w();
      this.standbyWaiters = [];
      return;
    }
    if (line.startsWith('READY ')) {
      this.readyInfo = JSON.parse(line.slice(6)) as ReadyInfo;
      readyResolve(this.readyInfo);
      return;
    }
    this.pushLine(line);
  }

  /** Sends one command and awaits its answer (or the deadline, or the process's exit). */
  call<C extends CommandName>(cmd: C, args: Commands[C][0], timeoutMs = 30_000): Promise<Commands[C][1]> {
    if (this.exitInfo !== null) return Promise.reject(new Error(`${this.name} has exited (${describeExit(this.exitInfo)}); cannot send '${cmd}'`));
    const id = this.nextId++;
    return new Promise<Commands[C][1]>((res, rej) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        rej(new Error(`${this.name}: no answer to '${cmd}' within ${timeoutMs} ms\n${this.tail()}`));
      }, timeoutMs);
      this.pending.set(id, { cmd, resolve: res as (value: unknown) => void, reject: rej, timer });
      this.child.stdin?.write(`${JSON.stringify({ id, cmd, args })}\n`);
    });
  }

  /** The first event (already seen or future) satisfying `test`, within the deadline. */
  waitForEvent(test: (e: MemberEvent) => boolean, what: string, timeoutMs: number): Promise<MemberEvent> {
    const seen = this.events.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    if (this.exitInfo !== null) return Promise.reject(new Error(`${this.name} exited without ${what}\n${this.tail()}`));
    return new Promise<MemberEvent>((res, rej) => {
      const waiter: EventWaiter = {
        test,
        resolve: res,
        reject: rej,
        timer: setTimeout(() => {
          this.eventWaiters.delete(waiter);
          rej(new Error(`${this.name}: no ${what} within ${timeoutMs} ms\n${this.tail()}`));
        }, timeoutMs),
      };
      this.eventWaiters.add(waiter);
    });
  }

  /**
   * A standby process has loaded (it printed STANDBY). Tests wait for this before they kill a
   * member, so that the start-up of the replacement does not compete for the CPU with the
   * failure detection and recovery it is meant to follow.
   */
  loaded(timeoutMs = 30_000): Promise<void> {
    if (this.standbyLoaded) return Promise.resolve();
    if (this.exitInfo !== null) return Promise.reject(new Error(`${this.name} exited before it loaded\n${this.tail()}`));
    return withDeadline(new Promise<void>((done) => this.standbyWaiters.push(done)), timeoutMs, `${this.name} to load (STANDBY)`);
  }

  /** A standby process joins now, through `seeds`; resolves once it is READY. */
  async join(seeds: string[], timeoutMs = 30_000): Promise<ReadyInfo> {
    await this.call('join', { seeds }, timeoutMs);
    return withDeadline(this.ready, 1000, `${this.name} READY`);
  }

  /** Sends a signal by PID (a process that already exited is left alone). */
  signal(signal: NodeJS.Signals): void {
    if (this.exitInfo !== null) return;
    try {
      process.kill(this.pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }

  /** SIGKILL by PID and wait for the exit. */
  async kill(): Promise<ExitInfo> {
    this.signal('SIGKILL');
    return this.exited;
  }

  /**
   * SIGTERM by PID (graceful: the member moves its partitions away, then leaves) and wait for the
   * exit; fails (after SIGKILL) if it does not exit within the deadline.
   */
  async terminateGracefully(timeoutMs: number): Promise<ExitInfo> {
    this.signal('SIGTERM');
    return this.waitForExit(timeoutMs, 'SIGTERM');
  }

  async waitForExit(timeoutMs: number, after = 'the wait began'): Promise<ExitInfo> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((done) => {
      timer = setTimeout(() => done('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    if (outcome !== 'timeout') return outcome;
    this.signal('SIGKILL');
    await this.exited;
    throw new Error(`${this.name} did not exit within ${timeoutMs} ms of ${after}; killed it\n${this.tail()}`);
  }

  /** Stderr/stdout lines matching `pattern` (Shoal logs are JSON; match on their text). */
  grep(pattern: RegExp): string[] {
    return this.lines.filter((l) => pattern.test(l));
  }

  tail(count = TAIL_LINES): string {
    const shown = this.lines.slice(-count).map((l) => `  [${this.name}] ${l}`);
    return shown.length === 0 ? `  [${this.name}: no output]` : shown.join('\n');
  }
}

export interface SpawnOptions extends Partial<Omit<MemberSpec, 'name' | 'port' | 'clusterName'>> {
  readonly name?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** Command prefix the member is started through (see MemberProcess); default none. */
  readonly launcher?: readonly string[];
}

/** The processes of one test: ports from its own range, one cluster name, cleanup at the end. */
export class Harness {
  readonly clusterName: string;
  readonly members: MemberProcess[] = [];
  private nextPort: number;
  private readonly portEnd: number;
  private readonly onExit = (): void => {
    for (const m of this.members) m.signal('SIGKILL');
  };

  /** Ports `basePort .. basePort + portCount - 1` are this harness's (a test file owns 100). */
  constructor(
    basePort: number,
    readonly defaults: Partial<MemberSpec> = {},
    portCount = 100,
  ) {
    // Two runs of these tests at once on one host need different ports: shift every range.
    const offset = Number(process.env.SHOAL_RELIABILITY_PORT_OFFSET ?? 0);
    this.nextPort = basePort + offset;
    this.portEnd = basePort + offset + portCount;
    this.clusterName = `reliability-${this.nextPort}-${process.pid}`;
    process.once('exit', this.onExit);
  }

  /** Data members in the cluster. */
  get liveData(): MemberProcess[] {
    return this.members.filter((m) => m.joined && !m.spec.lite);
  }

  /** Members in the cluster (data and lite; not standby processes). */
  get live(): MemberProcess[] {
    return this.members.filter((m) => m.joined);
  }

  /**
   * Starts a member. `seeds` defaults to every running member's address (or only its own for
   * the first); it is not waited for (see `start`).
   */
  spawn(options: SpawnOptions = {}): MemberProcess {
    if (this.nextPort >= this.portEnd) throw new Error('this test used up its port range');
    const port = this.nextPort++;
    const running = this.live.map((m) => m.address);
    const { env, launcher, ...rest } = options;
    const spec: MemberSpec = {
      ...DEFAULT_SPEC,
      ...this.defaults,
      ...rest,
      name: options.name ?? `${options.lite === true ? 'lite' : 'member'}-${port}`,
      port,
      clusterName: this.clusterName,
      seeds: options.seeds ?? (running.length > 0 ? running : [`${options.host ?? this.defaults.host ?? '127.0.0.1'}:${port}`]),
    };
    const m = new MemberProcess(spec, env ?? {}, launcher);
    this.members.push(m);
    return m;
  }

  /**
   * Starts a process that loads everything but joins only on `join` (see MemberProcess.join):
   * a replacement member can be ready ahead of the moment it is needed.
   */
  spawnStandby(options: SpawnOptions = {}): MemberProcess {
    return this.spawn({ ...options, standby: true, seeds: [] });
  }

  /** Starts a member and waits until it joined. */
  async start(options: SpawnOptions = {}, timeoutMs = 30_000): Promise<MemberProcess> {
    const m = this.spawn(options);
    await withDeadline(m.ready, timeoutMs, `${m.name} READY`);
    return m;
  }

  /** Starts several members one after the other (each joins through the ones before). */
  async startMany(count: number, options: SpawnOptions = {}, timeoutMs = 30_000): Promise<MemberProcess[]> {
    const out: MemberProcess[] = [];
    for (let i = 0; i < count; i++) out.push(await this.start(options, timeoutMs));
    return out;
  }

  /**
   * Waits until every running member sees `expectedMembers` members (lite included) and reports
   * `isClusterSafe()`, polling each member; fails with their states at the deadline.
   */
  async waitClusterSafe(timeoutMs: number, expectedMembers = this.live.length): Promise<void> {
    let last: StateInfo[] = [];
    const started = Date.now();
    await waitUntil(
      async () => {
        const members = this.live;
        last = await Promise.all(members.map((m) => m.call('state', {}, 10_000)));
        if (process.env.SHOAL_TEST_TRACE_SAFE === '1') {
          const waiting = last.filter((s) => s.members !== expectedMembers || !s.safe).map((s) => `${s.name}(${s.members}): ${s.unsafe ?? 'members'}`);
          process.stderr.write(`[safe +${Date.now() - started} ms] ${waiting.join(' | ')}\n`);
        }
        return last.every((s) => s.members === expectedMembers && s.safe);
      },
      // Not faster: isClusterSafe() computes the whole target table, which costs CPU.
      { timeoutMs, intervalMs: 250, what: () => `cluster safe with ${expectedMembers} members; states: ${JSON.stringify(last)}` },
    );
  }

  /** The longest event-loop stall of each member in the cluster, as `name: ms`. */
  async eventLoopStalls(): Promise<string> {
    const states = await Promise.all(this.live.map((m) => m.call('state', {}, 10_000)));
    return states.map((s) => `${s.name}: ${s.eventLoopDelayMaxMs}`).join(', ');
  }

  /** SIGKILLs every process still running and waits for them; for `t.after`. */
  async cleanup(): Promise<void> {
    const running = this.members.filter((m) => m.running);
    for (const m of running) m.signal('SIGKILL');
    await Promise.all(running.map((m) => m.exited));
    process.off('exit', this.onExit);
  }

  /** The tail of every process's output, for a failure message. */
  report(lines = 25): string {
    return this.members
      .map((m) => `--- ${m.name} (pid ${m.pid}, ${m.exit === null ? 'running' : describeExit(m.exit)})\n${m.tail(lines)}`)
      .join('\n');
  }

  /**
   * Runs a test body; a failure carries the tails of every process's output, and the whole
   * output of each process is written to a directory named in the message.
   */
  async run(body: () => Promise<void>): Promise<void> {
    try {
      await body();
    } catch (error) {
      const dir = join(tmpdir(), `shoal-reliability-${this.clusterName}`);
      try {
        mkdirSync(dir, { recursive: true });
        for (const m of this.members) writeFileSync(join(dir, `${m.name}.log`), `${m.lines.join('\n')}\n`);
      } catch {
        // the message below still has the tails
      }
      if (error instanceof Error) error.message += `\n\nfull process output in ${dir}; tails:\n${this.report()}`;
      throw error;
    }
  }
}

export interface WaitUntilOptions {
  readonly timeoutMs: number;
  /** Pause between two checks of the condition. */
  readonly intervalMs: number;
  readonly what: () => string;
}

/** Re-checks `condition` until it holds; fails at the deadline with `what()`. */
export async function waitUntil(condition: () => boolean | Promise<boolean>, options: WaitUntilOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    let lastError: unknown = null;
    try {
      if (await condition()) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const cause = lastError instanceof Error ? ` (last check failed: ${lastError.message})` : '';
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what()}${cause}`);
    }
    await new Promise((done) => setTimeout(done, options.intervalMs));
  }
}

export async function withDeadline<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** `count` counter names. */
export function counterNames(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
}

export function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/** Adds per-counter tallies of several load generators (same names, same order). */
export function addTallies(tallies: readonly { acked: number[]; indeterminate: number[]; failed: number[] }[]): { acked: number[]; indeterminate: number[]; failed: number[] } {
  const n = tallies[0].acked.length;
  const out = { acked: new Array<number>(n).fill(0), indeterminate: new Array<number>(n).fill(0), failed: new Array<number>(n).fill(0) };
  for (const t of tallies) {
    for (let i = 0; i < n; i++) {
      out.acked[i] += t.acked[i];
      out.indeterminate[i] += t.indeterminate[i];
      out.failed[i] += t.failed[i];
    }
  }
  return out;
}
