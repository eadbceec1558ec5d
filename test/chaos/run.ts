/**
 * `npm run chaos`: the simulator's checkers over real processes on loopback.
 *
 * M data members (1 synchronous backup) and two lite load processes, started as separate OS
 * processes; a seeded schedule of SIGKILL (and a fresh member in its place), SIGSTOP/SIGCONT
 * pauses shorter than the failure detector, and graceful restarts runs while the load increments
 * counters; then the faults stop, the cluster must become safe, and the checkers run:
 * `counterWithinAckedRange` on every counter and `membershipAgrees` (every live member sees the
 * same member count, nobody dead in it).
 *
 *   npm run chaos -- [--seed S] [--members M] [--rounds R]
 *
 * Network partitions between members placed in network namespaces are not implemented yet; the
 * run prints that and goes on with process faults only. Exit status non-zero on any violation.
 */
import { counterWithinAckedRange, type CounterCallRecord } from '../../src/testing/checkers/counter-within-acked-range.js';
import { Harness, addTallies, counterNames, sum, type MemberProcess } from '../reliability/harness.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} needs a non-negative integer, got '${process.argv[i + 1]}'`);
  return v;
}

/** mulberry32: seeded, so a schedule replays. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}

const seed = arg('seed', Date.now() % 1_000_000);
const members = Math.max(3, arg('members', 4));
const rounds = arg('rounds', 6);
const random = prng(seed);
console.log(`chaos: seed ${seed}, ${members} data members, ${rounds} rounds (replay: npm run chaos -- --seed ${seed} --members ${members} --rounds ${rounds})`);
console.log('chaos: network partitions between namespaces: not implemented yet; process faults only (SIGKILL, SIGSTOP/SIGCONT, graceful restart)');

const h = new Harness(Number(process.env.SHOAL_CHAOS_BASE_PORT ?? 19800), { backupCount: 1, antiEntropyIntervalMs: 1000, backupAckTimeoutMs: 2000 });
const faults: Record<string, number> = {};
let status = 0;
try {
  await h.run(async () => {
    await h.startMany(members);
    const loads = [await h.start({ lite: true, name: 'load-a' }), await h.start({ lite: true, name: 'load-b' })];
    const names = counterNames('chaos', 40);
    for (const l of loads) await l.call('prepare', { names });
    await h.waitClusterSafe(30_000);
    for (const l of loads) await l.call('startLoad', { names, concurrency: 4 });

    for (let round = 0; round < rounds; round++) {
      const data = h.liveData;
      const victim: MemberProcess = data[Math.floor(random() * data.length)];
      const kind = (['kill', 'pause', 'restart'] as const)[Math.floor(random() * 3)];
      faults[kind] = (faults[kind] ?? 0) + 1;
      if (kind === 'pause') {
        // Shorter than the failure detector (2 s): nobody may be removed for it.
        const ms = 300 + Math.floor(random() * 900);
        victim.signal('SIGSTOP');
        await new Promise((r) => setTimeout(r, ms)); // the fault itself is a duration, not a wait for a condition
        victim.signal('SIGCONT');
        console.log(`chaos: round ${round + 1}: paused ${victim.name} for ${ms} ms`);
      } else {
        if (kind === 'kill') await victim.kill();
        else await victim.terminateGracefully(30_000);
        await h.waitClusterSafe(60_000);
        await h.start();
        console.log(`chaos: round ${round + 1}: ${kind === 'kill' ? 'SIGKILLed' : 'restarted'} ${victim.name}, replaced`);
      }
      await h.waitClusterSafe(60_000);
    }

    // Heal: no more faults; the cluster must converge.
    await h.waitClusterSafe(60_000);
    const tallies = await Promise.all(loads.map((l) => l.call('stopLoad', {}, 60_000)));
    const values = await loads[0].call('get', { names });
    const total = addTallies(tallies);
    const calls: CounterCallRecord[] = [];
    names.forEach((n, k) => {
      for (let i = 0; i < total.acked[k]; i++) calls.push({ counter: n, amount: 1, outcome: 'ok' });
      for (let i = 0; i < total.indeterminate[k]; i++) calls.push({ counter: n, amount: 1, outcome: 'indeterminate' });
    });
    const violations = counterWithinAckedRange(calls, new Map(names.map((n, k) => [n, values[k]])));
    const states = await Promise.all(h.live.map((m) => m.call('state', {})));
    const sizes = new Set(states.map((s) => s.members));
    if (sizes.size !== 1 || [...sizes][0] !== h.live.length) {
      violations.push({ checker: 'membershipAgrees', message: `members disagree or count a dead member: sizes ${[...sizes].join(',')} for ${h.live.length} live processes` });
    }
    console.log(`chaos: faults ${JSON.stringify(faults)}; ${sum(total.acked)} acknowledged, ${sum(total.indeterminate)} indeterminate, ${sum(total.failed)} failed`);
    for (const v of violations) console.log(`chaos: VIOLATION ${v.checker}: ${v.message}`);
    console.log(`chaos: ${violations.length === 0 ? 'no violation' : `${violations.length} violation(s)`} (seed ${seed})`);
    if (violations.length > 0) status = 1;
  });
} catch (error) {
  console.error(`chaos: run failed (seed ${seed}):`, error);
  console.error(h.report());
  status = 1;
} finally {
  await h.cleanup();
}
process.exit(status);
