/**
 * Creates service instances from `className` (`"./counter-service.js#CounterService"`).
 */
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ConfigError } from './errors.js';
import { serviceOriginOf } from './origin.js';
import type { ResolvedServiceConfig } from './types.js';

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** True when `value` can be called with `new` (checked without calling it). */
function isConstructor(value: unknown): value is new () => unknown {
  if (typeof value !== 'function') return false;
  try {
    Reflect.construct(String, [], value);
    return true;
  } catch {
    return false;
  }
}

type Resolution = { url: string; file: string } | { missing: string };

/**
 * Where a module specifier points. Relative (`./`, `../`) and absolute paths and `file:` URLs are
 * files: `x.js` falls back to `x.ts` (and `.mjs`/`.cjs` to `.mts`/`.cts`) when only the TypeScript
 * source exists, so configs work unchanged under tsx. Anything else is a package name, resolved from
 * `baseDir` the way `require.resolve` does.
 */
function resolveModule(spec: string, baseDir: string): Resolution {
  const isPath =
    spec.startsWith('./') || spec.startsWith('../') || spec === '.' || spec === '..' || isAbsolute(spec) || spec.startsWith('file:');
  if (isPath) {
    const path = spec.startsWith('file:') ? fileURLToPath(spec) : resolve(baseDir, spec);
    const candidates = [path];
    const m = /\.([mc]?)js$/.exec(path);
    if (m !== null) candidates.push(`${path.slice(0, -m[0].length)}.${m[1]}ts`);
    const found = candidates.find(isFile);
    if (found === undefined) return { missing: `module not found (looked for ${candidates.join(' and ')})` };
    return { url: pathToFileURL(found).href, file: found };
  }
  try {
    const file = createRequire(join(resolve(baseDir), 'noop.js')).resolve(spec);
    return { url: pathToFileURL(file).href, file };
  } catch (err) {
    return {
      missing:
        `module not found: no package "${spec}" can be resolved from ${resolve(baseDir)} (${reason(err).split('\n')[0]}); ` +
        'a file path must start with ./ or ../',
    };
  }
}

/**
 * The service object for `svc`: its `implementation` when given, otherwise a new instance of the
 * class named by `className`, constructed with no arguments.
 *
 * `baseDir` is where relative module paths start: the config file's directory (`config.source.dir`),
 * or the working directory for a programmatic config. Any failure (module missing or failing to load,
 * export missing, export not a class, constructor throwing) is a `ConfigError` with field `class-name`
 * that names the service, the config file and line when known (`configFile`, e.g. `source.file`,
 * overrides the file name), and the cause.
 */
export async function instantiateService(svc: ResolvedServiceConfig, baseDir: string, configFile?: string): Promise<object> {
  if (svc.implementation !== undefined) return svc.implementation;
  const origin = serviceOriginOf(svc);
  const where = { file: configFile ?? origin?.file, line: origin?.line, field: 'class-name' };
  const fail = (detail: string, cause?: unknown): ConfigError =>
    new ConfigError(`service "${svc.name}": ${detail}`, cause === undefined ? where : { ...where, cause });

  const className = svc.className;
  if (className === undefined || className === '') throw fail('neither a class name nor an implementation is given');
  const hash = className.lastIndexOf('#');
  const spec = hash < 0 ? className : className.slice(0, hash);
  const exportName = hash < 0 ? 'default' : className.slice(hash + 1);
  const shownExport = hash < 0 ? 'default export' : `export "${exportName}"`;

  const resolution = resolveModule(spec, baseDir);
  if ('missing' in resolution) throw fail(`cannot load "${spec}": ${resolution.missing}`);

  let mod: Record<string, unknown>;
  try {
    mod = (await import(resolution.url)) as Record<string, unknown>;
  } catch (err) {
    throw fail(`cannot load module ${resolution.file}: ${reason(err)}`, err);
  }
  if (!Object.prototype.hasOwnProperty.call(mod, exportName)) {
    const names = Object.keys(mod);
    const has = names.length === 0 ? 'it has no exports' : `it exports ${names.join(', ')}`;
    throw fail(`module ${resolution.file} has no ${shownExport} (${has})`);
  }
  const exported = mod[exportName];
  if (!isConstructor(exported)) {
    const got =
      typeof exported === 'function' ? 'a function that cannot be called with new' : `a ${exported === null ? 'null' : typeof exported}`;
    throw fail(`${shownExport} of ${resolution.file} is not a class (got ${got})`);
  }
  let instance: unknown;
  try {
    instance = new exported();
  } catch (err) {
    throw fail(`constructor of ${shownExport} of ${resolution.file} threw: ${reason(err)}`, err);
  }
  if (typeof instance !== 'object' || instance === null) throw fail(`constructor of ${shownExport} did not return an object`);
  return instance;
}
