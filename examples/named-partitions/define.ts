/**
 * Defining and enabling named partitions (the ActiveSpaces model). Members A, B and C run in this
 * process. A installs a mapper that puts each FlintStone in the partition named after it, defines
 * Fred (active on A) and Barney (active on C), both replicated synchronously to B, and enables
 * them. Fred and Barney are then stored in a map: each lands on its partition's active node.
 *
 *   npx tsx examples/named-partitions/define.ts
 *
 * Expected output:
 *   Fred is in Fred
 *   Barney is in Barney
 *   Fred is active on A, replicated to B:synchronous
 *   Barney is active on C, replicated to B:synchronous
 *   Bedrock residents: 2
 */
import {
  EnableAction,
  PartitionMapper,
  ReplicaNode,
  ReplicationType,
  Shoal,
  registerType,
  type DataSerializable,
  type ObjectDataInput,
  type ObjectDataOutput,
} from '../../src/index.js';

/** A value type the map can carry (and a mapper can place). */
class FlintStone implements DataSerializable {
  static readonly typeId = 5001;
  name = '';
  constructor(name?: string) {
    if (name !== undefined) this.name = name;
  }
  writeData(out: ObjectDataOutput): void {
    out.writeUTF(this.name);
  }
  readData(input: ObjectDataInput): void {
    this.name = input.readUTF();
  }
}
registerType(FlintStone);

/** Puts objects in partitions by name. */
class AssignPartitions extends PartitionMapper<FlintStone> {
  getPartition(obj: FlintStone): string {
    return obj.name;
  }
}

// Port 5801 and up, so this runs beside the counter examples (5701 and up).
const config = (name: string) => ({ memberName: name, logging: { level: 'warn' as const }, network: { port: 5801 } });
const members = [];
for (const name of ['A', 'B', 'C']) members.push(await Shoal.newInstance(config(name)));
const a = members[0];
const pm = a.getPartitionManager();

// Install the mapper, define the partitions, enable them.
pm.setMapper(FlintStone, new AssignPartitions());
await pm.definePartition('Fred', null, 'A', [new ReplicaNode('B', ReplicationType.SYNCHRONOUS)]);
await pm.definePartition('Barney', null, 'C', [new ReplicaNode('B', ReplicationType.SYNCHRONOUS)]);
await pm.enablePartitions(EnableAction.JOIN_CLUSTER);

// Create Fred and Barney.
const fred = new FlintStone('Fred');
const barney = new FlintStone('Barney');
const bedrock = await a.getMap<FlintStone, string>('bedrock');
await bedrock.put(fred, 'Fred Flintstone');
await bedrock.put(barney, 'Barney Rubble');

console.log(`${fred.name} is in ${pm.getObjectPartition(fred).getName()}`);
console.log(`${barney.name} is in ${pm.getObjectPartition(barney).getName()}`);
for (const stone of [fred, barney]) {
  const partition = pm.getObjectPartition(stone);
  console.log(`${partition.getName()} is active on ${partition.getActiveNode()}, replicated to ${partition.getReplicaNodes().join(', ')}`);
}
console.log(`Bedrock residents: ${await bedrock.size()}`);
await Promise.all(members.map((m) => m.terminate()));
