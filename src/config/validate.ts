/**
 * Runs the schema and turns its issues into `ConfigError`s that name file, line and field, with the
 * field spelt the way the source spells it (`network.join.tcp-ip.member[1]` in XML,
 * `network.join.tcp-ip.members[1]` in YAML, `network.join.tcpIp.members[1]` in code).
 */
import type { z } from 'zod';
import { ConfigError, type ConfigProblem } from './errors.js';
import { codePath, filePath, type ConfigPath } from './layout.js';
import { lineOf, setServiceOrigin, type ConfigOrigin } from './origin.js';
import { configSchema, describeValue } from './schema.js';
import type { ResolvedConfig } from './types.js';

function spell(path: ConfigPath, origin: ConfigOrigin | undefined): string {
  return origin === undefined ? codePath(path) : filePath(path, origin.format);
}

function isPath(value: unknown): value is ConfigPath {
  return Array.isArray(value) && value.every((s) => typeof s === 'string' || typeof s === 'number');
}

function toPath(path: readonly PropertyKey[]): (string | number)[] {
  return path.map((s) => (typeof s === 'symbol' ? String(s) : s));
}

function problemsOf(issues: readonly z.core.$ZodIssue[], origin: ConfigOrigin | undefined): ConfigProblem[] {
  const problems: (ConfigProblem & { order: number })[] = [];
  const seen = new Set<string>();
  const add = (path: ConfigPath, detail: string): void => {
    const key = path.join('\u0000');
    if (seen.has(key)) return; // one problem per field: the first says enough
    seen.add(key);
    problems.push({
      file: origin?.file,
      line: origin === undefined ? undefined : lineOf(origin, path),
      field: spell(path, origin),
      detail,
      order: problems.length,
    });
  };
  const isCrossField = (issue: z.core.$ZodIssue): boolean =>
    issue.code === 'custom' && typeof issue.params === 'object' && issue.params !== null && issue.params.crossField === true;
  // Cross-field checks may have compared invalid values; report them once everything else is right.
  const plain = issues.filter((issue) => !isCrossField(issue));
  for (const issue of plain.length > 0 ? plain : issues) {
    const path = toPath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) add([...path, key], 'unknown setting');
      continue;
    }
    let detail = issue.message;
    const params: unknown = issue.code === 'custom' ? issue.params : undefined;
    const ref: unknown = typeof params === 'object' && params !== null && 'ref' in params ? params.ref : undefined;
    if (isPath(ref)) {
      // Only the referenced setting's own line: an ancestor's line would point at the wrong place.
      const refLine = origin?.lines.get(ref.join('.'));
      const refText = spell(ref, origin) + (origin === undefined ? '' : refLine === undefined ? ' (not set, so its default)' : ` (line ${refLine})`);
      detail = detail.replace('{ref}', refText);
    }
    add(path, detail);
  }
  // File order, so the first problem reported is the first one in the file.
  problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || a.order - b.order);
  return problems.map(({ order: _order, ...p }) => p);
}

/** Validates `input` and applies defaults; `origin` (from a file reader) adds file and line to errors. */
export function validateConfig(input: unknown, origin?: ConfigOrigin): ResolvedConfig {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ConfigError(`expected a config object, got ${describeValue(input)}`, { file: origin?.file });
  }
  const result = configSchema.safeParse(input);
  if (!result.success) throw ConfigError.of(problemsOf(result.error.issues, origin));
  const resolved = result.data;
  if (origin !== undefined) {
    resolved.services.forEach((svc, i) => {
      setServiceOrigin(svc, { file: origin.file, line: lineOf(origin, ['services', i, 'className']) });
    });
  }
  return resolved;
}
