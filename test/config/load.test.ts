import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CONFIG_DEFAULTS,
  ConfigError,
  loadConfig,
  parseXmlConfig,
  parseYamlConfig,
  resolveConfig,
  type ResolvedConfig,
} from '../../src/config/index.js';
import { FIXTURES, assertConfigError } from './helpers.js';

const withoutSource = ({ source: _source, ...rest }: ResolvedConfig): Omit<ResolvedConfig, 'source'> => rest;

/** The exact defaults, written out by hand: a change to any default must change this test. */
const DEFAULTS: ResolvedConfig = {
  clusterName: 'dev',
  liteMember: false,
  partitionCount: 271,
  namedPartitionsMax: 64,
  nodeActiveTimeoutSeconds: 60,
  network: {
    host: '127.0.0.1',
    port: 5701,
    portAutoIncrement: true,
    portCount: 100,
    frameBytesMax: 16 * 1024 * 1024,
    peerQueueBytesMax: 64 * 1024 * 1024,
    join: {
      tcpIp: { enabled: true, members: [] },
      multicast: { enabled: false, group: '224.2.2.3', port: 54327, interface: '127.0.0.1', ttl: 0 },
      joinTimeoutMs: 3000,
      mergeIntervalMs: 5000,
    },
  },
  invocation: { callTimeoutMs: 60000, retryPauseMs: 50, busyPollUs: 0, backupAckTimeoutMs: 5000, failOnIndeterminateBackup: true },
  failureDetector: { heartbeatIntervalMs: 1000, maxNoHeartbeatMs: 6000 },
  migration: { concurrentMax: 4, chunkBytesMax: 1024 * 1024, gracefulShutdownTimeoutMs: 30000 },
  backup: { antiEntropyIntervalMs: 5000 },
  logging: { level: 'info' },
  services: [],
};

void describe('defaults', () => {
  void it('resolveConfig({}) is exactly the documented defaults, with no member name and no source', () => {
    const resolved = resolveConfig({});
    assert.deepEqual(resolved, DEFAULTS);
    assert.equal('memberName' in resolved, false);
    assert.equal('source' in resolved, false);
  });

  void it('empty XML and YAML files resolve to the same defaults', () => {
    assert.deepEqual(resolveConfig(parseXmlConfig('<shoal/>', 'a.xml')), DEFAULTS);
    assert.deepEqual(resolveConfig(parseYamlConfig('shoal:\n', 'a.yaml')), DEFAULTS);
  });

  void it('binds and multicasts on loopback only', () => {
    assert.equal(CONFIG_DEFAULTS.host, '127.0.0.1');
    assert.equal(CONFIG_DEFAULTS.multicastInterface, '127.0.0.1');
    assert.equal(CONFIG_DEFAULTS.multicastTtl, 0);
  });

  void it('each resolve returns fresh lists', () => {
    const a = resolveConfig({});
    a.services.push({ name: 'x', enabled: true, properties: {} });
    a.network.join.tcpIp.members.push('127.0.0.1');
    assert.deepEqual(resolveConfig({}), DEFAULTS);
  });
});

void describe('XML and YAML forms of the same config', () => {
  void it('resolve to deep-equal configs', async () => {
    const fromXml = await loadConfig(join(FIXTURES, 'full.xml'));
    const fromYaml = await loadConfig(join(FIXTURES, 'full.yaml'));
    assert.deepEqual(withoutSource(fromXml), withoutSource(fromYaml));
    // and every value in the fixture differs from its default, so nothing was silently dropped
    const flat = (o: unknown, prefix = ''): [string, unknown][] =>
      typeof o === 'object' && o !== null && !Array.isArray(o)
        ? Object.entries(o).flatMap(([k, v]) => flat(v, `${prefix}${k}.`))
        : [[prefix, o]];
    const defaults = new Map(flat(DEFAULTS));
    for (const [key, value] of flat(withoutSource(fromXml))) {
      // host and multicast interface stay on loopback even in fixtures (network safety)
      if (['memberName.', 'services.', 'network.host.', 'network.join.multicast.interface.'].includes(key)) continue;
      assert.notDeepEqual(value, defaults.get(key), `${key} is at its default in the fixture`);
    }
    assert.equal(fromXml.services.length, 2);
    assert.deepEqual(fromXml.services[0].properties, { someproperty: '10', greeting: 'a <b> & c' });
  });

  void it('match the programmatic form', async () => {
    const fromXml = await loadConfig(join(FIXTURES, 'full.xml'));
    const programmatic = resolveConfig(parseYamlConfig(await readFile(join(FIXTURES, 'full.yaml'), 'utf8'), 'full.yaml'));
    assert.deepEqual(withoutSource(fromXml), programmatic);
    assert.deepEqual(resolveConfig(structuredClone(parseXmlConfig(await readFile(join(FIXTURES, 'full.xml'), 'utf8'), 'x'))), programmatic);
  });
});

void describe('loadConfig', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-config-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const inDir = async (name: string, files: Record<string, string>): Promise<string> => {
    const d = join(dir, name);
    await rm(d, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(d, { recursive: true }));
    for (const [file, text] of Object.entries(files)) await writeFile(join(d, file), text);
    return d;
  };

  void it('sets source to the absolute file and its directory', async () => {
    const resolved = await loadConfig('full.yaml', FIXTURES);
    assert.deepEqual(resolved.source, { file: join(FIXTURES, 'full.yaml'), dir: FIXTURES });
  });

  void it('accepts a programmatic config', async () => {
    const resolved = await loadConfig({ clusterName: 'code' });
    assert.equal(resolved.clusterName, 'code');
    assert.equal(resolved.source, undefined);
  });

  void it('with no argument and no file in cwd gives defaults', async () => {
    const d = await inDir('empty', {});
    assert.deepEqual(await loadConfig(undefined, d), DEFAULTS);
  });

  void it('with no argument finds shoal.xml', async () => {
    const d = await inDir('xml', { 'shoal.xml': '<shoal><cluster-name>found-xml</cluster-name></shoal>' });
    const resolved = await loadConfig(undefined, d);
    assert.equal(resolved.clusterName, 'found-xml');
    assert.deepEqual(resolved.source, { file: join(d, 'shoal.xml'), dir: d });
  });

  void it('with no argument finds shoal.yml', async () => {
    const d = await inDir('yml', { 'shoal.yml': 'shoal:\n  cluster-name: found-yml\n' });
    assert.equal((await loadConfig(undefined, d)).clusterName, 'found-yml');
  });

  void it('refuses to choose between shoal.xml and shoal.yaml', async () => {
    const d = await inDir('both', { 'shoal.xml': '<shoal/>', 'shoal.yaml': 'shoal:\n' });
    await assert.rejects(loadConfig(undefined, d), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /shoal\.xml and .*shoal\.yaml; keep only one config file/);
      return true;
    });
  });

  void it('reports errors with the path as given and the line', async () => {
    const d = await inDir('bad', { 'my.yaml': 'shoal:\n  network:\n    port: 0\n' });
    await assert.rejects(loadConfig('my.yaml', d), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.message, 'my.yaml:3: network.port: expected an integer in 1..65535, got 0');
      return true;
    });
  });

  void it('reports a missing file', async () => {
    await assert.rejects(loadConfig('nope.xml', dir), /^ConfigError: nope\.xml: cannot read config file: no such file$/);
  });

  void it('reports a directory', async () => {
    await inDir('adir.xml', {});
    await assert.rejects(loadConfig('adir.xml', dir), /adir\.xml: not a regular file/);
  });

  void it('reports an unsupported extension', async () => {
    await assert.rejects(loadConfig('shoal.json', dir), /shoal\.json: unsupported config file type "\.json"/);
  });

  void it('reports a file that is not UTF-8', async () => {
    const d = await inDir('latin1', {});
    await writeFile(join(d, 'shoal.xml'), Buffer.from([0x3c, 0x73, 0x68, 0x6f, 0x61, 0x6c, 0x3e, 0xe9, 0x3c, 0x2f, 0x73, 0x68, 0x6f, 0x61, 0x6c, 0x3e]));
    await assert.rejects(loadConfig('shoal.xml', d), /shoal\.xml: config file is not valid UTF-8/);
  });

  void it('refuses a file over the size limit before reading it', async () => {
    const d = await inDir('big', { 'shoal.yaml': `shoal:\n${'# padding\n'.repeat(120_000)}` });
    await assert.rejects(loadConfig('shoal.yaml', d), /shoal\.yaml: config file is \d+ bytes; the limit is 1048576/);
  });

  void it('rejects other inputs', async () => {
    await assert.rejects(loadConfig(42 as unknown as string), /expects a config object or a file path, got 42/);
  });

  void it('parse errors from parseXmlConfig carry file and line into resolveConfig', () => {
    assertConfigError(() => parseXmlConfig('<shoal>\n<network>\n<port>x</port>\n</network>\n</shoal>', 'inline.xml'), {
      file: 'inline.xml',
      line: 3,
      field: 'network.port',
      message: /got "x"/,
    });
  });
});
