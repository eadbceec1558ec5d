/**
 * The simulated network: the memory transport's network with per-frame latency and faults drawn
 * from the seed's network stream, directed cuts (for symmetric and asymmetric partitions), and a
 * gate in front of each member that holds its inbound frames while the member is paused.
 *
 * Fault semantics:
 * - latency: every frame gets `latencyMinMs` plus an exponential part; frames of one connection
 *   still arrive in the order sent (the memory transport keeps a connection FIFO).
 * - delay: now and then a frame (and so everything behind it on its connection) is held back much
 *   longer, like a congested link.
 * - drop / duplicate / reorder: one frame is lost, delivered twice, or delivered after frames sent
 *   after it. These go beyond what TCP does (it loses frames only with the connection), so they
 *   test that the engine copes with what its protocol checks (versions, call ids) are meant for.
 * - cuts: a frame from A to B is dropped while A→B is cut; connections stay open, as TCP's would
 *   until its timeouts.
 */
import type { Address } from '../core/address.js';
import type { Runtime } from '../core/runtime.js';
import { MemoryNetwork, MemoryTransport, type DeliverDecision } from '../transport/memory.js';
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
  /** Probability that a frame is lost. */
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
  dropRate: 0,
  duplicateRate: 0,
  reorderRate: 0,
});

export class SimNetwork extends MemoryNetwork {
  rates: NetworkFaultRates;
  /** False turns off delay/drop/duplicate/reorder (latency and cuts stay). */
  frameFaults = true;
  private readonly cuts = new Set<string>();
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

  /** Frames from `from` to `to` are dropped until `uncut`/`clearCuts`. */
  cut(from: string, to: string): void {
    if (from !== to) this.cuts.add(`${from}>${to}`);
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
    return [...this.cuts].sort();
  }

  override decide(from: Address, to: Address, frame: Buffer): DeliverDecision {
    const now = this.scheduler.now;
    if (this.cuts.has(`${from.key}>${to.key}`) || this.isPartitioned(from, to)) {
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
      const drop = this.rng.next() < r.dropRate;
      const dup = this.rng.next() < r.duplicateRate;
      const reorder = this.rng.next() < r.reorderRate;
      const slow = this.rng.next() < r.delayRate;
      const extra = this.rng.real(0, 1);
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
      onFrame: (from: Address, frame: Buffer) => {
        if (this.closed) return;
        if (this.holding) {
          this.held.push({ kind: 'frame', from, frame: Buffer.from(frame) });
          return;
        }
        handler.onFrame(from, frame);
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
          handler.onFrame(item.from, item.frame);
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
