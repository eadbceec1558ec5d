/**
 * Step 6: partition migration. Three members, four counters incremented to 1; three more members
 * join; once migrations have finished (awaited, not slept on) each counter increments to 2 on
 * whichever member owns it now, and the counters' moves are listed.
 *
 *   npx tsx examples/counter/step6-migration.ts
 *
 * Expected output:
 *   Executing 0counter.inc() on: Address[127.0.0.1]:5702
 *   Executing backup 0counter.inc() on: Address[127.0.0.1]:5703
 *   1
 *   Executing 1counter.inc() on: Address[127.0.0.1]:5703
 *   Executing backup 1counter.inc() on: Address[127.0.0.1]:5701
 *   1
 *   Executing 2counter.inc() on: Address[127.0.0.1]:5701
 *   Executing backup 2counter.inc() on: Address[127.0.0.1]:5702
 *   1
 *   Executing 3counter.inc() on: Address[127.0.0.1]:5702
 *   Executing backup 3counter.inc() on: Address[127.0.0.1]:5703
 *   1
 *   Creating new members
 *   Migrations finished
 *   Executing 0counter.inc() on: Address[127.0.0.1]:5705
 *   Executing backup 0counter.inc() on: Address[127.0.0.1]:5704
 *   2
 *   Executing 1counter.inc() on: Address[127.0.0.1]:5706
 *   Executing backup 1counter.inc() on: Address[127.0.0.1]:5701
 *   2
 *   Executing 2counter.inc() on: Address[127.0.0.1]:5704
 *   Executing backup 2counter.inc() on: Address[127.0.0.1]:5705
 *   2
 *   Executing 3counter.inc() on: Address[127.0.0.1]:5702
 *   Executing backup 3counter.inc() on: Address[127.0.0.1]:5703
 *   2
 *   0counter moved from Address[127.0.0.1]:5702 to Address[127.0.0.1]:5705
 *   1counter moved from Address[127.0.0.1]:5703 to Address[127.0.0.1]:5706
 *   2counter moved from Address[127.0.0.1]:5701 to Address[127.0.0.1]:5704
 *   3counter stayed on Address[127.0.0.1]:5702
 *   Finished
 */
import { Shoal, type ShoalInstance } from '../../src/index.js';
import { CounterService, type Counter } from './counter.js';

const config = () => ({ logging: { level: 'warn' as const }, services: [{ name: CounterService.NAME, implementation: new CounterService() }] });
const instances: ShoalInstance[] = [];
for (let k = 0; k < 3; k++) instances.push(await Shoal.newInstance(config()));

const counters: Counter[] = [];
for (let k = 0; k < 4; k++) counters.push(await instances[0].getDistributedObject<Counter>(CounterService.NAME, `${k}counter`));

const partitions = instances[0].getPartitionService();
const ownerOf = (c: Counter): string => partitions.getPartitionOwner(partitions.getPartitionId(c.getName()))?.address.toString() ?? 'nobody';

for (const counter of counters) console.log(await counter.inc(1));
const ownersBefore = counters.map(ownerOf);

console.log('Creating new members');
for (let k = 0; k < 3; k++) instances.push(await Shoal.newInstance(config()));
await Promise.all(instances.map((i) => i.getPartitionService().waitForMigrations({ timeout: 60_000 })));
console.log('Migrations finished');

for (const counter of counters) console.log(await counter.inc(1));

counters.forEach((c, i) => {
  const after = ownerOf(c);
  console.log(after === ownersBefore[i] ? `${c.getName()} stayed on ${after}` : `${c.getName()} moved from ${ownersBefore[i]} to ${after}`);
});
console.log('Finished');
await Promise.all(instances.map((i) => i.terminate()));
