import { SerializationError } from './errors.js';
import type { ObjectDataInput, ObjectDataOutput } from './object-data.js';

/**
 * A value that writes and reads its own fields. `readData` must read exactly what `writeData`
 * wrote, in the same order: the stream has no field names, which is what makes it small and fast.
 */
export interface DataSerializable {
  writeData(out: ObjectDataOutput): void;
  readData(input: ObjectDataInput): void;
}

/**
 * A class the registry can instantiate on the receiving side. The no-arg constructor plays the
 * part of Java's no-arg constructor: the reader creates a blank instance, then `readData` fills it.
 */
export interface TypeConstructor<T = unknown> {
  new (): T;
  readonly typeId: number;
}

const typeIdMax = 0x7fffffff;

/**
 * Maps wire type ids to classes. Every member must register the same classes under the same ids,
 * since the id is all the reader gets.
 */
export class TypeRegistry {
  private readonly byId = new Map<number, TypeConstructor>();
  // Keyed by constructor: the writer's lookup is one Map.get on the instance's own class.
  private readonly idByCtor = new Map<object, number>();

  register(ctor: TypeConstructor): void {
    if (typeof ctor !== 'function') {
      throw new TypeError(`register: expected a class, got ${typeof ctor}`);
    }
    const typeId: unknown = ctor.typeId;
    if (typeof typeId !== 'number' || !Number.isInteger(typeId) || typeId < 0 || typeId > typeIdMax) {
      throw new TypeError(
        `register: ${nameOf(ctor)}.typeId must be an integer in 0..${typeIdMax} (declare \`static readonly typeId = 1001\`), got ${String(typeId)}`,
      );
    }
    const existing = this.byId.get(typeId);
    if (existing === ctor) return;
    if (existing !== undefined) {
      throw new Error(
        `register: type id ${typeId} is already taken by ${nameOf(existing)}; cannot also register ${nameOf(ctor)}`,
      );
    }
    this.byId.set(typeId, ctor);
    this.idByCtor.set(ctor, typeId);
  }

  has(typeId: number): boolean {
    return this.byId.has(typeId);
  }

  create(typeId: number): unknown {
    const ctor = this.byId.get(typeId);
    if (ctor === undefined) {
      throw new SerializationError(
        `unknown type id ${typeId}: no class is registered under it on this member (every member must register the same types)`,
      );
    }
    return new ctor();
  }

  /**
   * The id to write for `value`, or undefined. Identity with the registered constructor is
   * required: a subclass inherits its parent's static `typeId`, and writing it under the parent's
   * id would silently turn it into a parent instance on the other side. The constructor is taken
   * from the prototype, so an own property named `constructor` cannot impersonate a class.
   */
  typeIdOf(value: object): number | undefined {
    const proto = Object.getPrototypeOf(value) as { constructor?: unknown } | null;
    const ctor = proto?.constructor;
    return typeof ctor === 'function' ? this.idByCtor.get(ctor) : undefined;
  }
}

function nameOf(ctor: object): string {
  const name = (ctor as { name?: unknown }).name;
  return typeof name === 'string' && name !== '' ? name : '(anonymous class)';
}

/**
 * The registry every member uses unless told otherwise. Operations and user value types share it.
 * Type ids below 1000 are reserved for Shoal's own operations and types; user classes should use
 * 1000 and above. Not enforced here, because Shoal registers its internals through this same helper.
 */
export const globalTypeRegistry = new TypeRegistry();

export function registerType(ctor: TypeConstructor): void {
  globalTypeRegistry.register(ctor);
}
