/**
 * `npm run sim -- --seeds N [--seed S] [--members M] [--faults LIST] [--mode safety|liveness]`
 *
 * Runs seeds S, S+1, …, S+N-1 of the built-in scenario (the simulator's counter under faults),
 * prints the options (all of them for a single seed), one line per failing seed with the command
 * that replays it, and a summary. Exits 1 when any seed broke an invariant.
 */
import { randomInt } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { LoggingLevel } from '../config/types.js';
import { BEYOND_CONTRACT_FAULTS, DEFAULT_FAULTS, FAULT_KINDS, BUG_NAMES, deriveOptions, describeOptions, parseBugs, parseFaults, type SimMode, type SimOverrides } from './options.js';
import { SEED_MAX, checkSeed } from './prng.js';
import { runSeed } from './run-seed.js';
import { defaultJobs, runBatch, type SeedSummary } from './runner.js';
import { formatTime } from './trace.js';

const USAGE = `usage: npm run sim -- [--seeds N] [--seed S] [options]

  --seeds N        how many seeds to run (default 1 with --seed, else 100)
  --seed S         first seed (default: a random one, printed)
  --members M      members at the start (default: drawn per seed, 2..5)
  --faults LIST    fault kinds, comma-separated (default: ${DEFAULT_FAULTS.join(',')});
                   also ${BEYOND_CONTRACT_FAULTS.join(',')} (beyond what Shoal claims to survive),
                   'default', 'all' or 'none'
  --swarm          with --faults: each seed uses a random subset of the kinds listed
                   (without --faults, seeds always draw a subset of the defaults)
  --mode MODE      liveness (default: the cluster must converge after the heal) or safety
  --duration MS    length of the fault phase, virtual ms (default: drawn per seed, 10..25 s)
  --partitions P   partition count (default: drawn per seed)
  --backups B      synchronous backups (default: drawn per seed, 0..2)
  --named N        define N named partitions (ActiveSpaces model: active node, ordered
                   sync/async replicas, drawn per seed) and map some counters onto them
  --keyed-ops on|off  counter operations declare their counter as ordering key (a write
                   waiting for backups holds its key, not its partition); default: per seed
  --bugs LIST      switch on deliberate bugs: ${BUG_NAMES.join(', ')}
  --jobs J         processes running seeds in parallel (default: CPUs, at most 8)
  --trace          print the whole trace of a single seed (last lines of failing ones otherwise)
  --log LEVEL      engine log level for a single seed (stderr, stamped with virtual time)
  --record DIR     write a JSON file per failing seed into DIR (the regression folder)
  --quiet          only failing seeds and the summary
`;

interface Flags {
  overrides: SimOverrides;
  /** The flags that shape a seed's options, as given (for the replay command). */
  replayFlags: string[];
  first: number;
  count: number;
  jobs: number;
  trace: boolean;
  log: LoggingLevel;
  record: string | null;
  quiet: boolean;
  randomStart: boolean;
}

function parseFlags(argv: string[]): Flags {
  const { values } = parseArgs({
    args: argv,
    options: {
      seeds: { type: 'string' },
      seed: { type: 'string' },
      members: { type: 'string' },
      faults: { type: 'string' },
      swarm: { type: 'boolean' },
      mode: { type: 'string' },
      duration: { type: 'string' },
      partitions: { type: 'string' },
      backups: { type: 'string' },
      named: { type: 'string' },
      'keyed-ops': { type: 'string' },
      bugs: { type: 'string' },
      jobs: { type: 'string' },
      trace: { type: 'boolean' },
      log: { type: 'string' },
      record: { type: 'string' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help === true) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const int = (name: string, text: string | undefined, min: number, max: number): number | undefined => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new RangeError(`--${name} must be an integer in ${min}..${max}, got '${text}'`);
    return n;
  };
  const replayFlags: string[] = [];
  const overrides: { -readonly [K in keyof SimOverrides]: SimOverrides[K] } = {};
  const members = int('members', values.members, 1, 20);
  if (members !== undefined) {
    overrides.members = members;
    replayFlags.push(`--members ${members}`);
  }
  if (values.faults !== undefined) {
    overrides.faults = parseFaults(values.faults);
    replayFlags.push(`--faults ${overrides.faults.join(',') || 'none'}`);
  }
  if (values.swarm === true) {
    overrides.swarm = true;
    replayFlags.push('--swarm');
  }
  if (values.mode !== undefined) {
    if (values.mode !== 'safety' && values.mode !== 'liveness') throw new RangeError(`--mode must be safety or liveness, got '${values.mode}'`);
    overrides.mode = values.mode as SimMode;
    replayFlags.push(`--mode ${values.mode}`);
  }
  const duration = int('duration', values.duration, 1000, 3_600_000);
  if (duration !== undefined) {
    overrides.durationMs = duration;
    replayFlags.push(`--duration ${duration}`);
  }
  const partitions = int('partitions', values.partitions, 1, 65535);
  if (partitions !== undefined) {
    overrides.partitionCount = partitions;
    replayFlags.push(`--partitions ${partitions}`);
  }
  const backups = int('backups', values.backups, 0, 6);
  if (backups !== undefined) {
    overrides.syncBackups = backups;
    replayFlags.push(`--backups ${backups}`);
  }
  const named = int('named', values.named, 0, 64);
  if (named !== undefined && named > 0) {
    overrides.named = named;
    replayFlags.push(`--named ${named}`);
  }
  const keyed = values['keyed-ops'];
  if (keyed !== undefined) {
    if (keyed !== 'on' && keyed !== 'off') throw new RangeError(`--keyed-ops needs on or off, got '${keyed}'`);
    overrides.keyedOps = keyed === 'on';
    replayFlags.push(`--keyed-ops ${keyed}`);
  }
  if (values.bugs !== undefined) {
    overrides.bugs = parseBugs(values.bugs);
    replayFlags.push(`--bugs ${values.bugs}`);
  }
  const seed = int('seed', values.seed, 0, SEED_MAX);
  const count = int('seeds', values.seeds, 1, 100_000_000) ?? (seed !== undefined ? 1 : 100);
  const first = seed ?? randomInt(0, 2 ** 31);
  checkSeed(first + count - 1);
  const log = values.log ?? 'silent';
  if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(log)) throw new RangeError(`--log: unknown level '${log}'`);
  return {
    overrides,
    replayFlags,
    first,
    count,
    jobs: int('jobs', values.jobs, 1, 64) ?? defaultJobs(),
    trace: values.trace === true,
    log: log as LoggingLevel,
    record: values.record ?? null,
    quiet: values.quiet === true,
    randomStart: seed === undefined,
  };
}

function replayCommand(seed: number, flags: Flags): string {
  return ['npm run sim -- --seed', String(seed), ...flags.replayFlags].join(' ');
}

function printFailure(s: SeedSummary, flags: Flags): void {
  const first = s.violations[0];
  const more = s.violationCount > 1 ? ` (+${s.violationCount - 1} more)` : '';
  console.log(`FAIL seed ${s.seed}: ${first.checker}: ${first.message}${more}`);
  console.log(`     replay: ${replayCommand(s.seed, flags)}`);
}

/** Writes a regression file for a failing seed (the same shape test/simulation/regressions keeps). */
function record(dir: string, s: SeedSummary, flags: Flags): void {
  mkdirSync(dir, { recursive: true });
  const options = deriveOptions(s.seed, flags.overrides);
  const body = {
    seed: s.seed,
    replay: replayCommand(s.seed, flags),
    broke: s.violations.map((v) => `${v.checker}: ${v.message}`),
    fix: '',
    found: describeOptions(options).split('\n'),
    traceHash: s.traceHash,
    options,
  };
  writeFileSync(join(dir, `seed-${s.seed}.json`), `${JSON.stringify(body, null, 2)}\n`);
}

async function main(): Promise<number> {
  let flags: Flags;
  try {
    flags = parseFlags(process.argv.slice(2));
  } catch (error) {
    console.error(`sim: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  const last = flags.first + flags.count - 1;
  if (flags.count === 1) {
    // One seed: everything it drew, the run itself, its trace.
    const result = await runSeed(flags.first, flags.overrides, { keepTrace: flags.trace, logLevel: flags.log });
    console.log(describeOptions(result.options));
    if (flags.trace) console.log(result.trace.join('\n'));
    const failing = result.violations.length > 0;
    if (failing) {
      if (!flags.trace) {
        console.log('--- last trace lines ---');
        console.log(result.trace.slice(-60).join('\n'));
      }
      for (const v of result.violations) console.log(`VIOLATION ${v.checker}${v.at === undefined ? '' : ` at ${formatTime(v.at)}`}: ${v.message}`);
      if (result.violationCount > result.violations.length) console.log(`… and ${result.violationCount - result.violations.length} more`);
      console.log(`replay: ${replayCommand(flags.first, flags)}`);
    }
    if (flags.record !== null && failing) record(flags.record, { ...result, trace: [] }, flags);
    if (result.named !== null) console.log(`named: ${JSON.stringify(result.named)}`);
    console.log(
      `seed ${flags.first}: ${failing ? `${result.violationCount} violation(s)` : 'ok'}; ${result.events} events, ${formatTime(result.virtualMs)} virtual, ${Math.round(result.wallMs)} ms wall; converged=${result.converged}; calls ${JSON.stringify(result.calls)}; faults ${JSON.stringify(result.faults)}; trace ${result.traceHash}`,
    );
    return failing ? 1 : 0;
  }

  const faults = flags.overrides.faults ?? DEFAULT_FAULTS;
  console.log(
    `sim: seeds ${flags.first}..${last}${flags.randomStart ? ' (random start)' : ''}, ${flags.jobs} job(s); mode ${flags.overrides.mode ?? 'liveness'}; faults ${faults.join(',') || 'none'}${flags.overrides.faults === undefined || flags.overrides.swarm === true ? ' (a random subset per seed)' : ''}; ${flags.replayFlags.join(' ') || 'other options drawn per seed'}`,
  );
  if (!flags.quiet) console.log(`sim: options of one seed: npm run sim -- --seed ${flags.first} ${flags.replayFlags.join(' ')} (all kinds: ${FAULT_KINDS.join(',')})`);
  const summary = await runBatch({
    first: flags.first,
    count: flags.count,
    overrides: flags.overrides,
    jobs: flags.jobs,
    onSeed: (s) => {
      if (s.violations.length > 0) {
        printFailure(s, flags);
        if (flags.record !== null) record(flags.record, s, flags);
      }
    },
  });
  const violations = summary.violationCount;
  console.log(
    [
      `sim: ${summary.seeds} seeds, ${summary.failing.length} failing, ${violations} violation(s)${violations > 0 ? `; first ones by checker ${JSON.stringify(summary.violationsByChecker)}` : ''}`,
      `events ${summary.events}, virtual ${(summary.virtualMs / 3_600_000).toFixed(2)} h, calls ${JSON.stringify(summary.calls)}, unsettled ${summary.unsettled}`,
      `faults ${JSON.stringify(summary.faults)}`,
      ...(summary.named === null ? [] : [`named ${JSON.stringify(summary.named)}`]),
      `${summary.seedsPerMinute.toFixed(0)} seeds/min (${(summary.wallMs / 1000).toFixed(1)} s wall, ${flags.jobs} job(s))`,
    ].join('\nsim: '),
  );
  return summary.failing.length > 0 ? 1 : 0;
}

process.exitCode = await main();
