import { Operation } from '../spi/operation.js';
import type { Node } from './node.js';

/** Service name internal operations are sent under. */
export const INTERNAL_SERVICE = 'shoal:internal';

/** Base for the engine's own operations (type ids below 1000): they reach the member's internals. */
export abstract class InternalOperation extends Operation {
  protected node(): Node {
    const engine = this.getNodeEngine() as unknown as { node?: Node };
    if (engine.node === undefined) throw new Error('internal operation bound to a foreign node engine');
    return engine.node;
  }
}
