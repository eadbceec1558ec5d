/**
 * Issue 3, large partitions: 1,000,000 entries of one service (the test-only BulkService) across
 * the 271 partitions migrate to a joining member with every value intact; then the first member
 * leaves gracefully, so all 1,000,000 end up on the member that joined. The service supplies its
 * data in chunks (ChunkedMigrationAwareService) and no migration chunk frame the destination
 * receives exceeds the configured chunk size.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Harness, NO_KILL_DETECTOR, counterNames, sum, waitUntil } from './harness.js';

const BASE_PORT = 19200;
const BASE_PORT_RECORDS = 19250;
const ENTRIES = 1_000_000;
/** Small enough that every partition (≈90 KB here) travels in several chunks. */
const CHUNK_BYTES = 32 * 1024;

test('1,000,000 entries migrate to a joining member in bounded chunks, every value intact', async (t) => {
  const h = new Harness(BASE_PORT, { bulkService: true, chunkBytesMax: CHUNK_BYTES, gracefulShutdownTimeoutMs: 60_000, ...NO_KILL_DETECTOR }, 50);
  t.after(() => h.cleanup());
  await h.run(async () => {
    const first = await h.start({ name: 'first' });
    const loaded = await first.call('bulkLoad', { total: ENTRIES }, 120_000);
    assert.equal(loaded.entries, ENTRIES);
    const atFirst = await first.call('bulkLocal', { reset: true });
    assert.equal(atFirst.entries, ENTRIES);
    assert.equal(atFirst.partitionsHeld, 271);

    // A member joins: about half of the partitions move to it.
    const joinStarted = Date.now();
    const joiner = await h.start({ name: 'joiner' });
    await h.waitClusterSafe(120_000, 2);
    const joinMs = Date.now() - joinStarted;
    const atJoiner = await joiner.call('bulkLocal', { reset: true });
    const source = await first.call('bulkLocal', { reset: true });
    console.log(
      `large-migration: join moved ${atJoiner.entries} entries in ${atJoiner.partitionsHeld} partitions, ${atJoiner.chunkFrames} chunks, ` +
        `largest chunk frame ${atJoiner.chunkFrameMax} B (limit ${CHUNK_BYTES}), ${joinMs} ms until safe; ` +
        `source: largest replication op ${source.producedOpMax} B, event-loop delay max ${source.eventLoopDelayMaxMs} ms`,
    );
    assert.ok(atJoiner.partitionsHeld >= 135 && atJoiner.entries > 0, `the joiner owns half of the partitions: ${JSON.stringify(atJoiner)}`);
    assert.equal(atJoiner.entries + source.entries, ENTRIES, 'every entry is on exactly one member');
    assert.ok(atJoiner.chunkFrames > atJoiner.partitionsHeld, `partitions travelled in several chunks: ${atJoiner.chunkFrames} chunks`);
    assert.ok(atJoiner.chunkFrameMax <= CHUNK_BYTES, `a chunk frame of ${atJoiner.chunkFrameMax} bytes exceeded ${CHUNK_BYTES}`);
    assert.ok(source.producedOps > 0 && source.producedOpMax <= CHUNK_BYTES, `the service's chunks: ${source.producedOps}, largest ${source.producedOpMax} B`);
    const afterJoin = await joiner.call('bulkVerify', { total: ENTRIES }, 120_000);
    assert.deepEqual(afterJoin, { partitions: 271, entries: ENTRIES, wrongValues: 0, badPartitions: [] });

    // The first member leaves gracefully: everything moves to the joiner.
    const leaveStarted = Date.now();
    const exit = await first.terminateGracefully(90_000);
    assert.equal(exit.code, 0);
    await h.waitClusterSafe(30_000, 1);
    const leaveMs = Date.now() - leaveStarted;
    const all = await joiner.call('bulkLocal', { reset: false });
    console.log(`large-migration: leave moved the rest in ${leaveMs} ms; joiner holds ${all.entries} entries, ${all.chunkFrames} chunks, largest ${all.chunkFrameMax} B`);
    assert.equal(all.entries, ENTRIES, 'all 1,000,000 entries are on the member that joined');
    assert.equal(all.partitionsHeld, 271);
    assert.ok(all.chunkFrameMax <= CHUNK_BYTES, `a chunk frame of ${all.chunkFrameMax} bytes exceeded ${CHUNK_BYTES}`);
    const afterLeave = await joiner.call('bulkVerify', { total: ENTRIES }, 120_000);
    assert.deepEqual(afterLeave, { partitions: 271, entries: ENTRIES, wrongValues: 0, badPartitions: [] });
  });
});

/**
 * The chunk bound holds for everything a migration carries, call records included: partitions
 * that served many remote calls carry up to 10,000 call records each (for exactly-once retries).
 */
test('migration chunk frames stay within the configured chunk size when partitions carry many call records', async (t) => {
  const chunkBytes = 16 * 1024;
  const h = new Harness(BASE_PORT_RECORDS, { chunkBytesMax: chunkBytes, ...NO_KILL_DETECTOR }, 50);
  t.after(() => h.cleanup());
  await h.run(async () => {
    await h.start({ name: 'first' });
    const caller = await h.start({ lite: true, name: 'caller' });
    const names = counterNames('records', 20);
    await caller.call('prepare', { names });
    await caller.call('startLoad', { names, concurrency: 16 });
    await waitUntil(async () => (await caller.call('loadProgress', {})).acked >= 40_000, {
      timeoutMs: 60_000,
      intervalMs: 100,
      what: () => '40,000 acknowledged increments',
    });
    const tally = await caller.call('stopLoad', {});
    const joiner = await h.start({ name: 'joiner' });
    await h.waitClusterSafe(60_000);
    const atJoiner = await joiner.call('bulkLocal', { reset: false });
    console.log(`large-migration (call records): ${sum(tally.acked)} increments before the join; joiner got ${atJoiner.chunkFrames} chunks, largest ${atJoiner.chunkFrameMax} B (limit ${chunkBytes})`);
    assert.deepEqual(await caller.call('get', { names }), tally.acked, 'every counter is intact after the migration');
    assert.ok(atJoiner.chunkFrameMax <= chunkBytes, `a migration chunk frame of ${atJoiner.chunkFrameMax} bytes exceeded migration.chunkBytesMax ${chunkBytes}`);
  });
});
