/**
 * Checks what members read from a map against the model a map load kept (MapLoadResult): every
 * key holds one of the states it may hold (exactly its last acknowledged state when no call on it
 * ended unanswered after that), size/keys/entries agree with get/containsKey and with the model,
 * and every member reads the same.
 */
import type { MemberProcess } from './harness.js';
import type { MapKeyOutcome, MapLoadResult, MapReadResult } from './protocol.js';

export interface MapCheck {
  /** Keys whose state the model knows exactly (no unanswered call after the last answered one). */
  readonly exact: number;
  /** Keys that may hold one of several states. */
  readonly uncertain: number;
  /** Uncertain keys that hold what their last unanswered call wrote (the call survived). */
  readonly uncertainApplied: number;
  /** Keys present at the end. */
  readonly present: number;
  readonly presentKeys: string[];
  /** Mismatches, at most 30 (empty: the members agree with the model). */
  readonly problems: string[];
}

const PROBLEMS_MAX = 30;

/** Compares one member's read of the map with the model. */
function checkRead(who: string, read: MapReadResult, model: readonly MapKeyOutcome[], problems: string[]): void {
  const add = (text: string): void => {
    if (problems.length < PROBLEMS_MAX) problems.push(`${who}: ${text}`);
  };
  const entries = new Map<string, string>();
  for (const [k, v] of read.entries) {
    if (entries.has(k)) add(`entries() lists ${k} twice`);
    entries.set(k, v);
  }
  const known = new Set(model.map((m) => m.key));
  for (const k of entries.keys()) if (!known.has(k)) add(`entries() lists ${k}, a key the load never wrote`);
  model.forEach((m, i) => {
    const value = read.values[i];
    if (!m.possible.includes(value)) add(`get(${m.key}) = ${JSON.stringify(value)}; it may hold only ${JSON.stringify(m.possible)} (${m.acked} acknowledged, ${m.indeterminate} indeterminate, ${m.failed} failed calls)`);
    if (read.contains[i] !== (value !== null)) add(`containsKey(${m.key}) = ${read.contains[i]} but get = ${JSON.stringify(value)}`);
    const listed = entries.get(m.key) ?? null;
    if (listed !== value) add(`entries() has ${m.key} = ${JSON.stringify(listed)} but get = ${JSON.stringify(value)}`);
  });
  const keys = [...read.keys].sort();
  const entryKeys = [...entries.keys()].sort();
  if (keys.length !== entryKeys.length || keys.some((k, i) => k !== entryKeys[i])) add(`keys() (${keys.length}) and entries() (${entryKeys.length}) list different keys`);
  if (read.size !== entries.size) add(`size() = ${read.size} but entries() has ${entries.size}`);
}

/**
 * Reads the map through every member given and checks each read against the model and against
 * the first member's read.
 */
export async function checkMapEverywhere(members: readonly MemberProcess[], map: string, result: MapLoadResult): Promise<MapCheck> {
  const keys = result.keys.map((k) => k.key);
  const reads = await Promise.all(members.map((m) => m.call('mapRead', { map, keys }, 60_000)));
  const problems: string[] = [];
  reads.forEach((read, i) => checkRead(members[i].name, read, result.keys, problems));
  const first = JSON.stringify(reads[0].values);
  reads.forEach((read, i) => {
    if (JSON.stringify(read.values) !== first && problems.length < PROBLEMS_MAX) problems.push(`${members[i].name} reads other values than ${members[0].name}`);
  });
  const exact = result.keys.filter((k) => k.possible.length === 1).length;
  const presentKeys = keys.filter((_, i) => reads[0].values[i] !== null);
  const uncertainApplied = result.keys.filter((k, i) => k.possible.length > 1 && reads[0].values[i] === k.possible[k.possible.length - 1]).length;
  return { exact, uncertain: result.keys.length - exact, uncertainApplied, present: presentKeys.length, presentKeys, problems };
}

/** `count` keys `<prefix>-<i>`. */
export function mapKeys(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
}

/** One line about a map load's outcome, for the test log. */
export function describeLoad(r: MapLoadResult): string {
  return `${r.acked} acknowledged (${r.puts} puts, ${r.removes} removes, ${r.gets} gets), ${r.indeterminate} indeterminate, ${r.failed} failed`;
}
