/**
 * Issue 3, integration: a load generator increments 100 counters continuously while members join
 * (3 → 6) and then leave gracefully (6 → 2), with zero backups. Afterwards every counter equals
 * the number of acknowledged increments exactly, and no call failed or ended indeterminate
 * (callers never see a migration).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Harness, NO_KILL_DETECTOR, counterNames, sum, waitUntil, type MemberProcess } from './harness.js';

const BASE_PORT = 19000;

test('100 counters under continuous load stay exact while members join (3→6) and leave gracefully (6→2), zero backups', async (t) => {
  const h = new Harness(BASE_PORT, { backupCount: 0, asyncBackupCount: 0, ...NO_KILL_DETECTOR });
  t.after(() => h.cleanup());
  await h.run(async () => {
    const started = Date.now();
    const data = await h.startMany(3);
    const lite = await h.start({ lite: true, name: 'load' });
    await h.waitClusterSafe(20_000);

    const names = counterNames('mul', 100);
    await lite.call('prepare', { names });
    await lite.call('startLoad', { names, concurrency: 8 });

    // Progress must continue through every step: wait for more acknowledged calls each time.
    const progressed = async (what: string): Promise<void> => {
      const before = (await lite.call('loadProgress', {})).acked;
      await waitUntil(async () => (await lite.call('loadProgress', {})).acked >= before + 200, {
        timeoutMs: 20_000,
        intervalMs: 50,
        what: () => `200 more acknowledged increments ${what}`,
      });
    };
    await progressed('before the joins');

    // 3 → 6: joins one after another while the load runs.
    for (let i = 0; i < 3; i++) data.push(await h.start());
    await h.waitClusterSafe(60_000);
    await progressed('after the joins');

    // 6 → 2: graceful leaves one at a time, masters included (the oldest member leaves first).
    const leaving: MemberProcess[] = [data[0], data[3], data[1], data[4]];
    for (const m of leaving) {
      const exit = await m.terminateGracefully(45_000);
      assert.equal(exit.code, 0, `${m.name} exited with ${JSON.stringify(exit)}`);
      await h.waitClusterSafe(30_000);
      await progressed(`after ${m.name} left`);
    }
    assert.equal(h.liveData.length, 2);

    console.log(`event-loop stalls (longest, ms): ${await h.eventLoopStalls()}`);
    const tally = await lite.call('stopLoad', {}, 60_000);
    const values = await lite.call('get', { names });
    const acked = sum(tally.acked);
    const indeterminate = sum(tally.indeterminate);
    const failed = sum(tally.failed);
    console.log(`migration-under-load: ${acked} acknowledged increments, ${indeterminate} indeterminate, ${failed} failed, ${Math.round((Date.now() - started) / 1000)} s`);

    const wrong = names
      .map((n, k) => ({ n, value: values[k], acked: tally.acked[k], indeterminate: tally.indeterminate[k], failed: tally.failed[k] }))
      .filter((c) => c.value !== c.acked);
    assert.deepEqual(wrong, [], `counters that differ from their acknowledged increments (errors: ${JSON.stringify(tally.errors)})`);
    assert.equal(indeterminate + failed, 0, `calls failed during graceful migrations: ${JSON.stringify(tally.errors)}`);
    assert.ok(acked > 1000, `only ${acked} increments were acknowledged`);
  });
});
