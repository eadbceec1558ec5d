import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import murmur from 'murmurhash3js-revisited';
import { hashToIndex, murmurHash3x86_32 } from '../../src/serialization/index.js';
import { murmurHash3x86_32Ascii } from '../../src/serialization/murmur3.js';
import { isWellFormed, text } from './arbitraries.js';

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');
const hash = (bytes: Uint8Array, seed: number): number => murmurHash3x86_32(bytes, 0, bytes.length, seed);
const oracle = (bytes: Uint8Array, seed: number): number => murmur.x86.hash32(bytes, seed >>> 0);

void describe('murmurHash3x86_32', () => {
  const vectors: [input: string, seed: number, expected: number][] = [
    ['', 0, 0],
    ['', 1, 0x514e28b7],
    ['', 0xffffffff, 0x81f16f39],
    ['\0\0\0\0', 0, 0x2362f9de],
    ['Hello, world!', 1234, 0xfaf6cdb3],
    ['The quick brown fox jumps over the lazy dog', 0, 0x2e4ff723],
  ];
  for (const [input, seed, expected] of vectors) {
    void it(`hashes ${JSON.stringify(input)} with seed 0x${seed.toString(16)} to 0x${expected.toString(16)}`, () => {
      const h = hash(utf8(input), seed);
      assert.equal(h >>> 0, expected);
      assert.equal(h, expected | 0, 'returned as a signed int32');
    });
  }

  for (const input of ['ünïcødé', '日本語', '😀🎉', 'a😀b', 'Ωmega≠∞', '\u00e9', 'e\u0301', '\ufeffbom', '\u{10ffff}']) {
    void it(`matches the oracle on UTF-8 of ${JSON.stringify(input)}`, () => {
      for (const seed of [0, 1, 0x01000193, 0xffffffff, 0x9747b28c]) {
        assert.equal(hash(utf8(input), seed) >>> 0, oracle(utf8(input), seed));
      }
    });
  }

  void it('uses seed 0x01000193 by default', () => {
    const bytes = utf8('partition key');
    assert.equal(murmurHash3x86_32(bytes), hash(bytes, 0x01000193));
  });

  void it('matches the oracle on random bytes and seeds', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70 }), fc.integer({ min: 0, max: 0xffffffff }), (bytes, seed) => {
        assert.equal(hash(bytes, seed) >>> 0, oracle(bytes, seed));
        assert.equal(hash(bytes, seed | 0), hash(bytes, seed), 'signed and unsigned seeds agree');
      }),
      { numRuns: 2000 },
    );
  });

  void it('hashes a sub-range exactly like the same bytes on their own', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 40 }).chain((b) =>
          fc.tuple(fc.constant(b), fc.nat(b.length)).chain(([bytes, offset]) =>
            fc.tuple(fc.constant(bytes), fc.constant(offset), fc.nat(bytes.length - offset)),
          ),
        ),
        ([bytes, offset, length]) => {
          const alone = Uint8Array.from(bytes.subarray(offset, offset + length));
          assert.equal(murmurHash3x86_32(bytes, offset, length, 7), hash(alone, 7));
          assert.equal(murmurHash3x86_32(bytes, offset), murmurHash3x86_32(bytes.subarray(offset)));
        },
      ),
    );
  });

  const badRanges: [offset: number, length: number][] = [
    [-1, 1],
    [0, 5],
    [3, 2],
    [5, 0],
    [0, -1],
    [0.5, 1],
    [0, Number.NaN],
  ];
  for (const [offset, length] of badRanges) {
    void it(`rejects range offset=${offset} length=${length} over 4 bytes`, () => {
      assert.throws(() => murmurHash3x86_32(new Uint8Array(4), offset, length), RangeError);
    });
  }
});

void describe('murmurHash3x86_32Ascii (the partition-key fast path)', () => {
  void it('equals the byte hash of UTF-8 for ASCII strings and refuses everything else', () => {
    fc.assert(
      fc.property(text, fc.integer({ min: 0, max: 0xffffffff }), (s, seed) => {
        const fast = murmurHash3x86_32Ascii(s, seed);
        if (!/[\u0080-\uffff]/.test(s)) assert.equal(fast, hash(utf8(s), seed));
        else assert.ok(Number.isNaN(fast), 'non-ASCII must fall back');
      }),
      { numRuns: 1000 },
    );
  });

  void it('refuses non-ASCII in any position of the tail and of a block', () => {
    for (const s of ['\u0100', 'a\u0100', 'ab\u0100', 'abc\u0080', '\u0080bcd', 'abcd\u00ff', 'abcdef\u0101']) {
      assert.ok(Number.isNaN(murmurHash3x86_32Ascii(s)), JSON.stringify(s));
    }
  });

  void it('is defined for lone surrogates only as "not ASCII"', () => {
    assert.ok(!isWellFormed('\ud800'));
    assert.ok(Number.isNaN(murmurHash3x86_32Ascii('\ud800')));
  });
});

void describe('hashToIndex', () => {
  const table: [hash: number, length: number, expected: number][] = [
    [0, 271, 0],
    [5, 271, 5],
    [-5, 271, 5],
    [271, 271, 0],
    [-272, 271, 1],
    [-2147483648, 271, 0],
    [0x80000000, 271, 0], // the same 32 bits written unsigned
    [0xffffffff, 271, 1], // -1 written unsigned
    [2147483647, 271, 2147483647 % 271],
    [-2147483647, 271, 2147483647 % 271],
    [123456, 1, 0],
  ];
  for (const [h, length, expected] of table) {
    void it(`maps ${h} over ${length} to ${expected}`, () => {
      assert.equal(hashToIndex(h, length), expected);
    });
  }

  for (const length of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31]) {
    void it(`rejects length ${length}`, () => {
      assert.throws(() => hashToIndex(1, length), RangeError);
    });
  }

  void it('always lands in 0..length-1 and agrees with Java int arithmetic', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 2 ** 31 - 1 }), (h, length) => {
        const index = hashToIndex(h, length);
        assert.ok(Number.isInteger(index) && index >= 0 && index < length);
        const javaAbs = h === -2147483648 ? 0 : Math.abs(h);
        assert.equal(index, javaAbs % length);
      }),
    );
  });
});
