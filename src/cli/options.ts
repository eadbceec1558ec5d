/**
 * `shoal start` options → the member's config.
 *
 * The config comes from `--config FILE`, else from `shoal.xml` / `shoal.yaml` / `shoal.yml` in the
 * working directory (the same discovery `Shoal.newInstance()` does), else from the defaults. The
 * flags then override single settings:
 *
 * | flag                 | setting                                                             |
 * | -------------------- | ------------------------------------------------------------------- |
 * | `--port N`           | `network.port` (auto-increment stays as configured)                 |
 * | `--member-name NAME` | `memberName`                                                        |
 * | `--cluster-name NAME`| `clusterName`                                                       |
 * | `--members a:p,b:p`  | `network.join.tcpIp` = enabled with these members; multicast off    |
 * | `--log-level L`      | `logging.level`                                                     |
 *
 * Flag values are checked by the same schema as config files (one set of rules); a problem is
 * reported under the flag's name: `--port: expected an integer in 1..65535, got "abc"`.
 */
import { ConfigError, instantiateService, loadConfig, resolveConfig, type ConfigProblem } from '../config/index.js';
import type { Config, ResolvedConfig, ServiceConfig } from '../config/types.js';

/** The options of `shoal start` as the command line gives them (strings, all optional). */
export interface StartFlags {
  readonly config?: string;
  readonly port?: string;
  readonly memberName?: string;
  readonly clusterName?: string;
  readonly members?: string;
  readonly logLevel?: string;
}

type OverrideFlag = Exclude<keyof StartFlags, 'config'>;

/** Command-line spelling of each overriding flag. */
export const FLAG_NAMES: Readonly<Record<OverrideFlag, string>> = {
  port: '--port',
  memberName: '--member-name',
  clusterName: '--cluster-name',
  members: '--members',
  logLevel: '--log-level',
};

/**
 * Code paths (as `ConfigError.field` spells them for a programmatic config) that each flag sets.
 * A problem at such a path, or below it, is reported as a problem of the flag.
 */
const FLAG_FIELDS: Readonly<Record<OverrideFlag, readonly string[]>> = {
  port: ['network.port'],
  memberName: ['memberName'],
  clusterName: ['clusterName'],
  members: ['network.join.tcpIp.members', 'network.join.tcpIp.enabled', 'network.join.multicast.enabled'],
  logLevel: ['logging.level'],
};

/** A port as given: decimal digits become a number, anything else stays text for the schema to reject by name. */
function portValue(text: string): number | string {
  return /^[0-9]{1,6}$/.test(text) ? Number(text) : text;
}

/** `a:p, b:p` → `['a:p', 'b:p']`; items are trimmed, empty items kept so the schema reports them. */
export function splitMembers(text: string): string[] {
  return text.split(',').map((s) => s.trim());
}

/**
 * `base` with the flags applied. Pure: `base` is not changed (the sections a flag touches are
 * copied). Values are not validated here; `resolveStartConfig` does that.
 */
export function applyStartFlags(base: Config, flags: StartFlags): Config {
  const out: Config = { ...base };
  if (flags.clusterName !== undefined) out.clusterName = flags.clusterName;
  if (flags.memberName !== undefined) out.memberName = flags.memberName;
  if (flags.port !== undefined || flags.members !== undefined) {
    const network = { ...base.network };
    // The schema's type is number; text that is not a number is passed on for the schema's message.
    if (flags.port !== undefined) network.port = portValue(flags.port) as number;
    if (flags.members !== undefined) {
      const join = { ...network.join };
      join.tcpIp = { enabled: true, members: splitMembers(flags.members) };
      join.multicast = { ...join.multicast, enabled: false };
      network.join = join;
    }
    out.network = network;
  }
  if (flags.logLevel !== undefined) {
    out.logging = { ...base.logging, level: flags.logLevel as NonNullable<Config['logging']>['level'] };
  }
  return out;
}

function flagOf(field: string | undefined, given: readonly OverrideFlag[]): OverrideFlag | undefined {
  if (field === undefined) return undefined;
  return given.find((flag) => FLAG_FIELDS[flag].some((path) => field === path || field.startsWith(`${path}.`) || field.startsWith(`${path}[`)));
}

/**
 * Validates `applyStartFlags(base, flags)` and applies defaults. A problem caused by a flag names
 * the flag (and, for `--members`, the offending entry); any other problem (a setting of the file
 * that conflicts with a flag) names the setting and, when known, `configFile`.
 */
export function resolveStartConfig(base: Config, flags: StartFlags, configFile?: string): ResolvedConfig {
  const merged = applyStartFlags(base, flags);
  try {
    return resolveConfig(merged);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const given = (Object.keys(FLAG_NAMES) as OverrideFlag[]).filter((f) => flags[f] !== undefined);
    const problems: ConfigProblem[] = error.problems.map((p) => {
      const flag = flagOf(p.field, given);
      if (flag === undefined) return { file: configFile, field: p.field, detail: p.detail };
      const item = flag === 'members' && p.field !== undefined ? /\[(\d+)\]$/.exec(p.field) : null;
      const field = item === null ? FLAG_NAMES[flag] : `${FLAG_NAMES[flag]}[${item[1]}]`;
      return { field, detail: p.detail };
    });
    throw ConfigError.of(problems);
  }
}

/** What `shoal start` hands to `Shoal.newInstance`, and where it came from. */
export interface StartConfig {
  /** Ready for `Shoal.newInstance`: services of the file are already instances. */
  readonly config: Config;
  /** The validated settings (for the log and the ready line). */
  readonly resolved: ResolvedConfig;
  /** Absolute path of the config file, or undefined when only defaults and flags were used. */
  readonly file?: string;
}

/**
 * Loads the config for `shoal start`: reads and validates the file (errors name file, line and
 * field), applies the flags, and creates the file's service instances. Services are created here,
 * with the file's directory as the base of relative `class-name` paths and the file and line in
 * errors, because a `Config` object handed on to `Shoal.newInstance` no longer knows its file.
 * Throws `ConfigError` for every problem of the configuration.
 */
export async function loadStartConfig(flags: StartFlags, cwd: string = process.cwd()): Promise<StartConfig> {
  const fromFile = await loadConfig(flags.config, cwd);
  const { source, ...settings } = fromFile;
  const resolved = resolveStartConfig(settings, flags, source === undefined ? undefined : (flags.config ?? source.file));
  const services: ServiceConfig[] = [];
  for (const svc of fromFile.services) {
    if (!svc.enabled || svc.className === undefined) {
      services.push({ ...svc });
      continue;
    }
    const implementation = await instantiateService(svc, source?.dir ?? cwd);
    services.push({ name: svc.name, enabled: true, implementation, properties: { ...svc.properties } });
  }
  return { config: { ...applyStartFlags(settings, flags), services }, resolved, file: source?.file };
}
