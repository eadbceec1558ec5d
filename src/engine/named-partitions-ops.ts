/**
 * The engine's own operations for named partitions (type ids 20..26). Requests go from a member
 * to the master, which owns every definition; the registry goes from the master to every member;
 * restore steps go from the master to the members that hold the data.
 *
 * Payloads are plain objects written with writeObject and checked by typed guards on arrival
 * (src/engine/named-partitions.ts), like control messages.
 */
import { Address } from '../core/address.js';
import type { ObjectDataInput, ObjectDataOutput } from '../serialization/object-data.js';
import { registerType } from '../serialization/type-registry.js';
import { MergePolicy } from '../spi/services.js';
import { MalformedMessageError, int, isRecord, str } from './guards.js';
import { InternalOperation } from './internal-operation.js';

/** Base: one plain-object payload each way. */
abstract class PayloadOperation extends InternalOperation {
  payload: Record<string, unknown> = {};
  protected result: unknown = null;

  constructor(payload?: Record<string, unknown>) {
    super();
    if (payload !== undefined) this.payload = payload;
  }

  override getResponse(): unknown {
    return this.result;
  }

  override writeInternal(out: ObjectDataOutput): void {
    out.writeObject(this.payload);
  }

  override readInternal(input: ObjectDataInput): void {
    const payload = input.readObject();
    if (!isRecord(payload)) throw new MalformedMessageError(`${this.constructor.name}: payload must be an object`);
    this.payload = payload;
  }
}

/** Master → member: the named-partition registry (definitions). Fire and forget. */
export class NamedRegistryOp extends PayloadOperation {
  static readonly typeId = 20;
  override returnsResponse(): boolean {
    return false;
  }
  run(): void {
    this.node().named.installRegistry(this.getCallerAddress(), this.payload);
  }
}

/** Member → master: register a partition name (assigns its slot). Responds `{ slot, revision }`. */
export class NamedDefineOp extends PayloadOperation {
  static readonly typeId = 21;
  run(): void {
    this.result = this.node().named.masterDefine(this.payload);
  }
}

/** Member → master: enable a partition with an action. Responds once its copies are done. */
export class NamedEnableOp extends PayloadOperation {
  static readonly typeId = 22;
  async run(): Promise<void> {
    await this.node().named.masterEnable(this.payload);
  }
}

/** Active node → master: migrate a partition. Responds with a MigrationReport once done. */
export class NamedMigrateOp extends PayloadOperation {
  static readonly typeId = 23;
  async run(): Promise<void> {
    this.result = await this.node().named.masterMigrate(this.payload);
  }
}

/**
 * Master → a member being restored with JOIN_CLUSTER_RESTORE: stream your local objects of the
 * slot to the active node, which adds the ones it lacks (MergePolicy.KEEP_EXISTING).
 */
export class NamedMergeStreamOp extends PayloadOperation {
  static readonly typeId = 24;
  async run(): Promise<void> {
    const slot = int(this.payload, 'slot', 0);
    const destination = Address.parse(str(this.payload, 'destination', 300));
    const policy = str(this.payload, 'policy', 32);
    if (policy !== String(MergePolicy.KEEP_EXISTING) && policy !== String(MergePolicy.FAIL_ON_DUPLICATE)) throw new MalformedMessageError(`bad merge policy '${policy}'`);
    this.result = await this.node().partitions.streamMerge(slot, destination, policy as MergePolicy);
  }
}

/** Master → replica: re-copy your replica of the slot from its owner now; responds when applied. */
export class NamedResyncOp extends PayloadOperation {
  static readonly typeId = 25;
  async run(): Promise<void> {
    const slot = int(this.payload, 'slot', 0);
    const timeoutMs = int(this.payload, 'timeoutMs', 1);
    await this.node().partitions.forceReplicaSync(slot, timeoutMs);
  }
}

for (const ctor of [NamedRegistryOp, NamedDefineOp, NamedEnableOp, NamedMigrateOp, NamedMergeStreamOp, NamedResyncOp]) {
  registerType(ctor);
}
