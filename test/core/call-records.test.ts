import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CallRecords, SETTLED, type CallRecord } from '../../src/core/replica-bookkeeping.js';

/** The record `find` answers with, if any (a settled call has none). */
function recordOf(r: CallRecords, partitionId: number, caller: string, callId: number, now: number): CallRecord | undefined {
  const found = r.find(partitionId, caller, callId, now);
  return found === SETTLED ? undefined : found;
}

/** Whether `find` says the caller already settled the call. */
function settled(r: CallRecords, partitionId: number, caller: string, callId: number): boolean {
  return r.find(partitionId, caller, callId, 0) === SETTLED;
}

const limits = { recordsPerCallerMax: 5, recordAgeMaxMs: 1000 };

describe('CallRecords', () => {
  it('answers a retried call from its record, per partition and caller', () => {
    const r = new CallRecords(4, limits);
    r.put(1, 'a/1', 10, 'ten', 0, 0);
    assert.equal(recordOf(r, 1, 'a/1', 10, 5)?.response, 'ten');
    assert.equal(recordOf(r, 2, 'a/1', 10, 5), undefined, 'another partition');
    assert.equal(recordOf(r, 1, 'a/2', 10, 5), undefined, 'another incarnation of the caller');
    assert.equal(recordOf(r, 1, 'a/1', 11, 5), undefined, 'another call');
  });

  it('drops records below the caller low-water mark once a later call brings it', () => {
    const r = new CallRecords(1, { ...limits, recordsPerCallerMax: 100 });
    for (let id = 1; id <= 10; id++) r.put(0, 'a/1', id, id, 0, 1);
    assert.equal(r.count(0), 10);
    r.put(0, 'a/1', 11, 11, 0, 8); // calls 1..7 completed at the caller
    assert.equal(r.count(0), 4);
    assert.equal(recordOf(r, 0, 'a/1', 7, 0), undefined);
    assert.equal(recordOf(r, 0, 'a/1', 8, 0)?.response, 8);
    // A record below the mark (a late backup, a migrated record) is not kept: nobody asks for it.
    r.put(0, 'a/1', 3, 3, 0, 0);
    assert.equal(recordOf(r, 0, 'a/1', 3, 0), undefined);
    // Another caller's records are untouched by this caller's mark.
    r.put(0, 'b/1', 2, 'b2', 0, 0);
    r.put(0, 'a/1', 12, 12, 0, 12);
    assert.equal(recordOf(r, 0, 'b/1', 2, 0)?.response, 'b2');
  });

  it('keeps a retried call that is still in flight although later calls completed', () => {
    const r = new CallRecords(1, { ...limits, recordsPerCallerMax: 100 });
    r.put(0, 'a/1', 5, 'five', 0, 5); // call 5 applied; the caller lost the answer and retries
    for (let id = 6; id <= 20; id++) r.put(0, 'a/1', id, id, 0, 5); // its mark stays at 5
    assert.equal(recordOf(r, 0, 'a/1', 5, 0)?.response, 'five');
  });

  it('bounds a stalled caller by count and every record by age', () => {
    const r = new CallRecords(1, limits);
    for (let id = 1; id <= 8; id++) r.put(0, 'a/1', id, id, 0, 0);
    assert.equal(r.count(0), 5);
    assert.equal(recordOf(r, 0, 'a/1', 3, 0), undefined, 'oldest dropped first');
    assert.equal(recordOf(r, 0, 'a/1', 4, 0)?.response, 4);
    assert.equal(recordOf(r, 0, 'a/1', 8, 1001), undefined, 'older than recordAgeMaxMs');
  });

  it('exports live records and imports them elsewhere (migration, replica copy)', () => {
    const source = new CallRecords(2, { ...limits, recordsPerCallerMax: 100 });
    source.put(1, 'a/1', 1, 'one', 0, 0);
    source.put(1, 'a/1', 2, { n: 2 }, 10, 0);
    source.put(1, 'b/7', 9, null, 20, 0);
    source.put(1, 'c/1', 4, 'old', -5000, 0);
    const exported = source.export(1, 30);
    assert.deepEqual(exported, [
      ['a/1', 1, 'one', 0],
      ['a/1', 2, { n: 2 }, 10],
      ['b/7', 9, null, 20],
    ]);
    const destination = new CallRecords(2, limits);
    destination.import(1, exported);
    assert.deepEqual(recordOf(destination, 1, 'a/1', 2, 30)?.response, { n: 2 });
    assert.equal(recordOf(destination, 1, 'b/7', 9, 30)?.at, 20);
    destination.clear(1);
    assert.equal(destination.count(1), 0);
  });
});

describe('CallRecords: settled calls', () => {
  it('a call below the caller low-water mark is settled (a queued retry of it must not run)', () => {
    const r = new CallRecords(1, { recordsPerCallerMax: 100, recordAgeMaxMs: 1000 });
    assert.equal(settled(r, 0, 'a/1', 5), false, 'nothing known about the caller');
    r.put(0, 'a/1', 9, 9, 0, 7);
    assert.equal(settled(r, 0, 'a/1', 5), true);
    assert.equal(settled(r, 0, 'a/1', 7), false, 'the mark itself is still in flight');
    assert.equal(settled(r, 0, 'b/1', 5), false, 'another caller');
  });
});

describe('CallRecords over a long run', () => {
  it('keeps answering after the window slid far (its arrays are compacted as records leave the front)', () => {
    const r = new CallRecords(1, { recordsPerCallerMax: 100, recordAgeMaxMs: 1_000_000 });
    for (let id = 1; id <= 10_000; id++) r.put(0, 'a/1', id, id * 2, id, id - 5);
    assert.equal(r.count(0), 6, 'the calls at and above the last low-water mark');
    for (let id = 9_995; id <= 10_000; id++) assert.equal(recordOf(r, 0, 'a/1', id, 10_000)?.response, id * 2);
    assert.equal(recordOf(r, 0, 'a/1', 9_994, 10_000), undefined);
    // A retry's record lands in order among them, and the count bound still drops the lowest.
    const bounded = new CallRecords(1, { recordsPerCallerMax: 3, recordAgeMaxMs: 1_000_000 });
    for (const id of [10, 30, 20, 40]) bounded.put(0, 'a/1', id, id, 0, 0);
    assert.deepEqual([10, 20, 30, 40].map((id) => recordOf(bounded, 0, 'a/1', id, 0)?.response), [undefined, 20, 30, 40]);
  });
});

describe('CallRecords against a plain model (property)', () => {
  // The log is a sorted window, not a map: out-of-order puts (retries, imported records), the
  // low-water mark, the count bound and the age limit must still answer exactly as a map would.
  it('answers every lookup as a map of live records would', () => {
    const max = 8;
    const ageMax = 50;
    const step = fc.oneof(
      fc.record({ kind: fc.constant('put' as const), id: fc.integer({ min: 0, max: 60 }), low: fc.integer({ min: 0, max: 60 }), now: fc.integer({ min: 0, max: 200 }) }),
      fc.record({ kind: fc.constant('get' as const), id: fc.integer({ min: 0, max: 60 }), now: fc.integer({ min: 0, max: 200 }) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 120 }), (steps) => {
        const r = new CallRecords(1, { recordsPerCallerMax: max, recordAgeMaxMs: ageMax });
        const model = new Map<number, { response: number; at: number }>();
        let low = 0;
        let serial = 0;
        for (const s of steps) {
          if (s.kind === 'put') {
            const response = serial++;
            r.put(0, 'c/1', s.id, response, s.now, s.low);
            if (s.low > low) {
              low = s.low;
              for (const id of [...model.keys()]) if (id < low) model.delete(id);
            }
            if (s.id < low) continue;
            model.set(s.id, { response, at: s.now });
            if (model.size > max) model.delete(Math.min(...model.keys()));
          } else {
            const want = model.get(s.id);
            const found = r.find(0, 'c/1', s.id, s.now);
            if (s.id < low) assert.equal(found, SETTLED, `call ${s.id} below the mark ${low}`);
            else assert.equal(found === undefined ? undefined : (found as { response: unknown }).response, want === undefined || s.now - want.at > ageMax ? undefined : want.response);
            const got = recordOf(r, 0, 'c/1', s.id, s.now);
            if (want !== undefined && s.now - want.at > ageMax) {
              model.delete(s.id);
              assert.equal(got, undefined, `expired record ${s.id}`);
            } else {
              assert.deepEqual(got === undefined ? undefined : { response: got.response, at: got.at }, want, `record ${s.id}`);
            }
          }
          assert.equal(r.count(0), model.size);
        }
      }),
      { numRuns: 500 },
    );
  });
});
