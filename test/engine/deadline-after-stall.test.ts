/**
 * Regression: a member reads its clock only every 100 ms (the deadline sweep), so right after an
 * event-loop stall that reading is as old as the stall. A call made at that moment got a deadline
 * counted from the stale reading: after a stall longer than its timeout, the next sweep failed it
 * with OperationTimeoutError before it was even sent. Now the sweep moves such deadlines by the
 * staleness. Ports 16210-16219.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Counter } from '../../examples/counter/counter.js';
import { Shoal, type ShoalInstance } from '../../src/index.js';

// Set before the counter module loads (it reads this once), so increments print nothing.
process.env.SHOAL_COUNTER_QUIET = '1';
const { CounterService, IncOperation } = await import('../../examples/counter/counter.js');

/** Blocks the event loop, as a long synchronous task or a GC pause would. */
function stall(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy: nothing else runs, timers included
  }
}

describe('call deadlines after an event-loop stall', () => {
  it('a call made right after a stall longer than its timeout still gets its whole timeout', async () => {
    const members = ['127.0.0.1:16210', '127.0.0.1:16211'];
    const config = (port: number, lite: boolean) => ({
      clusterName: `stall-${process.pid}`,
      liteMember: lite,
      logging: { level: 'error' as const },
      network: { host: '127.0.0.1', port, portAutoIncrement: false, join: { tcpIp: { enabled: true, members }, multicast: { enabled: false } } },
      services: [{ name: CounterService.NAME, implementation: new CounterService(), properties: { 'backup-count': '0' } }],
    });
    const instances: ShoalInstance[] = [];
    try {
      instances.push(await Shoal.newInstance(config(16210, false)));
      const caller = await Shoal.newInstance(config(16211, true));
      instances.push(caller);
      const counter = await caller.getDistributedObject<Counter>(CounterService.NAME, 'stalled');
      assert.equal(await counter.inc(1), 1, 'the connection is up before the stall');
      const partitionId = caller.getPartitionService().getPartitionId('stalled');
      const timeoutMs = 300;
      stall(3 * timeoutMs);
      // Made before the event loop turns again: stamped with the clock read before the stall.
      const call = caller
        .getNodeEngine()
        .getOperationService()
        .createInvocationBuilder(CounterService.NAME, new IncOperation('stalled', 1), partitionId)
        .setCallTimeout(timeoutMs)
        .invoke<number>();
      assert.equal(await call, 2);
    } finally {
      await Promise.all(instances.map((i) => i.terminate()));
    }
  });
});
