import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ObjectDataInput, ObjectDataOutput, SerializationError } from '../../src/serialization/index.js';
import { int32, int64, safeInteger, text } from './arbitraries.js';

function roundTrip<T>(write: (out: ObjectDataOutput) => void, read: (input: ObjectDataInput) => T): T {
  const out = new ObjectDataOutput(1);
  write(out);
  const input = new ObjectDataInput(out.toBuffer());
  const result = read(input);
  assert.equal(input.remaining(), 0, 'the reader consumed exactly what the writer wrote');
  return result;
}

function isSerializationError(pattern: RegExp): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof SerializationError, `expected a SerializationError, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  };
}

void describe('ObjectDataOutput/ObjectDataInput round trips', () => {
  void it('byte (signed)', () => {
    fc.assert(fc.property(fc.integer({ min: -128, max: 127 }), (v) => {
      assert.equal(roundTrip((o) => o.writeByte(v), (i) => i.readByte()), v);
    }));
  });

  void it('byte (unsigned)', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 255 }), (v) => {
      assert.equal(roundTrip((o) => o.writeByte(v), (i) => i.readUnsignedByte()), v);
      assert.equal(roundTrip((o) => o.writeByte(v), (i) => i.readByte()), (v << 24) >> 24);
    }));
  });

  void it('boolean', () => {
    for (const v of [true, false]) assert.equal(roundTrip((o) => o.writeBoolean(v), (i) => i.readBoolean()), v);
  });

  void it('short', () => {
    fc.assert(fc.property(fc.integer({ min: -32768, max: 32767 }), (v) => {
      assert.equal(roundTrip((o) => o.writeShort(v), (i) => i.readShort()), v);
    }));
    assert.equal(roundTrip((o) => o.writeShort(65535), (i) => i.readShort()), -1);
  });

  void it('int, big-endian like Buffer.writeInt32BE', () => {
    fc.assert(fc.property(int32, (v) => {
      assert.equal(roundTrip((o) => o.writeInt(v), (i) => i.readInt()), v);
      const out = new ObjectDataOutput();
      out.writeInt(v);
      const expected = Buffer.alloc(4);
      expected.writeInt32BE(v);
      assert.deepEqual(out.toBuffer(), expected);
    }));
  });

  void it('long as number, big-endian like Buffer.writeBigInt64BE', () => {
    fc.assert(fc.property(safeInteger, (v) => {
      assert.equal(roundTrip((o) => o.writeLong(v), (i) => i.readLong()), v);
      assert.equal(roundTrip((o) => o.writeLong(v), (i) => i.readBigLong()), BigInt(v));
      const out = new ObjectDataOutput();
      out.writeLong(v);
      const expected = Buffer.alloc(8);
      expected.writeBigInt64BE(BigInt(v));
      assert.deepEqual(out.toBuffer(), expected);
    }));
  });

  void it('long as bigint', () => {
    fc.assert(fc.property(int64, (v) => {
      assert.equal(roundTrip((o) => o.writeLong(v), (i) => i.readBigLong()), v);
      if (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) {
        assert.equal(roundTrip((o) => o.writeLong(v), (i) => i.readLong()), Number(v));
      }
    }));
  });

  void it('readLong refuses int64 values it cannot represent exactly', () => {
    for (const v of [2n ** 53n, -(2n ** 53n), 2n ** 63n - 1n, -(2n ** 63n)]) {
      const out = new ObjectDataOutput();
      out.writeLong(v);
      const input = new ObjectDataInput(out.toBuffer());
      assert.throws(() => input.readLong(), isSerializationError(/outside the safe-integer range/));
      assert.equal(input.readBigLong(), v, 'a failed readLong does not move the position');
    }
  });

  void it('double, including NaN, -0 and infinities', () => {
    fc.assert(fc.property(fc.double(), (v) => {
      assert.ok(Object.is(roundTrip((o) => o.writeDouble(v), (i) => i.readDouble()), v));
    }));
    for (const v of [Number.NaN, -0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.MIN_VALUE]) {
      assert.ok(Object.is(roundTrip((o) => o.writeDouble(v), (i) => i.readDouble()), v));
    }
  });

  void it('UTF strings, with the same bytes as Buffer.from(s, "utf8")', () => {
    fc.assert(fc.property(text, (s) => {
      assert.equal(roundTrip((o) => o.writeUTF(s), (i) => i.readUTF()), s);
      const out = new ObjectDataOutput();
      out.writeUTF(s);
      const utf8 = Buffer.from(s, 'utf8');
      const expected = Buffer.alloc(4 + utf8.length);
      expected.writeInt32BE(utf8.length);
      utf8.copy(expected, 4);
      assert.deepEqual(out.toBuffer(), expected);
    }), { numRuns: 500 });
  });

  void it('UTF strings at the short/long boundaries and beyond', () => {
    for (const n of [0, 1, 31, 32, 33, 63, 64, 65, 1000, 100_000]) {
      for (const unit of ['a', 'é', '日', '😀']) {
        const s = unit.repeat(n);
        assert.equal(roundTrip((o) => o.writeUTF(s), (i) => i.readUTF()), s);
      }
    }
    const mixed = 'ascii prefix then ünïcødé 日本語 😀 and a U+FFFD \ufffd, a BOM \ufeff';
    assert.equal(roundTrip((o) => o.writeUTF(mixed), (i) => i.readUTF()), mixed);
    assert.equal(roundTrip((o) => o.writeUTF('\ufeffleading'), (i) => i.readUTF()), '\ufeffleading');
  });

  void it('a short string whose non-ASCII tail does not fit grows and re-encodes its ASCII prefix', () => {
    for (const capacity of [1, 4, 8, 10, 12, 16, 30]) {
      const out = new ObjectDataOutput(capacity);
      out.writeUTF('abc日本語d');
      out.writeUTF('é');
      const input = new ObjectDataInput(out.toBuffer());
      assert.equal(input.readUTF(), 'abc日本語d');
      assert.equal(input.readUTF(), 'é');
    }
  });

  void it('short ASCII strings decode correctly however the decode cache is hit, missed or evicted', () => {
    const strings = Array.from({ length: 10_000 }, (_, i) => `k${i}`.padEnd((i % 32) + 1, String.fromCharCode(33 + (i % 90))));
    const out = new ObjectDataOutput();
    for (const s of strings) out.writeUTF(s);
    for (const s of strings.slice(0, 100)) out.writeUTF(s);
    const input = new ObjectDataInput(out.toBuffer());
    for (const s of [...strings, ...strings.slice(0, 100)]) assert.equal(input.readUTF(), s);
    // Same length, one byte apart, read alternately.
    for (let round = 0; round < 3; round++) {
      for (const s of ['abcdefgh', 'abcdefgi', 'bbcdefgh']) assert.equal(roundTrip((o) => o.writeUTF(s), (i) => i.readUTF()), s);
    }
  });

  void it('null UTF: readNullableUTF gives null, readUTF refuses it', () => {
    assert.equal(roundTrip((o) => o.writeUTF(null), (i) => i.readNullableUTF()), null);
    assert.equal(roundTrip((o) => o.writeUTF('x'), (i) => i.readNullableUTF()), 'x');
    const out = new ObjectDataOutput();
    out.writeUTF(null);
    assert.deepEqual(out.toBuffer(), Buffer.from([0xff, 0xff, 0xff, 0xff]));
    assert.throws(() => new ObjectDataInput(out.toBuffer()).readUTF(), isSerializationError(/found null \(use readNullableUTF\)/));
  });

  void it('byte arrays, including null and empty; the result is a copy', () => {
    fc.assert(fc.property(fc.option(fc.uint8Array({ maxLength: 300 }), { nil: null }), (b) => {
      const got = roundTrip((o) => o.writeByteArray(b), (i) => i.readByteArray());
      if (b === null) assert.equal(got, null);
      else assert.deepEqual(got, Buffer.from(b));
    }));
    const out = new ObjectDataOutput();
    out.writeByteArray(Buffer.from([1, 2, 3]));
    const source = out.toBuffer();
    const got = new ObjectDataInput(source).readByteArray()!;
    source[4] = 99;
    assert.deepEqual(got, Buffer.from([1, 2, 3]));
  });

  void it('raw bytes have no length prefix', () => {
    const out = new ObjectDataOutput();
    out.writeBytes(Buffer.from([7, 8]));
    out.writeBytes(new Uint8Array(0));
    assert.deepEqual(out.toBuffer(), Buffer.from([7, 8]));
  });

  type Op =
    | { kind: 'byte'; v: number }
    | { kind: 'boolean'; v: boolean }
    | { kind: 'short'; v: number }
    | { kind: 'int'; v: number }
    | { kind: 'long'; v: number }
    | { kind: 'bigLong'; v: bigint }
    | { kind: 'double'; v: number }
    | { kind: 'utf'; v: string | null }
    | { kind: 'bytes'; v: Uint8Array | null };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.integer({ min: -128, max: 127 }).map((v) => ({ kind: 'byte' as const, v })),
    fc.boolean().map((v) => ({ kind: 'boolean' as const, v })),
    fc.integer({ min: -32768, max: 32767 }).map((v) => ({ kind: 'short' as const, v })),
    int32.map((v) => ({ kind: 'int' as const, v })),
    safeInteger.map((v) => ({ kind: 'long' as const, v })),
    int64.map((v) => ({ kind: 'bigLong' as const, v })),
    fc.double().map((v) => ({ kind: 'double' as const, v })),
    fc.option(text, { nil: null }).map((v) => ({ kind: 'utf' as const, v })),
    fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null }).map((v) => ({ kind: 'bytes' as const, v })),
  );

  void it('any sequence of writes reads back in order from a 1-byte initial buffer', () => {
    fc.assert(fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
      const out = new ObjectDataOutput(1);
      for (const o of ops) {
        switch (o.kind) {
          case 'byte': out.writeByte(o.v); break;
          case 'boolean': out.writeBoolean(o.v); break;
          case 'short': out.writeShort(o.v); break;
          case 'int': out.writeInt(o.v); break;
          case 'long': out.writeLong(o.v); break;
          case 'bigLong': out.writeLong(o.v); break;
          case 'double': out.writeDouble(o.v); break;
          case 'utf': out.writeUTF(o.v); break;
          case 'bytes': out.writeByteArray(o.v); break;
        }
      }
      const input = new ObjectDataInput(out.toBuffer());
      for (const o of ops) {
        switch (o.kind) {
          case 'byte': assert.equal(input.readByte(), o.v); break;
          case 'boolean': assert.equal(input.readBoolean(), o.v); break;
          case 'short': assert.equal(input.readShort(), o.v); break;
          case 'int': assert.equal(input.readInt(), o.v); break;
          case 'long': assert.equal(input.readLong(), o.v); break;
          case 'bigLong': assert.equal(input.readBigLong(), o.v); break;
          case 'double': assert.ok(Object.is(input.readDouble(), o.v)); break;
          case 'utf': assert.equal(input.readNullableUTF(), o.v); break;
          case 'bytes': assert.deepEqual(input.readByteArray(), o.v === null ? null : Buffer.from(o.v)); break;
        }
      }
      assert.equal(input.remaining(), 0);
    }));
  });
});

void describe('ObjectDataOutput rejects values that do not fit', () => {
  const cases: [name: string, write: (out: ObjectDataOutput) => void, pattern: RegExp][] = [
    ['writeByte(256)', (o) => o.writeByte(256), /writeByte: 256 is not in the -128\.\.255 range/],
    ['writeByte(-129)', (o) => o.writeByte(-129), /writeByte/],
    ['writeByte(1.5)', (o) => o.writeByte(1.5), /writeByte/],
    ['writeShort(65536)', (o) => o.writeShort(65536), /writeShort/],
    ['writeShort(-32769)', (o) => o.writeShort(-32769), /writeShort/],
    ['writeInt(2^31)', (o) => o.writeInt(2 ** 31), /writeInt: 2147483648 is not in the int32 range/],
    ['writeInt(-2^31-1)', (o) => o.writeInt(-(2 ** 31) - 1), /writeInt/],
    ['writeInt(0.5)', (o) => o.writeInt(0.5), /writeInt/],
    ['writeInt(NaN)', (o) => o.writeInt(Number.NaN), /writeInt: NaN/],
    ['writeInt(Infinity)', (o) => o.writeInt(Number.POSITIVE_INFINITY), /writeInt/],
    ['writeLong(2^53)', (o) => o.writeLong(2 ** 53), /not a safe integer \(pass a bigint/],
    ['writeLong(1.5)', (o) => o.writeLong(1.5), /not a safe integer/],
    ['writeLong(NaN)', (o) => o.writeLong(Number.NaN), /not a safe integer/],
    ['writeLong(2n^63)', (o) => o.writeLong(2n ** 63n), /int64 range/],
    ['writeLong(-2n^63-1n)', (o) => o.writeLong(-(2n ** 63n) - 1n), /int64 range/],
    ['writeUTF(lone high surrogate)', (o) => o.writeUTF('ab\ud800'), /lone UTF-16 surrogate at index 2/],
    ['writeUTF(lone low surrogate)', (o) => o.writeUTF('\udc00x'), /lone UTF-16 surrogate at index 0/],
    ['writeUTF(reversed pair)', (o) => o.writeUTF('\ude00\ud83d'), /lone UTF-16 surrogate/],
    ['writeUTF(long string, lone surrogate)', (o) => o.writeUTF('x'.repeat(100) + '\ud800' + 'y'), /lone UTF-16 surrogate at index 100/],
  ];
  for (const [name, write, pattern] of cases) {
    void it(name, () => {
      const out = new ObjectDataOutput(8);
      out.writeByte(1);
      assert.throws(() => write(out), isSerializationError(pattern));
      assert.equal(out.position(), 1, 'a rejected write leaves the position where it was');
    });
  }

  for (const initialBytes of [0, -1, 1.5, Number.NaN]) {
    void it(`new ObjectDataOutput(${initialBytes}) is a RangeError`, () => {
      assert.throws(() => new ObjectDataOutput(initialBytes), RangeError);
    });
  }
});

void describe('ObjectDataOutput buffer management', () => {
  void it('grows by doubling and keeps what was written', () => {
    const out = new ObjectDataOutput(16);
    assert.equal(out.capacity(), 16);
    for (let i = 0; i < 16; i++) out.writeByte(i);
    assert.equal(out.capacity(), 16, 'exactly full does not grow');
    out.writeByte(16);
    assert.equal(out.capacity(), 32);
    out.writeBytes(new Uint8Array(100).fill(0xaa));
    assert.equal(out.position(), 117);
    assert.equal(out.capacity(), 128, '32 -> 64 -> 128 for a single large write');
    const bytes = out.toBuffer();
    for (let i = 0; i <= 16; i++) assert.equal(bytes[i], i);
    assert.ok(bytes.subarray(17).every((b) => b === 0xaa));
  });

  void it('reuses its buffer after clear()', () => {
    const out = new ObjectDataOutput(64);
    out.writeUTF('first message that is fairly long');
    const before = out.view().buffer;
    out.clear();
    assert.equal(out.position(), 0);
    assert.equal(out.view().length, 0);
    out.writeInt(7);
    assert.equal(out.view().buffer, before, 'same backing memory, no reallocation');
    assert.equal(out.capacity(), 64);
    assert.deepEqual(out.toBuffer(), Buffer.from([0, 0, 0, 7]));
  });

  void it('toBuffer copies, view does not', () => {
    const out = new ObjectDataOutput();
    out.writeInt(1);
    const copy = out.toBuffer();
    const view = out.view();
    out.clear();
    out.writeInt(2);
    assert.deepEqual(copy, Buffer.from([0, 0, 0, 1]));
    assert.deepEqual(view, Buffer.from([0, 0, 0, 2]));
  });

  void it('back-patches a length with position() and writeIntAt()', () => {
    const out = new ObjectDataOutput(4);
    out.writeByte(9);
    const at = out.position();
    out.writeInt(0);
    out.writeUTF('payload that forces a grow');
    out.writeIntAt(at, out.position() - at - 4);
    const input = new ObjectDataInput(out.toBuffer());
    assert.equal(input.readByte(), 9);
    const length = input.readInt();
    assert.equal(length, input.remaining());
    assert.equal(input.readUTF(), 'payload that forces a grow');
  });

  void it('setPosition moves within what was written, and back out again', () => {
    const out = new ObjectDataOutput(8);
    out.writeInt(1);
    out.writeInt(2);
    out.setPosition(0);
    out.writeInt(3);
    assert.deepEqual(out.toBuffer(), Buffer.from([0, 0, 0, 3]), 'position is the size');
    out.setPosition(8);
    assert.deepEqual(out.toBuffer(), Buffer.from([0, 0, 0, 3, 0, 0, 0, 2]));
    out.writeIntAt(4, -1);
    assert.deepEqual(out.toBuffer(), Buffer.from([0, 0, 0, 3, 255, 255, 255, 255]));
  });

  void it('never exposes bytes that were not written', () => {
    const out = new ObjectDataOutput(64);
    out.writeInt(1);
    assert.throws(() => out.setPosition(5), RangeError);
    assert.throws(() => out.setPosition(-1), RangeError);
    assert.throws(() => out.writeIntAt(1, 0), RangeError);
    assert.throws(() => out.writeIntAt(-1, 0), RangeError);
    assert.throws(() => out.writeIntAt(0, 2 ** 31), SerializationError);
    out.clear();
    assert.throws(() => out.setPosition(4), RangeError, 'clear() forgets the old high-water mark');
  });

  void it('keeps bytes beyond the position across a grow after setPosition', () => {
    const out = new ObjectDataOutput(8);
    out.writeInt(1);
    out.writeInt(2);
    out.setPosition(0);
    out.writeBytes(new Uint8Array(2)); // pos 2, high 8
    out.setPosition(8);
    out.writeInt(3); // grows
    assert.deepEqual(out.toBuffer(), Buffer.from([0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3]));
  });
});

void describe('ObjectDataInput bounds', () => {
  const readers: [name: string, bytes: number, read: (input: ObjectDataInput) => unknown][] = [
    ['readByte', 1, (i) => i.readByte()],
    ['readUnsignedByte', 1, (i) => i.readUnsignedByte()],
    ['readBoolean', 1, (i) => i.readBoolean()],
    ['readShort', 2, (i) => i.readShort()],
    ['readInt', 4, (i) => i.readInt()],
    ['readLong', 8, (i) => i.readLong()],
    ['readBigLong', 8, (i) => i.readBigLong()],
    ['readDouble', 8, (i) => i.readDouble()],
  ];
  for (const [name, bytes, read] of readers) {
    void it(`${name} with ${bytes - 1} bytes left says how much is missing, even if the buffer goes on`, () => {
      const buffer = new Uint8Array(bytes + 10);
      const input = new ObjectDataInput(buffer, 3, 3 + bytes - 1);
      assert.throws(() => read(input), isSerializationError(new RegExp(`^truncated: need ${bytes} bytes at offset 3, have ${bytes - 1}$`)));
    });
  }

  void it('length-prefixed reads check the length before allocating', () => {
    for (const read of [(i: ObjectDataInput) => i.readUTF(), (i: ObjectDataInput) => i.readByteArray()]) {
      const input = new ObjectDataInput(Buffer.from([0x7f, 0xff, 0xff, 0xff, 1, 2]));
      assert.throws(() => read(input), isSerializationError(/^truncated: need 2147483647 bytes at offset 4, have 2$/));
    }
  });

  void it('lengths below -1 are invalid', () => {
    for (const read of [(i: ObjectDataInput) => i.readNullableUTF(), (i: ObjectDataInput) => i.readByteArray()]) {
      const input = new ObjectDataInput(Buffer.from([0xff, 0xff, 0xff, 0xfe]));
      assert.throws(() => read(input), isSerializationError(/invalid .* length -2 at offset 0/));
    }
  });

  void it('readBoolean accepts only 0 and 1', () => {
    assert.throws(() => new ObjectDataInput(Buffer.from([2])).readBoolean(), isSerializationError(/invalid boolean byte 2 at offset 0/));
  });

  const malformedUtf8: [name: string, bytes: number[]][] = [
    ['a lone continuation byte', [0x80]],
    ['0xff', [0x61, 0xff]],
    ['an overlong NUL', [0xc0, 0x80]],
    ['an encoded surrogate', [0xed, 0xa0, 0x80]],
    ['a cut-off 3-byte sequence', [0xe2, 0x82]],
    ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['bad bytes in a long string', [...Buffer.from('x'.repeat(50)), 0xff]],
  ];
  for (const [name, bytes] of malformedUtf8) {
    void it(`readUTF rejects ${name}`, () => {
      const buffer = Buffer.alloc(4 + bytes.length);
      buffer.writeInt32BE(bytes.length);
      Buffer.from(bytes).copy(buffer, 4);
      assert.throws(() => new ObjectDataInput(buffer).readUTF(), isSerializationError(/malformed UTF-8/));
    });
  }

  void it('skip, position and remaining', () => {
    const input = new ObjectDataInput(Buffer.from([1, 2, 3, 4, 5]), 1, 4);
    assert.equal(input.position(), 1);
    assert.equal(input.remaining(), 3);
    input.skip(2);
    assert.equal(input.readByte(), 4);
    assert.equal(input.remaining(), 0);
    assert.throws(() => input.skip(1), isSerializationError(/truncated: need 1 bytes at offset 4, have 0/));
    assert.throws(() => input.skip(-1), RangeError);
    input.skip(0);
  });

  void it('reads a Uint8Array view with a byte offset without copying it first', () => {
    const backing = new Uint8Array([9, 9, 0, 0, 1, 0, 9]);
    const view = backing.subarray(2, 6);
    const input = new ObjectDataInput(view);
    assert.equal(input.readInt(), 256);
    assert.equal(input.remaining(), 0);
  });

  void it('reset() points one reader at new input', () => {
    const input = new ObjectDataInput(Buffer.from([0, 0, 0, 1]));
    assert.equal(input.readInt(), 1);
    input.reset(Buffer.from([0xff, 0, 0, 0, 2]), 1);
    assert.equal(input.position(), 1);
    assert.equal(input.readInt(), 2);
    input.reset(Buffer.from([5, 6, 7]), 1, 2);
    assert.equal(input.readByte(), 6);
    assert.throws(() => input.readByte(), SerializationError);
  });

  for (const [offset, end] of [[-1, 2], [3, 2], [0, 5], [0.5, 2]] as const) {
    void it(`rejects the range [${offset}, ${end}) over 4 bytes`, () => {
      assert.throws(() => new ObjectDataInput(new Uint8Array(4), offset, end), RangeError);
    });
  }
});
