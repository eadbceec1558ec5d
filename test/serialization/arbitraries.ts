// Shared generators and fixtures for the serialization tests.
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import type { DataSerializable, ObjectDataInput, ObjectDataOutput } from '../../src/serialization/index.js';
import { TypeRegistry } from '../../src/serialization/index.js';

/** A DataSerializable with every primitive field kind, plus a nested object field. */
export class Sample implements DataSerializable {
  static readonly typeId = 1001;
  id = 0;
  version = 0;
  flag = false;
  label: string | null = null;
  payload: unknown = null;

  static of(id: number, version: number, flag: boolean, label: string | null, payload: unknown): Sample {
    const s = new Sample();
    s.id = id;
    s.version = version;
    s.flag = flag;
    s.label = label;
    s.payload = payload;
    return s;
  }

  writeData(out: ObjectDataOutput): void {
    out.writeInt(this.id);
    out.writeLong(this.version);
    out.writeBoolean(this.flag);
    out.writeUTF(this.label);
    out.writeObject(this.payload);
  }

  readData(input: ObjectDataInput): void {
    this.id = input.readInt();
    this.version = input.readLong();
    this.flag = input.readBoolean();
    this.label = input.readNullableUTF();
    this.payload = input.readObject();
  }
}

export function sampleRegistry(): TypeRegistry {
  const registry = new TypeRegistry();
  registry.register(Sample);
  return registry;
}

export const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
export const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
export const safeInteger = fc.maxSafeInteger();

/** Well-formed strings across the whole Unicode range (astral chars, combining marks, ASCII). */
export const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'grapheme-composite', maxLength: 10 }),
  fc.string({ unit: 'binary', maxLength: 100 }).filter(isWellFormed),
  fc.string({ unit: 'binary-ascii', minLength: 60, maxLength: 300 }),
);

const loneSurrogateRe = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
export function isWellFormed(s: string): boolean {
  return !loneSurrogateRe.test(s);
}

const leaf: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.constant(undefined),
  fc.boolean(),
  int32,
  fc.double(),
  int64,
  text,
  fc.uint8Array({ maxLength: 24 }).map((u) => Buffer.from(u)),
  fc.date({ noInvalidDate: true }),
);

/** JSON-ish values plus everything writeObject adds: Maps, Sets, bigint, Buffers, Dates, Sample. */
export const value: fc.Arbitrary<unknown> = fc.letrec<{
  value: unknown;
  array: unknown[];
  map: Map<unknown, unknown>;
  set: Set<unknown>;
  object: Record<string, unknown>;
  sample: Sample;
}>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    tie('array'),
    tie('map'),
    tie('set'),
    tie('object'),
    tie('sample'),
  ),
  array: fc.array(tie('value'), { maxLength: 5 }),
  map: fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 4 }).map((entries) => new Map(entries)),
  set: fc.array(tie('value'), { maxLength: 4 }).map((items) => new Set(items)),
  object: fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 5, noNullPrototype: true }),
  sample: fc
    .tuple(int32, safeInteger, fc.boolean(), fc.option(text, { nil: null }), tie('value'))
    .map(([id, version, flag, label, payload]) => Sample.of(id, version, flag, label, payload)),
})).value;
