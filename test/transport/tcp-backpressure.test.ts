/**
 * Back-pressure on a TcpTransport connection, against a raw loopback server that stops reading:
 * the transport must wait for 'drain' without corrupting or reordering what it queued, and must
 * give up on the peer once `peerQueueBytesMax` would be exceeded.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Address } from '../../src/core/address.js';
import { FrameDecoder } from '../../src/transport/framing.js';
import { decodeHello } from '../../src/transport/handshake.js';
import { TcpTransport } from '../../src/transport/tcp.js';
import { CollectingHandler, CollectingLogger, Conditions, realRuntime, testOptions } from './helpers.js';

const BASE_PORT = 15901;
const FRAME_BYTES = 64 * 1024;

/** A server that accepts one connection at a time, paused until `resume()`, decoding frames. */
class SlowReader {
  readonly server = net.createServer((socket) => this.accept(socket));
  readonly changed = new Conditions();
  socket: net.Socket | null = null;
  frames: Buffer[] = [];
  hellos = 0;
  private decoder = new FrameDecoder(FRAME_BYTES);

  async listen(): Promise<Address> {
    await new Promise<void>((resolve) => this.server.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const bound = this.server.address() as net.AddressInfo;
    return new Address('127.0.0.1', bound.port);
  }

  resume(): void {
    this.socket?.resume();
  }

  close(): Promise<void> {
    this.socket?.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    this.socket = socket;
    this.frames = [];
    this.hellos = 0;
    this.decoder = new FrameDecoder(FRAME_BYTES);
    socket.pause();
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      this.decoder.push(chunk);
      for (let f = this.decoder.next(); f !== null; f = this.decoder.next()) {
        if (this.hellos === 0 && decodeHello(f).ok) this.hellos = 1;
        else this.frames.push(Buffer.from(f));
      }
      assert.equal(this.decoder.error, null);
      this.changed.notify();
    });
    this.changed.notify();
  }
}

function frameFor(seq: number): Buffer {
  const frame = Buffer.alloc(FRAME_BYTES, seq & 0xff);
  frame.writeUInt32BE(seq, 0);
  return frame;
}

const nextTick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

void describe('tcp transport back-pressure', () => {
  const reader = new SlowReader();
  let peer: Address;

  before(async () => {
    peer = await reader.listen();
  });

  after(async () => {
    await reader.close();
  });

  void it('waits for drain and delivers everything intact and in order once the peer reads', async () => {
    const handler = new CollectingHandler();
    const transport = new TcpTransport(testOptions(BASE_PORT, { frameBytesMax: FRAME_BYTES, peerQueueBytesMax: 256 * 1024 * 1024 }), realRuntime(), new CollectingLogger());
    try {
      await transport.start(handler);
      const count = 400; // 25.6 MB: far beyond what the kernel buffers on loopback
      for (let i = 0; i < count; i++) {
        transport.send(peer, frameFor(i));
        if (i % 8 === 7) await nextTick(); // several flushes, most while the peer is not reading
      }
      await reader.changed.until(() => reader.socket !== null, 'the reader accepts');
      reader.resume();
      await reader.changed.until(() => reader.frames.length === count, `${count} frames at the reader`, 30_000);
      assert.equal(reader.hellos, 1);
      for (let i = 0; i < count; i++) assert.ok(reader.frames[i].equals(frameFor(i)), `frame ${i} intact and in order`);
      assert.deepEqual(handler.unreachable, []);
      assert.equal(transport.stats().framesSent, count);
    } finally {
      await transport.close();
    }
  });

  void it('writes an arena that reached flushEarlyBytes at once, and smaller batches at the end of the turn', async () => {
    const handler = new CollectingHandler();
    const transport = new TcpTransport(testOptions(BASE_PORT, { frameBytesMax: FRAME_BYTES }), realRuntime(), new CollectingLogger(), { flushEarlyBytes: 4096 });
    try {
      await transport.start(handler);
      transport.send(peer, Buffer.alloc(10, 1));
      await reader.changed.until(() => reader.socket !== null, 'the reader accepts');
      // Connected and the first frame written (stats count bytes handed to the socket).
      for (let turns = 0; transport.stats().framesSent === 0; turns++) {
        assert.ok(turns < 100_000, 'the first frame was never written');
        await nextTick();
      }
      const before = transport.stats().bytesSent;
      const frame = Buffer.alloc(100, 7);
      transport.send(peer, frame);
      assert.equal(transport.stats().bytesSent, before, 'a small batch waits for the end of the turn');
      for (let i = 0; i < 40; i++) transport.send(peer, frame);
      const during = transport.stats().bytesSent;
      assert.ok(during > before, 'an arena past flushEarlyBytes went out within the turn');
      assert.ok(during - before >= 4096 && during - before < 41 * 104, `wrote ${during - before} bytes early`);
      await nextTick();
      assert.equal(transport.stats().bytesSent, before + 41 * (100 + 4), 'the rest at the end of the turn');
    } finally {
      reader.resume(); // a paused socket would never see the close, and keep the server open
      await transport.close();
    }
  });

  void it('drops the peer once peerQueueBytesMax would be exceeded while it does not read', async () => {
    const handler = new CollectingHandler();
    const peerQueueBytesMax = 4 * 1024 * 1024;
    const transport = new TcpTransport(testOptions(BASE_PORT, { frameBytesMax: FRAME_BYTES, peerQueueBytesMax }), realRuntime(), new CollectingLogger());
    try {
      await transport.start(handler);
      let sent = 0;
      // Kernel buffers take some megabytes; after that the queue grows until the limit. The bound
      // on the loop only turns a bug into a failure instead of a hang.
      while (handler.unreachable.length === 0 && sent < 4000) {
        transport.send(peer, frameFor(sent));
        sent += 1;
        await nextTick();
      }
      assert.equal(handler.unreachable.length, 1, `no overflow after ${sent} frames`);
      assert.ok(handler.unreachable[0].peer.equals(peer));
      assert.match(handler.unreachable[0].reason, /exceeds peerQueueBytesMax 4194304/);
      assert.ok(sent * FRAME_BYTES > peerQueueBytesMax, 'the kernel buffers took some before the queue filled');
    } finally {
      await transport.close();
    }
  });
});
