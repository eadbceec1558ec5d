/**
 * The raw Node.js TCP limit on this machine: the anchor every Shoal throughput figure is compared
 * with, measured in the same run.
 *
 * A minimal length-prefixed (`[u32 BE length][payload]`) echo server runs in a child process on
 * 127.0.0.1; the client keeps `inFlight` frames of ~40 bytes outstanding and batches its writes
 * into one reused arena buffer per event-loop tick (as does the server). The figure is completed
 * round trips per second, after a short warm-up.
 *
 * Self-contained on purpose (no Shoal code), so it measures Node and the kernel, not us.
 *
 * `startTcpLatencyRig` measures the latency floor: one sequential caller through 2 or 4 hops (the
 * second process relays to a third, as an owner relays a write to its backup).
 *
 *   node --import tsx bench/micro/tcp-limit.ts [seconds]
 *   node --import tsx bench/micro/tcp-limit.ts --latency
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { dirname, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HOST = '127.0.0.1';
const HEADER_BYTES = 4;
/** 4-byte prefix + 36-byte payload = 40 bytes on the wire. */
const PAYLOAD_BYTES = 36;
const IN_FLIGHT_DEFAULT = 1000;
const SERVER_FLAG = '--echo-server';
/** `--relay-server PORT`: forward each frame to the echo server at PORT, and its answer back. */
const RELAY_FLAG = '--relay-server';

export interface TcpLimitOptions {
  /** Measured seconds (after warm-up). */
  readonly seconds: number;
  /** Frames outstanding at any time; default 1000. */
  readonly inFlight?: number;
}

export interface TcpLimitResult {
  readonly msgsPerSec: number;
}

/** A write buffer filled during one tick and written with one `socket.write`. */
class TickWriter {
  private buffer = Buffer.allocUnsafe(64 * 1024);
  private used = 0;
  private scheduled = false;

  constructor(private readonly socket: net.Socket) {}

  /** Room for `bytes` more; the caller writes into `target` at `offset`. */
  reserve(bytes: number): { target: Buffer; offset: number } {
    if (this.used + bytes > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.used + bytes));
      this.buffer.copy(grown, 0, 0, this.used);
      this.buffer = grown;
    }
    const offset = this.used;
    this.used += bytes;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
    return { target: this.buffer, offset };
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    if (this.used === 0 || this.socket.destroyed) return;
    this.socket.write(this.buffer.subarray(0, this.used));
    // The socket keeps the bytes it could not write yet: do not overwrite them.
    if (this.socket.writableLength > 0) this.buffer = Buffer.allocUnsafe(this.buffer.length);
    this.used = 0;
  };
}

/**
 * Calls `onFrame(chunk, start, end)` for each whole frame in the stream (start..end covers the
 * prefix too); keeps an incomplete tail for the next chunk.
 */
class FrameSplitter {
  private tail: Buffer | null = null;

  feed(chunk: Buffer, onFrame: (bytes: Buffer, start: number, end: number) => void): void {
    const data = this.tail === null ? chunk : Buffer.concat([this.tail, chunk]);
    this.tail = null;
    let at = 0;
    while (data.length - at >= HEADER_BYTES) {
      const end = at + HEADER_BYTES + data.readUInt32BE(at);
      if (end > data.length) break;
      onFrame(data, at, end);
      at = end;
    }
    if (at < data.length) this.tail = Buffer.from(data.subarray(at));
  }
}

// ---- the echo server (child process) -----------------------------------------------------------

/** Queues `bytes[start, end)` (a whole frame, prefix included) on `writer`. */
function copyFrame(writer: TickWriter, bytes: Buffer, start: number, end: number): void {
  const { target, offset } = writer.reserve(end - start);
  bytes.copy(target, offset, start, end);
}

/** A server whose connections each get a TickWriter, with every whole frame handed to `onFrame`. */
function frameServer(onFrame: (writer: TickWriter, bytes: Buffer, start: number, end: number) => void): net.Server {
  return net.createServer((socket) => {
    socket.setNoDelay(true);
    const writer = new TickWriter(socket);
    const splitter = new FrameSplitter();
    socket.on('data', (chunk: Buffer) => splitter.feed(chunk, (bytes, start, end) => onFrame(writer, bytes, start, end)));
    socket.on('error', () => socket.destroy());
  });
}

function runEchoServer(): void {
  serveUntilParentDone(frameServer(copyFrame));
}

/** Listens on a free loopback port, tells the parent which, and exits when the parent is done. */
function serveUntilParentDone(server: net.Server): void {
  server.listen({ host: HOST, port: 0 }, () => {
    const address = server.address();
    if (typeof address !== 'object' || address === null) throw new Error('server has no port');
    process.stdout.write(`LISTENING ${address.port}\n`);
  });
  // The parent closes our stdin when it is done (or dies): exit then.
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}

/**
 * A middle hop (the owner in a backed-up write): each frame from a client goes on to the next
 * process, and each answer from there back to the client that sent the oldest unanswered frame.
 */
function runRelayServer(nextPort: number): void {
  const next = net.connect({ host: HOST, port: nextPort });
  next.setNoDelay(true);
  const toNext = new TickWriter(next);
  const waiting: TickWriter[] = [];
  const fromNext = new FrameSplitter();
  next.on('data', (chunk: Buffer) => {
    fromNext.feed(chunk, (bytes, start, end) => {
      const client = waiting.shift();
      if (client !== undefined) copyFrame(client, bytes, start, end);
    });
  });
  next.on('error', () => process.exit(1));
  const server = frameServer((writer, bytes, start, end) => {
    waiting.push(writer);
    copyFrame(toNext, bytes, start, end);
  });
  next.once('connect', () => serveUntilParentDone(server));
}

// ---- the client ---------------------------------------------------------------------------------

function startServerProcess(args: readonly string[] = [SERVER_FLAG]): Promise<{ child: ChildProcess; port: number }> {
  const file = fileURLToPath(import.meta.url);
  const root = resolve(dirname(file), '..', '..');
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  return new Promise((resolvePort, reject) => {
    let out = '';
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      const match = /LISTENING (\d+)/.exec(out);
      if (match !== null) {
        child.stdout?.off('data', onData);
        resolvePort({ child, port: Number(match[1]) });
      }
    };
    child.stdout?.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`echo server exited early with code ${String(code)}`)));
  });
}

function stopServerProcess(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      done();
      return;
    }
    child.once('exit', () => done());
    child.stdin?.end();
  });
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolveSocket, reject) => {
    const socket = net.connect({ host: HOST, port });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.setNoDelay(true);
      resolveSocket(socket);
    });
  });
}

/** Round trips per second of ~40-byte frames, `inFlight` outstanding, against a child echo server. */
export async function measureTcpLimit(opts: TcpLimitOptions): Promise<TcpLimitResult> {
  if (!(opts.seconds > 0)) throw new RangeError(`seconds must be positive, got ${opts.seconds}`);
  const inFlight = opts.inFlight ?? IN_FLIGHT_DEFAULT;
  const warmupMs = Math.min(1000, opts.seconds * 200);
  const { child, port } = await startServerProcess();
  let socket: net.Socket | null = null;
  try {
    const s = await connect(port);
    socket = s;
    const writer = new TickWriter(s);
    const splitter = new FrameSplitter();
    let seq = 0;
    let completed = 0;
    let running = true;

    const sendOne = (): void => {
      const { target, offset } = writer.reserve(HEADER_BYTES + PAYLOAD_BYTES);
      target.writeUInt32BE(PAYLOAD_BYTES, offset);
      target.writeUInt32BE(seq >>> 0, offset + HEADER_BYTES);
      target.fill(0x2a, offset + HEADER_BYTES + 4, offset + HEADER_BYTES + PAYLOAD_BYTES);
      seq += 1;
    };

    const finished = new Promise<void>((done, fail) => {
      s.on('data', (chunk: Buffer) => {
        splitter.feed(chunk, () => {
          completed += 1;
          if (running) sendOne();
        });
      });
      s.once('error', fail);
      s.once('close', () => done());
    });

    for (let i = 0; i < inFlight; i++) sendOne();

    const started = performance.now();
    await new Promise<void>((r) => setTimeout(r, warmupMs));
    const countFrom = completed;
    const timeFrom = performance.now();
    await new Promise<void>((r) => setTimeout(r, opts.seconds * 1000));
    const countTo = completed;
    const timeTo = performance.now();
    running = false;
    s.destroy();
    await finished;
    if (countTo === countFrom) throw new Error(`no round trips completed in ${Math.round(timeTo - started)} ms`);
    return { msgsPerSec: ((countTo - countFrom) * 1000) / (timeTo - timeFrom) };
  } finally {
    socket?.destroy();
    await stopServerProcess(child);
  }
}

// ---- the latency floor ----------------------------------------------------------------------------

/** The rig of the latency floor: the processes stay up between measurements. */
export interface TcpLatencyRig {
  /** Sequential round trips for `seconds` (after a short warm-up); the client polls or sleeps while it waits. */
  measure(seconds: number, callerPolls: boolean): Promise<TcpLatencyResult>;
  stop(): Promise<void>;
}

export interface TcpLatencyResult {
  readonly p50us: number;
  readonly p99us: number;
  readonly roundTrips: number;
}

/**
 * Sequential round trips of ~40-byte frames through 2 or 4 one-way hops between Node.js processes
 * that do nothing else: the floor under Shoal's sequential latency on this machine (same framing,
 * same per-tick writes, no decoding, no partition queue, no promises in the servers).
 * `hops` 2: client → echo → client (an unreplicated call); 4: client → relay → echo → relay →
 * client (a call with one synchronous backup, whose ack returns through the owner).
 */
export async function startTcpLatencyRig(hops: 2 | 4): Promise<TcpLatencyRig> {
  const echo = await startServerProcess();
  const children = [echo.child];
  const stop = async (): Promise<void> => {
    for (const child of children.reverse()) await stopServerProcess(child);
  };
  let socket: net.Socket;
  try {
    let port = echo.port;
    if (hops === 4) {
      const relay = await startServerProcess([RELAY_FLAG, String(echo.port)]);
      children.push(relay.child);
      port = relay.port;
    }
    socket = await connect(port);
  } catch (error) {
    await stop();
    throw error;
  }
  const writer = new TickWriter(socket);
  const splitter = new FrameSplitter();
  let answered: (() => void) | null = null;
  socket.on('data', (chunk: Buffer) => splitter.feed(chunk, () => answered?.()));
  // One polling chain at most: it re-arms itself while a round trip waits, and ends otherwise.
  let waiting = false;
  let polling = false;
  const poll = (): void => {
    if (waiting) setImmediate(poll);
    else polling = false;
  };
  const roundTrip = (callerPolls: boolean): Promise<void> =>
    new Promise<void>((done) => {
      answered = () => {
        waiting = false;
        answered = null;
        done();
      };
      const { target, offset } = writer.reserve(HEADER_BYTES + PAYLOAD_BYTES);
      target.writeUInt32BE(PAYLOAD_BYTES, offset);
      target.fill(0x2a, offset + HEADER_BYTES, offset + HEADER_BYTES + PAYLOAD_BYTES);
      if (callerPolls) {
        waiting = true;
        if (!polling) {
          polling = true;
          setImmediate(poll);
        }
      }
    });
  return {
    async measure(seconds: number, callerPolls: boolean): Promise<TcpLatencyResult> {
      if (!(seconds > 0)) throw new RangeError(`seconds must be positive, got ${seconds}`);
      const warmupUntil = performance.now() + Math.min(200, seconds * 200);
      while (performance.now() < warmupUntil) await roundTrip(callerPolls);
      const samples: number[] = [];
      const until = performance.now() + seconds * 1000;
      while (performance.now() < until) {
        const t0 = performance.now();
        await roundTrip(callerPolls);
        samples.push((performance.now() - t0) * 1000);
      }
      samples.sort((x, y) => x - y);
      const at = (q: number): number => samples[Math.min(samples.length - 1, Math.floor(samples.length * q))];
      return { p50us: at(0.5), p99us: at(0.99), roundTrips: samples.length };
    },
    async stop(): Promise<void> {
      socket.destroy();
      await stop();
    },
  };
}

// ---- entry point --------------------------------------------------------------------------------

const invokedDirectly = process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === import.meta.url;

if (invokedDirectly) {
  if (process.argv.includes(SERVER_FLAG)) {
    runEchoServer();
  } else if (process.argv.includes(RELAY_FLAG)) {
    runRelayServer(Number(process.argv[process.argv.indexOf(RELAY_FLAG) + 1]));
  } else if (process.argv.includes('--latency')) {
    const run = async (): Promise<void> => {
      for (const hops of [2, 4] as const) {
        const rig = await startTcpLatencyRig(hops);
        try {
          for (const callerPolls of [false, true]) {
            const r = await rig.measure(2, callerPolls);
            console.log(`${hops} hops, caller ${callerPolls ? 'polls' : 'sleeps'}: p50 ${r.p50us.toFixed(0)} µs, p99 ${r.p99us.toFixed(0)} µs (${r.roundTrips} round trips)`);
          }
        } finally {
          await rig.stop();
        }
      }
    };
    run().catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    });
  } else {
    const seconds = Number(process.argv[2] ?? 5);
    measureTcpLimit({ seconds })
      .then(({ msgsPerSec }) => {
        console.log(
          `raw Node TCP limit (loopback, 2 processes, ~40-byte frames, ${IN_FLIGHT_DEFAULT} in flight, ` +
            `per-tick arena writes, ${seconds}s): ${Math.round(msgsPerSec).toLocaleString('en-US')} round trips/s`,
        );
      })
      .catch((err: unknown) => {
        console.error(err);
        process.exitCode = 1;
      });
  }
}
