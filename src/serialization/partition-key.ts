/**
 * Which partition a key belongs to. This rule is part of the wire contract: every member (and
 * every client that routes by key) must compute the same partition for the same key, so changing
 * any of it is a breaking change for mixed-version clusters.
 *
 *   hash = MurmurHash3_x86_32(bytes, seed 0x01000193), as a signed int32, where bytes are
 *     - for a string: its UTF-8 bytes (no length, no tag; lone surrogates are rejected);
 *     - for a Buffer/Uint8Array: the bytes themselves;
 *     - for anything else: exactly what ObjectDataOutput.writeObject writes for it (tag included),
 *       so the number 42, the string "42" and the bigint 42n land in unrelated partitions.
 *   partitionId = hashToIndex(hash, partitionCount) = abs(hash) % partitionCount, MIN_VALUE -> 0.
 */
import { Buffer } from 'node:buffer';
import { hashToIndex, murmurHash3x86_32, murmurHash3x86_32Ascii, murmurSeed } from './murmur3.js';
import { ObjectDataOutput } from './object-data.js';
import { encodeUtf8Into } from './utf8.js';

export const partitionHashSeed = murmurSeed;

// Scratch space for non-ASCII string keys; grown on demand, replaced if a rare huge key grew it.
const scratchBytesKept = 64 * 1024;
let utf8Scratch = Buffer.allocUnsafeSlow(1024);

let objectScratch: ObjectDataOutput | null = null;
// A DataSerializable key's writeData could itself ask for a partition; it must not share scratch.
let objectScratchBusy = false;

export function partitionHashOf(key: unknown): number {
  if (typeof key === 'string') {
    // Most keys are ASCII: hash the char codes directly; NaN means "not ASCII, encode first".
    const h = murmurHash3x86_32Ascii(key, partitionHashSeed);
    return Number.isNaN(h) ? utf8Hash(key) : h;
  }
  if (key instanceof Uint8Array) return murmurHash3x86_32(key, 0, key.length, partitionHashSeed);
  return objectHash(key);
}

export function partitionIdOf(key: unknown, partitionCount: number): number {
  return hashToIndex(partitionHashOf(key), partitionCount);
}

function utf8Hash(s: string): number {
  const room = s.length * 3;
  let scratch = utf8Scratch;
  if (room > scratch.length) {
    scratch = Buffer.allocUnsafeSlow(room);
    if (room <= scratchBytesKept) utf8Scratch = scratch;
  }
  const len = encodeUtf8Into(s, 0, scratch, 0);
  return murmurHash3x86_32(scratch, 0, len, partitionHashSeed);
}

function objectHash(key: unknown): number {
  if (objectScratchBusy) return hashOfWritten(new ObjectDataOutput(64), key);
  objectScratchBusy = true;
  try {
    if (objectScratch === null || objectScratch.capacity() > scratchBytesKept) objectScratch = new ObjectDataOutput(256);
    objectScratch.clear();
    return hashOfWritten(objectScratch, key);
  } finally {
    objectScratchBusy = false;
  }
}

function hashOfWritten(out: ObjectDataOutput, key: unknown): number {
  out.writeObject(key);
  const bytes = out.view();
  return murmurHash3x86_32(bytes, 0, bytes.length, partitionHashSeed);
}
