/**
 * Step 1 of the seeds' walk-through: a service whose lifecycle the member manages.
 * Started from examples/counter/shoal.xml (or shoal.yaml), which also passes `someproperty`.
 */
import type { ManagedService, NodeEngine, Properties } from '../../../src/index.js';

export class CounterService implements ManagedService {
  private nodeEngine: NodeEngine | null = null;

  init(nodeEngine: NodeEngine, properties: Properties): void {
    console.log('CounterService.init');
    console.log(`someproperty = ${properties.someproperty ?? '(not set)'}`);
    this.nodeEngine = nodeEngine;
  }

  shutdown(_terminate: boolean): void {
    console.log('CounterService.shutdown');
  }

  reset(): void {}

  /** The member this service runs in (available after init). */
  engine(): NodeEngine | null {
    return this.nodeEngine;
  }
}
