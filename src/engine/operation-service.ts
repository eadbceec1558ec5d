/**
 * Invocations: routes operations to partition owners (or to one member), runs them one at a time
 * per partition, replays backups, and delivers responses.
 *
 * Ordering contract (stated once, checked by the simulator's checkers):
 *   A caller's promise resolves only after the owner ran the operation AND every synchronous
 *   backup acknowledged applying it. Backups of one partition are sent in the owner's order and
 *   applied on each replica in that order, one at a time. Until a write's synchronous backups
 *   acknowledged, no later operation that could observe it runs (the same key for a
 *   KeyedOperation, else the whole partition; see PartitionExecutor's holds).
 *
 * Retries are transparent: wrong target, partition not yet assigned or being migrated, and a
 * target that left or dropped the connection all lead to a retry with back-off until the call
 * timeout. A retried call carries the same caller identity and call id, and the owner (or a
 * promoted backup) answers it from its call record instead of applying it twice.
 */
import type { Address } from '../core/address.js';
import type { Runtime, TimerHandle } from '../core/runtime.js';
import { BackupVerdict, CallRecords, ReplicaVersions, SETTLED } from '../core/replica-bookkeeping.js';
import { ObjectDataInput, ObjectDataOutput } from '../serialization/object-data.js';
import type { TypeRegistry } from '../serialization/type-registry.js';
import {
  IndeterminateOperationStateError,
  InstanceNotActiveError,
  OperationTimeoutError,
  ResourceUnavailableError,
  ShoalError,
  errorFromWire,
} from '../spi/errors.js';
import type { InvocationBuilder, Logger, NodeEngine, OperationService } from '../spi/node-engine.js';
import type { Operation } from '../spi/operation.js';
import { isBackupAwareOperation, isKeyedOperation } from '../spi/services.js';
import type { Transport } from '../transport/transport.js';
import type { AnswerWait } from './busy-poll.js';
import { InvocationRegistry } from './invocation-registry.js';
import { Hold, PartitionExecutor, type OrderKey, type TaskResult } from './partition-executor.js';
import { FrameKind, OpFlags, ResponseStatus, readOperationBody, writeOperationBody } from './wire.js';
import type { FaultSites } from './fault-sites.js';

export const BACKUP_COUNT_MAX = 6;

/** How one backup of a named partition is sent (see sendNamedBackups). */
export interface NamedBackupPlan {
  /** Entry i-1: whether replica index i is synchronous (waited for). */
  readonly sync: readonly boolean[];
  /** A batched migration's destination catching up: it gets every backup, not waited for. */
  readonly shadow: { readonly address: Address; readonly replicaIndex: number } | null;
}

/** Named partitions (partition ids ≥ `from`), set by the member (named-partitions.ts). */
export interface NamedOperationHooks {
  readonly from: number;
  backupPlan(partitionId: number): NamedBackupPlan | null;
  /** Why calls to this named partition must fail now (not enabled, no live node), or null to retry. */
  unavailableReason(partitionId: number): string | null;
}

export interface InvocationSettings {
  readonly callTimeoutMs: number;
  readonly retryPauseMs: number;
  readonly backupAckTimeoutMs: number;
  readonly failOnIndeterminateBackup: boolean;
}

/** What the operation service needs from the rest of the member. */
export interface OperationServiceDeps {
  readonly runtime: Runtime;
  readonly logger: Logger;
  readonly settings: InvocationSettings;
  readonly registry: TypeRegistry;
  readonly transport: Transport;
  readonly nodeEngine: NodeEngine;
  readonly partitionCount: number;
  readonly faults: FaultSites;
  localAddress(): Address;
  /** Address of the member at replica `replicaIndex` of the partition, or null. */
  replicaAddress(partitionId: number, replicaIndex: number): Address | null;
  /** True when this member owns the partition and it is not frozen by a migration. */
  acceptsOperations(partitionId: number): boolean;
  /** Asks the master to assign partitions (they are assigned lazily, on first use). */
  triggerAssignment(): void;
  /** The partition's version in this member's table (reported to `FaultSites.ownerRunning`). */
  partitionVersion?(partitionId: number): number;
  isRunning(): boolean;
  /** Told when a call goes to another member (busy polling, see busy-poll.ts); absent in the simulator. */
  readonly answerWait?: AnswerWait | null;
}

/** How often the coarse clock is read and call deadlines are checked. */
const SWEEP_INTERVAL_MS = 100;

const enum RetryReason {
  NOT_OWNER = 'not the owner',
  NOT_ASSIGNED = 'partition not assigned',
  TARGET_LEFT = 'target left',
}

/**
 * One call in flight. It is also its own response target (for a local run) and its own
 * partition task, so a local call allocates no closures beyond its promise.
 */
class Invocation implements ResponseTarget {
  /** Where the last attempt was sent (null: not sent, or run locally). */
  sentTo: Address | null = null;
  tries = 0;
  /** Set once a remote attempt was sent: later failures are indeterminate rather than safe. */
  everSent = false;
  retryTimer: TimerHandle | null = null;
  /** Waiting in its partition's queue on this member (see runLocal). */
  queuedLocally = false;
  resolve!: (value: unknown) => void;
  reject!: (error: unknown) => void;
  readonly remote = null;

  /** Assigned by the registry when the call is registered. */
  callId = 0;
  /** ResponseTarget: a local call gets no response frame. */
  readonly callerEpoch = 0;

  constructor(
    readonly service: OperationServiceImpl,
    readonly op: Operation,
    readonly serviceName: string,
    readonly partitionId: number,
    /** Fixed target of a member invocation; null for partition invocations. */
    readonly memberTarget: Address | null,
    /** From the coarse clock; moved later by the sweep if that clock was stale (see sweepDeadlines). */
    public deadline: number,
    /** The coarse clock's tick when the call was made. */
    readonly bornTick: number,
  ) {}

  private key: OrderKey | null | undefined = undefined;

  /**
   * The key the operation touches (KeyedOperation), read once the operation is bound to this
   * member (a key may depend on its service) and kept: the executor and afterRun both ask.
   */
  get orderKey(): OrderKey | null {
    if (this.key === undefined) this.key = orderKeyOf(this.op);
    return this.key;
  }

  get local(): Invocation {
    return this;
  }

  /** CallIdentity: this member's incarnation. */
  get caller(): string {
    return this.service.localCaller();
  }

  /** CallIdentity: this member's low-water mark. */
  get lowWater(): number {
    return this.service.lowWater;
  }

  /** Runs in the partition's slot (see PartitionExecutor). */
  runTask(): TaskResult {
    return this.service.executeLocal(this);
  }
}

/** Where a response goes: back to a local invocation, or over the wire to a remote caller. */
interface ResponseTarget {
  readonly local: Invocation | null;
  readonly remote: Address | null;
  readonly callId: number;
  /** The caller's incarnation, echoed in the response. */
  readonly callerEpoch: number;
  /** The key the operation touches (KeyedOperation), computed once per call. */
  readonly orderKey: OrderKey | null;
}

/**
 * Who made a call, for the exactly-once call records: the caller's incarnation (address and
 * epoch), the call id, and the caller's low-water mark (every call of it below that id has
 * completed and will never be retried).
 */
interface CallIdentity {
  readonly caller: string;
  readonly callId: number;
  readonly lowWater: number;
}

/** A call that arrived from another member: its response target, identity and partition task. */
class RemoteCall implements ResponseTarget, CallIdentity {
  readonly local = null;
  /** The key the operation touches (KeyedOperation), for the partition executor. */
  orderKey: OrderKey | null = null;
  constructor(
    readonly service: OperationServiceImpl,
    /** Set once decoded (null only while decoding, or when decoding failed). */
    public op: Operation | null,
    readonly partitionId: number,
    readonly remote: Address,
    /** 0 for a call that wants no response (and is then not recorded either: it is never retried). */
    readonly callId: number,
    readonly caller: string,
    readonly lowWater: number,
    readonly callerEpoch: number,
  ) {}

  runTask(): TaskResult {
    return this.service.executeRemote(this);
  }
}

/**
 * One write's wait for its synchronous backups. The partition stays held (`held`) until the round
 * finishes: then the response goes out and the partition's next operation may run. A plain object
 * with one promise, rather than a chain of them: this is on every backed-up write's path.
 */
class AckRound {
  /** Address keys of the synchronous backups that have not acknowledged yet. */
  readonly waitingOn: string[];
  /** Settles once the response went out: what the partition executor waits for. */
  readonly held: Promise<void>;
  release!: () => void;
  /** The response already went out (the deliberate test bug `ackBeforeBackups`). */
  answered = false;

  constructor(
    readonly partitionId: number,
    readonly op: Operation,
    readonly target: ResponseTarget,
    readonly response: unknown,
    waitingOn: string[],
    /** From the coarse clock; moved later by the sweep if that clock was stale (see sweepDeadlines). */
    public deadline: number,
    /** The coarse clock's tick when the round began. */
    readonly bornTick: number,
  ) {
    this.waitingOn = waitingOn;
    this.held = new Promise<void>((release) => {
      this.release = release;
    });
  }

  /** Marks `key` as acknowledged; true when nobody is left. */
  acknowledged(key: string): boolean {
    const i = this.waitingOn.indexOf(key);
    if (i >= 0) this.waitingOn.splice(i, 1);
    return this.waitingOn.length === 0;
  }
}

export class OperationServiceImpl implements OperationService {
  readonly executor: PartitionExecutor;
  readonly replicaVersions: ReplicaVersions;
  readonly callRecords: CallRecords;
  /** Per partition, the highest replica index this member (as owner) sent a backup to. */
  readonly backupIndexMax: Uint8Array;
  private readonly deps: OperationServiceDeps;
  private readonly pending = new InvocationRegistry<Invocation>();
  private readonly pendingAcks = new Map<number, AckRound>();
  private nextAckId = 1;
  /** Distinguishes call records of this incarnation from a restarted member at the same address. */
  private readonly epoch: number;
  /** `address/epoch` of this member (see localCaller). */
  private localCallerKey: string | null = null;
  /** `address/epoch` of remote callers, by address key: built once, not per call. */
  private readonly callerKeys = new Map<string, { epoch: number; key: string }>();
  /**
   * The oldest call id still in flight here (or the lowest id a new call can get), sent with every
   * call so owners can drop call records below it; refreshed by the deadline sweep.
   */
  lowWater = 0;
  private readonly out = new ObjectDataOutput(1024);
  private readonly input: ObjectDataInput;
  private sweepTimer: TimerHandle | null = null;
  /**
   * The clock read at most every 100 ms (by the deadline sweep): call deadlines need no better
   * precision, and reading the clock per call was a measurable share of a local call.
   */
  private coarseNow = 0;
  /** Counts the coarse clock's refreshes: tells which calls were stamped with the current reading. */
  private coarseTick = 0;

  constructor(deps: OperationServiceDeps) {
    this.deps = deps;
    this.epoch = deps.runtime.random.int(0x7fffffff);
    this.executor = new PartitionExecutor(deps.partitionCount, (p, e) => deps.logger.error({ partitionId: p, err: e }, 'partition task failed'));
    this.replicaVersions = new ReplicaVersions(deps.partitionCount);
    this.backupIndexMax = new Uint8Array(deps.partitionCount);
    this.ackWaiting = new Uint16Array(deps.partitionCount);
    this.callRecords = new CallRecords(deps.partitionCount, { recordsPerCallerMax: 10_000, recordAgeMaxMs: 10 * 60_000 });
    this.input = new ObjectDataInput(Buffer.alloc(0), 0, 0, deps.registry);
  }

  start(): void {
    this.coarseNow = this.deps.runtime.clock.now();
    this.sweepTimer = this.deps.runtime.timers.every(SWEEP_INTERVAL_MS, () => this.sweepDeadlines());
  }

  /** Fails every pending call; used at shutdown. */
  stop(reason: string): void {
    if (this.sweepTimer) this.deps.runtime.timers.clear(this.sweepTimer);
    for (const inv of this.pending.values()) {
      if (inv.retryTimer) this.deps.runtime.timers.clear(inv.retryTimer);
      inv.reject(new InstanceNotActiveError(reason));
    }
    this.pending.clear();
    const rounds = [...this.pendingAcks.values()];
    this.pendingAcks.clear();
    for (const round of rounds) this.finishRound(round, false);
  }

  pendingCount(): number {
    return this.pending.size;
  }

  /** The configured per-call timeout (invocation.callTimeoutMs). */
  get defaultCallTimeoutMs(): number {
    return this.deps.settings.callTimeoutMs;
  }

  // --- public API -----------------------------------------------------------------------------

  createInvocationBuilder(serviceName: string, op: Operation, partitionId: number): InvocationBuilder {
    if (!Number.isInteger(partitionId) || partitionId < 0 || partitionId >= this.deps.partitionCount) {
      throw new RangeError(`partitionId ${partitionId} is outside 0..${this.deps.partitionCount - 1}`);
    }
    return new Builder(this, serviceName, op, partitionId, null);
  }

  createInvocationBuilderOnMember(serviceName: string, op: Operation, target: Address): InvocationBuilder {
    return new Builder(this, serviceName, op, -1, target);
  }

  invokeOnPartition<T = unknown>(serviceName: string, op: Operation, partitionId: number): Promise<T> {
    if (!Number.isInteger(partitionId) || partitionId < 0 || partitionId >= this.deps.partitionCount) {
      return Promise.reject(new RangeError(`partitionId ${partitionId} is outside 0..${this.deps.partitionCount - 1}`));
    }
    return this.invoke(serviceName, op, partitionId, null, this.deps.settings.callTimeoutMs) as Promise<T>;
  }

  /** @internal used by Builder */
  invoke(serviceName: string, op: Operation, partitionId: number, memberTarget: Address | null, timeoutMs: number): Promise<unknown> {
    if (!this.deps.isRunning()) return Promise.reject(new InstanceNotActiveError('this Shoal instance is not running'));
    return new Promise<unknown>((resolve, reject) => {
      const inv = new Invocation(this, op, serviceName, partitionId, memberTarget, this.coarseNow + timeoutMs, this.coarseTick);
      inv.resolve = resolve;
      inv.reject = reject;
      op._serviceName = serviceName;
      op._partitionId = partitionId;
      this.pending.add(inv);
      this.attempt(inv);
    });
  }

  // --- sending --------------------------------------------------------------------------------

  private attempt(inv: Invocation): void {
    inv.retryTimer = null;
    inv.tries++;
    const local = this.deps.localAddress();
    let target: Address | null;
    if (inv.memberTarget !== null) {
      target = inv.memberTarget;
    } else {
      target = this.deps.replicaAddress(inv.partitionId, 0);
      if (target === null) {
        const named = this.named;
        const unavailable = named !== null && inv.partitionId >= named.from ? named.unavailableReason(inv.partitionId) : null;
        if (unavailable !== null) {
          this.fail(inv, new ResourceUnavailableError(unavailable));
          return;
        }
        this.deps.triggerAssignment();
        this.scheduleRetry(inv, RetryReason.NOT_ASSIGNED);
        return;
      }
    }
    if (target.equals(local)) {
      inv.sentTo = null;
      this.runLocal(inv);
      return;
    }
    inv.sentTo = target;
    inv.everSent = true;
    // Encoded into the shared output on every attempt (the transport copies it into its write
    // arena): no per-call buffer. A retry carries the same call id, so owners still recognise it.
    const out = this.encodeOperation(inv);
    this.sendFrom(target, out);
    if (!inv.op.returnsResponse()) this.complete(inv, undefined);
    else this.deps.answerWait?.callSent(this.pending.size);
  }

  /** Sends what `out` holds; the transport copies it before returning (no view, no buffer per frame). */
  private sendFrom(to: Address, out: ObjectDataOutput): void {
    this.deps.transport.send(to, out.backing, out.position());
  }

  /** Encodes the call into the shared output (returned), which the transport copies from. */
  private encodeOperation(inv: Invocation): ObjectDataOutput {
    const out = this.out;
    out.clear();
    out.writeByte(FrameKind.OPERATION);
    out.writeInt(this.epoch);
    out.writeLong(inv.callId);
    out.writeLong(this.lowWater);
    out.writeInt(inv.partitionId);
    out.writeByte(inv.op.returnsResponse() ? OpFlags.RETURNS_RESPONSE : 0);
    writeOperationBody(out, inv.serviceName, inv.op);
    return out;
  }

  private scheduleRetry(inv: Invocation, reason: string): void {
    // One retry at a time: a lost connection and a late RETRY answer to the same attempt both
    // ask for one, and two would run the call twice when both land on this member's queue.
    if (!this.pending.has(inv) || inv.retryTimer !== null) return;
    const now = this.deps.runtime.clock.now();
    if (now >= inv.deadline) {
      this.fail(inv, this.timeoutError(inv, reason));
      return;
    }
    // Back off linearly up to 10 pauses so a long migration is not hammered.
    const pause = this.deps.settings.retryPauseMs * Math.min(inv.tries, 10);
    inv.retryTimer = this.deps.runtime.timers.after(Math.min(pause, inv.deadline - now), () => this.attempt(inv));
  }

  private timeoutError(inv: Invocation, lastReason: string): Error {
    const what = `${inv.op.constructor.name} on ${inv.memberTarget ? inv.memberTarget.toString() : `partition ${inv.partitionId}`}`;
    return new OperationTimeoutError(`${what} did not complete within its call timeout (${inv.tries} tries, last: ${lastReason})`);
  }

  private complete(inv: Invocation, value: unknown): void {
    if (!this.pending.delete(inv)) return;
    // An answer can arrive while a retry is scheduled (the connection it went out on broke after
    // it was delivered): the retry must not go out, the caller's low-water mark has passed it.
    if (inv.retryTimer) this.deps.runtime.timers.clear(inv.retryTimer);
    inv.resolve(value);
  }

  private fail(inv: Invocation, error: unknown): void {
    if (!this.pending.delete(inv)) return;
    if (inv.retryTimer) this.deps.runtime.timers.clear(inv.retryTimer);
    inv.reject(error);
  }

  private sweepDeadlines(): void {
    const now = this.deps.runtime.clock.now();
    // After an event-loop stall the coarse clock was stale for as long as the stall: calls made
    // since its last reading were stamped up to that much too early, and would time out early
    // (or at once, for a stall longer than their timeout). Move their deadlines by the staleness
    // beyond one sweep interval, so none ends more than an interval before it should.
    const stale = now - this.coarseNow - SWEEP_INTERVAL_MS;
    const tick = this.coarseTick;
    this.coarseNow = now;
    this.coarseTick++;
    this.lowWater = this.pending.lowWater();
    for (const inv of this.pending.values()) {
      if (stale > 0 && inv.bornTick === tick) inv.deadline += stale;
      if (now >= inv.deadline && inv.retryTimer === null) this.fail(inv, this.timeoutError(inv, 'no response'));
    }
    for (const [id, round] of this.pendingAcks) {
      if (stale > 0 && round.bornTick === tick) round.deadline += stale;
      if (now >= round.deadline) {
        this.pendingAcks.delete(id);
        this.finishRound(round, false);
      }
    }
  }

  /** A member left or a connection dropped: calls sent there are retried against the new owner. */
  onTargetGone(address: Address): void {
    for (const inv of this.pending.values()) {
      if (inv.sentTo !== null && inv.sentTo.equals(address) && inv.retryTimer === null) {
        inv.sentTo = null;
        if (inv.memberTarget !== null) {
          this.fail(inv, new IndeterminateOperationStateError(`member ${address.toString()} left before answering ${inv.op.constructor.name}`));
        } else {
          this.scheduleRetry(inv, RetryReason.TARGET_LEFT);
        }
      }
    }
  }

  // --- executing ------------------------------------------------------------------------------

  private runLocal(inv: Invocation): void {
    const op = inv.op;
    op._nodeEngine = this.deps.nodeEngine;
    op._callerAddress = this.deps.localAddress();
    op._replicaIndex = 0;
    if (inv.partitionId < 0) {
      // execute() reports its own failures through the response target; nothing to await here.
      void this.execute(op, -1, inv, null);
    } else if (!inv.queuedLocally) {
      // Queued once: a copy already waiting in the partition's queue runs this attempt.
      inv.queuedLocally = true;
      this.executor.submit(inv.partitionId, inv);
    }
  }

  /** @internal the partition task of a local invocation */
  executeLocal(inv: Invocation): TaskResult {
    inv.queuedLocally = false;
    // Settled while it waited in the queue (a late answer from a remote owner, a timeout): it must
    // not run again.
    if (!this.pending.has(inv)) return;
    // A call that was sent before may have been applied by a remote owner whose replica this
    // member has since been promoted from: look it up under the identity that owner recorded.
    return this.execute(inv.op, inv.partitionId, inv, inv.everSent ? inv : null);
  }

  /** @internal the partition task of a call from another member */
  executeRemote(call: RemoteCall): TaskResult {
    return this.execute(call.op!, call.partitionId, call, call.callId === 0 ? null : call);
  }

  /** @internal `address/epoch`: the caller part of this member's call identities. */
  localCaller(): string {
    const key = `${this.deps.localAddress().key}/${this.epoch}`;
    if (this.localCallerKey !== key) this.localCallerKey = key;
    return this.localCallerKey;
  }

  private remoteCaller(from: Address, epoch: number): string {
    const cached = this.callerKeys.get(from.key);
    if (cached !== undefined && cached.epoch === epoch) return cached.key;
    const key = `${from.key}/${epoch}`;
    this.callerKeys.set(from.key, { epoch, key });
    return key;
  }

  /**
   * Runs one operation on this member (inside the partition's slot when partitionId ≥ 0).
   * Re-checks ownership first: the table may have changed while the operation was queued.
   */
  private execute(op: Operation, partitionId: number, target: ResponseTarget, call: CallIdentity | null): TaskResult {
    if (partitionId >= 0 && !this.deps.acceptsOperations(partitionId)) {
      this.respondRetry(target, RetryReason.NOT_OWNER);
      return;
    }
    if (call !== null) {
      const record = this.callRecords.find(partitionId, call.caller, call.callId, this.coarseNow);
      if (record === SETTLED) {
        // A retry that waited in the queue while its caller settled the call (simulator seed 97
        // with named partitions): nobody waits for it, and it may have been applied already.
        this.respondError(target, new IndeterminateOperationStateError(`call ${call.callId} was already settled by its caller; not run again`));
        return;
      }
      if (record !== undefined) {
        this.respondOk(target, record.response);
        return;
      }
    }
    if (partitionId >= 0 && this.deps.faults.active && this.deps.faults.ownerRunning !== undefined) {
      this.deps.faults.ownerRunning(this.deps.nodeEngine.getLocalMember().uuid, partitionId, this.deps.partitionVersion?.(partitionId) ?? -1);
    }
    let result: void | Promise<void>;
    try {
      result = op.run();
    } catch (error) {
      this.respondError(target, error);
      return;
    }
    if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
      return (result as Promise<void>).then(
        () => {
          const after = this.afterRun(op, partitionId, target, call);
          if (!(after instanceof Hold)) return after;
          // An async operation keeps the whole partition until its backups answered, but its
          // run is over: a replica copy may capture the partition now (isAwaitingBackupAcks).
          if (partitionId >= 0) this.executor.markRunOver(partitionId);
          return after.released;
        },
        (error: unknown) => this.respondError(target, error),
      );
    }
    return this.afterRun(op, partitionId, target, call);
  }

  private afterRun(op: Operation, partitionId: number, target: ResponseTarget, call: CallIdentity | null): TaskResult {
    const response = op.returnsResponse() ? op.getResponse() : undefined;
    if (partitionId >= 0 && call !== null) this.callRecords.put(partitionId, call.caller, call.callId, response, this.coarseNow, call.lowWater);
    if (partitionId >= 0 && isBackupAwareOperation(op) && op.shouldBackup()) {
      const round = this.sendBackups(op, partitionId, call, target, response);
      if (round !== null) {
        // Held until sync backups answered: no later operation that could observe this write
        // runs before its backups are in place — for a KeyedOperation, later operations on the
        // same key; otherwise the whole partition (see PartitionExecutor). Meanwhile a replica
        // sync may capture this partition at once (see isAwaitingBackupAcks).
        this.ackWaiting[partitionId]++;
        if (this.deps.faults.active && this.deps.faults.bugs?.ackBeforeBackups === true) {
          // Deliberate bug (simulator tests only): answer before the sync backups acknowledged.
          this.respondOk(target, response);
          round.answered = true;
        }
        return new Hold(target.orderKey, round.held);
      }
    }
    const hold = this.afterApplyFault(partitionId);
    if (hold !== null) return hold.then(() => this.respondOk(target, response));
    this.respondOk(target, response);
  }

  /** Every sync backup acknowledged (ok), or one refused, timed out or the member stops: answer, release the partition. */
  private finishRound(round: AckRound, ok: boolean): void {
    this.ackWaiting[round.partitionId]--;
    if (round.answered) {
      round.release();
      return;
    }
    const respond = (): void => {
      if (ok || !this.deps.settings.failOnIndeterminateBackup) this.respondOk(round.target, round.response);
      else this.respondError(round.target, new IndeterminateOperationStateError(`${round.op.constructor.name} was applied on the owner of partition ${round.partitionId} but not every synchronous backup confirmed it (a backup refused it, or no answer within ${this.deps.settings.backupAckTimeoutMs} ms)`));
      round.release();
    };
    const hold = this.afterApplyFault(round.partitionId);
    if (hold === null) respond();
    else void hold.then(respond);
  }

  /** Test hook (FaultSites.afterApply): applied on the owner, sync backups acknowledged, response not sent yet. */
  private afterApplyFault(partitionId: number): Promise<void> | null {
    return partitionId >= 0 && this.deps.faults.active ? this.deps.faults.afterApply(partitionId) : null;
  }

  // --- backups --------------------------------------------------------------------------------

  /** Sends backups; returns the round that waits for the sync ones, or null if none to wait for. */
  private sendBackups(op: Operation & import('../spi/operation.js').BackupAwareOperation, partitionId: number, call: CallIdentity | null, target: ResponseTarget, response: unknown): AckRound | null {
    const named = this.named;
    if (named !== null && partitionId >= named.from) {
      // Backups of a named partition follow its definition, not the operation's counts: every
      // replica of its row gets one, in order, and the caller waits for the synchronous ones
      // only. An asynchronous replica applies its backups in the order sent (the per-partition
      // queue), and a batched migration's destination (the shadow) gets them too.
      const plan = named.backupPlan(partitionId);
      if (plan === null || (plan.sync.length === 0 && plan.shadow === null)) return null;
      return this.replicate(op, partitionId, call, target, response, plan.sync.length, plan.sync, plan.shadow);
    }
    const sync = clampBackups(op.getSyncBackupCount(), 'sync', op);
    const async = clampBackups(op.getAsyncBackupCount(), 'async', op);
    const total = Math.min(sync + async, BACKUP_COUNT_MAX);
    if (total === 0) return null;
    return this.replicate(op, partitionId, call, target, response, total, sync, null);
  }

  /**
   * Sends the backup operation to replicas 1..`last` (skipping empty slots: fewer members than
   * backups means fewer backups) with the partition's next replica version. `sync` is the number
   * of leading synchronous replicas, or one flag per replica.
   */
  private replicate(
    op: Operation & import('../spi/operation.js').BackupAwareOperation,
    partitionId: number,
    call: CallIdentity | null,
    target: ResponseTarget,
    response: unknown,
    last: number,
    sync: number | readonly boolean[],
    shadow: NamedBackupPlan['shadow'],
  ): AckRound | null {
    const backupOp = op.getBackupOperation();
    const serviceName = op.getServiceName();
    const version = this.replicaVersions.next(partitionId);
    const syncTargets: string[] = [];
    let ackId = 0;
    for (let i = 1; i <= last; i++) {
      const address = this.deps.replicaAddress(partitionId, i);
      if (address === null) continue;
      const isSync = typeof sync === 'number' ? i <= sync : sync[i - 1];
      if (i > this.backupIndexMax[partitionId]) this.backupIndexMax[partitionId] = i;
      if (isSync && ackId === 0) ackId = this.nextAckId++;
      if (isSync) syncTargets.push(address.key);
      if (this.deps.faults.active && this.deps.faults.dropBackup(partitionId, i)) continue;
      const out = this.encodeBackup(backupOp, serviceName, partitionId, i, version, isSync ? ackId : 0, call, response);
      this.sendFrom(address, out);
    }
    if (shadow !== null) {
      const out = this.encodeBackup(backupOp, serviceName, partitionId, shadow.replicaIndex, version, 0, call, response);
      this.sendFrom(shadow.address, out);
    }
    if (syncTargets.length === 0) return null;
    const round = new AckRound(partitionId, op, target, response, syncTargets, this.coarseNow + this.deps.settings.backupAckTimeoutMs, this.coarseTick);
    this.pendingAcks.set(ackId, round);
    return round;
  }

  /**
   * A member left the cluster: acknowledgements it still owed are no longer awaited (its copy is
   * gone either way; the write stands on the owner and the other replicas, within the promise of
   * surviving N member losses), instead of holding the partition until the ack timeout.
   */
  releaseAcksFrom(address: Address): void {
    for (const [ackId, round] of this.pendingAcks) {
      if (!round.waitingOn.includes(address.key) || !round.acknowledged(address.key)) continue;
      this.pendingAcks.delete(ackId);
      this.finishRound(round, true);
    }
  }

  /** Named partitions; set by the member. */
  named: NamedOperationHooks | null = null;

  /** Encodes a backup into the shared output (returned), which the transport copies from. */
  private encodeBackup(backupOp: Operation, serviceName: string, partitionId: number, replicaIndex: number, version: number, ackId: number, call: CallIdentity | null, response: unknown): ObjectDataOutput {
    const out = this.out;
    out.clear();
    out.writeByte(FrameKind.BACKUP);
    out.writeInt(partitionId);
    out.writeByte(replicaIndex);
    out.writeLong(version);
    out.writeLong(ackId);
    out.writeInt(this.epoch);
    // The row version the owner sends by: a replica with a newer row can tell a backup meant for
    // an index it no longer holds (see handleBackup).
    out.writeInt(this.deps.partitionVersion?.(partitionId) ?? 0);
    // The call's identity, so a promoted backup answers a retry from its record.
    out.writeUTF(call === null ? null : call.caller);
    if (call !== null) {
      out.writeLong(call.callId);
      out.writeLong(call.lowWater);
      out.writeObject(response);
    }
    writeOperationBody(out, serviceName, backupOp);
    return out;
  }

  private handleBackup(from: Address, input: ObjectDataInput): void {
    const partitionId = input.readInt();
    const replicaIndex = input.readByte();
    const version = input.readLong();
    const ackId = input.readLong();
    // Echoed with the ack: an ack meant for an earlier incarnation of the owner at the same
    // address must not count for this one's rounds (ack ids restart with every incarnation).
    const ownerEpoch = input.readInt();
    const ownerRowVersion = input.readInt();
    const caller = input.readNullableUTF();
    const callId = caller === null ? 0 : input.readLong();
    const lowWater = caller === null ? 0 : input.readLong();
    const response = caller === null ? null : input.readObject();
    const { serviceName, op } = readOperationBody(input, this.deps.registry);
    this.checkPartitionId(partitionId);
    this.executor.submit(partitionId, () => {
      // A backup sent by a row older than ours, for an index we do not hold in ours: its owner
      // has not learnt that this member moved (to an index past the backups, which keeps no data:
      // seeds 13458, 19049, 19489 kept such data for good), or that it was itself deposed and
      // this member owns the partition now (its write, applied here or counted as a duplicate
      // once our own writes moved the replica version past it, would be acknowledged by an owner
      // that drops its data when it learns it is out). The write is then not where the cluster
      // looks for it: refused, its caller hears "indeterminate". A newer row is ours to learn.
      const local = this.deps.localAddress();
      if (ownerRowVersion < (this.deps.partitionVersion?.(partitionId) ?? 0) && this.deps.replicaAddress(partitionId, replicaIndex)?.equals(local) !== true) {
        if (ackId !== 0) this.sendBackupAck(from, ackId, ownerEpoch, false);
        return;
      }
      // A deposed owner sending by a row as new as ours: rows of one version agree, so this is a
      // guard only (seed 2590 once had two rows share a version; see recoverAsNewMaster).
      if (this.deps.replicaAddress(partitionId, 0)?.equals(local) === true) {
        if (ackId !== 0) this.sendBackupAck(from, ackId, ownerEpoch, false);
        return;
      }
      const verdict = this.replicaVersions.check(partitionId, version);
      if (verdict === BackupVerdict.GAP) {
        // This replica waits for (or now asks for) a full copy. The owner captures that copy
        // after every backup it sent before the request, so the copy covers this backup: its
        // acknowledgement is held until the copy is applied.
        this.deps.logger.debug({ partitionId, version, have: this.replicaVersions.get(partitionId) }, 'backup while the replica is out of date: waiting for a full copy');
        this.onDirtyReplica(partitionId, replicaIndex);
        if (ackId !== 0) {
          let waiting = this.deferredAcks.get(partitionId);
          if (waiting === undefined) this.deferredAcks.set(partitionId, (waiting = []));
          waiting.push({ to: from, ackId, ownerEpoch, version });
        }
        return;
      }
      if (verdict === BackupVerdict.DUPLICATE) {
        if (ackId !== 0) this.sendBackupAck(from, ackId, ownerEpoch, true);
        return;
      }
      op._nodeEngine = this.deps.nodeEngine;
      op._serviceName = serviceName;
      op._partitionId = partitionId;
      op._replicaIndex = replicaIndex;
      op._callerAddress = from;
      const done = (): void => {
        this.replicaVersions.set(partitionId, version);
        if (caller !== null) this.callRecords.put(partitionId, caller, callId, response, this.coarseNow, lowWater);
        if (ackId !== 0) this.sendBackupAck(from, ackId, ownerEpoch, true);
      };
      let result: void | Promise<void>;
      try {
        result = op.run();
      } catch (error) {
        this.deps.logger.error({ err: error, partitionId }, `backup ${op.constructor.name} failed; replica marked dirty`);
        this.replicaVersions.markDirty(partitionId);
        this.onDirtyReplica(partitionId, replicaIndex);
        if (ackId !== 0) this.sendBackupAck(from, ackId, ownerEpoch, false);
        return;
      }
      if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
        return (result as Promise<void>).then(done, (error: unknown) => {
          this.deps.logger.error({ err: error, partitionId }, `backup ${op.constructor.name} failed; replica marked dirty`);
          this.replicaVersions.markDirty(partitionId);
          this.onDirtyReplica(partitionId, replicaIndex);
          if (ackId !== 0) this.sendBackupAck(from, ackId, ownerEpoch, false);
        });
      }
      done();
    });
  }

  /** Per partition: operations whose run() finished and that wait for sync backup acks. */
  private readonly ackWaiting: Uint16Array;

  /**
   * Some write of the partition waits for backup acks and no run is in progress: its data is
   * consistent, so a replica copy may capture it without queueing behind those writes (which may
   * wait for the very replica that waits for the copy).
   */
  isAwaitingBackupAcks(partitionId: number): boolean {
    return this.ackWaiting[partitionId] > 0 && !this.executor.isRunning(partitionId);
  }

  /** Backup acknowledgements held until a full copy of the replica arrives, by partition. */
  private readonly deferredAcks = new Map<number, { to: Address; ackId: number; ownerEpoch: number; version: number }[]>();

  /**
   * A full copy of this member's replica of `partitionId` was applied at `version`: release the
   * acknowledgements it covers (and refuse the others, which cannot be covered any more).
   */
  replicaSynced(partitionId: number, version: number): void {
    const waiting = this.deferredAcks.get(partitionId);
    if (waiting === undefined) return;
    this.deferredAcks.delete(partitionId);
    for (const w of waiting) this.sendBackupAck(w.to, w.ackId, w.ownerEpoch, w.version <= version);
  }

  /** Set by the partition service: asks the owner for a full copy of a dirty replica. */
  onDirtyReplica: (partitionId: number, replicaIndex: number) => void = () => {};

  private sendBackupAck(to: Address, ackId: number, ownerEpoch: number, ok: boolean): void {
    const out = this.out;
    out.clear();
    out.writeByte(FrameKind.BACKUP_ACK);
    out.writeLong(ackId);
    out.writeInt(ownerEpoch);
    out.writeBoolean(ok);
    this.sendFrom(to, out);
  }

  private handleBackupAck(from: Address, input: ObjectDataInput): void {
    const ackId = input.readLong();
    const epoch = input.readInt();
    const ok = input.readBoolean();
    if (epoch !== this.epoch) return; // for an earlier incarnation of this member
    const round = this.pendingAcks.get(ackId);
    if (round === undefined) return;
    if (!ok) {
      this.pendingAcks.delete(ackId);
      this.finishRound(round, false);
      return;
    }
    if (round.acknowledged(from.key)) {
      this.pendingAcks.delete(ackId);
      this.finishRound(round, true);
    }
  }

  // --- responses ------------------------------------------------------------------------------

  private respondOk(target: ResponseTarget, value: unknown): void {
    if (target.local !== null) {
      this.complete(target.local, value);
      return;
    }
    if (target.remote === null || target.callId === 0) return;
    const out = this.beginResponse(target, ResponseStatus.OK);
    try {
      out.writeObject(value);
    } catch (error) {
      this.respondError(target, error);
      return;
    }
    this.sendFrom(target.remote, out);
  }

  private respondError(target: ResponseTarget, error: unknown): void {
    if (target.local !== null) {
      this.fail(target.local, error);
      return;
    }
    if (target.remote === null || target.callId === 0) {
      this.deps.logger.warn({ err: error }, 'fire-and-forget operation failed');
      return;
    }
    const out = this.beginResponse(target, ResponseStatus.ERROR);
    out.writeUTF(error instanceof Error ? error.name : 'Error');
    out.writeUTF(error instanceof Error ? error.message : String(error));
    this.sendFrom(target.remote, out);
  }

  private respondRetry(target: ResponseTarget, reason: string): void {
    if (target.local !== null) {
      this.scheduleRetry(target.local, reason);
      return;
    }
    if (target.remote === null || target.callId === 0) return;
    const out = this.beginResponse(target, ResponseStatus.RETRY);
    out.writeUTF(reason);
    this.sendFrom(target.remote, out);
  }

  /** The reused output, holding a RESPONSE header. */
  private beginResponse(target: ResponseTarget, status: ResponseStatus): ObjectDataOutput {
    const out = this.out;
    out.clear();
    out.writeByte(FrameKind.RESPONSE);
    out.writeLong(target.callId);
    out.writeInt(target.callerEpoch);
    out.writeByte(status);
    return out;
  }

  private handleResponse(input: ObjectDataInput): void {
    const callId = input.readLong();
    // Call ids restart with every incarnation: an answer to an earlier incarnation of this member
    // at the same address must not complete one of this incarnation's calls (simulator seed 97).
    if (input.readInt() !== this.epoch) return;
    const status = input.readByte() as ResponseStatus;
    const inv = this.pending.get(callId);
    if (inv === undefined) return; // timed out already, or a duplicate
    switch (status) {
      case ResponseStatus.OK:
        this.complete(inv, input.readObject());
        return;
      case ResponseStatus.ERROR: {
        const name = input.readUTF();
        const message = input.readUTF();
        this.fail(inv, errorFromWire(name, message));
        return;
      }
      case ResponseStatus.RETRY:
        inv.sentTo = null;
        this.scheduleRetry(inv, input.readUTF());
        return;
      default:
        throw new ShoalError(`unknown response status ${status as number}`);
    }
  }

  // --- inbound frames -------------------------------------------------------------------------

  /** Handles one engine frame of kind OPERATION, RESPONSE, BACKUP or BACKUP_ACK: `bytes[start, end)`, its first byte `kind`. */
  handleFrame(from: Address, kind: FrameKind, bytes: Buffer, start: number, end: number): void {
    const input = this.input;
    input.reset(bytes, start + 1, end);
    switch (kind) {
      case FrameKind.OPERATION:
        this.handleOperation(from, input);
        return;
      case FrameKind.RESPONSE:
        this.handleResponse(input);
        return;
      case FrameKind.BACKUP:
        this.handleBackup(from, input);
        return;
      case FrameKind.BACKUP_ACK:
        this.handleBackupAck(from, input);
        return;
      default:
        throw new ShoalError(`operation service got frame kind ${kind as number}`);
    }
  }

  private handleOperation(from: Address, input: ObjectDataInput): void {
    const epoch = input.readInt();
    const callId = input.readLong();
    const lowWater = input.readLong();
    const partitionId = input.readInt();
    const flags = input.readByte();
    const returnsResponse = (flags & OpFlags.RETURNS_RESPONSE) !== 0;
    // The call is its own response target (and partition task): one object per call.
    const call = new RemoteCall(this, null, partitionId, from, returnsResponse ? callId : 0, this.remoteCaller(from, epoch), lowWater, epoch);
    try {
      const { serviceName, op } = readOperationBody(input, this.deps.registry);
      op._nodeEngine = this.deps.nodeEngine;
      op._serviceName = serviceName;
      op._partitionId = partitionId;
      op._replicaIndex = 0;
      op._callerAddress = from;
      call.op = op;
      call.orderKey = orderKeyOf(op);
    } catch (error) {
      // A well-framed call we cannot decode: answer with the reason, keep the connection.
      this.respondError(call, error);
      return;
    }
    if (partitionId !== -1) this.checkPartitionId(partitionId);
    if (!this.deps.isRunning()) {
      this.respondRetry(call, 'member is shutting down');
      return;
    }
    if (partitionId < 0) {
      void this.execute(call.op!, -1, call, null);
      return;
    }
    this.executor.submit(partitionId, call);
  }

  private checkPartitionId(partitionId: number): void {
    if (!Number.isInteger(partitionId) || partitionId < 0 || partitionId >= this.deps.partitionCount) {
      throw new ShoalError(`frame names partition ${partitionId}, outside 0..${this.deps.partitionCount - 1}`);
    }
  }
}

function orderKeyOf(op: Operation): OrderKey | null {
  return isKeyedOperation(op) ? op.getOrderingKey() : null;
}

function clampBackups(count: number, kind: string, op: Operation): number {
  if (!Number.isInteger(count) || count < 0 || count > BACKUP_COUNT_MAX) {
    throw new RangeError(`${op.constructor.name}: ${kind} backup count ${count} is outside 0..${BACKUP_COUNT_MAX}`);
  }
  return count;
}

class Builder implements InvocationBuilder {
  private timeoutMs: number;
  constructor(
    private readonly service: OperationServiceImpl,
    private readonly serviceName: string,
    private readonly op: Operation,
    private readonly partitionId: number,
    private readonly target: Address | null,
  ) {
    this.timeoutMs = service.defaultCallTimeoutMs;
  }

  setCallTimeout(ms: number): this {
    if (!(ms > 0)) throw new RangeError(`call timeout must be positive, got ${ms}`);
    this.timeoutMs = ms;
    return this;
  }

  invoke<T = unknown>(): Promise<T> {
    return this.service.invoke(this.serviceName, this.op, this.partitionId, this.target, this.timeoutMs) as Promise<T>;
  }
}
