/**
 * `shoal start` with an invalid configuration (file or flags) prints the problem, naming file,
 * line and field (or the flag), on stderr and exits 2 without starting a member.
 *
 * Ports 16160-16179 (this file only; nothing should bind them, they are given so that a member
 * started by mistake stays inside this file's range).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ProcessRegistry, cliArgs, describeExit, type ManagedProcess } from '../helpers/processes.js';

const PORT = 16160;
const EXIT_TIMEOUT_MS = 15_000;
const FIXTURES = 'test/fixtures/cli';

interface InvalidCase {
  readonly name: string;
  readonly args: readonly string[];
  /** Lines stderr must contain, exactly. */
  readonly stderrLines: readonly string[];
  /** A line stderr must contain, by shape (for messages holding machine-specific paths). */
  readonly stderrPattern?: RegExp;
}

const cases: InvalidCase[] = [
  {
    name: 'an XML file with a port that is not a number',
    args: ['--config', `${FIXTURES}/invalid-port.xml`],
    stderrLines: [`${FIXTURES}/invalid-port.xml:6: network.port: expected an integer in 1..65535, got "not-a-port"`],
  },
  {
    name: 'a YAML file whose max-no-heartbeat-ms is not above the heartbeat interval',
    args: ['--config', `${FIXTURES}/invalid-heartbeat.yaml`],
    stderrLines: [
      `${FIXTURES}/invalid-heartbeat.yaml:5: failure-detector.max-no-heartbeat-ms: must be greater than failure-detector.heartbeat-interval-ms (line 4), which is 1000; got 800 (members would be suspected between two heartbeats)`,
    ],
  },
  {
    name: 'a service class that cannot be loaded',
    args: ['--config', `${FIXTURES}/invalid-service.xml`, '--port', String(PORT)],
    stderrLines: [],
    stderrPattern:
      /^test\/fixtures\/cli\/invalid-service\.xml:8: class-name: service "CounterService": cannot load "\.\/no-such-module\.js": module not found \(looked for \S+\/no-such-module\.js and \S+\/no-such-module\.ts\)$/,
  },
  {
    name: 'a --port that is not a number, a --members entry that is not an address, and a bad --log-level',
    args: ['--config', `${FIXTURES}/shoal.xml`, '--port', 'abc', '--members', `127.0.0.1:${PORT},not_a_host:1`, '--log-level', 'loud'],
    stderrLines: [
      '--port: expected an integer in 1..65535, got "abc"',
      '--members[1]: expected a member address "host", "host:port" or "[ipv6]:port" with port in 1..65535, got "not_a_host:1"',
      '--log-level: expected one of trace, debug, info, warn, error, fatal, silent, got "loud"',
    ],
  },
  {
    name: 'an unknown option',
    args: ['--config', `${FIXTURES}/shoal.xml`, '--port', String(PORT), '--bogus'],
    stderrLines: ["error: unknown option '--bogus'"],
  },
];

describe('shoal start: invalid configuration', { timeout: 60_000 }, () => {
  const registry = new ProcessRegistry();
  /** One process per case, all started at once; each test awaits its own. */
  const runs = new Map<string, Promise<ManagedProcess>>();

  const run = async (name: string, args: readonly string[]): Promise<ManagedProcess> => {
    const p = registry.spawn({ name, args: cliArgs(['start', ...args]), env: { SHOAL_LOG_JSON: '1' } });
    await p.waitForExit(EXIT_TIMEOUT_MS);
    return p;
  };

  before(() => {
    for (const c of cases) {
      const started = run(c.name, c.args);
      started.catch(() => {}); // reported by the case's own test
      runs.set(c.name, started);
    }
  });

  after(async () => {
    await registry.killAll();
  });

  for (const c of cases) {
    it(`${c.name}: exit code 2 and stderr names where the problem is`, async () => {
      const p = await runs.get(c.name)!;
      assert.deepEqual(p.exit, { code: 2, signal: null }, `${c.name}: expected exit code 2, got ${describeExit(p.exit!)}\n${p.tail()}`);
      assert.doesNotMatch(p.text('stdout'), /SHOAL_MEMBER_READY/, 'no member started');
      assert.ok(!p.logs().some((r) => r.msg === 'transport listening'), 'nothing was bound');
      const stderr = p.text('stderr').split('\n');
      for (const line of c.stderrLines) assert.ok(stderr.includes(line), `stderr has the line\n  ${line}\nbut was\n${p.text('stderr')}`);
      const pattern = c.stderrPattern;
      if (pattern !== undefined) assert.ok(stderr.some((l) => pattern.test(l)), `stderr has a line matching ${String(pattern)}\n${p.text('stderr')}`);
    });
  }
});
