/**
 * Each partition property and its effect. (sparse partition audit is in api.test.ts; restore
 * from node also in multi-master.test.ts.) Ports 18100-18199.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import {
  EnableAction,
  MapService,
  PartitionMapper,
  PartitionNotFoundError,
  ReplicaNode,
  ResourceUnavailableError,
  type DistributedMap,
  type Operation,
  type PartitionReplicationEvent,
} from '../../src/index.js';
import { TestCluster, localKeys, localValue, storeOf, until } from './helpers.js';

/** The built-in map, instrumented: what happened on the watched partition during a copy. */
class RecordingMapService extends MapService {
  watched = -1;
  /** Calls to store(watched): every operation on the partition makes one. */
  storeCalls = 0;
  /** storeCalls when each chunk was taken (this member as copy source). */
  pulls: number[] = [];
  /** Replication operations applied on the watched partition (this member as destination). */
  applied = 0;
  /** At each chunk taken, how many the destination had applied. */
  appliedAtPull: number[] = [];
  destination: RecordingMapService | null = null;

  override store(partitionId: number): ReturnType<MapService['store']> {
    if (partitionId === this.watched) this.storeCalls++;
    return super.store(partitionId);
  }

  override *prepareReplicationChunks(event: PartitionReplicationEvent, hint: number): Iterable<Operation> {
    for (const op of super.prepareReplicationChunks(event, hint)) {
      if (event.getPartitionId() === this.watched) {
        this.pulls.push(this.storeCalls);
        this.appliedAtPull.push(this.destination?.applied ?? -1);
      }
      yield op;
    }
  }

  override applyReplication(partitionId: number, data: Parameters<MapService['applyReplication']>[1]): void {
    if (partitionId === this.watched) this.applied++;
    super.applyReplication(partitionId, data);
  }

  reset2(): void {
    this.pulls = [];
    this.appliedAtPull = [];
    this.applied = 0;
  }
}

class AllIn extends PartitionMapper<string> {
  constructor(private readonly partition: string) {
    super();
  }
  getPartition(): string {
    return this.partition;
  }
}

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.stop();
  cluster = null;
});

async function recordingCluster(name: string, port: number, names: string[]): Promise<{ c: TestCluster; services: Map<string, RecordingMapService> }> {
  const services = new Map<string, RecordingMapService>();
  const c = new TestCluster({
    basePort: port,
    clusterName: name,
    config: (n) => {
      const s = new RecordingMapService();
      services.set(n, s);
      return { services: [{ name: 'shoal:map', implementation: s }] };
    },
  });
  cluster = c;
  await c.start(...names);
  for (const m of c.members.values()) m.getPartitionManager().setMapper(String, new AllIn('P'));
  return { c, services };
}

/** Writes keys w0, w1, … on `map` until `stop()`; remembers the last acknowledged value of each. */
function writer(map: DistributedMap<string, number>, keys: number): { acked: Map<string, number>; stop: () => Promise<void> } {
  const acked = new Map<string, number>();
  let running = true;
  const loops = Array.from({ length: 4 }, async (_, w) => {
    for (let i = 0; running; i++) {
      const key = `w${(i * 4 + w) % keys}`;
      await map.put(key, i);
      acked.set(key, i);
    }
  });
  return {
    acked,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

describe('named partitions: properties', { concurrency: 1 }, () => {
  it('objects locked per transaction: > 0 copies in steps with the application running; 0 locks the partition for the whole copy', async () => {
    const { c, services } = await recordingCluster('np-prop-batch', 18100, ['A', 'B', 'C', 'W']);
    const p = await c.get('A').getPartitionManager().definePartition('P', null, 'A', [new ReplicaNode('B')]);
    await p.enable(EnableAction.JOIN_CLUSTER);
    for (const s of services.values()) s.watched = p.getPartitionId();
    const map = await c.get('W').getMap<string, number>('m');
    for (let i = 0; i < 300; i++) await map.put(`k${i}`, i);

    // Batched: 10 objects per step, to C (not a replica yet, so it follows the changes as they happen).
    let w = writer(map, 50);
    await until(() => w.acked.size > 10, 20_000, 'the writer to run');
    const batched = await p.migrate({ objectsLockedPerTransaction: 10 }, 'C', [new ReplicaNode('B')]);
    await w.stop();
    assert.equal(batched.properties.objectsLockedPerTransaction, 10);
    const a = services.get('A')!;
    assert.ok(a.pulls.length >= 30, `300 objects in steps of 10: ${a.pulls.length} steps`);
    const interleaved = a.pulls[a.pulls.length - 1] - a.pulls[0];
    assert.ok(interleaved > 0, `operations ran between the steps (${interleaved})`);
    for (const [k, v] of w.acked) assert.equal(await map.get(k), v, `acknowledged ${k}=${v} survived the batched copy`);
    assert.equal(await map.size(), 350);
    assert.equal(p.getProperties().objectsLockedPerTransaction, 1000, 'the override applied to that migration only');

    // 0: the whole partition in one step; nothing runs on it while it is copied.
    const cService = services.get('C')!;
    cService.reset2();
    w = writer(map, 50);
    await until(() => w.acked.size > 0 && cService.storeCalls > 0, 20_000, 'the writer to run');
    const onC = c.get('C').getPartitionManager().getPartition('P');
    await onC.migrate({ objectsLockedPerTransaction: 0 }, 'A', [new ReplicaNode('B')]);
    await w.stop();
    assert.ok(cService.pulls.length >= 1);
    assert.equal(cService.pulls[cService.pulls.length - 1] - cService.pulls[0], 0, 'no operation ran between the chunks');
    for (const [k, v] of w.acked) assert.equal(await map.get(k), v);
    assert.equal(await map.size(), 350);
  });

  it('number of threads: copy steps in flight at once', async () => {
    const { c, services } = await recordingCluster('np-prop-threads', 18110, ['A', 'B', 'C']);
    const p = await c.get('A').getPartitionManager().definePartition('P', null, 'A', null);
    await p.enable(EnableAction.JOIN_CLUSTER);
    for (const s of services.values()) s.watched = p.getPartitionId();
    const map = await c.get('A').getMap<string, number>('m');
    for (let i = 0; i < 200; i++) await map.put(`k${i}`, i);
    const aheadOf = (s: RecordingMapService): number => Math.max(...s.appliedAtPull.map((applied, k) => k - applied));

    // One stream: each step waits until the destination applied the previous one.
    services.get('A')!.destination = services.get('B')!;
    await p.migrate({ objectsLockedPerTransaction: 10, numberOfThreads: 1 }, 'B', null);
    const one = services.get('A')!;
    assert.equal(one.appliedAtPull.length, 20);
    assert.equal(aheadOf(one), 0, 'never more than one step in flight');

    // Four streams: up to four steps in flight.
    const onB = c.get('B').getPartitionManager().getPartition('P');
    services.get('B')!.destination = services.get('C')!;
    await onB.migrate({ objectsLockedPerTransaction: 10, numberOfThreads: 4 }, 'C', null);
    const four = services.get('B')!;
    assert.equal(four.appliedAtPull.length, 20);
    const ahead = aheadOf(four);
    assert.ok(ahead >= 2 && ahead <= 4, `steps in flight ahead of the destination: ${ahead}`);
    assert.equal(await map.size(), 200);
  });

  it('force replication: re-copies the replicas that stay; off, they are left as they are', async () => {
    const c = new TestCluster({ basePort: 18120, clusterName: 'np-prop-force' });
    cluster = c;
    await c.start('A', 'B', 'C');
    for (const m of c.members.values()) m.getPartitionManager().setMapper(String, new AllIn('P'));
    const p = await c.get('A').getPartitionManager().definePartition('P', null, 'A', [new ReplicaNode('B')]);
    await p.enable(EnableAction.JOIN_CLUSTER);
    const slot = p.getPartitionId();
    const map = await c.get('A').getMap<string, number>('m');
    for (let i = 0; i < 20; i++) await map.put(`k${i}`, i);
    const b = c.get('B');
    await until(() => localKeys(b, slot, 'm').length === 20, 20_000, 'B to hold every backup');
    // Damage B's replica behind the engine's back (a diverged replica).
    const ser = b.getNodeEngine().getSerializationService();
    storeOf(b, slot).maps.get('m')!.delete(ser.toBytes('k3').toString('latin1'));
    assert.equal(localKeys(b, slot, 'm').length, 19);

    const off = await p.migrate(null, 'C', [new ReplicaNode('B')]);
    assert.equal(off.forcedResyncs, 0);
    assert.equal(localKeys(b, slot, 'm').length, 19, 'B stayed a replica and was not copied again');

    const onC = c.get('C').getPartitionManager().getPartition('P');
    const on = await onC.migrate({ forceReplication: true }, 'A', [new ReplicaNode('B')]);
    assert.equal(on.forcedResyncs, 1);
    assert.equal(localKeys(b, slot, 'm').length, 20, 'B was re-copied');
    assert.equal(localValue(b, slot, 'm', 'k3'), 3);
  });

  it('broadcast definition updates off: the enabling member serves the partition on its own, unknown elsewhere', async () => {
    const c = new TestCluster({ basePort: 18130, clusterName: 'np-prop-bcast' });
    cluster = c;
    await c.start('A', 'B');
    for (const m of c.members.values()) m.getPartitionManager().setMapper(String, new AllIn('Solo'));
    const a = c.get('A');
    const solo = await a.getPartitionManager().definePartition('Solo', { broadcastDefinitionUpdates: false }, 'A', [new ReplicaNode('B')]);
    await solo.enable(EnableAction.JOIN_CLUSTER);
    assert.equal(solo.isLocalOnly(), true);
    assert.equal(solo.getState(), 'ACTIVE');
    const map = await a.getMap<string, number>('m');
    await map.put('x', 1);
    assert.equal(await map.get('x'), 1);
    assert.deepEqual(localKeys(a, solo.getPartitionId(), 'm'), ['x']);
    assert.equal(a.getPartitionService().getPartitionOwner(solo.getPartitionId()), null, 'not in the cluster table');
    assert.throws(() => c.get('B').getPartitionManager().getPartition('Solo'), PartitionNotFoundError);
    const onB = await c.get('B').getMap<string, number>('m');
    await assert.rejects(onB.put('x', 2), PartitionNotFoundError);
    // Broadcasting on again publishes it: A keeps its objects and is the active node, B copies them.
    const published = await a.getPartitionManager().definePartition('Solo', null, 'A', [new ReplicaNode('B')]);
    await published.enable(EnableAction.JOIN_CLUSTER);
    assert.equal(published.isLocalOnly(), false);
    await until(() => localKeys(c.get('B'), solo.getPartitionId(), 'm').length === 1, 20_000, 'B to copy the objects');
    assert.equal(await onB.get('x'), 1);
  });

  it('restore from node: whose objects win when a partition active on two members is restored', async () => {
    const c = new TestCluster({ basePort: 18140, clusterName: 'np-prop-restore' });
    cluster = c;
    await c.start('A', 'B');
    for (const m of c.members.values()) m.getPartitionManager().setMapper(String, new AllIn('MM'));
    // Each side serves MM alone (simulated multi-master) and writes its own value.
    for (const name of ['A', 'B']) {
      const m = c.get(name);
      const p = await m.getPartitionManager().definePartition('MM', { broadcastDefinitionUpdates: false }, name, null);
      await p.enable(EnableAction.JOIN_CLUSTER);
      const map = await m.getMap<string, string>('m');
      await map.put('shared', `from ${name}`);
    }
    // Restore from B: B enables first (it becomes active with its objects), A purges and copies B's.
    const b = c.get('B').getPartitionManager();
    await (await b.definePartition('MM', { restoreFromNode: 'B' }, 'B', [new ReplicaNode('A')])).enable(EnableAction.JOIN_CLUSTER);
    const pa = c.get('A').getPartitionManager();
    const onA = await pa.definePartition('MM', { restoreFromNode: 'B' }, 'B', [new ReplicaNode('A')]);
    await onA.enable(EnableAction.JOIN_CLUSTER_PURGE);
    const map = await c.get('A').getMap<string, string>('m');
    assert.equal(await map.get('shared'), 'from B');
    assert.equal(localValue(c.get('A'), onA.getPartitionId(), 'm', 'shared'), 'from B');
  });

  it('restore from node: restoring from a node the partition is not active on is refused', async () => {
    const c = new TestCluster({ basePort: 18150, clusterName: 'np-prop-restore2' });
    cluster = c;
    await c.start('A', 'B');
    for (const m of c.members.values()) m.getPartitionManager().setMapper(String, new AllIn('MM'));
    const pb = c.get('B').getPartitionManager();
    await (await pb.definePartition('MM', null, 'B', null)).enable(EnableAction.JOIN_CLUSTER);
    const pa = c.get('A').getPartitionManager();
    await (await pa.definePartition('MM', { broadcastDefinitionUpdates: false }, 'A', null)).enable(EnableAction.JOIN_CLUSTER);
    await (await c.get('A').getMap<string, string>('m')).put('k', 'a');
    const restore = await pa.definePartition('MM', { restoreFromNode: 'A' }, 'B', [new ReplicaNode('A')]);
    await assert.rejects(restore.enable(EnableAction.JOIN_CLUSTER), (e: Error) => e instanceof ResourceUnavailableError && e.message.includes("cannot be restored from 'A': it is active on 'B'"));
  });
});
