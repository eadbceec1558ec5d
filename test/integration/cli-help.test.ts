/**
 * `shoal --help`, `shoal start --help` and `--version`, through the CLI module and through the
 * package's `bin/shoal.js` (which runs the TypeScript source under tsx when there is no build).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ProcessRegistry, REPO_ROOT, cliArgs, describeExit, type ManagedProcess } from '../helpers/processes.js';

const EXIT_TIMEOUT_MS = 15_000;
const BIN = join(REPO_ROOT, 'bin', 'shoal.js');

const RUNS = {
  help: cliArgs(['--help']),
  startHelp: cliArgs(['start', '--help']),
  binHelp: [BIN, '--help'],
  binVersion: [BIN, '--version'],
  noCommand: cliArgs([]),
} as const;

describe('shoal --help', { timeout: 60_000 }, () => {
  const registry = new ProcessRegistry();
  /** Every command line started at once; each test awaits its own. */
  const runs = new Map<keyof typeof RUNS, Promise<ManagedProcess>>();

  before(() => {
    for (const [name, args] of Object.entries(RUNS) as [keyof typeof RUNS, readonly string[]][]) {
      const p = registry.spawn({ name, args });
      const done = p.waitForExit(EXIT_TIMEOUT_MS).then(() => p);
      done.catch(() => {}); // reported by the test that awaits it
      runs.set(name, done);
    }
  });

  after(async () => {
    await registry.killAll();
  });

  const result = async (name: keyof typeof RUNS, code: number): Promise<ManagedProcess> => {
    const p = await runs.get(name)!;
    assert.deepEqual(p.exit, { code, signal: null }, `${name}: expected exit code ${code}, got ${describeExit(p.exit!)}\n${p.tail()}`);
    return p;
  };

  it('shoal --help exits 0 and lists the start command', async () => {
    const p = await result('help', 0);
    const out = p.text('stdout');
    assert.match(out, /^Usage: shoal \[options\] \[command\]$/m);
    assert.match(out, /^\s+start \[options\]\s+run a cluster member in the foreground/m);
    assert.equal(p.text('stderr'), '');
  });

  it('shoal start --help exits 0 and lists every option', async () => {
    const out = (await result('startHelp', 0)).text('stdout');
    assert.match(out, /^Usage: shoal start \[options\]$/m);
    for (const option of ['--config <file>', '--port <port>', '--member-name <name>', '--cluster-name <name>', '--members <list>', '--log-level <level>']) {
      assert.ok(out.includes(option), `lists ${option}`);
    }
    assert.match(out, /SHOAL_MEMBER_READY <host:port> <uuid>/);
  });

  it('the package bin (bin/shoal.js) runs the CLI from source: --help exits 0 and lists start', async () => {
    assert.match((await result('binHelp', 0)).text('stdout'), /^\s+start \[options\]/m);
  });

  it('--version prints the package version', async () => {
    const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    assert.equal((await result('binVersion', 0)).text('stdout'), version);
  });

  it('shoal without a command is a usage error: help on stderr, exit code 2', async () => {
    assert.match((await result('noCommand', 2)).text('stderr'), /^Usage: shoal \[options\] \[command\]$/m);
  });
});
