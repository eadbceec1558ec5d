/**
 * Step 7: backups. IncOperation is a BackupAwareOperation with one synchronous backup: the owner
 * runs it, the other member runs IncBackupOperation, and only then does inc() resolve.
 *
 *   npx tsx examples/counter/step7-backups.ts
 *
 * Expected output:
 *   Executing counter.inc() on: Address[127.0.0.1]:5701
 *   Executing backup counter.inc() on: Address[127.0.0.1]:5702
 *   Finished
 */
import { Shoal, type ShoalInstance } from '../../src/index.js';
import { CounterService, type Counter } from './counter.js';

const config = () => ({
  logging: { level: 'warn' as const },
  services: [{ name: CounterService.NAME, implementation: new CounterService(), properties: { 'backup-count': '1' } }],
});
const instances: ShoalInstance[] = [];
for (let k = 0; k < 2; k++) instances.push(await Shoal.newInstance(config()));

const counter = await instances[0].getDistributedObject<Counter>(CounterService.NAME, 'counter');
await counter.inc(1);
console.log('Finished');
await Promise.all(instances.map((i) => i.terminate()));
