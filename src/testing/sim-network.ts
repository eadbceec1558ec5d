/**
 * The simulated network: the memory transport's network with per-frame latency and faults drawn
 * from the seed's network stream, directed cuts (for symmetric and asymmetric partitions), and a
 * gate in front of each member that holds its inbound frames while the member is paused.
 *
 * Faults that TCP itself can produce (the defaults):
 * - latency: every frame gets `latencyMinMs` plus an exponential part; frames of one connection
 *   arrive in the order sent (the memory transport keeps each connection FIFO).
 * - delay: now and then a frame (and so everything behind it on its connection) is held back
 *   much longer, like a congested link.
 * - reset: a connection breaks; the frame and everything still queued on it are lost, and the
 *   sender hears that the peer became unreachable (its next frame opens a new connection).
 * - cuts (partitions): while A→B is cut, frames from A to B wait, as TCP retransmits them, and
 *   arrive when the cut is scheduled to heal; connections stay open.
 *
 * Faults beyond TCP's contract (opt-in): drop (one frame lost, the connection lives on),
 * duplicate (one frame delivered twice), reorder (one frame delivered after frames sent after
 * it); with drop enabled, cuts lose frames instead of holding them. They test that the engine's
 * own checks (versions, call ids, timeouts) cope with what its transport promises never happens.
 */
import type { Address } from '../core/address.js';
import type { Runtime } from '../core/runtime.js';
import { MemoryNetwork, MemoryTransport, type DeliverDecision, type MemoryLink } from '../transport/memory.js';
import type { Hello, TransportHandler, TransportLogger, TransportOptions } from '../transport/transport.js';
import type { Prng } from './prng.js';
import type { FaultCounter, Trace } from './trace.js';
import type { Scheduler } from './virtual-time.js';

export interface NetworkFaultRates {
  /** Fixed part of every frame's one-way latency, ms. */
  readonly latencyMinMs: number;
  /** Mean of the exponential part of the latency, ms (0: none). */
  readonly latencyMeanMs: number;
  /** Probability that a frame is held back by a long delay (a congested link). */
  readonly delayRate: number;
  /** Longest such delay, ms. */
  readonly delayMaxMs: number;
  /** Probability that a frame breaks its connection (lost with everything queued behind it). */
  readonly resetRate: number;
  /** Probability that a frame is lost (the connection lives on). */
  readonly dropRate: number;
  /** Probability that a frame is delivered twice. */
  readonly duplicateRate: number;
  /** Probability that a frame is delivered after frames sent after it. */
  readonly reorderRate: number;
}

export const CALM_NETWORK: NetworkFaultRates = Object.freeze({
  latencyMinMs: 1,
  latencyMeanMs: 2,
  delayRate: 0,
  delayMaxMs: 0,
  resetRate: 0,
  dropRate: 0,
  duplicateRate: 0,
  reorderRate: 0,
});

export class SimNetwork extends MemoryNetwork {
  rates: NetworkFaultRates;
  /** False turns off delay/drop/duplicate/reorder (latency and cuts stay). */
  frameFaults = true;
  /** Directed cuts: `from>to` → when they are scheduled to heal (frames wait until then). */
  private readonly cuts = new Map<string, number>();
  /** True: frames across a cut are lost; false (TCP): they wait for the heal. */
  cutsDrop = false;
  /** Set while the network itself re-sends a frame (a duplicate or a reordered one). */
  private resending = false;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly rng: Prng,
    rates: NetworkFaultRates,
    private readonly faults: FaultCounter,
    private readonly trace: Trace,
  ) {
    super();
    this.rates = rates;
  }

  /**
   * Cuts `from`→`to` until `untilMs` (virtual time): frames sent meanwhile wait and arrive at
   * `untilMs` (or are lost, with `cutsDrop`). `clearCuts` ends cuts early; frames already held
   * still wait for their time.
   */
  cut(from: string, to: string, untilMs = Number.POSITIVE_INFINITY): void {
    if (from !== to) this.cuts.set(`${from}>${to}`, untilMs);
  }

  uncut(from: string, to: string): void {
    this.cuts.delete(`${from}>${to}`);
  }

  isCut(from: string, to: string): boolean {
    return this.cuts.has(`${from}>${to}`);
  }

  get hasCuts(): boolean {
    return this.cuts.size > 0 || this.groups !== null;
  }

  clearCuts(): void {
    this.cuts.clear();
    this.heal();
  }

  /** The directed cuts in force, as `from>to` strings (sorted). */
  describeCuts(): string[] {
    return [...this.cuts.keys()].sort();
  }

  override decide(from: Address, to: Address, frame: Buffer): DeliverDecision {
    const now = this.scheduler.now;
    const until = this.cuts.get(`${from.key}>${to.key}`);
    if (until !== undefined && until > now) {
      if (this.cutsDrop || !Number.isFinite(until)) {
        this.trace.frame(now, from.key, to.key, frame, 'cut');
        return 'drop';
      }
      const wait = until - now + this.rates.latencyMinMs;
      this.trace.frame(now, from.key, to.key, frame, `held+${wait}`);
      return { delayMs: wait };
    }
    if (this.isPartitioned(from, to)) {
      this.trace.frame(now, from.key, to.key, frame, 'cut');
      return 'drop';
    }
    const base = this.policy(from, to, frame);
    if (base === 'drop') {
      this.trace.frame(now, from.key, to.key, frame, 'policy-drop');
      return 'drop';
    }
    const r = this.rates;
    let delay = r.latencyMinMs + (r.latencyMeanMs > 0 ? this.rng.exponential(r.latencyMeanMs) : 0);
    if (typeof base === 'object') delay += base.delayMs;
    if (this.frameFaults && !this.resending) {
      // One draw per fault kind per frame, whatever the rates: the stream stays aligned.
      const reset = this.rng.next() < r.resetRate;
      const drop = this.rng.next() < r.dropRate;
      const dup = this.rng.next() < r.duplicateRate;
      const reorder = this.rng.next() < r.reorderRate;
      const slow = this.rng.next() < r.delayRate;
      const extra = this.rng.real(0, 1);
      if (reset && this.resetConnection(from, to)) {
        this.faults.count('reset');
        this.trace.frame(now, from.key, to.key, frame, 'reset');
        return 'drop';
      }
      if (drop) {
        this.faults.count('drop');
        this.trace.frame(now, from.key, to.key, frame, 'drop');
        return 'drop';
      }
      if (reorder) {
        // Lost now, delivered later: frames sent meanwhile overtake it.
        this.faults.count('reorder');
        this.trace.frame(now, from.key, to.key, frame, 'reorder');
        this.resendLater(from, to, frame, delay + 20 + extra * 300);
        return 'drop';
      }
      if (dup) {
        this.faults.count('duplicate');
        this.resendLater(from, to, frame, delay + extra * 200);
      }
      if (slow && r.delayMaxMs > 0) {
        this.faults.count('delay');
        delay += extra * r.delayMaxMs;
      }
    }
    delay = Math.round(delay * 1000) / 1000;
    this.trace.frame(now, from.key, to.key, frame, `+${delay}`);
    return { delayMs: delay };
  }

  /**
   * Breaks the sender's connection to `to`, as a TCP reset would: frames queued on it are lost,
   * the sender is told the peer became unreachable, its next frame opens a new connection.
   */
  private resetConnection(from: Address, to: Address): boolean {
    const sender = this.lookup(from);
    // The memory transport keeps its connections private; the simulator reaches in by name.
    const outbound = (sender as unknown as { outbound?: Map<string, MemoryLink> } | undefined)?.outbound;
    const link = outbound?.get(to.key);
    if (sender === undefined || link === undefined) return false;
    sender.failLink(link, 'connection reset (simulated)', 'deferred');
    return true;
  }

  /** Sends a copy of `frame` again from the same sender incarnation, if it still exists then. */
  private resendLater(from: Address, to: Address, frame: Buffer, afterMs: number): void {
    const sender = this.lookup(from);
    if (sender === undefined) return;
    const copy = Buffer.from(frame);
    this.scheduler.schedule(null, afterMs, () => {
      if (this.lookup(from) !== sender) return; // the sender died (or restarted) meanwhile
      this.resending = true;
      try {
        sender.send(to, copy);
      } finally {
        this.resending = false;
      }
    });
  }
}

type HeldInbound =
  | { readonly kind: 'frame'; readonly from: Address; readonly frame: Buffer }
  | { readonly kind: 'unreachable'; readonly peer: Address; readonly reason: string };

/**
 * Sits between a member's transport and its engine. While `holding` (the member is paused) frames
 * and unreachability reports are queued and handed over, in order, on `release`. Once `closed`
 * (the member crashed) nothing reaches the engine any more.
 */
export class InboundGate {
  holding = false;
  closed = false;
  private readonly held: HeldInbound[] = [];
  /** Frames the engine rejected (threw on) while being released. */
  rejected = 0;

  wrap(handler: TransportHandler): TransportHandler {
    return {
      acceptPeer: (hello: Hello) => (this.closed ? 'process is gone' : handler.acceptPeer(hello)),
      onFrame: (from: Address, bytes: Buffer, start: number, end: number) => {
        if (this.closed) return;
        if (this.holding) {
          this.held.push({ kind: 'frame', from, frame: Buffer.from(bytes.subarray(start, end)) });
          return;
        }
        handler.onFrame(from, bytes, start, end);
      },
      onPeerUnreachable: (peer: Address, reason: string) => {
        if (this.closed) return;
        if (this.holding) {
          this.held.push({ kind: 'unreachable', peer, reason });
          return;
        }
        handler.onPeerUnreachable(peer, reason);
      },
    };
  }

  /** Stops handing inbound traffic to the engine (queued until `release`). */
  hold(): void {
    this.holding = true;
  }

  /** Hands everything queued to the engine, in arrival order, and stops holding. */
  release(handler: TransportHandler | null = this.target): void {
    this.holding = false;
    const held = this.held.splice(0);
    if (handler === null) return;
    for (const item of held) {
      if (this.closed) return;
      if (item.kind === 'frame') {
        try {
          handler.onFrame(item.from, item.frame, 0, item.frame.length);
        } catch {
          // On a real connection the transport would close it; the frame is lost either way.
          this.rejected++;
        }
      } else {
        handler.onPeerUnreachable(item.peer, item.reason);
      }
    }
  }

  close(): void {
    this.closed = true;
    this.held.length = 0;
  }

  /** The engine's handler (set by the transport at start). */
  target: TransportHandler | null = null;
}

/** The memory transport with an inbound gate (pause and crash) in front of the engine's handler. */
export class SimTransport extends MemoryTransport {
  constructor(
    options: TransportOptions,
    runtime: Runtime,
    network: SimNetwork,
    logger: TransportLogger,
    private readonly gate: InboundGate,
  ) {
    super(options, runtime, network, logger);
  }

  override start(handler: TransportHandler): Promise<Address> {
    this.gate.target = handler;
    return super.start(this.gate.wrap(handler));
  }
}
