import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import murmur from 'murmurhash3js-revisited';
import type { ObjectDataInput } from '../../src/serialization/index.js';
import {
  ObjectDataOutput,
  partitionHashOf,
  partitionHashSeed,
  partitionIdOf,
  registerType,
  SerializationError,
} from '../../src/serialization/index.js';
import { Sample, text, value } from './arbitraries.js';

const oracle = (bytes: Uint8Array): number => murmur.x86.hash32(bytes, partitionHashSeed) | 0;
const written = (v: unknown): Buffer => {
  const out = new ObjectDataOutput();
  out.writeObject(v);
  return out.toBuffer();
};

/** A DataSerializable key whose writeData itself routes another key (re-entrancy). */
class CompositeKey {
  static readonly typeId = 990_001;
  tenant = '';
  inner: unknown = null;
  innerHash = 0;
  writeData(out: ObjectDataOutput): void {
    this.innerHash = partitionHashOf(this.inner);
    out.writeUTF(this.tenant);
    out.writeObject(this.inner);
  }
  readData(input: ObjectDataInput): void {
    this.tenant = input.readUTF();
    this.inner = input.readObject();
  }
}
registerType(CompositeKey);
// The generated values include Sample, and keys are always written with the global registry.
registerType(Sample);

void describe('partitionHashOf', () => {
  void it('hashes a string over its UTF-8 bytes with seed 0x01000193', () => {
    assert.equal(partitionHashSeed, 0x01000193);
    fc.assert(
      fc.property(text, (s) => {
        assert.equal(partitionHashOf(s), oracle(Buffer.from(s, 'utf8')));
      }),
      { numRuns: 2000 },
    );
  });

  void it('handles non-ASCII strings larger than the kept scratch buffer, repeatedly', () => {
    for (const s of ['é'.repeat(30_000), '日'.repeat(100_000), 'x'.repeat(200_000) + '😀', 'short ü']) {
      assert.equal(partitionHashOf(s), oracle(Buffer.from(s, 'utf8')));
      assert.equal(partitionHashOf(s), oracle(Buffer.from(s, 'utf8')));
    }
  });

  void it('hashes a Buffer or Uint8Array over its bytes, the same for both', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const h = partitionHashOf(bytes);
        assert.equal(h, oracle(bytes));
        assert.equal(partitionHashOf(Buffer.from(bytes)), h);
      }),
    );
    const backing = Buffer.from([9, 1, 2, 3, 9]);
    assert.equal(partitionHashOf(backing.subarray(1, 4)), oracle(Buffer.from([1, 2, 3])), 'only the view, not its backing buffer');
  });

  void it('hashes any other key over exactly what writeObject writes', () => {
    fc.assert(
      fc.property(value, (v) => {
        fc.pre(typeof v !== 'string' && !(v instanceof Uint8Array));
        assert.equal(partitionHashOf(v), oracle(written(v)));
      }),
      { numRuns: 500 },
    );
  });

  void it('is the same for a key built twice', () => {
    assert.equal(partitionHashOf({ user: 7, region: 'eu' }), partitionHashOf({ user: 7, region: 'eu' }));
    assert.equal(partitionHashOf(new Map([[1, 'a']])), partitionHashOf(new Map([[1, 'a']])));
  });

  void it('survives a DataSerializable key that routes another key while being written', () => {
    const key = new CompositeKey();
    key.tenant = 'acme';
    key.inner = { id: [1, 2, 3] };
    const h = partitionHashOf(key);
    assert.equal(key.innerHash, oracle(written({ id: [1, 2, 3] })));
    assert.equal(h, oracle(written(key)));
    assert.equal(partitionHashOf(42), oracle(Buffer.from('040000002a', 'hex')), 'scratch is fine afterwards');
  });

  void it('rejects keys that cannot be serialized, with SerializationError', () => {
    for (const key of ['lone \ud800', () => 0, Symbol('k'), new WeakMap(), { nested: Symbol('x') }]) {
      assert.throws(() => partitionHashOf(key), SerializationError);
    }
    assert.equal(partitionHashOf('still fine'), oracle(Buffer.from('still fine')), 'a failed key leaves the scratch usable');
    assert.equal(partitionHashOf([1]), oracle(written([1])));
  });
});

void describe('partitionIdOf', () => {
  // Pinned: if any of these changes, members of different versions would disagree on placement.
  const pinned: [name: string, key: unknown, bytesHex: string | null, hash: number, id271: number][] = [
    ['""', '', '', -1585187909, 238],
    ['"hello"', 'hello', Buffer.from('hello').toString('hex'), 1425223722, 34],
    ['"order:42"', 'order:42', Buffer.from('order:42').toString('hex'), 698282455, 7],
    ['"ünïcødé"', 'ünïcødé', Buffer.from('ünïcødé').toString('hex'), 1948489506, 48],
    ['"日本語"', '日本語', Buffer.from('日本語').toString('hex'), -526136956, 212],
    ['"😀"', '😀', 'f09f9880', -1223544815, 140],
    ['Buffer 010203', Buffer.from([1, 2, 3]), '010203', 652755574, 42],
    ['42', 42, '040000002a', -1672469378, 195],
    ['-1', -1, '04ffffffff', -1584310431, 258],
    ['42n', 42n, '06000000000000002a', 580779070, 54],
    ['1.5', 1.5, '053ff8000000000000', -940709588, 25],
    ['null', null, '00', -1393189244, 195],
    ['undefined', undefined, '01', 535970202, 223],
    ['true', true, '02', -1480377217, 151],
    ['["a", 1]', ['a', 1], '0900000002' + '070000000161' + '0400000001', -1132432655, 77],
    ['{id: 7}', { id: 7 }, '0c00000001' + '00000002' + '6964' + '0400000007', 409951589, 133],
    ['Date(0)', new Date(0), '0d0000000000000000', -758201185, 95],
  ];
  for (const [name, key, bytesHex, hash, id271] of pinned) {
    void it(`places ${name} in partition ${id271} of 271`, () => {
      if (bytesHex !== null) assert.equal(oracle(Buffer.from(bytesHex, 'hex')), hash, 'the rule, checked by the oracle');
      assert.equal(partitionHashOf(key), hash);
      assert.equal(partitionIdOf(key, 271), id271);
    });
  }

  void it('always lands in 0..partitionCount-1', () => {
    fc.assert(
      fc.property(fc.oneof(text, value), fc.integer({ min: 1, max: 100_000 }), (key, count) => {
        const id = partitionIdOf(key, count);
        assert.ok(Number.isInteger(id) && id >= 0 && id < count);
      }),
      { numRuns: 500 },
    );
  });

  for (const count of [0, -1, 1.5, Number.NaN]) {
    void it(`rejects partitionCount ${count}`, () => {
      assert.throws(() => partitionIdOf('k', count), RangeError);
    });
  }
});
