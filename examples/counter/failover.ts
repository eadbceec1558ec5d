/**
 * Failover with real processes: three data members run as separate processes; this program joins
 * as a lite member (it owns no partitions), increments counters, then kills the member owning one
 * of them with SIGKILL. The backup is promoted and the counters continue from their acknowledged
 * values.
 *
 *   npx tsx examples/counter/failover.ts
 *
 * Expected output:
 *   3 data members started: 127.0.0.1:5711, 127.0.0.1:5712, 127.0.0.1:5713
 *   Round 1: a=1 b=1 c=1 d=1 e=1 f=1
 *   Round 2: a=2 b=2 c=2 d=2 e=2 f=2
 *   Killing the owner of a with SIGKILL
 *   Member removed; partitions promoted and backups restored
 *   Round 3: a=3 b=3 c=3 d=3 e=3 f=3
 *   No acknowledged increment was lost
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Shoal } from '../../src/index.js';
import { CounterService, type Counter } from './counter.js';

process.env.SHOAL_COUNTER_QUIET = '1';
const ports = [5711, 5712, 5713];
const script = fileURLToPath(new URL('./member.ts', import.meta.url));
const children = new Map<number, ChildProcess>();

function startMember(port: number): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, String(port), ...ports.map(String)], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.set(port, child);
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`member ${port} exited with ${code}`)));
    createInterface({ input: child.stdout! }).on('line', (l) => {
      if (l.startsWith('READY')) resolve();
    });
  });
}

try {
  for (const port of ports) await startMember(port);
  console.log(`3 data members started: ${ports.map((p) => `127.0.0.1:${p}`).join(', ')}`);

  const client = await Shoal.newInstance({
    liteMember: true,
    logging: { level: 'warn' },
    network: { port: 5719, join: { tcpIp: { enabled: true, members: ports.map((p) => `127.0.0.1:${p}`) } } },
    failureDetector: { heartbeatIntervalMs: 300, maxNoHeartbeatMs: 2000 },
    services: [{ name: CounterService.NAME, implementation: new CounterService(), properties: { 'backup-count': '1' } }],
  });
  const names = ['a', 'b', 'c', 'd', 'e', 'f'];
  const counters: Counter[] = [];
  for (const n of names) counters.push(await client.getDistributedObject<Counter>(CounterService.NAME, n));
  const acked = new Map<string, number>(names.map((n) => [n, 0]));
  const round = async (label: string): Promise<void> => {
    const values: string[] = [];
    for (const c of counters) {
      const v = await c.inc(1);
      acked.set(c.getName(), acked.get(c.getName())! + 1);
      values.push(`${c.getName()}=${v}`);
    }
    console.log(`${label}: ${values.join(' ')}`);
  };
  await round('Round 1');
  await round('Round 2');

  const ps = client.getPartitionService();
  const owner = ps.getPartitionOwner(ps.getPartitionId('a'))!;
  console.log('Killing the owner of a with SIGKILL');
  const removed = new Promise<void>((resolve) => client.getCluster().addMembershipListener({ memberRemoved: () => resolve() }));
  children.get(owner.address.port)!.kill('SIGKILL');
  children.delete(owner.address.port);
  await removed;
  await ps.waitForMigrations({ timeout: 60_000 });
  console.log('Member removed; partitions promoted and backups restored');
  await round('Round 3');
  const lost = (await Promise.all(counters.map(async (c) => (await c.get()) !== acked.get(c.getName())))).some(Boolean);
  console.log(lost ? 'SOME ACKNOWLEDGED INCREMENT WAS LOST' : 'No acknowledged increment was lost');
  await client.shutdown();
} finally {
  for (const child of children.values()) child.kill('SIGTERM');
}
