/**
 * Calls in flight, by call id, without a hash map.
 *
 * A call id encodes a slot index and a per-slot sequence: `seq * SLOTS_MAX + index`. Lookup is an
 * array read plus an equality check, removal pushes the slot on a free list; a late response for a
 * slot reused since then carries an old id and is ignored. A Map keyed by ever-increasing ids was
 * a fifth of a local call's cost (its delete/rehash churn), measured with --cpu-prof.
 */
export const INVOCATIONS_PENDING_MAX = 1 << 20;

export interface Registered {
  callId: number;
}

export class InvocationRegistry<T extends Registered> {
  private readonly slots: (T | null)[] = [];
  private readonly free: number[] = [];
  private seq = 1;
  private count = 0;

  /** Assigns `item.callId` and stores it. Throws when `INVOCATIONS_PENDING_MAX` are in flight. */
  add(item: T): number {
    let index = this.free.pop();
    if (index === undefined) {
      if (this.slots.length >= INVOCATIONS_PENDING_MAX) {
        throw new RangeError(`more than ${INVOCATIONS_PENDING_MAX} calls in flight on this member (invocationsPendingMax)`);
      }
      index = this.slots.length;
      this.slots.push(null);
    }
    const callId = this.seq++ * INVOCATIONS_PENDING_MAX + index;
    item.callId = callId;
    this.slots[index] = item;
    this.count++;
    return callId;
  }

  get(callId: number): T | undefined {
    const item = this.slots[callId % INVOCATIONS_PENDING_MAX];
    return item != null && item.callId === callId ? item : undefined;
  }

  has(item: T): boolean {
    return this.get(item.callId) === item;
  }

  /** Removes `item` if it is still registered; returns whether it was. */
  delete(item: T): boolean {
    const index = item.callId % INVOCATIONS_PENDING_MAX;
    if (this.slots[index] !== item) return false;
    this.slots[index] = null;
    this.free.push(index);
    this.count--;
    return true;
  }

  get size(): number {
    return this.count;
  }

  /**
   * The lowest call id still in flight, or (none in flight) the lowest id a new call can get:
   * every call below it has completed. Ids only grow (the sequence is the high part), so this is
   * the caller's low-water mark for call records. O(slots): called by a periodic sweep.
   */
  lowWater(): number {
    let low = this.seq * INVOCATIONS_PENDING_MAX;
    for (const item of this.slots) if (item !== null && item.callId < low) low = item.callId;
    return low;
  }

  /** A snapshot of the items in flight (safe to delete while iterating it). */
  values(): T[] {
    const out: T[] = [];
    for (const item of this.slots) if (item !== null) out.push(item);
    return out;
  }

  clear(): void {
    this.slots.length = 0;
    this.free.length = 0;
    this.count = 0;
  }
}
