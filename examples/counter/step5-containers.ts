/**
 * Step 5: a container per partition holds the counters, so increments are real. Two members,
 * two rounds; each counter lives on the member owning its partition.
 *
 *   npx tsx examples/counter/step5-containers.ts
 *
 * Expected output:
 *   Round 1
 *   Executing 0counter.inc() on: Address[127.0.0.1]:5702
 *   1
 *   Executing 1counter.inc() on: Address[127.0.0.1]:5702
 *   1
 *   Executing 2counter.inc() on: Address[127.0.0.1]:5701
 *   1
 *   Executing 3counter.inc() on: Address[127.0.0.1]:5701
 *   1
 *   Round 2
 *   Executing 0counter.inc() on: Address[127.0.0.1]:5702
 *   2
 *   Executing 1counter.inc() on: Address[127.0.0.1]:5702
 *   2
 *   Executing 2counter.inc() on: Address[127.0.0.1]:5701
 *   2
 *   Executing 3counter.inc() on: Address[127.0.0.1]:5701
 *   2
 *   Finished
 */
import {
  AbstractDistributedObject,
  Operation,
  Shoal,
  registerOperation,
  type DistributedObject,
  type ManagedService,
  type NodeEngine,
  type ObjectDataInput,
  type ObjectDataOutput,
  type PartitionAwareOperation,
  type RemoteService,
  type ShoalInstance,
} from '../../src/index.js';

interface Counter extends DistributedObject {
  inc(amount: number): Promise<number>;
}

/** One per partition. One operation runs at a time per partition, so no locking is needed. */
class Container {
  readonly values = new Map<string, number>();

  init(objectName: string): void {
    this.values.set(objectName, 0);
  }

  destroy(objectName: string): void {
    this.values.delete(objectName);
  }
}

class CounterService implements ManagedService, RemoteService {
  static readonly NAME = 'CounterService';
  containers: Container[] = [];
  private nodeEngine!: NodeEngine;

  init(nodeEngine: NodeEngine): void {
    this.nodeEngine = nodeEngine;
    this.containers = Array.from({ length: nodeEngine.getPartitionService().getPartitionCount() }, () => new Container());
  }

  shutdown(): void {}

  reset(): void {}

  createDistributedObject(objectName: string): DistributedObject {
    const partitionId = this.nodeEngine.getPartitionService().getPartitionId(objectName);
    this.containers[partitionId].init(objectName);
    return new CounterProxy(objectName, this.nodeEngine, this);
  }

  destroyDistributedObject(objectName: string): void {
    const partitionId = this.nodeEngine.getPartitionService().getPartitionId(objectName);
    this.containers[partitionId].destroy(objectName);
  }
}

class CounterProxy extends AbstractDistributedObject<CounterService> implements Counter {
  constructor(
    private readonly name: string,
    nodeEngine: NodeEngine,
    service: CounterService,
  ) {
    super(nodeEngine, service);
  }

  getServiceName(): string {
    return CounterService.NAME;
  }

  getName(): string {
    return this.name;
  }

  inc(amount: number): Promise<number> {
    const nodeEngine = this.getNodeEngine();
    const partitionId = nodeEngine.getPartitionService().getPartitionId(this.name);
    return nodeEngine.getOperationService().createInvocationBuilder(CounterService.NAME, new IncOperation(this.name, amount), partitionId).invoke<number>();
  }
}

class IncOperation extends Operation implements PartitionAwareOperation {
  static readonly typeId = 1501;
  private objectId = '';
  private amount = 0;
  private returnValue = 0;

  constructor(objectId?: string, amount?: number) {
    super();
    if (objectId !== undefined) this.objectId = objectId;
    if (amount !== undefined) this.amount = amount;
  }

  run(): void {
    console.log(`Executing ${this.objectId}.inc() on: ${this.getNodeEngine().getThisAddress().toString()}`);
    const container = this.getService<CounterService>().containers[this.getPartitionId()];
    const counter = (container.values.get(this.objectId) ?? 0) + this.amount;
    container.values.set(this.objectId, counter);
    this.returnValue = counter;
  }

  override getResponse(): number {
    return this.returnValue;
  }

  override writeInternal(out: ObjectDataOutput): void {
    out.writeUTF(this.objectId);
    out.writeInt(this.amount);
  }

  override readInternal(input: ObjectDataInput): void {
    this.objectId = input.readUTF();
    this.amount = input.readInt();
  }
}

registerOperation(IncOperation);

const config = () => ({ logging: { level: 'warn' as const }, services: [{ name: CounterService.NAME, implementation: new CounterService() }] });
const instances: ShoalInstance[] = [];
for (let k = 0; k < 2; k++) instances.push(await Shoal.newInstance(config()));

const counters: Counter[] = [];
for (let k = 0; k < 4; k++) counters.push(await instances[0].getDistributedObject<Counter>(CounterService.NAME, `${k}counter`));

console.log('Round 1');
for (const counter of counters) console.log(await counter.inc(1));
console.log('Round 2');
for (const counter of counters) console.log(await counter.inc(1));

console.log('Finished');
await Promise.all(instances.map((i) => i.terminate()));
