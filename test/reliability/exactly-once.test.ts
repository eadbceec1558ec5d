/**
 * Issue 4, exactly-once retries: the owner of a counter SIGKILLs itself after it applied an
 * increment and its sync backup acknowledged it, but before it answered (FaultSites.afterApply).
 * The caller's call is retried against the promoted backup, which answers from the call record
 * replicated with the backup: the call resolves (not indeterminate) with the value of a single
 * application, and the counter ends at exactly the number of increments.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Harness, sum } from './harness.js';

const BASE_PORT = 19600;

test('a call retried after its owner died between apply and response is answered from the call record, not applied twice', async (t) => {
  const h = new Harness(BASE_PORT, { backupCount: 1 });
  t.after(() => h.cleanup());
  await h.run(async () => {
    await h.startMany(3);
    const lite = await h.start({ lite: true, name: 'caller' });
    await h.waitClusterSafe(20_000);

    const name = 'exactly-once-counter';
    await lite.call('prepare', { names: [name] });
    const before = await lite.call('placement', { name });
    const owner = h.liveData.find((m) => m.address === before.replicas[0]);
    assert.ok(owner !== undefined, `owner ${String(before.replicas[0])} of partition ${before.partitionId} is not a running data member`);
    const backupAddress = before.replicas[1];
    assert.ok(backupAddress !== null && backupAddress !== owner.address, 'the partition has a backup on another member');

    const times = 12;
    const nth = 6;
    await owner.call('armKillAfterApply', { partitionId: before.partitionId, nth });
    const result = await lite.call('inc', { name, times, amount: 1 }, 60_000);

    const exit = await owner.exited;
    assert.equal(exit.signal, 'SIGKILL', `the owner ${owner.name} was to kill itself after applying call ${nth}`);
    await owner.waitForEvent((e) => e.type === 'killing-self', 'its self-kill event', 1000);
    const indeterminate = sum(result.indeterminate);
    console.log(`exactly-once: outcomes ${JSON.stringify(result.outcomes)}; indeterminate ${indeterminate}, failed ${sum(result.failed)}`);

    // The call in flight when the owner died resolved with the value of one application: the
    // promoted backup answered it from the call record.
    assert.equal(result.outcomes[nth - 1], nth, `call ${nth} (retried after the owner died) resolved with ${String(result.outcomes[nth - 1])}`);
    assert.deepEqual(result.outcomes.slice(0, nth), Array.from({ length: nth }, (_, i) => i + 1));
    assert.equal(sum(result.failed), 0, `calls failed: ${JSON.stringify(result.errors)}`);
    // Later calls: each acknowledged one returned the value of exactly one more application.
    result.outcomes.forEach((o, i) => {
      if (typeof o === 'number') assert.equal(o, i + 1, `call ${i + 1} returned ${o}: some call was applied twice or lost`);
    });

    await h.waitClusterSafe(30_000, 3);
    const after = await lite.call('placement', { name });
    assert.equal(after.replicas[0], backupAddress, 'the backup was promoted to owner');
    const [value] = await lite.call('get', { names: [name] });
    assert.equal(value, times, 'the counter equals the number of increments exactly (not +1)');
  });
});
