/**
 * Issue 6, the built-in map over real processes: a named partition. Keys `np-*` are placed by a
 * partition mapper (installed on every process) in the named partition P, defined from a member
 * (active A, synchronous replica B); other keys are hashed (one sync backup). Under continuous
 * puts, removes and gets from a lite load process, P migrates to C with D as its synchronous
 * replica (copied in steps of 10 objects while the load runs), then C is SIGKILLed and D takes
 * over. Afterwards every member reads the model (the load leaves a key alone once a call on it
 * went unanswered), P's entries are on D only, and hashed entries have two copies. Last, clear()
 * while P is copied back to A one object per step: nothing cleared comes back on A.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Harness, sum, waitUntil } from './harness.js';
import { checkMapEverywhere, describeLoad, mapKeys } from './map-model.js';

const BASE_PORT = 19770;
const MAP = 'map-named';
const PARTITION = 'P';

test('map keyed through a named-partition mapper: migration and failover of the named partition under load lose nothing acknowledged', async (t) => {
  const seed = Number(process.env.SHOAL_TEST_SEED ?? Date.now() % 1_000_000);
  const h = new Harness(BASE_PORT, { mapBackupCount: 1, antiEntropyIntervalMs: 1000, backupAckTimeoutMs: 2000 }, 30);
  t.after(() => h.cleanup());
  await h.run(async () => {
    const started = Date.now();
    const [a, b, c, d] = await h.startMany(4);
    const load = await h.start({ lite: true, name: 'load' });
    await h.waitClusterSafe(20_000);

    const defined = await a.call('namedDefine', {
      name: PARTITION,
      activeNode: a.name,
      replicas: [{ member: b.name, sync: true }],
      objectsLockedPerTransaction: 10,
    });
    for (const m of h.live) await m.call('mapSetMapper', { prefix: 'np-', partition: PARTITION });
    const slot = defined.partitionId;
    await h.waitClusterSafe(20_000);

    const named = mapKeys('np', 500);
    const keys = [...named, ...mapKeys('h', 300)];
    await load.call('mapStartLoad', { map: MAP, keys, concurrency: 8, getPercent: 20, removePercent: 20, seed, freezeUncertain: true });
    const progressed = async (what: string): Promise<void> => {
      const before = (await load.call('mapLoadProgress', {})).acked;
      await waitUntil(async () => (await load.call('mapLoadProgress', {})).acked >= before + 200, {
        timeoutMs: 20_000,
        intervalMs: 50,
        what: () => `200 more acknowledged map calls ${what}`,
      });
    };
    await progressed(`with ${PARTITION} on ${a.name} and ${b.name}`);
    const onA = await a.call('mapLocalEntries', { map: MAP, partitionId: slot });
    assert.ok(onA > 0, `${PARTITION}'s entries are on its active node ${a.name}`);
    assert.equal(await c.call('mapLocalEntries', { map: MAP, partitionId: slot }), 0, `${c.name} is not in ${PARTITION}'s node list yet`);

    // Migrate P: A, B → C (active), D (sync replica), while the load writes into it.
    const beforeMigration = (await load.call('mapLoadProgress', {})).acked;
    const report = await a.call('namedMigrate', { name: PARTITION, activeNode: c.name, replicas: [{ member: d.name, sync: true }], objectsLockedPerTransaction: null }, 60_000);
    const duringMigration = (await load.call('mapLoadProgress', {})).acked - beforeMigration;
    await progressed(`after ${PARTITION} migrated to ${c.name}`);
    const info = await load.call('namedInfo', { name: PARTITION });
    assert.equal(info.activeNode, c.name);

    // Failover: kill the active node; D, the first live replica, takes over.
    await c.kill();
    await waitUntil(async () => (await load.call('namedInfo', { name: PARTITION })).activeNode === d.name, {
      timeoutMs: 20_000,
      intervalMs: 100,
      what: () => `${d.name} to become ${PARTITION}'s active node`,
    });
    await h.waitClusterSafe(30_000);
    await progressed(`after ${c.name} was killed`);

    const result = await load.call('mapStopLoad', {}, 60_000);
    const check = await checkMapEverywhere(h.live, MAP, result);
    const presentNamed = check.presentKeys.filter((k) => k.startsWith('np-')).length;
    const presentHashed = check.present - presentNamed;
    const inSlot = await Promise.all(h.liveData.map((m) => m.call('mapLocalEntries', { map: MAP, partitionId: slot })));
    const all = await Promise.all(h.liveData.map((m) => m.call('mapLocalEntries', { map: MAP, partitionId: -1 })));
    console.log(
      `map-named (seed ${seed}): ${describeLoad(result)}; migration took ${report.moves} moves, ${onA} entries, ${duringMigration} calls acknowledged meanwhile; ${check.exact} keys exact, ${check.uncertain} uncertain, ` +
        `${presentNamed} named + ${presentHashed} hashed present; ${PARTITION} entries by member ${h.liveData.map((m, i) => `${m.name}=${inSlot[i]}`).join(' ')}; ` +
        `${Math.round((Date.now() - started) / 1000)} s; errors ${JSON.stringify(result.errors)}`,
    );
    assert.deepEqual(result.violations, [], `answers that contradict the model while the load ran (seed ${seed})`);
    assert.deepEqual(check.problems, [], `reads that differ from the model (seed ${seed})`);
    assert.equal(result.failed, 0, `calls failed with errors other than indeterminate outcomes: ${JSON.stringify(result.errors)}`);
    assert.ok(presentNamed > 0 && presentHashed > 0, 'both kinds of keys are present');
    // P lives on D alone now (A and B left its node list, C died); hashed entries keep two copies.
    assert.deepEqual(
      h.liveData.map((m, i) => [m.name, inSlot[i]]),
      h.liveData.map((m) => [m.name, m === d ? presentNamed : 0]),
      `${PARTITION}'s entries by member`,
    );
    assert.equal(sum(all) - sum(inSlot), 2 * presentHashed, 'hashed entries in the data members\' stores (owner and backup copies)');

    // clear() while P is copied from D to A one object per step (the application's calls run
    // between the steps): what was cleared must not come back with the rest of the copy.
    const CLEARED = 'map-named-clear';
    const clearedKeys = mapKeys('np-c', 3000);
    await load.call('mapPut', { map: CLEARED, entries: clearedKeys.map((k): [string, string] => [k, `old-${k}`]) });
    const migrating = d.call('namedMigrate', { name: PARTITION, activeNode: a.name, replicas: [], objectsLockedPerTransaction: 1 }, 60_000);
    migrating.catch(() => {}); // awaited below
    await waitUntil(async () => (await a.call('mapLocalEntries', { map: CLEARED, partitionId: slot })) > 0, {
      timeoutMs: 20_000,
      intervalMs: 20,
      what: () => `the copy of ${PARTITION} to ${a.name} to begin`,
    });
    await load.call('mapClear', { map: CLEARED });
    await load.call('mapPut', { map: CLEARED, entries: [['np-c-after', 'new']] });
    await migrating;
    assert.equal((await load.call('namedInfo', { name: PARTITION })).activeNode, a.name);
    assert.equal(await a.call('mapLocalEntries', { map: CLEARED, partitionId: slot }), 1, `entries of the cleared map on ${a.name}, ${PARTITION}'s new active node`);
    for (const m of h.live) {
      const read = await m.call('mapRead', { map: CLEARED, keys: ['np-c-0', 'np-c-2999', 'np-c-after'] });
      assert.deepEqual([read.size, read.values], [1, [null, null, 'new']], `${m.name} reads the cleared map`);
    }
  });
});
