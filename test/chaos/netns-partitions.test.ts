/**
 * Network partitions between real member processes, each in its own Linux network namespace
 * (test/chaos/netns.ts): three data members and one lite load process, a brief seeded schedule of
 * four partitions (seed 2: asymmetric, ring, isolate, symmetric), each healed and followed by a
 * wait for the cluster to converge and the load to flow again, then the checkers of
 * `npm run chaos`: no acknowledged increment lost (`counterWithinAckedRange`), every member with
 * the same member list (`membershipAgrees`), and the cluster converged after every heal.
 *
 * Needs root and iproute2's `ip`; skips, saying why, without them or when the host refuses
 * `ip netns add` (a container without CAP_SYS_ADMIN). Every namespace it made is gone at the end.
 * The failure detector is a tolerant one (6 s; nothing here waits for a detection), so the
 * partitions, up to 2 s, stay well below it even on two busy cores: they must be survived.
 *
 * Ports 19900-19999 (on the namespaces' own addresses, 10.77.2.0/24). SHOAL_TEST_SEED=n replays
 * another schedule.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NetnsLab, netnsUnavailable, removeStaleNamespaces } from './netns.js';
import { runChaos } from './scenario.js';

test('partitions between namespaces, healed: no acknowledged increment lost, members agree', { timeout: 180_000 }, async (t) => {
  const unavailable = await netnsUnavailable();
  if (unavailable !== null) {
    console.log(`netns-partitions: skipped: ${unavailable}`);
    t.skip(unavailable);
    return;
  }
  removeStaleNamespaces();
  let lab: NetnsLab;
  try {
    lab = await NetnsLab.open('ci', '10.77.2');
  } catch (error) {
    const why = `could not create a network namespace: ${error instanceof Error ? error.message : String(error)}`;
    console.log(`netns-partitions: skipped: ${why}`);
    t.skip(why);
    return;
  }
  const seed = Number(process.env.SHOAL_TEST_SEED ?? 2);
  try {
    const r = await runChaos({
      seed,
      members: 3,
      loads: 1,
      rounds: 4,
      faults: ['partition'],
      basePort: 19900,
      lab,
      spec: { heartbeatIntervalMs: 500, maxNoHeartbeatMs: 6000 },
      pauseMs: [0, 0],
      partitionMs: [800, 2000],
      asymmetricMs: [500, 1200],
      counters: 20,
      convergeTimeoutMs: 30_000,
      log: (line) => t.diagnostic(line),
    });
    t.diagnostic(`faults ${JSON.stringify(r.faults)}; ${r.acked} acknowledged, ${r.indeterminate} indeterminate, ${r.failed} failed (seed ${seed})`);
    assert.deepEqual(
      r.violations.map((v) => `${v.checker}: ${v.message}`),
      [],
      `seed ${seed} (replay: SHOAL_TEST_SEED=${seed} node --import tsx --test test/chaos/netns-partitions.test.ts)`,
    );
    const partitions = Object.entries(r.faults).filter(([k]) => k.startsWith('partition.'));
    assert.equal(partitions.reduce((a, [, n]) => a + n, 0), 4, 'every round injected a partition');
    assert.ok(r.acked > 0, 'the load was acknowledged');
  } finally {
    await lab.dispose();
  }
  assert.deepEqual(NetnsLab.existing(lab.base), [], 'every namespace of the run is deleted');
});
