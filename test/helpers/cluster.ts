/**
 * Cluster-level helpers on top of processes.ts: the load process (test/fixtures/cli/load-member.ts),
 * its result and the exact values it must report, member lists parsed from the engine's log, and
 * deadlines derived from the test config rather than guessed.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { SAFE_MESSAGE } from '../../src/cli/safety.js';
import { loadConfig } from '../../src/config/index.js';
import {
  CLI_FIXTURES,
  MEMBER_ENV,
  membersSize,
  type LogEntry,
  type LogRecord,
  type ManagedProcess,
  type ProcessRegistry,
} from './processes.js';

export const LOAD_MEMBER = join(CLI_FIXTURES, 'load-member.ts');
export const CLI_CONFIG = join(CLI_FIXTURES, 'shoal.xml');

/** Timing settings of the test config, read from the file the members use. */
export interface TestTimings {
  readonly heartbeatIntervalMs: number;
  readonly maxNoHeartbeatMs: number;
  readonly joinTimeoutMs: number;
}

export async function testTimings(configFile: string = CLI_CONFIG): Promise<TestTimings> {
  const config = await loadConfig(configFile);
  return {
    heartbeatIntervalMs: config.failureDetector.heartbeatIntervalMs,
    maxNoHeartbeatMs: config.failureDetector.maxNoHeartbeatMs,
    joinTimeoutMs: config.network.join.joinTimeoutMs,
  };
}

/**
 * Scheduling allowance on top of protocol times: process start-up under tsx, a loaded 2-CPU CI
 * machine, log lines crossing a pipe. It bounds waits; it never replaces one.
 */
export const SCHEDULING_SLACK_MS = 2500;

/**
 * The latest a SIGKILLed member may still be listed by the survivors: it is suspected after
 * `maxNoHeartbeatMs` without a heartbeat, which the failure detector checks on its tick (at most a
 * quarter heartbeat interval) and which can start counting up to one heartbeat interval before the
 * kill; the master then publishes the new list, which takes one more message.
 */
export function detectionDeadlineMs(t: TestTimings): number {
  return t.maxNoHeartbeatMs + 2 * t.heartbeatIntervalMs + SCHEDULING_SLACK_MS;
}

export interface LoadResult {
  readonly address: string;
  readonly members: number;
  readonly initial: Readonly<Record<string, number>>;
  readonly returns: Readonly<Record<string, readonly number[]>>;
  readonly final: Readonly<Record<string, number>>;
}

export interface LoadSpec {
  readonly name: string;
  readonly port: number;
  /** Seed addresses (the members to join). */
  readonly members: readonly string[];
  readonly counters: number;
  readonly rounds: number;
  readonly prefix?: string;
}

export function spawnLoad(registry: ProcessRegistry, spec: LoadSpec): ManagedProcess {
  const args = [
    '--import',
    'tsx',
    LOAD_MEMBER,
    '--config',
    CLI_CONFIG,
    '--port',
    String(spec.port),
    '--members',
    spec.members.join(','),
    '--name',
    spec.name,
    '--counters',
    String(spec.counters),
    '--rounds',
    String(spec.rounds),
    '--prefix',
    spec.prefix ?? 'counter',
    '--log-level',
    'info',
  ];
  return registry.spawn({ name: spec.name, args, env: MEMBER_ENV });
}

const RESULT_LINE = /^LOAD_RESULT (\{.*\})$/;

/** Runs a load process to completion (exit 0 within `timeoutMs`) and returns its result. */
export async function runLoad(registry: ProcessRegistry, spec: LoadSpec, timeoutMs: number): Promise<LoadResult> {
  const p = spawnLoad(registry, spec);
  const exit = await p.waitForExit(timeoutMs);
  assert.deepEqual(exit, { code: 0, signal: null }, `${spec.name} failed\n${p.tail()}`);
  const line = p.lines.find((l) => l.stream === 'stdout' && RESULT_LINE.test(l.text));
  assert.ok(line !== undefined, `${spec.name} printed no LOAD_RESULT line\n${p.tail()}`);
  return JSON.parse(RESULT_LINE.exec(line.text)![1]) as LoadResult;
}

/** Counter names of a load spec, in order. */
export function counterNames(spec: Pick<LoadSpec, 'counters' | 'prefix'>): string[] {
  return Array.from({ length: spec.counters }, (_, i) => `${spec.prefix ?? 'counter'}-${i}`);
}

/**
 * Asserts the exact values a load run must report: counter i, starting from `initial[name]`,
 * returns initial + k·(i+1) after its k-th increment, and reads back initial + rounds·(i+1).
 */
export function assertExactLoad(result: LoadResult, spec: LoadSpec, initial: Readonly<Record<string, number>>): void {
  const names = counterNames(spec);
  const expectedInitial = Object.fromEntries(names.map((n) => [n, initial[n] ?? 0]));
  assert.deepEqual(result.initial, expectedInitial, 'values before the load');
  const expectedReturns = Object.fromEntries(
    names.map((n, i) => [n, Array.from({ length: spec.rounds }, (_, k) => expectedInitial[n] + (k + 1) * (i + 1))]),
  );
  assert.deepEqual(result.returns, expectedReturns, 'values returned by inc');
  const expectedFinal = Object.fromEntries(names.map((n, i) => [n, expectedInitial[n] + spec.rounds * (i + 1)]));
  assert.deepEqual(result.final, expectedFinal, 'values read back after the load');
}

/** `host:port` of each member in an engine `Members {size:…}` record, oldest (the master) first. */
export function membersOf(record: LogRecord): string[] {
  if (membersSize(record) === null) throw new Error(`not a member-list record: ${record.msg}`);
  const out: string[] = [];
  for (const m of record.msg.matchAll(/^\tMember \[([^\]]+)\]:(\d+) - /gm)) out.push(`${m[1]}:${m[2]}`);
  return out;
}

/** The latest member-list record a process logged, or undefined. */
export function lastMembersRecord(p: ManagedProcess): LogRecord | undefined {
  const records = p.logs().filter((r) => membersSize(r) !== null);
  return records[records.length - 1];
}

/**
 * Waits for the CLI's `cluster safe` line (src/cli/safety.ts) at or after line `since`: this member
 * sees no migration and no replica sync pending.
 */
export function waitSafe(p: ManagedProcess, since: number, timeoutMs: number): Promise<LogEntry> {
  return p.waitForLog((r) => r.msg === SAFE_MESSAGE, 'a "cluster safe" log record', { since, timeoutMs });
}
