/**
 * The worked example of docs/testing.md: a user-defined service (a ledger of entries per
 * account, with one synchronous backup) tested under faults with the simulator and its checkers.
 * Keep this file and the docs in step.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  MigrationEndpoint,
  Operation,
  registerOperation,
  type BackupAwareOperation,
  type ManagedService,
  type MigrationAwareService,
  type NodeEngine,
  type ObjectDataInput,
  type ObjectDataOutput,
  type PartitionMigrationEvent,
  type PartitionReplicationEvent,
} from '../../src/index.js';
import { Prng, Simulation, membershipAgrees, replicasConverge, type Violation } from '../../src/testing/index.js';

// --- the service under test -------------------------------------------------------------------

/** One book per partition: account → entries, in the order they were appended. */
class LedgerService implements ManagedService, MigrationAwareService {
  static readonly NAME = 'ledger';
  books: Map<string, string[]>[] = [];

  init(nodeEngine: NodeEngine): void {
    const count = nodeEngine.getPartitionService().getPartitionCount();
    this.books = Array.from({ length: count }, () => new Map<string, string[]>());
  }
  shutdown(): void {}
  reset(): void {
    for (const book of this.books) book.clear();
  }

  beforeMigration(): void {}
  prepareReplicationOperation(event: PartitionReplicationEvent): Operation | null {
    if (event.getReplicaIndex() > 1) return null; // data lives on the owner and one backup
    const book = this.books[event.getPartitionId()];
    return book.size === 0 ? null : new LedgerCopyOp([...book].map(([account, entries]) => [account, [...entries]]));
  }
  commitMigration(event: PartitionMigrationEvent): void {
    const next = event.getNewReplicaIndex();
    if (event.getMigrationEndpoint() === MigrationEndpoint.SOURCE && (next === -1 || next > 1)) this.books[event.getPartitionId()].clear();
  }
  rollbackMigration(event: PartitionMigrationEvent): void {
    if (event.getMigrationEndpoint() === MigrationEndpoint.DESTINATION && event.getCurrentReplicaIndex() === -1) this.books[event.getPartitionId()].clear();
  }
  clearPartitionReplica(partitionId: number): void {
    this.books[partitionId].clear();
  }
}

function append(op: Operation, account: string, entry: string): number {
  const book = op.getService<LedgerService>().books[op.getPartitionId()];
  const entries = book.get(account) ?? [];
  entries.push(entry);
  book.set(account, entries);
  return entries.length;
}

class AppendOp extends Operation implements BackupAwareOperation {
  static readonly typeId = 3_100_001;
  private length = 0;
  constructor(
    public account = '',
    public entry = '',
  ) {
    super();
  }
  run(): void {
    this.length = append(this, this.account, this.entry);
  }
  override getResponse(): number {
    return this.length;
  }
  getSyncBackupCount(): number {
    return 1;
  }
  getAsyncBackupCount(): number {
    return 0;
  }
  shouldBackup(): boolean {
    return true;
  }
  getBackupOperation(): Operation {
    return new AppendBackupOp(this.account, this.entry);
  }
  override writeInternal(out: ObjectDataOutput): void {
    out.writeUTF(this.account);
    out.writeUTF(this.entry);
  }
  override readInternal(input: ObjectDataInput): void {
    this.account = input.readUTF();
    this.entry = input.readUTF();
  }
}

class AppendBackupOp extends Operation {
  static readonly typeId = 3_100_002;
  constructor(
    public account = '',
    public entry = '',
  ) {
    super();
  }
  run(): void {
    append(this, this.account, this.entry);
  }
  override writeInternal(out: ObjectDataOutput): void {
    out.writeUTF(this.account);
    out.writeUTF(this.entry);
  }
  override readInternal(input: ObjectDataInput): void {
    this.account = input.readUTF();
    this.entry = input.readUTF();
  }
}

class LedgerCopyOp extends Operation {
  static readonly typeId = 3_100_003;
  constructor(public books: [string, string[]][] = []) {
    super();
  }
  run(): void {
    const book = this.getService<LedgerService>().books[this.getPartitionId()];
    for (const [account, entries] of this.books) book.set(account, [...entries]);
  }
  override writeInternal(out: ObjectDataOutput): void {
    out.writeObject(this.books);
  }
  override readInternal(input: ObjectDataInput): void {
    this.books = input.readObject<[string, string[]][]>();
  }
}

registerOperation(AppendOp, AppendBackupOp, LedgerCopyOp);

// --- the scenario and its checks ----------------------------------------------------------------

async function runLedger(seed: number): Promise<{ violations: Violation[]; acked: number; hash: string }> {
  const sim = new Simulation({
    seed,
    members: 3,
    cluster: { partitionCount: 8 },
    network: { latencyMinMs: 1, latencyMeanMs: 5, delayRate: 0.01, delayMaxMs: 300, resetRate: 0, dropRate: 0, duplicateRate: 0, reorderRate: 0 },
    services: () => [{ name: LedgerService.NAME, instance: new LedgerService() }],
  });
  sim.start();
  assert.ok(await sim.runUntilSafe(20_000), 'the cluster formed');

  // Workload: four clients, each appending its next entry once the previous call completed (300
  // in all), from a random live member each time; remember which appends were acknowledged.
  const rng = new Prng(seed, 'ledger-workload');
  const acked = new Set<string>();
  let issued = 0;
  let done = 0;
  const client = (): void => {
    const callers = sim.members.filter((m) => m.callable);
    if (issued >= 300) return;
    if (callers.length === 0) {
      sim.at(50, client); // nobody to call from right now: try again shortly
      return;
    }
    const member = rng.pick(callers);
    const account = `account-${rng.int(5)}`;
    const entry = `entry-${issued++}`;
    const partitionId = member.engine.getPartitionService().getPartitionId(account);
    member.engine
      .getOperationService()
      .createInvocationBuilder(LedgerService.NAME, new AppendOp(account, entry), partitionId)
      .invoke()
      .then(
        () => acked.add(entry),
        () => {}, // indeterminate: the entry may or may not be there, but never twice
      )
      .finally(() => {
        done++;
        sim.at(rng.int(30), client);
      });
  };
  for (let i = 0; i < 4; i++) sim.at(i, client);

  // Faults: crash a member while appends run, restart it (empty) later; partition another for a while.
  sim.at(1_500, () => sim.crash(sim.members[1]));
  sim.at(3_000, () => sim.partition([[sim.members[2]], [sim.members[0]]], 800));
  sim.at(6_000, () => sim.restart(sim.members[1]));
  await sim.runFor(60_000, () => done === 300);
  assert.ok(await sim.runUntilSafe(60_000), `the cluster settled after the faults: ${sim.diagnose().join('; ')}`);

  // Checks: membership, replicas (backups equal owners, nothing where it does not belong), and
  // the service's own invariant: every acknowledged entry is in its account's book exactly once.
  const views = sim.views();
  const book = (uuid: string, p: number): Map<string, string[]> | undefined =>
    sim.memberByUuid(uuid)?.service<LedgerService>(LedgerService.NAME)?.books[p];
  const violations: Violation[] = [...membershipAgrees(views, sim.deadUuids), ...replicasConverge(views, { dataBackups: 1, data: book })];
  const table = views[0].table;
  const seen = new Map<string, number>();
  for (let p = 0; p < table.partitionCount; p++) {
    const owner = table.replicas[p][0];
    for (const entries of (owner === null ? undefined : book(owner, p))?.values() ?? []) {
      for (const e of entries) seen.set(e, (seen.get(e) ?? 0) + 1);
    }
  }
  for (const e of acked) if (seen.get(e) !== 1) violations.push({ checker: 'ledgerExactlyOnce', message: `${e} acknowledged but present ${seen.get(e) ?? 0} times` });
  for (const [e, n] of seen) if (n > 1) violations.push({ checker: 'ledgerExactlyOnce', message: `${e} present ${n} times` });
  return { violations, acked: acked.size, hash: sim.trace.digest() };
}

test('a user-defined service keeps every acknowledged entry exactly once under crash, restart and partition', async () => {
  for (const seed of [1, 2, 3]) {
    const { violations, acked } = await runLedger(seed);
    assert.deepEqual(violations, [], `seed ${seed}`);
    assert.ok(acked > 250, `seed ${seed}: only ${acked} of 300 appends acknowledged`);
  }
});

test('the user scenario replays: same seed, same trace hash', async () => {
  const a = await runLedger(5);
  const b = await runLedger(5);
  assert.equal(a.hash, b.hash);
});
