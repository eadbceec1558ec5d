/**
 * `npm run demo`: a three-member Shoal cluster on loopback, in one process.
 *
 * It runs counters and shows where each increment ran, the partition distribution, a join with
 * its migrations, and a failover (a member crashes; its backups take over with the data).
 */
process.env.SHOAL_COUNTER_QUIET = '1';
const { Shoal } = await import('../src/index.js');
const { CounterService } = await import('./counter/counter.js');
type Counter = import('./counter/counter.js').Counter;
type ShoalInstance = import('../src/index.js').ShoalInstance;

const PORT = 5701;
const config = () => ({
  logging: { level: 'warn' as const },
  network: { port: PORT },
  failureDetector: { heartbeatIntervalMs: 500, maxNoHeartbeatMs: 3000 },
  services: [{ name: CounterService.NAME, implementation: new CounterService(), properties: { 'backup-count': '1' } }],
});

const line = (text = ''): void => console.log(text);
const members: ShoalInstance[] = [];

function distribution(instance: ShoalInstance): void {
  const ps = instance.getPartitionService();
  const owners = new Map<string, number>();
  for (let p = 0; p < ps.getHashedPartitionCount(); p++) {
    const owner = ps.getPartitionOwner(p);
    const key = owner === null ? 'unassigned' : owner.address.toString();
    owners.set(key, (owners.get(key) ?? 0) + 1);
  }
  line(`  partition owners (${ps.getHashedPartitionCount()} hashed partitions):`);
  for (const [member, count] of [...owners].sort()) line(`    ${member.padEnd(24)} ${String(count).padStart(4)}  ${'#'.repeat(Math.round(count / 4))}`);
}

async function incrementAll(counters: Counter[], ps: ReturnType<ShoalInstance['getPartitionService']>): Promise<void> {
  for (const c of counters) {
    const value = await c.inc(1);
    const p = ps.getPartitionId(c.getName());
    line(`  ${c.getName().padEnd(8)} = ${String(value).padStart(3)}   partition ${String(p).padStart(3)} on ${ps.getPartitionOwner(p)?.address.toString() ?? '?'}`);
  }
}

line('Starting three members on 127.0.0.1 ...');
for (let i = 0; i < 3; i++) members.push(await Shoal.newInstance(config()));
line(`Cluster: ${members[0].getCluster().getMembers().map((m) => m.address.toString()).join(', ')}`);

const counters: Counter[] = [];
for (let i = 0; i < 8; i++) counters.push(await members[0].getDistributedObject<Counter>(CounterService.NAME, `visits-${i}`));
const ps = members[0].getPartitionService();

line();
line('Incrementing 8 counters (each increment runs on its partition owner, with one synchronous backup):');
await incrementAll(counters, ps);
distribution(members[0]);

line();
line('A fourth member joins; partitions migrate to it:');
let moved = 0;
for (const m of members) m.getPartitionService().addMigrationListener({ migrationCompleted: () => moved++ });
members.push(await Shoal.newInstance(config()));
await Promise.all(members.map((m) => m.getPartitionService().waitForMigrations({ timeout: 60_000 })));
line(`  ${moved} replica migrations completed; the cluster is safe: ${String(ps.isClusterSafe())}`);
distribution(members[0]);
line('Incrementing again (counters continue where they were, wherever they live now):');
await incrementAll(counters, ps);

line();
const victimAddress = ps.getPartitionOwner(ps.getPartitionId(counters[0].getName()))!.address;
const victim = members.find((m) => m.getNodeEngine().getThisAddress().equals(victimAddress))!;
const survivor = members.find((m) => m !== victim)!;
line(`Failover: ${victimAddress.toString()} (owner of ${counters[0].getName()}) crashes ...`);
await victim.terminate();
members.splice(members.indexOf(victim), 1);
const survivorPs = survivor.getPartitionService();
await new Promise<void>((resolve) => {
  survivor.getCluster().addMembershipListener({ memberRemoved: () => resolve() });
});
await Promise.all(members.map((m) => m.getPartitionService().waitForMigrations({ timeout: 60_000 })));
line(`  the cluster noticed, promoted backups and restored the backup count: ${survivor.getCluster().getMembers().length} members`);
const survivorCounters: Counter[] = [];
for (const c of counters) survivorCounters.push(await survivor.getDistributedObject<Counter>(CounterService.NAME, c.getName()));
line('Incrementing once more (no acknowledged increment was lost, so each counter shows 3):');
await incrementAll(survivorCounters, survivorPs);
distribution(survivor);

line();
line('Shutting down gracefully ...');
for (const m of members) await m.shutdown();
line('Done.');
