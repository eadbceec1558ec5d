/**
 * The layout of Shoal's config files: which XML element / attribute and which YAML key carries which
 * `Config` field. Both file readers walk this one table, and error messages use it to spell a field
 * the way the file spells it. Types and ranges are not checked here; the zod schema does that.
 *
 * XML and YAML share the kebab-case names below. The differences:
 *  - a scalar marked `attribute` is an XML attribute of its section's element (`<multicast enabled="true"/>`);
 *    in YAML it is an ordinary key;
 *  - a `valued` setting is an element whose text is the value and whose attributes are options
 *    (`<port auto-increment="true">5701</port>`); in YAML it is either the plain value or a mapping
 *    `{ value: 5701, auto-increment: true }`;
 *  - a list's XML items are repeated `xmlItem` elements, inside a wrapper element named like the key
 *    when `xmlWrapped` (`<services><service>…`), else directly in the section (`<tcp-ip><member>…`);
 *    in YAML a list is a sequence under the key.
 */

import { CONFIG_LIMITS } from './limits.js';

export type ScalarType = 'string' | 'integer' | 'boolean';

export interface ScalarLayout {
  kind: 'scalar';
  type: ScalarType;
  /** The `Config` field this value is written to (in the enclosing section's object). */
  field: string;
  /** XML only: written as an attribute of the section's element instead of a child element. */
  attribute?: boolean;
}

export interface SectionLayout {
  kind: 'section';
  field: string;
  children: Readonly<Record<string, Layout>>;
}

/** A value with options; all of them are written to fields of the enclosing section's object. */
export interface ValuedLayout {
  kind: 'valued';
  value: ScalarLayout;
  options: Readonly<Record<string, ScalarLayout>>;
}

export interface ListLayout {
  kind: 'list';
  field: string;
  xmlItem: string;
  xmlWrapped: boolean;
  item: ScalarLayout | SectionLayout;
  /** Readers stop at this many items (the schema reports it); keeps YAML aliases from multiplying work. */
  countMax: number;
}

/** Free-form string → string map (service properties); keys are kept exactly as written. */
export interface MapLayout {
  kind: 'map';
  field: string;
  countMax: number;
}

export type Layout = ScalarLayout | SectionLayout | ValuedLayout | ListLayout | MapLayout;

export type FileFormat = 'xml' | 'yaml';

const str = (field: string, attribute = false): ScalarLayout => ({ kind: 'scalar', type: 'string', field, attribute });
const int = (field: string, attribute = false): ScalarLayout => ({ kind: 'scalar', type: 'integer', field, attribute });
const bool = (field: string, attribute = false): ScalarLayout => ({ kind: 'scalar', type: 'boolean', field, attribute });
const section = (field: string, children: Record<string, Layout>): SectionLayout => ({ kind: 'section', field, children });

/** Name of the root element (XML) and root key (YAML). */
export const ROOT_NAME = 'shoal';

export const SHOAL_LAYOUT: SectionLayout = section('', {
  'cluster-name': str('clusterName'),
  'member-name': str('memberName'),
  'lite-member': bool('liteMember'),
  'partition-count': int('partitionCount'),
  'named-partitions-max': int('namedPartitionsMax'),
  'node-active-timeout-seconds': int('nodeActiveTimeoutSeconds'),
  network: section('network', {
    host: str('host'),
    port: {
      kind: 'valued',
      value: int('port'),
      options: { 'auto-increment': bool('portAutoIncrement'), 'port-count': int('portCount') },
    },
    'frame-bytes-max': int('frameBytesMax'),
    'peer-queue-bytes-max': int('peerQueueBytesMax'),
    join: section('join', {
      multicast: section('multicast', {
        enabled: bool('enabled', true),
        group: str('group', true),
        port: int('port', true),
        interface: str('interface', true),
        ttl: int('ttl', true),
      }),
      'tcp-ip': section('tcpIp', {
        enabled: bool('enabled', true),
        members: {
          kind: 'list',
          field: 'members',
          xmlItem: 'member',
          xmlWrapped: false,
          item: str(''),
          countMax: CONFIG_LIMITS.membersCountMax,
        },
      }),
      'join-timeout-ms': int('joinTimeoutMs'),
      'merge-interval-ms': int('mergeIntervalMs'),
    }),
  }),
  invocation: section('invocation', {
    'call-timeout-ms': int('callTimeoutMs'),
    'retry-pause-ms': int('retryPauseMs'),
    'busy-poll-us': int('busyPollUs'),
    'backup-ack-timeout-ms': int('backupAckTimeoutMs'),
    'fail-on-indeterminate-backup': bool('failOnIndeterminateBackup'),
  }),
  'failure-detector': section('failureDetector', {
    'heartbeat-interval-ms': int('heartbeatIntervalMs'),
    'max-no-heartbeat-ms': int('maxNoHeartbeatMs'),
  }),
  migration: section('migration', {
    'concurrent-max': int('concurrentMax'),
    'chunk-bytes-max': int('chunkBytesMax'),
    'graceful-shutdown-timeout-ms': int('gracefulShutdownTimeoutMs'),
  }),
  backup: section('backup', {
    'anti-entropy-interval-ms': int('antiEntropyIntervalMs'),
  }),
  logging: section('logging', {
    level: str('level'),
  }),
  services: {
    kind: 'list',
    field: 'services',
    xmlItem: 'service',
    xmlWrapped: true,
    countMax: CONFIG_LIMITS.servicesCountMax,
    item: section('', {
      enabled: bool('enabled', true),
      name: str('name'),
      'class-name': str('className'),
      properties: { kind: 'map', field: 'properties', countMax: CONFIG_LIMITS.propertiesCountMax },
    }),
  },
});

export type ConfigPath = readonly (string | number)[];

/** `network.port`, `services[0].className`: the programmatic spelling of a path. */
export function codePath(path: ConfigPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out = out === '' ? seg : `${out}.${seg}`;
  }
  return out;
}

/** Key used in the readers' line tables: `services.0.className`. */
export function pathKey(path: ConfigPath): string {
  return path.join('.');
}

/** The child of `section` holding `Config` field `field`, with its file name and, for `valued`, the option name. */
function childForField(
  section: SectionLayout,
  field: string,
): { name: string; node: Layout; option?: string } | undefined {
  for (const [name, node] of Object.entries(section.children)) {
    if (node.kind === 'valued') {
      if (node.value.field === field) return { name, node };
      for (const [option, o] of Object.entries(node.options)) if (o.field === field) return { name, node, option };
    } else if (node.field === field) {
      return { name, node };
    }
  }
  return undefined;
}

/**
 * The file spelling of a `Config` path: XML `services.service[0].class-name`,
 * `network.join.tcp-ip.member[1]`, `network.port.auto-increment`; YAML `services[0].class-name`,
 * `network.join.tcp-ip.members[1]`. Parts the layout does not know are appended as written.
 */
export function filePath(path: ConfigPath, format: FileFormat): string {
  const parts: string[] = [];
  const add = (seg: string | number): void => {
    if (typeof seg === 'number') {
      if (parts.length === 0) parts.push(`[${seg}]`);
      else parts[parts.length - 1] += `[${seg}]`;
    } else {
      parts.push(seg);
    }
  };
  let node: Layout | undefined = SHOAL_LAYOUT;
  let i = 0;
  for (; i < path.length && node !== undefined; i++) {
    const seg = path[i];
    if (node.kind === 'section') {
      if (typeof seg !== 'string') break;
      const hit = childForField(node, seg);
      if (hit === undefined) break;
      if (hit.node.kind === 'list' && format === 'xml' && !hit.node.xmlWrapped) add(hit.node.xmlItem);
      else add(hit.name);
      if (hit.option !== undefined) add(hit.option);
      node = hit.node.kind === 'valued' ? undefined : hit.node;
    } else if (node.kind === 'list') {
      if (typeof seg !== 'number') break;
      if (format === 'xml' && node.xmlWrapped) add(node.xmlItem);
      add(seg);
      node = node.item;
    } else if (node.kind === 'map') {
      add(String(seg));
      node = undefined;
    } else {
      break;
    }
  }
  for (; i < path.length; i++) add(path[i]);
  return parts.join('.');
}

export function kebabToCamel(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

export function camelToKebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** A "did you mean" hint for a misspelt key: `clusterName` or `cluster_name` → `cluster-name`. */
export function suggestName(written: string, known: readonly string[]): string | undefined {
  const candidates = [camelToKebab(written), written.toLowerCase().replace(/_/g, '-'), kebabToCamel(written)];
  for (const c of candidates) if (c !== written && known.includes(c)) return c;
  const lower = written.toLowerCase();
  return known.find((k) => k.toLowerCase() === lower && k !== written);
}
