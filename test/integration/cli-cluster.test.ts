/**
 * Three members started through the CLI as separate OS processes on loopback form one cluster,
 * serve counters exactly (driven by a load process that joins as a member), and drop a member
 * killed with SIGKILL within the time the failure-detector settings allow; the counters survive
 * the crash (one synchronous backup each).
 *
 * The load processes increment as soon as they have joined (partitions still moving to them). The
 * member is killed only after every member logged `cluster safe` following the first load
 * process's departure, so the crash hits a cluster whose backups are in sync: that is the
 * condition under which one synchronous backup promises no loss. Values are asserted exactly.
 *
 * Ports 16100-16119 (this file only).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  assertExactLoad,
  detectionDeadlineMs,
  lastMembersRecord,
  membersOf,
  runLoad,
  testTimings,
  type LoadResult,
  type LoadSpec,
  type TestTimings,
  waitSafe,
} from '../helpers/cluster.js';
import {
  ProcessRegistry,
  loopbackAddresses,
  spawnMember,
  waitMembers,
  waitReady,
  type ManagedProcess,
  type Ready,
} from '../helpers/processes.js';

const BASE_PORT = 16100;
const MEMBER_NAMES = ['A', 'B', 'C'];
const ADDRESSES = loopbackAddresses(BASE_PORT, MEMBER_NAMES.length);
const LOAD_PORT = BASE_PORT + 10;
const START_TIMEOUT_MS = 20_000;
const LOAD_TIMEOUT_MS = 30_000;

describe('shoal start: a three-member cluster of OS processes', { timeout: 90_000 }, () => {
  const registry = new ProcessRegistry();
  const members = new Map<string, ManagedProcess>();
  const ready = new Map<string, Ready>();
  let timings: TestTimings;
  let firstLoad: LoadResult | undefined;
  let killed: string | undefined;

  const loadSpec = (name: string, port: number): LoadSpec => ({ name, port, members: ADDRESSES, counters: 8, rounds: 3 });

  before(async () => {
    timings = await testTimings();
    MEMBER_NAMES.forEach((name, i) => {
      members.set(name, spawnMember(registry, { name, port: BASE_PORT + i, members: ADDRESSES }));
    });
  });

  after(async () => {
    await registry.killAll();
  });

  it('three members started through the CLI print their ready line and each logs a member list of 3', async () => {
    for (const [name, p] of members) {
      const r = await waitReady(p, START_TIMEOUT_MS);
      assert.equal(r.address, ADDRESSES[MEMBER_NAMES.indexOf(name)], `${name} listens where --port said`);
      assert.match(r.uuid, /^[0-9a-f-]{36}$/);
      ready.set(name, r);
    }
    const lists = (await Promise.all([...members.values()].map((p) => waitMembers(p, 3, { timeoutMs: START_TIMEOUT_MS })))).map((e) => e.record);
    // One cluster: every member lists the same three addresses in the same order (same master).
    const first = membersOf(lists[0]);
    assert.deepEqual([...first].sort(), [...ADDRESSES].sort());
    for (const record of lists) assert.deepEqual(membersOf(record), first);
    // The CLI logged the member's address once started.
    for (const [name, p] of members) {
      const started = p.logs().find((r) => r.component === 'cli' && r.msg.startsWith(`member ${name} started on`));
      assert.ok(started !== undefined, `${name} logged its start\n${p.tail()}`);
      assert.equal(started.address, ready.get(name)!.address);
    }
  });

  it('a load process increments counters on the cluster and every value is exact', async () => {
    const spec = loadSpec('load-1', LOAD_PORT);
    const marks = [...members.values()].map((p) => p.mark());
    firstLoad = await runLoad(registry, spec, LOAD_TIMEOUT_MS);
    assert.equal(firstLoad.members, 4, 'the load process joined as the fourth member');
    assertExactLoad(firstLoad, spec, {});
    // It joined, then left gracefully: every member listed it, then is back to the three, and
    // then reports the cluster safe again (replicas in sync), the precondition for the crash below.
    await Promise.all(
      [...members.values()].map(async (p, i) => {
        const joined = await waitMembers(p, 4, { timeoutMs: 1_000, since: marks[i] });
        assert.ok(membersOf(joined.record).includes(firstLoad!.address), `${p.name} listed the load process`);
        const left = await waitMembers(p, 3, { timeoutMs: 10_000, since: joined.index });
        assert.deepEqual([...membersOf(left.record)].sort(), [...ADDRESSES].sort(), `${p.name} is back to the three CLI members`);
        await waitSafe(p, left.index, 20_000);
      }),
    );
  });

  it('a member killed with SIGKILL leaves the survivors\u2019 lists within the configured detection time', async () => {
    // Kill the master (the oldest member): the survivors must detect it and elect a new master.
    const master = membersOf(lastMembersRecord(members.get('A')!)!)[0];
    const victimName = MEMBER_NAMES[ADDRESSES.indexOf(master)];
    const victim = members.get(victimName)!;
    const survivors = [...members.values()].filter((p) => p !== victim);
    const marks = survivors.map((p) => p.mark());
    const deadline = detectionDeadlineMs(timings);

    const killedAt = Date.now();
    const exit = await victim.stop('SIGKILL', 5_000);
    assert.equal(exit.signal, 'SIGKILL');
    killed = victimName;

    const lists = (await Promise.all(survivors.map((p, i) => waitMembers(p, 2, { timeoutMs: deadline, since: marks[i] })))).map((e) => e.record);
    const elapsed = Date.now() - killedAt;
    assert.ok(elapsed <= deadline, `converged in ${elapsed} ms, allowed ${deadline} ms`);
    const expected = ADDRESSES.filter((a) => a !== master);
    for (const record of lists) assert.deepEqual([...membersOf(record)].sort(), expected, 'the survivors list each other only');
    assert.deepEqual(membersOf(lists[0]), membersOf(lists[1]), 'the survivors agree on the order (and so on the master)');
    process.stderr.write(`# killed master ${victimName} (${master}); survivors converged to 2 members in ${elapsed} ms (deadline ${deadline} ms)\n`);
  });

  it('the counters survive the crash: a second load process reads the exact values and increments on', async () => {
    assert.ok(firstLoad !== undefined && killed !== undefined, 'the earlier steps ran');
    const survivors = MEMBER_NAMES.filter((n) => n !== killed).map((n) => ADDRESSES[MEMBER_NAMES.indexOf(n)]);
    const spec: LoadSpec = { ...loadSpec('load-2', LOAD_PORT + 1), members: survivors };
    const second = await runLoad(registry, spec, LOAD_TIMEOUT_MS);
    assert.equal(second.members, 3);
    assertExactLoad(second, spec, firstLoad.final);
  });
});
