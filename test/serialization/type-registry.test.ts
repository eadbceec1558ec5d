import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ObjectDataInput, ObjectDataOutput, TypeConstructor } from '../../src/serialization/index.js';
import {
  globalTypeRegistry,
  registerType,
  SerializationError,
  TypeRegistry,
} from '../../src/serialization/index.js';

class Alpha {
  static readonly typeId = 1001;
  writeData(_out: ObjectDataOutput): void {}
  readData(_input: ObjectDataInput): void {}
}
class Beta {
  static readonly typeId = 1001;
}
class AlphaChild extends Alpha {}

function withTypeId(typeId: unknown): TypeConstructor {
  return class Custom {
    static readonly typeId = typeId;
  } as unknown as TypeConstructor;
}

void describe('TypeRegistry', () => {
  void it('creates a fresh instance of a registered class', () => {
    const registry = new TypeRegistry();
    registry.register(Alpha);
    assert.ok(registry.has(1001));
    assert.ok(!registry.has(1002));
    const a = registry.create(1001);
    assert.ok(a instanceof Alpha);
    assert.notEqual(registry.create(1001), a);
  });

  void it('treats registering the same class twice as a no-op', () => {
    const registry = new TypeRegistry();
    registry.register(Alpha);
    registry.register(Alpha);
    assert.ok(registry.create(1001) instanceof Alpha);
  });

  void it('refuses a second class under a taken id, naming both', () => {
    const registry = new TypeRegistry();
    registry.register(Alpha);
    assert.throws(() => registry.register(Beta), /type id 1001 is already taken by Alpha; cannot also register Beta/);
    assert.ok(registry.create(1001) instanceof Alpha, 'the first registration stands');
  });

  void it('refuses a subclass that only inherits its parent id', () => {
    const registry = new TypeRegistry();
    registry.register(Alpha);
    assert.throws(() => registry.register(AlphaChild), /already taken by Alpha; cannot also register AlphaChild/);
  });

  const invalidIds: unknown[] = [-1, 1.5, 2 ** 31, Number.NaN, '1001', undefined, null, Number.POSITIVE_INFINITY];
  for (const typeId of invalidIds) {
    void it(`rejects typeId ${String(typeId)}`, () => {
      assert.throws(() => new TypeRegistry().register(withTypeId(typeId)), /typeId must be an integer in 0\.\.2147483647/);
    });
  }

  for (const typeId of [0, 1, 999, 1000, 2 ** 31 - 1]) {
    void it(`accepts typeId ${typeId}`, () => {
      const registry = new TypeRegistry();
      registry.register(withTypeId(typeId));
      assert.ok(registry.has(typeId));
    });
  }

  void it('names the unknown id in a SerializationError', () => {
    const registry = new TypeRegistry();
    assert.throws(
      () => registry.create(4242),
      (e: unknown) => e instanceof SerializationError && e.name === 'SerializationError' && /unknown type id 4242/.test(e.message),
    );
  });

  void it('finds the id of an instance only through its own registered class', () => {
    const registry = new TypeRegistry();
    registry.register(Alpha);
    assert.equal(registry.typeIdOf(new Alpha()), 1001);
    assert.equal(registry.typeIdOf(new AlphaChild()), undefined, 'an inherited static id is not enough');
    assert.equal(registry.typeIdOf(new Beta()), undefined, 'same id, different class');
    assert.equal(registry.typeIdOf({}), undefined);
    assert.equal(registry.typeIdOf(Object.create(null) as object), undefined);
    assert.equal(registry.typeIdOf({ constructor: Alpha }), undefined, 'a forged constructor field is not the class');
    assert.equal(new TypeRegistry().typeIdOf(new Alpha()), undefined, 'registries are independent');
  });
});

void describe('registerType', () => {
  void it('registers in the global registry', () => {
    class GlobalThing {
      static readonly typeId = 987_654;
    }
    registerType(GlobalThing);
    assert.ok(globalTypeRegistry.has(987_654));
    assert.ok(globalTypeRegistry.create(987_654) instanceof GlobalThing);
  });

  void it('allows ids below 1000, which Shoal reserves for itself', () => {
    class Internal {
      static readonly typeId = 7;
    }
    registerType(Internal);
    assert.ok(globalTypeRegistry.has(7));
  });
});
