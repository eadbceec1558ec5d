/**
 * Micro-benchmark: the cost of constructing an operation (`new IncOperation(name, 1)`, the
 * counter example's increment) in a fresh process, and again after the process has constructed
 * many other Operation subclasses — as every member has, once it has served a cluster (internal
 * migration, proxy and backup operations, user operations). Class-field initialisers in a base
 * class become megamorphic in that state; the figure shows what the hot path pays for it.
 *
 *   npx tsx bench/micro/operation-alloc.ts
 */
import { performance } from 'node:perf_hooks';
import { IncOperation } from '../../examples/counter/counter.js';
import { Operation } from '../../src/index.js';

const ITERATIONS = 2_000_000;
const SUBCLASSES = 30;

function nsPerNew(): number {
  let sink = 0;
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const t0 = performance.now();
    for (let i = 0; i < ITERATIONS; i++) sink += new IncOperation('counter-1', 1).getPartitionId();
    best = Math.min(best, ((performance.now() - t0) * 1e6) / ITERATIONS);
  }
  if (sink === 42) console.log('');
  return best;
}

const fresh = nsPerNew();

// Other operation types, as a member meets them.
const others = Array.from({ length: SUBCLASSES }, (_, k) => {
  class Other extends Operation {
    readonly kind = k;
    run(): void {}
  }
  return Other;
});
for (let i = 0; i < 300_000; i++) new others[i % SUBCLASSES]();

const megamorphic = nsPerNew();
console.log(`new IncOperation(): ${fresh.toFixed(1)} ns in a fresh process; ${megamorphic.toFixed(1)} ns after ${SUBCLASSES} other Operation subclasses were constructed (${(megamorphic / fresh).toFixed(1)}×)`);
