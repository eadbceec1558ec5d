/**
 * Same seed, same code ⇒ same run, frame for frame: the trace hash (every fault, call, outcome,
 * table change and frame's bytes, with virtual times) must not change between runs, in this
 * process or in a fresh one.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { Prng, runSeed, Scheduler, SimProcess } from '../../src/testing/index.js';

const run = promisify(execFile);
const fixture = fileURLToPath(new URL('./fixtures/seed-hash.ts', import.meta.url));

test('the same seed gives the same trace hash, twice in one process', async () => {
  for (const seed of [1, 2, 3]) {
    const a = await runSeed(seed, { durationMs: 4000 });
    const b = await runSeed(seed, { durationMs: 4000 });
    assert.equal(a.traceHash, b.traceHash, `seed ${seed}`);
    assert.equal(a.events, b.events);
    assert.ok(a.events > 500, `seed ${seed} ran only ${a.events} events`);
  }
});

test('the same seed gives the same trace hash in fresh processes', async () => {
  const here = await runSeed(7, { durationMs: 4000 });
  const args = ['--import', 'tsx', fixture, '7'];
  const [first, second] = await Promise.all([run(process.execPath, args), run(process.execPath, args)]);
  const expected = `${here.traceHash} ${here.events}`;
  assert.equal(first.stdout.trim(), expected);
  assert.equal(second.stdout.trim(), expected);
});

test('different seeds give different runs', async () => {
  const a = await runSeed(11, { durationMs: 3000 });
  const b = await runSeed(12, { durationMs: 3000 });
  assert.notEqual(a.traceHash, b.traceHash);
});

test('a named random stream is fixed by (seed, name) and independent of the others', () => {
  const draw = (p: Prng): number[] => Array.from({ length: 8 }, () => p.u32());
  assert.deepEqual(draw(new Prng(42, 'network')), draw(new Prng(42, 'network')));
  assert.notDeepEqual(draw(new Prng(42, 'network')), draw(new Prng(42, 'faults')));
  assert.notDeepEqual(draw(new Prng(42, 'network')), draw(new Prng(43, 'network')));
  const p = new Prng(Number.MAX_SAFE_INTEGER, 'x');
  for (let i = 0; i < 1000; i++) {
    const x = p.next();
    assert.ok(x >= 0 && x < 1);
    const k = p.int(7);
    assert.ok(Number.isInteger(k) && k >= 0 && k < 7);
  }
  assert.match(new Prng(1).uuid(), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.throws(() => new Prng(-1), RangeError);
});

test('virtual time runs timers in (time, arming order), holds a paused process, drops a dead one', () => {
  const s = new Scheduler();
  const a = new SimProcess('a', s, new Prng(1));
  const b = new SimProcess('b', s, new Prng(2));
  const seen: string[] = [];
  a.runtime.timers.after(10, () => seen.push(`a10@${s.now}`));
  b.runtime.timers.after(10, () => seen.push(`b10@${s.now}`));
  a.runtime.timers.defer(() => seen.push(`a0@${s.now}`));
  const every = b.runtime.timers.every(4, () => seen.push(`b-every@${s.now}`));
  a.pause();
  while (s.runNext(11));
  assert.deepEqual(seen, ['b-every@4', 'b-every@8', 'b10@10']);
  b.runtime.timers.clear(every);
  a.resume(); // what came due while paused runs now, late, in the order it came due
  b.kill();
  b.runtime.timers.after(1, () => seen.push('never'));
  while (s.runNext(100));
  assert.deepEqual(seen.slice(3), ['a0@10', 'a10@10']);
  assert.equal(s.now, 11);
});
