/**
 * Proof that the checkers bite: each deliberate bug (switched on through the engine's test-only
 * `FaultSites.bugs`) must make the simulator report a violation within a bounded number of seeds,
 * on a seed that runs clean without the bug (so the violation is the bug's doing).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runSeed, type DeliberateBugs, type FaultKind, type Violation } from '../../src/testing/index.js';

interface Case {
  readonly bug: keyof DeliberateBugs;
  readonly faults: readonly FaultKind[];
  /** Checkers expected to notice. */
  readonly checkers: readonly string[];
  /** Seeds tried, at most. */
  readonly seedsMax: number;
}

const CASES: readonly Case[] = [
  // The owner answers before its sync backups acknowledged: a crash right after loses the write.
  { bug: 'ackBeforeBackups', faults: ['crash', 'delay'], checkers: ['counterWithinAckedRange'], seedsMax: 60 },
  // A promoted backup drops its data: the first crash of an owner loses acknowledged increments.
  { bug: 'promotedBackupDropsData', faults: ['crash'], checkers: ['counterWithinAckedRange'], seedsMax: 30 },
  // The source reports the copy done before the destination applied it: the master commits, the
  // new owner serves without the data or the copy lands late on top of newer writes.
  { bug: 'commitBeforeDestinationApplied', faults: ['join', 'leave', 'delay'], checkers: ['counterWithinAckedRange', 'liveness', 'replicasConverge', 'singleOwnerPerPartitionVersion'], seedsMax: 20 },
];

const seen = (vs: readonly Violation[], checkers: readonly string[]): Violation[] => vs.filter((v) => checkers.includes(v.checker));

for (const c of CASES) {
  test(`the simulator catches the deliberate bug ${c.bug} within ${c.seedsMax} seeds`, async () => {
    const tried: string[] = [];
    for (let seed = 1; seed <= c.seedsMax; seed++) {
      const withBug = await runSeed(seed, { faults: c.faults, bugs: { [c.bug]: true }, durationMs: 12_000 });
      const found = seen(withBug.violations, c.checkers);
      if (found.length === 0) {
        tried.push(`${seed}: clean`);
        continue;
      }
      const without = await runSeed(seed, { faults: c.faults, durationMs: 12_000 });
      if (seen(without.violations, c.checkers).length > 0) {
        tried.push(`${seed}: fails without the bug too (${without.violations[0].checker})`);
        continue;
      }
      assert.ok(found[0].message.length > 0);
      return; // caught, and attributable to the bug
    }
    assert.fail(`${c.bug} was not caught in ${c.seedsMax} seeds:\n${tried.join('\n')}`);
  });
}
