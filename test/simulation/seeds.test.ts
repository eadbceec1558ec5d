/**
 * The CI run of the simulator: 300 seeds (two batches of 150, each on two processes), every
 * invariant checked, liveness required after the heal. A failing seed prints the command that
 * replays it.
 *
 * The batches cover what the engine survives without exception today. With the full default
 * fault set (adding connection resets, and crashes mixed with joins and graceful leaves)
 * 2 of 450 seeds (0.4 %) still end in a liveness violation (a member that never converges);
 * no safety violation was seen in those 450 seeds. Those seeds are kept in known-bugs/ and replayed
 * as TODO tests; widen these batches as they get fixed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runBatch, type FaultKind } from '../../src/testing/index.js';

interface Batch {
  readonly name: string;
  readonly first: number;
  readonly faults: readonly FaultKind[];
}

const BATCHES: readonly Batch[] = [
  { name: 'membership changes and migrations', first: 1, faults: ['delay', 'partition', 'pause', 'join', 'leave', 'sites'] },
  { name: 'crashes, restarts and promotions', first: 1001, faults: ['delay', 'partition', 'pause', 'crash', 'sites'] },
];
const SEEDS_PER_BATCH = 150;

for (const b of BATCHES) {
  test(`${SEEDS_PER_BATCH} seeds: ${b.name} (${b.faults.join(',')})`, { timeout: 600_000 }, async () => {
    const summary = await runBatch({ first: b.first, count: SEEDS_PER_BATCH, jobs: 2, overrides: { faults: b.faults, swarm: true } });
    const failures = summary.failing.map(
      (s) => `seed ${s.seed}: ${s.violations[0].checker}: ${s.violations[0].message}\n  replay: npm run sim -- --seed ${s.seed} --faults ${b.faults.join(',')} --swarm`,
    );
    assert.equal(summary.seeds, SEEDS_PER_BATCH);
    assert.deepEqual(failures, []);
    assert.ok(summary.events > SEEDS_PER_BATCH * 1000, `only ${summary.events} events`);
    // Every fault kind of the batch was injected somewhere.
    for (const kind of b.faults) {
      const prefix = kind === 'sites' ? 'site.' : `${kind}.`;
      const injected = Object.entries(summary.faults).some(([k, n]) => n > 0 && (k === kind || k.startsWith(prefix)));
      assert.ok(injected, `no ${kind} fault injected in ${SEEDS_PER_BATCH} seeds: ${JSON.stringify(summary.faults)}`);
    }
  });
}
