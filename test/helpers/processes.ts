/**
 * Real OS processes for integration tests: spawn, capture output line by line, wait for a line
 * (or a JSON log record) with a deadline, signal by PID and await the exit, and a registry that
 * kills whatever is still running when a test ends, also when it failed.
 *
 * Nothing here sleeps for a fixed time: every wait is on an event (a line, an exit) bounded by a
 * deadline, and a timeout fails with the tail of the process's output.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is test/helpers/processes.ts). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The CLI entry point, run from source through tsx. */
export const CLI_MAIN = join(REPO_ROOT, 'src', 'cli', 'main.ts');
/** Config fixtures of the CLI tests. */
export const CLI_FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'cli');

export type StreamName = 'stdout' | 'stderr';

export interface Line {
  readonly stream: StreamName;
  readonly text: string;
  /** Position in the process's combined output (0-based), for `since`. */
  readonly index: number;
}

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A parsed pino JSON log line (`SHOAL_LOG_JSON=1`). */
export interface LogRecord {
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** A log record with the index of its line in the process's output (for `since`). */
export interface LogEntry {
  readonly record: LogRecord;
  readonly index: number;
}

export const LOG_LEVEL = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;

export interface WaitOptions {
  /** Give up after this many milliseconds. */
  readonly timeoutMs: number;
  /** Only lines from this stream (default: either). */
  readonly stream?: StreamName;
  /** Only lines at or after this index (see `mark()`); default 0, so earlier lines count. */
  readonly since?: number;
}

interface Waiter {
  readonly test: (line: Line) => boolean;
  readonly resolve: (line: Line) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

const TAIL_LINES = 40;

export interface SpawnSpec {
  /** Shown in messages. */
  readonly name: string;
  /** Arguments after `process.execPath`. */
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

/** One spawned process with its output kept as lines. */
export class ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly lines: Line[] = [];
  /** Resolves when the process has exited and its output streams have ended. Never rejects. */
  readonly exited: Promise<ExitInfo>;
  private exitInfo: ExitInfo | null = null;
  private waiters = new Set<Waiter>();
  private readonly child: ChildProcess;

  constructor(spec: SpawnSpec) {
    this.name = spec.name;
    this.child = spawn(process.execPath, [...spec.args], {
      cwd: spec.cwd ?? REPO_ROOT,
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (this.child.pid === undefined) throw new Error(`${spec.name}: spawn failed`);
    this.pid = this.child.pid;
    const streamsEnded: Promise<void>[] = [];
    for (const stream of ['stdout', 'stderr'] as const) {
      const source = this.child[stream];
      if (source === null) continue;
      const reader = createInterface({ input: source, crlfDelay: Infinity });
      reader.on('line', (text) => this.push(stream, text));
      streamsEnded.push(new Promise((done) => reader.once('close', done)));
    }
    const exit = new Promise<ExitInfo>((done) => {
      this.child.once('exit', (code, signal) => done({ code, signal }));
      this.child.once('error', () => done({ code: null, signal: null }));
    });
    this.exited = Promise.all([exit, ...streamsEnded]).then(([info]) => {
      this.exitInfo = info;
      for (const w of this.waiters) {
        clearTimeout(w.timer);
        w.reject(new Error(`${this.name} exited (${describeExit(info)}) before the awaited line appeared\n${this.tail()}`));
      }
      this.waiters.clear();
      return info;
    });
  }

  /** Null while running. */
  get exit(): ExitInfo | null {
    return this.exitInfo;
  }

  get running(): boolean {
    return this.exitInfo === null;
  }

  /** The index the next line will get: pass it as `since` to wait only for later lines. */
  mark(): number {
    return this.lines.length;
  }

  /** Lines of one stream, or of both, as text. */
  text(stream?: StreamName): string {
    return this.lines
      .filter((l) => stream === undefined || l.stream === stream)
      .map((l) => l.text)
      .join('\n');
  }

  /** The last lines of output, for failure messages. */
  tail(count = TAIL_LINES): string {
    const shown = this.lines.slice(-count).map((l) => `  [${this.name} ${l.stream}] ${l.text}`);
    return shown.length === 0 ? `  [${this.name}: no output]` : shown.join('\n');
  }

  /** JSON log records on stderr (lines that parse as pino records), from `since`. */
  logs(since = 0): LogRecord[] {
    const out: LogRecord[] = [];
    for (const line of this.lines.slice(since)) {
      if (line.stream !== 'stderr') continue;
      const record = parseLogRecord(line.text);
      if (record !== null) out.push(record);
    }
    return out;
  }

  /** The first line (from `since`) matching `pattern`, waiting for it up to the deadline. */
  async waitForLine(pattern: RegExp, options: WaitOptions): Promise<Line> {
    return this.waitFor((line) => pattern.test(line.text), `a line matching ${String(pattern)}`, options);
  }

  /** The first JSON log record (from `since`) satisfying `test`, waiting up to the deadline. */
  async waitForLog(test: (record: LogRecord) => boolean, what: string, options: Omit<WaitOptions, 'stream'>): Promise<LogEntry> {
    const line = await this.waitFor(
      (l) => {
        const record = parseLogRecord(l.text);
        return record !== null && test(record);
      },
      what,
      { ...options, stream: 'stderr' },
    );
    return { record: parseLogRecord(line.text)!, index: line.index };
  }

  private waitFor(test: (line: Line) => boolean, what: string, options: WaitOptions): Promise<Line> {
    const since = options.since ?? 0;
    const matches = (l: Line): boolean => l.index >= since && (options.stream === undefined || l.stream === options.stream) && test(l);
    const found = this.lines.find(matches);
    if (found !== undefined) return Promise.resolve(found);
    if (this.exitInfo !== null) {
      return Promise.reject(new Error(`${this.name} has exited (${describeExit(this.exitInfo)}) without ${what}\n${this.tail()}`));
    }
    return new Promise<Line>((resolvePromise, rejectPromise) => {
      const waiter: Waiter = {
        test: matches,
        resolve: resolvePromise,
        reject: rejectPromise,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          rejectPromise(new Error(`${this.name}: no ${what} within ${options.timeoutMs} ms\n${this.tail()}`));
        }, options.timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  private push(stream: StreamName, text: string): void {
    const line: Line = { stream, text, index: this.lines.length };
    this.lines.push(line);
    if (process.env.SHOAL_TEST_ECHO === '1') process.stderr.write(`[${this.name} ${stream}] ${text}\n`);
    for (const w of this.waiters) {
      if (!w.test(line)) continue;
      clearTimeout(w.timer);
      this.waiters.delete(w);
      w.resolve(line);
    }
  }

  /**
   * Sends `signal` to this process (by PID) and waits for it to exit. If it has not exited within
   * `timeoutMs`, it is killed with SIGKILL and the call fails (a process that ignores SIGTERM is a
   * bug worth a red test).
   */
  async stop(signal: NodeJS.Signals, timeoutMs: number): Promise<ExitInfo> {
    if (this.exitInfo !== null) return this.exitInfo;
    this.signal(signal);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((done) => {
      timer = setTimeout(() => done('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    if (outcome !== 'timeout') return outcome;
    this.signal('SIGKILL');
    await this.exited;
    throw new Error(`${this.name} did not exit within ${timeoutMs} ms of ${signal}; killed it\n${this.tail()}`);
  }

  /** Sends `signal` by PID; a process that already exited is left alone. */
  signal(signal: NodeJS.Signals): void {
    if (this.exitInfo !== null) return;
    try {
      process.kill(this.pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }

  /** Waits for the process to exit on its own, failing after `timeoutMs` (then it is SIGKILLed). */
  async waitForExit(timeoutMs: number): Promise<ExitInfo> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((done) => {
      timer = setTimeout(() => done('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    if (outcome !== 'timeout') return outcome;
    this.signal('SIGKILL');
    await this.exited;
    throw new Error(`${this.name} did not exit within ${timeoutMs} ms; killed it\n${this.tail()}`);
  }
}

export function describeExit(info: ExitInfo): string {
  return info.signal !== null ? `signal ${info.signal}` : `code ${info.code ?? 'unknown'}`;
}

export function parseLogRecord(text: string): LogRecord | null {
  if (!text.startsWith('{')) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const record = value as Record<string, unknown>;
  if (typeof record.level !== 'number' || typeof record.msg !== 'string') return null;
  return record as LogRecord;
}

/** Everything spawned by one test file; `killAll` in an `after` hook leaves nothing running. */
export class ProcessRegistry {
  private readonly processes: ManagedProcess[] = [];
  private readonly onExit = (): void => {
    // Last resort if the test process itself exits without running its hooks.
    for (const p of this.processes) p.signal('SIGKILL');
  };

  constructor() {
    process.once('exit', this.onExit);
  }

  spawn(spec: SpawnSpec): ManagedProcess {
    const p = new ManagedProcess(spec);
    this.processes.push(p);
    return p;
  }

  /** SIGKILLs every process still running and waits for all of them to exit. */
  async killAll(): Promise<void> {
    const running = this.processes.filter((p) => p.running);
    for (const p of running) p.signal('SIGKILL');
    await Promise.all(running.map((p) => p.exited));
    process.off('exit', this.onExit);
    this.dumpLogs();
  }

  /**
   * With `SHOAL_TEST_LOG_DIR` set, writes each process's whole output to `<dir>/<name>-<pid>.log`
   * (for reading after a failure); otherwise does nothing.
   */
  dumpLogs(): void {
    const dir = process.env.SHOAL_TEST_LOG_DIR;
    if (dir === undefined || dir === '') return;
    mkdirSync(dir, { recursive: true });
    for (const p of this.processes) {
      writeFileSync(join(dir, `${p.name}-${p.pid}.log`), p.lines.map((l) => `${l.stream} ${l.text}`).join('\n') + '\n');
    }
  }
}

// ---- Shoal members ------------------------------------------------------------------------------

export interface MemberSpec {
  /** Member name (`--member-name`) and process name in messages. */
  readonly name: string;
  readonly port: number;
  /** Every member's `host:port`, for `--members`. */
  readonly members: readonly string[];
  /** Config file; default test/fixtures/cli/shoal.xml. */
  readonly config?: string;
  readonly extraArgs?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

/** Environment of test members: JSON log lines (one record per line), counters quiet. */
export const MEMBER_ENV: Readonly<Record<string, string>> = { SHOAL_LOG_JSON: '1', SHOAL_COUNTER_QUIET: '1' };

/** `node --import tsx src/cli/main.ts <args>`, from the repository root. */
export function cliArgs(args: readonly string[]): string[] {
  return ['--import', 'tsx', CLI_MAIN, ...args];
}

/** Starts `shoal start` for one member (it is not waited for: see `waitReady`). */
export function spawnMember(registry: ProcessRegistry, spec: MemberSpec): ManagedProcess {
  const args = [
    'start',
    '--config',
    spec.config ?? join(CLI_FIXTURES, 'shoal.xml'),
    '--port',
    String(spec.port),
    '--members',
    spec.members.join(','),
    '--member-name',
    spec.name,
    ...(spec.extraArgs ?? []),
  ];
  return registry.spawn({ name: spec.name, args: cliArgs(args), env: { ...MEMBER_ENV, ...spec.env } });
}

export interface Ready {
  readonly address: string;
  readonly uuid: string;
}

const READY_LINE = /^SHOAL_MEMBER_READY (\S+) (\S+)$/;

/** Waits for `SHOAL_MEMBER_READY <host:port> <uuid>` on stdout. */
export async function waitReady(p: ManagedProcess, timeoutMs: number): Promise<Ready> {
  const line = await p.waitForLine(READY_LINE, { stream: 'stdout', timeoutMs });
  const m = READY_LINE.exec(line.text)!;
  return { address: m[1], uuid: m[2] };
}

/** The member-list size in an engine `Members {size:N, ver:V} [...]` log message, or null. */
export function membersSize(record: LogRecord): number | null {
  const m = /^Members \{size:(\d+), ver:(\d+)\}/.exec(record.msg);
  return m === null ? null : Number(m[1]);
}

/** Waits for a `Members {size:N ...}` record from `since`. */
export function waitMembers(p: ManagedProcess, size: number, options: Omit<WaitOptions, 'stream'>): Promise<LogEntry> {
  return p.waitForLog((r) => membersSize(r) === size, `a "Members {size:${size}" log record`, options);
}

/** `count` consecutive loopback addresses from `port`. */
export function loopbackAddresses(port: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `127.0.0.1:${port + i}`);
}
