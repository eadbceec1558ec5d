/**
 * Issue 6, the built-in map over real processes: failover. 5 data members, a map with one sync
 * backup under continuous puts, removes and gets from a lite load process. Four times: SIGKILL a
 * data member (an owner of about a fifth of the partitions), wait until the cluster is safe, let a
 * replacement join, wait until safe. The first victim owns a partition whose last backups it
 * dropped just before (those calls end indeterminate: applied on the owner, never confirmed); the
 * others are chosen at random. The load leaves a key alone once a put or remove on it went
 * unanswered. Afterwards, read through every member: a key whose calls were all answered holds
 * its last acknowledged state exactly; a key with an unanswered call holds either its state
 * before that call or the one the call wrote (a value some call attempted, or absent). No
 * answered call contradicts the model, nothing is lost, and the data members hold exactly two
 * copies of every entry.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Harness, sum, waitUntil, type MemberProcess } from './harness.js';
import { checkMapEverywhere, describeLoad, mapKeys } from './map-model.js';
import { seededRandom } from '../../src/testing/prng.js';

const BASE_PORT = 19730;
const KILLS = 4;
const MAP = 'map-failover';


test('map with 1 sync backup: 4 × kill -9 of a data member under load; nothing acknowledged is lost, unanswered calls are present or absent', async (t) => {
  const seed = Number(process.env.SHOAL_TEST_SEED ?? Date.now() % 1_000_000);
  const random = seededRandom(seed);
  const h = new Harness(BASE_PORT, { mapBackupCount: 1, antiEntropyIntervalMs: 1000, backupAckTimeoutMs: 2000 }, 40);
  t.after(() => h.cleanup());
  await h.run(async () => {
    const started = Date.now();
    await h.startMany(5);
    const load = await h.start({ lite: true, name: 'load' });
    await h.waitClusterSafe(20_000);

    const keys = mapKeys('f', 1000);
    await load.call('mapStartLoad', { map: MAP, keys, concurrency: 8, getPercent: 20, removePercent: 20, seed, freezeUncertain: true });
    const progressed = async (what: string): Promise<void> => {
      const before = (await load.call('mapLoadProgress', {})).acked;
      await waitUntil(async () => (await load.call('mapLoadProgress', {})).acked >= before + 100, {
        timeoutMs: 20_000,
        intervalMs: 50,
        what: () => `100 more acknowledged map calls ${what}`,
      });
    };
    await progressed('before the first kill');

    let replacement = h.spawnStandby();
    const where = await load.call('placement', { name: keys[0] });
    const first = h.liveData.find((m) => m.address === where.replicas[0]);
    assert.ok(first !== undefined, `owner ${String(where.replicas[0])} of partition ${where.partitionId} is not a running data member`);
    await first.call('armDropBackup', { partitionId: where.partitionId, count: 3 });
    await waitUntil(async () => (await load.call('mapLoadProgress', {})).indeterminate >= 3, {
      timeoutMs: 20_000,
      intervalMs: 50,
      what: () => `three calls on partition ${where.partitionId} to end indeterminate (their backups dropped)`,
    });

    const victims: string[] = [];
    for (let i = 0; i < KILLS; i++) {
      const data = h.liveData;
      const victim: MemberProcess = i === 0 ? first : data[Math.floor(random() * data.length)];
      victims.push(victim.name);
      await replacement.loaded();
      await victim.kill();
      await h.waitClusterSafe(30_000);
      await progressed(`after killing ${victim.name}`);
      await replacement.join(h.live.map((m) => m.address));
      replacement = i + 1 < KILLS ? h.spawnStandby() : replacement;
      await h.waitClusterSafe(30_000);
      await progressed(`after ${victim.name} was replaced`);
    }

    const result = await load.call('mapStopLoad', {}, 60_000);
    const check = await checkMapEverywhere(h.live, MAP, result);
    const stored = sum(await Promise.all(h.liveData.map((m) => m.call('mapLocalEntries', { map: MAP, partitionId: -1 }))));
    console.log(
      `map-failover (seed ${seed}, victims ${victims.join(' ')}): ${describeLoad(result)}; ${check.exact} keys exact, ${check.uncertain} uncertain (${check.uncertainApplied} of them hold the unanswered call's state), ` +
        `${check.present} present, ${stored} copies on the data members; read from ${h.live.length} members; ${Math.round((Date.now() - started) / 1000)} s; ` +
        `errors ${JSON.stringify(result.errors)}`,
    );
    assert.deepEqual(result.violations, [], `answers that contradict the model while the load ran (seed ${seed})`);
    assert.deepEqual(check.problems, [], `reads that differ from the model (seed ${seed})`);
    assert.equal(result.failed, 0, `calls failed with errors other than indeterminate outcomes: ${JSON.stringify(result.errors)}`);
    assert.ok(result.indeterminate >= 3, 'the calls whose backups were dropped ended indeterminate');
    assert.ok(check.uncertain >= 1, 'a key written by an indeterminate call is checked at the end');
    assert.ok(result.puts > 300 && result.removes > 50, `too little load: ${describeLoad(result)}`);
    assert.equal(stored, 2 * check.present, "entries in the data members' stores (owner and backup copies)");
  });
});
