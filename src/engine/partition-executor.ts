/**
 * Runs tasks one at a time per partition, in submission order.
 *
 * A task may be async: the partition stays held until its promise settles, so the next task of
 * that partition never interleaves with it (the single-threaded-partition guarantee the SPI
 * promises). Tasks of different partitions interleave freely. An idle partition runs a submitted
 * task at once, in the caller's stack, so a local call costs no extra turn of the event loop.
 *
 * Holds. A write whose synchronous backups have not acknowledged yet must not be followed by an
 * operation that could observe it (it may still vanish if the owner dies). A task reports that
 * wait by returning a `Hold` instead of a promise:
 * - `Hold(null, …)` holds the whole partition, like a promise, but says the task's run is over
 *   (a replica copy may capture the partition meanwhile: see `isRunning`);
 * - `Hold(key, …)` holds only that key: later tasks with the same `orderKey` wait, tasks with
 *   other keys run, and a task without a key waits for every held key (a barrier). Tasks parked
 *   behind a key run in their submission order when it is released.
 */
export type OrderKey = string | number;

export class Hold {
  constructor(
    /** The key held, or null for the whole partition. */
    readonly key: OrderKey | null,
    /** Settles when the hold ends. */
    readonly released: Promise<void>,
  ) {}
}

export type TaskResult = void | Promise<void> | Hold;

/** A function, or an object with `runTask` and optionally the key it touches (see `Hold`). */
export type PartitionTask = (() => TaskResult) | { runTask(): TaskResult; readonly orderKey?: OrderKey | null };

function orderKeyOf(task: PartitionTask): OrderKey | null {
  return typeof task === 'function' ? null : (task.orderKey ?? null);
}

export class PartitionExecutor {
  private readonly queues: (PartitionTask[] | undefined)[];
  /** 1 while a task runs or holds the whole partition: nothing else of it starts. */
  private readonly busy: Uint8Array;
  /** 1 while an async task's promise is outstanding (its run is not over). */
  private readonly running: Uint8Array;
  /** Blocks in force (see block): nothing starts while > 0. */
  private readonly blocked: Uint16Array;
  /** Held keys, each with the tasks parked behind it. */
  private readonly held: (Map<OrderKey, PartitionTask[]> | undefined)[];
  private readonly onTaskError: (partitionId: number, error: unknown) => void;

  constructor(partitionCount: number, onTaskError: (partitionId: number, error: unknown) => void) {
    this.queues = new Array<PartitionTask[] | undefined>(partitionCount);
    this.busy = new Uint8Array(partitionCount);
    this.running = new Uint8Array(partitionCount);
    this.blocked = new Uint16Array(partitionCount);
    this.held = new Array<Map<OrderKey, PartitionTask[]> | undefined>(partitionCount);
    this.onTaskError = onTaskError;
  }

  submit(partitionId: number, task: PartitionTask): void {
    const queue = this.queues[partitionId];
    // A non-empty queue while not busy means a barrier waits for held keys: stay behind it.
    if (this.busy[partitionId] === 1 || this.blocked[partitionId] > 0 || (queue !== undefined && queue.length > 0)) {
      (this.queues[partitionId] ??= []).push(task);
      return;
    }
    this.drain(partitionId, task);
  }

  /** Tasks waiting (not counting the one running, counting those parked behind a key) for one partition. */
  queued(partitionId: number): number {
    let n = this.queues[partitionId]?.length ?? 0;
    for (const parked of this.held[partitionId]?.values() ?? []) n += parked.length;
    return n;
  }

  /** A task runs or holds the whole partition. */
  isBusy(partitionId: number): boolean {
    return this.busy[partitionId] === 1;
  }

  /** An async task's run is in progress (not merely holding for its backups). */
  isRunning(partitionId: number): boolean {
    return this.running[partitionId] === 1;
  }

  /**
   * The running async task finished its run and now only waits (for its backups): from here on
   * it counts as a hold, not a run (see isRunning).
   */
  markRunOver(partitionId: number): void {
    this.running[partitionId] = 0;
  }

  /**
   * Starts no task of the partition until `released` settles; what runs or holds goes on, new
   * tasks queue. Used by a replica copy captured while writes wait for that replica's acks: no
   * write may slip in between the capture and the copy's arrival, or the copy would be stale.
   */
  block(partitionId: number, released: Promise<unknown>): void {
    this.blocked[partitionId]++;
    const unblock = (): void => {
      this.blocked[partitionId]--;
      if (this.blocked[partitionId] === 0 && this.busy[partitionId] === 0 && (this.queues[partitionId]?.length ?? 0) > 0) this.drain(partitionId, undefined);
    };
    released.then(unblock, unblock);
  }

  /** Keys held for one partition. */
  heldKeys(partitionId: number): number {
    return this.held[partitionId]?.size ?? 0;
  }

  private drain(partitionId: number, first: PartitionTask | undefined): void {
    this.busy[partitionId] = 1;
    const queue = this.queues[partitionId];
    let task = first ?? queue?.shift();
    while (task !== undefined) {
      if (this.blocked[partitionId] > 0) {
        (this.queues[partitionId] ??= []).unshift(task);
        this.busy[partitionId] = 0;
        return;
      }
      const held = this.held[partitionId];
      if (held !== undefined && held.size > 0) {
        const key = orderKeyOf(task);
        if (key === null) {
          // A barrier: it waits until every held key is released (releaseKey drains again).
          (this.queues[partitionId] ??= []).unshift(task);
          this.busy[partitionId] = 0;
          return;
        }
        const parked = held.get(key);
        if (parked !== undefined) {
          parked.push(task);
          task = this.queues[partitionId]?.shift();
          continue;
        }
      }
      let result: TaskResult;
      try {
        result = typeof task === 'function' ? task() : task.runTask();
      } catch (error) {
        this.onTaskError(partitionId, error);
        result = undefined;
      }
      if (result instanceof Hold) {
        if (result.key === null) {
          this.awaitThenDrain(partitionId, result.released);
          return;
        }
        this.holdKey(partitionId, result.key, result.released);
      } else if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
        this.running[partitionId] = 1;
        this.awaitThenDrain(partitionId, result as Promise<void>);
        return;
      }
      task = this.queues[partitionId]?.shift();
    }
    this.busy[partitionId] = 0;
  }

  private awaitThenDrain(partitionId: number, promise: Promise<void>): void {
    promise.then(
      () => {
        this.running[partitionId] = 0;
        this.drain(partitionId, undefined);
      },
      (error: unknown) => {
        this.running[partitionId] = 0;
        this.onTaskError(partitionId, error);
        this.drain(partitionId, undefined);
      },
    );
  }

  private holdKey(partitionId: number, key: OrderKey, released: Promise<void>): void {
    let held = this.held[partitionId];
    if (held === undefined) held = this.held[partitionId] = new Map();
    held.set(key, []);
    released.then(
      () => this.releaseKey(partitionId, key),
      (error: unknown) => {
        this.onTaskError(partitionId, error);
        this.releaseKey(partitionId, key);
      },
    );
  }

  private releaseKey(partitionId: number, key: OrderKey): void {
    const held = this.held[partitionId]!;
    const parked = held.get(key)!;
    held.delete(key);
    // Parked tasks were submitted before anything still queued: they go first, in order.
    if (parked.length > 0) (this.queues[partitionId] ??= []).unshift(...parked);
    if (this.busy[partitionId] === 0 && this.blocked[partitionId] === 0 && (this.queues[partitionId]?.length ?? 0) > 0) this.drain(partitionId, undefined);
  }
}
