/**
 * Issue 4, replica versions and anti-entropy: the owner drops the async backup of the last write
 * to a partition (FaultSites.dropBackup), so no later backup reveals the gap. The periodic
 * anti-entropy check must notice that the backup is behind and repair it within the configured
 * interval: afterwards the backup's container holds the owner's value (both read with a
 * test-only inspection operation sent to each member).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Harness, waitUntil } from './harness.js';

const BASE_PORT = 19500;
const ANTI_ENTROPY_MS = 1000;

test('a dropped async backup is repaired by anti-entropy within the configured interval', async (t) => {
  const h = new Harness(BASE_PORT, { backupCount: 0, asyncBackupCount: 1, antiEntropyIntervalMs: ANTI_ENTROPY_MS });
  t.after(() => h.cleanup());
  await h.run(async () => {
    await h.startMany(3);
    const lite = await h.start({ lite: true, name: 'caller' });
    const name = 'anti-entropy-counter';
    await lite.call('prepare', { names: [name] });
    await h.waitClusterSafe(20_000);

    const { partitionId, replicas } = await lite.call('placement', { name });
    const [ownerAddress, backupAddress] = replicas;
    assert.ok(ownerAddress !== null && backupAddress !== null, `partition ${partitionId} has an owner and a backup: ${JSON.stringify(replicas)}`);
    const owner = h.liveData.find((m) => m.address === ownerAddress)!;
    const backup = h.liveData.find((m) => m.address === backupAddress)!;
    const read = async (address: string): Promise<number | null> => lite.call('inspect', { name, address });

    // Async backups arrive on their own: wait until the backup caught up with 5 increments.
    const first = await lite.call('inc', { name, times: 5, amount: 1 });
    assert.deepEqual(first.outcomes, [1, 2, 3, 4, 5]);
    await waitUntil(async () => (await read(backupAddress)) === 5, { timeoutMs: 5000, intervalMs: 20, what: () => 'the backup to apply 5 async backups' });

    // The backup of the 6th increment is dropped: nothing after it shows the gap.
    await owner.call('armDropBackup', { partitionId, count: 1 });
    const since = backup.lines.length;
    const dropped = await lite.call('inc', { name, times: 1, amount: 1 });
    assert.deepEqual(dropped.outcomes, [6]);
    await owner.waitForEvent((e) => e.type === 'backup-dropped' && e.partitionId === partitionId, 'the dropped backup', 2000);
    const droppedAt = Date.now();
    assert.equal(await read(ownerAddress), 6);
    assert.equal(await read(backupAddress), 5, 'the backup missed the dropped write');

    // Repaired by the periodic check: within one interval (plus one more for the timer's phase
    // and the copy's round trip).
    await waitUntil(async () => (await read(backupAddress)) === 6, {
      timeoutMs: 2 * ANTI_ENTROPY_MS + 1000,
      intervalMs: 20,
      what: () => `the backup on ${backup.name} to be repaired by anti-entropy (interval ${ANTI_ENTROPY_MS} ms)`,
    });
    const repairedMs = Date.now() - droppedAt;
    console.log(`anti-entropy: backup of partition ${partitionId} repaired ${repairedMs} ms after the dropped write`);
    assert.equal(await read(ownerAddress), 6, 'the owner still holds its value');
    const noticed = backup.lines.slice(since).filter((l) => l.includes('anti-entropy') && l.includes(`"partitionId":${partitionId}`));
    assert.ok(noticed.length > 0, `the backup logged the anti-entropy repair of partition ${partitionId}`);
  });
});
