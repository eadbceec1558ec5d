/**
 * `shoal --help`, `shoal start --help` and `--version`, through the CLI module and through the
 * package's `bin/shoal.js` (which runs the TypeScript source under tsx when there is no build).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ProcessRegistry, REPO_ROOT, cliArgs, describeExit, type ManagedProcess } from '../helpers/processes.js';

const EXIT_TIMEOUT_MS = 15_000;
const BIN = join(REPO_ROOT, 'bin', 'shoal.js');

describe('shoal --help', { timeout: 60_000 }, () => {
  const registry = new ProcessRegistry();

  after(async () => {
    await registry.killAll();
  });

  const run = async (name: string, args: readonly string[], code: number): Promise<ManagedProcess> => {
    const p = registry.spawn({ name, args });
    const exit = await p.waitForExit(EXIT_TIMEOUT_MS);
    assert.deepEqual(exit, { code, signal: null }, `${name}: expected exit code ${code}, got ${describeExit(exit)}\n${p.tail()}`);
    return p;
  };

  it('shoal --help exits 0 and lists the start command', async () => {
    const p = await run('help', cliArgs(['--help']), 0);
    const out = p.text('stdout');
    assert.match(out, /^Usage: shoal \[options\] \[command\]$/m);
    assert.match(out, /^\s+start \[options\]\s+run a cluster member in the foreground/m);
    assert.equal(p.text('stderr'), '');
  });

  it('shoal start --help exits 0 and lists every option', async () => {
    const p = await run('start-help', cliArgs(['start', '--help']), 0);
    const out = p.text('stdout');
    assert.match(out, /^Usage: shoal start \[options\]$/m);
    for (const option of ['--config <file>', '--port <port>', '--member-name <name>', '--cluster-name <name>', '--members <list>', '--log-level <level>']) {
      assert.ok(out.includes(option), `lists ${option}`);
    }
    assert.match(out, /SHOAL_MEMBER_READY <host:port> <uuid>/);
  });

  it('the package bin (bin/shoal.js) runs the CLI from source: --help exits 0 and lists start', async () => {
    const p = await run('bin-help', [BIN, '--help'], 0);
    assert.match(p.text('stdout'), /^\s+start \[options\]/m);
  });

  it('--version prints the package version', async () => {
    const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    const p = await run('version', [BIN, '--version'], 0);
    assert.equal(p.text('stdout'), version);
  });

  it('shoal without a command is a usage error: help on stderr, exit code 2', async () => {
    const p = await run('no-command', cliArgs([]), 2);
    assert.match(p.text('stderr'), /^Usage: shoal \[options\] \[command\]$/m);
  });
});
