/**
 * Enabling named partitions: which partitions, each action on ordinary (not multi-master) nodes,
 * redefinition, and a node leaving gracefully. Restoring multi-master splits is in
 * multi-master.test.ts. Ports 18200-18299.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { EnableAction, PartitionMapper, ReplicaNode, ReplicationType, type ShoalInstance } from '../../src/index.js';
import { TestCluster, localKeys, until } from './helpers.js';

class ByPrefix extends PartitionMapper<string> {
  getPartition(key: string): string | null {
    const i = key.indexOf(':');
    return i < 0 ? null : key.slice(0, i);
  }
}

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.stop();
  cluster = null;
});

async function start(name: string, port: number, members: string[]): Promise<TestCluster> {
  const c = new TestCluster({ basePort: port, clusterName: name });
  cluster = c;
  await c.start(...members);
  for (const m of c.members.values()) m.getPartitionManager().setMapper(String, new ByPrefix());
  return c;
}

const state = (m: ShoalInstance, name: string): string => m.getPartitionManager().getPartition(name).getState();

describe('named partitions: enabling', { concurrency: 1 }, () => {
  it('enablePartitions enables every partition this member defined; partition.enable just one', async () => {
    const c = await start('np-en-which', 18200, ['A', 'B']);
    const pm = c.get('A').getPartitionManager();
    const one = await pm.definePartition('One', null, 'A', null);
    const two = await pm.definePartition('Two', null, 'B', null);
    await one.enable(EnableAction.JOIN_CLUSTER);
    assert.equal(one.getState(), 'ACTIVE');
    assert.equal(two.getState(), 'INITIAL');
    await pm.enablePartitions(EnableAction.JOIN_CLUSTER);
    assert.equal(two.getState(), 'ACTIVE');
    assert.equal(two.getActiveNode(), 'B');
    // Enabling an enabled partition again changes nothing.
    await pm.enablePartitions(EnableAction.JOIN_CLUSTER);
    assert.equal(one.getActiveNode(), 'A');
    // A member that did not define them enables nothing with enablePartitions.
    await c.get('B').getPartitionManager().enablePartitions(EnableAction.JOIN_CLUSTER);
  });

  it('every member defines and enables the same partition at once (the seed pattern)', async () => {
    const c = await start('np-en-all', 18210, ['A', 'B', 'C']);
    const replicas = [new ReplicaNode('B', ReplicationType.SYNCHRONOUS), new ReplicaNode('C', ReplicationType.SYNCHRONOUS)];
    await Promise.all(
      [...c.members.values()].map(async (m) => {
        await m.getPartitionManager().definePartition('Shared', null, 'A', replicas);
        await m.getPartitionManager().enablePartitions(EnableAction.JOIN_CLUSTER);
      }),
    );
    for (const m of c.members.values()) await until(() => state(m, 'Shared') === 'ACTIVE', 20_000, 'Shared active everywhere');
    const map = await c.get('C').getMap<string, number>('m');
    await map.put('Shared:x', 1);
    const slot = c.get('C').getPartitionManager().getPartition('Shared').getPartitionId();
    for (const m of c.members.values()) await until(() => localKeys(m, slot, 'm').includes('Shared:x'), 20_000, 'every node of the list to hold it');
  });

  it('JOIN_CLUSTER_PURGE on a node that holds a current replica keeps it (nothing there is stale)', async () => {
    const c = await start('np-en-purge', 18220, ['A', 'B']);
    const p = await c.get('A').getPartitionManager().definePartition('P', null, 'A', [new ReplicaNode('B')]);
    await p.enable(EnableAction.JOIN_CLUSTER);
    const map = await c.get('A').getMap<string, number>('m');
    for (let i = 0; i < 10; i++) await map.put(`P:${i}`, i);
    const b = c.get('B');
    await until(() => localKeys(b, p.getPartitionId(), 'm').length === 10, 20_000, 'B to hold the replica');
    await b.getPartitionManager().getPartition('P').enable(EnableAction.JOIN_CLUSTER_PURGE);
    assert.equal(localKeys(b, p.getPartitionId(), 'm').length, 10);
  });

  it('JOIN_CLUSTER_RESTORE on a node with nothing local is an ordinary join', async () => {
    const c = await start('np-en-restore', 18230, ['A', 'B']);
    const p = await c.get('A').getPartitionManager().definePartition('P', null, 'A', null);
    await p.enable(EnableAction.JOIN_CLUSTER_RESTORE);
    const map = await c.get('B').getMap<string, number>('m');
    await map.put('P:1', 1);
    assert.equal(await map.get('P:1'), 1);
  });

  it('redefining on a listed node and enabling moves the partition (the administrators way to migrate)', async () => {
    const c = await start('np-en-redefine', 18240, ['A', 'B', 'C']);
    const p = await c.get('A').getPartitionManager().definePartition('P', null, 'A', [new ReplicaNode('B')]);
    await p.enable(EnableAction.JOIN_CLUSTER);
    const map = await c.get('B').getMap<string, number>('m');
    for (let i = 0; i < 10; i++) await map.put(`P:${i}`, i);
    const onC = await c.get('C').getPartitionManager().definePartition('P', null, 'C', [new ReplicaNode('B')]);
    assert.equal(onC.getActiveNode(), 'A', 'a definition takes effect when enabled');
    await onC.enable(EnableAction.JOIN_CLUSTER);
    assert.equal(onC.getActiveNode(), 'C');
    assert.equal(localKeys(c.get('A'), p.getPartitionId(), 'm').length, 0, 'A is no longer in the list');
    assert.equal(await map.get('P:7'), 7);
    // A's own (original) definition, defined again, is not a change.
    await c.get('A').getPartitionManager().definePartition('P', null, 'A', [new ReplicaNode('B')]);
    await c.get('A').getPartitionManager().enablePartitions(EnableAction.JOIN_CLUSTER);
    assert.equal(onC.getActiveNode(), 'C');
  });

  it('a node leaving gracefully hands its partitions to the next node first; it rejoins when it enables them again', async () => {
    const c = await start('np-en-leave', 18250, ['A', 'B', 'W']);
    const p = await c.get('A').getPartitionManager().definePartition('P', null, 'A', [new ReplicaNode('B', ReplicationType.ASYNCHRONOUS)]);
    await p.enable(EnableAction.JOIN_CLUSTER);
    const map = await c.get('W').getMap<string, number>('m');
    for (let i = 0; i < 100; i++) await map.put(`P:${i}`, i);
    const a = c.get('A');
    c.members.delete('A');
    await a.shutdown();
    await until(() => c.get('W').getPartitionManager().getPartition('P').getActiveNode() === 'B', 20_000, 'B to be active');
    assert.equal(await map.size(), 100, 'nothing lost, although B was asynchronous');
    const [back] = await c.start('A');
    back.getPartitionManager().setMapper(String, new ByPrefix());
    assert.equal(c.get('W').getPartitionManager().getPartition('P').getActiveNode(), 'B', 'a node that left stays out until it enables');
    const again = await back.getPartitionManager().definePartition('P', null, 'A', [new ReplicaNode('B', ReplicationType.ASYNCHRONOUS)]);
    await again.enable(EnableAction.JOIN_CLUSTER_PURGE);
    assert.equal(again.getActiveNode(), 'A');
    assert.equal(localKeys(back, again.getPartitionId(), 'm').length, 100);
  });
});
