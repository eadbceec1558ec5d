/**
 * Failover of named partitions: the first live replica becomes active; synchronous replicas keep
 * every acknowledged write; an asynchronous replica applies its queue in order and loses only
 * what was still queued (measured). Ports 18300-18399.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { EnableAction, PartitionMapper, ReplicaNode, ReplicationType, type ShoalInstance } from '../../src/index.js';
import type { FaultSites } from '../../src/engine/fault-sites.js';
import { TestCluster, localKeys, until } from './helpers.js';

class AllIn extends PartitionMapper<string> {
  constructor(private readonly partition: string) {
    super();
  }
  getPartition(): string {
    return this.partition;
  }
}

/** A switchable fault: drops backups of one partition to one replica index while `on`. */
class DropBackups implements FaultSites {
  readonly active = true;
  on = false;
  dropped = 0;
  partitionId = -1;
  replicaIndex = -1;
  dropBackup(p: number, r: number): boolean {
    if (!this.on || p !== this.partitionId || r !== this.replicaIndex) return false;
    this.dropped++;
    return true;
  }
  atMigrationStep(): null {
    return null;
  }
  afterApply(): null {
    return null;
  }
}

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.stop();
  cluster = null;
});

async function setUp(name: string, port: number, replicas: ReplicaNode[], faults?: FaultSites): Promise<{ c: TestCluster; slot: number; writer: ShoalInstance }> {
  const c = new TestCluster({ basePort: port, clusterName: name, options: (n) => (n === 'A' && faults !== undefined ? { faults } : {}) });
  cluster = c;
  await c.start('A', 'B', 'C', 'W');
  for (const m of c.members.values()) m.getPartitionManager().setMapper(String, new AllIn('P'));
  const p = await c.get('A').getPartitionManager().definePartition('P', null, 'A', replicas);
  await p.enable(EnableAction.JOIN_CLUSTER);
  return { c, slot: p.getPartitionId(), writer: c.get('W') };
}

async function waitForActive(instance: ShoalInstance, name: string): Promise<void> {
  const pm = instance.getPartitionManager();
  if (pm.getPartition('P').getActiveNode() === name && pm.getPartition('P').getState() === 'ACTIVE') return;
  await new Promise<void>((resolve) => {
    const id = pm.addPartitionListener((p) => {
      if (p.getName() === 'P' && p.getActiveNode() === name && p.getState() === 'ACTIVE') {
        pm.removePartitionListener(id);
        resolve();
      }
    });
  });
}

describe('named partitions: failover', { concurrency: 1 }, () => {
  it('synchronous replica: the first replica becomes active with every acknowledged write', async () => {
    const { c, slot, writer } = await setUp('np-fo-sync', 18300, [new ReplicaNode('B', ReplicationType.SYNCHRONOUS), new ReplicaNode('C', ReplicationType.SYNCHRONOUS)]);
    const map = await writer.getMap<string, number>('m');
    const n = 300;
    for (let i = 0; i < n; i++) await map.put(`k${i}`, i);
    await c.terminate('A');
    for (const name of ['B', 'C', 'W']) await waitForActive(c.get(name), 'B');
    assert.deepEqual(c.get('W').getPartitionManager().getPartition('P').getReplicaNodes().map(String), ['C:synchronous']);
    assert.equal(await map.size(), n);
    for (let i = 0; i < n; i += 37) assert.equal(await map.get(`k${i}`), i);
    // the next replica took over the backups
    await map.put('after', 1);
    await until(() => localKeys(c.get('C'), slot, 'm').includes('after'), 20_000, 'C to get the backup');
  });

  it('asynchronous replica: queued writes lost with the active node are a suffix; the rest is in order', async () => {
    const faults = new DropBackups();
    const { c, slot, writer } = await setUp('np-fo-async', 18310, [new ReplicaNode('C', ReplicationType.ASYNCHRONOUS)], faults);
    faults.partitionId = slot;
    faults.replicaIndex = 1;
    const map = await writer.getMap<string, number>('m');
    const n = 200;
    const queued = 25;
    // Every write is acknowledged by A alone (its async replica is not waited for). The last
    // `queued` backups never leave A: they stand for the queue A held when it died.
    for (let i = 0; i < n; i++) {
      if (i === n - queued) faults.on = true;
      await map.put(`k${String(i).padStart(4, '0')}`, i);
    }
    await c.terminate('A');
    for (const name of ['C', 'W']) await waitForActive(c.get(name), 'C');
    const kept = localKeys(c.get('C'), slot, 'm').map(String).sort();
    const lost = n - kept.length;
    assert.equal(faults.dropped, queued);
    assert.equal(lost, queued, 'exactly the queued writes were lost');
    assert.deepEqual(kept, Array.from({ length: n - queued }, (_, i) => `k${String(i).padStart(4, '0')}`), 'what survived is the prefix, applied in order');
    assert.equal(await map.size(), n - queued);
  });

  it('asynchronous replica without injected loss: measures what a crash loses', async (t) => {
    const { c, slot, writer } = await setUp('np-fo-async2', 18320, [new ReplicaNode('C', ReplicationType.ASYNCHRONOUS)]);
    const map = await writer.getMap<string, number>('m');
    const n = 500;
    // Writes in flight at once, then the active node dies right after the last acknowledgement.
    await Promise.all(Array.from({ length: n }, (_, i) => map.put(`k${String(i).padStart(4, '0')}`, i)));
    await c.terminate('A');
    await waitForActive(c.get('C'), 'C');
    const kept = localKeys(c.get('C'), slot, 'm').map(String);
    t.diagnostic(`acknowledged ${n}, kept by the async replica ${kept.length}, lost ${n - kept.length}`);
    assert.ok(kept.length <= n);
    // Whatever was kept was applied in order: replica versions only ever advance by one.
    assert.equal(new Set(kept).size, kept.length);
  });

  it('mixed: synchronous B keeps everything, asynchronous C catches up from B after the failover', async () => {
    const faults = new DropBackups();
    const { c, slot, writer } = await setUp('np-fo-mixed', 18330, [new ReplicaNode('B', ReplicationType.SYNCHRONOUS), new ReplicaNode('C', ReplicationType.ASYNCHRONOUS)], faults);
    faults.partitionId = slot;
    faults.replicaIndex = 2;
    const map = await writer.getMap<string, number>('m');
    for (let i = 0; i < 100; i++) {
      if (i === 90) faults.on = true;
      await map.put(`k${i}`, i);
    }
    assert.equal(localKeys(c.get('B'), slot, 'm').length, 100, 'sync replica has every acknowledged write');
    await c.terminate('A');
    for (const name of ['B', 'C', 'W']) await waitForActive(c.get(name), 'B');
    assert.equal(await map.size(), 100);
    // C lost its queue but is a replica of B now: anti-entropy finds the gap and copies B's data.
    await map.put('after', 1);
    await until(() => localKeys(c.get('C'), slot, 'm').length === 101, 30_000, 'C to catch up from B');
  });

  it('no live node left: the partition is UNAVAILABLE and writes fail naming it', async () => {
    const { c, writer } = await setUp('np-fo-none', 18340, []);
    const map = await writer.getMap<string, number>('m');
    await map.put('x', 1);
    await c.terminate('A');
    const p = writer.getPartitionManager().getPartition('P');
    await until(() => p.getState() === 'UNAVAILABLE', 20_000, 'P to be unavailable');
    await assert.rejects(map.put('y', 2), (e: Error) => e.name === 'ResourceUnavailableError' && e.message.startsWith("partition 'P' is not active"));
  });

  it('the failed node comes back: enabling it again restores it to its place with the data (failback)', async () => {
    const { c, slot, writer } = await setUp('np-fo-back', 18350, [new ReplicaNode('B', ReplicationType.SYNCHRONOUS)]);
    const map = await writer.getMap<string, number>('m');
    for (let i = 0; i < 50; i++) await map.put(`k${i}`, i);
    await c.terminate('A');
    await waitForActive(c.get('W'), 'B');
    await map.put('during', 1);
    // A returns (a new process with the same member name): it stays out until it enables P.
    const [a] = await c.start('A');
    assert.equal(c.get('W').getPartitionManager().getPartition('P').getActiveNode(), 'B');
    a.getPartitionManager().setMapper(String, new AllIn('P'));
    const p = await a.getPartitionManager().definePartition('P', null, 'A', [new ReplicaNode('B', ReplicationType.SYNCHRONOUS)]);
    await p.enable(EnableAction.JOIN_CLUSTER_PURGE);
    for (const name of ['A', 'B', 'W']) await waitForActive(c.get(name), 'A');
    assert.equal(localKeys(a, slot, 'm').length, 51);
    assert.equal(await map.get('during'), 1);
  });

  it('failback keeps the old active node as the replica it is defined as: a second crash loses nothing', async () => {
    // Seed 76 of `npm run sim -- --named 4`: the owner move back onto the returning active node
    // dropped the asynchronous replica (the old active node) from the row, so a crash of the
    // returning node before it was copied back lost every acknowledged write.
    const { c, slot, writer } = await setUp('np-fo-back2', 18360, [new ReplicaNode('B', ReplicationType.ASYNCHRONOUS)]);
    const map = await writer.getMap<string, number>('m');
    for (let i = 0; i < 30; i++) await map.put(`k${i}`, i);
    await c.terminate('A');
    await waitForActive(c.get('W'), 'B');
    await map.put('during', 1);
    const moves: { index: number; destination: string; source: string | null }[] = [];
    for (const m of c.members.values()) {
      m.getPartitionService().addMigrationListener({
        migrationCompleted: (e) => {
          if (e.partitionId === slot) moves.push({ index: e.replicaIndex, destination: e.destination.name, source: e.source?.name ?? null });
        },
      });
    }
    const [a] = await c.start('A');
    a.getPartitionManager().setMapper(String, new AllIn('P'));
    const p = await a.getPartitionManager().definePartition('P', null, 'A', [new ReplicaNode('B', ReplicationType.ASYNCHRONOUS)]);
    await p.enable(EnableAction.JOIN_CLUSTER_PURGE);
    for (const name of ['A', 'B', 'W']) await waitForActive(c.get(name), 'A');
    // A first gets a copy as a replica, then the owner move swaps the two: B never leaves the row.
    assert.deepEqual(moves, [
      { index: 1, destination: 'A', source: null },
      { index: 0, destination: 'A', source: 'B' },
    ]);
    assert.deepEqual(
      p.getReplicaNodes().map((r) => r.memberName),
      ['B'],
    );
    await until(() => localKeys(c.get('B'), slot, 'm').length === 31, 20_000, 'B to hold its replica again');
    await c.terminate('A');
    await waitForActive(c.get('W'), 'B');
    for (let i = 0; i < 30; i++) assert.equal(await map.get(`k${i}`), i);
    assert.equal(await map.get('during'), 1);
  });
});
