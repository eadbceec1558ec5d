/**
 * `shoal start` stops gracefully on SIGTERM (and SIGINT): exit code 0, the log shows the shutdown,
 * services get `shutdown(false)`, the other members drop the member at once (because it said
 * goodbye, not because the failure detector noticed), and no counter value is lost. A second
 * signal during a shutdown that cannot finish terminates at once (services get `shutdown(true)`)
 * and exits 128 + 15.
 *
 * The member stopped gracefully is a non-master. The master's own graceful leave is a separate
 * test: a departing master's goodbye is applied at once (it used to be ignored).
 *
 * Ports 16120-16139 (this file only).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  SCHEDULING_SLACK_MS,
  assertExactLoad,
  lastMembersRecord,
  membersOf,
  runLoad,
  testTimings,
  waitSafe,
  type LoadResult,
  type LoadSpec,
  type TestTimings,
} from '../helpers/cluster.js';
import { ProcessRegistry, loopbackAddresses, spawnMember, waitMembers, waitReady, type ManagedProcess } from '../helpers/processes.js';

const BASE_PORT = 16120;
const NAMES = ['A', 'B', 'C'] as const;
const ADDRESSES = loopbackAddresses(BASE_PORT, NAMES.length);
const LOAD_PORT = BASE_PORT + 10;
const START_TIMEOUT_MS = 20_000;
const LOAD_TIMEOUT_MS = 30_000;
/** The fixture's migration.graceful-shutdown-timeout-ms bounds a graceful shutdown. */
const GRACEFUL_TIMEOUT_MS = 10_000;
const SHUTDOWN_STEPS = [
  'received SIGTERM: shutting down gracefully (send it again to terminate at once)',
  'shutting down: moving partitions away',
  'shut down',
  'member shut down; exiting',
];

/**
 * How soon after a member's `shut down` the others must have dropped it for the drop to be its
 * goodbye: the failure detector needs about maxNoHeartbeatMs after the last heartbeat (measured
 * 2.7-3.1 s with the test config), a goodbye a few milliseconds.
 */
function goodbyeLagMaxMs(t: TestTimings): number {
  return 2 * t.heartbeatIntervalMs;
}

/** The member's shutdown steps are all logged, in order, and its services got shutdown(false). */
function assertGracefulLog(p: ManagedProcess): void {
  const messages = p.logs().map((r) => r.msg);
  const positions = SHUTDOWN_STEPS.map((m) => messages.indexOf(m));
  assert.ok(positions.every((at) => at >= 0), `every shutdown step is logged: ${JSON.stringify(SHUTDOWN_STEPS)}\n${p.tail()}`);
  assert.deepEqual([...positions].sort((x, y) => x - y), positions, 'in this order');
  assert.match(p.text('stdout'), /^PROBE_SERVICE_SHUTDOWN terminate=false$/m, 'services got shutdown(false)');
  assert.doesNotMatch(p.text('stdout'), /terminate=true/);
}

/**
 * Each of `others` drops `leaver` (logs a list of `expected` from `marks`) within the goodbye
 * lag after `leaver` logged `shut down`.
 */
async function assertDroppedAtOnce(leaver: ManagedProcess, others: ManagedProcess[], marks: number[], expected: string[], t: TestTimings): Promise<void> {
  const shutDownAt = leaver.logs().find((r) => r.msg === 'shut down')!.time as number;
  for (const [i, p] of others.entries()) {
    const left = await waitMembers(p, expected.length, { timeoutMs: t.maxNoHeartbeatMs + SCHEDULING_SLACK_MS, since: marks[i] });
    assert.deepEqual([...membersOf(left.record)].sort(), [...expected].sort());
    const lag = (left.record.time as number) - shutDownAt;
    const allowed = goodbyeLagMaxMs(t);
    assert.ok(lag <= allowed, `${p.name} dropped ${leaver.name} ${lag} ms after it shut down; a goodbye takes at most ${allowed} ms (the failure detector ~${t.maxNoHeartbeatMs} ms)`);
    await waitSafe(p, left.index, 20_000);
  }
}

describe('shoal start: SIGTERM shuts a member down gracefully', { timeout: 120_000 }, () => {
  const registry = new ProcessRegistry();
  const members = new Map<string, ManagedProcess>();
  let timings: TestTimings;
  let firstLoad: LoadResult | undefined;
  /** The member stopped gracefully (a non-master), and the two that stay. */
  let leaver: ManagedProcess;
  let stayers: ManagedProcess[] = [];

  before(async () => {
    timings = await testTimings();
    NAMES.forEach((name, i) => members.set(name, spawnMember(registry, { name, port: BASE_PORT + i, members: ADDRESSES })));
    await Promise.all([...members.values()].map((p) => waitReady(p, START_TIMEOUT_MS)));
    await Promise.all([...members.values()].map((p) => waitMembers(p, 3, { timeoutMs: START_TIMEOUT_MS })));
    const spec: LoadSpec = { name: 'load-1', port: LOAD_PORT, members: ADDRESSES, counters: 6, rounds: 2 };
    const marks = [...members.values()].map((p) => p.mark());
    firstLoad = await runLoad(registry, spec, LOAD_TIMEOUT_MS);
    assertExactLoad(firstLoad, spec, {});
    // The load process joined and left; wait for the three to be back in sync before stopping one.
    await Promise.all(
      [...members.values()].map(async (p, i) => {
        const joined = await waitMembers(p, 4, { timeoutMs: 1_000, since: marks[i] });
        const back = await waitMembers(p, 3, { timeoutMs: 10_000, since: joined.index });
        await waitSafe(p, back.index, 20_000);
      }),
    );
    // The last member of the list is never the master (the oldest comes first).
    const list = membersOf(lastMembersRecord(members.get('A')!)!);
    const youngest = NAMES[ADDRESSES.indexOf(list[list.length - 1])];
    leaver = members.get(youngest)!;
    stayers = [...members.values()].filter((p) => p !== leaver);
  });

  after(async () => {
    await registry.killAll();
  });

  it('exits 0 after SIGTERM, logs the shutdown, stops its services with shutdown(false), and the others drop it at once', async () => {
    const marks = stayers.map((p) => p.mark());
    const exit = await leaver.stop('SIGTERM', GRACEFUL_TIMEOUT_MS + SCHEDULING_SLACK_MS);
    assert.deepEqual(exit, { code: 0, signal: null }, leaver.tail());
    assertGracefulLog(leaver);
    const messages = leaver.logs().map((r) => r.msg);
    assert.ok(!messages.some((m) => m.startsWith('leaving with partitions still on this member')), 'its partitions moved away in time');
    const remaining = ADDRESSES.filter((a) => a !== ADDRESSES[NAMES.indexOf(leaver.name as (typeof NAMES)[number])]);
    await assertDroppedAtOnce(leaver, stayers, marks, remaining, timings);
  });

  it('loses no counter value: a new load process reads what the first one left and increments on', async () => {
    assert.ok(firstLoad !== undefined);
    const remaining = stayers.map((p) => ADDRESSES[NAMES.indexOf(p.name as (typeof NAMES)[number])]);
    const spec: LoadSpec = { name: 'load-2', port: LOAD_PORT + 1, members: remaining, counters: 6, rounds: 2 };
    const second = await runLoad(registry, spec, LOAD_TIMEOUT_MS);
    assert.equal(second.members, 3);
    assertExactLoad(second, spec, firstLoad.final);
  });

  it('a second SIGTERM during a shutdown that cannot finish terminates at once with exit code 143', async () => {
    const [frozen, stopping] = stayers;
    // One member is frozen (SIGSTOP): the other cannot move its partitions to it, so its graceful
    // shutdown waits (until the failure detector drops the frozen one, seconds later).
    frozen.signal('SIGSTOP');
    const mark = stopping.mark();
    stopping.signal('SIGTERM');
    await stopping.waitForLine(/received SIGTERM: shutting down gracefully/, { stream: 'stderr', since: mark, timeoutMs: 5_000 });
    const exit = await stopping.stop('SIGTERM', 5_000);
    assert.deepEqual(exit, { code: 143, signal: null }, stopping.tail());
    const messages = stopping.logs(mark).map((r) => r.msg);
    assert.ok(messages.includes('received SIGTERM again: terminating without migrating partitions'), stopping.tail());
    assert.ok(messages.includes('terminated'), stopping.tail());
    assert.ok(!messages.includes('member shut down; exiting'));
    assert.match(stopping.text('stdout'), /^PROBE_SERVICE_SHUTDOWN terminate=true$/m, 'services got shutdown(true)');
    const stopped = await frozen.stop('SIGKILL', 5_000);
    assert.equal(stopped.signal, 'SIGKILL');
  });

  it('SIGINT (Ctrl-C) shuts down gracefully like SIGTERM', async () => {
    const port = BASE_PORT + 5;
    const alone = spawnMember(registry, { name: 'D', port, members: [`127.0.0.1:${port}`] });
    await waitReady(alone, START_TIMEOUT_MS);
    const exit = await alone.stop('SIGINT', GRACEFUL_TIMEOUT_MS + SCHEDULING_SLACK_MS);
    assert.deepEqual(exit, { code: 0, signal: null }, alone.tail());
    const messages = alone.logs().map((r) => r.msg);
    assert.ok(messages.includes('received SIGINT: shutting down gracefully (send it again to terminate at once)'), alone.tail());
    assert.ok(messages.includes('member shut down; exiting'));
    assert.match(alone.text('stdout'), /^PROBE_SERVICE_SHUTDOWN terminate=false$/m);
  });

  it(
    // Regression: a leaving master's goodbye list (without itself) used to be ignored by every
    // receiver, so the others dropped it only by failure detection.
    'the master stopped with SIGTERM is dropped at once too',
    async () => {
      const addresses = loopbackAddresses(BASE_PORT + 6, 2);
      const pair = ['E', 'F'].map((name, i) => spawnMember(registry, { name, port: BASE_PORT + 6 + i, members: addresses }));
      await Promise.all(pair.map((p) => waitReady(p, START_TIMEOUT_MS)));
      const lists = await Promise.all(pair.map((p) => waitMembers(p, 2, { timeoutMs: START_TIMEOUT_MS })));
      await Promise.all(pair.map((p, i) => waitSafe(p, lists[i].index, 20_000)));
      const masterAddress = membersOf(lists[0].record)[0];
      const master = pair[addresses.indexOf(masterAddress)];
      const other = pair.find((p) => p !== master)!;
      const mark = other.mark();
      const exit = await master.stop('SIGTERM', GRACEFUL_TIMEOUT_MS + SCHEDULING_SLACK_MS);
      assert.deepEqual(exit, { code: 0, signal: null }, master.tail());
      assertGracefulLog(master);
      await assertDroppedAtOnce(master, [other], [mark], addresses.filter((a) => a !== masterAddress), timings);
    },
  );
});
