/**
 * The one behavioural suite both transports must pass (tcp.test.ts, memory.test.ts run it).
 * Conditions are awaited through handler/logger events, never with fixed sleeps.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { Address } from '../../src/core/address.js';
import type { Transport, TransportOptions } from '../../src/transport/transport.js';
import { CollectingHandler, CollectingLogger, TEST_CLUSTER, seqFrame, testOptions } from './helpers.js';

export interface TransportHarness {
  readonly name: string;
  /** First port tried; members auto-increment from it (parallel test files use distinct ranges). */
  readonly basePort: number;
  create(options: TransportOptions, logger: CollectingLogger): Transport;
}

export interface Member {
  readonly transport: Transport;
  readonly handler: CollectingHandler;
  readonly logger: CollectingLogger;
  readonly options: TransportOptions;
  readonly address: Address;
}

export function transportSuite(harness: TransportHarness): void {
  void describe(`${harness.name} transport (shared suite)`, () => {
    const opened: Transport[] = [];

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((t) => t.close()));
    });

    function create(overrides: Partial<TransportOptions> = {}): {
      transport: Transport;
      logger: CollectingLogger;
      options: TransportOptions;
    } {
      const options = testOptions(harness.basePort, overrides);
      const logger = new CollectingLogger();
      const transport = harness.create(options, logger);
      opened.push(transport);
      return { transport, logger, options };
    }

    async function member(overrides: Partial<TransportOptions> = {}): Promise<Member> {
      const { transport, logger, options } = create(overrides);
      const handler = new CollectingHandler();
      const address = await transport.start(handler);
      return { transport, handler, logger, options, address };
    }

    void it('sends frames both ways and introduces each member with a Hello', async () => {
      const a = await member({ memberName: 'alpha' });
      const b = await member({ memberName: 'beta' });
      assert.notEqual(a.address.port, b.address.port);

      a.transport.send(b.address, Buffer.from('ping'));
      b.transport.send(a.address, Buffer.from('pong'));
      await b.handler.until((h) => h.frames.length === 1, 'b receives ping');
      await a.handler.until((h) => h.frames.length === 1, 'a receives pong');

      assert.equal(b.handler.frames[0].frame.toString(), 'ping');
      assert.ok(b.handler.frames[0].from.equals(a.address));
      assert.equal(a.handler.frames[0].frame.toString(), 'pong');
      assert.ok(a.handler.frames[0].from.equals(b.address));

      assert.equal(b.handler.hellos.length, 1);
      const hello = b.handler.hellos[0];
      assert.equal(hello.clusterName, TEST_CLUSTER);
      assert.equal(hello.memberUuid, a.options.memberUuid);
      assert.equal(hello.memberName, 'alpha');
      assert.ok(hello.address.equals(a.address));
      assert.equal(a.handler.hellos[0].memberName, 'beta');

      const sa = a.transport.stats();
      assert.equal(sa.framesSent, 1);
      assert.equal(sa.framesReceived, 1);
      assert.ok(sa.bytesSent > 8, 'bytes include prefix and hello');
      assert.equal(sa.connectionsRefused, 0);
      assert.deepEqual(a.handler.unreachable, []);
    });

    void it('preserves order of 10k frames per peer, both directions at once, copying on send', async () => {
      const a = await member();
      const b = await member();
      const count = 10_000;
      const scratch = Buffer.alloc(4 + 63);
      for (let i = 0; i < count; i++) {
        // One reused buffer: the transport must copy before send returns.
        scratch.writeUInt32BE(i, 0);
        const length = 4 + (i % 64);
        scratch.fill(i & 0xff, 4, length);
        // Half as a view, half as the first `length` bytes of the whole buffer (how encoders send).
        if (i % 2 === 0) a.transport.send(b.address, scratch.subarray(0, length));
        else a.transport.send(b.address, scratch, length);
        b.transport.send(a.address, seqFrame(i, i % 7));
        scratch.fill(0xee);
      }
      await b.handler.until((h) => h.frames.length === count, 'b receives 10k frames');
      await a.handler.until((h) => h.frames.length === count, 'a receives 10k frames');
      for (let i = 0; i < count; i++) {
        const f = b.handler.frames[i].frame;
        assert.equal(f.readUInt32BE(0), i, `b frame ${i} out of order`);
        assert.equal(f.length, 4 + (i % 64));
        for (let j = 4; j < f.length; j++) assert.equal(f[j], i & 0xff);
        const g = a.handler.frames[i].frame;
        assert.equal(g.readUInt32BE(0), i, `a frame ${i} out of order`);
        assert.equal(g.length, 4 + (i % 7));
      }
      assert.equal(a.transport.stats().framesSent, count);
      assert.equal(b.transport.stats().framesReceived, count);
      assert.equal(a.transport.stats().bytesSent, b.transport.stats().bytesReceived);
    });

    void it('carries a frame of exactly frameBytesMax and rejects larger or empty ones at send', async () => {
      const frameBytesMax = 1024 * 1024;
      const a = await member({ frameBytesMax });
      const b = await member({ frameBytesMax });
      const big = Buffer.allocUnsafe(frameBytesMax);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >>> 8)) & 0xff;

      assert.throws(() => a.transport.send(b.address, Buffer.alloc(frameBytesMax + 1)), RangeError);
      assert.throws(() => a.transport.send(b.address, new Uint8Array(0)), RangeError);
      assert.throws(() => a.transport.send(b.address, Buffer.alloc(4), 5), RangeError, 'length beyond the frame');
      assert.throws(() => a.transport.send(b.address, Buffer.alloc(4), 0), RangeError, 'zero length');

      a.transport.send(b.address, Buffer.from('before'));
      a.transport.send(b.address, big);
      a.transport.send(b.address, Buffer.from('after'));
      await b.handler.until((h) => h.frames.length === 3, 'b receives the big frame');
      assert.equal(b.handler.frames[0].frame.toString(), 'before');
      assert.ok(b.handler.frames[1].frame.equals(big), 'big frame intact');
      assert.equal(b.handler.frames[2].frame.toString(), 'after');
      assert.equal(b.logger.warnings().length, 0);
    });

    void it('auto-increments the port when it is taken, and refuses a taken port without it', async () => {
      const a = await member();
      const b = await member({ port: a.address.port });
      assert.ok(b.address.port > a.address.port, `b bound ${b.address.port} after ${a.address.port}`);
      assert.ok(b.address.port < a.address.port + 100);

      const c = create({ port: a.address.port, portAutoIncrement: false });
      await assert.rejects(c.transport.start(new CollectingHandler()), (err: unknown) => {
        assert.ok(err instanceof Error);
        assert.equal((err as NodeJS.ErrnoException).code, 'EADDRINUSE');
        return true;
      });

      const d = create({ port: a.address.port, portCount: 1 });
      await assert.rejects(d.transport.start(new CollectingHandler()), /address in use/);

      a.transport.send(b.address, Buffer.from('x'));
      await b.handler.until((h) => h.frames.length === 1, 'b reachable on its incremented port');
    });

    void it('refuses a member of another cluster: acceptPeer never called, frames never delivered', async () => {
      const a = await member();
      const intruder = await member({ clusterName: 'some-other-cluster' });
      for (let i = 0; i < 3; i++) intruder.transport.send(a.address, seqFrame(i));

      const warning = await a.logger.untilWarning('cluster name');
      assert.match(String(warning.fields.reason), /some-other-cluster/);
      assert.equal(typeof warning.fields.remote, 'string');
      await intruder.handler.untilUnreachable(a.address);
      assert.equal(a.transport.stats().connectionsRefused, 1);
      assert.equal(a.handler.hellos.length, 0);
      assert.equal(a.handler.frames.length, 0);
      assert.equal(a.transport.stats().framesReceived, 0);

      // a still serves members of its own cluster.
      const b = await member();
      b.transport.send(a.address, Buffer.from('hi'));
      await a.handler.until((h) => h.frames.length === 1, 'a serves on');
      assert.equal(a.handler.frames[0].frame.toString(), 'hi');
      assert.equal(a.handler.hellos.length, 1);
    });

    void it('refuses a connection when acceptPeer returns a reason', async () => {
      const a = await member();
      a.handler.refusal = 'not welcome';
      const b = await member();
      b.transport.send(a.address, Buffer.from('x'));
      await a.logger.untilWarning('not welcome');
      await b.handler.untilUnreachable(a.address);
      assert.equal(a.handler.hellos.length, 1);
      assert.equal(a.handler.frames.length, 0);
      assert.equal(a.transport.stats().connectionsRefused, 1);
    });

    void it('reports onPeerUnreachable for a peer that closed, and for one nobody listens at', async () => {
      const a = await member();
      const b = await member();
      b.transport.send(a.address, Buffer.from('one'));
      await a.handler.until((h) => h.frames.length === 1, 'a receives one');

      await a.transport.close();
      // Whichever comes first (the old connection closing, or a new connect failing), at least
      // one report arrives for each send round.
      let seen = b.handler.unreachableCount(a.address);
      b.transport.send(a.address, Buffer.from('two'));
      await b.handler.untilUnreachable(a.address, seen);
      seen = b.handler.unreachableCount(a.address);
      b.transport.send(a.address, Buffer.from('three'));
      await b.handler.untilUnreachable(a.address, seen);
      assert.equal(a.handler.frames.length, 1);
      const reasons = b.handler.unreachable.map((u) => u.reason);
      assert.ok(reasons.every((r) => r.length > 0), `reasons: ${reasons.join(' | ')}`);
    });

    void it('reconnects after the peer restarts on the same address', async () => {
      const a = await member();
      const b = await member();
      b.transport.send(a.address, Buffer.from('before'));
      await a.handler.until((h) => h.frames.length === 1, 'a receives before');

      await a.transport.close();
      await b.handler.untilUnreachable(a.address);

      const again = create({ port: a.address.port, portAutoIncrement: false });
      const handler = new CollectingHandler();
      const address = await again.transport.start(handler);
      assert.ok(address.equals(a.address));

      b.transport.send(a.address, Buffer.from('after-1'));
      b.transport.send(a.address, Buffer.from('after-2'));
      await handler.until((h) => h.frames.length === 2, 'restarted a receives');
      assert.deepEqual(
        handler.frames.map((f) => f.frame.toString()),
        ['after-1', 'after-2'],
      );
      assert.ok(handler.hellos[0].address.equals(b.address));
    });

    void it('disconnect drops the connection; the next send opens a new one', async () => {
      const a = await member();
      const b = await member();
      b.transport.send(a.address, Buffer.from('1'));
      await a.handler.until((h) => h.frames.length === 1, 'first frame');
      b.transport.disconnect(a.address);
      b.transport.disconnect(a.address);
      b.transport.send(a.address, Buffer.from('2'));
      await a.handler.until((h) => h.frames.length === 2, 'second frame on a new connection');
      assert.equal(a.handler.hellos.length, 2, 'a saw a second Hello');
      assert.equal(b.handler.unreachable.length, 0, 'disconnect is not reported as unreachable');
    });

    void it('drops and reports the peer when more than peerQueueBytesMax is queued', async () => {
      const a = await member();
      const b = await member({ peerQueueBytesMax: 64 * 1024 });
      const chunk = Buffer.alloc(8 * 1024, 7);
      for (let i = 0; i < 20; i++) b.transport.send(a.address, chunk);
      await b.handler.untilUnreachable(a.address);
      assert.match(b.handler.unreachable[0].reason, /peerQueueBytesMax/);
      // The connection was dropped with its queue; a later send reconnects.
      b.transport.send(a.address, Buffer.from('later'));
      await a.handler.until(
        (h) => h.frames.some((f) => f.frame.toString() === 'later'),
        'a receives the frame sent after the overflow',
      );
    });

    void it('close() is idempotent, and send after close drops silently', async () => {
      const a = await member();
      const b = await member();
      b.transport.send(a.address, Buffer.from('x'));
      await a.handler.until((h) => h.frames.length === 1, 'a receives x');

      const first = a.transport.close();
      const second = a.transport.close();
      await Promise.all([first, second]);
      await a.transport.close();
      a.transport.send(b.address, Buffer.from('dropped'));
      assert.equal(a.transport.stats().framesSent, 0);

      const never = create();
      await never.transport.close();
      await never.transport.close();
      await assert.rejects(never.transport.start(new CollectingHandler()), /after close/);
    });
  });
}
