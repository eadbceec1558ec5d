/**
 * The counter workload: increments of named counters, issued from random serving members by
 * concurrent callers, every call's outcome recorded.
 *
 * Outcomes: `ok` with the value answered; `indeterminate` when the call may or may not have been
 * applied (IndeterminateOperationStateError, OperationTimeoutError, InstanceNotActiveError after
 * the call was issued, or any other error after it was issued); `failed` only when it provably was
 * not applied (rejected before it was sent). Calls still running are `pending`.
 */
import {
  IndeterminateOperationStateError,
  InstanceNotActiveError,
  OperationTimeoutError,
} from '../spi/errors.js';
import { AckedValues, type CallOutcome, type CounterCallRecord } from './checkers/counter-within-acked-range.js';
import { SIM_COUNTER_SERVICE, SimIncOp } from './counter-service.js';
import type { Prng } from './prng.js';
import { describeError, type SimMember, type Simulation } from './simulation.js';

export interface CounterCall extends CounterCallRecord {
  readonly id: number;
  /** Name of the member incarnation that issued it. */
  readonly caller: string;
  readonly startedAt: number;
  outcome: CallOutcome;
  value?: number;
  endedAt?: number;
  error?: string;
}

export class CounterHistory {
  readonly calls: CounterCall[] = [];
  private readonly acked = new AckedValues();
  private pendingCount = 0;

  constructor(private readonly sim: Simulation) {}

  begin(counter: string, amount: number, caller: string): CounterCall {
    const call: CounterCall = { id: this.calls.length + 1, counter, amount, caller, startedAt: this.sim.now, outcome: 'pending' };
    this.calls.push(call);
    this.pendingCount++;
    this.sim.record(`call#${call.id} ${caller} inc ${counter} +${amount}`);
    return call;
  }

  ok(call: CounterCall, value: number): void {
    if (call.outcome !== 'pending') return;
    call.outcome = 'ok';
    call.value = value;
    call.endedAt = this.sim.now;
    this.pendingCount--;
    this.sim.record(`call#${call.id} ok ${value}`);
    const v = this.acked.add(call.counter, value, this.sim.now);
    if (v !== null) this.sim.addViolation(v);
  }

  fail(call: CounterCall, error: unknown, sent: boolean): void {
    if (call.outcome !== 'pending') return;
    call.outcome = classifyError(error, sent);
    call.error = describeError(error);
    call.endedAt = this.sim.now;
    this.pendingCount--;
    this.sim.record(`call#${call.id} ${call.outcome} ${call.error}`);
  }

  get pending(): number {
    return this.pendingCount;
  }

  /** A failover to an asynchronous replica rolled `counter` back to `value` (see AckedValues.forgetAbove). */
  rolledBack(counter: string, value: number): void {
    this.acked.forgetAbove(counter, value);
    this.sim.record(`rollback ${counter} to ${value} (failover to an asynchronous replica)`);
  }

  summary(): { ok: number; failed: number; indeterminate: number; pending: number } {
    const s = { ok: 0, failed: 0, indeterminate: 0, pending: 0 };
    for (const c of this.calls) s[c.outcome]++;
    return s;
  }
}

/** Whether a failed call may have been applied. */
export function classifyError(error: unknown, sent: boolean): 'failed' | 'indeterminate' {
  if (!sent) return 'failed';
  if (error instanceof IndeterminateOperationStateError || error instanceof OperationTimeoutError || error instanceof InstanceNotActiveError) {
    return 'indeterminate';
  }
  // Anything else after the call went out: we cannot prove it was not applied.
  return 'indeterminate';
}

export interface CounterWorkloadOptions {
  readonly counters: number;
  /** Most calls in flight at once. */
  readonly concurrency: number;
  /** Mean arrival rate of new calls. */
  readonly callsPerSecond: number;
  readonly serviceName?: string;
}

export class CounterWorkload {
  readonly history: CounterHistory;
  private running = false;
  private inFlight = 0;
  private readonly names: string[];

  constructor(
    private readonly sim: Simulation,
    private readonly options: CounterWorkloadOptions,
    private readonly rng: Prng,
  ) {
    this.history = new CounterHistory(sim);
    this.names = Array.from({ length: options.counters }, (_, i) => `c${i}`);
  }

  get counterNames(): readonly string[] {
    return this.names;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.scheduleNext();
  }

  stop(): void {
    this.running = false;
  }

  private scheduleNext(): void {
    const mean = 1000 / Math.max(0.001, this.options.callsPerSecond);
    this.sim.at(this.rng.exponential(mean), () => {
      if (!this.running) return;
      this.issue();
      this.scheduleNext();
    });
  }

  private issue(): void {
    // Draw every number first, so the stream does not depend on who happens to be callable.
    const pickMember = this.rng.next();
    const pickCounter = this.rng.int(this.names.length);
    if (this.inFlight >= this.options.concurrency) return;
    const callers = this.sim.members.filter((m) => m.callable);
    if (callers.length === 0) return;
    const member = callers[Math.floor(pickMember * callers.length)];
    this.call(member, this.names[pickCounter], 1);
  }

  /** Issues one increment from `member` and records its outcome. */
  call(member: SimMember, counter: string, amount: number): void {
    const node = member.node;
    const service = this.options.serviceName ?? SIM_COUNTER_SERVICE;
    const call = this.history.begin(counter, amount, member.name);
    if (!node.isRunning()) {
      this.history.fail(call, new InstanceNotActiveError('caller not running'), false);
      return;
    }
    this.inFlight++;
    let promise: Promise<number>;
    try {
      const partitionId = node.partitions.getPartitionId(counter);
      promise = node.operations.createInvocationBuilder(service, new SimIncOp(counter, amount, call.id), partitionId).invoke<number>();
    } catch (error) {
      this.inFlight--;
      this.history.fail(call, error, false);
      return;
    }
    promise.then(
      (value) => {
        this.inFlight--;
        this.history.ok(call, value);
      },
      (error: unknown) => {
        this.inFlight--;
        this.history.fail(call, error, true);
      },
    );
  }
}
