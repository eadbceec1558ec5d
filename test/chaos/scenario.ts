/**
 * The chaos scenario over real member processes, shared by `npm run chaos` (run.ts) and the CI
 * test (netns-partitions.test.ts).
 *
 * Data members (one synchronous backup of every counter) and lite load processes run as separate
 * OS processes, each in its own network namespace when a `NetnsLab` is given (else on loopback).
 * The load increments counters while a seeded schedule injects one fault per round, waits for the
 * cluster to converge after it (every member sees every live member and is cluster-safe; a wait on
 * that condition, bounded), then goes on. After the last round the load stops and the checkers
 * run: `counterWithinAckedRange` on every counter, `membershipAgrees` on the members' lists.
 *
 * Faults:
 * - `kill`: SIGKILL a data member, then start a fresh one in its place;
 * - `restart`: SIGTERM (graceful leave) a data member, then start a fresh one;
 * - `pause`: SIGSTOP a data member, SIGCONT it after `pauseMs` (shorter than the failure detector);
 * - `partition` (namespaces only), for `partitionMs` or `asymmetricMs`, then heal; both so much
 *   shorter than the failure detector that the silence, which TCP's retransmission timer
 *   stretches past the heal, is shorter too:
 *   `symmetric` (all members, lite ones included, split in two groups, no traffic across),
 *   `asymmetric` (the second group cannot send to the first; TCP soon stalls the other way too,
 *   as acknowledgements do not get back), `isolate` (one data member from everyone) or `ring`
 *   (each member reaches only its neighbours on a shuffled ring — a majority with itself, no two
 *   the same majority);
 * - `split` (namespaces only, opt-in): one data member isolated for longer than the failure
 *   detector, then healed. Both sides go on as clusters of their own (the isolated member becomes
 *   master of one); after the heal they must merge back, which needs the engine's split-brain
 *   merge. Without one the sides stay apart, and the run ends in liveness and membershipAgrees
 *   violations; with one, the checkers must hold as after any other fault.
 *
 * The schedule (fault kinds, victims, groups, durations) comes from the seed alone, so a seed
 * replays the same faults; the moments they hit the engine are real time, so outcomes may differ.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { counterWithinAckedRange, type CounterCallRecord } from '../../src/testing/checkers/counter-within-acked-range.js';
import { membershipAgrees } from '../../src/testing/checkers/membership-agrees.js';
import type { MemberView, Violation } from '../../src/testing/checkers/types.js';
import { DEFAULT_SPEC, Harness, addTallies, counterNames, sum, waitUntil, type MemberProcess, type SpawnOptions } from '../reliability/harness.js';
import type { IncTally, MemberSpec, ViewInfo } from '../reliability/protocol.js';
import type { NetnsHost, NetnsLab } from './netns.js';
import { seededRandom } from '../../src/testing/prng.js';

export const FAULT_KINDS = ['kill', 'pause', 'restart', 'partition', 'split'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
/** What the cluster is expected to survive; `split` is opt-in (no merge after a split brain). */
export const DEFAULT_FAULTS: readonly FaultKind[] = ['kill', 'pause', 'restart', 'partition'];
/** Faults that need the namespaces. */
export const NETWORK_FAULTS: readonly FaultKind[] = ['partition', 'split'];

export const PARTITION_MODES = ['symmetric', 'asymmetric', 'isolate', 'ring'] as const;
export type PartitionMode = (typeof PARTITION_MODES)[number];

export interface ChaosOptions {
  readonly seed: number;
  /** Data members at the start (kills and restarts replace theirs). */
  readonly members: number;
  /** Lite load processes (1 or more). */
  readonly loads: number;
  readonly rounds: number;
  readonly faults: readonly FaultKind[];
  readonly basePort: number;
  /** Namespaces to place every process in; null: loopback, and no network fault. */
  readonly lab: NetnsLab | null;
  /** Member settings over the harness defaults (failure detector, backups). */
  readonly spec?: Partial<MemberSpec>;
  /** Inclusive bounds of a pause, ms. */
  readonly pauseMs: readonly [number, number];
  /** Inclusive bounds of a symmetric, isolate or ring partition, ms (shorter than the detector). */
  readonly partitionMs: readonly [number, number];
  /**
   * Inclusive bounds of an asymmetric partition, ms. Shorter: the side that may still send sees
   * its segments go unacknowledged (the acknowledgements are what is cut), so TCP backs its
   * retransmissions off exponentially and the silence outlasts the cut, by up to about the cut
   * again plus one retransmission timeout (≥ 200 ms on Linux).
   */
  readonly asymmetricMs: readonly [number, number];
  readonly counters: number;
  /** Bound of each wait for convergence after a fault. */
  readonly convergeTimeoutMs: number;
  readonly log: (line: string) => void;
}

export interface ChaosResult {
  readonly violations: Violation[];
  /** Faults injected, by kind (`partition.ring`, …). */
  readonly faults: Record<string, number>;
  readonly acked: number;
  readonly indeterminate: number;
  readonly failed: number;
  /** Error messages the load saw, with counts (the most frequent first, at most 8). */
  readonly errors: [string, number][];
  /** The cluster converged after every fault. */
  readonly converged: boolean;
}


/** Lets a fault last: a pause or a partition is a duration, not a wait for a condition. */
const hold = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export async function runChaos(o: ChaosOptions): Promise<ChaosResult> {
  for (const kind of o.faults) {
    if (o.lab === null && NETWORK_FAULTS.includes(kind)) throw new Error(`fault '${kind}' needs network namespaces`);
  }
  const random = seededRandom(o.seed);
  const between = (min: number, max: number): number => min + Math.floor(random() * (max - min + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  const shuffle = <T>(xs: readonly T[]): T[] => {
    const out = [...xs];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  };

  // Partitions are what process faults cannot produce: half of the rounds when both are asked for.
  const weight = (k: FaultKind): number => (k === 'partition' ? 3 : 1);
  const pickWeighted = (kinds: readonly FaultKind[]): FaultKind => {
    let r = random() * kinds.reduce((a, k) => a + weight(k), 0);
    for (const k of kinds) {
      r -= weight(k);
      if (r < 0) return k;
    }
    return kinds[kinds.length - 1];
  };

  const h = new Harness(o.basePort, { backupCount: 1, antiEntropyIntervalMs: 1000, backupAckTimeoutMs: 2000, ...o.spec });
  const heartbeatMs = h.defaults.heartbeatIntervalMs ?? DEFAULT_SPEC.heartbeatIntervalMs;
  const detectorMs = h.defaults.maxNoHeartbeatMs ?? DEFAULT_SPEC.maxNoHeartbeatMs;
  const lab = o.lab;
  const faults: Record<string, number> = {};
  const count = (kind: string): void => {
    faults[kind] = (faults[kind] ?? 0) + 1;
  };
  const violations: Violation[] = [];
  let converged = true;

  // Ctrl-C or a kill of the run: no member process or namespace may outlive it.
  const interrupted = (signal: NodeJS.Signals): void => {
    for (const m of h.members) m.signal('SIGKILL');
    lab?.disposeSync();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);

  /** Starts a member, in a namespace of its own when there is a lab. */
  const start = async (options: SpawnOptions = {}): Promise<MemberProcess> => {
    if (lab === null) return h.start(options);
    const host = await lab.addHost();
    return h.start({ ...options, host: host.ip, launcher: lab.launcher(host) });
  };
  const hostOf = (m: MemberProcess): NetnsHost => {
    const host = lab?.hostOf(m.address);
    if (host === undefined) throw new Error(`${m.name} (${m.address}) has no namespace`);
    return host;
  };

  /** The lite load processes (started after the data members). */
  const loads: MemberProcess[] = [];
  const ackedPerCounter = async (): Promise<number[]> => addTallies(await Promise.all(loads.map((l) => l.call('loadTally', {}, 10_000)))).acked;

  /**
   * Waits for convergence: every member sees every live member and is cluster-safe, and then the
   * load flows again everywhere (every counter got another acknowledged increment, so no owner or
   * backup is still out of reach, e.g. behind a connection waiting for TCP's next retransmission).
   * When that does not come within the bound, records a liveness violation and says so.
   */
  const settle = async (after: string): Promise<boolean> => {
    try {
      await h.waitClusterSafe(o.convergeTimeoutMs);
    } catch {
      // The wait's own message lists every state in full; this is the short form.
      const states = await Promise.all(h.live.map((m) => m.call('state', {}, 10_000).then((s) => `${s.name} sees ${s.members}${s.safe ? '' : ' (not safe)'}`, (e: unknown) => `${m.name}: ${message(e).split('\n')[0]}`)));
      violations.push({ checker: 'liveness', message: `no convergence within ${o.convergeTimeoutMs} ms after ${after}: ${h.live.length} live processes; ${states.join(', ')}` });
      converged = false;
      return false;
    }
    let before: number[] = [];
    let last: number[] = [];
    try {
      before = await ackedPerCounter();
      await waitUntil(
        async () => {
          last = await ackedPerCounter();
          return last.every((n, k) => n > before[k]);
        },
        { timeoutMs: o.convergeTimeoutMs, intervalMs: 100, what: () => `every counter to get an acknowledged increment after ${after}` },
      );
      return true;
    } catch (error) {
      const stuck = last.flatMap((n, k) => (n > (before[k] ?? n) ? [] : [k]));
      violations.push({ checker: 'liveness', message: `the load did not flow again within ${o.convergeTimeoutMs} ms after ${after}: counters ${stuck.join(',')} got no acknowledged increment (${message(error).split('\n')[0].slice(0, 200)})` });
      converged = false;
      return false;
    }
  };

  /** Cuts traffic between members as `mode` says, holds it for `ms`, heals; describes what it did. */
  const partition = async (mode: PartitionMode, ms: number): Promise<string> => {
    if (lab === null) throw new Error('partition without namespaces');
    const everyone = shuffle(h.live);
    const pairs: [NetnsHost, NetnsHost][] = [];
    const apart = (a: MemberProcess, b: MemberProcess): void => {
      pairs.push([hostOf(a), hostOf(b)], [hostOf(b), hostOf(a)]);
    };
    let detail: string;
    if (mode === 'isolate') {
      const lonely = pick(h.liveData);
      for (const m of everyone) if (m !== lonely) apart(lonely, m);
      detail = `isolate ${lonely.name}`;
    } else if (mode === 'ring') {
      // As the simulator's nemesis: a member reaches the ones within `reach` steps on the ring.
      const n = everyone.length;
      const half = Math.floor(n / 2);
      const reach = Math.floor(half / 2) + (half % 2);
      for (let i = 0; i < n; i++) {
        for (let j = i + 1; j < n; j++) if (Math.min(j - i, n - (j - i)) > reach) apart(everyone[i], everyone[j]);
      }
      detail = `ring ${everyone.map((m) => m.name).join('-')}`;
    } else {
      const at = 1 + Math.floor(random() * (everyone.length - 1));
      const a = everyone.slice(0, at);
      const b = everyone.slice(at);
      for (const x of a) {
        for (const y of b) {
          if (mode === 'symmetric') apart(x, y);
          else pairs.push([hostOf(y), hostOf(x)]);
        }
      }
      detail = `${mode} ${a.map((m) => m.name).join(',')} | ${b.map((m) => m.name).join(',')}${mode === 'asymmetric' ? ' (the second group cannot send to the first)' : ''}`;
    }
    try {
      await lab.cut(pairs);
      await hold(ms);
    } finally {
      await lab.healAll(); // also when a cut failed half-way: no cut outlives its partition
    }
    return `${detail} for ${ms} ms (${pairs.length} one-way cuts), healed`;
  };

  const out: { result?: ChaosResult } = {};
  const started = Date.now();
  try {
    await h.run(async () => {
      for (let i = 0; i < o.members; i++) await start();
      // The second load busy-polls (invocation.busyPollUs) so that path also runs under the faults.
      for (let i = 0; i < o.loads; i++) loads.push(await start({ lite: true, name: `load-${String.fromCharCode(97 + i)}`, busyPollUs: i === 1 ? 200 : 0 }));
      if (lab !== null) o.log(`chaos: namespaces ${lab.base}-*: ${h.live.map((m) => `${m.name} ${hostOf(m).ip}`).join(', ')}`);
      const names = counterNames('chaos', o.counters);
      for (const l of loads) await l.call('prepare', { names });
      await h.waitClusterSafe(30_000);
      for (const l of loads) await l.call('startLoad', { names, concurrency: 4 });
      // The first fault hits a load that is flowing everywhere.
      if (!(await settle('the start'))) throw new Error(`the cluster did not settle before the first fault: ${violations.map((v) => v.message).join('; ')}`);

      for (let round = 1; round <= o.rounds && o.faults.length > 0; round++) {
        const kind = pickWeighted(o.faults);
        let what: string;
        if (kind === 'pause') {
          const victim = pick(h.liveData);
          const ms = between(o.pauseMs[0], o.pauseMs[1]);
          count('pause');
          victim.signal('SIGSTOP');
          await hold(ms);
          victim.signal('SIGCONT');
          what = `paused ${victim.name} for ${ms} ms`;
        } else if (kind === 'kill' || kind === 'restart') {
          const victim = pick(h.liveData);
          count(kind);
          if (kind === 'kill') await victim.kill();
          else await victim.terminateGracefully(30_000);
          if (!(await settle(`${kind} of ${victim.name}`))) {
            o.log(`chaos: round ${round}: ${kind} of ${victim.name}: no convergence`);
            break;
          }
          const fresh = await start();
          what = `${kind === 'kill' ? 'SIGKILLed' : 'restarted'} ${victim.name}, replaced by ${fresh.name}`;
        } else if (kind === 'partition') {
          const modes = h.live.length >= 4 ? PARTITION_MODES : PARTITION_MODES.filter((m) => m !== 'ring');
          const mode = pick(modes);
          count(`partition.${mode}`);
          const [min, max] = mode === 'asymmetric' ? o.asymmetricMs : o.partitionMs;
          what = `partition.${mode} ${await partition(mode, between(min, max))}`;
        } else {
          // As the simulator's `split`: between the detector plus two heartbeats and three detectors.
          count('split');
          what = `split ${await partition('isolate', between(detectorMs + 2 * heartbeatMs, 3 * detectorMs))}`;
        }
        const ok = await settle(what);
        // Progress of the load, so a run shows whether increments keep being acknowledged.
        const progress = await Promise.all(loads.map((l) => l.call('loadProgress', {}, 10_000)));
        o.log(`chaos: round ${round}: ${what}; ${sum(progress.map((p) => p.acked))} acknowledged so far`);
        if (!ok) break;
      }

      // Faults over: no cut may stay (each partition healed itself; this is the guarantee).
      await lab?.healAll();
      if (converged) await settle('the last fault');

      // membershipAgrees over what every live process sees; its table check needs no replica
      // bookkeeping, which the stubs below stand in for.
      const views = new Map<MemberProcess, MemberView>();
      for (const m of h.live) {
        try {
          const v: ViewInfo = await m.call('view', {}, 30_000);
          views.set(m, { ...v, clusterSafe: v.safe, pendingInvocations: 0, replicaVersion: () => 0, replicaDirty: () => false });
        } catch (error) {
          violations.push({ checker: 'liveness', message: `${m.name} did not answer 'view': ${message(error).split('\n')[0]}` });
        }
      }
      const dead = h.members.filter((m) => !m.running).flatMap((m) => {
        try {
          return [m.uuid];
        } catch {
          return []; // never joined
        }
      });
      violations.push(...membershipAgrees([...views.values()], dead));

      const tallies: IncTally[] = await Promise.all(loads.map((l) => l.call('stopLoad', {}, 90_000)));
      const total = addTallies(tallies);
      // Converged, every load process reads the same. If sides did not merge, read through the
      // load process in the largest cluster: what the majority kept is what a client would see.
      const reader = [...loads].sort((a, b) => (views.get(b)?.memberUuids.length ?? 0) - (views.get(a)?.memberUuids.length ?? 0))[0];
      try {
        const values = await reader.call('get', { names }, 60_000);
        const calls: CounterCallRecord[] = [];
        names.forEach((n, k) => {
          for (let i = 0; i < total.acked[k]; i++) calls.push({ counter: n, amount: 1, outcome: 'ok' });
          for (let i = 0; i < total.indeterminate[k]; i++) calls.push({ counter: n, amount: 1, outcome: 'indeterminate' });
        });
        violations.push(...counterWithinAckedRange(calls, new Map(names.map((n, k) => [n, values[k]]))));
      } catch (error) {
        violations.push({ checker: 'liveness', message: `the counters could not be read through ${reader.name}: ${message(error).split('\n')[0]}` });
      }

      if (violations.length > 0) {
        // What each process printed, for whoever digs into the violation.
        const dir = join(tmpdir(), `shoal-chaos-${o.seed}-${process.pid}`);
        mkdirSync(dir, { recursive: true });
        for (const m of h.members) writeFileSync(join(dir, `${m.name}.log`), `${m.lines.join('\n')}\n`);
        o.log(`chaos: process output in ${dir}`);
      }

      const errors = new Map<string, number>();
      for (const t of tallies) for (const [e, c] of Object.entries(t.errors)) errors.set(e, (errors.get(e) ?? 0) + c);
      out.result = {
        violations,
        faults,
        acked: sum(total.acked),
        indeterminate: sum(total.indeterminate),
        failed: sum(total.failed),
        errors: [...errors].sort((x, y) => y[1] - x[1]).slice(0, 8),
        converged,
      };
    });
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    await h.cleanup();
    o.log(`chaos: ran ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  if (out.result === undefined) throw new Error('the scenario ended without a result');
  return out.result;
}
