import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { TypeRegistry } from '../../src/serialization/index.js';
import {
  ObjectDataInput,
  ObjectDataOutput,
  ObjectTag,
  objectDepthMax,
  registerType,
  SerializationError,
  TypeRegistry as Registry,
} from '../../src/serialization/index.js';
import { Sample, sampleRegistry, value } from './arbitraries.js';

function encode(v: unknown, registry: TypeRegistry = sampleRegistry()): Buffer {
  const out = new ObjectDataOutput(16, registry);
  out.writeObject(v);
  return out.toBuffer();
}

function decode(bytes: Uint8Array, registry: TypeRegistry = sampleRegistry()): unknown {
  const input = new ObjectDataInput(bytes, 0, bytes.length, registry);
  const v = input.readObject();
  assert.equal(input.remaining(), 0, 'readObject consumed exactly one value');
  return v;
}

function isSerializationError(pattern: RegExp): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof SerializationError, `expected a SerializationError, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  };
}

/** Decodes and accepts either a value or a SerializationError; anything else fails the test. */
function decodeOrSerializationError(bytes: Uint8Array, registry: TypeRegistry): void {
  try {
    new ObjectDataInput(bytes, 0, bytes.length, registry).readObject();
  } catch (e) {
    if (!(e instanceof SerializationError)) throw new Error(`expected a SerializationError, got ${String(e)}`, { cause: e });
  }
}

void describe('writeObject/readObject round trips', () => {
  void it('any JSON-ish value with Maps, Sets, bigints, Buffers, Dates and DataSerializables', () => {
    fc.assert(
      fc.property(value, (v) => {
        assert.deepStrictEqual(decode(encode(v)), v);
      }),
      { numRuns: 1000 },
    );
  });

  const specials: [name: string, v: unknown][] = [
    ['NaN', Number.NaN],
    ['-0', -0],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['int32 min', -(2 ** 31)],
    ['int32 max + 1', 2 ** 31],
    ['MAX_SAFE_INTEGER', Number.MAX_SAFE_INTEGER],
    ['int64 min bigint', -(2n ** 63n)],
    ['int64 max bigint', 2n ** 63n - 1n],
    ['empty string', ''],
    ['astral string', '😀 日本語 ünïcødé'],
    ['empty array', []],
    ['empty object', {}],
    ['empty Map', new Map()],
    ['empty Set', new Set()],
    ['empty Buffer', Buffer.alloc(0)],
    ['undefined in an object', { a: undefined }],
    ['Map with object keys', new Map<unknown, unknown>([[{ k: 1 }, [1]], [null, 'x'], [Number.NaN, 1n]])],
    ['Set of mixed values', new Set<unknown>([1, '1', 1n, true, null, undefined])],
    ['Date', new Date('2024-02-29T12:34:56.789Z')],
    ['nested DataSerializable', Sample.of(1, -2, true, null, [Sample.of(3, 4, false, 'inner', new Map([[1, 2]]))])],
  ];
  for (const [name, v] of specials) {
    void it(name, () => {
      assert.deepStrictEqual(decode(encode(v)), v);
    });
  }

  void it('an invalid Date', () => {
    const d = decode(encode(new Date(Number.NaN)));
    assert.ok(d instanceof Date && Number.isNaN(d.getTime()));
  });

  void it('a Uint8Array reads back as a Buffer', () => {
    const got = decode(encode(new Uint8Array([1, 2, 3]).subarray(1)));
    assert.ok(Buffer.isBuffer(got));
    assert.deepEqual(got, Buffer.from([2, 3]));
  });

  void it('a sparse array reads back with undefined in the holes', () => {
    const sparse: unknown[] = [1];
    sparse[3] = 4;
    assert.deepStrictEqual(decode(encode(sparse)), [1, undefined, undefined, 4]);
  });

  void it('a null-prototype object reads back as a plain object with the same entries', () => {
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1, b: 'x' });
    assert.deepStrictEqual(decode(encode(bare)), { a: 1, b: 'x' });
  });

  void it('symbol keys are skipped, as JSON does', () => {
    assert.deepStrictEqual(decode(encode({ a: 1, [Symbol('s')]: 2 })), { a: 1 });
  });

  void it('a "__proto__" key stays an own property and pollutes nothing', () => {
    const hostile = JSON.parse('{"__proto__": {"polluted": true}, "b": 2}') as Record<string, unknown>;
    const got = decode(encode(hostile)) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(got), Object.prototype);
    assert.deepEqual(Object.keys(got), ['__proto__', 'b']);
    assert.deepStrictEqual(Object.getOwnPropertyDescriptor(got, '__proto__')?.value, { polluted: true });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  void it('int32 numbers are written compactly, other numbers as doubles', () => {
    assert.equal(encode(7).length, 5);
    assert.equal(encode(-0).length, 9);
    assert.equal(encode(0.5).length, 9);
  });

  void it('uses the global registry by default', () => {
    class GlobalPoint {
      static readonly typeId = 777_001;
      x = 0;
      writeData(out: ObjectDataOutput): void {
        out.writeInt(this.x);
      }
      readData(input: ObjectDataInput): void {
        this.x = input.readInt();
      }
    }
    registerType(GlobalPoint);
    const p = new GlobalPoint();
    p.x = 5;
    const out = new ObjectDataOutput();
    out.writeObject(p);
    const got = new ObjectDataInput(out.toBuffer()).readObject<GlobalPoint>();
    assert.ok(got instanceof GlobalPoint);
    assert.equal(got.x, 5);
  });
});

void describe('writeObject wire format (part of the wire contract and of partition hashing)', () => {
  const golden: [name: string, v: unknown, hex: string][] = [
    ['null', null, '00'],
    ['undefined', undefined, '01'],
    ['true', true, '02'],
    ['false', false, '03'],
    ['42', 42, '040000002a'],
    ['-1', -1, '04ffffffff'],
    ['-0', -0, '058000000000000000'],
    ['1.5', 1.5, '053ff8000000000000'],
    ['2^31', 2 ** 31, '0541e0000000000000'],
    ['5n', 5n, '060000000000000005'],
    ['"hi"', 'hi', '07000000026869'],
    ['"é"', 'é', '0700000002c3a9'],
    ['Buffer [1, 2]', Buffer.from([1, 2]), '08000000020102'],
    ['[1]', [1], '090000000104' + '00000001'],
    ['Map {1 => "a"}', new Map([[1, 'a']]), '0a00000001' + '0400000001' + '070000000161'],
    ['Set {true}', new Set([true]), '0b0000000102'],
    ['{a: null}', { a: null }, '0c00000001' + '0000000161' + '00'],
    ['Date(0)', new Date(0), '0d0000000000000000'],
    ['Sample', Sample.of(1, 2, true, 'x', null), '0e000003e9' + '00000001' + '0000000000000002' + '01' + '0000000178' + '00'],
  ];
  for (const [name, v, hex] of golden) {
    void it(`${name} is ${hex}`, () => {
      assert.equal(encode(v).toString('hex'), hex);
    });
  }

  void it('tags are stable', () => {
    assert.deepStrictEqual(Object.values(ObjectTag), [...Array(15).keys()]);
  });
});

void describe('writeObject rejects what it cannot represent', () => {
  class Unregistered {
    x = 1;
  }
  class HasIdButUnregistered {
    static readonly typeId = 5555;
  }
  class MyMap extends Map<unknown, unknown> {}
  class MyArray extends Array<unknown> {}
  const cases: [name: string, v: unknown, pattern: RegExp][] = [
    ['a function', function named() {}, /cannot serialize a function \(named\)/],
    ['an arrow function', () => 1, /cannot serialize a function/],
    ['a symbol', Symbol('tag'), /cannot serialize a symbol \(Symbol\(tag\)\)/],
    ['an unregistered class instance', new Unregistered(), /an instance of Unregistered/],
    ['a class with a typeId that is not registered', new HasIdButUnregistered(), /HasIdButUnregistered: it has typeId 5555 but its class is not registered/],
    ['a Map subclass', new MyMap(), /an instance of MyMap/],
    ['an Array subclass', MyArray.from([1]), /an instance of MyArray/],
    ['a RegExp', /x/, /an instance of RegExp/],
    ['an Error', new Error('x'), /an instance of Error/],
    ['a Promise', Promise.resolve(1), /an instance of Promise/],
    ['a WeakMap', new WeakMap(), /an instance of WeakMap/],
    ['an Int32Array', new Int32Array(2), /an instance of Int32Array/],
    ['an ArrayBuffer', new ArrayBuffer(2), /an instance of ArrayBuffer/],
    ['a bigint above int64', 2n ** 63n, /bigint 9223372036854775808: outside the int64 range/],
    ['a bigint below int64', -(2n ** 63n) - 1n, /outside the int64 range/],
    ['a string with a lone surrogate', 'a\ud800', /lone UTF-16 surrogate/],
    ['a function deep inside', { a: [new Map([[1, { f: () => 0 }]])] }, /cannot serialize a function/],
  ];
  for (const [name, v, pattern] of cases) {
    void it(name, () => {
      assert.throws(() => new ObjectDataOutput(16, sampleRegistry()).writeObject(v), isSerializationError(pattern));
    });
  }

  void it('a registered class without writeData', () => {
    class NoWrite {
      static readonly typeId = 2002;
    }
    const registry = new Registry();
    registry.register(NoWrite);
    assert.throws(() => new ObjectDataOutput(16, registry).writeObject(new NoWrite()), isSerializationError(/registered but has no writeData/));
  });

  void it(`nesting up to ${objectDepthMax} levels, not one more`, () => {
    let ok: unknown = 1;
    for (let i = 0; i < objectDepthMax; i++) ok = [ok];
    assert.deepStrictEqual(decode(encode(ok)), ok);
    assert.throws(() => encode([ok]), isSerializationError(/nested deeper than 64 levels/));
  });

  void it('a cyclic value, and the output is usable again after clear()', () => {
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    const out = new ObjectDataOutput();
    assert.throws(() => out.writeObject(cyclic), isSerializationError(/is the value cyclic\?/));
    out.clear();
    out.writeObject({ fine: true });
    assert.deepStrictEqual(new ObjectDataInput(out.toBuffer()).readObject(), { fine: true });
  });

  void it('the depth count is restored after an error, even without clear()', () => {
    const out = new ObjectDataOutput();
    for (let i = 0; i < 100; i++) assert.throws(() => out.writeObject([[[() => 0]]]), SerializationError);
    let deep: unknown = 1;
    for (let i = 0; i < objectDepthMax; i++) deep = [deep];
    out.clear();
    out.writeObject(deep);
  });
});

void describe('readObject rejects bad input with a SerializationError', () => {
  void it('truncation at every cut point of every encoding', () => {
    fc.assert(
      fc.property(value, (v) => {
        const bytes = encode(v);
        const registry = sampleRegistry();
        for (let cut = 0; cut < bytes.length; cut++) {
          assert.throws(
            () => new ObjectDataInput(bytes, 0, cut, registry).readObject(),
            isSerializationError(/^truncated: need \d+ bytes at offset \d+, have \d+$/),
            `cut at ${cut} of ${bytes.length}`,
          );
        }
      }),
      { numRuns: 300 },
    );
  });

  void it('random bytes never throw anything but SerializationError', () => {
    const registry = sampleRegistry();
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 16 }), fc.uint8Array({ maxLength: 64 }), (tag, rest) => {
        decodeOrSerializationError(Buffer.concat([Buffer.from([tag]), rest]), registry);
      }),
      { numRuns: 5000 },
    );
  });

  void it('corrupted valid encodings never throw anything but SerializationError', () => {
    const registry = sampleRegistry();
    fc.assert(
      fc.property(value, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (v, flips) => {
        const bytes = encode(v);
        for (const [at, byte] of flips) bytes[at % bytes.length] = byte;
        decodeOrSerializationError(bytes, registry);
      }),
      { numRuns: 2000 },
    );
  });

  const hostile: [name: string, hex: string, pattern: RegExp][] = [
    ['an unknown tag', '63', /unknown object tag 99 at offset 0/],
    ['an array claiming 2^31-1 elements', '097fffffff', /^truncated: need 2147483647 bytes at offset 5, have 0$/],
    ['a map claiming 2^30 entries', '0a40000000' + '00', /^truncated: need 2147483648 bytes at offset 5, have 1$/],
    ['a set claiming 1000 elements', '0b000003e8' + '0000', /^truncated: need 1000 bytes/],
    ['an object claiming 2 entries in 9 bytes', '0c00000002' + '00'.repeat(9), /^truncated: need 10 bytes/],
    ['a string claiming 2^31-1 bytes', '077fffffff', /^truncated: need 2147483647 bytes at offset 5, have 0$/],
    ['a byte array claiming 2^31-1 bytes', '087fffffff', /^truncated: need 2147483647 bytes/],
    ['a negative array size', '09ffffffff', /invalid array size -1 at offset 1/],
    ['a negative map size', '0a80000000', /invalid map size -2147483648/],
    ['a null string under the string tag', '07ffffffff', /found null/],
    ['a null byte array under the bytes tag', '08ffffffff', /has length -1; null has its own tag/],
    ['a negative type id', '0effffffff', /invalid type id -1 at offset 1/],
    ['an unknown type id', '0e00001092', /unknown type id 4242/],
    ['malformed UTF-8 in a string', '0700000001ff', /malformed UTF-8/],
    ['malformed UTF-8 in an object key', '0c00000001' + '00000001ff' + '00', /malformed UTF-8/],
    ['a bad boolean inside a DataSerializable', '0e000003e9' + '00000001' + '0000000000000002' + '07', /invalid boolean byte 7/],
  ];
  for (const [name, hex, pattern] of hostile) {
    void it(name, () => {
      assert.throws(() => decode(Buffer.from(hex, 'hex')), isSerializationError(pattern));
    });
  }

  void it(`input nested deeper than ${objectDepthMax} levels`, () => {
    const level = '0900000001';
    assert.deepStrictEqual(decode(Buffer.from(level.repeat(objectDepthMax) + '00', 'hex')), nestedNull(objectDepthMax));
    assert.throws(
      () => decode(Buffer.from(level.repeat(objectDepthMax + 1) + '00', 'hex')),
      isSerializationError(/input nests deeper than 64 levels/),
    );
    // Deep enough to overflow the stack if the limit were missing.
    assert.throws(() => decode(Buffer.from(level.repeat(100_000) + '00', 'hex')), SerializationError);
  });

  void it('a registered id whose class has no readData', () => {
    class Blank {
      static readonly typeId = 1001;
    }
    const registry = new Registry();
    registry.register(Blank);
    const bytes = encode(Sample.of(1, 2, true, null, null));
    assert.throws(() => decode(bytes, registry), isSerializationError(/type id 1001 \(an instance of Blank\) has no readData method/));
  });

  void it('a reader registry that lacks the type names the id', () => {
    const bytes = encode(Sample.of(1, 2, true, null, null));
    assert.throws(() => decode(bytes, new Registry()), isSerializationError(/unknown type id 1001/));
  });

  void it('one reader, reset between messages, keeps working after errors', () => {
    const input = new ObjectDataInput(Buffer.alloc(0), 0, 0, sampleRegistry());
    assert.throws(() => input.readObject(), SerializationError);
    for (const v of [1, 'two', [3], new Map([[4, 4]])]) {
      input.reset(encode(v));
      assert.deepStrictEqual(input.readObject(), v);
    }
  });
});

function nestedNull(depth: number): unknown {
  let v: unknown = null;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}
