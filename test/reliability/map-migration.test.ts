/**
 * Issue 6, the built-in map over real processes: migrations. A map with one sync backup takes
 * puts, removes and gets continuously from a lite load process while members join (3 → 5) and
 * leave gracefully (5 → 3, the master first). Every key's calls are sequential, so the load keeps
 * an exact model: afterwards every member reads each key's last acknowledged state, size, keys
 * and entries agree with the model, and the data members hold exactly two copies of every entry.
 * Then clear (while a member joins) and destroy across processes leave nothing anywhere.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Harness, NO_KILL_DETECTOR, sum, waitUntil, type MemberProcess } from './harness.js';
import { checkMapEverywhere, describeLoad, mapKeys } from './map-model.js';

const BASE_PORT = 19700;
const MAP = 'map-migration';

/** Entries of `map` in the stores of every data member (owners and backups). */
async function copies(h: Harness, map: string): Promise<number> {
  return sum(await Promise.all(h.liveData.map((m) => m.call('mapLocalEntries', { map, partitionId: -1 }))));
}

test('map with 1 sync backup under puts/removes/gets while members join (3→5) and leave gracefully (5→3): every member reads the model; clear and destroy reach every process', async (t) => {
  const seed = Number(process.env.SHOAL_TEST_SEED ?? Date.now() % 1_000_000);
  const h = new Harness(BASE_PORT, { mapBackupCount: 1, ...NO_KILL_DETECTOR }, 30);
  t.after(() => h.cleanup());
  await h.run(async () => {
    const started = Date.now();
    const data = await h.startMany(3);
    const load = await h.start({ lite: true, name: 'load' });
    await h.waitClusterSafe(20_000);

    const keys = mapKeys('k', 1000);
    await load.call('mapStartLoad', { map: MAP, keys, concurrency: 8, getPercent: 20, removePercent: 20, seed, freezeUncertain: false });
    const progressed = async (what: string): Promise<void> => {
      const before = (await load.call('mapLoadProgress', {})).acked;
      await waitUntil(async () => (await load.call('mapLoadProgress', {})).acked >= before + 200, {
        timeoutMs: 20_000,
        intervalMs: 50,
        what: () => `200 more acknowledged map calls ${what}`,
      });
    };
    await progressed('before the joins');

    // 3 → 5 while the load runs.
    for (let i = 0; i < 2; i++) data.push(await h.start());
    await h.waitClusterSafe(45_000);
    await progressed('after the joins');

    // 5 → 3: graceful leaves, the master (oldest member) first.
    const leaving: MemberProcess[] = [data[0], data[3]];
    for (const m of leaving) {
      const exit = await m.terminateGracefully(45_000);
      assert.equal(exit.code, 0, `${m.name} exited with ${JSON.stringify(exit)}`);
      await h.waitClusterSafe(30_000);
      await progressed(`after ${m.name} left`);
    }
    assert.equal(h.liveData.length, 3);

    const result = await load.call('mapStopLoad', {}, 60_000);
    const check = await checkMapEverywhere(h.live, MAP, result);
    const stored = await copies(h, MAP);
    console.log(
      `map-migration (seed ${seed}): ${describeLoad(result)}; ${check.exact} keys exact, ${check.uncertain} uncertain, ${check.present} present, ` +
        `${stored} copies on the data members; read from ${h.live.length} members; ${Math.round((Date.now() - started) / 1000)} s; errors ${JSON.stringify(result.errors)}`,
    );
    assert.deepEqual(result.violations, [], `answers that contradict the model while the load ran (seed ${seed})`);
    assert.deepEqual(check.problems, [], `reads that differ from the model (seed ${seed})`);
    assert.equal(result.failed + result.indeterminate, 0, `calls failed during graceful migrations: ${JSON.stringify(result.errors)}`);
    assert.equal(check.uncertain, 0);
    assert.ok(result.puts > 500 && result.removes > 100, `too little load: ${describeLoad(result)}`);
    // Owner + one backup of every entry, and nothing left behind on members that gave a replica away.
    assert.equal(stored, 2 * check.present, 'entries in the data members\' stores (owner and backup copies)');

    // clear() while a member joins (its migrations carry the map's partitions): nothing survives,
    // on any replica.
    await load.call('mapPut', { map: MAP, entries: keys.slice(0, 300).map((k): [string, string] => [k, `again-${k}`]) });
    await h.start(); // its migrations begin now
    await data[1].call('mapClear', { map: MAP });
    await h.waitClusterSafe(30_000);
    for (const m of h.live) {
      const read = await m.call('mapRead', { map: MAP, keys: keys.slice(0, 300) });
      assert.equal(read.size, 0, `${m.name}: size after clear`);
      assert.deepEqual([read.keys.length, read.entries.length], [0, 0], `${m.name}: keys/entries after clear`);
      assert.ok(read.values.every((v) => v === null) && read.contains.every((c) => !c), `${m.name}: a key is still readable after clear`);
    }
    assert.equal(await copies(h, MAP), 0, 'copies left in the stores after clear');

    // destroy() from one member drops the proxy and the data on every process; the name can be
    // used again, empty.
    await load.call('mapPut', { map: MAP, entries: keys.slice(0, 100).map((k): [string, string] => [k, `third-${k}`]) });
    await waitUntil(async () => (await copies(h, MAP)) === 200, { timeoutMs: 10_000, intervalMs: 100, what: () => '100 entries with one backup each' });
    await data[2].call('mapDestroy', { map: MAP });
    for (const m of h.live) assert.deepEqual(await m.call('mapNames', {}), [], `${m.name} still has the map's proxy`);
    assert.equal(await copies(h, MAP), 0, 'copies left in the stores after destroy');
    const again = await load.call('mapRead', { map: MAP, keys: keys.slice(0, 100) });
    assert.equal(again.size, 0, 'a destroyed map comes back empty');
    assert.ok(again.values.every((v) => v === null));
    console.log(`map-migration: clear and destroy checked on ${h.live.length} members, ${Math.round((Date.now() - started) / 1000)} s`);
  });
});
