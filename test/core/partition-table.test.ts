/**
 * Planner properties over random membership sequences (fast-check): balance, no member twice in
 * a row, moves close to the minimum, and promotion never dropping a live replica.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { PartitionTable, REPLICA_COUNT_MAX, diffMigrations, planTarget, promoteSurvivors } from '../../src/core/partition-table.js';

function apply(table: PartitionTable, rows: (string | null)[][]): void {
  for (let p = 0; p < table.partitionCount; p++) table.setRow(p, rows[p]);
}

/**
 * Every replica slot is filled and owners are balanced; backups are balanced too unless the
 * partition count is too small for the arrangement (P < n·replicas, where a full set of replicas
 * takes precedence over exact balance).
 */
function checkBalanced(table: PartitionTable, members: string[]): void {
  const replicaCount = Math.min(members.length, REPLICA_COUNT_MAX);
  for (let r = 0; r < replicaCount; r++) {
    const counts = table.countsAt(r);
    const values = members.map((m) => counts.get(m) ?? 0);
    const strict = r === 0 || table.partitionCount >= members.length * replicaCount;
    if (strict) assert.ok(Math.max(...values) - Math.min(...values) <= 1, `replica ${r} unbalanced: ${values.join(',')}`);
    for (let p = 0; p < table.partitionCount; p++) assert.notEqual(table.replica(p, r), null, `partition ${p} replica ${r} empty`);
  }
  for (let p = 0; p < table.partitionCount; p++) {
    const row = table.row(p).filter((m) => m !== null);
    assert.equal(new Set(row).size, row.length, `partition ${p} lists a member twice`);
    for (const m of row) assert.ok(members.includes(m!), `partition ${p} placed on non-member ${m}`);
  }
}

/** A membership step: join of a new member, or leave of an existing one. */
const stepArb = fc.oneof(fc.constant<'join'>('join'), fc.nat({ max: 20 }).map((i) => ({ leave: i })));

describe('partition planner', () => {
  it('initial assignment is balanced, in contiguous runs per member', () => {
    const t = new PartitionTable(271);
    apply(t, planTarget(t, ['a', 'b']));
    checkBalanced(t, ['a', 'b']);
    assert.equal(t.owner(0), 'a');
    assert.equal(t.owner(135), 'a');
    assert.equal(t.owner(136), 'b');
    assert.equal(t.owner(270), 'b');
  });

  it('stays balanced over random join/leave sequences, whatever the partition count', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.array(stepArb, { minLength: 1, maxLength: 12 }), (P, steps) => {
        const t = new PartitionTable(P);
        let members = ['m0'];
        let next = 1;
        apply(t, planTarget(t, members));
        for (const step of steps) {
          if (step === 'join') members = [...members, `m${next++}`];
          else if (members.length > 1) members = members.filter((_, i) => i !== step.leave % members.length);
          const alive = new Set(members);
          for (const [p, row] of promoteSurvivors(t, alive)) t.setRow(p, row);
          apply(t, planTarget(t, members));
          checkBalanced(t, members);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('a join moves no more owners than the newcomer must receive (minimal moves)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 10, max: 400 }), fc.integer({ min: 1, max: 8 }), (P, n) => {
        const t = new PartitionTable(P);
        const members = Array.from({ length: n }, (_, i) => `m${i}`);
        apply(t, planTarget(t, members));
        const joined = [...members, 'new'];
        const target = planTarget(t, joined);
        const ownerMoves = diffMigrations(t, target).filter((m) => m.replicaIndex === 0);
        // The newcomer needs ⌊P/(n+1)⌋ or ⌈P/(n+1)⌉ owners; nobody else should change owner.
        assert.ok(ownerMoves.length <= Math.ceil(P / (n + 1)), `${ownerMoves.length} owner moves for P=${P} n=${n}`);
        for (const m of ownerMoves) assert.equal(m.destination, 'new');
      }),
      { numRuns: 200 },
    );
  });

  it('the target does not change while its own moves are carried out, in any order', () => {
    fc.assert(
      fc.property(fc.integer({ min: 20, max: 300 }), fc.integer({ min: 2, max: 5 }), fc.integer({ min: 1, max: 3 }), fc.integer(), (P, n, joins, seed) => {
        const t = new PartitionTable(P);
        const members = Array.from({ length: n }, (_, i) => `m${i}`);
        apply(t, planTarget(t, members));
        const all = [...members, ...Array.from({ length: joins }, (_, i) => `j${i}`)];
        const target = planTarget(t, all);
        const moves = diffMigrations(t, target).filter((m) => m.replicaIndex === 0);
        // Carry out the owner moves in a seed-shuffled order, re-planning after each one.
        let s = seed >>> 0;
        const order = moves.map((m) => ({ m, k: (s = (s * 1103515245 + 12345) >>> 0) })).sort((a, b) => a.k - b.k);
        for (const { m } of order) {
          const row = t.row(m.partitionId).slice();
          const old = row.indexOf(m.destination);
          row[0] = m.destination;
          if (old > 0) row[old] = m.source;
          t.setRow(m.partitionId, row);
          const again = planTarget(t, all);
          for (let p = 0; p < P; p++) assert.equal(again[p][0], target[p][0], `owner target of ${p} shifted`);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('promotion keeps every surviving replica and makes the first live backup the owner', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 2, max: 7 }), fc.nat(), (P, n, deadIndex) => {
        const t = new PartitionTable(P);
        const members = Array.from({ length: n }, (_, i) => `m${i}`);
        apply(t, planTarget(t, members));
        const dead = members[deadIndex % n];
        const alive = new Set(members.filter((m) => m !== dead));
        const before = Array.from({ length: P }, (_, p) => t.row(p).filter((m) => m !== null && m !== dead));
        for (const [p, row] of promoteSurvivors(t, alive)) t.setRow(p, row);
        for (let p = 0; p < P; p++) {
          assert.deepEqual(t.row(p).filter((m) => m !== null), before[p], 'survivors keep their order, none dropped');
          assert.notEqual(t.owner(p), dead);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('bumps a partition version on every change and only then', () => {
    const t = new PartitionTable(4);
    assert.equal(t.setRow(0, ['a', 'b']), true);
    assert.equal(t.version(0), 1);
    assert.equal(t.setRow(0, ['a', 'b']), false);
    assert.equal(t.version(0), 1);
    assert.throws(() => t.setRow(1, ['a', 'a']), /twice/);
  });

  it('advanceVersions moves every version ahead and leaves the rows alone (a new master, seed 4355)', () => {
    const t = new PartitionTable(3);
    t.setRow(0, ['a', 'b']);
    t.setRow(0, ['b', 'a']);
    t.setRow(1, ['a']);
    const rows = [0, 1, 2].map((p) => t.row(p).slice());
    t.advanceVersions(1000);
    assert.deepEqual([0, 1, 2].map((p) => t.version(p)), [1002, 1001, 1000]);
    assert.deepEqual([0, 1, 2].map((p) => t.row(p).slice()), rows);
    // The next change of a row counts on from there: never a version an earlier master gave out.
    t.setRow(0, ['a', 'b']);
    assert.equal(t.version(0), 1003);
    assert.throws(() => t.advanceVersions(0), /positive/);
  });
});
