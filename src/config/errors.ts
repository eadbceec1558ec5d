import { CONFIG_LIMITS } from './limits.js';

/** Where a config problem is: any part may be unknown (a programmatic config has no file or line). */
export interface ConfigLocation {
  /** The config file as the user named it. */
  file?: string;
  /** 1-based line in `file`. */
  line?: number;
  /** 1-based column in `file`, when known (parse errors). */
  column?: number;
  /** Dotted path of the setting, spelled the way the source spells it (`network.port`, `services[0].class-name`). */
  field?: string;
}

export interface ConfigProblem extends ConfigLocation {
  /** What is wrong, without the location: `expected an integer in 1..65535, got "abc"`. */
  detail: string;
}

/** `shoal.xml:12:` / `shoal.xml:3:7:` / `shoal.xml:` / `` followed by `network.port: ` when a field is known. */
export function formatProblem(p: ConfigProblem): string {
  let where = '';
  if (p.file !== undefined) {
    where = p.file;
    if (p.line !== undefined) where += `:${p.line}`;
    if (p.line !== undefined && p.column !== undefined) where += `:${p.column}`;
    where += ': ';
  } else if (p.line !== undefined) {
    where = `line ${p.line}: `;
  }
  const field = p.field !== undefined && p.field !== '' ? `${p.field}: ` : '';
  return `${where}${field}${p.detail}`;
}

/**
 * Any problem with configuration: unreadable or malformed file, unknown setting, wrong type or range,
 * inconsistent settings, a service class that cannot be loaded.
 *
 * The message reads `file:line: field: detail`, e.g.
 * `shoal.xml:12: network.port: expected an integer in 1..65535, got "abc"`. When several problems were
 * found, `problems` holds them all (in file order), the message lists them one per line, and
 * `file`/`line`/`field` describe the first.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
  readonly field?: string;
  /** The first problem's detail, without location. */
  readonly detail: string;
  readonly problems: readonly ConfigProblem[];

  constructor(detail: string, where: ConfigLocation & { cause?: unknown } = {}) {
    const { cause, ...location } = where;
    const problem: ConfigProblem = { ...location, detail };
    super(formatProblem(problem), cause === undefined ? undefined : { cause });
    this.file = location.file;
    this.line = location.line;
    this.column = location.column;
    this.field = location.field;
    this.detail = detail;
    this.problems = [problem];
  }

  /** One error for several problems (at least one). At most `CONFIG_LIMITS.problemsReportedMax` are listed. */
  static of(problems: readonly ConfigProblem[]): ConfigError {
    if (problems.length === 0) throw new RangeError('ConfigError.of needs at least one problem');
    const first = problems[0];
    const err = new ConfigError(first.detail, first);
    if (problems.length === 1) return err;
    const shown = problems.slice(0, CONFIG_LIMITS.problemsReportedMax);
    const lines = shown.map(formatProblem);
    if (problems.length > shown.length) lines.push(`... and ${problems.length - shown.length} more problems`);
    err.message = lines.join('\n');
    (err as { problems: readonly ConfigProblem[] }).problems = Object.freeze([...problems]);
    return err;
  }
}
