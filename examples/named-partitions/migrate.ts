/**
 * Migrating a named partition. Members A, B and C run in this process; each one installs the
 * mapper, defines the partition (active on A, replicated synchronously to B and C) and enables
 * it. The active node migrates it to C (with B and A as replicas) while every member waits for
 * the change: a partition listener, no polling and no sleeping. The object written before the
 * migration is still there after it.
 *
 *   npx tsx examples/named-partitions/migrate.ts
 *
 * Expected output:
 *   [A] Active node is A
 *   [B] Active node is A
 *   [C] Active node is A
 *   [A] Migrated partition to node C
 *   [A] Partition migration complete.
 *   [B] Partition migration complete.
 *   [C] Partition migration complete.
 *   [A] Active node is C
 *   [B] Active node is C
 *   [C] Active node is C
 *   The object is intact: an object
 */
import { EnableAction, PartitionMapper, ReplicaNode, ReplicationType, Shoal, type Partition, type ShoalInstance } from '../../src/index.js';

const PARTITION_NAME = 'Partition Migration Snippet';

/** Every key of this example goes to the one partition. */
class UpdateMapper extends PartitionMapper<string> {
  getPartition(): string {
    return PARTITION_NAME;
  }
}

const config = (name: string) => ({ memberName: name, logging: { level: 'warn' as const }, network: { port: 5801 } });
const members: ShoalInstance[] = [];
for (const name of ['A', 'B', 'C']) members.push(await Shoal.newInstance(config(name)));

// Initialization, on every node.
await Promise.all(
  members.map(async (m) => {
    const pm = m.getPartitionManager();
    pm.setMapper(String, new UpdateMapper());
    await pm.definePartition(PARTITION_NAME, null, 'A', [new ReplicaNode('B', ReplicationType.SYNCHRONOUS), new ReplicaNode('C', ReplicationType.SYNCHRONOUS)]);
    await pm.enablePartitions(EnableAction.JOIN_CLUSTER);
  }),
);
const objects = await members[1].getMap<string, string>('objects');
await objects.put('anObject', 'an object');

for (const m of members) {
  const partition = m.getPartitionManager().getObjectPartition('anObject');
  console.log(`[${m.getName()}] Active node is ${partition.getActiveNode()}`);
}

/** Resolves once this member sees the partition active on `node`, told by a partition listener. */
function waitForMigration(m: ShoalInstance, node: string): Promise<Partition> {
  const pm = m.getPartitionManager();
  return new Promise((resolve) => {
    const check = (p: Partition): void => {
      if (p.getName() !== PARTITION_NAME || p.getActiveNode() !== node || p.getState() !== 'ACTIVE') return;
      pm.removePartitionListener(id);
      resolve(p);
    };
    const id = pm.addPartitionListener(check);
    check(pm.getPartition(PARTITION_NAME));
  });
}
const waiting = members.map((m) => waitForMigration(m, 'C'));

// Only the current active node may migrate the partition.
for (const m of members) {
  const partition = m.getPartitionManager().getObjectPartition('anObject');
  if (partition.getActiveNode() !== m.getName()) continue;
  await partition.migrate(null, 'C', [new ReplicaNode('B', ReplicationType.SYNCHRONOUS), new ReplicaNode('A', ReplicationType.SYNCHRONOUS)]);
  console.log(`[${m.getName()}] Migrated partition to node C`);
}

const seen = await Promise.all(waiting);
for (const m of members) console.log(`[${m.getName()}] Partition migration complete.`);
seen.forEach((partition, i) => console.log(`[${members[i].getName()}] Active node is ${partition.getActiveNode()}`));
console.log(`The object is intact: ${await objects.get('anObject')}`);
await Promise.all(members.map((m) => m.terminate()));
