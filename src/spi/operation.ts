import type { Address } from '../core/address.js';
import type { ObjectDataInput, ObjectDataOutput } from '../serialization/object-data.js';
import type { NodeEngine } from './node-engine.js';

/**
 * A unit of work sent to a partition (or a member) and run there. Subclasses carry their own
 * fields, write them in `writeInternal` and read them back in `readInternal`; a class is made
 * known to every member with `registerOperation(Ctor)` and a `static readonly typeId`, the
 * TypeScript counterpart of "a no-arg constructor for deserialization".
 *
 * The engine sets partition, service, caller and node engine before `run()`.
 */
export abstract class Operation {
  // Set in the constructor by plain assignment rather than with class-field initialisers: a
  // base-class initialiser shared by many subclasses turns megamorphic once a member has met
  // dozens of operation types, and then costs ~20× more per operation (bench/micro/operation-alloc.ts).
  /** @internal set by the engine */ declare _partitionId: number;
  /** @internal */ declare _replicaIndex: number;
  /** @internal */ declare _serviceName: string;
  /** @internal */ declare _nodeEngine: NodeEngine | null;
  /** @internal */ declare _callerAddress: Address | null;

  constructor() {
    this._partitionId = -1;
    this._replicaIndex = 0;
    this._serviceName = '';
    this._nodeEngine = null;
    this._callerAddress = null;
  }

  /**
   * Does the work. May be async: the partition stays held by this operation until the promise
   * settles, so no other operation of the same partition interleaves with it.
   */
  abstract run(): void | Promise<void>;

  /** False makes the call fire-and-forget: the caller's promise resolves once it was sent. */
  returnsResponse(): boolean {
    return true;
  }

  /** The value sent back to the caller after `run()`. */
  getResponse(): unknown {
    return undefined;
  }

  getPartitionId(): number {
    return this._partitionId;
  }

  /** 0 on the owner; the backup's replica index when running as a backup or replication op. */
  getReplicaIndex(): number {
    return this._replicaIndex;
  }

  getServiceName(): string {
    return this._serviceName;
  }

  /** The service instance (on the member running the operation) this operation was sent to. */
  getService<S = unknown>(): S {
    return this.getNodeEngine().getService<S>(this._serviceName);
  }

  getNodeEngine(): NodeEngine {
    if (this._nodeEngine === null) throw new Error(`${this.constructor.name} has not been bound to a member yet`);
    return this._nodeEngine;
  }

  /** Address of the member that invoked this operation (null for a local call before dispatch). */
  getCallerAddress(): Address | null {
    return this._callerAddress;
  }

  writeInternal(_out: ObjectDataOutput): void {}

  readInternal(_input: ObjectDataInput): void {}
}

/** The seeds' name for the base class. */
export { Operation as AbstractOperation };

/** An operation that runs against one partition's data (`getPartitionId()` is set). */
export interface PartitionAwareOperation {
  getPartitionId(): number;
}

/**
 * An operation that changes partition data and must be replayed on backups. The owner runs it,
 * then sends `getBackupOperation()` to `getSyncBackupCount()` replicas (waited for) and
 * `getAsyncBackupCount()` more (not waited for), in the owner's order.
 */
export interface BackupAwareOperation {
  getSyncBackupCount(): number;
  getAsyncBackupCount(): number;
  shouldBackup(): boolean;
  getBackupOperation(): Operation;
}

/**
 * An operation that reads or writes one key of its partition (a counter by name, a map entry).
 * While a write waits for its synchronous backups, only later operations with the same ordering
 * key wait behind it; operations on other keys of the partition run meanwhile, and operations
 * that are not keyed wait for every such write (they may read the whole partition). Without this
 * interface a write holds its whole partition until its backups acknowledged.
 *
 * `getOrderingKey()` must be pure: the engine reads it when the call arrives and again after it ran.
 * It may return null for a call that touches more than one key: that call holds the partition.
 */
export interface KeyedOperation {
  getOrderingKey(): string | number | null;
}

/** Marks the operation that replays a change on a backup replica. */
export interface BackupOperation extends Operation {}

export interface OperationConstructor<T extends Operation = Operation> {
  new (): T;
  readonly typeId: number;
}
