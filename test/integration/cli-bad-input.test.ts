/**
 * Hostile bytes on the port of a live member started through the CLI (raw node:net sockets on
 * loopback): garbage, a truncated frame, an oversized length prefix, a Hello with another cluster's
 * name, and a valid Hello followed by an engine frame of unknown kind. Each time the member closes
 * that connection (or, for the truncated frame, notices it ended mid-frame), logs a warning that
 * names the remote endpoint and the reason, and goes on serving: the member list stays the same
 * and a load process still increments counters exactly afterwards.
 *
 * Ports 16140-16159 (this file only).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { Address } from '../../src/core/address.js';
import { encodeFrame } from '../../src/transport/framing.js';
import { encodeHello } from '../../src/transport/handshake.js';
import { PROTOCOL_VERSION } from '../../src/transport/transport.js';
import { CLI_CONFIG, assertExactLoad, lastMembersRecord, membersOf, runLoad, type LoadSpec } from '../helpers/cluster.js';
import {
  LOG_LEVEL,
  ProcessRegistry,
  loopbackAddresses,
  membersSize,
  spawnMember,
  waitMembers,
  waitReady,
  type ManagedProcess,
} from '../helpers/processes.js';

const BASE_PORT = 16140;
const ADDRESSES = loopbackAddresses(BASE_PORT, 2);
/** Claimed by the raw client's Hello; nothing listens there. */
const FAKE_PEER = new Address('127.0.0.1', BASE_PORT + 9);
const LOAD_PORT = BASE_PORT + 10;
const START_TIMEOUT_MS = 20_000;
const CLOSE_TIMEOUT_MS = 5_000;

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

function helloFrame(clusterName: string): Buffer {
  return encodeFrame(
    encodeHello({
      protocolVersion: PROTOCOL_VERSION,
      clusterName,
      memberUuid: '00000000-0000-4000-8000-00000000bad1',
      memberName: 'raw-client',
      address: FAKE_PEER,
    }),
  );
}

interface RawOutcome {
  /** `127.0.0.1:<port>` of our end, as the member sees it. */
  readonly local: string;
  /** Bytes the member wrote to us (it never should: accepted connections are read-only). */
  readonly received: number;
}

/**
 * Connects to `port`, writes `bytes`, optionally ends our side, and resolves once the connection
 * is closed (by the member, unless we ended it). Fails if it is still open after the deadline.
 */
function sendRaw(port: number, bytes: Buffer, endAfterWrite: boolean): Promise<RawOutcome> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let received = 0;
    let local = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connection to ${port} still open after ${CLOSE_TIMEOUT_MS} ms`));
    }, CLOSE_TIMEOUT_MS);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    socket.on('error', () => {
      // ECONNRESET when the member destroys the socket with our bytes unread: expected.
    });
    socket.once('connect', () => {
      local = `${socket.localAddress ?? ''}:${socket.localPort ?? 0}`;
      socket.write(bytes);
      if (endAfterWrite) socket.end();
    });
    socket.once('close', () => {
      clearTimeout(timer);
      if (local === '') reject(new Error(`could not connect to ${port}`));
      else resolve({ local, received });
    });
  });
}

interface BadInput {
  readonly name: string;
  readonly bytes: () => Buffer;
  /** We end our side after writing (a truncated stream); otherwise the member must close it. */
  readonly endAfterWrite: boolean;
  readonly reason: RegExp;
}

describe('shoal start: bad input on a live member port', { timeout: 90_000 }, () => {
  const registry = new ProcessRegistry();
  let a: ManagedProcess;
  let b: ManagedProcess;
  /** Where each member's output stood once the cluster had formed. */
  const listMarks = new Map<ManagedProcess, number>();
  let frameBytesMax = 0;

  before(async () => {
    frameBytesMax = (await loadConfig(CLI_CONFIG)).network.frameBytesMax;
    a = spawnMember(registry, { name: 'A', port: BASE_PORT, members: ADDRESSES });
    b = spawnMember(registry, { name: 'B', port: BASE_PORT + 1, members: ADDRESSES });
    await Promise.all([waitReady(a, START_TIMEOUT_MS), waitReady(b, START_TIMEOUT_MS)]);
    await Promise.all([waitMembers(a, 2, { timeoutMs: START_TIMEOUT_MS }), waitMembers(b, 2, { timeoutMs: START_TIMEOUT_MS })]);
    for (const p of [a, b]) listMarks.set(p, p.mark());
  });

  after(async () => {
    await registry.killAll();
  });

  const cases: BadInput[] = [
    {
      name: 'garbage bytes (an HTTP request)',
      bytes: () => Buffer.from('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 'latin1'),
      endAfterWrite: false,
      // "GET " read as a length prefix is far above what an unauthenticated peer may send.
      reason: /^frame length 1195725856 exceeds frameBytesMax \d+ \(before hello\)$/,
    },
    {
      name: 'a garbage frame where the Hello belongs',
      bytes: () => encodeFrame(Buffer.from('definitely not a shoal hello', 'latin1')),
      endAfterWrite: false,
      reason: /^bad hello: bad magic 0x[0-9a-f]{8} \(expected 'SHOL'\)$/,
    },
    {
      name: 'a truncated frame after a valid Hello',
      bytes: () => Buffer.concat([helloFrame('cli-test'), u32(100), Buffer.alloc(10, 7)]),
      endAfterWrite: true,
      reason: /^stream ended inside a frame \(10 of 100 payload bytes\)$/,
    },
    {
      name: 'an oversized length prefix after a valid Hello',
      bytes: () => Buffer.concat([helloFrame('cli-test'), u32(0xfffffff0)]),
      endAfterWrite: false,
      reason: new RegExp(`^frame length ${0xfffffff0} exceeds frameBytesMax \\d+$`),
    },
    {
      name: 'a Hello with a wrong cluster name',
      bytes: () => helloFrame('other-cluster'),
      endAfterWrite: false,
      reason: new RegExp(`^cluster name 'other-cluster' of Address\\[127\\.0\\.0\\.1\\]:${FAKE_PEER.port} does not match 'cli-test'$`),
    },
    {
      name: 'a valid Hello followed by an engine frame of unknown kind 99',
      bytes: () => Buffer.concat([helloFrame('cli-test'), encodeFrame(Buffer.from([99, 0, 0, 0, 0]))]),
      endAfterWrite: false,
      reason: /^malformed frame: MalformedMessageError: unknown frame kind 99$/,
    },
  ];

  for (const bad of cases) {
    it(`${bad.name}: the connection is closed, a warning names the reason, the member serves on`, async () => {
      const mark = a.mark();
      const outcome = await sendRaw(BASE_PORT, bad.bytes(), bad.endAfterWrite);
      assert.equal(outcome.received, 0, 'the member wrote nothing back');
      const warning = await a.waitForLog(
        (r) => r.msg === 'refused inbound connection' && r.remote === outcome.local,
        `a warning about the connection from ${outcome.local}`,
        { since: mark, timeoutMs: CLOSE_TIMEOUT_MS },
      );
      assert.equal(warning.record.level, LOG_LEVEL.warn);
      assert.match(String(warning.record.reason), bad.reason);
      assert.ok(a.running, 'the member process is still running');
    });
  }

  it('the frame size limit the oversized prefix hit is the configured one', () => {
    const record = a.logs().find((r) => typeof r.reason === 'string' && r.reason.startsWith(`frame length ${0xfffffff0}`));
    assert.ok(record !== undefined);
    assert.equal(record.reason, `frame length ${0xfffffff0} exceeds frameBytesMax ${frameBytesMax}`);
  });

  it('after all of it the member list is unchanged and a load process increments counters exactly', async () => {
    for (const p of [a, b]) {
      const changes = p.logs(listMarks.get(p)).filter((r) => membersSize(r) !== null);
      assert.deepEqual(changes, [], `${p.name} logged no member-list change during the bad input`);
      assert.deepEqual([...membersOf(lastMembersRecord(p)!)].sort(), ADDRESSES);
    }
    const spec: LoadSpec = { name: 'load', port: LOAD_PORT, members: ADDRESSES, counters: 4, rounds: 2 };
    const result = await runLoad(registry, spec, 30_000);
    assert.equal(result.members, 3);
    assertExactLoad(result, spec, {});
  });
});
