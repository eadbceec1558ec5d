import { ObjectDataInput, ObjectDataOutput } from './object-data.js';
import { globalTypeRegistry, type TypeRegistry } from './type-registry.js';

/**
 * Turns values into bytes and back with the member's type registry. Services reach it through
 * `nodeEngine.getSerializationService()`, e.g. to store values in serialized form.
 */
export class SerializationService {
  readonly registry: TypeRegistry;
  private readonly scratch: ObjectDataOutput;

  constructor(registry: TypeRegistry = globalTypeRegistry) {
    this.registry = registry;
    this.scratch = new ObjectDataOutput(256, registry);
  }

  /** A fresh output bound to this service's registry. */
  createOutput(initialBytes = 256): ObjectDataOutput {
    return new ObjectDataOutput(initialBytes, this.registry);
  }

  createInput(bytes: Uint8Array, offset = 0, end = bytes.length): ObjectDataInput {
    return new ObjectDataInput(bytes, offset, end, this.registry);
  }

  /** The value's bytes (a copy the caller owns). */
  toBytes(value: unknown): Buffer {
    this.scratch.clear();
    this.scratch.writeObject(value);
    return this.scratch.toBuffer();
  }

  toObject<T = unknown>(bytes: Uint8Array): T {
    return new ObjectDataInput(bytes, 0, bytes.length, this.registry).readObject<T>();
  }
}
