/**
 * One data member of the failover example, as its own process:
 *   npx tsx examples/counter/member.ts <port> <member-port>...
 * Prints `READY <address>` once it has joined.
 */
process.env.SHOAL_COUNTER_QUIET = '1';
const { Shoal } = await import('../../src/index.js');
const { CounterService } = await import('./counter.js');

const [port, ...members] = process.argv.slice(2).map(Number);
const instance = await Shoal.newInstance({
  logging: { level: 'warn' },
  network: { port, portAutoIncrement: false, join: { tcpIp: { enabled: true, members: members.map((p) => `127.0.0.1:${p}`) } } },
  failureDetector: { heartbeatIntervalMs: 300, maxNoHeartbeatMs: 2000 },
  services: [{ name: CounterService.NAME, implementation: new CounterService(), properties: { 'backup-count': '1' } }],
});
console.log(`READY ${instance.getNodeEngine().getThisAddress().toString()}`);
const stop = (): void => void instance.shutdown().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
