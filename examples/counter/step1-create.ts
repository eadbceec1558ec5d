/**
 * Step 1: create the class and enable it through configuration.
 *
 *   npx tsx examples/counter/step1-create.ts            (uses shoal.xml)
 *   npx tsx examples/counter/step1-create.ts --yaml     (uses shoal.yaml)
 *
 * Expected output:
 *   CounterService.init
 *   someproperty = 10
 *   Member started: Address[127.0.0.1]:5701
 *   CounterService.shutdown
 */
import { fileURLToPath } from 'node:url';
import { Shoal } from '../../src/index.js';

const file = process.argv.includes('--yaml') ? 'shoal.yaml' : 'shoal.xml';
const instance = await Shoal.newInstance(fileURLToPath(new URL(file, import.meta.url)));
console.log(`Member started: ${instance.getNodeEngine().getThisAddress().toString()}`);
// The seeds stop the member with Ctrl+C; here it shuts down on its own so the run is checkable.
await instance.shutdown();
