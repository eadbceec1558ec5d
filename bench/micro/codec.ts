// Micro-benchmark: encode+decode of a small operation-like record through a reused
// ObjectDataOutput/ObjectDataInput (type id + writeData/readData) against JSON.stringify/parse
// of the same record, measured in the same run. Prints ns per round trip and the ratio.
// Run: npx tsx bench/micro/codec.ts
import { Buffer } from 'node:buffer';
import {
  ObjectDataInput,
  ObjectDataOutput,
  TypeRegistry,
  type DataSerializable,
} from '../../src/serialization/index.js';

class IncrementOperation implements DataSerializable {
  static readonly typeId = 1;
  serviceName = '';
  objectName = '';
  partitionId = 0;
  callId = 0;
  replicaIndex = 0;
  delta = 0;

  writeData(out: ObjectDataOutput): void {
    out.writeUTF(this.serviceName);
    out.writeUTF(this.objectName);
    out.writeInt(this.partitionId);
    out.writeLong(this.callId);
    out.writeByte(this.replicaIndex);
    out.writeLong(this.delta);
  }

  readData(input: ObjectDataInput): void {
    this.serviceName = input.readUTF();
    this.objectName = input.readUTF();
    this.partitionId = input.readInt();
    this.callId = input.readLong();
    this.replicaIndex = input.readByte();
    this.delta = input.readLong();
  }
}

const registry = new TypeRegistry();
registry.register(IncrementOperation);

const op = new IncrementOperation();
op.serviceName = 'shoal:counter';
op.objectName = 'page-views';
op.partitionId = 117;
op.callId = 1_234_567_890_123;
op.replicaIndex = 0;
op.delta = 5;
const plain = { ...op };

const out = new ObjectDataOutput(256, registry);
const input = new ObjectDataInput(Buffer.alloc(0), 0, 0, registry);
let sink = 0;

function codecRoundTrip(): void {
  out.clear();
  out.writeObject(op);
  input.reset(out.view());
  const back = input.readObject<IncrementOperation>();
  sink += back.partitionId;
}

function jsonRoundTrip(): void {
  const back = JSON.parse(JSON.stringify(plain)) as IncrementOperation;
  sink += back.partitionId;
}

function jsonBytesRoundTrip(): void {
  const bytes = Buffer.from(JSON.stringify(plain), 'utf8');
  const back = JSON.parse(bytes.toString('utf8')) as IncrementOperation;
  sink += back.partitionId;
}

function nsPerOp(fn: () => void, iterations: number): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  return Number(process.hrtime.bigint() - start) / iterations;
}

/** Median of several timed rounds after a warm-up, to keep JIT and GC noise out. */
function measure(fn: () => void): number {
  nsPerOp(fn, 200_000);
  const rounds: number[] = [];
  for (let r = 0; r < 7; r++) rounds.push(nsPerOp(fn, 300_000));
  rounds.sort((a, b) => a - b);
  return rounds[3];
}

out.clear();
out.writeObject(op);
const codecBytes = out.position();
const jsonBytes = Buffer.byteLength(JSON.stringify(plain));

// Interleave so both sides see the same machine state.
const codec: number[] = [];
const json: number[] = [];
const jsonWithBytes: number[] = [];
for (let i = 0; i < 3; i++) {
  codec.push(measure(codecRoundTrip));
  json.push(measure(jsonRoundTrip));
  jsonWithBytes.push(measure(jsonBytesRoundTrip));
}
const best = (xs: number[]): number => Math.min(...xs);
const c = best(codec);
const j = best(json);
const jb = best(jsonWithBytes);

console.log(`record: 6 fields; codec ${codecBytes} bytes, JSON ${jsonBytes} bytes`);
console.log(`codec (reused output/input): ${c.toFixed(1)} ns per encode+decode`);
console.log(`JSON.stringify+parse:        ${j.toFixed(1)} ns per encode+decode`);
console.log(`JSON + UTF-8 Buffer:         ${jb.toFixed(1)} ns per encode+decode`);
console.log(`ratio JSON/codec: ${(j / c).toFixed(2)}x (with bytes: ${(jb / c).toFixed(2)}x)`);
if (sink === 0) console.log('unreachable');
