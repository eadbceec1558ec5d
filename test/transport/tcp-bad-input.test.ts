/**
 * A live TcpTransport fed hostile bytes from raw node:net sockets (loopback only). For each kind
 * of bad input: the server closes that socket (or notices the client closed mid-frame), logs a
 * warning with the remote endpoint and the reason, counts the refusal, and keeps serving: a
 * well-behaved peer still exchanges frames with it.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Address } from '../../src/core/address.js';
import { encodeFrame } from '../../src/transport/framing.js';
import { HELLO_BYTES_MAX, encodeHello } from '../../src/transport/handshake.js';
import { TcpTransport } from '../../src/transport/tcp.js';
import { PROTOCOL_VERSION } from '../../src/transport/transport.js';
import { CollectingHandler, CollectingLogger, TEST_CLUSTER, realRuntime, testOptions } from './helpers.js';

const BASE_PORT = 15801;
const FRAME_BYTES_MAX = 64 * 1024;
const HANDSHAKE_TIMEOUT_MS = 300;

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

function hello(clusterName: string, port = 40000): Buffer {
  return encodeFrame(
    encodeHello({
      protocolVersion: PROTOCOL_VERSION,
      clusterName,
      memberUuid: '00000000-0000-4000-8000-000000000001',
      memberName: 'raw',
      address: new Address('127.0.0.1', port),
    }),
  );
}

interface RawClient {
  readonly socket: net.Socket;
  /** Resolves when the socket closed (by either side); never rejects. */
  readonly closed: Promise<void>;
  /** Bytes the server wrote to us (it never should: inbound connections are read-only). */
  readonly received: Buffer[];
}

function rawConnect(port: number): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.on('error', () => {
        // ECONNRESET when the server destroys the socket with our bytes unread: expected.
      });
      resolve({ socket, closed, received });
    });
  });
}

void describe('tcp transport under bad input', () => {
  const handler = new CollectingHandler();
  const logger = new CollectingLogger();
  let server: TcpTransport;
  let address: Address;

  before(async () => {
    server = new TcpTransport(
      testOptions(BASE_PORT, { frameBytesMax: FRAME_BYTES_MAX }),
      realRuntime(),
      logger,
      { handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS },
    );
    address = await server.start(handler);
  });

  after(async () => {
    await server.close();
  });

  /** A fresh, well-behaved member exchanges a frame each way with the server. */
  async function assertServesOn(tag: string): Promise<void> {
    const peerHandler = new CollectingHandler();
    const peer = new TcpTransport(testOptions(BASE_PORT), realRuntime(), new CollectingLogger());
    try {
      const peerAddress = await peer.start(peerHandler);
      const token = `ok-${tag}`;
      peer.send(address, Buffer.from(token));
      await handler.until(
        (h) => h.frames.some((f) => f.from.equals(peerAddress) && f.frame.toString() === token),
        `server receives ${token}`,
      );
      server.send(peerAddress, Buffer.from(`re-${token}`));
      await peerHandler.until((h) => h.frames.some((f) => f.frame.toString() === `re-${token}`), `peer receives re-${token}`);
      assert.equal(peerHandler.unreachable.length, 0);
    } finally {
      await peer.close();
    }
  }

  interface Case {
    readonly name: string;
    /** What the raw client writes. */
    readonly bytes: () => Buffer;
    /** The client ends its side after writing (else the server must close it). */
    readonly clientCloses?: boolean;
    /** Substring expected in the logged reason. */
    readonly reason: string;
    /** Number of Hellos acceptPeer sees from this client. */
    readonly accepted?: number;
  }

  const cases: Case[] = [
    {
      name: 'garbage bytes (an HTTP request)',
      bytes: () => Buffer.from('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'),
      reason: `exceeds frameBytesMax ${HELLO_BYTES_MAX} (before hello)`,
    },
    {
      name: 'a truncated frame, then the client closes',
      bytes: () => Buffer.concat([u32(100), Buffer.alloc(10, 1)]),
      clientCloses: true,
      reason: 'stream ended inside a frame (10 of 100 payload bytes)',
    },
    {
      name: 'half a length prefix, then the client closes',
      bytes: () => Buffer.from([0, 0]),
      clientCloses: true,
      reason: 'stream ended inside a length prefix',
    },
    {
      name: 'an oversized length prefix',
      bytes: () => u32(0xffff_ffff),
      reason: 'frame length 4294967295 exceeds',
    },
    {
      name: 'a zero-length frame before the hello',
      bytes: () => u32(0),
      reason: 'zero-length frame',
    },
    {
      name: 'a hello-sized frame with bad magic',
      bytes: () => encodeFrame(Buffer.from('NOPE-this-is-not-a-hello')),
      reason: 'bad magic',
    },
    {
      name: 'a hello with an unknown protocol version',
      bytes: () => {
        const frame = hello(TEST_CLUSTER);
        frame.writeUInt16BE(99, 4 + 4);
        return frame;
      },
      reason: 'unknown protocol version 99',
    },
    {
      name: 'a hello with trailing bytes',
      bytes: () => {
        const body = Buffer.concat([hello(TEST_CLUSTER).subarray(4), Buffer.from('xx')]);
        return encodeFrame(body);
      },
      reason: '2 trailing bytes after hello',
    },
    {
      name: 'a wrong cluster name',
      bytes: () => hello('intruders'),
      reason: "cluster name 'intruders'",
    },
    {
      name: 'a valid hello followed by an oversized frame',
      bytes: () => Buffer.concat([hello(TEST_CLUSTER), u32(FRAME_BYTES_MAX + 1), Buffer.alloc(16)]),
      reason: `frame length ${FRAME_BYTES_MAX + 1} exceeds frameBytesMax ${FRAME_BYTES_MAX}`,
      accepted: 1,
    },
    {
      name: 'a valid hello followed by a zero-length frame',
      bytes: () => Buffer.concat([hello(TEST_CLUSTER), u32(0)]),
      reason: 'zero-length frame',
      accepted: 1,
    },
    {
      name: 'a valid hello, then a frame cut short by the client closing',
      bytes: () => Buffer.concat([hello(TEST_CLUSTER), u32(5000), Buffer.alloc(100)]),
      clientCloses: true,
      reason: 'stream ended inside a frame (100 of 5000 payload bytes)',
      accepted: 1,
    },
    {
      name: 'no hello at all within the handshake timeout',
      bytes: () => Buffer.alloc(0),
      reason: `no hello within ${HANDSHAKE_TIMEOUT_MS} ms`,
    },
  ];

  for (const c of cases) {
    void it(`${c.name}: closes, logs the reason, serves on`, async () => {
      const refusedBefore = server.stats().connectionsRefused;
      const hellosBefore = handler.hellos.length;
      const framesBefore = handler.frames.length;
      const warningsBefore = logger.warnings().length;

      const client = await rawConnect(address.port);
      const local = `${client.socket.localAddress}:${client.socket.localPort}`;
      const bytes = c.bytes();
      if (bytes.length > 0) client.socket.write(bytes);
      if (c.clientCloses === true) client.socket.end();
      await client.closed;

      await logger.changed.until(
        () => logger.warnings().length > warningsBefore,
        `a warning for: ${c.name}`,
      );
      const warning = logger.warnings()[warningsBefore];
      assert.equal(warning.msg, 'refused inbound connection');
      assert.equal(warning.fields.remote, local, 'the warning names the remote endpoint');
      assert.ok(
        String(warning.fields.reason).includes(c.reason),
        `reason '${String(warning.fields.reason)}' should contain '${c.reason}'`,
      );
      assert.equal(server.stats().connectionsRefused, refusedBefore + 1);
      assert.equal(handler.hellos.length - hellosBefore, c.accepted ?? 0);
      assert.equal(handler.frames.length, framesBefore, 'no frame was delivered');
      assert.deepEqual(client.received, [], 'the server never writes on an inbound connection');

      await assertServesOn(c.name.replace(/\W+/g, '-'));
    });
  }

  void it('a silent connection that closes cleanly is not a refusal', async () => {
    const refusedBefore = server.stats().connectionsRefused;
    const client = await rawConnect(address.port);
    const local = `${client.socket.localAddress}:${client.socket.localPort}`;
    client.socket.end();
    await client.closed;
    await logger.changed.until(
      () => logger.entries.some((e) => e.msg === 'inbound connection closed' && e.fields.remote === local),
      'the server notices the close',
    );
    assert.equal(server.stats().connectionsRefused, refusedBefore);
    await assertServesOn('clean-close');
  });
});
