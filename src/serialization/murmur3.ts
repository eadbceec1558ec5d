/**
 * MurmurHash3 x86 32-bit, bit-for-bit equal to the reference C++ implementation and to Java's
 * HashUtil.MurmurHash3_x86_32, because every member must place a key in the same partition.
 */

/** Default seed, the same one Hazelcast uses for partition hashing. */
export const murmurSeed = 0x01000193;

/** Returns the hash as a signed int32 (like Java's `int`). */
export function murmurHash3x86_32(
  bytes: Uint8Array,
  offset = 0,
  length = bytes.length - offset,
  seed = murmurSeed,
): number {
  // Out-of-range indexes would read `undefined` and silently hash as zero bytes.
  if ((offset | 0) !== offset || (length | 0) !== length || offset < 0 || length < 0 || offset + length > bytes.length) {
    throw new RangeError(`murmurHash3x86_32: range [${offset}, ${offset}+${length}) is outside 0..${bytes.length}`);
  }
  let h = seed | 0;
  const blocksEnd = offset + (length & ~3);
  let i = offset;
  for (; i < blocksEnd; i += 4) {
    h = mixBlock(h, bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24));
    h = Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64;
  }
  const rest = length & 3;
  if (rest > 0) {
    let k = bytes[i];
    if (rest > 1) k |= bytes[i + 1] << 8;
    if (rest > 2) k |= bytes[i + 2] << 16;
    h = mixBlock(h, k);
  }
  return finalMix(h, length);
}

/**
 * The same hash over a string's UTF-8 bytes when the string is pure ASCII (bytes = char codes),
 * without encoding it first. Returns NaN as soon as a non-ASCII char is seen, so the caller can
 * fall back to real UTF-8 encoding. Internal: the partition-key hot path.
 */
export function murmurHash3x86_32Ascii(s: string, seed = murmurSeed): number {
  const length = s.length;
  let h = seed | 0;
  const blocksEnd = length & ~3;
  let i = 0;
  for (; i < blocksEnd; i += 4) {
    const c0 = s.charCodeAt(i);
    const c1 = s.charCodeAt(i + 1);
    const c2 = s.charCodeAt(i + 2);
    const c3 = s.charCodeAt(i + 3);
    if ((c0 | c1 | c2 | c3) > 0x7f) return NaN;
    h = mixBlock(h, c0 | (c1 << 8) | (c2 << 16) | (c3 << 24));
    h = Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64;
  }
  const rest = length & 3;
  if (rest > 0) {
    const c0 = s.charCodeAt(i);
    const c1 = rest > 1 ? s.charCodeAt(i + 1) : 0;
    const c2 = rest > 2 ? s.charCodeAt(i + 2) : 0;
    if ((c0 | c1 | c2) > 0x7f) return NaN;
    h = mixBlock(h, c0 | (c1 << 8) | (c2 << 16));
  }
  return finalMix(h, length);
}

function mixBlock(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
  return h ^ k;
}

function finalMix(h: number, length: number): number {
  h ^= length;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

/**
 * Maps a hash to `0..length-1` exactly like Java's HashUtil.hashToIndex: `abs(hash) % length`,
 * where abs(Integer.MIN_VALUE) overflows in Java, so that one value is pinned to 0. The hash is
 * taken as an int32 (`| 0`) so an unsigned rendering of the same 32 bits gives the same index.
 */
export function hashToIndex(hash: number, length: number): number {
  if ((length | 0) !== length || length < 1) {
    throw new RangeError(`hashToIndex: length must be a positive int32, got ${length}`);
  }
  const h = hash | 0;
  if (h === -2147483648) return 0;
  return (h < 0 ? -h : h) % length;
}
