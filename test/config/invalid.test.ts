import { describe, it } from 'node:test';
import type { Config } from '../../src/config/index.js';
import { assertConfigError, resolveAny, xml, yaml, type ExpectedError, type Format } from './helpers.js';

interface InvalidCase extends ExpectedError {
  name: string;
  format: Format;
  input: string | Config;
}

const X = 'shoal.xml';
const Y = 'shoal.yaml';

const cases: InvalidCase[] = [
  // --- types and ranges, XML ---
  { name: 'port is not a number', format: 'xml', input: xml('<network>\n<port>abc</port>\n</network>'), file: X, line: 3, field: 'network.port', message: /expected an integer in 1\.\.65535, got "abc"$/ },
  { name: 'port is 0', format: 'xml', input: xml('<network><port>0</port></network>'), file: X, line: 2, field: 'network.port', message: /got 0$/ },
  { name: 'port above 65535', format: 'xml', input: xml('<network><port>65536</port></network>'), file: X, line: 2, field: 'network.port', message: /in 1\.\.65535, got 65536/ },
  { name: 'port with a fraction', format: 'xml', input: xml('<network><port>5701.5</port></network>'), file: X, line: 2, field: 'network.port', message: /got "5701\.5"/ },
  { name: 'port beyond safe integers keeps its text', format: 'xml', input: xml('<network><port>99999999999999999999</port></network>'), file: X, line: 2, field: 'network.port', message: /got "99999999999999999999"/ },
  { name: 'empty port element', format: 'xml', input: xml('<network><port/></network>'), file: X, line: 2, field: 'network.port', message: /got ""/ },
  { name: 'port-count attribute not a number', format: 'xml', input: xml('<network>\n<port\n  port-count="many">5701</port></network>'), file: X, line: 4, field: 'network.port.port-count', message: /expected an integer in 1\.\.65535, got "many"/ },
  { name: 'auto-increment not a boolean', format: 'xml', input: xml('<network><port auto-increment="yes">5701</port></network>'), file: X, line: 2, field: 'network.port.auto-increment', message: /expected true or false, got "yes"/ },
  { name: 'partition count above 65535', format: 'xml', input: xml('<partition-count>65536</partition-count>'), file: X, line: 2, field: 'partition-count', message: /1\.\.65535, got 65536/ },
  { name: 'partition count 0', format: 'xml', input: xml('<partition-count>0</partition-count>'), file: X, line: 2, field: 'partition-count', message: /got 0/ },
  { name: 'negative call timeout', format: 'xml', input: xml('<invocation>\n\n<call-timeout-ms>-1</call-timeout-ms></invocation>'), file: X, line: 4, field: 'invocation.call-timeout-ms', message: /milliseconds\), got -1/ },
  { name: 'busy poll above 10 ms', format: 'xml', input: xml('<invocation>\n<busy-poll-us>10001</busy-poll-us></invocation>'), file: X, line: 3, field: 'invocation.busy-poll-us', message: /0\.\.10000 \(microseconds\), got 10001/ },
  { name: 'busy poll not an integer', format: 'yaml', input: yaml('invocation:\n  busy-poll-us: 2.5'), file: Y, line: 3, field: 'invocation.busy-poll-us', message: /got 2\.5/ },
  { name: 'negative join timeout', format: 'xml', input: xml('<network><join><join-timeout-ms>-5</join-timeout-ms></join></network>'), file: X, line: 2, field: 'network.join.join-timeout-ms', message: /got -5/ },
  { name: 'multicast ttl above 255', format: 'xml', input: xml('<network><join><multicast enabled="true" ttl="256"/></join></network>'), file: X, line: 2, field: 'network.join.multicast.ttl', message: /0\.\.255, got 256/ },
  { name: 'multicast group not multicast', format: 'xml', input: xml('<network><join><multicast enabled="true" group="127.0.0.9"/></join></network>'), file: X, line: 2, field: 'network.join.multicast.group', message: /multicast group address.*got "127\.0\.0\.9"/ },
  { name: 'multicast interface not an address', format: 'xml', input: xml('<network><join><multicast interface="eth0"/></join></network>'), file: X, line: 2, field: 'network.join.multicast.interface', message: /IP address.*got "eth0"/ },
  { name: 'tcp-ip member with bad port', format: 'xml', input: xml('<network><join><tcp-ip>\n<member>127.0.0.1:5701</member>\n<member>127.0.0.1:99999</member>\n</tcp-ip></join></network>'), file: X, line: 4, field: 'network.join.tcp-ip.member[1]', message: /member address.*got "127\.0\.0\.1:99999"/ },
  { name: 'host with a space', format: 'xml', input: xml('<network><host>my host</host></network>'), file: X, line: 2, field: 'network.host', message: /host name or IP address, got "my host"/ },
  { name: 'frame too small', format: 'xml', input: xml('<network><frame-bytes-max>100</frame-bytes-max></network>'), file: X, line: 2, field: 'network.frame-bytes-max', message: /\(bytes\), got 100/ },
  { name: 'unknown logging level', format: 'xml', input: xml('<logging><level>loud</level></logging>'), file: X, line: 2, field: 'logging.level', message: /one of trace, debug, info, warn, error, fatal, silent, got "loud"/ },
  { name: 'boolean element not a boolean', format: 'xml', input: xml('<invocation><fail-on-indeterminate-backup>TRUE</fail-on-indeterminate-backup></invocation>'), file: X, line: 2, field: 'invocation.fail-on-indeterminate-backup', message: /expected true or false, got "TRUE"/ },
  { name: 'empty cluster name', format: 'xml', input: xml('<cluster-name></cluster-name>'), file: X, line: 2, field: 'cluster-name', message: /cluster name.*got ""/ },

  // --- cross-field rules ---
  { name: 'max-no-heartbeat equal to interval', format: 'xml', input: xml('<failure-detector>\n<heartbeat-interval-ms>1000</heartbeat-interval-ms>\n<max-no-heartbeat-ms>1000</max-no-heartbeat-ms>\n</failure-detector>'), file: X, line: 4, field: 'failure-detector.max-no-heartbeat-ms', message: /greater than failure-detector\.heartbeat-interval-ms \(line 3\), which is 1000; got 1000/ },
  { name: 'max-no-heartbeat below the default interval', format: 'yaml', input: yaml('failure-detector:\n  max-no-heartbeat-ms: 500'), file: Y, line: 3, field: 'failure-detector.max-no-heartbeat-ms', message: /greater than failure-detector\.heartbeat-interval-ms \(not set, so its default\), which is 1000; got 500/ },
  { name: 'both joins enabled', format: 'xml', input: xml('<network><join>\n<multicast enabled="true"/>\n<tcp-ip enabled="true"/>\n</join></network>'), file: X, line: 3, field: 'network.join.multicast.enabled', message: /together with network\.join\.tcp-ip\.enabled \(line 4\)/ },
  { name: 'port range passes 65535', format: 'xml', input: xml('<network><port port-count="100">65500</port></network>'), file: X, line: 2, field: 'network.port', message: /ports 65500\.\.65599 pass 65535/ },
  { name: 'peer queue smaller than a frame', format: 'yaml', input: yaml('network:\n  peer-queue-bytes-max: 8192'), file: Y, line: 3, field: 'network.peer-queue-bytes-max', message: /at least network\.frame-bytes-max \(not set, so its default\), which is 16777216/ },
  { name: 'migration chunk not smaller than a frame', format: 'yaml', input: yaml('network:\n  frame-bytes-max: 65536\nmigration:\n  chunk-bytes-max: 65536'), file: Y, line: 5, field: 'migration.chunk-bytes-max', message: /smaller than network\.frame-bytes-max \(line 3\)/ },
  { name: 'cross-field rules wait until values are in range', format: 'yaml', input: yaml('network:\n  port: { value: 70000, port-count: 100 }'), file: Y, line: 3, field: 'network.port', message: /^shoal\.yaml:3: network\.port: expected an integer in 1\.\.65535, got 70000$/ },

  // --- services ---
  { name: 'duplicate service names', format: 'xml', input: xml('<services>\n<service><name>A</name><class-name>./a.js</class-name></service>\n<service><name>A</name><class-name>./b.js</class-name></service>\n</services>'), file: X, line: 4, field: 'services.service[1].name', message: /duplicate service name "A"; it is already used by services\.service\[0\]\.name \(line 3\)/ },
  { name: 'duplicate service names (yaml)', format: 'yaml', input: yaml('services:\n  - name: A\n    class-name: ./a.js\n  - name: A\n    class-name: ./b.js'), file: Y, line: 5, field: 'services[1].name', message: /duplicate service name "A"/ },
  { name: 'service without class name', format: 'xml', input: xml('<services>\n<service><name>A</name></service>\n</services>'), file: X, line: 3, field: 'services.service[0].class-name', message: /neither a class name nor an implementation/ },
  { name: 'service without name', format: 'yaml', input: yaml('services:\n  - class-name: ./a.js'), file: Y, line: 3, field: 'services[0].name', message: /missing; expected a service name/ },
  { name: 'service name with a space', format: 'xml', input: xml('<services><service><name>my service</name><class-name>./a.js</class-name></service></services>'), file: X, line: 2, field: 'services.service[0].name', message: /got "my service"/ },
  { name: 'class name with two #', format: 'xml', input: xml('<services><service><name>A</name><class-name>./a.js#B#C</class-name></service></services>'), file: X, line: 2, field: 'services.service[0].class-name', message: /"<module>#<ExportName>".*got "\.\/a\.js#B#C"/ },
  { name: 'service enabled not a boolean', format: 'xml', input: xml('<services><service enabled="on"><name>A</name><class-name>./a.js</class-name></service></services>'), file: X, line: 2, field: 'services.service[0].enabled', message: /got "on"/ },
  { name: 'property value is a list', format: 'yaml', input: yaml('services:\n  - name: A\n    class-name: ./a.js\n    properties:\n      x: [1]'), file: Y, line: 6, field: 'services[0].properties.x', message: /expected a value/ },
  { name: 'duplicate property', format: 'xml', input: xml('<services><service><name>A</name><class-name>./a.js</class-name><properties>\n<p>1</p>\n<p>2</p>\n</properties></service></services>'), file: X, line: 4, field: 'services.service[0].properties.p', message: /<p> appears twice \(first on line 3\)/ },

  // --- unknown or misplaced XML ---
  { name: 'unknown element', format: 'xml', input: xml('<network>\n<prot>5701</prot>\n</network>'), file: X, line: 3, field: 'network.prot', message: /unknown element <prot> in <network>; expected one of: host, port/ },
  { name: 'unknown top-level element with hint', format: 'xml', input: xml('<clusterName>x</clusterName>'), file: X, line: 2, field: 'clusterName', message: /did you mean "cluster-name"\?/ },
  { name: 'unknown attribute', format: 'xml', input: xml('<network><join>\n<multicast enabled="true"\n   loopback="true"/></join></network>'), file: X, line: 4, field: 'network.join.multicast.loopback', message: /unknown attribute "loopback" on <multicast>/ },
  { name: 'attribute on a value element', format: 'xml', input: xml('<cluster-name lang="en">x</cluster-name>'), file: X, line: 2, field: 'cluster-name.lang', message: /unknown attribute "lang" on <cluster-name>; <cluster-name> takes no attributes/ },
  { name: 'setting written as attribute instead of element', format: 'xml', input: '<shoal cluster-name="x"/>', file: X, line: 1, field: 'cluster-name', message: /write it as a child element <cluster-name>/ },
  { name: 'attribute written as element', format: 'xml', input: xml('<network><join><multicast>\n<enabled>true</enabled>\n</multicast></join></network>'), file: X, line: 3, field: 'network.join.multicast.enabled', message: /write it as an attribute: <multicast enabled="…">/ },
  { name: 'element repeated', format: 'xml', input: xml('<network>\n<port>1</port>\n<port>2</port>\n</network>'), file: X, line: 4, field: 'network.port', message: /<port> appears twice in <network> \(first on line 3\)/ },
  { name: 'text inside a section', format: 'xml', input: xml('<network>oops<host>127.0.0.1</host></network>'), file: X, line: 2, field: 'network', message: /unexpected text "oops" in <network>/ },
  { name: 'element inside a value', format: 'xml', input: xml('<cluster-name>\n<x/>\n</cluster-name>'), file: X, line: 3, field: 'cluster-name', message: /unexpected element <x> inside <cluster-name>/ },
  { name: 'wrong item in services', format: 'xml', input: xml('<services>\n<svc/>\n</services>'), file: X, line: 3, field: 'services', message: /unknown element <svc> in <services>; expected <service>/ },
  { name: 'wrong root element', format: 'xml', input: '<hazelcast/>', file: X, line: 1, field: undefined, message: /root element must be <shoal>, found <hazelcast>/ },
  { name: 'two root elements', format: 'xml', input: '<shoal/>\n<shoal/>', file: X, line: 2, field: undefined, message: /only one root element/ },
  { name: 'doctype refused', format: 'xml', input: '<?xml version="1.0"?>\n<!DOCTYPE shoal [<!ENTITY x "y">]>\n<shoal/>', file: X, line: 2, field: undefined, message: /DOCTYPE declarations are not allowed/ },
  { name: 'unknown entity', format: 'xml', input: xml('<cluster-name>&x;</cluster-name>'), file: X, line: 2, field: undefined, message: /unknown entity &x;/ },
  { name: 'processing instruction', format: 'xml', input: xml('<?php echo 1 ?>'), file: X, line: 2, field: undefined, message: /processing instruction <\?php> is not supported/ },

  // --- malformed files keep line and column ---
  { name: 'malformed XML: mismatched tag', format: 'xml', input: '<shoal>\n  <network>\n  </netwrk>\n</shoal>', file: X, line: 3, field: undefined, message: /^shoal\.xml:3:\d+: malformed XML: .*netwrk/ },
  { name: 'malformed XML: attribute without value', format: 'xml', input: '<shoal>\n<network>\n<port auto-increment>5701</port></network></shoal>', file: X, line: 3, field: undefined, message: /^shoal\.xml:3:\d+: malformed XML/ },
  { name: 'malformed XML: empty file', format: 'xml', input: '', file: X, line: 1, field: undefined, message: /malformed XML/ },
  { name: 'malformed YAML', format: 'yaml', input: 'shoal:\n  network:\n    port: [1\n  x: 2\n', file: Y, line: 4, field: undefined, message: /^shoal\.yaml:4:\d+: malformed YAML/ },
  { name: 'YAML duplicate key', format: 'yaml', input: 'shoal:\n  cluster-name: a\n  cluster-name: b\n', file: Y, line: 3, field: undefined, message: /malformed YAML: Map keys must be unique/ },
  { name: 'YAML unresolved tag', format: 'yaml', input: 'shoal:\n  cluster-name: !secret a\n', file: Y, line: 2, field: undefined, message: /malformed YAML: Unresolved tag: !secret/ },
  { name: 'YAML two documents', format: 'yaml', input: 'shoal: {}\n---\nshoal: {}\n', file: Y, line: 2, field: undefined, message: /multiple documents/ },

  // --- YAML structure ---
  { name: 'YAML unknown key with hint', format: 'yaml', input: yaml('network:\n  join:\n    tcp_ip: {}'), file: Y, line: 4, field: 'network.join.tcp_ip', message: /unknown key "tcp_ip"; did you mean "tcp-ip"\?/ },
  { name: 'YAML camelCase key', format: 'yaml', input: yaml('partitionCount: 7'), file: Y, line: 2, field: 'partitionCount', message: /did you mean "partition-count"\?/ },
  { name: 'YAML unknown top-level key', format: 'yaml', input: 'hazelcast:\n  cluster-name: x\n', file: Y, line: 1, field: 'hazelcast', message: /config must sit under "shoal:"/ },
  { name: 'YAML empty document', format: 'yaml', input: '# nothing\n', file: Y, line: 1, field: undefined, message: /empty YAML document/ },
  { name: 'YAML quoted number', format: 'yaml', input: yaml('network:\n  port: "5701"'), file: Y, line: 3, field: 'network.port', message: /expected an integer in 1\.\.65535, got "5701"/ },
  { name: 'YAML yes is not a boolean', format: 'yaml', input: yaml('network:\n  join:\n    multicast:\n      enabled: yes'), file: Y, line: 5, field: 'network.join.multicast.enabled', message: /expected true or false, got "yes"/ },
  { name: 'YAML section given a value', format: 'yaml', input: yaml('network: 5701'), file: Y, line: 2, field: 'network', message: /expected a mapping of settings, got 5701/ },
  { name: 'YAML value given a mapping', format: 'yaml', input: yaml('cluster-name:\n  a: 1'), file: Y, line: 2, field: 'cluster-name', message: /expected a single value, got a mapping/ },
  { name: 'YAML unknown key in port mapping', format: 'yaml', input: yaml('network:\n  port:\n    value: 1\n    count: 3'), file: Y, line: 5, field: 'network.port.count', message: /unknown key "count"; expected one of: value, auto-increment, port-count/ },
  { name: 'YAML members not a list', format: 'yaml', input: yaml('network:\n  join:\n    tcp-ip:\n      members: 127.0.0.1'), file: Y, line: 5, field: 'network.join.tcp-ip.members', message: /expected a list, got "127\.0\.0\.1"/ },
  { name: 'YAML member not an address', format: 'yaml', input: yaml('network:\n  join:\n    tcp-ip:\n      members:\n        - 127.0.0.1\n        - "host:port"'), file: Y, line: 7, field: 'network.join.tcp-ip.members[1]', message: /got "host:port"/ },
  { name: 'YAML null for a value', format: 'yaml', input: yaml('member-name:'), file: Y, line: 2, field: 'member-name', message: /member name.*got null/ },

  // --- programmatic ---
  { name: 'code: unknown key', format: 'code', input: { network: { prot: 1 } } as Config, field: 'network.prot', message: /^network\.prot: unknown setting$/ },
  { name: 'code: string port', format: 'code', input: { network: { port: '5701' } } as unknown as Config, field: 'network.port', message: /got "5701"/ },
  { name: 'code: NaN timeout', format: 'code', input: { invocation: { callTimeoutMs: NaN } }, field: 'invocation.callTimeoutMs', message: /got NaN/ },
  { name: 'code: implementation and class name', format: 'code', input: { services: [{ name: 'A', className: './a.js', implementation: {} }] }, field: 'services[0].implementation', message: /both an implementation and a class name/ },
  { name: 'code: implementation not an object', format: 'code', input: { services: [{ name: 'A', implementation: 5 as unknown as object }] }, field: 'services[0].implementation', message: /service instance.*got 5/ },
  { name: 'code: property value not a string', format: 'code', input: { services: [{ name: 'A', className: './a.js', properties: { n: 1 as unknown as string } }] }, field: 'services[0].properties.n', message: /expected a string, got 1/ },
  { name: 'code: section is a list', format: 'code', input: { network: [] as unknown as Config['network'] }, field: 'network', message: /expected a section of settings \(an object\), got a list/ },
  { name: 'code: not an object at all', format: 'code', input: 'shoal.xml' as unknown as Config, field: undefined, message: /^expected a config object, got "shoal\.xml"$/ },
  { name: 'code: too many services', format: 'code', input: { services: Array.from({ length: 257 }, (_, i) => ({ name: `s${i}`, className: './s.js' })) }, field: 'services', message: /at most 256 services/ },
];

void describe('invalid configs', () => {
  for (const c of cases) {
    void it(`${c.format}: ${c.name}`, () => {
      assertConfigError(() => resolveAny(c.format, c.input), c);
    });
  }
});

void describe('several problems', () => {
  void it('lists all of them, first in file order, and keeps them in problems', () => {
    const err = assertConfigError(
      () => resolveAny('xml', xml('<partition-count>0</partition-count>\n<network><port>x</port></network>\n<logging><level>loud</level></logging>')),
      { file: X, line: 2, field: 'partition-count', message: /partition-count/ },
    );
    const lines = err.message.split('\n');
    if (lines.length !== 3) throw new Error(`expected 3 lines, got ${err.message}`);
    if (!lines[1].startsWith('shoal.xml:3: network.port: ') || !lines[2].startsWith('shoal.xml:4: logging.level: ')) throw new Error(err.message);
    if (err.problems.length !== 3) throw new Error('problems');
  });
});
