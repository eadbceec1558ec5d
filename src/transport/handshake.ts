import { Address } from '../core/address.js';
import { PROTOCOL_VERSION, type Hello } from './transport.js';

/**
 * The Hello frame: the first frame on every connection, sent by the connecting member.
 *
 * Layout (all integers big-endian):
 *
 * | offset | bytes | field |
 * | --- | --- | --- |
 * | 0 | 4 | magic `SHOL` |
 * | 4 | 2 | protocol version (u16) |
 * | 6 | 1 + n | cluster name: u8 byte length, UTF-8 (1..255 bytes) |
 * |   | 1 + n | member uuid: u8 byte length, UTF-8 (1..255 bytes) |
 * |   | 1 + n | member name: u8 byte length, UTF-8 (0..255 bytes) |
 * |   | 1 + n | address host: u8 byte length, UTF-8 (1..255 bytes) |
 * |   | 2 | address port (u16, 1..65535) |
 *
 * The version sits right after the magic so that a later version may change everything after it:
 * a decoder refuses an unknown version before reading further.
 */

export const HELLO_MAGIC = Buffer.from('SHOL', 'latin1');
/** Longest name in a Hello, in UTF-8 bytes (the length is one byte on the wire). */
export const HELLO_NAME_BYTES_MAX = 255;
/** Largest possible Hello frame; the decoder of an unauthenticated connection uses this limit. */
export const HELLO_BYTES_MAX = HELLO_MAGIC.length + 2 + 4 * (1 + HELLO_NAME_BYTES_MAX) + 2;

export type HelloDecodeResult = { readonly ok: true; readonly hello: Hello } | { readonly ok: false; readonly reason: string };

interface NameField {
  readonly label: string;
  readonly allowEmpty: boolean;
}

const CLUSTER_NAME: NameField = { label: 'cluster name', allowEmpty: false };
const MEMBER_UUID: NameField = { label: 'member uuid', allowEmpty: false };
const MEMBER_NAME: NameField = { label: 'member name', allowEmpty: true };
const HOST: NameField = { label: 'address host', allowEmpty: false };

function nameBytes(value: string, field: NameField): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > HELLO_NAME_BYTES_MAX) {
    throw new RangeError(`${field.label} is ${bytes.length} UTF-8 bytes; at most ${HELLO_NAME_BYTES_MAX} allowed`);
  }
  if (bytes.length === 0 && !field.allowEmpty) throw new RangeError(`${field.label} must not be empty`);
  return bytes;
}

/** Encodes `hello` as a frame payload (without the length prefix). Throws on out-of-range fields. */
export function encodeHello(hello: Hello): Buffer {
  if (!Number.isInteger(hello.protocolVersion) || hello.protocolVersion < 0 || hello.protocolVersion > 0xffff) {
    throw new RangeError(`protocol version ${hello.protocolVersion} out of range 0..65535`);
  }
  const port = hello.address.port;
  if (!Number.isInteger(port) || port < 1 || port > 0xffff) {
    throw new RangeError(`address port ${port} out of range 1..65535`);
  }
  const names = [
    nameBytes(hello.clusterName, CLUSTER_NAME),
    nameBytes(hello.memberUuid, MEMBER_UUID),
    nameBytes(hello.memberName, MEMBER_NAME),
    nameBytes(hello.address.host, HOST),
  ];
  let size = HELLO_MAGIC.length + 2 + 2;
  for (const n of names) size += 1 + n.length;
  const out = Buffer.allocUnsafe(size);
  let at = HELLO_MAGIC.copy(out, 0);
  at = out.writeUInt16BE(hello.protocolVersion, at);
  for (const n of names) {
    at = out.writeUInt8(n.length, at);
    at += n.copy(out, at);
  }
  out.writeUInt16BE(port, at);
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

class HelloReader {
  at = 0;
  constructor(private readonly bytes: Uint8Array) {}

  get remaining(): number {
    return this.bytes.length - this.at;
  }

  u16(): number {
    const v = (this.bytes[this.at] << 8) | this.bytes[this.at + 1];
    this.at += 2;
    return v;
  }

  /** Returns the string, or the reason the field is invalid. */
  name(field: NameField): { value: string } | { reason: string } {
    if (this.remaining < 1) return { reason: `truncated hello: ${field.label} length missing` };
    const length = this.bytes[this.at];
    this.at += 1;
    if (length === 0 && !field.allowEmpty) return { reason: `${field.label} is empty` };
    if (this.remaining < length) {
      return { reason: `truncated hello: ${field.label} needs ${length} bytes, ${this.remaining} left` };
    }
    const raw = this.bytes.subarray(this.at, this.at + length);
    this.at += length;
    try {
      return { value: utf8.decode(raw) };
    } catch {
      return { reason: `${field.label} is not valid UTF-8` };
    }
  }
}

function fail(reason: string): HelloDecodeResult {
  return { ok: false, reason };
}

/**
 * Typed guard for an untrusted Hello frame payload: either the Hello, or the reason it was
 * rejected (bad magic, unknown version, truncated, a length or port out of range, invalid UTF-8,
 * trailing bytes). Never throws.
 */
export function decodeHello(frame: Uint8Array): HelloDecodeResult {
  const r = new HelloReader(frame);
  if (frame.length < HELLO_MAGIC.length + 2) {
    return fail(`truncated hello: ${frame.length} bytes, need at least ${HELLO_MAGIC.length + 2}`);
  }
  for (let i = 0; i < HELLO_MAGIC.length; i++) {
    if (frame[i] !== HELLO_MAGIC[i]) {
      const got = Buffer.from(frame.subarray(0, HELLO_MAGIC.length)).toString('hex');
      return fail(`bad magic 0x${got} (expected 'SHOL')`);
    }
  }
  r.at = HELLO_MAGIC.length;
  const protocolVersion = r.u16();
  if (protocolVersion !== PROTOCOL_VERSION) {
    return fail(`unknown protocol version ${protocolVersion} (this member speaks ${PROTOCOL_VERSION})`);
  }
  const values: string[] = [];
  for (const field of [CLUSTER_NAME, MEMBER_UUID, MEMBER_NAME, HOST]) {
    const v = r.name(field);
    if ('reason' in v) return fail(v.reason);
    values.push(v.value);
  }
  if (r.remaining < 2) return fail('truncated hello: address port missing');
  const port = r.u16();
  if (port === 0) return fail('address port 0 out of range 1..65535');
  if (r.remaining !== 0) return fail(`${r.remaining} trailing bytes after hello`);
  const [clusterName, memberUuid, memberName, host] = values;
  return {
    ok: true,
    hello: { protocolVersion, clusterName, memberUuid, memberName, address: new Address(host, port) },
  };
}
