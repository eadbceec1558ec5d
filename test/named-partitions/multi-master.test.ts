/**
 * Restoring a partition that was active on two members (a simulated multi-master split:
 * broadcast definition updates off), with each EnableAction, as the seed describes: duplicates
 * (ObjectNotUniqueError with JOIN_CLUSTER), orphans, objects deleted on one side that reappear.
 * Ports 18500-18599.
 *
 * The split: X is the partition's active node with Y as its synchronous replica; Y then serves
 * the partition on its own (it keeps the copy it had). Each side changes the data:
 *   X: k1 = 'x', adds kx, removes k2.        Y: k1 = 'y', adds ky, removes k3.
 * Y is then restored from X.
 *
 * The same restore after a real network split (two clusters that merge back after the heal) is
 * test/simulation/named-split.test.ts.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { EnableAction, ObjectNotUniqueError, PartitionMapper, ReplicaNode, type ShoalInstance } from '../../src/index.js';
import { TestCluster, localKeys, localValue, until } from './helpers.js';

class AllIn extends PartitionMapper<string> {
  getPartition(): string {
    return 'MM';
  }
}

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.stop();
  cluster = null;
});

interface Split {
  readonly x: ShoalInstance;
  readonly y: ShoalInstance;
  readonly slot: number;
}

async function split(name: string, port: number, withData = true): Promise<Split> {
  const c = new TestCluster({ basePort: port, clusterName: name });
  cluster = c;
  const [x, y] = await c.start('X', 'Y');
  for (const m of [x, y]) m.getPartitionManager().setMapper(String, new AllIn());
  const p = await x.getPartitionManager().definePartition('MM', null, 'X', withData ? [new ReplicaNode('Y')] : null);
  await p.enable(EnableAction.JOIN_CLUSTER);
  const mx = await x.getMap<string, string>('m');
  if (withData) {
    for (const k of ['k1', 'k2', 'k3']) await mx.put(k, 'before');
    await until(() => localKeys(y, p.getPartitionId(), 'm').length === 3, 20_000, 'Y to hold the replica');
  }
  // Y goes its own way.
  const alone = await y.getPartitionManager().definePartition('MM', { broadcastDefinitionUpdates: false }, 'Y', null);
  await alone.enable(EnableAction.JOIN_CLUSTER);
  assert.equal(alone.isLocalOnly(), true);
  assert.equal(x.getPartitionManager().getPartition('MM').getActiveNode(), 'X');
  const my = await y.getMap<string, string>('m');
  if (withData) {
    await mx.put('k1', 'x');
    await mx.put('kx', 'x');
    await mx.remove('k2');
    await my.put('k1', 'y');
    await my.put('ky', 'y');
    await my.remove('k3');
    assert.deepEqual(localKeys(x, p.getPartitionId(), 'm').map(String).sort(), ['k1', 'k3', 'kx']);
    assert.deepEqual(localKeys(y, p.getPartitionId(), 'm').map(String).sort(), ['k1', 'k2', 'ky']);
  } else {
    await mx.put('kx', 'x');
    await my.put('ky', 'y');
  }
  return { x, y, slot: p.getPartitionId() };
}

async function restoreY(s: Split, action: EnableAction): Promise<void> {
  const p = await s.y.getPartitionManager().definePartition('MM', { restoreFromNode: 'X' }, 'X', [new ReplicaNode('Y')]);
  await p.enable(action);
}

const sorted = (keys: unknown[]): string[] => keys.map(String).sort();

describe('named partitions: restoring a multi-master split', { concurrency: 1 }, () => {
  it('JOIN_CLUSTER: an object on both sides is a duplicate: ObjectNotUniqueError, and the copy stops', async () => {
    const s = await split('np-mm-join', 18500);
    await assert.rejects(restoreY(s, EnableAction.JOIN_CLUSTER), (e: Error) => e instanceof ObjectNotUniqueError && /map 'm': key "k1"/.test(e.message));
    // Y kept what it had (its local objects were not cleared) and is not a replica.
    assert.deepEqual(sorted(localKeys(s.y, s.slot, 'm')), ['k1', 'k2', 'ky']);
    assert.equal(localValue(s.y, s.slot, 'm', 'k1'), 'y');
    const map = await s.y.getMap<string, string>('m');
    assert.equal(await map.get('k1'), 'x', "the cluster's partition is X's");
    assert.deepEqual(sorted(await map.keys()), ['k1', 'k3', 'kx']);
    assert.equal(s.y.getPartitionManager().getPartition('MM').getState(), 'ACTIVE');
    assert.deepEqual(s.x.getPartitionManager().getPartition('MM').getReplicaNodes().map(String), ['Y:synchronous']);
  });

  it('JOIN_CLUSTER without duplicates: objects only on the restored node stay there as orphans', async () => {
    const s = await split('np-mm-orphan', 18510, false);
    await restoreY(s, EnableAction.JOIN_CLUSTER);
    // Y now holds X's objects plus its orphan; the partition (X) does not know the orphan.
    await until(() => localKeys(s.y, s.slot, 'm').length === 2, 20_000, 'Y to hold the copy');
    assert.deepEqual(sorted(localKeys(s.y, s.slot, 'm')), ['kx', 'ky']);
    const map = await s.x.getMap<string, string>('m');
    assert.equal(await map.get('ky'), undefined);
    assert.deepEqual(await map.keys(), ['kx']);
    // Writes reach Y as a replica again.
    await map.put('k9', 'x');
    await until(() => localKeys(s.y, s.slot, 'm').includes('k9'), 20_000, 'Y to get the backup');
  });

  it('JOIN_CLUSTER_PURGE: the restored node drops its objects first; nothing of its side survives', async () => {
    const s = await split('np-mm-purge', 18520);
    await restoreY(s, EnableAction.JOIN_CLUSTER_PURGE);
    await until(() => sorted(localKeys(s.y, s.slot, 'm')).join() === 'k1,k3,kx', 20_000, "Y to hold X's copy");
    assert.equal(localValue(s.y, s.slot, 'm', 'k1'), 'x');
    const map = await s.y.getMap<string, string>('m');
    assert.deepEqual(sorted(await map.keys()), ['k1', 'k3', 'kx']);
    assert.equal(await map.get('ky'), undefined);
  });

  it("JOIN_CLUSTER_RESTORE: merged; X's objects win, Y's own objects are kept, deleted ones reappear", async () => {
    const s = await split('np-mm-restore', 18530);
    await restoreY(s, EnableAction.JOIN_CLUSTER_RESTORE);
    const map = await s.y.getMap<string, string>('m');
    // k1: on both sides, X's wins. kx: X only. ky: Y only, kept. k2: deleted on X during the
    // split but still on Y: it reappears. k3: deleted on Y, still on X: stays.
    assert.deepEqual(sorted(await map.keys()), ['k1', 'k2', 'k3', 'kx', 'ky']);
    assert.equal(await map.get('k1'), 'x');
    assert.equal(await map.get('ky'), 'y');
    assert.equal(await map.get('k2'), 'before');
    // Both copies are the merged partition.
    await until(() => sorted(localKeys(s.y, s.slot, 'm')).join() === 'k1,k2,k3,kx,ky', 20_000, 'Y to hold the merged copy');
    assert.deepEqual(sorted(localKeys(s.x, s.slot, 'm')), ['k1', 'k2', 'k3', 'kx', 'ky']);
    assert.equal(localValue(s.y, s.slot, 'm', 'k1'), 'x');
  });
});
