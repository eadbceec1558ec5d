/**
 * The PartitionManager / Partition API: every call, valid and invalid.
 * Ports 18000-18099.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  EnableAction,
  NodeListMismatchError,
  NotActiveNodeError,
  PartitionMapper,
  PartitionNotFoundError,
  ReplicaNode,
  ReplicationType,
  ResourceUnavailableError,
  type Partition,
} from '../../src/index.js';
import { TestCluster, until } from './helpers.js';

class FlintStone {
  constructor(readonly name: string) {}
}
class Rubble extends FlintStone {}

class ByName extends PartitionMapper<FlintStone> {
  getPartition(obj: FlintStone): string {
    return obj.name;
  }
}

describe('named partitions: API', { concurrency: 1 }, () => {
  const cluster = new TestCluster({ basePort: 18000, clusterName: 'np-api', config: () => ({ namedPartitionsMax: 4, nodeActiveTimeoutSeconds: 3 }) });
  before(async () => {
    await cluster.start('A', 'B', 'C');
  });
  after(async () => {
    await cluster.stop();
  });

  it('partition ids: hashed partitions first, then named slots; the hash only uses the hashed ones', () => {
    const ps = cluster.get('A').getPartitionService();
    assert.equal(ps.getHashedPartitionCount(), 271);
    assert.equal(ps.getPartitionCount(), 271 + 4);
    for (const key of ['a', 'b', 42, 'Fred']) assert.ok(ps.getPartitionId(key) < 271);
    assert.equal(ps.getPartitionIds().length, 271, 'no named partition is enabled yet');
  });

  it('definePartition: a definition with defaults, visible on every member', async () => {
    const pm = cluster.get('A').getPartitionManager();
    const odd = await pm.definePartition('Odd', null, 'A', [new ReplicaNode('B', ReplicationType.SYNCHRONOUS), new ReplicaNode('C', ReplicationType.ASYNCHRONOUS)]);
    assert.equal(odd.getName(), 'Odd');
    assert.equal(odd.getActiveNode(), 'A');
    assert.deepEqual(
      odd.getReplicaNodes().map((r) => [r.getMemberName(), r.getReplicationType()]),
      [
        ['B', ReplicationType.SYNCHRONOUS],
        ['C', ReplicationType.ASYNCHRONOUS],
      ],
    );
    assert.equal(odd.getState(), 'INITIAL');
    assert.ok(odd.getPartitionId() >= 271 && odd.getPartitionId() < 275);
    assert.deepEqual(odd.getProperties(), {
      broadcastDefinitionUpdates: true,
      forceReplication: false,
      numberOfThreads: 1,
      objectsLockedPerTransaction: 1000,
      restoreFromNode: null,
      sparsePartitionAudit: true,
    });
    await until(() => cluster.get('C').getPartitionManager().getPartitions().some((p) => p.getName() === 'Odd'), 20_000, 'C to learn the definition');
    assert.equal(cluster.get('C').getPartitionManager().getPartition('Odd').getPartitionId(), odd.getPartitionId());
  });

  it('writing to a partition that is defined but not enabled fails with ResourceUnavailableError naming it', async () => {
    const pm = cluster.get('B').getPartitionManager();
    pm.setMapper(String, new (class extends PartitionMapper<string> {
      getPartition(key: string): string | null {
        return key.startsWith('odd-') ? 'Odd' : null;
      }
    })());
    const map = await cluster.get('B').getMap<string, number>('api-writes');
    await assert.rejects(map.put('odd-1', 1), (e: Error) => e instanceof ResourceUnavailableError && e.message === "partition 'Odd' is not active");
    await map.put('even-1', 1); // hashed keys are unaffected
    assert.equal(await map.get('even-1'), 1);
  });

  it('enablePartitions: places the partition; writes go to the active node and reach the replicas', async () => {
    const a = cluster.get('A');
    await a.getPartitionManager().enablePartitions(EnableAction.JOIN_CLUSTER);
    const odd = a.getPartitionManager().getPartition('Odd');
    assert.equal(odd.getState(), 'ACTIVE');
    const map = await cluster.get('B').getMap<string, number>('api-writes');
    await map.put('odd-1', 1);
    assert.equal(await map.get('odd-1'), 1);
    assert.ok(cluster.get('B').getPartitionService().getPartitionIds().includes(odd.getPartitionId()));
    const owner = a.getPartitionService().getPartitionOwner(odd.getPartitionId());
    assert.equal(owner?.name, 'A');
    for (const name of ['A', 'B', 'C']) {
      await until(() => cluster.get(name).getPartitionManager().getPartition('Odd').getState() === 'ACTIVE', 20_000, `${name} to see Odd active`);
    }
  });

  it('definePartition: the same definition again is a no-op with the same slot, from any member', async () => {
    const again = await cluster.get('C').getPartitionManager().definePartition('Odd', null, 'A', [new ReplicaNode('B'), new ReplicaNode('C', ReplicationType.ASYNCHRONOUS)]);
    assert.equal(again.getPartitionId(), cluster.get('A').getPartitionManager().getPartition('Odd').getPartitionId());
    await again.enable(EnableAction.JOIN_CLUSTER);
    assert.equal(again.getActiveNode(), 'A');
  });

  it('definePartition rejects bad arguments', async () => {
    const pm = cluster.get('A').getPartitionManager();
    const bad: [string, () => Promise<Partition>][] = [
      ['empty name', () => pm.definePartition('', null, 'A', null)],
      ['long name', () => pm.definePartition('x'.repeat(257), null, 'A', null)],
      ['control character', () => pm.definePartition('a\nb', null, 'A', null)],
      ['empty active node', () => pm.definePartition('P', null, '', null)],
      ['replica twice', () => pm.definePartition('P', null, 'A', [new ReplicaNode('B'), new ReplicaNode('B')])],
      ['active node as replica', () => pm.definePartition('P', null, 'A', [new ReplicaNode('A')])],
      ['seven replicas', () => pm.definePartition('P', null, 'A', ['B', 'C', 'D', 'E', 'F', 'G', 'H'].map((n) => new ReplicaNode(n)))],
      ['bad replication type', () => pm.definePartition('P', null, 'A', [new ReplicaNode('B', 'SOMETIMES' as ReplicationType)])],
      ['unknown property', () => pm.definePartition('P', { colour: 'red' } as never, 'A', null)],
      ['threads 0', () => pm.definePartition('P', { numberOfThreads: 0 }, 'A', null)],
      ['threads 65', () => pm.definePartition('P', { numberOfThreads: 65 }, 'A', null)],
      ['negative batch', () => pm.definePartition('P', { objectsLockedPerTransaction: -1 }, 'A', null)],
      ['non-boolean flag', () => pm.definePartition('P', { forceReplication: 'yes' } as never, 'A', null)],
    ];
    for (const [what, call] of bad) await assert.rejects(call(), (e: Error) => e instanceof RangeError || e instanceof TypeError, what);
    assert.throws(() => pm.getPartition('P'), PartitionNotFoundError);
  });

  it('definePartition waits for the active node, then fails naming it and its state', async () => {
    const pm = cluster.get('A').getPartitionManager();
    const started = Date.now();
    await assert.rejects(
      pm.definePartition('Bogus', null, 'bogus', null),
      (e: Error) => e instanceof ResourceUnavailableError && e.message === "Remote node 'bogus' cannot be accessed, current state is 'Undiscovered'",
    );
    assert.ok(Date.now() - started >= 2900, 'waited nodeActiveTimeoutSeconds (3 s)');
    assert.throws(() => pm.getPartition('Bogus'), PartitionNotFoundError);
  });

  it('definePartition resolves once the active node joins', async () => {
    const pending = cluster.get('A').getPartitionManager().definePartition('Late', null, 'D', null);
    await cluster.start('D');
    const late = await pending;
    assert.equal(late.getActiveNode(), 'D');
    await late.enable(EnableAction.JOIN_CLUSTER);
    assert.equal(cluster.get('A').getPartitionService().getPartitionOwner(late.getPartitionId())?.name, 'D');
    await until(() => cluster.get('B').getPartitionService().getPartitionOwner(late.getPartitionId())?.name === 'D', 20_000, 'B to learn the owner');
  });

  it("a node that left is reported as 'Down'", async () => {
    await cluster.terminate('D');
    await until(() => cluster.get('A').getCluster().getMembers().length === 3, 20_000, 'D to be removed');
    await assert.rejects(cluster.get('A').getPartitionManager().definePartition('AfterD', null, 'D', null), (e: Error) => e.message === "Remote node 'D' cannot be accessed, current state is 'Down'");
  });

  it('a partition whose nodes are all gone is UNAVAILABLE and refuses writes', async () => {
    const late = cluster.get('A').getPartitionManager().getPartition('Late');
    await until(() => late.getState() === 'UNAVAILABLE', 20_000, 'Late to be unavailable');
    const map = await cluster.get('A').getMap<number, number>('late');
    cluster.get('A').getPartitionManager().setMapper(Number, new (class extends PartitionMapper<number> {
      getPartition(): string {
        return 'Late';
      }
    })());
    await assert.rejects(map.put(7, 1), (e: Error) => e instanceof ResourceUnavailableError && /partition 'Late' is not active/.test(e.message));
    assert.ok(cluster.get('A').getPartitionManager().removeMapper(Number));
    assert.equal(cluster.get('A').getPartitionManager().removeMapper(Number), false);
  });

  it('named slots are limited by named-partitions-max', async () => {
    const pm = cluster.get('A').getPartitionManager();
    await pm.definePartition('Third', null, 'A', null);
    await pm.definePartition('Fourth', null, 'A', null);
    await assert.rejects(pm.definePartition('Fifth', null, 'A', null), (e: Error) => e instanceof ResourceUnavailableError && /named-partitions-max/.test(e.message));
  });

  it('mappers: per class, inherited by subclasses, a subclass mapper overrides; getObjectPartition', async () => {
    const pm = cluster.get('C').getPartitionManager();
    await until(() => pm.getPartitions().some((p) => p.getName() === 'Third'), 20_000, 'C to learn Third');
    assert.throws(() => pm.getObjectPartition(new FlintStone('Odd')), PartitionNotFoundError);
    pm.setMapper(FlintStone, new ByName());
    assert.equal(pm.getObjectPartition(new FlintStone('Odd')).getName(), 'Odd');
    assert.equal(pm.getObjectPartition(new Rubble('Odd')).getName(), 'Odd', 'inherited');
    const ps = cluster.get('C').getPartitionService();
    assert.equal(ps.getPartitionId(new Rubble('Odd')), pm.getPartition('Odd').getPartitionId());
    pm.setMapper(Rubble, new (class extends PartitionMapper<Rubble> {
      getPartition(): string {
        return 'Third';
      }
    })());
    assert.equal(pm.getObjectPartition(new Rubble('Odd')).getName(), 'Third', 'the subclass mapper wins');
    assert.equal(pm.getObjectPartition(new FlintStone('Odd')).getName(), 'Odd');
    pm.setMapper(Rubble, new (class extends PartitionMapper<Rubble> {
      getPartition(): string | null {
        return null; // placed by hash
      }
    })());
    assert.throws(() => pm.getObjectPartition(new Rubble('x')), PartitionNotFoundError);
    assert.ok(ps.getPartitionId('plain string') < 271);
    assert.throws(() => pm.getObjectPartition(new FlintStone('Nope')), PartitionNotFoundError);
    assert.throws(() => ps.getPartitionId(new FlintStone('Nope')), PartitionNotFoundError);
    assert.throws(() => pm.setMapper(FlintStone, {} as never), TypeError);
  });

  it('enable rejects an unknown action and an unknown partition', async () => {
    const pm = cluster.get('A').getPartitionManager();
    await assert.rejects(pm.enablePartitions('JOIN' as EnableAction), RangeError);
    assert.throws(() => pm.getPartition('Nope'), PartitionNotFoundError);
  });

  it('migrate: only on the active node; not to a missing node; no broadcast-off override', async () => {
    const onB = cluster.get('B').getPartitionManager().getPartition('Odd');
    await assert.rejects(onB.migrate(null, 'B', [new ReplicaNode('A')]), (e: Error) => e instanceof NotActiveNodeError && /active node 'A'/.test(e.message));
    const onA = cluster.get('A').getPartitionManager().getPartition('Odd');
    await assert.rejects(onA.migrate(null, 'nobody', null), ResourceUnavailableError);
    await assert.rejects(onA.migrate({ broadcastDefinitionUpdates: false }, 'B', null), RangeError);
    await assert.rejects(onA.migrate({ numberOfThreads: 0 }, 'B', null), RangeError);
    assert.equal(onA.getActiveNode(), 'A');
  });

  it('migrate on the active node moves the partition; every member sees the new active node', async () => {
    const onA = cluster.get('A').getPartitionManager().getPartition('Odd');
    const map = await cluster.get('B').getMap<string, number>('api-writes');
    const report = await onA.migrate(null, 'C', [new ReplicaNode('B'), new ReplicaNode('A', ReplicationType.ASYNCHRONOUS)]);
    assert.equal(report.partitionName, 'Odd');
    assert.ok(report.moves >= 1);
    for (const name of ['A', 'B', 'C']) {
      await until(() => cluster.get(name).getPartitionManager().getPartition('Odd').getActiveNode() === 'C', 20_000, `${name} to see C active`);
    }
    assert.equal(await map.get('odd-1'), 1);
    assert.deepEqual(
      onA.getReplicaNodes().map(String),
      ['B:synchronous', 'A:asynchronous'],
    );
  });

  it('partition listeners fire on changes and can be removed', async () => {
    const pm = cluster.get('B').getPartitionManager();
    const seen: string[] = [];
    const id = pm.addPartitionListener((p) => seen.push(`${p.getName()}:${p.getActiveNode()}:${p.getState()}`));
    await cluster.get('C').getPartitionManager().getPartition('Odd').migrate(null, 'A', [new ReplicaNode('B'), new ReplicaNode('C', ReplicationType.ASYNCHRONOUS)]);
    await until(() => seen.some((s) => s === 'Odd:A:ACTIVE'), 20_000, 'the listener to see A active');
    assert.ok(pm.removePartitionListener(id));
    assert.equal(pm.removePartitionListener(id), false);
    assert.throws(() => pm.addPartitionListener(null as never), TypeError);
  });

  it('sparse partition audit: a member outside the node list enabling another node list fails', async () => {
    // D is not in Odd's list: its definition differs from the cluster's.
    await cluster.start('D');
    const pm = cluster.get('D').getPartitionManager();
    await pm.definePartition('Odd', null, 'A', [new ReplicaNode('C')]);
    await assert.rejects(pm.enablePartitions(EnableAction.JOIN_CLUSTER), NodeListMismatchError);
    // With the audit off, D accepts the cluster's node list instead.
    await pm.definePartition('Odd', { sparsePartitionAudit: false }, 'A', [new ReplicaNode('C')]);
    await pm.enablePartitions(EnableAction.JOIN_CLUSTER);
    assert.deepEqual(pm.getPartition('Odd').getReplicaNodes().map(String), ['B:synchronous', 'C:asynchronous']);
    await cluster.terminate('D');
  });
});
