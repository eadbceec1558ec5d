/**
 * `npm run chaos`: the simulator's checkers over real member processes, with process faults and,
 * as root with iproute2, network partitions between Linux network namespaces.
 *
 *   npm run chaos -- [--seed S] [--members M] [--rounds R] [--faults LIST]
 *
 * M data members (1 synchronous backup) and two lite load processes run as separate OS processes.
 * A seeded schedule (see scenario.ts) injects one fault per round while the load increments
 * counters, and waits for the cluster to converge after each: SIGKILL (and a fresh member in its
 * place), SIGSTOP/SIGCONT pauses and partitions shorter than the failure detector, graceful
 * restarts. `--faults` chooses among kill, pause, restart, partition (default: all four) and
 * split (opt-in: an isolation longer than the failure detector, after which the two sides must
 * merge back). After the faults the checkers run: `counterWithinAckedRange` on every counter,
 * `membershipAgrees` on every live process's member list and table.
 *
 * Partitions need root and `ip` (iproute2): every process then runs in its own namespace
 * `shoal-chaos-<pid>-run-h<i>` (address 10.77.1.<i>, plugged into a bridge in
 * `shoal-chaos-<pid>-run-hub`) and a cut is a blackhole route (netns.ts). Without them the run
 * prints why, drops partition and split, and goes on with process faults on 127.0.0.1 (ports
 * from 19800, or SHOAL_CHAOS_BASE_PORT). Namespaces are deleted on exit, on failure and on
 * SIGINT/SIGTERM; a run first deletes those left by runs that no longer exist.
 *
 * The first line prints the replay command; the exit status is non-zero on any violation.
 */
import { NetnsLab, netnsUnavailable, removeStaleNamespaces } from './netns.js';
import { DEFAULT_FAULTS, FAULT_KINDS, NETWORK_FAULTS, runChaos, type FaultKind } from './scenario.js';

const USAGE = `npm run chaos -- [--seed S] [--members M] [--rounds R] [--faults LIST]
  --seed S      schedule seed (default: from the clock; the first line prints the replay command)
  --members M   data members, at least 3 (default 4)
  --rounds R    fault rounds (default 8)
  --faults LIST comma-separated among ${FAULT_KINDS.join(', ')} (default ${DEFAULT_FAULTS.join(',')})`;

const FLAGS = ['--seed', '--members', '--rounds', '--faults'];
if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}
for (let i = 2; i < process.argv.length; i += 2) {
  if (!FLAGS.includes(process.argv[i])) {
    console.error(`chaos: unknown option '${process.argv[i]}'\n${USAGE}`);
    process.exit(2);
  }
}

function value(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

function arg(name: string, fallback: number): number {
  const raw = value(name);
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} needs a non-negative integer, got '${raw}'`);
  return v;
}

function faultsArg(): FaultKind[] {
  const raw = value('faults');
  if (raw === undefined) return [...DEFAULT_FAULTS];
  const kinds = raw.split(',').filter((k) => k !== '');
  for (const k of kinds) {
    if (!(FAULT_KINDS as readonly string[]).includes(k)) throw new Error(`--faults: unknown kind '${k}' (kinds: ${FAULT_KINDS.join(', ')})`);
  }
  return kinds as FaultKind[];
}

// Ctrl-C or a kill while the namespaces are being made: exit, so the 'exit' handlers delete what
// exists (the lab's namespaces, the harness's processes). runChaos adds its own while it runs.
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) process.once(signal, () => process.exit(code));

const seed = arg('seed', Date.now() % 1_000_000);
const members = Math.max(3, arg('members', 4));
const rounds = arg('rounds', 8);
const requested = faultsArg();
const faultsFlag = requested.join(',') === DEFAULT_FAULTS.join(',') ? '' : ` --faults ${requested.join(',')}`;
console.log(`chaos: seed ${seed}, ${members} data members, ${rounds} rounds, faults ${requested.join(',')} (replay: npm run chaos -- --seed ${seed} --members ${members} --rounds ${rounds}${faultsFlag})`);

let lab: NetnsLab | null = null;
let faults = requested;
if (requested.some((k) => NETWORK_FAULTS.includes(k))) {
  let reason = await netnsUnavailable();
  if (reason === null) {
    const stale = removeStaleNamespaces();
    if (stale.length > 0) console.log(`chaos: deleted ${stale.length} namespace(s) of runs that are gone: ${stale.join(' ')}`);
    try {
      lab = await NetnsLab.open('run', '10.77.1');
    } catch (error) {
      reason = `could not create a namespace: ${error instanceof Error ? error.message : String(error)}`;
    }
  }
  if (lab === null) {
    faults = requested.filter((k) => !NETWORK_FAULTS.includes(k));
    console.log(`chaos: network partitions skipped: ${reason ?? 'unknown'}; going on with ${faults.length > 0 ? faults.join(',') : 'no fault (load and checkers only)'}`);
  } else {
    console.log(`chaos: network partitions between namespaces ${lab.base}-* (blackhole routes, iproute2)`);
  }
} else {
  console.log('chaos: no network fault asked for; process faults only, on 127.0.0.1');
}

let status = 0;
try {
  const r = await runChaos({
    seed,
    members,
    loads: 2,
    rounds,
    faults,
    basePort: Number(process.env.SHOAL_CHAOS_BASE_PORT ?? 19800),
    lab,
    pauseMs: [300, 1200], // shorter than the 2 s failure detector: nobody may be removed for it
    // Also shorter, with room for TCP: after the heal a connection waits for its next
    // retransmission, and an asymmetric cut lets that timer back off (see ChaosOptions).
    partitionMs: [300, 900],
    asymmetricMs: [200, 600],
    counters: 40,
    convergeTimeoutMs: 60_000,
    log: (line) => console.log(line),
  });
  console.log(`chaos: faults ${JSON.stringify(r.faults)}; ${r.acked} acknowledged, ${r.indeterminate} indeterminate, ${r.failed} failed`);
  if (r.errors.length > 0) console.log(`chaos: load errors ${r.errors.map(([e, c]) => `${c}× ${e}`).join('; ')}`);
  for (const v of r.violations) console.log(`chaos: VIOLATION ${v.checker}: ${v.message}`);
  if (!r.converged && faults.includes('split')) {
    console.log('chaos: note: after a split the sides did not merge back (an engine without split-brain merge, or a merge that failed; docs/testing.md, Chaos over real processes)');
  }
  console.log(`chaos: ${r.violations.length === 0 ? 'no violation' : `${r.violations.length} violation(s)`} (seed ${seed})`);
  if (r.violations.length > 0) status = 1;
} catch (error) {
  console.error(`chaos: run failed (seed ${seed}):`, error);
  status = 1;
} finally {
  await lab?.dispose();
}
process.exit(status);
