/**
 * Entry points: `loadConfig` (a file, a programmatic config, or whatever `shoal.xml` / `shoal.yaml`
 * sits in the working directory), `resolveConfig` (programmatic), and the two file parsers.
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, extname, isAbsolute, join, relative, resolve } from 'node:path';
import { ConfigError } from './errors.js';
import { CONFIG_LIMITS } from './limits.js';
import { configOriginOf, setConfigOrigin, type ConfigOrigin } from './origin.js';
import { describeValue } from './schema.js';
import type { Config, ResolvedConfig } from './types.js';
import { validateConfig } from './validate.js';
import { readXmlConfig } from './xml.js';
import { readYamlConfig } from './yaml.js';

/** Files `loadConfig()` looks for in the working directory, in this order. */
export const DEFAULT_CONFIG_FILES = ['shoal.xml', 'shoal.yaml', 'shoal.yml'] as const;

type Reader = (text: string, file: string) => { config: Config; origin: ConfigOrigin };

function readerFor(file: string): Reader {
  const ext = extname(file).toLowerCase();
  if (ext === '.xml') return readXmlConfig;
  if (ext === '.yaml' || ext === '.yml') return readYamlConfig;
  throw new ConfigError(`unsupported config file type "${ext}"; use .xml, .yaml or .yml`, { file });
}

/**
 * Parses XML config text. Unknown elements or attributes, malformed XML, and wrong types or ranges
 * throw a `ConfigError` with `file` and line; defaults are not applied (see `resolveConfig`).
 * `file` is only used in messages.
 */
export function parseXmlConfig(text: string, file: string): Config {
  return parseWith(readXmlConfig, text, file);
}

/** Parses YAML config text; same contract as `parseXmlConfig`. */
export function parseYamlConfig(text: string, file: string): Config {
  return parseWith(readYamlConfig, text, file);
}

function parseWith(reader: Reader, text: string, file: string): Config {
  const { config, origin } = reader(text, file);
  validateConfig(config, origin);
  setConfigOrigin(config, origin);
  return config;
}

/**
 * Validates a programmatic config and applies defaults. A config returned by `parseXmlConfig` /
 * `parseYamlConfig` keeps reporting problems with its file and line. The result has no `source`.
 */
export function resolveConfig(config: Config): ResolvedConfig {
  const origin = typeof config === 'object' && config !== null ? configOriginOf(config) : undefined;
  return validateConfig(config, origin);
}

async function readConfigFile(absolute: string, shown: string): Promise<string> {
  let size: number;
  try {
    const info = await stat(absolute);
    if (!info.isFile()) throw new ConfigError('not a regular file', { file: shown });
    size = info.size;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as { code?: unknown }).code;
    const why = code === 'ENOENT' ? 'no such file' : err instanceof Error ? err.message : String(err);
    throw new ConfigError(`cannot read config file: ${why}`, { file: shown, cause: err });
  }
  if (size > CONFIG_LIMITS.fileBytesMax) {
    throw new ConfigError(`config file is ${size} bytes; the limit is ${CONFIG_LIMITS.fileBytesMax}`, { file: shown });
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(absolute);
  } catch (err) {
    throw new ConfigError(`cannot read config file: ${err instanceof Error ? err.message : String(err)}`, { file: shown, cause: err });
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (err) {
    throw new ConfigError('config file is not valid UTF-8', { file: shown, cause: err });
  }
}

async function loadConfigFile(absolute: string, shown: string): Promise<ResolvedConfig> {
  const reader = readerFor(shown);
  const text = await readConfigFile(absolute, shown);
  const { config, origin } = reader(text, shown);
  const resolved = validateConfig(config, origin);
  resolved.source = { file: absolute, dir: dirname(absolute) };
  return resolved;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** How a discovered file is named in messages: relative to the process's directory when inside it. */
function shownName(absolute: string): string {
  const rel = relative(process.cwd(), absolute);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : absolute;
}

/**
 * Loads and validates a config, applying defaults.
 *  - a `Config` object: validated like `resolveConfig` (no `source`);
 *  - a string: path of an `.xml`, `.yaml` or `.yml` file, relative to `cwd`; `source` is set;
 *  - nothing: `shoal.xml`, `shoal.yaml` or `shoal.yml` in `cwd` if exactly one exists (more than one
 *    is an error), else all defaults.
 */
export async function loadConfig(input?: Config | string, cwd: string = process.cwd()): Promise<ResolvedConfig> {
  if (typeof input === 'string') {
    if (input.trim() === '') throw new ConfigError('config file path is empty');
    return loadConfigFile(resolve(cwd, input), input);
  }
  if (input === undefined) {
    const found: string[] = [];
    for (const name of DEFAULT_CONFIG_FILES) {
      const path = join(resolve(cwd), name);
      if (await exists(path)) found.push(path);
    }
    if (found.length > 1) {
      throw new ConfigError(`found ${found.map(shownName).join(' and ')}; keep only one config file`, { file: shownName(found[0]) });
    }
    if (found.length === 1) return loadConfigFile(found[0], shownName(found[0]));
    return resolveConfig({});
  }
  if (typeof input === 'object' && input !== null && !Array.isArray(input)) return resolveConfig(input);
  throw new ConfigError(`loadConfig expects a config object or a file path, got ${describeValue(input)}`);
}
