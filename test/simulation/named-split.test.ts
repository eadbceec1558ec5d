/**
 * A real split brain with a named partition active on both sides, in the simulator: the network
 * splits {X, Z} | {Y}, each side removes the other and keeps partition MM active (X on its side; Y,
 * its synchronous replica, promoted on the other), both sides write, the network heals, the
 * smaller side (Y) merges into the larger one on its own and keeps its copy of MM aside, and Y
 * then enables MM with each EnableAction, as the seed describes:
 *
 *   before the split: k1, k2, k3 = 'before'
 *   X's side: k1 = 'x', adds kx, removes k2.      Y's side: k1 = 'y', adds ky, removes k3.
 *
 * - JOIN_CLUSTER: k1 is on both sides: ObjectNotUniqueError, the copy stops, Y keeps its objects
 *   (and may try again with another action); without duplicates, Y's own objects stay with it as
 *   orphans the partition does not know;
 * - JOIN_CLUSTER_PURGE: Y drops its objects first: nothing of its side survives;
 * - JOIN_CLUSTER_RESTORE: merged: X's objects win, Y's own are kept, k2 (deleted on X) reappears.
 *
 * The checkers run after the restore (members agree, replicas converge); the owner ledger shows the
 * multi-master itself: both X and Y ran operations as MM's owner while both sides wrote. (It no
 * longer shows it as two owners under one partition version: Y, master of its side, moved every
 * version past the ones it had when it took over.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EnableAction, ObjectNotUniqueError, PartitionMapper, ReplicaNode, ReplicationType } from '../../src/index.js';
import type { DistributedMap } from '../../src/map/types.js';
import { MAP_SERVICE_NAME } from '../../src/map/name.js';
import { MapService } from '../../src/map/map-service.js';
import { Simulation, membershipAgrees, replicasConverge, type SimMember, type Violation } from '../../src/testing/index.js';

const NAMES = ['X', 'Y', 'Z'];

class AllIn extends PartitionMapper<string> {
  getPartition(): string {
    return 'MM';
  }
}

/** Runs the simulation until `promise` settles (at most `boundMs` of virtual time) and returns its value. */
async function drive<T>(sim: Simulation, promise: Promise<T>, boundMs = 30_000): Promise<T> {
  let settled = false;
  let value: T | undefined;
  let failure: { error: unknown } | null = null;
  promise.then(
    (v) => {
      settled = true;
      value = v;
    },
    (error: unknown) => {
      settled = true;
      failure = { error };
    },
  );
  await sim.runFor(boundMs, () => settled);
  if (!settled) throw new Error(`did not settle within ${boundMs} virtual ms`);
  if (failure !== null) throw (failure as { error: unknown }).error;
  return value as T;
}

interface Split {
  readonly sim: Simulation;
  readonly x: SimMember;
  readonly y: SimMember;
  readonly z: SimMember;
  readonly p: number;
  readonly splitAt: number;
  /** When both sides had MM active and started writing, and when they were done. */
  readonly writesFrom: number;
  readonly writesTo: number;
  readonly mergedAt: number;
  map(m: SimMember): DistributedMap<string, string>;
}

function store(m: SimMember, p: number): Map<string, string> {
  const service = m.service<MapService>(MAP_SERVICE_NAME);
  assert.ok(service !== undefined);
  const ser = m.node.serialization;
  const out = new Map<string, string>();
  for (const e of service.stores[p].maps.get('m')?.values() ?? []) out.set(String(ser.toObject(e.key)), String(ser.toObject(e.value)));
  return out;
}

const keys = (m: Map<string, string>): string => [...m.keys()].sort().join(',');

async function splitBrain(seed: number, withDuplicates = true): Promise<Split> {
  const sim = new Simulation({
    seed,
    members: 3,
    cluster: { partitionCount: 8, namedPartitionsMax: 4, heartbeatIntervalMs: 250, maxNoHeartbeatMs: 1500, joinTimeoutMs: 2000, callTimeoutMs: 8000, mergeIntervalMs: 1000 },
    memberName: (slot) => NAMES[slot],
    services: () => [],
  });
  sim.start();
  assert.ok(await sim.runUntilSafe(20_000), sim.diagnose().join('\n'));
  const [x, y, z] = sim.members as [SimMember, SimMember, SimMember];
  for (const m of [x, y, z]) m.node.named.manager.setMapper(String, new AllIn());
  const maps = new Map<SimMember, DistributedMap<string, string>>();
  for (const m of [x, y, z]) maps.set(m, await drive(sim, m.node.proxies.getDistributedObject<DistributedMap<string, string>>(MAP_SERVICE_NAME, 'm')));
  const map = (m: SimMember): DistributedMap<string, string> => {
    const found = maps.get(m);
    assert.ok(found !== undefined);
    return found;
  };
  const pm = x.node.named.manager;
  const partition = await drive(sim, pm.definePartition('MM', null, 'X', [new ReplicaNode('Y', ReplicationType.SYNCHRONOUS)]));
  await drive(sim, partition.enable(EnableAction.JOIN_CLUSTER));
  const p = partition.getPartitionId();
  if (withDuplicates) for (const k of ['k1', 'k2', 'k3']) await drive(sim, map(x).put(k, 'before'));
  await sim.runFor(5000, () => store(y, p).size === (withDuplicates ? 3 : 0));
  assert.equal(store(y, p).size, withDuplicates ? 3 : 0, 'Y holds the replica');

  // The split: each side removes the other and keeps MM active.
  const splitAt = sim.now;
  sim.partition([[x, z], [y]]);
  const lists = (m: SimMember): string => m.node.cluster.getMembers().map((n) => n.name).sort().join(',');
  await sim.runFor(20_000, () => lists(x) === 'X,Z' && lists(z) === 'X,Z' && lists(y) === 'Y');
  assert.equal(lists(x), 'X,Z');
  assert.equal(lists(y), 'Y');
  await sim.runFor(10_000, () => y.node.named.manager.getPartition('MM').getActiveNode() === 'Y' && y.node.partitions.table.owner(p) === y.uuid);
  // Multi-master: each side has MM active, on its own node.
  assert.equal(x.node.named.manager.getPartition('MM').getActiveNode(), 'X');
  assert.equal(y.node.named.manager.getPartition('MM').getActiveNode(), 'Y');
  assert.equal(x.node.named.manager.getPartition('MM').getState(), 'ACTIVE');
  assert.equal(y.node.named.manager.getPartition('MM').getState(), 'ACTIVE');
  const writesFrom = sim.now;
  if (withDuplicates) {
    await drive(sim, map(x).put('k1', 'x'));
    await drive(sim, map(x).put('kx', 'x'));
    await drive(sim, map(x).remove('k2'));
    await drive(sim, map(y).put('k1', 'y'));
    await drive(sim, map(y).put('ky', 'y'));
    await drive(sim, map(y).remove('k3'));
    assert.equal(keys(store(x, p)), 'k1,k3,kx');
    assert.equal(keys(store(y, p)), 'k1,k2,ky');
  } else {
    await drive(sim, map(x).put('kx', 'x'));
    await drive(sim, map(y).put('ky', 'y'));
  }
  const writesTo = sim.now;

  // The heal: the sides find each other; Y (one member) merges into {X, Z} on its own.
  sim.heal();
  await sim.runFor(30_000, () => lists(x) === 'X,Y,Z' && lists(y) === 'X,Y,Z' && lists(z) === 'X,Y,Z');
  assert.equal(lists(y), 'X,Y,Z', 'one cluster again');
  const mergedAt = sim.now;
  assert.ok(await sim.runUntilSafe(30_000), sim.diagnose().join('\n'));
  assert.equal(y.node.splitBrain.merges, 1, 'Y merged');
  assert.equal(x.node.splitBrain.merges, 0, 'X stayed');
  // Y keeps its copy aside, outside MM's row; the cluster's MM is X's.
  assert.deepEqual(y.node.named.retainedPartitions(), ['MM']);
  assert.ok(!x.node.partitions.table.row(p).includes(y.uuid));
  assert.deepEqual(x.node.named.keptOut('MM'), ['Y']);
  assert.equal(keys(store(y, p)), withDuplicates ? 'k1,k2,ky' : 'ky');
  assert.equal(await drive(sim, map(y).get(withDuplicates ? 'k1' : 'kx')), 'x', "the cluster's MM is X's");
  return { sim, x, y, z, p, splitAt, writesFrom, writesTo, mergedAt, map };
}

/** Y redefines MM to restore from X (its active node) and enables it with `action`. */
function restoreY(s: Split, action: EnableAction): Promise<void> {
  const pm = s.y.node.named.manager;
  return pm.definePartition('MM', { restoreFromNode: 'X' }, 'X', [new ReplicaNode('Y', ReplicationType.SYNCHRONOUS)]).then((p) => p.enable(action));
}

function mapData(s: Split): (uuid: string, p: number) => unknown {
  return (uuid, p) => {
    const m = s.sim.memberByUuid(uuid);
    return m === undefined ? undefined : store(m, p);
  };
}

/** The checkers over the cluster after the restore. */
function check(s: Split): Violation[] {
  const views = s.sim.views();
  return [...membershipAgrees(views, s.sim.deadUuids), ...replicasConverge(views, { dataBackups: 1, data: mapData(s) })];
}

/**
 * The multi-master as the owner ledger saw it: X and Y both ran operations as MM's owner while both
 * sides wrote. Two owners of one partition version may also be reported (two sides can still share
 * a version), but only during the split; nothing else may be.
 */
function multiMaster(s: Split): void {
  const v = s.sim.violations.filter((x) => x.checker === 'singleOwnerPerPartitionVersion');
  for (const x of v) assert.ok(x.at !== undefined && x.at >= s.splitAt && x.at <= s.mergedAt, `outside the split: ${x.message}`);
  assert.deepEqual(
    s.sim.violations.filter((x) => x.checker !== 'singleOwnerPerPartitionVersion'),
    [],
  );
  assert.deepEqual(s.sim.owners.ownersBetween(s.p, s.writesFrom, s.writesTo).sort(), [s.x.uuid, s.y.uuid].sort(), 'the ledger saw X and Y both run MM as owner during the split');
}

test('split brain, JOIN_CLUSTER: k1 on both sides is a duplicate: ObjectNotUniqueError; Y keeps its objects and can restore later', async () => {
  const s = await splitBrain(1);
  await assert.rejects(drive(s.sim, restoreY(s, EnableAction.JOIN_CLUSTER)), (e: Error) => e instanceof ObjectNotUniqueError && /key "k1"/.test(e.message));
  // Y's objects were not cleared, it is no replica, and its copy is still kept aside.
  assert.equal(keys(store(s.y, s.p)), 'k1,k2,ky');
  assert.equal(store(s.y, s.p).get('k1'), 'y');
  assert.deepEqual(s.y.node.named.retainedPartitions(), ['MM']);
  assert.ok(!s.x.node.partitions.table.row(s.p).includes(s.y.uuid));
  assert.equal(await drive(s.sim, s.map(s.y).get('k1')), 'x');
  assert.deepEqual((await drive(s.sim, s.map(s.z).keys())).sort(), ['k1', 'k3', 'kx']);
  // Then a restore with JOIN_CLUSTER_RESTORE goes through.
  await drive(s.sim, restoreY(s, EnableAction.JOIN_CLUSTER_RESTORE));
  assert.ok(await s.sim.runUntilSafe(30_000), s.sim.diagnose().join('\n'));
  assert.deepEqual((await drive(s.sim, s.map(s.z).keys())).sort(), ['k1', 'k2', 'k3', 'kx', 'ky']);
  assert.deepEqual(check(s), []);
  multiMaster(s);
});

test('split brain, JOIN_CLUSTER without duplicates: objects only on Y stay there as orphans', async () => {
  const s = await splitBrain(2, false);
  await drive(s.sim, restoreY(s, EnableAction.JOIN_CLUSTER));
  assert.ok(await s.sim.runUntilSafe(30_000), s.sim.diagnose().join('\n'));
  // Y holds X's objects plus its orphan; the partition (X) does not know the orphan.
  assert.equal(keys(store(s.y, s.p)), 'kx,ky');
  assert.equal(keys(store(s.x, s.p)), 'kx');
  assert.equal(await drive(s.sim, s.map(s.z).get('ky')), undefined);
  assert.deepEqual(await drive(s.sim, s.map(s.z).keys()), ['kx']);
  assert.deepEqual(s.y.node.named.retainedPartitions(), []);
  // Y is MM's synchronous replica again.
  assert.deepEqual(s.x.node.named.manager.getPartition('MM').getReplicaNodes().map(String), ['Y:synchronous']);
  await drive(s.sim, s.map(s.z).put('k9', 'z'));
  assert.equal(store(s.y, s.p).get('k9'), 'z');
  // The checkers see the orphan for what it is: Y's copy holds one object its owner does not.
  const violations = check(s).map((v) => v.message);
  assert.equal(violations.length, 1, violations.join('\n'));
  assert.match(violations[0], new RegExp(`partition ${s.p}: backup 1 on .* holds .*ky`));
  multiMaster(s);
});

test('split brain, JOIN_CLUSTER_PURGE: Y drops its objects first; nothing of its side survives', async () => {
  const s = await splitBrain(3);
  await drive(s.sim, restoreY(s, EnableAction.JOIN_CLUSTER_PURGE));
  assert.ok(await s.sim.runUntilSafe(30_000), s.sim.diagnose().join('\n'));
  assert.equal(keys(store(s.y, s.p)), 'k1,k3,kx');
  assert.equal(store(s.y, s.p).get('k1'), 'x');
  assert.deepEqual((await drive(s.sim, s.map(s.y).keys())).sort(), ['k1', 'k3', 'kx']);
  assert.equal(await drive(s.sim, s.map(s.y).get('ky')), undefined);
  assert.deepEqual(check(s), []);
  multiMaster(s);
});

test("split brain, JOIN_CLUSTER_RESTORE: merged; X's objects win, Y's own are kept, deleted ones reappear", async () => {
  const s = await splitBrain(4);
  await drive(s.sim, restoreY(s, EnableAction.JOIN_CLUSTER_RESTORE));
  assert.ok(await s.sim.runUntilSafe(30_000), s.sim.diagnose().join('\n'));
  // k1: on both sides, X's wins. kx: X only. ky: Y only, kept. k2: deleted on X during the split
  // but still on Y: it reappears. k3: deleted on Y, still on X: stays.
  assert.deepEqual((await drive(s.sim, s.map(s.z).keys())).sort(), ['k1', 'k2', 'k3', 'kx', 'ky']);
  assert.equal(await drive(s.sim, s.map(s.z).get('k1')), 'x');
  assert.equal(await drive(s.sim, s.map(s.z).get('ky')), 'y');
  assert.equal(await drive(s.sim, s.map(s.z).get('k2')), 'before');
  assert.equal(keys(store(s.y, s.p)), 'k1,k2,k3,kx,ky');
  assert.equal(keys(store(s.x, s.p)), 'k1,k2,k3,kx,ky');
  assert.equal(store(s.y, s.p).get('k1'), 'x');
  assert.deepEqual(check(s), []);
  multiMaster(s);
});
