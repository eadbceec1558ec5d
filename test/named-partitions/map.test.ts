/**
 * The built-in distributed map (`instance.getMap`): its operations, its backups, and its data
 * through migrations and failovers of hashed and named partitions. Ports 18400-18499.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import {
  EnableAction,
  IndeterminateOperationStateError,
  MapService,
  PartitionMapper,
  PartitionReplicationEvent,
  ReplicaNode,
  ReplicationType,
  type DistributedMap,
  type ShoalInstance,
} from '../../src/index.js';
import { MapReplicationOperation } from '../../src/map/map-ops.js';
import { MapStore } from '../../src/map/map-service.js';
import { TestCluster, localKeys, storeOf, until } from './helpers.js';

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.stop();
  cluster = null;
});

function holders(c: TestCluster, partitionId: number, key: string): string[] {
  return [...c.members.entries()].filter(([, m]) => localKeys(m, partitionId, 'm').includes(key)).map(([n]) => n);
}

/**
 * Writes until stopped, remembering the last acknowledged value per key (each loop has its own
 * keys). A write whose outcome is unknown (its synchronous backup's member crashed) is repeated
 * until it is acknowledged: a put of the same value is idempotent.
 */
function writer(map: DistributedMap<string, number>, keys: number, loops = 4): { acked: Map<string, number>; count: () => number; stop: () => Promise<void> } {
  const acked = new Map<string, number>();
  let running = true;
  let count = 0;
  const all = Array.from({ length: loops }, async (_, w) => {
    for (let i = 0; running; i++) {
      const key = `w${(i * loops + w) % keys}`;
      for (;;) {
        try {
          await map.put(key, i);
          break;
        } catch (error) {
          if (!(error instanceof IndeterminateOperationStateError)) throw error;
        }
      }
      acked.set(key, i);
      count++;
    }
  });
  return {
    acked,
    count: () => count,
    stop: async () => {
      running = false;
      await Promise.all(all);
    },
  };
}

describe('built-in map', { concurrency: 1 }, () => {
  it('put, get, remove, containsKey, size, keys, entries, clear, destroy', async () => {
    const c = new TestCluster({ basePort: 18400, clusterName: 'np-map-ops' });
    cluster = c;
    const [a, b] = await c.start('A', 'B');
    const map = await a.getMap<unknown, unknown>('ops');
    assert.equal(await map.put('a', 1), undefined);
    assert.equal(await map.put('a', 2), 1, 'put returns the previous value');
    await map.put(42, { nested: [1, 'two', null] });
    await map.put(7n, new Map([['x', 1]]));
    await map.put('d', new Date(0));
    const other = await b.getMap<unknown, unknown>('ops');
    assert.equal(await other.get('a'), 2);
    assert.deepEqual(await other.get(42), { nested: [1, 'two', null] });
    assert.deepEqual(await other.get(7n), new Map([['x', 1]]));
    assert.deepEqual(await other.get('d'), new Date(0));
    assert.equal(await other.get('missing'), undefined);
    assert.equal(await other.containsKey(42), true);
    assert.equal(await other.containsKey('42'), false, 'keys are compared by their serialized form');
    assert.equal(await other.size(), 4);
    assert.deepEqual((await other.keys()).map(String).sort(), ['42', '7', 'a', 'd']);
    assert.equal((await other.entries()).length, 4);
    assert.equal(await other.remove('a'), 2);
    assert.equal(await other.remove('a'), undefined);
    assert.equal(await map.size(), 3);
    const second = await a.getMap<string, number>('second');
    await second.put('a', 1);
    await map.clear();
    assert.equal(await other.size(), 0);
    assert.equal(await second.get('a'), 1, 'clear touches one map only');
    await second.destroy();
    const total = (m: ShoalInstance): number => m.getNodeEngine().getService<MapService>('shoal:map').stores.reduce((n, s) => n + s.entryCount(), 0);
    await until(() => total(a) === 0 && total(b) === 0, 20_000, 'destroy to drop the data on every member');
    assert.equal(a.getDistributedObjects().some((o) => o.getName() === 'second'), false);
  });

  it('backups follow the service properties: backup-count 2 keeps three copies', async () => {
    const c = new TestCluster({
      basePort: 18410,
      clusterName: 'np-map-backups',
      config: () => ({ services: [{ name: 'shoal:map', implementation: new MapService(), properties: { 'backup-count': '2' } }] }),
    });
    cluster = c;
    const [a] = await c.start('A', 'B', 'C', 'D');
    const map = await a.getMap<string, number>('m');
    for (let i = 0; i < 40; i++) await map.put(`k${i}`, i);
    const ps = a.getPartitionService();
    for (let i = 0; i < 40; i += 7) assert.equal(holders(c, ps.getPartitionId(`k${i}`), `k${i}`).length, 3, `k${i} on three members`);
  });

  it('rejects bad service properties', async () => {
    const s = new MapService();
    const c = new TestCluster({ basePort: 18420, clusterName: 'np-map-bad', config: () => ({ services: [{ name: 'shoal:map', implementation: s, properties: { 'backup-count': 'x' } }] }) });
    await assert.rejects(c.start('A'), /backup-count must be an integer in 0..6/);
    await c.stop();
  });

  it('hashed partitions: members join and leave while writing; every acknowledged write is kept', async () => {
    const c = new TestCluster({ basePort: 18430, clusterName: 'np-map-hashed', seeds: 8 });
    cluster = c;
    const [a] = await c.start('A', 'B');
    const map = await a.getMap<string, number>('m');
    const w = writer(map, 500);
    await until(() => w.acked.size > 100, 20_000, 'writes');
    await c.start('C', 'D');
    await a.getPartitionService().waitForMigrations({ timeout: 60_000 });
    await c.terminate('B');
    await until(() => a.getCluster().getMembers().length === 3, 20_000, 'B to be removed');
    await a.getPartitionService().waitForMigrations({ timeout: 60_000 });
    await w.stop();
    for (const [k, v] of w.acked) assert.equal(await map.get(k), v, `${k}`);
    assert.equal(await map.size(), w.acked.size);
  });

  it('a named partition: writes keep going through a migration and a failover, nothing acknowledged is lost', async () => {
    const c = new TestCluster({ basePort: 18440, clusterName: 'np-map-named' });
    cluster = c;
    await c.start('A', 'B', 'C', 'W');
    for (const m of c.members.values()) {
      m.getPartitionManager().setMapper(String, new (class extends PartitionMapper<string> {
        getPartition(key: string): string | null {
          return key.startsWith('w') ? 'P' : null;
        }
      })());
    }
    const p = await c.get('A').getPartitionManager().definePartition('P', { objectsLockedPerTransaction: 20, numberOfThreads: 2 }, 'A', [new ReplicaNode('B', ReplicationType.SYNCHRONOUS)]);
    await p.enable(EnableAction.JOIN_CLUSTER);
    const map = await c.get('W').getMap<string, number>('m');
    const w = writer(map, 400, 8);
    await until(() => w.acked.size > 200, 30_000, 'writes');
    await p.migrate(null, 'C', [new ReplicaNode('A', ReplicationType.SYNCHRONOUS), new ReplicaNode('B', ReplicationType.ASYNCHRONOUS)]);
    const before = w.count();
    await until(() => w.count() > before + 50, 30_000, 'writes after the migration');
    await c.terminate('C');
    await until(() => c.get('W').getPartitionManager().getPartition('P').getActiveNode() === 'A', 30_000, 'A to take over');
    const after = w.count();
    await until(() => w.count() > after + 50, 30_000, 'writes after the failover');
    await w.stop();
    for (const [k, v] of w.acked) assert.equal(await map.get(k), v, `${k}`);
    assert.equal(localKeys(c.get('A'), p.getPartitionId(), 'm').length, w.acked.size);
    assert.equal(storeOf(c.get('W'), p.getPartitionId()).entryCount(), 0, 'W is not in the node list and holds nothing');
  });

  // Regression: clearMap dropped the entry table without emptying it, so a batched copy suspended
  // part-way through that table went on yielding the cleared entries, and the destination (which
  // had already applied the clear's backup) took them back.
  it('a replication iterator suspended part-way does not yield entries cleared meanwhile', () => {
    const service = new MapService();
    service.stores = [new MapStore()];
    const store = service.store(0);
    const ser = (s: string): Buffer => Buffer.from(s, 'latin1');
    for (let i = 0; i < 10; i++) store.put('m', ser(`k${i}`), ser(`v${i}`));
    const chunks = service.prepareReplicationChunks(new PartitionReplicationEvent(0, 0, 2), 1 << 20)[Symbol.iterator]();
    const first = chunks.next();
    assert.equal(first.done, false);
    assert.equal((first.value as MapReplicationOperation).data[0][1].length, 2);
    assert.equal(store.clearMap('m'), 10);
    store.put('m', ser('after'), ser('x'));
    const rest: string[] = [];
    for (let next = chunks.next(); next.done !== true; next = chunks.next()) {
      for (const [, entries] of (next.value as MapReplicationOperation).data) rest.push(...entries.map(([k]) => k.toString('latin1')));
    }
    assert.deepEqual(rest, [], 'entries yielded after the clear');
  });

  it('clear during a batched copy of a named partition: cleared entries do not come back on the new active node', async () => {
    const c = new TestCluster({ basePort: 18450, clusterName: 'np-map-clear-copy' });
    cluster = c;
    await c.start('A', 'B', 'C');
    for (const m of c.members.values()) {
      m.getPartitionManager().setMapper(String, new (class extends PartitionMapper<string> {
        getPartition(key: string): string | null {
          return key.startsWith('np') ? 'P' : null;
        }
      })());
    }
    // One object per copy step: the copy runs between the application's operations for a while.
    const p = await c.get('A').getPartitionManager().definePartition('P', { objectsLockedPerTransaction: 1 }, 'A', [new ReplicaNode('B', ReplicationType.SYNCHRONOUS)]);
    await p.enable(EnableAction.JOIN_CLUSTER);
    const map = await c.get('A').getMap<string, number>('m');
    await Promise.all(Array.from({ length: 2000 }, (_, i) => map.put(`np-${i}`, i)));
    const slot = p.getPartitionId();
    const migrating = p.migrate(null, 'C', [new ReplicaNode('B', ReplicationType.SYNCHRONOUS)]);
    await until(() => storeOf(c.get('C'), slot).entryCount() > 100, 20_000, 'the copy to C to be under way');
    await map.clear();
    await map.put('np-after', -1);
    await migrating;
    assert.equal(p.getActiveNode(), 'C');
    assert.deepEqual(localKeys(c.get('C'), slot, 'm'), ['np-after'], 'what the new active node holds');
    assert.equal(await map.size(), 1);
    assert.equal(await map.get('np-1999'), undefined);
  });

  it('destroy while partitions migrate: no entry of the destroyed map survives anywhere (regression: destroy emptied stores outside the partitions, and chunks still in flight brought entries back)', async () => {
    // Small chunks, one migration at a time: the join's copies are still running when destroy starts.
    const c = new TestCluster({ basePort: 18460, clusterName: 'np-map-destroy-migrating', config: () => ({ migration: { concurrentMax: 1, chunkBytesMax: 1024 } }) });
    cluster = c;
    const [a] = await c.start('A', 'B');
    const map = await a.getMap<string, string>('gone');
    const kept = await a.getMap<string, number>('kept');
    const value = 'v'.repeat(100);
    await Promise.all(Array.from({ length: 20_000 }, (_, i) => map.put(`k${i}`, value)));
    await kept.put('x', 1);
    await c.start('C');
    const migrating = !a.getPartitionService().isClusterSafe();
    await map.destroy();
    for (const m of c.members.values()) await m.getPartitionService().waitForMigrations({ timeout: 60_000 });
    const left = (m: ShoalInstance): number => m.getNodeEngine().getService<MapService>('shoal:map').stores.reduce((n, s) => n + (s.maps.get('gone')?.size ?? 0), 0);
    for (const [name, m] of c.members) assert.equal(left(m), 0, `entries of the destroyed map on ${name} (destroy began while migrating: ${migrating})`);
    assert.ok(migrating, 'destroy began while partitions were migrating (else this test proves nothing)');
    assert.equal(await (await a.getMap<string, string>('gone')).size(), 0, 'a new map of that name starts empty');
    assert.equal(await kept.get('x'), 1, 'other maps keep their data');
  });
});
