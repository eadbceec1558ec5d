import { Buffer, constants as bufferConstants } from 'node:buffer';
import { SerializationError } from './errors.js';
import { globalTypeRegistry, type DataSerializable, type TypeRegistry } from './type-registry.js';
import { assertWellFormed, decodeUtf8, encodeUtf8Into } from './utf8.js';

/**
 * Tags that open every value written by `writeObject`. Part of the wire contract (and of the
 * partition hash of non-string keys): never renumber, only append.
 */
export const ObjectTag = {
  null: 0,
  undefined: 1,
  true: 2,
  false: 3,
  int32: 4,
  double: 5,
  int64: 6,
  string: 7,
  bytes: 8,
  array: 9,
  map: 10,
  set: 11,
  object: 12,
  date: 13,
  dataSerializable: 14,
} as const;

const TAG_NULL = 0;
const TAG_UNDEFINED = 1;
const TAG_TRUE = 2;
const TAG_FALSE = 3;
const TAG_INT32 = 4;
const TAG_DOUBLE = 5;
const TAG_INT64 = 6;
const TAG_STRING = 7;
const TAG_BYTES = 8;
const TAG_ARRAY = 9;
const TAG_MAP = 10;
const TAG_SET = 11;
const TAG_OBJECT = 12;
const TAG_DATE = 13;
const TAG_DATA_SERIALIZABLE = 14;

/**
 * How many containers (arrays, maps, sets, objects, DataSerializable values) may nest. Bounds the
 * reader's recursion on hostile input and turns a cyclic value into an error instead of a stack
 * overflow.
 */
export const objectDepthMax = 64;

/** The largest output buffer, Node's own Buffer limit; checked before growing. */
export const outputBytesMax = bufferConstants.MAX_LENGTH;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const TWO_POW_32 = 4294967296;

// Strings up to this many UTF-16 units are encoded by hand (room reserved at 3 bytes per unit);
// longer ones are measured and encoded natively, so a huge string does not reserve 3x its size.
const shortStringUnits = 64;

/**
 * A growable big-endian output. One instance is meant to be reused (clear()) for many messages,
 * so the steady state allocates nothing but the final copy, if any.
 */
export class ObjectDataOutput {
  readonly registry: TypeRegistry;
  private buf: Buffer;
  private pos = 0;
  // Furthest byte written; only differs from pos after setPosition moved back, and bounds where
  // setPosition/writeIntAt may go so uninitialised memory is never exposed.
  private high = 0;
  private depth = 0;

  constructor(initialBytes = 256, registry: TypeRegistry = globalTypeRegistry) {
    if (!Number.isInteger(initialBytes) || initialBytes < 1 || initialBytes > outputBytesMax) {
      throw new RangeError(`ObjectDataOutput: initialBytes must be an integer in 1..${outputBytesMax}, got ${initialBytes}`);
    }
    // Not from Node's shared pool: this buffer lives as long as the output and is reused.
    this.buf = Buffer.allocUnsafeSlow(initialBytes);
    this.registry = registry;
  }

  position(): number {
    return this.pos;
  }

  /** Current buffer size in bytes; grows by doubling. */
  capacity(): number {
    return this.buf.length;
  }

  setPosition(p: number): void {
    const limit = Math.max(this.high, this.pos);
    if (!Number.isInteger(p) || p < 0 || p > limit) {
      throw new RangeError(`setPosition: ${p} is outside the written range 0..${limit}`);
    }
    this.high = limit;
    this.pos = p;
  }

  clear(): void {
    this.pos = 0;
    this.high = 0;
    this.depth = 0;
  }

  /** A copy of the written bytes, safe to keep. */
  toBuffer(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }

  /** The written bytes without copying; valid only until the next write or clear(). */
  view(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  /**
   * The buffer the written bytes lie in, at `[0, position())`, for a consumer that copies them
   * out at once (`transport.send(to, out.backing, out.position())`): no view object per message.
   * Valid only until the next write or clear().
   */
  get backing(): Buffer {
    return this.buf;
  }

  private ensure(n: number): void {
    if (this.pos + n > this.buf.length) this.grow(n);
  }

  private grow(n: number): void {
    const needed = this.pos + n;
    if (needed > outputBytesMax) {
      throw new SerializationError(`output would need ${needed} bytes, more than the ${outputBytesMax}-byte limit`);
    }
    let cap = this.buf.length;
    while (cap < needed) cap *= 2;
    const next = Buffer.allocUnsafeSlow(Math.min(cap, outputBytesMax));
    this.buf.copy(next, 0, 0, Math.max(this.pos, this.high));
    this.buf = next;
  }

  /** Accepts -128..255 so both signed and unsigned byte values can be written; reads back signed. */
  writeByte(v: number): void {
    if ((v | 0) !== v || v < -128 || v > 255) throw outOfRange('writeByte', v, '-128..255');
    if (this.pos + 1 > this.buf.length) this.grow(1);
    this.buf[this.pos++] = v;
  }

  writeBoolean(v: boolean): void {
    if (this.pos + 1 > this.buf.length) this.grow(1);
    this.buf[this.pos++] = v ? 1 : 0;
  }

  /** Accepts -32768..65535; reads back signed. */
  writeShort(v: number): void {
    if ((v | 0) !== v || v < -32768 || v > 65535) throw outOfRange('writeShort', v, '-32768..65535');
    if (this.pos + 2 > this.buf.length) this.grow(2);
    const b = this.buf;
    const p = this.pos;
    b[p] = v >>> 8;
    b[p + 1] = v;
    this.pos = p + 2;
  }

  writeInt(v: number): void {
    // Silently wrapping (Java's cast) would corrupt data; a value that does not fit is a bug.
    if ((v | 0) !== v) throw outOfRange('writeInt', v, 'int32');
    if (this.pos + 4 > this.buf.length) this.grow(4);
    const b = this.buf;
    const p = this.pos;
    b[p] = v >>> 24;
    b[p + 1] = v >>> 16;
    b[p + 2] = v >>> 8;
    b[p + 3] = v;
    this.pos = p + 4;
  }

  /** Overwrites 4 already-written bytes, e.g. a length reserved before the payload was known. */
  writeIntAt(at: number, v: number): void {
    if ((v | 0) !== v) throw outOfRange('writeIntAt', v, 'int32');
    const limit = Math.max(this.high, this.pos);
    if (!Number.isInteger(at) || at < 0 || at + 4 > limit) {
      throw new RangeError(`writeIntAt: [${at}, ${at}+4) is outside the written range 0..${limit}`);
    }
    const b = this.buf;
    b[at] = v >>> 24;
    b[at + 1] = v >>> 16;
    b[at + 2] = v >>> 8;
    b[at + 3] = v;
  }

  /** A number must be a safe integer (pass a bigint beyond ±2^53); a bigint must fit in int64. */
  writeLong(v: number | bigint): void {
    if (typeof v === 'bigint') {
      if (v < INT64_MIN || v > INT64_MAX) throw outOfRange('writeLong', v, 'int64');
      if (this.pos + 8 > this.buf.length) this.grow(8);
      this.buf.writeBigInt64BE(v, this.pos);
      this.pos += 8;
      return;
    }
    if (!Number.isSafeInteger(v)) {
      throw new SerializationError(`writeLong: ${v} is not a safe integer (pass a bigint for larger values)`);
    }
    const hi = Math.floor(v / TWO_POW_32);
    const lo = v - hi * TWO_POW_32;
    if (this.pos + 8 > this.buf.length) this.grow(8);
    const b = this.buf;
    const p = this.pos;
    b[p] = hi >>> 24;
    b[p + 1] = hi >>> 16;
    b[p + 2] = hi >>> 8;
    b[p + 3] = hi;
    b[p + 4] = lo >>> 24;
    b[p + 5] = lo >>> 16;
    b[p + 6] = lo >>> 8;
    b[p + 7] = lo;
    this.pos = p + 8;
  }

  writeDouble(v: number): void {
    if (this.pos + 8 > this.buf.length) this.grow(8);
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
  }

  /** int32 byte length (-1 for null), then UTF-8. Lone surrogates are rejected (see utf8.ts). */
  writeUTF(s: string | null): void {
    if (s === null) {
      this.writeInt(-1);
      return;
    }
    const n = s.length;
    if (n <= shortStringUnits) {
      // Room for the ASCII case first; the 3-bytes-per-unit worst case only once a non-ASCII
      // char shows up, so ASCII strings never force a grow they do not need.
      if (this.pos + 4 + n > this.buf.length) this.grow(4 + n);
      let b = this.buf;
      const start = this.pos + 4;
      let p = start;
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) {
          const room = 4 + i + (n - i) * 3;
          if (this.pos + room > b.length) {
            // grow() keeps only bytes before pos, so the ASCII prefix is encoded again.
            this.grow(room);
            b = this.buf;
            p = encodeUtf8Into(s, 0, b, start);
          } else {
            p = encodeUtf8Into(s, i, b, p);
          }
          break;
        }
        b[p++] = c;
      }
      const len = p - start;
      const q = this.pos;
      b[q] = len >>> 24;
      b[q + 1] = len >>> 16;
      b[q + 2] = len >>> 8;
      b[q + 3] = len;
      this.pos = p;
      return;
    }
    assertWellFormed(s);
    const len = Buffer.byteLength(s, 'utf8');
    this.writeInt(len);
    if (this.pos + len > this.buf.length) this.grow(len);
    this.buf.write(s, this.pos, len, 'utf8');
    this.pos += len;
  }

  /** int32 length (-1 for null), then the bytes. */
  writeByteArray(b: Uint8Array | null): void {
    if (b === null) {
      this.writeInt(-1);
      return;
    }
    this.writeInt(b.length);
    this.writeBytes(b);
  }

  /** Raw bytes, no length prefix. */
  writeBytes(b: Uint8Array): void {
    const n = b.length;
    if (this.pos + n > this.buf.length) this.grow(n);
    this.buf.set(b, this.pos);
    this.pos += n;
  }

  private writeTag(tag: number): void {
    if (this.pos + 1 > this.buf.length) this.grow(1);
    this.buf[this.pos++] = tag;
  }

  /**
   * Self-describing encoding: a tag byte, then the payload. Supported: null, undefined, booleans,
   * numbers (int32 compactly, everything else as a double, so -0/NaN/Infinity survive), int64
   * bigints, strings, Uint8Arrays (read back as Buffer), arrays, Maps, Sets, plain objects
   * (own enumerable string keys; symbol keys are skipped, as JSON does), Dates, and instances of
   * registered DataSerializable classes. Anything else throws rather than losing its identity.
   */
  writeObject(v: unknown): void {
    switch (typeof v) {
      case 'string':
        this.writeTag(TAG_STRING);
        this.writeUTF(v);
        return;
      case 'number':
        // -0 is excluded from int32 because it would come back as +0.
        if ((v | 0) === v && (v !== 0 || 1 / v > 0)) {
          this.writeTag(TAG_INT32);
          this.writeInt(v);
        } else {
          this.writeTag(TAG_DOUBLE);
          this.writeDouble(v);
        }
        return;
      case 'boolean':
        this.writeTag(v ? TAG_TRUE : TAG_FALSE);
        return;
      case 'undefined':
        this.writeTag(TAG_UNDEFINED);
        return;
      case 'bigint':
        if (v < INT64_MIN || v > INT64_MAX) {
          throw new SerializationError(`cannot serialize bigint ${v}: outside the int64 range`);
        }
        this.writeTag(TAG_INT64);
        this.writeLong(v);
        return;
      case 'object':
        if (v === null) this.writeTag(TAG_NULL);
        else this.writeComposite(v);
        return;
      case 'function':
        throw new SerializationError(`cannot serialize a function (${v.name === '' ? 'anonymous' : v.name})`);
      case 'symbol':
        throw new SerializationError(`cannot serialize a symbol (${v.toString()})`);
    }
  }

  private writeComposite(v: object): void {
    if (this.depth >= objectDepthMax) {
      throw new SerializationError(`cannot serialize: nested deeper than ${objectDepthMax} levels (is the value cyclic?)`);
    }
    this.depth++;
    try {
      const proto: unknown = Object.getPrototypeOf(v);
      if (proto === Object.prototype || proto === null) {
        const record = v as Record<string, unknown>;
        const keys = Object.keys(record);
        this.writeTag(TAG_OBJECT);
        this.writeInt(keys.length);
        for (const key of keys) {
          this.writeUTF(key);
          this.writeObject(record[key]);
        }
      } else if (proto === Array.prototype) {
        const array = v as unknown[];
        const n = array.length;
        this.writeTag(TAG_ARRAY);
        this.writeInt(n);
        for (let i = 0; i < n; i++) this.writeObject(array[i]);
      } else {
        const typeId = this.registry.typeIdOf(v);
        if (typeId !== undefined) {
          const value = v as Partial<DataSerializable>;
          if (typeof value.writeData !== 'function') {
            throw new SerializationError(`cannot serialize ${describe(v)}: its class is registered but has no writeData method`);
          }
          this.writeTag(TAG_DATA_SERIALIZABLE);
          this.writeInt(typeId);
          value.writeData(this);
        } else if (v instanceof Uint8Array) {
          this.writeTag(TAG_BYTES);
          this.writeByteArray(v);
        } else if (proto === Map.prototype) {
          const map = v as Map<unknown, unknown>;
          this.writeTag(TAG_MAP);
          this.writeInt(map.size);
          for (const [key, value] of map) {
            this.writeObject(key);
            this.writeObject(value);
          }
        } else if (proto === Set.prototype) {
          const set = v as Set<unknown>;
          this.writeTag(TAG_SET);
          this.writeInt(set.size);
          for (const value of set) this.writeObject(value);
        } else if (proto === Date.prototype) {
          this.writeTag(TAG_DATE);
          this.writeDouble((v as Date).getTime());
        } else {
          throw new SerializationError(unsupportedMessage(v));
        }
      }
    } finally {
      this.depth--;
    }
  }
}

/**
 * A bounds-checked big-endian reader over `buffer[offset, end)`. Every read checks its length
 * before touching or allocating anything, so truncated or hostile input ends in a
 * SerializationError, never in garbage values or a huge allocation.
 */
export class ObjectDataInput {
  readonly registry: TypeRegistry;
  private buf!: Buffer;
  private pos = 0;
  private end = 0;
  private depth = 0;

  constructor(buffer: Uint8Array, offset = 0, end = buffer.length, registry: TypeRegistry = globalTypeRegistry) {
    this.registry = registry;
    this.reset(buffer, offset, end);
  }

  /** Points this reader at new bytes, so one instance serves many messages. */
  reset(buffer: Uint8Array, offset = 0, end = buffer.length): void {
    if (!Number.isInteger(offset) || !Number.isInteger(end) || offset < 0 || end < offset || end > buffer.length) {
      throw new RangeError(`ObjectDataInput: range [${offset}, ${end}) is outside 0..${buffer.length}`);
    }
    // A Buffer view (no copy) gives the native readers for doubles, bigints and strings.
    this.buf = Buffer.isBuffer(buffer) ? buffer : Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    this.pos = offset;
    this.end = end;
    this.depth = 0;
  }

  /** Absolute offset in the underlying buffer. */
  position(): number {
    return this.pos;
  }

  remaining(): number {
    return this.end - this.pos;
  }

  skip(n: number): void {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`skip: ${n} is not a non-negative integer`);
    this.need(n);
    this.pos += n;
  }

  private need(n: number): void {
    if (this.end - this.pos < n) throw this.truncated(n);
  }

  private truncated(n: number): SerializationError {
    return new SerializationError(`truncated: need ${n} bytes at offset ${this.pos}, have ${this.end - this.pos}`);
  }

  readByte(): number {
    if (this.end - this.pos < 1) throw this.truncated(1);
    return (this.buf[this.pos++] << 24) >> 24;
  }

  readUnsignedByte(): number {
    if (this.end - this.pos < 1) throw this.truncated(1);
    return this.buf[this.pos++];
  }

  /** Only 0 and 1 are accepted: anything else means the reader is out of step with the writer. */
  readBoolean(): boolean {
    if (this.end - this.pos < 1) throw this.truncated(1);
    const b = this.buf[this.pos];
    if (b > 1) throw new SerializationError(`invalid boolean byte ${b} at offset ${this.pos}`);
    this.pos++;
    return b === 1;
  }

  readShort(): number {
    if (this.end - this.pos < 2) throw this.truncated(2);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 2;
    return (((b[p] << 8) | b[p + 1]) << 16) >> 16;
  }

  readInt(): number {
    if (this.end - this.pos < 4) throw this.truncated(4);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];
  }

  /** An int64 as a number; throws rather than round a value beyond ±(2^53-1). */
  readLong(): number {
    if (this.end - this.pos < 8) throw this.truncated(8);
    const b = this.buf;
    const p = this.pos;
    const hi = (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];
    const lo = ((b[p + 4] << 24) | (b[p + 5] << 16) | (b[p + 6] << 8) | b[p + 7]) >>> 0;
    const v = hi * TWO_POW_32 + lo;
    if (!Number.isSafeInteger(v)) {
      throw new SerializationError(
        `readLong: the int64 at offset ${p} is outside the safe-integer range (use readBigLong)`,
      );
    }
    this.pos = p + 8;
    return v;
  }

  readBigLong(): bigint {
    if (this.end - this.pos < 8) throw this.truncated(8);
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  readDouble(): number {
    if (this.end - this.pos < 8) throw this.truncated(8);
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  /** A non-null string; a null on the wire is an error here (see readNullableUTF). */
  readUTF(): string {
    const at = this.pos;
    const s = this.readNullableUTF();
    if (s === null) throw new SerializationError(`expected a string at offset ${at}, found null (use readNullableUTF)`);
    return s;
  }

  readNullableUTF(): string | null {
    const len = this.readLength('string');
    if (len < 0) return null;
    const start = this.pos;
    const end = start + len;
    this.pos = end;
    return decodeUtf8(this.buf, start, end);
  }

  /** A copy, so the result stays valid after this reader's buffer is reused. */
  readByteArray(): Buffer | null {
    const len = this.readLength('byte array');
    if (len < 0) return null;
    const start = this.pos;
    this.pos = start + len;
    return Buffer.from(this.buf.subarray(start, start + len));
  }

  /** Reads an int32 length that is -1 (null) or fits in the remaining bytes. */
  private readLength(what: string): number {
    const len = this.readInt();
    if (len < -1 || len > this.end - this.pos) throw this.badLength(what, len);
    return len;
  }

  private badLength(what: string, len: number): SerializationError {
    if (len >= -1) return this.truncated(len);
    return new SerializationError(`invalid ${what} length ${len} at offset ${this.pos - 4}`);
  }

  /**
   * Reads an element count and checks that `count * minBytesEach` bytes remain, so a forged count
   * cannot make the reader allocate or loop beyond what the input could possibly hold.
   */
  private readCount(what: string, minBytesEach: number): number {
    const at = this.pos;
    const n = this.readInt();
    if (n < 0) throw new SerializationError(`invalid ${what} size ${n} at offset ${at}`);
    if (n * minBytesEach > this.end - this.pos) throw this.truncated(n * minBytesEach);
    return n;
  }

  readObject<T = unknown>(): T {
    return this.readValue() as T;
  }

  private readValue(): unknown {
    const at = this.pos;
    const tag = this.readUnsignedByte();
    switch (tag) {
      case TAG_NULL:
        return null;
      case TAG_UNDEFINED:
        return undefined;
      case TAG_TRUE:
        return true;
      case TAG_FALSE:
        return false;
      case TAG_INT32:
        return this.readInt();
      case TAG_DOUBLE:
        return this.readDouble();
      case TAG_INT64:
        return this.readBigLong();
      case TAG_STRING:
        return this.readUTF();
      case TAG_BYTES: {
        const bytes = this.readByteArray();
        if (bytes === null) throw new SerializationError(`byte array at offset ${at} has length -1; null has its own tag`);
        return bytes;
      }
      case TAG_DATE:
        return new Date(this.readDouble());
      case TAG_ARRAY:
      case TAG_MAP:
      case TAG_SET:
      case TAG_OBJECT:
      case TAG_DATA_SERIALIZABLE:
        return this.readComposite(tag);
      default:
        throw new SerializationError(`unknown object tag ${tag} at offset ${at}`);
    }
  }

  private readComposite(tag: number): unknown {
    if (this.depth >= objectDepthMax) {
      throw new SerializationError(`input nests deeper than ${objectDepthMax} levels at offset ${this.pos - 1}`);
    }
    this.depth++;
    try {
      switch (tag) {
        case TAG_ARRAY: {
          const n = this.readCount('array', 1);
          const array: unknown[] = [];
          for (let i = 0; i < n; i++) array.push(this.readValue());
          return array;
        }
        case TAG_MAP: {
          const n = this.readCount('map', 2);
          const map = new Map<unknown, unknown>();
          for (let i = 0; i < n; i++) {
            const key = this.readValue();
            map.set(key, this.readValue());
          }
          return map;
        }
        case TAG_SET: {
          const n = this.readCount('set', 1);
          const set = new Set<unknown>();
          for (let i = 0; i < n; i++) set.add(this.readValue());
          return set;
        }
        case TAG_OBJECT: {
          // Each entry is at least a 4-byte key length and a 1-byte value tag.
          const n = this.readCount('object', 5);
          const record: Record<string, unknown> = {};
          for (let i = 0; i < n; i++) {
            const key = this.readUTF();
            const value = this.readValue();
            // Plain assignment of "__proto__" would replace the prototype (prototype pollution).
            if (key === '__proto__') {
              Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
            } else {
              record[key] = value;
            }
          }
          return record;
        }
        default: {
          const at = this.pos;
          const typeId = this.readInt();
          if (typeId < 0) throw new SerializationError(`invalid type id ${typeId} at offset ${at}`);
          const value = this.registry.create(typeId) as Partial<DataSerializable>;
          if (typeof value.readData !== 'function') {
            throw new SerializationError(`type id ${typeId} (${describe(value)}) has no readData method`);
          }
          value.readData(this);
          return value;
        }
      }
    } finally {
      this.depth--;
    }
  }
}

function outOfRange(method: string, v: number | bigint, range: string): SerializationError {
  return new SerializationError(`${method}: ${String(v)} is not in the ${range} range`);
}

function describe(v: object): string {
  const ctor = (v as { constructor?: { name?: unknown } }).constructor;
  const name = typeof ctor?.name === 'string' && ctor.name !== '' ? ctor.name : 'anonymous class';
  return `an instance of ${name}`;
}

function unsupportedMessage(v: object): string {
  const ctor = (v as { constructor?: { typeId?: unknown } }).constructor;
  if (typeof ctor?.typeId === 'number') {
    return `cannot serialize ${describe(v)}: it has typeId ${ctor.typeId} but its class is not registered in this registry (registerType)`;
  }
  return `cannot serialize ${describe(v)}: only plain values, arrays, Maps, Sets, Dates, Uint8Arrays and registered DataSerializable classes are supported`;
}
