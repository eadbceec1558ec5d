/**
 * The one schema every config passes through, whether written in code, XML or YAML. It checks types,
 * ranges and cross-field rules, rejects unknown keys, and fills in defaults, turning a `Config` into a
 * `ResolvedConfig`.
 *
 * Messages say what was expected and what was found (`expected an integer in 1..65535, got "abc"`);
 * the caller adds file, line and field. A message may mention another field as `{ref}`, with the
 * absolute path of that field in the issue's `params.ref`; the caller spells it for the source.
 * Issues comparing fields carry `params.crossField`: zod runs such checks even when a compared value
 * is itself out of range, so the caller reports them only when nothing else is wrong.
 */
import { isIP, isIPv4, isIPv6 } from 'node:net';
import { z } from 'zod';
import { CONFIG_DEFAULTS as D, CONFIG_LIMITS as L } from './limits.js';
import { LOGGING_LEVELS, type Config, type ResolvedConfig } from './types.js';

/** How a value is shown in a message. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  return 'an object';
}

type ErrorFn = (issue: { input?: unknown }) => string;

function expected(what: string): ErrorFn {
  return (issue) => (issue.input === undefined ? `missing; expected ${what}` : `expected ${what}, got ${describeValue(issue.input)}`);
}

function integer(min: number, max: number, unit?: string) {
  const error = expected(`an integer in ${min}..${max}${unit === undefined ? '' : ` (${unit})`}`);
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

const millis = (min: number, max: number) => integer(min, max, 'milliseconds');
const bytes = (min: number, max: number) => integer(min, max, 'bytes');
const port = () => integer(1, 65535);
const boolean = () => z.boolean({ error: expected('true or false') });

/** A string checked by `test`, described as `what` in messages. */
function text(what: string, lengthMax: number, test: (s: string) => boolean = () => true) {
  const error = expected(what);
  return z
    .string({ error })
    .min(1, { error })
    .max(lengthMax, { error })
    .refine(test, { error });
}

function hasNoControlCharacters(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return false;
  }
  return true;
}

const HOST_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

function isHostName(s: string): boolean {
  if (s.length > L.hostLengthMax) return false;
  const labels = s.split('.');
  if (!labels.every((l) => HOST_LABEL.test(l))) return false;
  // An all-numeric dotted name is an IPv4 address or nothing (`999.1.1.1`).
  return !/^[0-9.]+$/.test(s) || isIPv4(s);
}

const isHost = (s: string): boolean => isIP(s) !== 0 || isHostName(s);

/** `host`, `host:port`, `[ipv6]`, `[ipv6]:port`. */
export function isMemberAddress(s: string): boolean {
  const m = /^(?:\[([^\]]*)\]|([^:[\]]+))(?::([0-9]{1,5}))?$/.exec(s);
  if (m === null) return false;
  const [, v6, host, portText] = m;
  if (v6 !== undefined && !isIPv6(v6)) return false;
  if (host !== undefined && !isHost(host)) return false;
  if (portText !== undefined) {
    const p = Number(portText);
    if (p < 1 || p > 65535) return false;
  }
  return true;
}

function isMulticastGroup(s: string): boolean {
  if (isIPv4(s)) {
    const first = Number(s.split('.')[0]);
    return first >= 224 && first <= 239;
  }
  return isIPv6(s) && /^ff/i.test(s);
}

const SERVICE_NAME = /^[A-Za-z0-9_.:$/-]+$/;
const CLASS_NAME = /^[^#\s]+(?:#[A-Za-z_$][A-Za-z0-9_$]*)?$/;

const name = (what: string) =>
  text(`${what} of 1..${L.nameLengthMax} characters without control characters`, L.nameLengthMax, hasNoControlCharacters);

const hostSchema = text('a host name or IP address', L.hostLengthMax, isHost);

/** A strict object: unknown keys are errors. */
function section<S extends z.core.$ZodLooseShape>(shape: S) {
  const error = expected('a section of settings (an object)');
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'invalid_type' ? error(issue) : undefined),
  });
}

function list<T extends z.ZodType>(item: T, what: string, countMax: number) {
  const error = expected(`a list of ${what}`);
  return z.array(item, { error }).max(countMax, { error: `at most ${countMax} ${what} are allowed` });
}

const tcpIpSchema = section({
  enabled: boolean().optional(),
  members: list(
    text('a member address "host", "host:port" or "[ipv6]:port" with port in 1..65535', L.hostLengthMax + 8, isMemberAddress),
    'member addresses',
    L.membersCountMax,
  ).default(() => []),
});

const multicastSchema = section({
  enabled: boolean().default(D.multicastEnabled),
  group: text('a multicast group address (224.0.0.0 to 239.255.255.255, or ff00::/8)', 64, isMulticastGroup).default(
    D.multicastGroup,
  ),
  port: port().default(D.multicastPort),
  interface: text('an IP address of a local interface', 64, (s) => isIP(s) !== 0).default(D.multicastInterface),
  ttl: integer(0, 255).default(D.multicastTtl),
});

const joinSchema = section({
  tcpIp: tcpIpSchema.prefault({}),
  multicast: multicastSchema.prefault({}),
  joinTimeoutMs: millis(1, L.timeoutMsMax).default(D.joinTimeoutMs),
  mergeIntervalMs: millis(0, L.timeoutMsMax).default(D.mergeIntervalMs),
})
  .superRefine((join, ctx) => {
    if (join.tcpIp.enabled === true && join.multicast.enabled) {
      ctx.addIssue({
        code: 'custom',
        path: ['multicast', 'enabled'],
        message: 'cannot be true together with {ref}; enable one join method only',
        params: { ref: ['network', 'join', 'tcpIp', 'enabled'], crossField: true },
      });
    }
  })
  // tcp-ip is the join method unless multicast was chosen.
  .transform((join) => ({ ...join, tcpIp: { enabled: join.tcpIp.enabled ?? !join.multicast.enabled, members: join.tcpIp.members } }));

const networkSchema = section({
  host: hostSchema.default(D.host),
  port: port().default(D.port),
  portAutoIncrement: boolean().default(D.portAutoIncrement),
  portCount: integer(1, 65535).default(D.portCount),
  frameBytesMax: bytes(L.frameBytesMin, L.frameBytesMaxMax).default(D.frameBytesMax),
  peerQueueBytesMax: bytes(L.frameBytesMin, L.peerQueueBytesMaxMax).default(D.peerQueueBytesMax),
  join: joinSchema.prefault({}),
}).superRefine((net, ctx) => {
  const last = net.port + net.portCount - 1;
  if (net.portAutoIncrement && last > 65535) {
    ctx.addIssue({
      code: 'custom',
      path: ['port'],
      message: `with auto-increment and {ref} ${net.portCount}, the ports ${net.port}..${last} pass 65535`,
      params: { ref: ['network', 'portCount'], crossField: true },
    });
  }
  if (net.peerQueueBytesMax < net.frameBytesMax) {
    ctx.addIssue({
      code: 'custom',
      path: ['peerQueueBytesMax'],
      message: `must be at least {ref}, which is ${net.frameBytesMax}; got ${net.peerQueueBytesMax} (a peer queue must hold one whole frame)`,
      params: { ref: ['network', 'frameBytesMax'], crossField: true },
    });
  }
});

const invocationSchema = section({
  callTimeoutMs: millis(1, L.timeoutMsMax).default(D.callTimeoutMs),
  retryPauseMs: millis(1, L.retryPauseMsMax).default(D.retryPauseMs),
  busyPollUs: integer(0, L.busyPollUsMax, 'microseconds').default(D.busyPollUs),
  backupAckTimeoutMs: millis(1, L.timeoutMsMax).default(D.backupAckTimeoutMs),
  failOnIndeterminateBackup: boolean().default(D.failOnIndeterminateBackup),
});

const failureDetectorSchema = section({
  heartbeatIntervalMs: millis(1, L.intervalMsMax).default(D.heartbeatIntervalMs),
  maxNoHeartbeatMs: millis(1, L.timeoutMsMax).default(D.maxNoHeartbeatMs),
}).superRefine((fd, ctx) => {
  if (fd.maxNoHeartbeatMs <= fd.heartbeatIntervalMs) {
    ctx.addIssue({
      code: 'custom',
      path: ['maxNoHeartbeatMs'],
      message: `must be greater than {ref}, which is ${fd.heartbeatIntervalMs}; got ${fd.maxNoHeartbeatMs} (members would be suspected between two heartbeats)`,
      params: { ref: ['failureDetector', 'heartbeatIntervalMs'], crossField: true },
    });
  }
});

const migrationSchema = section({
  concurrentMax: integer(1, L.migrationsConcurrentMax).default(D.migrationConcurrentMax),
  chunkBytesMax: bytes(L.chunkBytesMin, L.frameBytesMaxMax).default(D.chunkBytesMax),
  gracefulShutdownTimeoutMs: millis(0, L.timeoutMsMax).default(D.gracefulShutdownTimeoutMs),
});

const backupSchema = section({
  antiEntropyIntervalMs: millis(1, L.intervalMsMax).default(D.antiEntropyIntervalMs),
});

const loggingSchema = section({
  level: z.enum(LOGGING_LEVELS, { error: expected(`one of ${LOGGING_LEVELS.join(', ')}`) }).default(D.loggingLevel),
});

const propertiesSchema = z
  .record(
    text(`a property name of 1..${L.nameLengthMax} characters`, L.nameLengthMax),
    z.string({ error: expected('a string') }).max(L.propertyValueLengthMax, {
      error: expected(`a string of at most ${L.propertyValueLengthMax} characters`),
    }),
    { error: expected('a map of property names to string values') },
  )
  .refine((props) => Object.keys(props).length <= L.propertiesCountMax, {
    error: `at most ${L.propertiesCountMax} properties are allowed`,
  });

const serviceSchema = section({
  name: text(
    `a service name of 1..${L.nameLengthMax} characters from A-Z a-z 0-9 _ . : $ / -`,
    L.nameLengthMax,
    (s) => SERVICE_NAME.test(s),
  ),
  enabled: boolean().default(D.serviceEnabled),
  className: text('"<module>#<ExportName>" or "<module>" (the default export)', L.classNameLengthMax, (s) =>
    CLASS_NAME.test(s),
  ).optional(),
  implementation: z
    .custom<object>((v) => typeof v === 'object' && v !== null, { error: expected('a service instance (an object)') })
    .optional(),
  properties: propertiesSchema.default(() => ({})),
}).superRefine((svc, ctx) => {
  if (svc.className === undefined && svc.implementation === undefined) {
    ctx.addIssue({ code: 'custom', path: ['className'], message: `service "${svc.name}" has neither a class name nor an implementation` });
  } else if (svc.className !== undefined && svc.implementation !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['implementation'],
      message: `service "${svc.name}" has both an implementation and a class name; give only one`,
    });
  }
});

const servicesSchema = list(serviceSchema, 'services', L.servicesCountMax).superRefine((services, ctx) => {
  const first = new Map<string, number>();
  services.forEach((svc, i) => {
    const j = first.get(svc.name);
    if (j === undefined) {
      first.set(svc.name, i);
      return;
    }
    ctx.addIssue({
      code: 'custom',
      path: [i, 'name'],
      message: `duplicate service name "${svc.name}"; it is already used by {ref}`,
      params: { ref: ['services', j, 'name'], crossField: true },
    });
  });
});

export const configSchema = section({
  clusterName: name('a cluster name').default(D.clusterName),
  memberName: name('a member name').optional(),
  liteMember: z.boolean().default(false),
  partitionCount: integer(1, L.partitionCountMax).default(D.partitionCount),
  namedPartitionsMax: integer(0, L.namedPartitionsMaxMax).default(D.namedPartitionsMax),
  nodeActiveTimeoutSeconds: integer(0, L.nodeActiveTimeoutSecondsMax, 'seconds').default(D.nodeActiveTimeoutSeconds),
  network: networkSchema.prefault({}),
  invocation: invocationSchema.prefault({}),
  failureDetector: failureDetectorSchema.prefault({}),
  migration: migrationSchema.prefault({}),
  backup: backupSchema.prefault({}),
  logging: loggingSchema.prefault({}),
  services: servicesSchema.default(() => []),
}).superRefine((cfg, ctx) => {
  if (cfg.migration.chunkBytesMax >= cfg.network.frameBytesMax) {
    ctx.addIssue({
      code: 'custom',
      path: ['migration', 'chunkBytesMax'],
      message: `must be smaller than {ref}, which is ${cfg.network.frameBytesMax}; got ${cfg.migration.chunkBytesMax} (a chunk travels in one frame)`,
      params: { ref: ['network', 'frameBytesMax'], crossField: true },
    });
  }
});

// The schema's input and output must stay exactly the public types (a compile error here otherwise).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const schemaMatchesTypes: [Same<z.input<typeof configSchema>, Config>, Same<z.output<typeof configSchema>, ResolvedConfig>] = [
  true,
  true,
];
void schemaMatchesTypes;
