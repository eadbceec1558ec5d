/**
 * Length-prefixed framing: every frame on the wire is `[u32 big-endian length][payload]`.
 *
 * The length counts the payload only (not the 4-byte prefix). A length of zero is refused: every
 * Shoal frame carries at least a type byte, so an empty frame can only be garbage. A length above
 * the decoder's `frameBytesMax` is refused before anything is allocated for it.
 */

/** Bytes of the length prefix in front of every frame. */
export const FRAME_HEADER_BYTES = 4;

/** The largest length a u32 prefix can carry. */
export const FRAME_LENGTH_LIMIT = 0xffff_ffff;

/**
 * Returns null when `length` is acceptable for a frame under `frameBytesMax`, else the reason.
 * Shared by the decoder (untrusted input) and by `send` (caller error).
 */
export function checkFrameLength(length: number, frameBytesMax: number): string | null {
  if (length === 0) return 'zero-length frame';
  if (length > frameBytesMax) return `frame length ${length} exceeds frameBytesMax ${frameBytesMax}`;
  return null;
}

/** A fresh buffer holding `payload` with its length prefix (one allocation, one copy). */
export function encodeFrame(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

const EMPTY = Buffer.alloc(0);

/**
 * Accumulates a byte stream (socket chunks of any size and split) and yields whole frames.
 *
 * Usage: `push(chunk)`, then call `next()` until it returns null; then check `error`.
 *
 * - No `Buffer.concat` per chunk: a frame lying wholly inside one chunk is returned as a view
 *   (`subarray`) of that chunk; only a frame that spans chunks is assembled, into a buffer of
 *   exactly its length, allocated after its length prefix has been checked against
 *   `frameBytesMax`. A length prefix split across chunks is gathered in a 4-byte scratch buffer.
 * - Validity of returned frames: a frame is valid until the caller pushes the next chunk. The
 *   decoder never writes into a buffer it has returned, but views alias the pushed chunk, so a
 *   caller that reuses its chunk buffers (sockets do not) must consume frames first. Callers that
 *   keep a frame beyond that copy it.
 * - Errors are not thrown: `next()` returns null and `error` holds the reason (for the connection
 *   to be closed with a logged reason). After an error the decoder yields nothing more.
 */
export class FrameDecoder {
  /** Largest acceptable payload length; may be raised once a handshake has succeeded. */
  frameBytesMax: number;
  /** Why the stream was rejected, or null. */
  error: string | null = null;

  private chunk: Buffer | null = null;
  private offset = 0;
  private readonly header = Buffer.alloc(FRAME_HEADER_BYTES);
  private headerFilled = 0;
  private body: Buffer | null = null;
  private bodyFilled = 0;

  constructor(frameBytesMax: number) {
    if (!Number.isInteger(frameBytesMax) || frameBytesMax < 1 || frameBytesMax > FRAME_LENGTH_LIMIT) {
      throw new RangeError(`frameBytesMax must be an integer in 1..${FRAME_LENGTH_LIMIT}, got ${frameBytesMax}`);
    }
    this.frameBytesMax = frameBytesMax;
  }

  /** Adds the next chunk of the stream. The previous chunk must have been drained with `next()`. */
  push(chunk: Buffer): void {
    if (this.error !== null) return;
    if (this.chunk !== null) {
      throw new Error('FrameDecoder.push: previous chunk not drained; call next() until it returns null');
    }
    if (chunk.length === 0) return;
    this.chunk = chunk;
    this.offset = 0;
  }

  /** Where the frame found by the last successful `nextFrame()` lies: `frameBytes[frameStart, frameEnd)`. */
  frameBytes: Buffer = EMPTY;
  frameStart = 0;
  frameEnd = 0;

  /**
   * Finds the next whole frame without allocating a view of it: true when one was found (see
   * `frameBytes`, `frameStart`, `frameEnd`), false when more bytes are needed or on error.
   */
  nextFrame(): boolean {
    const chunk = this.chunk;
    if (chunk === null || this.error !== null) return false;
    // The common case: prefix and body lie wholly in the chunk.
    if (this.body === null && this.headerFilled === 0 && chunk.length - this.offset >= FRAME_HEADER_BYTES) {
      const length = chunk.readUInt32BE(this.offset);
      const start = this.offset + FRAME_HEADER_BYTES;
      if (chunk.length - start >= length && checkFrameLength(length, this.frameBytesMax) === null) {
        this.offset = start + length;
        if (this.offset === chunk.length) this.chunk = null;
        this.frameBytes = chunk;
        this.frameStart = start;
        this.frameEnd = start + length;
        return true;
      }
    }
    const frame = this.next();
    if (frame === null) return false;
    this.frameBytes = frame;
    this.frameStart = 0;
    this.frameEnd = frame.length;
    return true;
  }

  /** The next whole frame, or null when more bytes are needed (or on error: see `error`). */
  next(): Buffer | null {
    const chunk = this.chunk;
    if (chunk === null || this.error !== null) return null;

    if (this.body !== null) return this.continueBody(chunk);

    let length: number;
    const available = chunk.length - this.offset;
    if (this.headerFilled === 0 && available >= FRAME_HEADER_BYTES) {
      length = chunk.readUInt32BE(this.offset);
      this.offset += FRAME_HEADER_BYTES;
    } else {
      const n = Math.min(FRAME_HEADER_BYTES - this.headerFilled, available);
      chunk.copy(this.header, this.headerFilled, this.offset, this.offset + n);
      this.headerFilled += n;
      this.offset += n;
      if (this.headerFilled < FRAME_HEADER_BYTES) return this.drained();
      length = this.header.readUInt32BE(0);
      this.headerFilled = 0;
    }

    const reason = checkFrameLength(length, this.frameBytesMax);
    if (reason !== null) {
      this.error = reason;
      this.chunk = null;
      return null;
    }

    const bodyAvailable = chunk.length - this.offset;
    if (bodyAvailable >= length) {
      const frame = chunk.subarray(this.offset, this.offset + length);
      this.offset += length;
      if (this.offset === chunk.length) this.chunk = null;
      return frame;
    }
    // The frame spans chunks: allocate exactly its (checked) length and start filling it.
    this.body = Buffer.allocUnsafe(length);
    chunk.copy(this.body, 0, this.offset);
    this.bodyFilled = bodyAvailable;
    return this.drained();
  }

  /** Bytes of an incomplete frame held (prefix bytes included); 0 at a frame boundary. */
  get bufferedBytes(): number {
    const unread = this.chunk === null ? 0 : this.chunk.length - this.offset;
    const partial = this.body === null ? this.headerFilled : FRAME_HEADER_BYTES + this.bodyFilled;
    return partial + unread;
  }

  /** At end of stream: null if it ended at a frame boundary, else why it is truncated. */
  finish(): string | null {
    if (this.error !== null) return this.error;
    if (this.chunk !== null) return 'stream ended with an undrained chunk';
    if (this.body !== null) {
      return `stream ended inside a frame (${this.bodyFilled} of ${this.body.length} payload bytes)`;
    }
    if (this.headerFilled > 0) {
      return `stream ended inside a length prefix (${this.headerFilled} of ${FRAME_HEADER_BYTES} bytes)`;
    }
    return null;
  }

  private continueBody(chunk: Buffer): Buffer | null {
    const body = this.body as Buffer;
    const n = Math.min(body.length - this.bodyFilled, chunk.length - this.offset);
    chunk.copy(body, this.bodyFilled, this.offset, this.offset + n);
    this.bodyFilled += n;
    this.offset += n;
    if (this.offset === chunk.length) this.chunk = null;
    if (this.bodyFilled < body.length) return null;
    this.body = null;
    this.bodyFilled = 0;
    return body;
  }

  private drained(): null {
    this.chunk = null;
    this.offset = 0;
    return null;
  }
}

/** Frames up to this size are copied into the arena byte by byte (see FrameArena.append). */
const SMALL_COPY_BYTES = 256;

/** Initial arena size: room for a tick's worth of small frames without growing. */
export const ARENA_BYTES_INITIAL = 64 * 1024;
/** An arena grown beyond this (by a large frame) is not kept after its flush. */
export const ARENA_BYTES_RETAINED_MAX = 1024 * 1024;

/**
 * The per-connection write buffer: frames queued during one event-loop turn are copied into it,
 * each with its length prefix, and the whole is handed to the socket in one write.
 *
 * After a flush the owner calls `reset(stillReferenced)`: when the socket kept a reference to the
 * flushed bytes (it could not write them all at once) the arena drops its buffer and allocates a
 * fresh one on the next append; otherwise the same buffer is reused.
 */
export class FrameArena {
  private buffer: Buffer | null = null;
  /** Bytes used, prefixes included. */
  used = 0;
  /** Frames appended since the last reset that count as application frames. */
  frames = 0;

  constructor(private readonly initialBytes: number = ARENA_BYTES_INITIAL) {}

  /** Copies `payload` with its length prefix; `counted` is false for the handshake frame. */
  append(payload: Uint8Array, counted = true, length = payload.length): void {
    const need = this.used + FRAME_HEADER_BYTES + length;
    const buffer = this.ensure(need);
    buffer.writeUInt32BE(length, this.used);
    const at = this.used + FRAME_HEADER_BYTES;
    if (length === payload.length) {
      buffer.set(payload, at);
    } else if (length <= SMALL_COPY_BYTES) {
      // Measured end to end (a member and a caller in one process, CPU per remote call): this
      // loop 1.8-1.9 µs, Buffer#copy 1.9-2.05 µs, set(subarray()) 2.05 µs (a view per frame).
      // Alone, Buffer#copy wins from ~40 bytes, but a call's frames are mostly shorter.
      for (let i = 0; i < length; i++) buffer[at + i] = payload[i];
    } else {
      buffer.set(payload.subarray(0, length), at);
    }
    this.used = need;
    if (counted) this.frames += 1;
  }

  /** A view of the bytes queued so far (valid until the next append or reset). */
  view(): Buffer {
    return this.buffer === null ? Buffer.alloc(0) : this.buffer.subarray(0, this.used);
  }

  reset(stillReferenced: boolean): void {
    this.used = 0;
    this.frames = 0;
    if (stillReferenced || (this.buffer !== null && this.buffer.length > ARENA_BYTES_RETAINED_MAX)) {
      this.buffer = null;
    }
  }

  private ensure(need: number): Buffer {
    const current = this.buffer;
    if (current !== null && current.length >= need) return current;
    let size = current === null ? this.initialBytes : current.length;
    while (size < need) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    if (current !== null && this.used > 0) current.copy(grown, 0, 0, this.used);
    this.buffer = grown;
    return grown;
  }
}
