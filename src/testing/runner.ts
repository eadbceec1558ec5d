/**
 * Runs many seeds (in child processes when asked: one event loop per job, each simulation still
 * single-threaded and deterministic) and sums them up; shared by the command line and the tests.
 */
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Violation } from './checkers/types.js';
import { emptyNamedStats, type NamedStats } from './named-app.js';
import type { SimOverrides } from './options.js';
import { runSeed, type SeedResult } from './run-seed.js';

/** What a seed run reports back (compact, so it can cross a worker boundary). */
export interface SeedSummary {
  readonly seed: number;
  readonly violations: readonly Violation[];
  readonly violationCount: number;
  readonly events: number;
  readonly virtualMs: number;
  readonly wallMs: number;
  readonly faults: Readonly<Record<string, number>>;
  readonly traceHash: string;
  readonly converged: boolean;
  readonly calls: SeedResult['calls'];
  /** The last trace lines, for failing seeds only. */
  readonly trace: readonly string[];
  /** Named partitions' measurement (null: the seed ran none). */
  readonly named: NamedStats | null;
}

export interface BatchSummary {
  readonly seeds: number;
  readonly failing: readonly SeedSummary[];
  readonly events: number;
  readonly virtualMs: number;
  readonly wallMs: number;
  readonly faults: Record<string, number>;
  /** Violations kept per seed (the first ones), by checker. */
  readonly violationsByChecker: Record<string, number>;
  /** All violations found. */
  readonly violationCount: number;
  readonly unsettled: number;
  readonly calls: { ok: number; failed: number; indeterminate: number; pending: number };
  readonly seedsPerMinute: number;
  /** Named partitions' measurement summed over the seeds that ran them (null: none did). */
  readonly named: NamedStats | null;
}

export interface BatchOptions {
  /** First seed; seeds run are first, first+1, … */
  readonly first: number;
  readonly count: number;
  readonly overrides?: SimOverrides;
  /** Child processes running seeds in parallel (default 1: run here). */
  readonly jobs?: number;
  /** Called as each seed finishes (in completion order). */
  readonly onSeed?: (s: SeedSummary) => void;
}

export function summarise(result: SeedResult, traceLines = 60): SeedSummary {
  const failing = result.violations.length > 0;
  return {
    seed: result.seed,
    violations: result.violations,
    violationCount: result.violationCount,
    events: result.events,
    virtualMs: result.virtualMs,
    wallMs: result.wallMs,
    faults: result.faults,
    traceHash: result.traceHash,
    converged: result.converged,
    calls: result.calls,
    trace: failing ? result.trace.slice(-traceLines) : [],
    named: result.named,
  };
}

export function defaultJobs(): number {
  return Math.max(1, Math.min(availableParallelism(), 8));
}

export async function runBatch(options: BatchOptions): Promise<BatchSummary> {
  const started = performance.now();
  const jobs = Math.max(1, Math.min(options.jobs ?? 1, options.count));
  const results: SeedSummary[] = [];
  const collect = (s: SeedSummary): void => {
    results.push(s);
    options.onSeed?.(s);
  };
  if (jobs === 1) {
    for (let i = 0; i < options.count; i++) collect(summarise(await runSeed(options.first + i, options.overrides ?? {})));
  } else {
    await Promise.all(
      Array.from({ length: jobs }, (_, j) =>
        runWorker({ first: options.first + j, count: Math.ceil((options.count - j) / jobs), step: jobs, overrides: options.overrides ?? {} }, collect),
      ),
    );
  }
  results.sort((a, b) => a.seed - b.seed);
  const wallMs = performance.now() - started;
  const faults: Record<string, number> = {};
  const violationsByChecker: Record<string, number> = {};
  const calls = { ok: 0, failed: 0, indeterminate: 0, pending: 0 };
  let events = 0;
  let virtualMs = 0;
  let unsettled = 0;
  let violationCount = 0;
  let named: NamedStats | null = null;
  for (const r of results) {
    if (r.named !== null) {
      const sum: NamedStats = named ?? emptyNamedStats();
      for (const k of Object.keys(sum) as (keyof NamedStats)[]) sum[k] += r.named[k];
      named = sum;
    }
    violationCount += r.violationCount;
    events += r.events;
    virtualMs += r.virtualMs;
    if (!r.converged) unsettled++;
    for (const [k, v] of Object.entries(r.faults)) faults[k] = (faults[k] ?? 0) + v;
    for (const v of r.violations) violationsByChecker[v.checker] = (violationsByChecker[v.checker] ?? 0) + 1;
    for (const k of ['ok', 'failed', 'indeterminate', 'pending'] as const) calls[k] += r.calls[k];
  }
  return {
    seeds: results.length,
    failing: results.filter((r) => r.violations.length > 0),
    events,
    virtualMs,
    wallMs,
    faults: sortKeys(faults),
    violationsByChecker: sortKeys(violationsByChecker),
    violationCount,
    unsettled,
    calls,
    seedsPerMinute: results.length / Math.max(wallMs / 60_000, 1e-9),
    named,
  };
}

interface WorkerTask {
  readonly first: number;
  readonly count: number;
  readonly step: number;
  readonly overrides: SimOverrides;
}

function runWorker(task: WorkerTask, collect: (s: SeedSummary) => void): Promise<void> {
  if (task.count <= 0) return Promise.resolve();
  const file = fileURLToPath(new URL(`./sim-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));
  return new Promise<void>((resolve, reject) => {
    // The child runs with this process's flags (under tsx: its TypeScript loader).
    const child = fork(file, [JSON.stringify(task)], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.on('message', (message) => collect(message as SeedSummary));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`simulator worker exited with code ${code}`))));
  });
}

function sortKeys(record: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(record).sort()) out[k] = record[k];
  return out;
}
