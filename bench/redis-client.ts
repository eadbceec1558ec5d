/**
 * The ioredis side of the comparison, in its own process (as the Shoal load member is), driven
 * by bench/run.ts over IPC with the same load drivers as Shoal.
 *
 * Modes:
 * - `incrby`: `INCRBY key 1`; concurrent calls go through one connection with ioredis
 *   auto-pipelining (what a Node.js user gets from `enableAutoPipelining: true`).
 * - `incrby-wait`: `INCRBY key 1` and `WAIT 1 0` sent together on the same connection (no round
 *   trip between them, Redis's best case), acknowledged when WAIT reports ≥ 1 replica; concurrent
 *   calls spread over `connections` auto-pipelined connections.
 * - `incrby-then-wait` (sequential only): `await incrby(key, 1)` then `await wait(1, 0)` — two
 *   round trips, the way the two calls are usually written.
 * The sequential caller uses one connection with one call outstanding.
 */
import { Redis } from 'ioredis';
import { serve, type Handlers } from './lib/ipc.js';
import { driveConcurrent, driveSequential } from './lib/load.js';
import type { RedisCommands, RedisMode, VerifyReport } from './lib/protocol.js';

let primaryPort = 0;
let replicaPort: number | null = null;
let pipelined: Redis[] = [];
let single: Redis | null = null;
let keys: string[] = [];
let acked = new Float64Array(0);
let failed = new Float64Array(0);

function open(port: number, autoPipelining: boolean): Redis {
  return new Redis({ host: '127.0.0.1', port, enableAutoPipelining: autoPipelining, lazyConnect: true, maxRetriesPerRequest: 0 });
}

async function connect(args: RedisCommands['connect']['args']): Promise<null> {
  primaryPort = args.port;
  replicaPort = args.replicaPort;
  pipelined = Array.from({ length: args.connections }, () => open(primaryPort, true));
  single = open(primaryPort, false);
  await Promise.all([...pipelined, single].map((r) => r.connect()));
  keys = Array.from({ length: args.counters }, (_, k) => `${args.prefix}:${k}`);
  await single.del(...keys);
  acked = new Float64Array(keys.length);
  failed = new Float64Array(keys.length);
  return null;
}

class WaitError extends Error {
  override name = 'WaitError';
}

function checkWait(replicas: number): number {
  if (replicas < 1) throw new WaitError(`WAIT 1 0 answered ${replicas} replicas`);
  return replicas;
}

function incr(conn: Redis, key: string, mode: RedisMode): Promise<unknown> {
  if (mode === 'incrby') return conn.incrby(key, 1);
  if (mode === 'incrby-then-wait') return conn.incrby(key, 1).then(() => conn.wait(1, 0)).then(checkWait);
  // Both commands leave in the same write (auto-pipelined, or back to back when not).
  const incPromise = conn.incrby(key, 1);
  return Promise.all([incPromise, conn.wait(1, 0).then(checkWait)]);
}

const onAck = (slot: number): void => {
  acked[slot % keys.length] += 1;
};
const onError = (slot: number): void => {
  failed[slot % keys.length] += 1;
};

async function verifyOn(port: number, label: string): Promise<VerifyReport> {
  const reader = open(port, false);
  await reader.connect();
  try {
    const values = await reader.mget(...keys);
    const examples: string[] = [];
    let mismatches = 0;
    let indeterminate = 0;
    let total = 0;
    for (let k = 0; k < keys.length; k++) {
      const got = Number(values[k] ?? 0);
      total += got;
      if (got === acked[k]) continue;
      if (failed[k] > 0 && got >= acked[k] && got <= acked[k] + failed[k]) {
        indeterminate++;
        continue;
      }
      mismatches++;
      if (examples.length < 10) examples.push(`${label} ${keys[k]}: value ${got}, acknowledged ${acked[k]}`);
    }
    return { checked: keys.length, mismatches, examples, indeterminate, total };
  } finally {
    reader.disconnect();
  }
}

const handlers: Handlers<RedisCommands> = {
  connect: (args) => connect(args),
  concurrent: (args) => {
    // incrby: one auto-pipelined connection, as ioredis users run it; incrby-wait: spread.
    const conns = args.mode === 'incrby' ? pipelined.slice(0, 1) : pipelined;
    return driveConcurrent(args, (slot) => incr(conns[slot % conns.length], keys[slot % keys.length], args.mode), onAck, onError);
  },
  sequential: (args) => {
    const conn = single;
    if (conn === null) throw new Error('not connected');
    return driveSequential(args, (slot) => incr(conn, keys[slot % keys.length], args.mode), onAck, onError);
  },
  async verify() {
    const primary = await verifyOn(primaryPort, 'primary');
    if (replicaPort === null || primary.mismatches > 0) return primary;
    // Every acknowledged WAIT means the replica had the increment too.
    const replica = await verifyOn(replicaPort, 'replica');
    return replica.mismatches > 0 ? replica : primary;
  },
  async close() {
    for (const r of [...pipelined, ...(single === null ? [] : [single])]) r.disconnect();
    return null;
  },
};

serve<RedisCommands>(handlers, () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
