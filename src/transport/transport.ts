import type { Address } from '../core/address.js';

/**
 * What a connecting member says about itself in the first frame of every connection.
 * The accepting side refuses the connection when `clusterName` differs from its own or the
 * protocol version is unknown; it logs the reason and keeps serving.
 */
export interface Hello {
  readonly protocolVersion: number;
  readonly clusterName: string;
  readonly memberUuid: string;
  readonly memberName: string;
  /** The address the connecting member accepts connections on. */
  readonly address: Address;
}

export interface TransportHandler {
  /**
   * Called once per inbound connection after the transport has checked the cluster name and
   * protocol version. Returns null to accept, or a reason to refuse (the connection is closed).
   */
  acceptPeer(hello: Hello): string | null;
  /**
   * One whole frame (without its length prefix) from the member at `from`: `bytes[start, end)`.
   * `bytes` is usually the transport's read buffer, valid only during the call, so the handler
   * decodes synchronously and copies what it keeps. (Offsets rather than a view: a Buffer view
   * per frame was ~4 % of a remote call's CPU, with its garbage.)
   */
  onFrame(from: Address, bytes: Buffer, start: number, end: number): void;
  /** An outbound connection to `peer` closed or could not be opened; queued frames were dropped. */
  onPeerUnreachable(peer: Address, reason: string): void;
}

export interface TransportStats {
  framesSent: number;
  framesReceived: number;
  bytesSent: number;
  bytesReceived: number;
  connectionsRefused: number;
}

/**
 * Moves frames between members. Two implementations share this interface and one test suite:
 * `tcp` (node:net) and `memory` (in-process, for fast tests and the simulator).
 *
 * Ordering contract: frames sent to one peer arrive in the order sent, as long as the connection
 * lives. Each member writes only on connections it opened and reads on connections it accepted,
 * so there is one connection per direction per pair and no tie-breaking between simultaneous
 * connects.
 */
export interface Transport {
  /**
   * Starts accepting connections. With `portAutoIncrement` the transport tries consecutive ports
   * from the configured one; resolves with the address actually bound.
   */
  start(handler: TransportHandler): Promise<Address>;
  /**
   * Queues `frame` for `to`, connecting (and sending the Hello) on demand. The transport copies
   * the bytes before returning, so callers may reuse their buffer. Writes are batched per
   * event-loop turn. Sending to an unreachable peer drops the frame and later reports
   * `onPeerUnreachable`. `length` (default: all of `frame`) sends only the first `length`
   * bytes, so an encoder's buffer goes out without a view of it.
   */
  send(to: Address, frame: Uint8Array, length?: number): void;
  /** Closes the outbound connection to `peer` (if any), dropping queued frames. */
  disconnect(peer: Address): void;
  /** Stops accepting, closes every connection. After close, `send` drops silently. */
  close(): Promise<void>;
  stats(): TransportStats;
}

export interface TransportOptions {
  readonly host: string;
  readonly port: number;
  readonly portAutoIncrement: boolean;
  /** How many consecutive ports auto-increment may try. */
  readonly portCount: number;
  readonly clusterName: string;
  readonly memberUuid: string;
  readonly memberName: string;
  /** Largest frame accepted or sent, checked before allocating. */
  readonly frameBytesMax: number;
  /** Most bytes queued for one peer before frames are dropped (back-pressure limit). */
  readonly peerQueueBytesMax: number;
}

export const PROTOCOL_VERSION = 1;

/**
 * Where a transport reports what it did not do: refused connections (with the remote endpoint and
 * the reason), unreachable peers, bind attempts. The engine adapts its own logger to this shape.
 */
export interface TransportLogger {
  info(msg: string, fields?: object): void;
  warn(msg: string, fields?: object): void;
  debug(msg: string, fields?: object): void;
}
