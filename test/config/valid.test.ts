import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Config } from '../../src/config/index.js';
import { resolveAny, xml, yaml, type Format } from './helpers.js';

type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

/** Every key of `expected` has the same value in `actual` (arrays compared whole). */
function assertSubset(actual: unknown, expected: unknown, path = 'config'): void {
  if (typeof expected === 'object' && expected !== null && !Array.isArray(expected)) {
    assert.equal(typeof actual, 'object', `${path} should be an object`);
    for (const [key, value] of Object.entries(expected)) assertSubset((actual as Record<string, unknown>)[key], value, `${path}.${key}`);
    return;
  }
  assert.deepEqual(actual, expected, path);
}

interface ValidCase {
  name: string;
  format: Format;
  input: string | Config;
  expect: DeepPartial<import('../../src/config/index.js').ResolvedConfig>;
}

const cases: ValidCase[] = [
  { name: 'empty <shoal/> gives defaults', format: 'xml', input: '<shoal/>', expect: { clusterName: 'dev', partitionCount: 271, services: [] } },
  { name: 'empty shoal: gives defaults', format: 'yaml', input: 'shoal:\n', expect: { clusterName: 'dev', network: { port: 5701 } } },
  { name: 'empty object gives defaults', format: 'code', input: {}, expect: { logging: { level: 'info' } } },
  { name: 'xml cluster and member name', format: 'xml', input: xml('<cluster-name>prod</cluster-name><member-name>m-1</member-name>'), expect: { clusterName: 'prod', memberName: 'm-1' } },
  { name: 'xml values are trimmed', format: 'xml', input: xml('<partition-count>\n  1024\n</partition-count>'), expect: { partitionCount: 1024 } },
  { name: 'xml partition count at the upper bound', format: 'xml', input: xml('<partition-count>65535</partition-count>'), expect: { partitionCount: 65535 } },
  { name: 'xml port with attributes', format: 'xml', input: xml('<network><port auto-increment="false" port-count="3">5801</port></network>'), expect: { network: { port: 5801, portAutoIncrement: false, portCount: 3 } } },
  { name: 'xml port alone keeps option defaults', format: 'xml', input: xml('<network><port>5801</port></network>'), expect: { network: { port: 5801, portAutoIncrement: true, portCount: 100 } } },
  { name: 'yaml port as a plain number', format: 'yaml', input: yaml('network:\n  port: 5801'), expect: { network: { port: 5801, portAutoIncrement: true } } },
  { name: 'yaml port as a mapping', format: 'yaml', input: yaml('network:\n  port: { value: 5801, auto-increment: false, port-count: 2 }'), expect: { network: { port: 5801, portAutoIncrement: false, portCount: 2 } } },
  { name: 'yaml port mapping without value keeps the default port', format: 'yaml', input: yaml('network:\n  port: { auto-increment: false }'), expect: { network: { port: 5701, portAutoIncrement: false } } },
  {
    name: 'xml seed-style multicast join turns tcp-ip off',
    format: 'xml',
    input: xml('<network><join><multicast enabled="true"/></join></network>'),
    expect: { network: { join: { multicast: { enabled: true, group: '224.2.2.3', port: 54327, interface: '127.0.0.1', ttl: 0 }, tcpIp: { enabled: false, members: [] } } } },
  },
  { name: 'default join is tcp-ip scanning the own host', format: 'code', input: {}, expect: { network: { join: { tcpIp: { enabled: true, members: [] }, multicast: { enabled: false } } } } },
  {
    name: 'xml tcp-ip members in order',
    format: 'xml',
    input: xml('<network><join><tcp-ip enabled="true"><member>127.0.0.1:5701</member><member>localhost</member><member>[::1]:5702</member></tcp-ip></join></network>'),
    expect: { network: { join: { tcpIp: { enabled: true, members: ['127.0.0.1:5701', 'localhost', '[::1]:5702'] } } } },
  },
  { name: 'yaml tcp-ip members', format: 'yaml', input: yaml('network:\n  join:\n    tcp-ip:\n      members: [127.0.0.1:5701, 127.0.0.2]'), expect: { network: { join: { tcpIp: { enabled: true, members: ['127.0.0.1:5701', '127.0.0.2'] } } } } },
  { name: 'both joins off is allowed (a lone member)', format: 'code', input: { network: { join: { tcpIp: { enabled: false } } } }, expect: { network: { join: { tcpIp: { enabled: false }, multicast: { enabled: false } } } } },
  { name: 'xml booleans as elements', format: 'xml', input: xml('<invocation><fail-on-indeterminate-backup>false</fail-on-indeterminate-backup></invocation>'), expect: { invocation: { failOnIndeterminateBackup: false, callTimeoutMs: 60000 } } },
  { name: 'busy poll on (yaml)', format: 'yaml', input: yaml('invocation:\n  busy-poll-us: 500'), expect: { invocation: { busyPollUs: 500, retryPauseMs: 50 } } },
  { name: 'busy poll 0 is off', format: 'code', input: { invocation: { busyPollUs: 0 } }, expect: { invocation: { busyPollUs: 0 } } },
  { name: 'xml failure detector', format: 'xml', input: xml('<failure-detector><heartbeat-interval-ms>100</heartbeat-interval-ms><max-no-heartbeat-ms>101</max-no-heartbeat-ms></failure-detector>'), expect: { failureDetector: { heartbeatIntervalMs: 100, maxNoHeartbeatMs: 101 } } },
  { name: 'graceful shutdown timeout may be 0', format: 'yaml', input: yaml('migration:\n  graceful-shutdown-timeout-ms: 0'), expect: { migration: { gracefulShutdownTimeoutMs: 0 } } },
  { name: 'logging level silent', format: 'yaml', input: yaml('logging:\n  level: silent'), expect: { logging: { level: 'silent' } } },
  {
    name: 'xml service with properties, CDATA and entities',
    format: 'xml',
    input: xml('<services><service><name>Svc</name><class-name>./s.js#Svc</class-name><properties><a>1</a><b/><c><![CDATA[<raw> & ]]></c><d>&#65;&#x42;&quot;</d></properties></service></services>'),
    expect: { services: [{ name: 'Svc', enabled: true, className: './s.js#Svc', properties: { a: '1', b: '', c: '<raw> &', d: 'AB"' } }] },
  },
  {
    name: 'yaml service properties keep numbers as written',
    format: 'yaml',
    input: yaml('services:\n  - name: Svc\n    class-name: ./s.js\n    properties: { n: 1.50, flag: true, s: text }'),
    expect: { services: [{ name: 'Svc', enabled: true, className: './s.js', properties: { n: '1.50', flag: 'true', s: 'text' } }] },
  },
  { name: 'yaml text setting accepts a plain number', format: 'yaml', input: yaml('cluster-name: 2024'), expect: { clusterName: '2024' } },
  { name: 'yaml anchors and aliases', format: 'yaml', input: yaml('network:\n  join:\n    tcp-ip:\n      members: [&m 127.0.0.1:5701, *m]'), expect: { network: { join: { tcpIp: { members: ['127.0.0.1:5701', '127.0.0.1:5701'] } } } } },
  { name: 'xml disabled service', format: 'xml', input: xml('<services><service enabled="false"><name>Off</name><class-name>./off.js</class-name></service></services>'), expect: { services: [{ name: 'Off', enabled: false, className: './off.js', properties: {} }] } },
  { name: 'xml empty services', format: 'xml', input: xml('<services/>'), expect: { services: [] } },
  { name: 'xml namespace attributes on the root are accepted', format: 'xml', input: '<shoal xmlns="urn:shoal" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="urn:shoal shoal.xsd"/>', expect: { clusterName: 'dev' } },
  { name: 'xml with declaration, comments and CRLF', format: 'xml', input: '<?xml version="1.0"?>\r\n<!-- c -->\r\n<shoal>\r\n<!-- inner -->\r\n<cluster-name>x</cluster-name>\r\n</shoal>\r\n', expect: { clusterName: 'x' } },
  { name: 'xml byte order mark', format: 'xml', input: '\uFEFF<shoal><cluster-name>bom</cluster-name></shoal>', expect: { clusterName: 'bom' } },
  { name: 'ipv6 host and multicast group', format: 'code', input: { network: { host: '::1', join: { multicast: { group: 'ff02::1', interface: '::1' }, tcpIp: { enabled: false } } } }, expect: { network: { host: '::1', join: { multicast: { group: 'ff02::1', interface: '::1' } } } } },
  { name: 'host name', format: 'code', input: { network: { host: 'localhost' } }, expect: { network: { host: 'localhost' } } },
  { name: 'programmatic implementation', format: 'code', input: { services: [{ name: 'Impl', implementation: { hello: 1 } }] }, expect: { services: [{ name: 'Impl', enabled: true, implementation: { hello: 1 }, properties: {} }] } },
];

void describe('valid configs', () => {
  for (const c of cases) {
    void it(`${c.format}: ${c.name}`, () => {
      assertSubset(resolveAny(c.format, c.input), c.expect);
    });
  }

  void it('keeps the programmatic implementation instance as-is', () => {
    const instance = { calls: 0 };
    const resolved = resolveAny('code', { services: [{ name: 'Impl', implementation: instance }] });
    assert.equal(resolved.services[0].implementation, instance);
  });

  void it('does not modify the input config', () => {
    const input: Config = { network: { join: { tcpIp: { members: ['127.0.0.1'] } } } };
    const copy = structuredClone(input);
    const resolved = resolveAny('code', input);
    assert.deepEqual(input, copy);
    assert.notEqual(resolved.network.join.tcpIp.members, input.network!.join!.tcpIp!.members);
  });
});
