import { MemberPool, BenchCluster } from './lib/cluster.js';
const pool = new MemberPool(4);
await pool.ready();
const c = await BenchCluster.start(pool, { label: 'st', members: 4, basePort: 17771, backupCount: 0, lite: [3], logLevel: 'info' });
const load = c.member(3).worker;
await load.call('prepareCounters', { count: 1000, prefix: 's', backupCount: 0 });
try {
  for (let i = 0; i < 14; i++) {
    const r = await load.call('concurrent', { concurrency: 1000, warmupMs: 500, durationMs: 2000, drainTimeoutMs: 15000 });
    await load.call('sequential', { warmupMs: 200, durationMs: 1500 });
    const v = await load.call('verify', null);
    if (i % 3 === 2) await Promise.all(c.members.map((m) => m.worker.call('heap', null)));
    console.log(new Date().toISOString().slice(11,23), i, Math.round(r.opsPerSec), 'mismatches', v.mismatches, 'sum', v.total);
  }
} catch (e) {
  console.log('STALL', String(e));
  for (let k = 0; k < 2; k++) {
    console.log(JSON.stringify(await Promise.all(c.members.map((m) => m.worker.call('diag', null)))));
    await new Promise((r) => setTimeout(r, 1000));
  }
}
await c.stop();
await pool.stop();
