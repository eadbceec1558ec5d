/**
 * `shoal start` stops gracefully on SIGTERM: exit code 0, the log shows the shutdown, services get
 * `shutdown(false)`, the other members see the member leave at once (by its goodbye, not by the
 * failure detector), and no counter value is lost. A second signal during a shutdown that cannot
 * finish terminates at once (services get `shutdown(true)`) and exits 128 + 15.
 *
 * Ports 16120-16139 (this file only).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  SCHEDULING_SLACK_MS,
  assertExactLoad,
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

describe('shoal start: SIGTERM shuts a member down gracefully', { timeout: 90_000 }, () => {
  const registry = new ProcessRegistry();
  const members = new Map<string, ManagedProcess>();
  let timings: TestTimings;
  let firstLoad: LoadResult | undefined;

  const member = (name: (typeof NAMES)[number]): ManagedProcess => members.get(name)!;

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
  });

  after(async () => {
    await registry.killAll();
  });

  it('exits 0 after SIGTERM, logs the shutdown, stops its services with shutdown(false), and the others see it leave at once', async () => {
    const b = member('B');
    const others = [member('A'), member('C')];
    const marks = others.map((p) => p.mark());
    const exit = await b.stop('SIGTERM', GRACEFUL_TIMEOUT_MS + SCHEDULING_SLACK_MS);
    assert.deepEqual(exit, { code: 0, signal: null }, b.tail());

    const messages = b.logs().map((r) => r.msg);
    const order = [
      'received SIGTERM: shutting down gracefully (send it again to terminate at once)',
      'shutting down: moving partitions away',
      'shut down',
      'member shut down; exiting',
    ];
    const positions = order.map((m) => messages.indexOf(m));
    assert.ok(positions.every((at) => at >= 0), `every shutdown step is logged: ${JSON.stringify(order)}\n${b.tail()}`);
    assert.deepEqual([...positions].sort((x, y) => x - y), positions, 'in this order');
    assert.ok(!messages.includes('graceful shutdown timed out with partitions still on this member'), 'its partitions moved away in time');
    assert.match(b.text('stdout'), /^PROBE_SERVICE_SHUTDOWN terminate=false$/m, 'services got shutdown(false)');
    assert.doesNotMatch(b.text('stdout'), /terminate=true/);

    // The others drop it from their lists because it said goodbye: sooner than a crash could be
    // noticed (maxNoHeartbeatMs after its last heartbeat).
    const shutDownAt = b.logs().find((r) => r.msg === 'shut down')!.time as number;
    for (const [i, p] of others.entries()) {
      const left = await waitMembers(p, 2, { timeoutMs: 5_000, since: marks[i] });
      assert.deepEqual([...membersOf(left.record)].sort(), [ADDRESSES[0], ADDRESSES[2]]);
      const lag = (left.record.time as number) - shutDownAt;
      assert.ok(lag < timings.maxNoHeartbeatMs, `${p.name} removed B ${lag} ms after it shut down (a crash takes ≥ ${timings.maxNoHeartbeatMs} ms)`);
      await waitSafe(p, left.index, 20_000);
    }
  });

  it('loses no counter value: a new load process reads what the first one left and increments on', async () => {
    assert.ok(firstLoad !== undefined);
    const spec: LoadSpec = { name: 'load-2', port: LOAD_PORT + 1, members: [ADDRESSES[0], ADDRESSES[2]], counters: 6, rounds: 2 };
    const second = await runLoad(registry, spec, LOAD_TIMEOUT_MS);
    assert.equal(second.members, 3);
    assertExactLoad(second, spec, firstLoad.final);
  });

  it('a second SIGTERM during a shutdown that cannot finish terminates at once with exit code 143', async () => {
    const a = member('A');
    const c = member('C');
    // A is frozen (SIGSTOP): C cannot move its partitions to it, so its graceful shutdown waits.
    a.signal('SIGSTOP');
    const mark = c.mark();
    c.signal('SIGTERM');
    await c.waitForLine(/received SIGTERM: shutting down gracefully/, { stream: 'stderr', since: mark, timeoutMs: 5_000 });
    const exit = await c.stop('SIGTERM', 5_000);
    assert.deepEqual(exit, { code: 143, signal: null }, c.tail());
    const messages = c.logs(mark).map((r) => r.msg);
    assert.ok(messages.includes('received SIGTERM again: terminating without migrating partitions'), c.tail());
    assert.ok(messages.includes('terminated'), c.tail());
    assert.ok(!messages.includes('member shut down; exiting'));
    assert.match(c.text('stdout'), /^PROBE_SERVICE_SHUTDOWN terminate=true$/m, 'services got shutdown(true)');
    const stopped = await a.stop('SIGKILL', 5_000);
    assert.equal(stopped.signal, 'SIGKILL');
  });
});
