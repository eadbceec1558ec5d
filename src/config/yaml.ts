/**
 * Reads `shoal.yaml` into a `Config` (not yet validated) plus the line of every setting, walking the
 * YAML document's nodes (not the plain JS value) so every key keeps its position.
 *
 * YAML values keep their YAML types (`5701` is a number, `"5701"` a string and rejected by the schema).
 * The one courtesy: a setting or property that is text accepts a plain number or boolean as written
 * (`cluster-name: 2024` is the name "2024").
 */
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node as YamlNode, type Pair } from 'yaml';
import { ConfigError, type ConfigProblem } from './errors.js';
import {
  ROOT_NAME,
  SHOAL_LAYOUT,
  filePath,
  pathKey,
  suggestName,
  type ConfigPath,
  type ListLayout,
  type MapLayout,
  type ScalarLayout,
  type SectionLayout,
  type ValuedLayout,
} from './layout.js';
import { CONFIG_LIMITS } from './limits.js';
import type { ConfigOrigin } from './origin.js';
import { describeValue } from './schema.js';
import type { Config } from './types.js';

/** Most alias expansions in one document (guards against "billion laughs"). */
const YAML_ALIASES_MAX = 100;

class YamlReader {
  readonly settingLines = new Map<string, number>();

  constructor(
    private readonly doc: Document,
    private readonly lineCounter: LineCounter,
    private readonly file: string,
  ) {}

  lineOf(node: unknown): number | undefined {
    const range = (node as { range?: [number, number, number] } | null)?.range;
    return range === undefined ? undefined : this.lineCounter.linePos(range[0]).line;
  }

  /** `key` (as written) is appended to the field when the problem is an unknown key. */
  fail(detail: string, node: unknown, path: ConfigPath, key?: string): never {
    const parent = filePath(path, 'yaml');
    const field = key === undefined ? parent : parent === '' ? key : `${parent}.${key}`;
    throw new ConfigError(detail, { file: this.file, line: this.lineOf(node), field });
  }

  private aliases = 0;

  deref(node: unknown): unknown {
    if (!isAlias(node)) return node;
    if (++this.aliases > YAML_ALIASES_MAX) {
      throw new ConfigError(`more than ${YAML_ALIASES_MAX} alias uses`, { file: this.file, line: this.lineOf(node) });
    }
    return node.resolve(this.doc);
  }

  record(path: ConfigPath, node: unknown): void {
    const line = this.lineOf(node);
    if (line !== undefined) this.settingLines.set(pathKey(path), line);
  }

  /** The pairs of a mapping, with their keys as strings; a null value (`network:`) is an empty mapping. */
  pairs(node: unknown, path: ConfigPath, at: unknown): { key: string; pair: Pair }[] {
    const value = this.deref(node);
    if (isScalar(value) && value.value === null) return [];
    if (!isMap(value)) this.fail(`expected a mapping of settings, got ${this.describe(value)}`, at, path);
    return value.items.map((pair) => {
      const key = this.deref(pair.key);
      if (!isScalar(key) || typeof key.value !== 'string') {
        this.fail(`keys must be strings, got ${this.describe(key)}`, pair.key ?? at, path);
      }
      return { key: key.value, pair };
    });
  }

  describe(node: unknown): string {
    if (isMap(node)) return 'a mapping';
    if (isSeq(node)) return 'a list';
    if (isScalar(node)) return describeValue(node.value);
    return 'nothing';
  }

  scalar(layout: ScalarLayout, node: unknown, path: ConfigPath, at: unknown): unknown {
    const value = this.deref(node);
    this.record(path, at);
    if (!isScalar(value)) this.fail(`expected a single value, got ${this.describe(value)}`, at, path);
    return layout.type === 'string' ? asText(value) : value.value;
  }

  section(node: unknown, layout: SectionLayout, path: ConfigPath, at: unknown): Record<string, unknown> {
    this.record(path, at);
    const target: Record<string, unknown> = {};
    const known = Object.keys(layout.children);
    for (const { key, pair } of this.pairs(node, path, at)) {
      const child = layout.children[key];
      if (child === undefined) {
        const suggestion = suggestName(key, known);
        const hint = suggestion !== undefined ? `; did you mean "${suggestion}"?` : `; expected one of: ${known.join(', ')}`;
        this.fail(`unknown key "${key}"${hint}`, pair.key, path, key);
      }
      switch (child.kind) {
        case 'scalar':
          target[child.field] = this.scalar(child, pair.value, [...path, child.field], pair.key);
          break;
        case 'section':
          target[child.field] = this.section(pair.value, child, [...path, child.field], pair.key);
          break;
        case 'valued':
          this.valued(pair, child, path, target);
          break;
        case 'list':
          target[child.field] = this.list(pair.value, child, [...path, child.field], pair.key);
          break;
        case 'map':
          target[child.field] = this.map(pair.value, child, [...path, child.field], pair.key);
          break;
      }
    }
    return target;
  }

  /** `port: 5701` or `port: { value: 5701, auto-increment: true }`. */
  valued(pair: Pair, layout: ValuedLayout, path: ConfigPath, target: Record<string, unknown>): void {
    const valuePath = [...path, layout.value.field];
    const value = this.deref(pair.value);
    if (!isMap(value)) {
      target[layout.value.field] = this.scalar(layout.value, value, valuePath, pair.key);
      return;
    }
    this.record(valuePath, pair.key);
    const known = ['value', ...Object.keys(layout.options)];
    for (const { key, pair: inner } of this.pairs(value, valuePath, pair.key)) {
      if (key === 'value') {
        target[layout.value.field] = this.scalar(layout.value, inner.value, valuePath, inner.key);
        continue;
      }
      const option = layout.options[key];
      if (option === undefined) {
        const suggestion = suggestName(key, known);
        const hint = suggestion !== undefined ? `; did you mean "${suggestion}"?` : `; expected one of: ${known.join(', ')}`;
        this.fail(`unknown key "${key}"${hint}`, inner.key, valuePath, key);
      }
      target[option.field] = this.scalar(option, inner.value, [...path, option.field], inner.key);
    }
  }

  list(node: unknown, layout: ListLayout, path: ConfigPath, at: unknown): unknown[] {
    this.record(path, at);
    const value = this.deref(node);
    if (isScalar(value) && value.value === null) return [];
    if (!isSeq(value)) this.fail(`expected a list, got ${this.describe(value)}`, at, path);
    if (value.items.length > layout.countMax) this.fail(`at most ${layout.countMax} items are allowed`, at, path);
    return value.items.map((item, i) => {
      const itemPath = [...path, i];
      return layout.item.kind === 'scalar'
        ? this.scalar(layout.item, item, itemPath, item)
        : this.section(item, layout.item, itemPath, item);
    });
  }

  map(node: unknown, layout: MapLayout, path: ConfigPath, at: unknown): Record<string, string> {
    this.record(path, at);
    const out: Record<string, string> = {};
    const pairs = this.pairs(node, path, at);
    if (pairs.length > layout.countMax) this.fail(`at most ${layout.countMax} entries are allowed`, at, path);
    for (const { key, pair } of pairs) {
      const value = this.deref(pair.value);
      const keyPath = [...path, key];
      this.record(keyPath, pair.key);
      if (!isScalar(value) || value.value === null) {
        this.fail(`expected a value (write '' for an empty one), got ${this.describe(value)}`, pair.key, keyPath);
      }
      Object.defineProperty(out, key, { value: asText(value), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
}

/** A scalar where text is expected: strings as they are, plain numbers and booleans as written. */
function asText(node: { value: unknown; source?: string }): unknown {
  const { value } = node;
  if (typeof value === 'number' || typeof value === 'boolean') return node.source ?? String(value);
  return value;
}

/** Reads YAML config text. Throws `ConfigError` for malformed YAML and for unknown keys. */
export function readYamlConfig(text: string, file: string): { config: Config; origin: ConfigOrigin } {
  if (text.length > CONFIG_LIMITS.fileBytesMax) {
    throw new ConfigError(`config is larger than ${CONFIG_LIMITS.fileBytesMax} characters`, { file });
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: true,
    strict: true,
    version: '1.2',
    schema: 'core',
  });
  // Warnings too: an unresolved tag or similar would otherwise change a value silently.
  const parseProblems: ConfigProblem[] = [...doc.errors, ...doc.warnings].map((e) => {
    const pos = lineCounter.linePos(e.pos[0]);
    return { file, line: pos.line, column: pos.col, detail: `malformed YAML: ${e.message}` };
  });
  if (parseProblems.length > 0) throw ConfigError.of(parseProblems);

  const reader = new YamlReader(doc, lineCounter, file);
  const top: YamlNode | null = doc.contents;
  if (top === null || (isScalar(top) && top.value === null)) {
    throw new ConfigError(`empty YAML document; expected a mapping with the key "${ROOT_NAME}"`, { file, line: 1 });
  }
  let root: Record<string, unknown> | undefined;
  for (const { key, pair } of reader.pairs(top, [], top)) {
    if (key !== ROOT_NAME) reader.fail(`unknown top-level key "${key}"; the config must sit under "${ROOT_NAME}:"`, pair.key, [], key);
    root = reader.section(pair.value, SHOAL_LAYOUT, [], pair.key);
  }
  if (root === undefined) throw new ConfigError(`expected a mapping with the key "${ROOT_NAME}"`, { file, line: 1 });
  return { config: root as Config, origin: { file, format: 'yaml', lines: reader.settingLines } };
}
