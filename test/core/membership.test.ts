/**
 * Transcript tests: the membership state machine driven directly, with time passed in and the
 * effects read back. No sockets, no timers — each step is one input and the exact outputs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MembershipCore, compareAddress, type MemberInfo, type MembershipEffect, type MembershipMessage } from '../../src/core/membership.js';

const opts = { heartbeatIntervalMs: 1000, maxNoHeartbeatMs: 5000, joinTimeoutMs: 3000, membersMax: 100 };
const info = (port: number): MemberInfo => ({ uuid: `uuid-${port}`, address: `127.0.0.1:${port}`, name: `m${port}`, lite: false });

function sends(effects: readonly MembershipEffect[]): { to: string; message: MembershipMessage }[] {
  return effects.filter((e): e is Extract<MembershipEffect, { kind: 'send' }> => e.kind === 'send').map((e) => ({ to: e.to, message: e.message }));
}

function changes(effects: readonly MembershipEffect[]) {
  return effects.filter((e): e is Extract<MembershipEffect, { kind: 'members-changed' }> => e.kind === 'members-changed');
}

/** A tiny in-memory cluster that delivers every send at once, recording the transcript. */
class Wire {
  readonly nodes = new Map<string, MembershipCore>();
  readonly log: string[] = [];
  now = 0;
  down = new Set<string>();
  /** Messages lost on the way (a connection reset), besides those to or from members that are down. */
  lose: (from: string, to: string, message: MembershipMessage) => boolean = () => false;

  add(core: MembershipCore): void {
    this.nodes.set(core.local.address, core);
  }

  deliver(from: string, effects: readonly MembershipEffect[]): void {
    const queue: [string, string, MembershipMessage][] = sends(effects).map((s) => [from, s.to, s.message]);
    while (queue.length > 0) {
      const [src, dst, msg] = queue.shift()!;
      const target = this.nodes.get(dst);
      if (target === undefined || this.down.has(dst) || this.down.has(src)) {
        if (target === undefined || this.down.has(dst)) {
          const sender = this.nodes.get(src)!;
          for (const s of sends(sender.peerUnreachable(dst, this.now))) queue.push([src, s.to, s.message]);
        }
        continue;
      }
      if (this.lose(src, dst, msg)) continue;
      this.log.push(`${src} -> ${dst}: ${msg.type}`);
      for (const s of sends(target.handle(src, msg, this.now))) queue.push([dst, s.to, s.message]);
    }
  }

  tick(ms: number): void {
    const end = this.now + ms;
    while (this.now < end) {
      this.now += 100;
      for (const [addr, core] of this.nodes) if (!this.down.has(addr)) this.deliver(addr, core.tick(this.now));
    }
  }
}


/** Starts `ports.length` members on a Wire, the first alone, the others joining through it. */
function cluster(...ports: number[]): { w: Wire; nodes: MembershipCore[] } {
  const w = new Wire();
  const nodes = ports.map((p) => new MembershipCore(info(p), opts));
  for (const n of nodes) w.add(n);
  const first = nodes[0].local.address;
  nodes.forEach((n, i) => w.deliver(n.local.address, n.start(0, i === 0 ? [] : [first])));
  return { w, nodes };
}

describe('membership transcript', () => {
  it('a lone member with unreachable seeds becomes master without waiting for the join timeout', () => {
    const a = new MembershipCore(info(5701), opts);
    const start = a.start(0, ['127.0.0.1:5702']);
    assert.deepEqual(sends(start), [{ to: '127.0.0.1:5702', message: { type: 'join-request', member: info(5701) } }]);
    const after = a.peerUnreachable('127.0.0.1:5702', 5);
    assert.equal(a.state, 'member');
    assert.equal(a.isMaster(), true);
    assert.deepEqual(changes(after).map((c) => c.list.version), [1]);
  });

  it('a joiner is admitted by the master, and every member installs the same list', () => {
    const w = new Wire();
    const a = new MembershipCore(info(5701), opts);
    const b = new MembershipCore(info(5702), opts);
    w.add(a);
    w.add(b);
    w.deliver('127.0.0.1:5701', a.start(0, []));
    w.deliver('127.0.0.1:5702', b.start(0, ['127.0.0.1:5701']));
    assert.deepEqual(w.log, ['127.0.0.1:5702 -> 127.0.0.1:5701: join-request', '127.0.0.1:5701 -> 127.0.0.1:5702: member-list']);
    assert.equal(b.state, 'member');
    assert.deepEqual(a.list, b.list);
    assert.deepEqual(a.list.members.map((m) => m.address), ['127.0.0.1:5701', '127.0.0.1:5702']);
    assert.equal(a.list.version, 2);
  });

  it('a join request to a non-master is redirected to the master', () => {
    const w = new Wire();
    const [a, b, c] = [5701, 5702, 5703].map((p) => new MembershipCore(info(p), opts));
    for (const n of [a, b, c]) w.add(n);
    w.deliver('127.0.0.1:5701', a.start(0, []));
    w.deliver('127.0.0.1:5702', b.start(0, ['127.0.0.1:5701']));
    w.log.length = 0;
    w.deliver('127.0.0.1:5703', c.start(0, ['127.0.0.1:5702']));
    assert.deepEqual(w.log.slice(0, 3), [
      '127.0.0.1:5703 -> 127.0.0.1:5702: join-request',
      '127.0.0.1:5702 -> 127.0.0.1:5703: join-master-is',
      '127.0.0.1:5703 -> 127.0.0.1:5701: join-request',
    ]);
    assert.equal(c.state, 'member');
    assert.equal(c.list.members.length, 3);
    assert.deepEqual(b.list, c.list);
  });

  it('simultaneous starters elect the lowest address after the join timeout', () => {
    const w = new Wire();
    const [a, b] = [5702, 5701].map((p) => new MembershipCore(info(p), opts));
    w.add(a);
    w.add(b);
    w.deliver('127.0.0.1:5702', a.start(0, ['127.0.0.1:5701']));
    w.deliver('127.0.0.1:5701', b.start(0, ['127.0.0.1:5702']));
    assert.equal(a.state, 'joining');
    assert.equal(b.state, 'joining');
    w.tick(opts.joinTimeoutMs + 1500);
    assert.equal(b.isMaster(), true, '5701 has the lower address');
    assert.equal(a.state, 'member');
    assert.deepEqual(a.list, b.list);
  });

  it('the master removes a member it has not heard from for maxNoHeartbeatMs', () => {
    const {
      w,
      nodes: [a, b],
    } = cluster(5701, 5702, 5703);
    w.tick(3000);
    assert.equal(a.list.members.length, 3, 'heartbeats keep everyone');
    w.down.add('127.0.0.1:5703');
    w.tick(opts.maxNoHeartbeatMs + 1000);
    assert.deepEqual(a.list.members.map((m) => m.address), ['127.0.0.1:5701', '127.0.0.1:5702']);
    assert.deepEqual(b.list, a.list);
  });

  it('a stall shorter than maxNoHeartbeatMs removes nobody', () => {
    const {
      w,
      nodes: [a],
    } = cluster(5701, 5702);
    w.down.add('127.0.0.1:5702');
    w.tick(2000);
    w.down.delete('127.0.0.1:5702');
    w.tick(3000);
    assert.equal(a.list.members.length, 2);
  });

  it('when the master dies the next oldest member takes over and publishes the next list', () => {
    const {
      w,
      nodes: [, b, c],
    } = cluster(5701, 5702, 5703);
    const before = b.list.version;
    w.down.add('127.0.0.1:5701');
    w.tick(opts.maxNoHeartbeatMs + 1000);
    assert.equal(b.isMaster(), true);
    assert.deepEqual(c.list, b.list);
    assert.equal(b.list.version, before + 1);
    assert.deepEqual(b.list.members.map((m) => m.address), ['127.0.0.1:5702', '127.0.0.1:5703']);
  });

  it('a graceful leave is published by the master at once', () => {
    const {
      w,
      nodes: [a, b],
    } = cluster(5701, 5702);
    w.deliver('127.0.0.1:5702', b.leave(100));
    assert.equal(b.state, 'left');
    assert.deepEqual(a.list.members.map((m) => m.address), ['127.0.0.1:5701']);
  });

  it('a leaving master hands over at once: its goodbye list is applied by the others (regression)', () => {
    const {
      w,
      nodes: [a, b, c],
    } = cluster(5701, 5702, 5703);
    w.deliver('127.0.0.1:5701', a.leave(100));
    assert.equal(b.isMaster(), true);
    assert.deepEqual(b.list.members.map((m) => m.address), ['127.0.0.1:5702', '127.0.0.1:5703']);
    assert.deepEqual(c.list, b.list);
  });

  it('a member dropped from the list while cut off rejoins', () => {
    const {
      w,
      nodes: [a, b],
    } = cluster(5701, 5702, 5703);
    // b is cut off for a moment only (no takeover: a, older, is heard again in time); a removes
    // it meanwhile, with its detection time shortened by a slow link (modelled by ticking a alone)
    w.down.add('127.0.0.1:5702');
    w.tick(opts.maxNoHeartbeatMs + 500);
    assert.equal(a.list.members.some((m) => m.address === '127.0.0.1:5702'), false);
    w.down.delete('127.0.0.1:5702');
    // a's newer list of the same term, from b's own master, tells b it was removed
    const effects = b.handle('127.0.0.1:5701', { type: 'member-list', list: a.list }, w.now);
    assert.ok(effects.some((e) => e.kind === 'removed-from-cluster'));
    assert.equal(b.state, 'joining');
  });

  it('a master cut off for longer than detection cannot take members back with stale lists (regression: chaos split)', () => {
    const {
      w,
      nodes: [a, b, c],
    } = cluster(5701, 5702, 5703);
    const term = a.list.term ?? 0;
    // a (master) is cut off: b takes over with a new term; a, alone, keeps counting versions
    w.down.add('127.0.0.1:5701');
    w.tick(opts.maxNoHeartbeatMs + 2500);
    assert.equal(b.isMaster(), true);
    assert.equal(b.list.term, term + 1);
    assert.deepEqual(c.list, b.list);
    const stale = { version: b.list.version + 5, term, members: [a.local, b.local, c.local] };
    w.down.delete('127.0.0.1:5701');
    // delivered at the heal (TCP kept it): a higher version, but an older term
    assert.deepEqual(c.handle('127.0.0.1:5701', { type: 'member-list', list: stale }, w.now), []);
    assert.deepEqual(c.list, b.list);
    // and a list without c from the old master does not make c drop out either
    const without = { version: b.list.version + 6, term, members: [a.local] };
    assert.deepEqual(c.handle('127.0.0.1:5701', { type: 'member-list', list: without }, w.now), []);
    assert.equal(c.state, 'member');
  });

  it('a list from a member that is not its master is ignored', () => {
    const a = new MembershipCore(info(5701), opts);
    a.start(0, []);
    const forged = a.handle('127.0.0.1:5799', { type: 'member-list', list: { version: 99, members: [info(5798), info(5701)] } }, 1);
    assert.deepEqual(forged, []);
    assert.equal(a.list.version, 1);
  });

  it('a member that missed the new master\'s list gets it in answer to its next heartbeat (regression: seed 6)', () => {
    const {
      w,
      nodes: [, b, c],
    } = cluster(5701, 5702, 5703);
    const stale = c.list;
    // The master dies; b takes over, and its lists to c are lost.
    w.down.add('127.0.0.1:5701');
    w.lose = (from, to, m) => from === '127.0.0.1:5702' && to === '127.0.0.1:5703' && m.type === 'member-list';
    w.tick(opts.maxNoHeartbeatMs + 1000);
    assert.equal(b.isMaster(), true);
    assert.deepEqual(c.list, stale);
    w.lose = () => false;
    // c still follows the dead master; its heartbeat tells b it is behind.
    const answer = sends(b.handle('127.0.0.1:5703', { type: 'heartbeat', uuid: c.local.uuid, listVersion: stale.version, listTerm: stale.term ?? 0 }, w.now));
    assert.deepEqual(answer, [{ to: '127.0.0.1:5703', message: { type: 'member-list', list: b.list } }]);
    c.handle('127.0.0.1:5702', answer[0].message, w.now);
    assert.deepEqual(c.list, b.list);
  });

  it('a member the master does not list learns it is out from the answer to its heartbeat (regression: seed 508)', () => {
    const {
      w,
      nodes: [a, b],
    } = cluster(5701, 5702, 5703);
    // a admitted c, then died before b got that list: b takes over without c.
    const c = new MembershipCore(info(5704), opts);
    w.add(c);
    w.down.add('127.0.0.1:5702');
    w.deliver('127.0.0.1:5704', c.start(w.now, ['127.0.0.1:5701']));
    w.down.delete('127.0.0.1:5702');
    assert.equal(c.state, 'member');
    assert.equal(b.list.members.some((m) => m.uuid === c.local.uuid), false);
    w.down.add('127.0.0.1:5701');
    w.down.add('127.0.0.1:5704');
    w.tick(opts.maxNoHeartbeatMs + 1000);
    assert.equal(b.isMaster(), true);
    assert.equal(a.isMaster(), true, 'a is down, its state frozen');
    // c's heartbeat reaches b, which does not list it: b's list (a later term) tells c it is out.
    const answer = sends(b.handle('127.0.0.1:5704', { type: 'heartbeat', uuid: c.local.uuid, listVersion: c.list.version, listTerm: c.list.term ?? 0 }, w.now));
    assert.equal(answer.length, 1);
    const effects = c.handle('127.0.0.1:5702', answer[0].message, w.now);
    assert.ok(effects.some((e) => e.kind === 'removed-from-cluster'));
    assert.equal(c.state, 'joining');
  });

  it('a joiner pointed to a master that is joining itself asks the seeds again (regression: seed 2902)', () => {
    const a = new MembershipCore(info(5701), opts);
    a.start(0, ['127.0.0.1:5702', '127.0.0.1:5703']);
    a.handle('127.0.0.1:5702', { type: 'join-master-is', master: '127.0.0.1:5703' }, 10);
    // 5703 restarted and is joining too: a must not keep asking it alone.
    a.handle('127.0.0.1:5703', { type: 'join-joining', member: info(5703) }, 20);
    const asked = sends(a.tick(opts.heartbeatIntervalMs + 20)).map((s) => s.to);
    assert.deepEqual(asked, ['127.0.0.1:5702', '127.0.0.1:5703']);
  });

  it('a listed member still asking to join is not removed as silent (regression: seed 4818)', () => {
    const {
      w,
      nodes: [a],
    } = cluster(5701, 5702);
    // a admits c, whose copy of that list is lost: c keeps asking to join and sends no heartbeats.
    const c = info(5703);
    a.handle(c.address, { type: 'join-request', member: c }, w.now);
    assert.ok(a.list.members.some((m) => m.uuid === c.uuid));
    for (let t = 0; t < opts.maxNoHeartbeatMs * 2; t += opts.heartbeatIntervalMs) {
      w.tick(opts.heartbeatIntervalMs);
      a.handle(c.address, { type: 'join-request', member: c }, w.now);
    }
    assert.ok(a.list.members.some((m) => m.uuid === c.uuid));
  });

  it('a member holding a dead master\'s list takes the same-term list of the member that succeeded it (regression: seed 1626)', () => {
    const {
      w,
      nodes: [, b, c, d],
    } = cluster(5701, 5702, 5703, 5704);
    // The master a dies; b takes over, and its lists to c are lost (c still hears b's heartbeats).
    w.down.add('127.0.0.1:5701');
    w.lose = (from, to, m) => from === '127.0.0.1:5702' && to === '127.0.0.1:5703' && m.type === 'member-list';
    w.tick(opts.maxNoHeartbeatMs + 1000);
    assert.equal(b.isMaster(), true);
    assert.deepEqual(d.list, b.list);
    const held = d.list;
    // b dies too: c takes over from the list a published, and counts the same next term and
    // version. Its list to d is lost (d, hearing b until the same moment, could take it at once).
    w.lose = (from, to, m) => from === '127.0.0.1:5703' && to === '127.0.0.1:5704' && m.type === 'member-list';
    w.down.add('127.0.0.1:5702');
    w.tick(opts.maxNoHeartbeatMs + 1000);
    assert.equal(c.isMaster(), true);
    assert.deepEqual([c.list.term, c.list.version], [held.term, held.version], 'two lists with the same term and version');
    assert.deepEqual(d.list, held);
    // d heard c all along, so c, not d, succeeds the silent b. Their heartbeats show the same
    // (term, version), so c never re-sends: d asks c for its list on c's next heartbeat and
    // takes it although c is not its master.
    w.lose = () => false;
    w.tick(2 * opts.heartbeatIntervalMs);
    assert.deepEqual(d.list, c.list);
    assert.deepEqual(d.list.members.map((m) => m.address), ['127.0.0.1:5703', '127.0.0.1:5704']);
    assert.equal(d.isMaster(), false);
  });

  it('orders addresses by host then port number', () => {
    assert.deepEqual(['127.0.0.1:5710', '127.0.0.1:5702', '127.0.0.1:999'].sort(compareAddress), ['127.0.0.1:999', '127.0.0.1:5702', '127.0.0.1:5710']);
  });
});
