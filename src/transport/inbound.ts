import { FrameDecoder } from './framing.js';
import { HELLO_BYTES_MAX, decodeHello } from './handshake.js';
import type { Hello, TransportHandler, TransportStats } from './transport.js';

/** What an inbound session needs from the transport that owns it. */
export interface InboundContext {
  readonly clusterName: string;
  readonly frameBytesMax: number;
  readonly handler: TransportHandler;
  /** Mutated in place: `bytesReceived`, `framesReceived`. */
  readonly stats: TransportStats;
}

/**
 * The reading side of one accepted connection, shared by the TCP and memory transports so that
 * both apply the same rules to the same bytes:
 *
 * 1. Until the handshake, frames are limited to `HELLO_BYTES_MAX` (an unauthenticated peer cannot
 *    make this member allocate `frameBytesMax`).
 * 2. The first frame must decode as a Hello (`decodeHello`), with this member's cluster name; then
 *    `handler.acceptPeer(hello)` may still refuse it.
 * 3. Every later frame goes to `handler.onFrame(hello.address, bytes, start, end)`, in arrival order.
 *
 * `receive` and `end` return null to keep the connection, or the reason to refuse (close) it; the
 * transport logs the reason with the remote endpoint and counts the refusal.
 */
export class InboundSession {
  private readonly decoder = new FrameDecoder(HELLO_BYTES_MAX);
  private peer: Hello | null = null;
  private closed = false;

  constructor(private readonly ctx: InboundContext) {}

  /** The accepted Hello, or null before the handshake. */
  get hello(): Hello | null {
    return this.peer;
  }

  /** Bytes of an incomplete frame held: non-zero means the stream stopped mid-frame. */
  get bufferedBytes(): number {
    return this.decoder.bufferedBytes;
  }

  receive(chunk: Buffer): string | null {
    if (this.closed) return null;
    this.ctx.stats.bytesReceived += chunk.length;
    this.decoder.push(chunk);
    const decoder = this.decoder;
    while (decoder.nextFrame()) {
      const peer = this.peer;
      if (peer === null) {
        const reason = this.handshake(decoder.frameBytes.subarray(decoder.frameStart, decoder.frameEnd));
        if (reason !== null) return this.refuse(reason);
        if (this.closed) return null;
        continue;
      }
      this.ctx.stats.framesReceived += 1;
      try {
        this.ctx.handler.onFrame(peer.address, decoder.frameBytes, decoder.frameStart, decoder.frameEnd);
      } catch (error) {
        // The handler could not make sense of a frame (malformed body, unknown kind): this
        // connection cannot be trusted any more, the member and its other connections can.
        const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        return this.refuse(`malformed frame: ${message}`);
      }
      // The handler may have closed the transport (and with it this session) during the call.
      if (this.closed) return null;
    }
    const error = this.decoder.error;
    return error === null ? null : this.refuse(this.peer === null ? `${error} (before hello)` : error);
  }

  /** The stream ended: null if at a frame boundary, else why that is a protocol violation. */
  end(): string | null {
    if (this.closed) return null;
    const reason = this.decoder.finish();
    return reason === null ? null : this.refuse(reason);
  }

  /** Stops delivering: nothing more reaches the handler from this session. */
  close(): void {
    this.closed = true;
  }

  private handshake(frame: Buffer): string | null {
    const decoded = decodeHello(frame);
    if (!decoded.ok) return `bad hello: ${decoded.reason}`;
    const hello = decoded.hello;
    if (hello.clusterName !== this.ctx.clusterName) {
      return `cluster name '${hello.clusterName}' of ${hello.address.toString()} does not match '${this.ctx.clusterName}'`;
    }
    const refusal = this.ctx.handler.acceptPeer(hello);
    if (this.closed) return null;
    if (refusal !== null) return `refused by handler: ${refusal}`;
    this.peer = hello;
    this.decoder.frameBytesMax = this.ctx.frameBytesMax;
    return null;
  }

  private refuse(reason: string): string {
    this.closed = true;
    return reason;
  }
}
