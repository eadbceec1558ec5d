import { Address } from '../core/address.js';
import type { Runtime, TimerHandle } from '../core/runtime.js';
import { FRAME_HEADER_BYTES, checkFrameLength, encodeFrame } from './framing.js';
import { encodeHello } from './handshake.js';
import { InboundSession } from './inbound.js';
import { candidatePorts, noFreePortError, validateTransportOptions } from './options.js';
import {
  PROTOCOL_VERSION,
  type Transport,
  type TransportHandler,
  type TransportLogger,
  type TransportOptions,
  type TransportStats,
} from './transport.js';

/** What the network does with one application frame: deliver now, drop, or deliver later. */
export type DeliverDecision = 'deliver' | 'drop' | { readonly delayMs: number };

/**
 * Consulted once per application frame, when it is sent. `frame` is the payload (no prefix); it
 * is valid only during the call. The Hello is not subject to the policy: a connection either
 * opens (Hello first) or fails as a whole.
 */
export type DeliverPolicy = (from: Address, to: Address, frame: Buffer) => DeliverDecision;

export const deliverAll: DeliverPolicy = () => 'deliver';

/**
 * An in-process network: the registry of listening memory transports, keyed by address, and the
 * seam where faults are injected.
 *
 * Faults: set `policy` to decide per frame (`'deliver'`, `'drop'`, `{ delayMs }`); `partition`
 * and `heal` are layered on top of it (a frame between two different groups is dropped before
 * the policy is asked). Delays never reorder frames of one connection: a frame is delivered no
 * earlier than the frame sent before it, as on a TCP stream.
 *
 * The simulator extends this class; the members it may need are protected.
 */
export class MemoryNetwork {
  /** The per-frame fault hook; `deliverAll` by default. */
  policy: DeliverPolicy = deliverAll;
  protected readonly listeners = new Map<string, { readonly address: Address; readonly transport: MemoryTransport }>();
  /** Group index per address key while partitioned, else null. */
  protected groups: Map<string, number> | null = null;
  private linkIds = 0;

  /**
   * Splits the listed addresses into groups that cannot reach each other; frames between two
   * addresses of different groups are dropped. An address in no group is not partitioned from
   * anyone. Replaces any earlier partition. Connections stay open (as TCP would, until timeouts).
   */
  partition(groups: ReadonlyArray<ReadonlyArray<Address>>): void {
    const byKey = new Map<string, number>();
    groups.forEach((group, index) => {
      for (const address of group) {
        const earlier = byKey.get(address.key);
        if (earlier !== undefined && earlier !== index) {
          throw new Error(`partition: ${address.toString()} is in groups ${earlier} and ${index}`);
        }
        byKey.set(address.key, index);
      }
    });
    this.groups = byKey;
  }

  /** Ends the partition; the policy alone decides again. */
  heal(): void {
    this.groups = null;
  }

  /** True when a partition separates `a` from `b`. */
  isPartitioned(a: Address, b: Address): boolean {
    if (this.groups === null) return false;
    const ga = this.groups.get(a.key);
    const gb = this.groups.get(b.key);
    return ga !== undefined && gb !== undefined && ga !== gb;
  }

  /** The decision for one frame: partition first, then `policy`. */
  decide(from: Address, to: Address, frame: Buffer): DeliverDecision {
    if (this.isPartitioned(from, to)) return 'drop';
    return this.policy(from, to, frame);
  }

  /** The transport listening at `address`, if any. */
  lookup(address: Address): MemoryTransport | undefined {
    return this.listeners.get(address.key)?.transport;
  }

  /** Addresses currently listening, in bind order. */
  addresses(): Address[] {
    return [...this.listeners.values()].map((entry) => entry.address);
  }

  /** @internal Claims `address` for `transport`; false when taken. */
  bind(address: Address, transport: MemoryTransport): boolean {
    if (this.listeners.has(address.key)) return false;
    this.listeners.set(address.key, { address, transport });
    return true;
  }

  /** @internal Releases `address` if `transport` holds it. */
  unbind(address: Address, transport: MemoryTransport): void {
    if (this.listeners.get(address.key)?.transport === transport) this.listeners.delete(address.key);
  }

  /** @internal */
  nextLinkId(): number {
    this.linkIds += 1;
    return this.linkIds;
  }
}

interface PendingChunk {
  /** Delivery time on the sender's clock. */
  readonly at: number;
  /** Wire bytes: `[u32 length][payload]`, exactly what TCP would carry. */
  readonly bytes: Buffer;
}

type LinkState = 'connecting' | 'open' | 'closed';

/** @internal One in-memory connection, owned by the sender; the receiving side holds its session. */
export class MemoryLink {
  state: LinkState = 'connecting';
  target: MemoryTransport | null = null;
  session: InboundSession | null = null;
  readonly queue: (PendingChunk | undefined)[] = [];
  head = 0;
  queuedBytes = 0;
  /** Delivery time of the last chunk queued: later chunks are never delivered before it. */
  lastAt = Number.NEGATIVE_INFINITY;
  pumpPending = false;
  pumpTimer: TimerHandle | null = null;

  constructor(
    readonly id: number,
    readonly from: MemoryTransport,
    readonly fromAddress: Address,
    readonly to: Address,
  ) {}

  /** How the receiving side names the remote end in its logs. */
  get remote(): string {
    return `memory:${this.fromAddress.key}#${this.id}`;
  }

  isClosed(): boolean {
    return this.state === 'closed';
  }

  peek(): PendingChunk | undefined {
    return this.queue[this.head];
  }

  shift(): PendingChunk | undefined {
    const item = this.queue[this.head];
    if (item === undefined) return undefined;
    this.queue[this.head] = undefined;
    this.head += 1;
    this.queuedBytes -= item.bytes.length;
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    return item;
  }

  clear(): void {
    this.queue.length = 0;
    this.head = 0;
    this.queuedBytes = 0;
  }
}

/**
 * The in-process transport, with the TCP transport's semantics:
 *
 * - `start` binds an address in the network, auto-incrementing the port when taken.
 * - `send` copies the frame into wire bytes (`[u32 length][payload]`) at once; the first chunk on
 *   each connection is the encoded Hello. The receiver runs the bytes through the same
 *   `InboundSession` as TCP: Hello check, cluster name, `acceptPeer`, frame limits; a violation is
 *   logged with the remote end and counted in `connectionsRefused`, and the sender sees the
 *   connection closed.
 * - Delivery is asynchronous, driven by the sender's `runtime.timers` (`defer`, or `after` for a
 *   delay from the network's policy) and clock, so a simulator with virtual time drives it.
 *   Frames of one connection arrive in the order sent.
 * - Connecting to an address nobody listens on, a peer closing, a refusal, or more than
 *   `peerQueueBytesMax` undelivered bytes: queued frames are dropped and `onPeerUnreachable` is
 *   reported; a later `send` opens a new connection.
 * - Stats count frames and wire bytes when handed to the network (frames dropped by the network
 *   policy count as sent, as bytes lost on a wire would).
 */
export class MemoryTransport implements Transport {
  private handler: TransportHandler | null = null;
  private local: Address | null = null;
  private helloWire: Buffer | null = null;
  private readonly outbound = new Map<string, MemoryLink>();
  private readonly inbound = new Set<MemoryLink>();
  private closed = false;
  private closing: Promise<void> | null = null;
  private readonly counters: TransportStats = {
    framesSent: 0,
    framesReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    connectionsRefused: 0,
  };

  constructor(
    private readonly options: TransportOptions,
    private readonly runtime: Runtime,
    private readonly network: MemoryNetwork,
    private readonly logger: TransportLogger,
  ) {
    validateTransportOptions(options);
  }

  /** The bound address, or null before `start` resolved. */
  get address(): Address | null {
    return this.local;
  }

  async start(handler: TransportHandler): Promise<Address> {
    if (this.handler !== null) throw new Error('MemoryTransport.start called twice');
    if (this.closed) throw new Error('MemoryTransport.start after close');
    const ports = candidatePorts(this.options);
    for (const port of ports) {
      const address = new Address(this.options.host, port);
      if (!this.network.bind(address, this)) {
        this.logger.debug('port in use, trying the next', { host: address.host, port });
        continue;
      }
      this.handler = handler;
      this.local = address;
      this.helloWire = encodeFrame(
        encodeHello({
          protocolVersion: PROTOCOL_VERSION,
          clusterName: this.options.clusterName,
          memberUuid: this.options.memberUuid,
          memberName: this.options.memberName,
          address,
        }),
      );
      this.logger.info('transport listening', { address: address.toString() });
      return address;
    }
    throw noFreePortError(this.options, ports);
  }

  send(to: Address, whole: Uint8Array, length = whole.length): void {
    if (this.closed) return;
    if (length > whole.length) throw new RangeError(`cannot send ${length} bytes of a ${whole.length}-byte frame`);
    const frame = length === whole.length ? whole : whole.subarray(0, length);
    const local = this.local;
    const hello = this.helloWire;
    if (local === null || hello === null) throw new Error('MemoryTransport.send before start');
    const invalid = checkFrameLength(frame.length, this.options.frameBytesMax);
    if (invalid !== null) throw new RangeError(`cannot send to ${to.toString()}: ${invalid}`);

    const link = this.outbound.get(to.key) ?? this.openLink(local, to, hello);
    const wire = encodeFrame(frame);
    if (link.queuedBytes + wire.length > this.options.peerQueueBytesMax) {
      this.failLink(
        link,
        `send queue full: ${link.queuedBytes} bytes queued, adding ${wire.length} exceeds peerQueueBytesMax ${this.options.peerQueueBytesMax}`,
        'deferred',
      );
      return;
    }
    this.counters.framesSent += 1;
    this.counters.bytesSent += wire.length;
    const decision = this.network.decide(local, to, wire.subarray(FRAME_HEADER_BYTES));
    if (decision === 'drop') return;
    this.enqueue(link, wire, decision === 'deliver' ? 0 : Math.max(0, decision.delayMs));
  }

  disconnect(peer: Address): void {
    const link = this.outbound.get(peer.key);
    if (link !== undefined) this.failLink(link, 'disconnected', 'silent');
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  stats(): TransportStats {
    return { ...this.counters };
  }

  // ---- receiving side, called by the sender's link pump -------------------------------------

  /** @internal Opens the receiving side of `link`; false when this transport is closed. */
  acceptLink(link: MemoryLink): boolean {
    const handler = this.handler;
    if (this.closed || handler === null) return false;
    link.session = new InboundSession({
      clusterName: this.options.clusterName,
      frameBytesMax: this.options.frameBytesMax,
      handler,
      stats: this.counters,
    });
    link.target = this;
    link.state = 'open';
    this.inbound.add(link);
    return true;
  }

  /** @internal The receiving side refuses `link`: log, count, and close it. */
  refuseLink(link: MemoryLink, reason: string): void {
    this.counters.connectionsRefused += 1;
    this.logger.warn('refused inbound connection', {
      remote: link.remote,
      peer: link.session?.hello?.address.toString(),
      reason,
    });
    this.dropInbound(link);
    link.from.failLink(link, 'connection closed by peer', 'deferred');
  }

  /** @internal Forgets the receiving side of `link`. */
  dropInbound(link: MemoryLink): void {
    link.session?.close();
    this.inbound.delete(link);
  }

  // ---- sending side -------------------------------------------------------------------------

  private openLink(local: Address, to: Address, hello: Buffer): MemoryLink {
    const link = new MemoryLink(this.network.nextLinkId(), this, local, to);
    this.outbound.set(to.key, link);
    this.counters.bytesSent += hello.length;
    this.enqueue(link, hello, 0);
    return link;
  }

  private enqueue(link: MemoryLink, bytes: Buffer, delayMs: number): void {
    const now = this.runtime.clock.now();
    const at = Math.max(now + delayMs, link.lastAt);
    link.lastAt = at;
    link.queue.push({ at, bytes });
    link.queuedBytes += bytes.length;
    this.schedulePump(link, at - now);
  }

  private schedulePump(link: MemoryLink, waitMs: number): void {
    if (link.pumpPending) return;
    link.pumpPending = true;
    if (waitMs <= 0) {
      this.runtime.timers.defer(() => this.pump(link));
    } else {
      link.pumpTimer = this.runtime.timers.after(waitMs, () => this.pump(link));
    }
  }

  /** Connects (first time) and hands every chunk that is due to the receiver's session. */
  private pump(link: MemoryLink): void {
    link.pumpPending = false;
    link.pumpTimer = null;
    if (link.state === 'closed') return;
    if (link.state === 'connecting') {
      const target = this.network.lookup(link.to);
      if (target === undefined || !target.acceptLink(link)) {
        this.failLink(link, `connection refused: no member listening at ${link.to.key}`, 'now');
        return;
      }
    }
    const target = link.target as MemoryTransport;
    const session = link.session as InboundSession;
    const now = this.runtime.clock.now();
    for (let next = link.peek(); next !== undefined && next.at <= now; next = link.peek()) {
      const item = link.shift() as PendingChunk;
      const reason = session.receive(item.bytes);
      if (reason !== null) {
        target.refuseLink(link, reason);
        return;
      }
      // The handler may have closed either end during the call.
      if (link.isClosed()) return;
    }
    const next = link.peek();
    if (next !== undefined) this.schedulePump(link, next.at - now);
  }

  /** @internal Closes `link` from the sending side; see TcpTransport for the `report` modes. */
  failLink(link: MemoryLink, reason: string, report: 'now' | 'deferred' | 'silent'): void {
    if (link.state === 'closed') return;
    link.state = 'closed';
    if (this.outbound.get(link.to.key) === link) this.outbound.delete(link.to.key);
    if (link.pumpTimer !== null) {
      this.runtime.timers.clear(link.pumpTimer);
      link.pumpTimer = null;
    }
    link.clear();
    link.target?.dropInbound(link);
    const handler = this.handler;
    if (report === 'silent' || this.closed || handler === null) return;
    const peer = link.to;
    this.logger.debug('peer unreachable', { peer: peer.toString(), reason });
    if (report === 'now') {
      handler.onPeerUnreachable(peer, reason);
    } else {
      this.runtime.timers.defer(() => {
        if (!this.closed) handler.onPeerUnreachable(peer, reason);
      });
    }
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    for (const link of [...this.outbound.values()]) this.failLink(link, 'transport closed', 'silent');
    for (const link of [...this.inbound]) {
      this.dropInbound(link);
      link.from.failLink(link, 'connection closed by peer', 'deferred');
    }
    if (this.local !== null) this.network.unbind(this.local, this);
    this.logger.debug('transport closed', { address: this.local?.toString() });
  }
}
