/**
 * Runs tasks one at a time per partition, in submission order.
 *
 * A task may be async: the partition stays held until its promise settles, so the next task of
 * that partition never interleaves with it (the single-threaded-partition guarantee the SPI
 * promises). Tasks of different partitions interleave freely. An idle partition runs a submitted
 * task at once, in the caller's stack, so a local call costs no extra turn of the event loop.
 */
export type PartitionTask = (() => void | Promise<void>) | { runTask(): void | Promise<void> };

export class PartitionExecutor {
  private readonly queues: (PartitionTask[] | undefined)[];
  private readonly busy: Uint8Array;
  private readonly onTaskError: (partitionId: number, error: unknown) => void;

  constructor(partitionCount: number, onTaskError: (partitionId: number, error: unknown) => void) {
    this.queues = new Array<PartitionTask[] | undefined>(partitionCount);
    this.busy = new Uint8Array(partitionCount);
    this.onTaskError = onTaskError;
  }

  submit(partitionId: number, task: PartitionTask): void {
    if (this.busy[partitionId] === 1) {
      (this.queues[partitionId] ??= []).push(task);
      return;
    }
    this.drain(partitionId, task);
  }

  /** Tasks waiting (not counting the one running) for one partition. */
  queued(partitionId: number): number {
    return this.queues[partitionId]?.length ?? 0;
  }

  isBusy(partitionId: number): boolean {
    return this.busy[partitionId] === 1;
  }

  private drain(partitionId: number, first: PartitionTask | undefined): void {
    this.busy[partitionId] = 1;
    let task = first ?? this.queues[partitionId]?.shift();
    while (task !== undefined) {
      let result: void | Promise<void>;
      try {
        result = typeof task === 'function' ? task() : task.runTask();
      } catch (error) {
        this.onTaskError(partitionId, error);
        result = undefined;
      }
      if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
        (result as Promise<void>).then(
          () => this.drain(partitionId, undefined),
          (error: unknown) => {
            this.onTaskError(partitionId, error);
            this.drain(partitionId, undefined);
          },
        );
        return;
      }
      task = this.queues[partitionId]?.shift();
    }
    this.busy[partitionId] = 0;
  }
}
