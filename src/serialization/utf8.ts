/**
 * UTF-8 encoding shared by writeUTF and the partition-key hash, so a string key is hashed over
 * exactly the bytes writeUTF would put on the wire. Internal to serialization/.
 */
import type { Buffer } from 'node:buffer';
import { SerializationError } from './errors.js';

/**
 * Lone surrogates have no UTF-8 form. Node would quietly write U+FFFD for them, which makes two
 * different keys ("\uD800" and "\uDBFF") encode, hash and compare as the same key; so they are
 * rejected instead.
 */
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function assertWellFormed(s: string): void {
  const m = loneSurrogate.exec(s);
  if (m !== null) throw loneSurrogateError(m.index);
}

function loneSurrogateError(index: number): SerializationError {
  return new SerializationError(`string has a lone UTF-16 surrogate at index ${index}; it has no UTF-8 encoding`);
}

/**
 * Encodes `s` from char `from` into `buf` at `p` and returns the end position. The caller
 * guarantees 3 bytes of room per remaining UTF-16 unit (the worst case; a surrogate pair is 2
 * units and 4 bytes).
 */
export function encodeUtf8Into(s: string, from: number, buf: Uint8Array, p: number): number {
  const n = s.length;
  for (let i = from; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      buf[p++] = c;
    } else if (c < 0x800) {
      buf[p++] = 0xc0 | (c >> 6);
      buf[p++] = 0x80 | (c & 0x3f);
    } else if (c < 0xd800 || c > 0xdfff) {
      buf[p++] = 0xe0 | (c >> 12);
      buf[p++] = 0x80 | ((c >> 6) & 0x3f);
      buf[p++] = 0x80 | (c & 0x3f);
    } else {
      const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (c > 0xdbff || d < 0xdc00 || d > 0xdfff) throw loneSurrogateError(i);
      c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
      i++;
      buf[p++] = 0xf0 | (c >> 18);
      buf[p++] = 0x80 | ((c >> 12) & 0x3f);
      buf[p++] = 0x80 | ((c >> 6) & 0x3f);
      buf[p++] = 0x80 | (c & 0x3f);
    }
  }
  return p;
}

// Up to this many bytes, ASCII strings are looked up in a cache first: a native decode costs a
// fixed ~50 ns call, while the names on the wire (services, objects) repeat from message to message.
const shortStringBytes = 32;

/**
 * Direct-mapped cache of recently decoded short ASCII strings: one string per slot, with a copy of
 * its bytes so a hit is verified byte for byte (a collision only costs a miss). Bounded at
 * asciiCacheSlots * shortStringBytes bytes (256 KiB) plus the strings. 8192 slots rather than 2048:
 * a working set of a thousand object names collided often enough in 2048 to cost 40 % more per
 * decode (62 -> 44 ns, bench of 1000 names + a service name).
 */
const asciiCacheSlots = 8192;
const asciiCacheStrings: string[] = new Array<string>(asciiCacheSlots).fill('');
const asciiCacheBytes = new Uint8Array(asciiCacheSlots * shortStringBytes);

// ignoreBOM keeps a leading U+FEFF, so strings that start with one round-trip unchanged.
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Decodes `buf[start, end)` and rejects malformed UTF-8 rather than replacing it: bytes from the
 * network that are not what a member wrote are a protocol error, not text.
 */
export function decodeUtf8(buf: Buffer, start: number, end: number): string {
  const len = end - start;
  if (len > shortStringBytes) return decodeUtf8Checked(buf, start, end);
  if (len === 0) return '';
  let h = len;
  for (let i = start; i < end; i++) {
    const c = buf[i];
    if (c >= 0x80) return decodeUtf8Checked(buf, start, end);
    h = Math.imul(h ^ c, 0x01000193);
  }
  const slot = (h ^ (h >>> 16)) & (asciiCacheSlots - 1);
  const cached = asciiCacheStrings[slot];
  const base = slot * shortStringBytes;
  if (cached.length === len) {
    let i = 0;
    while (i < len && asciiCacheBytes[base + i] === buf[start + i]) i++;
    if (i === len) return cached;
  }
  // latin1 equals ASCII here, and the native slice yields a flat string (cheap to read later).
  const s = buf.toString('latin1', start, end);
  asciiCacheStrings[slot] = s;
  asciiCacheBytes.set(buf.subarray(start, end), base);
  return s;
}

function decodeUtf8Checked(buf: Buffer, start: number, end: number): string {
  // The native lenient decoder is fast; it only ever produces U+FFFD for bad input, so the slow
  // strict decoder runs only when a U+FFFD shows up (legitimately or not).
  const s = buf.toString('utf8', start, end);
  if (!s.includes('\uFFFD')) return s;
  try {
    return strictDecoder.decode(buf.subarray(start, end));
  } catch (cause) {
    throw new SerializationError(`malformed UTF-8 in the ${end - start}-byte string at offset ${start}`, { cause });
  }
}
