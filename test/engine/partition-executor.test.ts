import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Hold, PartitionExecutor, type OrderKey, type TaskResult } from '../../src/engine/partition-executor.js';

/** A deferred the test settles by hand, so holds end in an order the property chooses. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('PartitionExecutor', () => {
  it('runs tasks of one partition in order, an async one holding the partition until it settles', async () => {
    const ex = new PartitionExecutor(2, (_p, e) => assert.fail(String(e)));
    const log: string[] = [];
    const d = deferred();
    ex.submit(0, () => {
      log.push('a');
      return d.promise;
    });
    ex.submit(0, () => void log.push('b'));
    ex.submit(1, () => void log.push('other partition'));
    assert.deepEqual(log, ['a', 'other partition']);
    assert.equal(ex.isRunning(0), true);
    d.resolve();
    await flush();
    assert.deepEqual(log, ['a', 'other partition', 'b']);
    assert.equal(ex.isBusy(0), false);
  });

  it('a key hold delays only the same key; a task without a key waits for every hold', async () => {
    const ex = new PartitionExecutor(1, (_p, e) => assert.fail(String(e)));
    const log: string[] = [];
    const holdA = deferred();
    const task = (name: string, key: OrderKey | null, result?: () => TaskResult) => ({
      orderKey: key,
      runTask: (): TaskResult => {
        log.push(name);
        return result?.();
      },
    });
    ex.submit(0, task('a1', 'a', () => new Hold('a', holdA.promise)));
    ex.submit(0, task('a2', 'a'));
    ex.submit(0, task('b1', 'b'));
    ex.submit(0, task('all', null));
    ex.submit(0, task('b2', 'b'));
    assert.deepEqual(log, ['a1', 'b1'], 'a2 parked behind a1, the barrier waits, b2 queued behind the barrier');
    assert.equal(ex.isBusy(0), false, 'key holds do not make the partition busy');
    assert.equal(ex.isRunning(0), false);
    assert.equal(ex.queued(0), 3);
    holdA.resolve();
    await flush();
    assert.deepEqual(log, ['a1', 'b1', 'a2', 'all', 'b2']);
  });

  it('a whole-partition hold is not a run', async () => {
    const ex = new PartitionExecutor(1, (_p, e) => assert.fail(String(e)));
    const d = deferred();
    ex.submit(0, () => new Hold(null, d.promise));
    assert.equal(ex.isBusy(0), true);
    assert.equal(ex.isRunning(0), false);
    d.resolve();
    await flush();
    assert.equal(ex.isBusy(0), false);
  });

  it('property: ordering per key and barriers hold whatever order holds end in', async () => {
    const step = fc.record({ key: fc.option(fc.constantFrom('a', 'b', 'c'), { nil: null, freq: 4 }), holds: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 30 }), fc.array(fc.nat(), { maxLength: 60 }), async (steps, picks) => {
        const ex = new PartitionExecutor(1, (_p, e) => assert.fail(String(e)));
        const open = new Map<number, { key: OrderKey | null; end: () => void }>();
        const ran: number[] = [];
        steps.forEach((s, i) => {
          ex.submit(0, {
            orderKey: s.key,
            runTask: (): TaskResult => {
              // No task runs while a hold that must delay it is open.
              for (const h of open.values()) {
                assert.ok(h.key !== null, `task ${i} ran during a whole-partition hold`);
                assert.ok(s.key !== null && s.key !== h.key, `task ${i} (key ${String(s.key)}) ran during a hold on ${String(h.key)}`);
              }
              ran.push(i);
              if (!s.holds) return;
              const d = deferred();
              open.set(i, { key: s.key, end: d.resolve });
              return new Hold(s.key, d.promise);
            },
          });
        });
        // End holds in an order chosen by `picks`, then whatever is left.
        let p = 0;
        while (open.size > 0) {
          const ids = [...open.keys()];
          const id = ids[(picks[p++] ?? 0) % ids.length];
          const h = open.get(id)!;
          open.delete(id);
          h.end();
          await flush();
        }
        assert.deepEqual([...ran].sort((x, y) => x - y), steps.map((_, i) => i), 'every task ran exactly once');
        const position = new Map(ran.map((id, at) => [id, at]));
        for (let i = 0; i < steps.length; i++) {
          for (let j = i + 1; j < steps.length; j++) {
            const ordered = steps[i].key === null || steps[j].key === null || steps[i].key === steps[j].key;
            if (ordered) assert.ok(position.get(i)! < position.get(j)!, `task ${i} must run before task ${j}`);
          }
        }
        assert.equal(ex.isBusy(0), false);
        assert.equal(ex.queued(0), 0);
      }),
      { numRuns: 300 },
    );
  });
});

describe('PartitionExecutor.block', () => {
  it('starts nothing new until released; holds and queued tasks resume after', async () => {
    const ex = new PartitionExecutor(1, (_p, e) => assert.fail(String(e)));
    const log: string[] = [];
    const holdA = deferred();
    const copy = deferred();
    ex.submit(0, { orderKey: 'a', runTask: () => (log.push('a1'), new Hold('a', holdA.promise)) });
    ex.block(0, copy.promise);
    ex.submit(0, { orderKey: 'b', runTask: () => void log.push('b1') });
    ex.submit(0, () => void log.push('all'));
    holdA.resolve();
    await flush();
    assert.deepEqual(log, ['a1'], 'nothing starts while blocked, even after the key hold ended');
    copy.resolve();
    await flush();
    assert.deepEqual(log, ['a1', 'b1', 'all']);
  });
});
