/**
 * Unit tests (no processes, no sockets) of src/cli/options.ts: how `shoal start` flags map onto
 * the config, as valid/invalid tables, and how the config file is found and its services created.
 * (Kept beside the CLI's integration tests so `node --test test/integration/*.test.ts` runs every
 * CLI test.)
 */
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import {
  FLAG_NAMES,
  applyStartFlags,
  loadStartConfig,
  resolveStartConfig,
  splitMembers,
  type StartFlags,
} from '../../src/cli/options.js';
import { ConfigError, loadConfig, resolveConfig, type Config, type ResolvedConfig } from '../../src/config/index.js';
import { CLI_FIXTURES, REPO_ROOT } from '../helpers/processes.js';

const BASE: Config = {
  clusterName: 'base',
  memberName: 'from-file',
  network: {
    port: 16000,
    portAutoIncrement: false,
    join: { tcpIp: { enabled: true, members: ['127.0.0.1:16000'] }, joinTimeoutMs: 1500 },
  },
  failureDetector: { heartbeatIntervalMs: 500, maxNoHeartbeatMs: 3000 },
  logging: { level: 'info' },
};

interface ValidCase {
  readonly name: string;
  readonly base?: Config;
  readonly flags: StartFlags;
  /** Checks on the resolved config. */
  readonly expect: (resolved: ResolvedConfig) => void;
}

const valid: ValidCase[] = [
  {
    name: 'no flags: the file settings as they are',
    flags: {},
    expect: (r) => assert.deepEqual(r, resolveConfig(BASE)),
  },
  {
    name: '--port sets network.port and keeps the rest of network',
    flags: { port: '16001' },
    expect: (r) => {
      assert.equal(r.network.port, 16001);
      assert.equal(r.network.portAutoIncrement, false);
      assert.deepEqual(r.network.join.tcpIp.members, ['127.0.0.1:16000']);
      assert.equal(r.network.join.joinTimeoutMs, 1500);
    },
  },
  {
    name: '--port 1 (the lower bound)',
    flags: { port: '1' },
    expect: (r) => assert.equal(r.network.port, 1),
  },
  {
    name: '--port 65535 (the upper bound)',
    flags: { port: '65535' },
    expect: (r) => assert.equal(r.network.port, 65535),
  },
  {
    name: '--members replaces the list (trimmed) and enables tcp-ip',
    base: { ...BASE, network: { ...BASE.network, join: { tcpIp: { enabled: false, members: ['127.0.0.99'] } } } },
    flags: { members: '127.0.0.1:16000, 127.0.0.1:16001 ,[::1]:16002,localhost' },
    expect: (r) => {
      assert.deepEqual(r.network.join.tcpIp, {
        enabled: true,
        members: ['127.0.0.1:16000', '127.0.0.1:16001', '[::1]:16002', 'localhost'],
      });
      assert.equal(r.network.join.multicast.enabled, false);
    },
  },
  {
    name: '--members switches a multicast config to tcp-ip',
    base: { network: { join: { multicast: { enabled: true, interface: '127.0.0.1' } } } },
    flags: { members: '127.0.0.1:16000' },
    expect: (r) => {
      assert.equal(r.network.join.multicast.enabled, false);
      assert.equal(r.network.join.multicast.interface, '127.0.0.1');
      assert.deepEqual(r.network.join.tcpIp, { enabled: true, members: ['127.0.0.1:16000'] });
    },
  },
  {
    name: '--member-name, --cluster-name and --log-level',
    flags: { memberName: 'M1', clusterName: 'prod-eu', logLevel: 'debug' },
    expect: (r) => {
      assert.equal(r.memberName, 'M1');
      assert.equal(r.clusterName, 'prod-eu');
      assert.equal(r.logging.level, 'debug');
    },
  },
  {
    name: 'flags over an empty base (no config file): defaults plus the flags',
    base: {},
    flags: { port: '16005', logLevel: 'silent' },
    expect: (r) => assert.deepEqual(r, resolveConfig({ network: { port: 16005 }, logging: { level: 'silent' } })),
  },
];

interface InvalidCase {
  readonly name: string;
  readonly base?: Config;
  readonly flags: StartFlags;
  /** Every problem, as `field: detail`, in order. */
  readonly problems: readonly string[];
}

const invalid: InvalidCase[] = [
  { name: 'a port that is not a number', flags: { port: 'abc' }, problems: ['--port: expected an integer in 1..65535, got "abc"'] },
  { name: 'port 0', flags: { port: '0' }, problems: ['--port: expected an integer in 1..65535, got 0'] },
  { name: 'port 65536', flags: { port: '65536' }, problems: ['--port: expected an integer in 1..65535, got 65536'] },
  { name: 'a negative port', flags: { port: '-1' }, problems: ['--port: expected an integer in 1..65535, got "-1"'] },
  { name: 'a fractional port', flags: { port: '5701.5' }, problems: ['--port: expected an integer in 1..65535, got "5701.5"'] },
  { name: 'an empty port', flags: { port: '' }, problems: ['--port: expected an integer in 1..65535, got ""'] },
  {
    name: 'a port whose auto-increment range passes 65535 (a rule across flag and file)',
    base: { network: { portAutoIncrement: true, portCount: 100 } },
    flags: { port: '65500' },
    problems: ['--port: with auto-increment and network.portCount 100, the ports 65500..65599 pass 65535'],
  },
  {
    name: 'an empty --members',
    flags: { members: '' },
    problems: ['--members[0]: expected a member address "host", "host:port" or "[ipv6]:port" with port in 1..65535, got ""'],
  },
  {
    name: 'an empty entry in --members',
    flags: { members: '127.0.0.1:16000,,127.0.0.1:16001' },
    problems: ['--members[1]: expected a member address "host", "host:port" or "[ipv6]:port" with port in 1..65535, got ""'],
  },
  {
    name: 'a member port out of range',
    flags: { members: '127.0.0.1:70000' },
    problems: ['--members[0]: expected a member address "host", "host:port" or "[ipv6]:port" with port in 1..65535, got "127.0.0.1:70000"'],
  },
  {
    name: 'an unknown log level',
    flags: { logLevel: 'verbose' },
    problems: ['--log-level: expected one of trace, debug, info, warn, error, fatal, silent, got "verbose"'],
  },
  {
    name: 'an empty cluster name',
    flags: { clusterName: '' },
    problems: ['--cluster-name: expected a cluster name of 1..128 characters without control characters, got ""'],
  },
  {
    name: 'a member name with a control character',
    flags: { memberName: 'a\u0007b' },
    problems: ['--member-name: expected a member name of 1..128 characters without control characters, got "a\\u0007b"'],
  },
  {
    name: 'several bad flags: every problem is reported',
    flags: { port: 'x', logLevel: 'loud' },
    problems: ['--port: expected an integer in 1..65535, got "x"', '--log-level: expected one of trace, debug, info, warn, error, fatal, silent, got "loud"'],
  },
];

function problemsOf(error: unknown): string[] {
  assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
  return error.problems.map((p) => `${p.field ?? ''}: ${p.detail}`);
}

describe('shoal start options → config', () => {
  describe('valid', () => {
    for (const c of valid) {
      it(c.name, () => c.expect(resolveStartConfig(c.base ?? BASE, c.flags)));
    }
  });

  describe('invalid: a ConfigError naming the flag', () => {
    for (const c of invalid) {
      it(c.name, () => {
        assert.throws(
          () => resolveStartConfig(c.base ?? BASE, c.flags),
          (error: unknown) => {
            assert.deepEqual(problemsOf(error), c.problems);
            // The message lists the same problems, one per line.
            assert.equal((error as Error).message, c.problems.join('\n'));
            return true;
          },
        );
      });
    }
  });

  it('applyStartFlags leaves its input alone', () => {
    const base = structuredClone(BASE);
    applyStartFlags(base, { port: '1', members: 'a:1', clusterName: 'x', memberName: 'y', logLevel: 'warn' });
    assert.deepEqual(base, BASE);
  });

  it('every flag has a command-line name', () => {
    assert.deepEqual(Object.values(FLAG_NAMES).sort(), ['--cluster-name', '--log-level', '--member-name', '--members', '--port']);
  });

  it('splitMembers trims entries and keeps empty ones for the schema to report', () => {
    assert.deepEqual(splitMembers(' a:1 ,b:2'), ['a:1', 'b:2']);
    assert.deepEqual(splitMembers('a:1,'), ['a:1', '']);
  });
});

describe('loadStartConfig', () => {
  const xml = join(CLI_FIXTURES, 'shoal.xml');

  it('reads the file, applies the flags and creates the services relative to the file, whatever the working directory', async () => {
    const start = await loadStartConfig({ config: xml, port: '16170', memberName: 'unit' }, '/');
    assert.equal(start.file, xml);
    assert.equal(start.resolved.network.port, 16170);
    assert.equal(start.resolved.memberName, 'unit');
    assert.equal(start.resolved.clusterName, 'cli-test');
    const services = start.config.services ?? [];
    assert.deepEqual(
      services.map((s) => [s.name, s.implementation?.constructor.name, s.className]),
      [
        ['CounterService', 'CounterService', undefined],
        ['ProbeService', 'ProbeService', undefined],
      ],
    );
    assert.deepEqual(services[0].properties, { 'backup-count': '1' });
    // What goes to Shoal.newInstance validates to the same settings.
    const { services: _resolvedServices, ...settings } = resolveConfig(start.config);
    const { services: _expectedServices, ...expected } = start.resolved;
    assert.deepEqual(settings, expected);
  });

  it('shoal.xml and its YAML twin give the same settings', async () => {
    const fromXml = await loadConfig(xml);
    const fromYaml = await loadConfig(join(CLI_FIXTURES, 'shoal.yaml'));
    delete fromXml.source;
    delete fromYaml.source;
    assert.deepEqual(fromYaml, fromXml);
  });

  it('without --config and without a config file in the working directory: defaults plus flags', async () => {
    const start = await loadStartConfig({ port: '16171' }, join(REPO_ROOT, 'test', 'integration'));
    assert.equal(start.file, undefined);
    assert.deepEqual(start.resolved, resolveConfig({ network: { port: 16171 } }));
  });

  it('without --config in a directory holding both shoal.xml and shoal.yaml: an error asking to keep one', async () => {
    await assert.rejects(loadStartConfig({}, CLI_FIXTURES), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /found .*shoal\.xml and .*shoal\.yaml; keep only one config file/);
      return true;
    });
  });

  it('a config file that does not exist: a ConfigError naming it', async () => {
    await assert.rejects(loadStartConfig({ config: 'no-such-file.xml' }, CLI_FIXTURES), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.message, 'no-such-file.xml: cannot read config file: no such file');
      return true;
    });
  });

  it('an invalid file: a ConfigError with file, line and field', async () => {
    const file = join(CLI_FIXTURES, 'invalid-port.xml');
    await assert.rejects(loadStartConfig({ config: file, port: '16172' }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.file, file);
      assert.equal(error.line, 6);
      assert.equal(error.field, 'network.port');
      return true;
    });
  });

  it('a service that cannot be loaded: a ConfigError naming the file, the line and class-name', async () => {
    const file = join(CLI_FIXTURES, 'invalid-service.xml');
    await assert.rejects(loadStartConfig({ config: file }, dirname(file)), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.file, file);
      assert.equal(error.line, 8);
      assert.equal(error.field, 'class-name');
      assert.match(error.message, /service "CounterService": cannot load "\.\/no-such-module\.js"/);
      return true;
    });
  });
});
