/**
 * Step 4: place a remote call through a proxy. Two members; the proxy sends IncOperation to the
 * owner of the counter's partition, which prints where it ran and returns a dummy 0.
 *
 *   npx tsx examples/counter/step4-proxy.ts
 *
 * Expected output:
 *   Executing 0counter.inc() on: Address[127.0.0.1]:5702
 *   0
 *   Executing 1counter.inc() on: Address[127.0.0.1]:5702
 *   0
 *   Executing 2counter.inc() on: Address[127.0.0.1]:5701
 *   0
 *   Executing 3counter.inc() on: Address[127.0.0.1]:5701
 *   0
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

class CounterService implements ManagedService, RemoteService {
  static readonly NAME = 'CounterService';
  private nodeEngine!: NodeEngine;

  createDistributedObject(objectName: string): DistributedObject {
    return new CounterProxy(objectName, this.nodeEngine, this);
  }

  destroyDistributedObject(_objectName: string): void {
    // nothing to clean up yet; the containers of step 5 will need it
  }

  init(nodeEngine: NodeEngine): void {
    this.nodeEngine = nodeEngine;
  }

  shutdown(): void {}

  reset(): void {}
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
    const operation = new IncOperation(this.name, amount);
    const partitionId = nodeEngine.getPartitionService().getPartitionId(this.name);
    return nodeEngine.getOperationService().createInvocationBuilder(CounterService.NAME, operation, partitionId).invoke<number>();
  }
}

class IncOperation extends Operation implements PartitionAwareOperation {
  // The TypeScript counterpart of "a no-arg constructor for deserialization": a stable type id
  // and a constructor that works without arguments.
  static readonly typeId = 1401;
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
    this.returnValue = 0;
  }

  override returnsResponse(): boolean {
    return true;
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

for (const counter of counters) console.log(await counter.inc(1));

console.log('Finished');
await Promise.all(instances.map((i) => i.terminate()));
