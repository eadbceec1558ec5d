/**
 * A tiny typed request/response protocol over Node's child-process IPC channel.
 *
 * The parent spawns a worker (`spawnWorker`) and calls its commands (`call`); the worker answers
 * them (`serve`). A command map type (`{ [name]: { args; result } }`) ties both ends together.
 * Workers exit when the parent goes away (IPC disconnect), so no orphan outlives the harness.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export type CommandMap = Record<string, { args: unknown; result: unknown }>;

interface Request {
  readonly id: number;
  readonly cmd: string;
  readonly args: unknown;
}

interface Response {
  readonly id: number;
  readonly ok: boolean;
  readonly result?: unknown;
  readonly error?: string;
}

function isResponse(value: unknown): value is Response {
  return typeof value === 'object' && value !== null && typeof (value as { id?: unknown }).id === 'number' && typeof (value as { ok?: unknown }).ok === 'boolean';
}

function isRequest(value: unknown): value is Request {
  return typeof value === 'object' && value !== null && typeof (value as { id?: unknown }).id === 'number' && typeof (value as { cmd?: unknown }).cmd === 'string';
}

export class Worker<C extends CommandMap> {
  readonly child: ChildProcess;
  readonly label: string;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; cmd: string }>();
  private exited = false;
  readonly exitedPromise: Promise<void>;

  constructor(child: ChildProcess, label: string) {
    this.child = child;
    this.label = label;
    child.on('message', (message: unknown) => {
      if (!isResponse(message)) return;
      const w = this.waiting.get(message.id);
      if (w === undefined) return;
      this.waiting.delete(message.id);
      if (message.ok) w.resolve(message.result);
      else w.reject(new Error(`${this.label} ${w.cmd}: ${message.error ?? 'failed'}`));
    });
    this.exitedPromise = new Promise<void>((done) => {
      child.once('exit', (code, signal) => {
        this.exited = true;
        for (const w of this.waiting.values()) w.reject(new Error(`${this.label} exited (code ${String(code)}, signal ${String(signal)}) during ${w.cmd}`));
        this.waiting.clear();
        done();
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get hasExited(): boolean {
    return this.exited;
  }

  call<K extends keyof C & string>(cmd: K, args: C[K]['args']): Promise<C[K]['result']> {
    if (this.exited) return Promise.reject(new Error(`${this.label} has exited; cannot run ${cmd}`));
    const id = this.nextId++;
    return new Promise<C[K]['result']>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject, cmd });
      const request: Request = { id, cmd, args };
      this.child.send(request, (error) => {
        if (error !== null && error !== undefined) {
          this.waiting.delete(id);
          reject(error);
        }
      });
    });
  }

  /** Ends the worker: SIGTERM by its pid, SIGKILL after `graceMs`. Resolves once it exited. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.exited) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (!this.exited) this.child.kill('SIGKILL');
    }, graceMs);
    await this.exitedPromise;
    clearTimeout(timer);
  }
}

/** Spawns `node [nodeArgs] --import tsx <file> [args]` with an IPC channel. */
export function spawnWorker<C extends CommandMap>(file: string, args: readonly string[], opts: { label: string; cwd: string; nodeArgs?: readonly string[]; env?: NodeJS.ProcessEnv }): Worker<C> {
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), '--import', 'tsx', file, ...args], {
    cwd: opts.cwd,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...opts.env },
  });
  return new Worker<C>(child, opts.label);
}

export type Handlers<C extends CommandMap> = { [K in keyof C]: (args: C[K]['args']) => Promise<C[K]['result']> | C[K]['result'] };

/** Worker side: answers the parent's commands; exits when the parent disconnects. */
export function serve<C extends CommandMap>(handlers: Handlers<C>, onParentGone: () => void): void {
  if (process.send === undefined) throw new Error('this module runs as a worker of bench/run.ts (no IPC channel)');
  const reply = (response: Response): void => {
    process.send?.(response);
  };
  process.on('message', (message: unknown) => {
    if (!isRequest(message)) return;
    const handler = (handlers as Record<string, ((args: unknown) => unknown) | undefined>)[message.cmd];
    if (handler === undefined) {
      reply({ id: message.id, ok: false, error: `unknown command ${message.cmd}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(message.args))
      .then(
        (result) => reply({ id: message.id, ok: true, result }),
        (error: unknown) => reply({ id: message.id, ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
      );
  });
  process.on('disconnect', onParentGone);
}
