/**
 * Busy polling for sequential callers: after a call goes out, the event loop keeps polling the
 * network (one `setImmediate` per turn, which makes libuv poll with a zero timeout) instead of
 * sleeping in epoll until the answer arrives.
 *
 * Why: on a virtual machine a sleeping process whose CPU went idle is woken by an interrupt that
 * costs tens of microseconds, on every hop. Measured on this project's 2-core machine with bare
 * Node.js sockets (`node --import tsx bench/micro/tcp-limit.ts --latency`, median round trip):
 * 2 hops ~90 µs sleeping, ~30 µs when the caller polls; the 4 hops of a backed-up write ~110 µs
 * → ~47 µs. Only the *caller* polls: a member that
 * serves or waits for backup acks keeps sleeping, because a poller on every process of a chain
 * (more processes than cores) made the chain ten times slower — the pollers took the cores from
 * the process that had work.
 *
 * It costs CPU: up to `windowUs` per call of busy loop on the calling member. So it is off by
 * default (`invocation.busyPollUs = 0`), and it never polls with more than `CALLS_IN_FLIGHT_MAX`
 * calls in flight: with many calls in flight answers arrive in batches, the loop is rarely idle,
 * and a poller would only take a core from the members on the same machine.
 */
import { performance } from 'node:perf_hooks';

/** Above this many calls in flight the poller stays off (see the module comment). */
export const CALLS_IN_FLIGHT_MAX = 8;

/** What the operation service tells the poller; null in the simulator (no real event loop). */
export interface AnswerWait {
  /** A call was sent to another member and `inFlight` calls now wait for answers. */
  callSent(inFlight: number): void;
}

export class BusyPoll implements AnswerWait {
  private until = 0;
  private polling = false;

  /**
   * @param windowUs how long to poll after the latest call went out
   * @param inFlight calls waiting for an answer now (polling stops when it reaches 0)
   */
  constructor(
    private readonly windowUs: number,
    private readonly inFlight: () => number,
  ) {}

  callSent(inFlight: number): void {
    if (inFlight > CALLS_IN_FLIGHT_MAX) return;
    this.until = performance.now() + this.windowUs / 1000;
    if (!this.polling) {
      this.polling = true;
      setImmediate(this.turn);
    }
  }

  /** Polling now (for tests). */
  get active(): boolean {
    return this.polling;
  }

  private readonly turn = (): void => {
    const n = this.inFlight();
    if (n > 0 && n <= CALLS_IN_FLIGHT_MAX && performance.now() < this.until) setImmediate(this.turn);
    else this.polling = false;
  };
}
