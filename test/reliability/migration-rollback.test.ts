/**
 * Issue 3, rollback: the destination of a migration is SIGKILLed while it holds the migration at
 * the 'migration.apply' step (a test hook in the destination process, FaultSites.atMigrationStep).
 * The partition stays owned by its source, its data intact, a call made to it meanwhile completes
 * normally; the master rolls the migration back and re-plans it, and when another member joins,
 * the partition migrates there completely.
 *
 * Zero backups and one migration at a time per member, so that nothing but the held migration
 * can have reached the destination when it dies (with zero backups, data a dead member owned
 * would be gone, legitimately).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Harness, sum, withDeadline } from './harness.js';
import { HOLD_STEP_ENV } from './protocol.js';

const BASE_PORT = 19100;

test('a migration whose destination dies mid-way is rolled back: the partition stays owned and intact, and is re-planned', async (t) => {
  const h = new Harness(BASE_PORT, { backupCount: 0, migrationConcurrentMax: 1 });
  t.after(() => h.cleanup());
  await h.run(async () => {
    const [a, b] = await h.startMany(2);
    const lite = await h.start({ lite: true, name: 'caller' });

    // One counter in every partition, each with its own value.
    const names = await lite.call('namesCoveringPartitions', { prefix: 'rollback' });
    assert.equal(names.length, 271);
    const amounts = names.map((_, p) => 1000 + p);
    await lite.call('prepare', { names });
    const added = await lite.call('add', { names, amounts });
    assert.equal(sum(added.acked), names.length, `every counter was set: ${JSON.stringify(added.errors)}`);
    await h.waitClusterSafe(20_000);

    // The destination holds the first migration it receives, at the apply step, for good.
    const c = h.spawn({ name: 'destination', env: { [HOLD_STEP_ENV]: 'migration.apply:any' } });
    await withDeadline(c.ready, 30_000, 'the destination to join');
    const held = await c.waitForEvent((e) => e.type === 'held', 'a held migration step', 20_000);
    assert.ok(held.type === 'held');
    const p = held.partitionId;
    const name = names[p];
    const before = await lite.call('placement', { name });
    const source = [a, b].find((m) => m.address === before.replicas[0]);
    assert.ok(source !== undefined, `partition ${p} is still owned by its source while the migration is held: ${JSON.stringify(before.replicas)}`);

    // A call to the partition while its migration is held: it must complete normally.
    const during = lite.call('inc', { name, times: 1, amount: 1 }, 60_000);
    await c.kill();
    const duringResult = await during;
    assert.deepEqual(duringResult.outcomes, [amounts[p] + 1], `the call made during the migration: ${JSON.stringify(duringResult.errors)}`);

    await h.waitClusterSafe(30_000, 3);
    const after = await lite.call('placement', { name });
    assert.equal(after.replicas[0], source.address, `partition ${p} is still owned by ${source.name} after the rollback`);
    const values = await lite.call('get', { names });
    const expected = amounts.map((v, k) => (k === p ? v + 1 : v));
    assert.deepEqual(values, expected, 'every counter is intact after the rollback');
    const failedLog = h.liveData
      .flatMap((m) => m.grep(/migration failed; rolled back and re-planned/))
      .filter((l) => l.includes(`"partitionId":${p},`));
    assert.ok(failedLog.length > 0, `the master logged the rollback of partition ${p}`);

    // Re-planned: another member joins and the partition migrates there completely.
    const d = await h.start({ name: 'new-destination' });
    await h.waitClusterSafe(30_000, 4);
    const moved = await lite.call('placement', { name });
    assert.equal(moved.replicas[0], d.address, `partition ${p} migrated to ${d.name}: ${JSON.stringify(moved.replicas)}`);
    assert.deepEqual(await lite.call('get', { names }), expected, 'every counter is intact after the re-planned migrations');
    const [value] = (await lite.call('inc', { name, times: 1, amount: 1 })).outcomes;
    assert.equal(value, amounts[p] + 2, `partition ${p} accepts calls on its new owner`);
    console.log(`migration-rollback: partition ${p} held at migration.apply on ${c.name}, killed; stayed on ${source.name}; re-planned to ${d.name}; ${failedLog.length} rollback log line(s)`);
  });
});
