import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Address } from '../../src/core/address.js';
import {
  HELLO_BYTES_MAX,
  HELLO_NAME_BYTES_MAX,
  decodeHello,
  encodeHello,
} from '../../src/transport/handshake.js';
import { PROTOCOL_VERSION, type Hello } from '../../src/transport/transport.js';

const valid: Hello = {
  protocolVersion: PROTOCOL_VERSION,
  clusterName: 'dev',
  memberUuid: '5f3a1c2e-0000-4000-8000-00000000abcd',
  memberName: 'member-1',
  address: new Address('127.0.0.1', 5701),
};

function reasonOf(bytes: Uint8Array): string {
  const r = decodeHello(bytes);
  assert.equal(r.ok, false, 'expected a rejection');
  return r.ok ? '' : r.reason;
}

/** The valid Hello with one byte patched. */
function patched(at: number, value: number): Buffer {
  const b = encodeHello(valid);
  b[at] = value;
  return b;
}

void describe('hello handshake', () => {
  void it('round-trips', () => {
    const r = decodeHello(encodeHello(valid));
    assert.ok(r.ok);
    assert.deepEqual({ ...r.hello, address: r.hello.address.key }, { ...valid, address: valid.address.key });
    assert.ok(r.hello.address instanceof Address);
  });

  void it('round-trips multi-byte UTF-8 and an empty member name', () => {
    const hello: Hello = { ...valid, clusterName: 'grüße-集群', memberName: '' };
    const r = decodeHello(encodeHello(hello));
    assert.ok(r.ok);
    assert.equal(r.hello.clusterName, 'grüße-集群');
    assert.equal(r.hello.memberName, '');
  });

  void it('fits the largest hello in HELLO_BYTES_MAX', () => {
    const long = 'x'.repeat(HELLO_NAME_BYTES_MAX);
    const bytes = encodeHello({ ...valid, clusterName: long, memberUuid: long, memberName: long, address: new Address(long, 65535) });
    assert.equal(bytes.length, HELLO_BYTES_MAX);
    assert.ok(decodeHello(bytes).ok);
  });

  void describe('encode refuses out-of-range fields', () => {
    const table: [string, Hello, RegExp][] = [
      ['cluster name too long', { ...valid, clusterName: 'x'.repeat(256) }, /cluster name is 256 UTF-8 bytes/],
      ['multi-byte name too long', { ...valid, memberName: 'é'.repeat(128) }, /member name is 256 UTF-8 bytes/],
      ['empty cluster name', { ...valid, clusterName: '' }, /cluster name must not be empty/],
      ['empty uuid', { ...valid, memberUuid: '' }, /member uuid must not be empty/],
      ['port 0', { ...valid, address: new Address('127.0.0.1', 0) }, /port 0 out of range/],
      ['version too big', { ...valid, protocolVersion: 70000 }, /protocol version 70000/],
    ];
    for (const [name, hello, error] of table) {
      void it(name, () => assert.throws(() => encodeHello(hello), error));
    }
  });

  void describe('decode rejects garbage with a clear reason', () => {
    const good = encodeHello(valid);
    const clusterLengthAt = 6;
    const table: [string, Uint8Array, RegExp][] = [
      ['empty', new Uint8Array(0), /truncated hello: 0 bytes, need at least 6/],
      ['shorter than magic and version', Buffer.from('SHOL'), /truncated hello: 4 bytes/],
      ['bad magic', Buffer.concat([Buffer.from('HTTP'), good.subarray(4)]), /bad magic 0x48545450/],
      ['unknown version', patched(5, 2), /unknown protocol version 2 \(this member speaks 1\)/],
      ['empty cluster name', patched(clusterLengthAt, 0), /cluster name is empty/],
      ['cluster name longer than the frame', patched(clusterLengthAt, 255), /truncated hello: cluster name needs 255 bytes/],
      ['cut before the port', good.subarray(0, good.length - 2), /address port missing/],
      ['cut inside the host', good.subarray(0, good.length - 5), /truncated hello: address host needs 9 bytes/],
      ['cut before a length byte', good.subarray(0, 6), /cluster name length missing/],
      ['port 0', Buffer.concat([good.subarray(0, good.length - 2), Buffer.from([0, 0])]), /port 0 out of range/],
      ['trailing bytes', Buffer.concat([good, Buffer.from([1, 2, 3])]), /3 trailing bytes after hello/],
      ['invalid UTF-8', patched(clusterLengthAt + 1, 0xff), /cluster name is not valid UTF-8/],
    ];
    for (const [name, bytes, reason] of table) {
      void it(name, () => assert.match(reasonOf(bytes), reason));
    }
  });

  void it('property: decoding never throws, whatever the bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const r = decodeHello(bytes);
        if (!r.ok) assert.ok(r.reason.length > 0);
      }),
      { numRuns: 1000 },
    );
  });

  void it('property: every valid hello round-trips; every strict prefix of it is rejected', () => {
    const name = (minLength: number) =>
      fc.string({ unit: 'grapheme', minLength, maxLength: 40 }).filter((s) => Buffer.byteLength(s) <= HELLO_NAME_BYTES_MAX);
    fc.assert(
      fc.property(name(1), name(1), name(0), name(1), fc.integer({ min: 1, max: 65535 }), (cluster, uuid, member, host, port) => {
        const hello: Hello = { ...valid, clusterName: cluster, memberUuid: uuid, memberName: member, address: new Address(host, port) };
        const bytes = encodeHello(hello);
        const r = decodeHello(bytes);
        assert.ok(r.ok);
        assert.equal(r.hello.clusterName, cluster);
        assert.equal(r.hello.memberUuid, uuid);
        assert.equal(r.hello.memberName, member);
        assert.ok(r.hello.address.equals(hello.address));
        for (const cut of [0, 5, 6, bytes.length >> 1, bytes.length - 1]) {
          assert.equal(decodeHello(bytes.subarray(0, cut)).ok, false);
        }
      }),
      { numRuns: 300 },
    );
  });
});
