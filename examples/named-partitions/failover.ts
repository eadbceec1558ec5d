/**
 * Failover of a named partition. Members A, B, C and a client member W run in this process. The
 * partition is active on A, replicated synchronously to B and asynchronously to C. W writes 1000
 * entries, then A is terminated as a crash would stop it. B, the first replica, becomes the
 * active node (every member learns it from a partition listener) with every acknowledged write,
 * and C now replicates B.
 *
 *   npx tsx examples/named-partitions/failover.ts
 *
 * Expected output:
 *   Active node is A, replicas B:synchronous, C:asynchronous
 *   Wrote 1000 entries through W
 *   Terminating A
 *   [B] Active node is B
 *   [C] Active node is B
 *   [W] Active node is B
 *   Replicas now C:asynchronous
 *   B holds 1000 of 1000 entries: a synchronous replica loses nothing acknowledged
 */
import { EnableAction, PartitionMapper, ReplicaNode, ReplicationType, Shoal, type Partition, type ShoalInstance } from '../../src/index.js';

class Orders extends PartitionMapper<string> {
  getPartition(key: string): string | null {
    return key.startsWith('order-') ? 'Orders' : null;
  }
}

// A crash is noticed when heartbeats stop: a short detector keeps the example quick.
const config = (name: string) => ({
  memberName: name,
  logging: { level: 'error' as const },
  network: { port: 5801 },
  failureDetector: { heartbeatIntervalMs: 200, maxNoHeartbeatMs: 1500 },
});
const members = new Map<string, ShoalInstance>();
for (const name of ['A', 'B', 'C', 'W']) members.set(name, await Shoal.newInstance(config(name)));
for (const m of members.values()) m.getPartitionManager().setMapper(String, new Orders());

const a = members.get('A')!;
const orders = await a.getPartitionManager().definePartition('Orders', null, 'A', [
  new ReplicaNode('B', ReplicationType.SYNCHRONOUS),
  new ReplicaNode('C', ReplicationType.ASYNCHRONOUS),
]);
await orders.enable(EnableAction.JOIN_CLUSTER);
console.log(`Active node is ${orders.getActiveNode()}, replicas ${orders.getReplicaNodes().join(', ')}`);

const w = members.get('W')!;
const map = await w.getMap<string, number>('orders');
for (let i = 0; i < 1000; i++) await map.put(`order-${i}`, i);
console.log('Wrote 1000 entries through W');

function activeOn(m: ShoalInstance, node: string): Promise<Partition> {
  const pm = m.getPartitionManager();
  return new Promise((resolve) => {
    const check = (p: Partition): void => {
      if (p.getName() !== 'Orders' || p.getActiveNode() !== node || p.getState() !== 'ACTIVE') return;
      pm.removePartitionListener(id);
      resolve(p);
    };
    const id = pm.addPartitionListener(check);
  });
}
const survivors = ['B', 'C', 'W'];
const waiting = survivors.map((name) => activeOn(members.get(name)!, 'B'));
console.log('Terminating A');
await a.terminate();
members.delete('A');
const seen = await Promise.all(waiting);
seen.forEach((p, i) => console.log(`[${survivors[i]}] Active node is ${p.getActiveNode()}`));
console.log(`Replicas now ${seen[2].getReplicaNodes().join(', ')}`);

const slot = seen[0].getPartitionId();
const held = members.get('B')!.getNodeEngine().getService<{ stores: { entryCount(): number }[] }>('shoal:map').stores[slot].entryCount();
console.log(`B holds ${held} of ${await map.size()} entries: a synchronous replica loses nothing acknowledged`);
await Promise.all([...members.values()].map((m) => m.terminate()));
