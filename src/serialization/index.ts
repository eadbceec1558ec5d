export { SerializationError } from './errors.js';
export { hashToIndex, murmurHash3x86_32, murmurSeed } from './murmur3.js';
export { ObjectDataInput, ObjectDataOutput, ObjectTag, objectDepthMax, outputBytesMax } from './object-data.js';
export { partitionHashOf, partitionHashSeed, partitionIdOf } from './partition-key.js';
export {
  globalTypeRegistry,
  registerType,
  TypeRegistry,
  type DataSerializable,
  type TypeConstructor,
} from './type-registry.js';
