import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  ARENA_BYTES_RETAINED_MAX,
  FRAME_HEADER_BYTES,
  FrameArena,
  FrameDecoder,
  checkFrameLength,
  encodeFrame,
} from '../../src/transport/framing.js';

/** The two ways to take frames out: `next()` (a view per frame) and `nextFrame()` (offsets). */
type Via = 'next' | 'nextFrame';
const VIAS: readonly Via[] = ['next', 'nextFrame'];

/** Feeds `chunks` and returns the frames (copied) and the decoder's error. */
function decodeAll(chunks: readonly Buffer[], frameBytesMax = 1 << 20, via: Via = 'next'): { frames: Buffer[]; error: string | null; decoder: FrameDecoder } {
  const decoder = new FrameDecoder(frameBytesMax);
  const frames: Buffer[] = [];
  for (const chunk of chunks) {
    decoder.push(chunk);
    if (via === 'next') {
      for (let f = decoder.next(); f !== null; f = decoder.next()) frames.push(Buffer.from(f));
    } else {
      while (decoder.nextFrame()) frames.push(Buffer.from(decoder.frameBytes.subarray(decoder.frameStart, decoder.frameEnd)));
    }
    if (decoder.error !== null) break;
  }
  return { frames, error: decoder.error, decoder };
}

/** True when both views start at the same memory (Buffer.allocUnsafe pools small buffers). */
function sameMemory(a: Buffer, b: Buffer): boolean {
  return a.buffer === b.buffer && a.byteOffset === b.byteOffset;
}

/** Splits `bytes` at the given cut points (any order, duplicates and out-of-range ignored). */
function split(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.filter((c) => c > 0 && c < bytes.length))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let start = 0;
  for (const p of points) {
    out.push(bytes.subarray(start, p));
    start = p;
  }
  out.push(bytes.subarray(start));
  return out;
}

void describe('framing', () => {
  void it('encodes [u32 BE length][payload]', () => {
    const wire = encodeFrame(Buffer.from('abc'));
    assert.deepEqual([...wire], [0, 0, 0, 3, 0x61, 0x62, 0x63]);
  });

  void it('checkFrameLength refuses zero and lengths above the max', () => {
    assert.equal(checkFrameLength(1, 10), null);
    assert.equal(checkFrameLength(10, 10), null);
    assert.match(checkFrameLength(0, 10) ?? '', /zero-length/);
    assert.match(checkFrameLength(11, 10) ?? '', /frame length 11 exceeds frameBytesMax 10/);
  });

  void it('yields frames lying inside one chunk as views of it, without copying', () => {
    const chunk = Buffer.concat([encodeFrame(Buffer.from('one')), encodeFrame(Buffer.from('two'))]);
    const decoder = new FrameDecoder(100);
    decoder.push(chunk);
    const first = decoder.next();
    assert.ok(first !== null);
    assert.equal(first.toString(), 'one');
    assert.equal(first.buffer, chunk.buffer, 'a view, not a copy');
    assert.equal(decoder.next()?.toString(), 'two');
    assert.equal(decoder.next(), null);
    assert.equal(decoder.bufferedBytes, 0);
    assert.equal(decoder.finish(), null);
  });

  void it('assembles a frame split in its length prefix and in its body', () => {
    const wire = encodeFrame(Buffer.from('hello world'));
    const { frames, error } = decodeAll([wire.subarray(0, 2), wire.subarray(2, 3), wire.subarray(3, 7), wire.subarray(7)]);
    assert.equal(error, null);
    assert.deepEqual(frames.map((f) => f.toString()), ['hello world']);
  });

  void it('checks the length prefix before any body byte arrives (nothing allocated for it)', () => {
    const decoder = new FrameDecoder(1000);
    decoder.push(Buffer.from([0x00, 0x00]));
    assert.equal(decoder.next(), null);
    assert.equal(decoder.error, null);
    decoder.push(Buffer.from([0x03, 0xe9])); // 1001, just the prefix
    assert.equal(decoder.next(), null);
    assert.equal(decoder.error, 'frame length 1001 exceeds frameBytesMax 1000');
    assert.equal(decoder.bufferedBytes, 0, 'nothing held for the refused frame');
    decoder.push(Buffer.alloc(10));
    assert.equal(decoder.next(), null, 'yields nothing after an error');
    assert.equal(decoder.finish(), 'frame length 1001 exceeds frameBytesMax 1000');
  });

  void it('refuses a zero-length frame', () => {
    const { frames, error } = decodeAll([Buffer.concat([encodeFrame(Buffer.from('a')), Buffer.alloc(4)])]);
    assert.deepEqual(frames.map((f) => f.toString()), ['a']);
    assert.equal(error, 'zero-length frame');
  });

  void it('finish() reports a stream cut inside a prefix or a body', () => {
    assert.equal(decodeAll([Buffer.from([0, 0, 0])]).decoder.finish(), 'stream ended inside a length prefix (3 of 4 bytes)');
    const cut = decodeAll([Buffer.concat([Buffer.from([0, 0, 0, 9]), Buffer.from('abc')])]).decoder;
    assert.equal(cut.bufferedBytes, 7);
    assert.equal(cut.finish(), 'stream ended inside a frame (3 of 9 payload bytes)');
  });

  void it('push() before the previous chunk is drained is a caller bug', () => {
    const decoder = new FrameDecoder(100);
    decoder.push(encodeFrame(Buffer.from('x')));
    assert.throws(() => decoder.push(Buffer.from([0])), /not drained/);
  });

  void it('frameBytesMax can be raised after a handshake', () => {
    const decoder = new FrameDecoder(4);
    decoder.push(encodeFrame(Buffer.from('abcd')));
    assert.equal(decoder.next()?.toString(), 'abcd');
    decoder.frameBytesMax = 8;
    decoder.push(encodeFrame(Buffer.from('abcdefgh')));
    assert.equal(decoder.next()?.toString(), 'abcdefgh');
  });

  void it('rejects a nonsensical frameBytesMax', () => {
    assert.throws(() => new FrameDecoder(0), RangeError);
    assert.throws(() => new FrameDecoder(2 ** 32), RangeError);
    assert.throws(() => new FrameDecoder(1.5), RangeError);
  });

  for (const via of VIAS) {
    void it(`property (${via}): any split of a stream of frames into chunks yields the same frames`, () => {
      fc.assert(
        fc.property(
          fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { maxLength: 40 }),
          fc.array(fc.nat(), { maxLength: 60 }),
          (payloads, cuts) => {
            const stream = Buffer.concat(payloads.map((p) => encodeFrame(p)));
            const { frames, error, decoder } = decodeAll(split(stream, cuts.map((c) => c % (stream.length + 1))), 1 << 20, via);
            assert.equal(error, null);
            assert.equal(decoder.finish(), null);
            assert.deepEqual(frames.map((f) => [...f]), payloads.map((p) => [...p]));
          },
        ),
        { numRuns: 500 },
      );
    });

    void it(`property (${via}): single-byte chunks yield the same frames`, () => {
      fc.assert(
        fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 50 }), { maxLength: 20 }), (payloads) => {
          const stream = Buffer.concat(payloads.map((p) => encodeFrame(p)));
          const chunks = [...stream].map((b) => Buffer.from([b]));
          const { frames, error } = decodeAll(chunks, 1 << 20, via);
          assert.equal(error, null);
          assert.deepEqual(frames.map((f) => [...f]), payloads.map((p) => [...p]));
        }),
        { numRuns: 200 },
      );
    });

    void it(`property (${via}): an oversized frame is refused after the same good frames, however the stream is split`, () => {
      fc.assert(
        fc.property(
          fc.array(fc.uint8Array({ minLength: 1, maxLength: 64 }), { maxLength: 10 }),
          fc.integer({ min: 65, max: 0xffff_ffff }),
          fc.array(fc.nat(), { maxLength: 20 }),
          (good, badLength, cuts) => {
            const prefix = Buffer.alloc(4);
            prefix.writeUInt32BE(badLength, 0);
            const stream = Buffer.concat([...good.map((p) => encodeFrame(p)), prefix, Buffer.alloc(8)]);
            const { frames, error } = decodeAll(split(stream, cuts.map((c) => c % (stream.length + 1))), 64, via);
            assert.equal(frames.length, good.length);
            assert.equal(error, `frame length ${badLength} exceeds frameBytesMax 64`);
          },
        ),
        { numRuns: 300 },
      );
    });
  }
});

void describe('FrameArena', () => {
  void it('packs frames with prefixes and counts only counted frames', () => {
    const arena = new FrameArena(16);
    arena.append(Buffer.from('hello'), false);
    arena.append(Buffer.from('a'));
    arena.append(Buffer.from('bc'));
    assert.equal(arena.used, 3 * FRAME_HEADER_BYTES + 8);
    assert.equal(arena.frames, 2);
    const { frames } = decodeAll([Buffer.from(arena.view())]);
    assert.deepEqual(frames.map((f) => f.toString()), ['hello', 'a', 'bc']);
  });

  void it('grows for large frames and keeps earlier bytes', () => {
    const arena = new FrameArena(8);
    arena.append(Buffer.from('x'));
    const big = Buffer.alloc(10_000, 5);
    arena.append(big);
    const { frames } = decodeAll([Buffer.from(arena.view())]);
    assert.equal(frames.length, 2);
    assert.ok(frames[1].equals(big));
  });

  void it('reuses its buffer after a flush the socket fully took, and not otherwise', () => {
    const arena = new FrameArena(64);
    arena.append(Buffer.from('a'));
    const first = arena.view();
    arena.reset(false);
    arena.append(Buffer.from('b'));
    assert.ok(sameMemory(arena.view(), first), 'same memory reused');

    const held = arena.view();
    const heldCopy = Buffer.from(held);
    arena.reset(true);
    arena.append(Buffer.from('c'));
    assert.ok(!sameMemory(arena.view(), held), 'fresh memory');
    assert.ok(held.equals(heldCopy), 'bytes still referenced by the socket are untouched');
  });

  void it('drops a buffer grown beyond the retained maximum', () => {
    const arena = new FrameArena(64);
    arena.append(Buffer.alloc(ARENA_BYTES_RETAINED_MAX + 1));
    const big = arena.view();
    arena.reset(false);
    arena.append(Buffer.from('x'));
    assert.ok(!sameMemory(arena.view(), big));
    assert.equal(arena.used, 5);
  });
});
