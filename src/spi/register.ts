import { registerType } from '../serialization/type-registry.js';
import type { OperationConstructor } from './operation.js';

/**
 * Makes an operation class known to this process so members can rebuild it from a frame.
 * The class needs `static readonly typeId` (≥ 1000; ids below are Shoal's own) and a
 * constructor that works with no arguments. Register at module load, on every member.
 */
export function registerOperation(...ctors: OperationConstructor[]): void {
  for (const ctor of ctors) {
    if (!Number.isInteger(ctor.typeId) || ctor.typeId < 1000) {
      throw new RangeError(`${ctor.name}.typeId must be an integer ≥ 1000 (ids below 1000 are reserved for Shoal), got ${String(ctor.typeId)}`);
    }
    registerType(ctor);
  }
}
