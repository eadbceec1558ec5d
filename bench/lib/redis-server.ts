/**
 * redis-server processes for the anchors: started by the harness on loopback ports with no
 * persistence, ended by their pid. Never the system service.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { sleep } from './load.js';

/** The `redis-server` executable on PATH, or null. */
export function redisServerPath(): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, 'redis-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

export function redisVersion(path: string): string {
  const out = spawnSync(path, ['--version'], { encoding: 'utf8' }).stdout ?? '';
  return /v=(\S+)/.exec(out)?.[1] ?? (out.trim() || 'unknown');
}

export class RedisServer {
  private exited = false;
  private readonly exitedPromise: Promise<void>;

  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
    private readonly dir: string,
  ) {
    this.exitedPromise = new Promise((done) => {
      child.once('exit', () => {
        this.exited = true;
        done();
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Starts redis-server on 127.0.0.1:port (a replica of `replicaOf` when given); resolves when it answers. */
  static async start(path: string, port: number, replicaOf: number | null = null): Promise<RedisServer> {
    const dir = mkdtempSync(join(tmpdir(), 'shoal-bench-redis-'));
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning', '--daemonize', 'no'];
    if (replicaOf !== null) args.push('--replicaof', '127.0.0.1', String(replicaOf));
    const child = spawn(path, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    const server = new RedisServer(port, child, dir);
    try {
      await server.waitReady(replicaOf !== null);
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  /** Sends one inline command, returns the raw reply text. */
  command(line: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port: this.port });
      let reply = '';
      socket.setTimeout(2000, () => socket.destroy(new Error(`redis :${this.port} did not answer '${line}'`)));
      socket.once('error', reject);
      socket.on('data', (chunk: Buffer) => {
        reply += chunk.toString('utf8');
        // A bulk reply ($len\r\n...\r\n) or a simple one (+/-/:...\r\n).
        const bulk = /^\$(\d+)\r\n/.exec(reply);
        if (bulk === null ? reply.endsWith('\r\n') : reply.length >= bulk[0].length + Number(bulk[1]) + 2) {
          socket.end();
          resolve(reply);
        }
      });
      socket.once('connect', () => socket.write(`${line}\r\n`));
    });
  }

  private async waitReady(replica: boolean): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (this.exited) throw new Error(`redis-server on port ${this.port} exited at start (port in use?)`);
      try {
        if (!replica) {
          if ((await this.command('PING')).startsWith('+PONG')) return;
        } else if ((await this.command('INFO replication')).includes('master_link_status:up')) {
          return;
        }
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`redis-server on port ${this.port} not ready after 10 s`);
      await sleep(20);
    }
  }

  /** SIGTERM by pid, SIGKILL after 2 s; removes its scratch directory. */
  async stop(): Promise<void> {
    if (!this.exited) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (!this.exited) this.child.kill('SIGKILL');
      }, 2000);
      await this.exitedPromise;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
