/**
 * Busy polling (invocation.busyPollUs): the poller polls only while a few calls wait and stops by
 * itself (calls answered, window over, or too many calls in flight), and calls made by a polling
 * member complete exactly as without it. Ports 16200-16209.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BusyPoll, CALLS_IN_FLIGHT_MAX } from '../../src/engine/busy-poll.js';
import { Shoal, type ShoalInstance } from '../../src/index.js';
import type { Counter } from '../../examples/counter/counter.js';

// Set before the counter module loads (it reads this once), so increments print nothing.
process.env.SHOAL_COUNTER_QUIET = '1';
const { CounterService } = await import('../../examples/counter/counter.js');

/** One event-loop turn (the poller re-arms itself once per turn). */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Waits until `condition` holds, turn by turn, failing after `turnsMax` turns. */
async function untilTrue(condition: () => boolean, turnsMax: number, what: string): Promise<void> {
  for (let n = 0; n < turnsMax; n++) {
    if (condition()) return;
    await turn();
  }
  assert.fail(`${what}: still false after ${turnsMax} event-loop turns`);
}

describe('BusyPoll', () => {
  it('polls while a call waits and stops on the turn after the last answer', async () => {
    let inFlight = 1;
    const poll = new BusyPoll(1_000_000, () => inFlight);
    poll.callSent(inFlight);
    assert.equal(poll.active, true);
    await turn();
    assert.equal(poll.active, true, 'one call still waits');
    inFlight = 0;
    await turn();
    await turn();
    assert.equal(poll.active, false);
  });

  it('stops once its window has passed although the call still waits', async () => {
    const poll = new BusyPoll(100, () => 1);
    poll.callSent(1);
    // 100 µs are a few turns; a generous turn bound keeps this free of any duration assertion.
    await untilTrue(() => !poll.active, 1_000_000, 'poller stopped after its window');
  });

  it(`does not poll with more than ${CALLS_IN_FLIGHT_MAX} calls in flight`, async () => {
    let inFlight = CALLS_IN_FLIGHT_MAX + 1;
    const poll = new BusyPoll(1_000_000, () => inFlight);
    poll.callSent(inFlight);
    assert.equal(poll.active, false, 'not started');
    inFlight = 1;
    poll.callSent(inFlight);
    assert.equal(poll.active, true);
    inFlight = CALLS_IN_FLIGHT_MAX + 1;
    await turn();
    await turn();
    assert.equal(poll.active, false, 'stopped when the calls in flight grew past the bound');
  });
});

describe('a member with busy polling on', () => {
  it('makes remote calls with backups that complete exactly', async () => {
    const members = ['127.0.0.1:16200', '127.0.0.1:16201', '127.0.0.1:16202'];
    const config = (port: number, lite: boolean, busyPollUs: number) => ({
      clusterName: `busy-poll-${process.pid}`,
      liteMember: lite,
      logging: { level: 'warn' as const },
      network: { host: '127.0.0.1', port, portAutoIncrement: false, join: { tcpIp: { enabled: true, members }, multicast: { enabled: false } } },
      invocation: { busyPollUs },
      services: [{ name: CounterService.NAME, implementation: new CounterService(), properties: { 'backup-count': '1' } }],
    });
    const instances: ShoalInstance[] = [];
    try {
      instances.push(await Shoal.newInstance(config(16200, false, 0)));
      instances.push(await Shoal.newInstance(config(16201, false, 0)));
      // The caller: a lite member owns nothing, so every call crosses TCP.
      const caller = await Shoal.newInstance(config(16202, true, 1000));
      instances.push(caller);
      const counters = await Promise.all(Array.from({ length: 8 }, (_, k) => caller.getDistributedObject<Counter>(CounterService.NAME, `c${k}`)));
      for (let round = 1; round <= 50; round++) {
        for (const c of counters) assert.equal(await c.inc(1), round);
      }
      // A few calls at once stay under the polling bound; many at once go past it.
      const many = await Promise.all(Array.from({ length: 40 }, (_, k) => counters[k % 8].inc(1)));
      assert.equal(many.length, 40);
      for (const c of counters) assert.equal(await c.get(), 55);
    } finally {
      await Promise.all(instances.map((i) => i.terminate()));
    }
  });
});
