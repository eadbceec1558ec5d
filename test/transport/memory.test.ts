import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Address } from '../../src/core/address.js';
import { MemoryNetwork, MemoryTransport } from '../../src/transport/memory.js';
import { CollectingHandler, CollectingLogger, VirtualRuntime, realRuntime, seqFrame, testOptions } from './helpers.js';
import { transportSuite } from './transport-suite.js';

const network = new MemoryNetwork();

transportSuite({
  name: 'memory',
  basePort: 15701,
  create: (options, logger) => new MemoryTransport(options, realRuntime(), network, logger),
});

void describe('memory network fault seam (virtual time)', () => {
  class TimedHandler extends CollectingHandler {
    readonly times: number[] = [];
    constructor(private readonly rt: VirtualRuntime) {
      super();
    }
    override onFrame(from: Address, bytes: Buffer, start: number, end: number): void {
      this.times.push(this.rt.now);
      super.onFrame(from, bytes, start, end);
    }
  }

  interface VMember {
    readonly transport: MemoryTransport;
    readonly handler: TimedHandler;
    readonly logger: CollectingLogger;
    readonly address: Address;
  }

  async function world(count: number): Promise<{ rt: VirtualRuntime; net: MemoryNetwork; members: VMember[] }> {
    const rt = new VirtualRuntime();
    const net = new MemoryNetwork();
    const members: VMember[] = [];
    for (let i = 0; i < count; i++) {
      const logger = new CollectingLogger();
      const transport = new MemoryTransport(testOptions(5701), rt, net, logger);
      const handler = new TimedHandler(rt);
      members.push({ transport, handler, logger, address: await transport.start(handler) });
    }
    return { rt, net, members };
  }

  const seqs = (h: CollectingHandler): number[] => h.frames.map((f) => f.frame.readUInt32BE(0));

  void it('delivers only when the injected timers run', async () => {
    const { rt, net, members: [a, b] } = await world(2);
    assert.deepEqual(net.addresses().map((x) => x.port), [5701, 5702]);
    a.transport.send(b.address, seqFrame(1));
    await Promise.resolve();
    assert.equal(b.handler.frames.length, 0, 'nothing delivered synchronously or on microtasks');
    rt.run();
    assert.deepEqual(seqs(b.handler), [1]);
    assert.deepEqual(b.handler.times, [0]);
  });

  void it('delays frames per the policy without reordering a connection', async () => {
    const { rt, net, members: [a, b] } = await world(2);
    const delays = [50, 0, 30, 100, 0];
    net.policy = (_from, _to, frame) => ({ delayMs: delays[frame.readUInt32BE(0)] });
    for (let i = 0; i < delays.length; i++) a.transport.send(b.address, seqFrame(i));
    rt.run(49);
    assert.equal(b.handler.frames.length, 0, 'the first frame holds back the rest');
    rt.run();
    assert.deepEqual(seqs(b.handler), [0, 1, 2, 3, 4]);
    assert.deepEqual(b.handler.times, [50, 50, 50, 100, 100]);
  });

  void it('drops what the policy drops; the policy sees sender, receiver and payload', async () => {
    const { rt, net, members: [a, b] } = await world(2);
    const seen: string[] = [];
    net.policy = (from, to, frame) => {
      seen.push(`${from.port}->${to.port}:${frame.readUInt32BE(0)}`);
      return frame.readUInt32BE(0) % 2 === 1 ? 'drop' : 'deliver';
    };
    for (let i = 0; i < 6; i++) a.transport.send(b.address, seqFrame(i));
    rt.run();
    assert.deepEqual(seqs(b.handler), [0, 2, 4]);
    assert.deepEqual(seen, ['5701->5702:0', '5701->5702:1', '5701->5702:2', '5701->5702:3', '5701->5702:4', '5701->5702:5']);
    assert.equal(a.transport.stats().framesSent, 6, 'frames lost on the network still count as sent');
    assert.equal(b.transport.stats().framesReceived, 3);
  });

  void it('partition drops between groups only; heal restores; unlisted addresses reach everyone', async () => {
    const { rt, net, members: [a, b, c, d] } = await world(4);
    net.partition([[a.address], [b.address, c.address]]);
    assert.ok(net.isPartitioned(a.address, b.address));
    assert.ok(!net.isPartitioned(b.address, c.address));
    assert.ok(!net.isPartitioned(d.address, a.address));
    a.transport.send(b.address, seqFrame(1));
    b.transport.send(a.address, seqFrame(2));
    b.transport.send(c.address, seqFrame(3));
    d.transport.send(a.address, seqFrame(4));
    rt.run();
    assert.deepEqual(seqs(b.handler), []);
    assert.deepEqual(seqs(a.handler), [4]);
    assert.deepEqual(seqs(c.handler), [3]);

    net.heal();
    a.transport.send(b.address, seqFrame(5));
    rt.run();
    assert.deepEqual(seqs(b.handler), [5]);
    assert.throws(() => net.partition([[a.address], [a.address, b.address]]), /in groups 0 and 1/);
  });

  void it('a peer closing with frames in flight: frames dropped, sender told', async () => {
    const { rt, net, members: [a, b] } = await world(2);
    net.policy = () => ({ delayMs: 10 });
    a.transport.send(b.address, seqFrame(1));
    rt.run(5);
    await b.transport.close();
    rt.run();
    assert.equal(b.handler.frames.length, 0);
    assert.equal(a.handler.unreachable.length, 1);
    assert.equal(a.handler.unreachable[0].reason, 'connection closed by peer');
    a.transport.send(b.address, seqFrame(2));
    rt.run();
    assert.equal(a.handler.unreachable.length, 2);
    assert.match(a.handler.unreachable[1].reason, /no member listening at 127\.0\.0\.1:5702/);
  });

  void it('replays identically: same sends, same delivery trace', async () => {
    async function trace(): Promise<string> {
      const { rt, net, members } = await world(3);
      let n = 0;
      net.policy = () => {
        n += 1;
        return n % 5 === 0 ? 'drop' : { delayMs: (n * 7) % 13 };
      };
      for (let i = 0; i < 30; i++) {
        const from = members[i % 3];
        const to = members[(i + 1 + (i % 2)) % 3];
        from.transport.send(to.address, seqFrame(i));
      }
      rt.run();
      return members
        .map((m) => m.handler.frames.map((f, k) => `${f.from.port}:${f.frame.readUInt32BE(0)}@${m.handler.times[k]}`).join(','))
        .join('|');
    }
    const first = await trace();
    assert.equal(await trace(), first);
    assert.ok(first.length > 0);
  });
});
