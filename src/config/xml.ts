/**
 * Reads `shoal.xml` into a `Config` (not yet validated) plus the line of every setting.
 *
 * fast-xml-parser runs with entity processing off (no DOCTYPE tricks, no entity expansion); the five
 * predefined entities and numeric character references are decoded here, anything else is an error.
 * Values stay text until the layout says a setting is an integer or boolean; text that does not look
 * like one is passed on unchanged, so the schema reports it with the text the user wrote.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { ConfigError } from './errors.js';
import {
  ROOT_NAME,
  SHOAL_LAYOUT,
  filePath,
  pathKey,
  suggestName,
  type ConfigPath,
  type Layout,
  type ListLayout,
  type MapLayout,
  type ScalarLayout,
  type ScalarType,
  type SectionLayout,
  type ValuedLayout,
} from './layout.js';
import { CONFIG_LIMITS } from './limits.js';
import type { ConfigOrigin } from './origin.js';
import type { Config } from './types.js';

interface XmlAttribute {
  name: string;
  value: string;
  line: number;
}

interface XmlElement {
  name: string;
  /** Offset of the start tag's `<`. */
  start: number;
  line: number;
  attributes: XmlAttribute[];
  children: XmlElement[];
  /** Character data (text and CDATA) directly inside the element, trimmed. */
  text: string;
}

type JsonObject = Record<string, unknown>;

/** Maps character offsets to 1-based lines. */
class LineIndex {
  private readonly starts: number[] = [0];

  constructor(text: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.starts.push(i + 1);
  }

  lineAt(offset: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  }
}

const PREDEFINED_ENTITIES: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function isXmlChar(cp: number): boolean {
  return (
    cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

const XML_PARSER = new XMLParser({
  preserveOrder: true,
  captureMetaData: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  allowBooleanAttributes: false,
  parseTagValue: false,
  parseAttributeValue: false,
  processEntities: false,
  htmlEntities: false,
  trimValues: true,
  cdataPropName: '#cdata',
  ignoreDeclaration: false,
  ignorePiTags: false,
});

// Typed `Symbol` (the wrapper) by the library; it is a plain symbol (or a string key on old runtimes).
const METADATA = XMLParser.getMetaDataSymbol() as unknown as symbol;

class XmlReader {
  private readonly lines: LineIndex;
  readonly settingLines = new Map<string, number>();

  constructor(
    private readonly text: string,
    private readonly file: string,
  ) {
    this.lines = new LineIndex(text);
  }

  fail(detail: string, line?: number, field?: string): never {
    throw new ConfigError(detail, { file: this.file, line, field });
  }

  /** Fails naming the field at `path`, or the unknown `name` (as written) inside it. */
  failAt(detail: string, line: number, path: ConfigPath, name?: string): never {
    const field = filePath(path, 'xml');
    this.fail(detail, line, name === undefined ? field : field === '' ? name : `${field}.${name}`);
  }

  decode(raw: string, line: number): string {
    return raw.replace(/&([^;&\s]*);/g, (whole, ref: string) => {
      if (ref.startsWith('#')) {
        let cp = NaN;
        if (/^#x[0-9a-fA-F]{1,6}$/.test(ref)) cp = parseInt(ref.slice(2), 16);
        else if (/^#[0-9]{1,7}$/.test(ref)) cp = Number(ref.slice(1));
        if (!isXmlChar(cp)) this.fail(`invalid character reference ${whole}`, line);
        return String.fromCodePoint(cp);
      }
      const value = PREDEFINED_ENTITIES[ref];
      if (value === undefined) {
        this.fail(`unknown entity ${whole}; only &lt; &gt; &amp; &quot; &apos; and character references are supported`, line);
      }
      return value;
    });
  }

  /** Line of attribute `name` in the start tag beginning at `start`. */
  attributeLine(start: number, name: string): number {
    let end = start;
    let quote = '';
    for (; end < this.text.length; end++) {
      const c = this.text[end];
      if (quote !== '') {
        if (c === quote) quote = '';
      } else if (c === '"' || c === "'") {
        quote = c;
      } else if (c === '>') {
        break;
      }
    }
    const tag = this.text.slice(start, end);
    const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const m = new RegExp(`\\s${escaped}\\s*=`).exec(tag);
    return this.lines.lineAt(m === null ? start : start + m.index + 1);
  }

  /** One fast-xml-parser node (`{ name: children, ':@': attributes }`) → XmlElement. */
  element(node: JsonObject): XmlElement {
    const name = Object.keys(node).find((k) => k !== ':@');
    const meta = (node as Record<symbol, unknown>)[METADATA] as { startIndex?: number } | undefined;
    const start = meta?.startIndex ?? 0;
    const line = this.lines.lineAt(start);
    if (name === undefined) this.fail('unreadable XML node', line);
    if (name.startsWith('?')) this.fail(`processing instruction <${name}> is not supported here`, line);
    const attributes: XmlAttribute[] = [];
    const rawAttributes = node[':@'];
    if (typeof rawAttributes === 'object' && rawAttributes !== null) {
      for (const [attr, value] of Object.entries(rawAttributes)) {
        const attrLine = this.attributeLine(start, attr);
        attributes.push({ name: attr, value: this.decode(String(value), attrLine), line: attrLine });
      }
    }
    const children: XmlElement[] = [];
    let text = '';
    const content = node[name];
    for (const child of Array.isArray(content) ? (content as JsonObject[]) : []) {
      if ('#text' in child) {
        text += this.decode(String(child['#text']), line);
      } else if ('#cdata' in child) {
        const parts = child['#cdata'];
        for (const part of Array.isArray(parts) ? (parts as JsonObject[]) : []) {
          const raw = part['#text'];
          if (typeof raw === 'string') text += raw;
        }
      } else {
        children.push(this.element(child));
      }
    }
    return { name, start, line, attributes, children, text: text.trim() };
  }

  parseRoot(): XmlElement {
    const result = XMLValidator.validate(this.text, { allowBooleanAttributes: false });
    if (result !== true) {
      const { msg, line, col } = result.err;
      throw new ConfigError(`malformed XML: ${msg}`, { file: this.file, line, column: col });
    }
    let top: unknown;
    try {
      top = XML_PARSER.parse(this.text);
    } catch (err) {
      throw new ConfigError(`malformed XML: ${err instanceof Error ? err.message : String(err)}`, { file: this.file, cause: err });
    }
    const roots: JsonObject[] = [];
    for (const node of Array.isArray(top) ? (top as JsonObject[]) : []) {
      if ('?xml' in node) continue; // the XML declaration
      if ('#text' in node) this.fail('text outside the root element');
      roots.push(node);
    }
    if (roots.length === 0) this.fail(`no root element; expected <${ROOT_NAME}>`, 1);
    const root = this.element(roots[0]);
    if (roots.length > 1) this.fail('only one root element is allowed', this.element(roots[1]).line);
    if (root.name !== ROOT_NAME) this.fail(`root element must be <${ROOT_NAME}>, found <${root.name}>`, root.line);
    const prolog = this.text
      .slice(0, root.start)
      .replace(/<!--[\s\S]*?-->/g, (c) => c.replace(/[^\n]/g, ' '));
    const doctype = prolog.search(/<!DOCTYPE/i);
    if (doctype >= 0) this.fail('DOCTYPE declarations are not allowed in a config file', this.lines.lineAt(doctype));
    return root;
  }

  record(path: ConfigPath, line: number): void {
    this.settingLines.set(pathKey(path), line);
  }

  scalar(layout: ScalarLayout, raw: string, path: ConfigPath, line: number): unknown {
    this.record(path, line);
    return coerce(layout.type, raw);
  }

  /** An element that must hold only text: no attributes, no child elements. */
  textOnly(el: XmlElement, path: ConfigPath): string {
    for (const attr of el.attributes) {
      this.failAt(`unknown attribute "${attr.name}" on <${el.name}>; <${el.name}> takes no attributes`, attr.line, path, attr.name);
    }
    if (el.children.length > 0) {
      const c = el.children[0];
      this.failAt(`unexpected element <${c.name}> inside <${el.name}>, which holds a value`, c.line, path);
    }
    return el.text;
  }

  /** An element that must hold only child elements. */
  noText(el: XmlElement, path: ConfigPath): void {
    if (el.text !== '') {
      this.failAt(`unexpected text ${JSON.stringify(el.text.slice(0, 40))} in <${el.name}>, which holds elements`, el.line, path);
    }
  }

  section(el: XmlElement, layout: SectionLayout, path: ConfigPath, allowedRootAttributes = false): Record<string, unknown> {
    this.record(path, el.line);
    this.noText(el, path);
    const target: Record<string, unknown> = {};
    const attributeNames: Record<string, ScalarLayout> = {};
    const elementNames: Record<string, { key: string; node: Layout }> = {};
    for (const [key, node] of Object.entries(layout.children)) {
      if (node.kind === 'scalar' && node.attribute === true) attributeNames[key] = node;
      else if (node.kind === 'list' && !node.xmlWrapped) elementNames[node.xmlItem] = { key, node };
      else elementNames[key] = { key, node };
    }

    for (const attr of el.attributes) {
      if (allowedRootAttributes && isNamespaceAttribute(attr.name)) continue;
      const layoutNode = attributeNames[attr.name];
      if (layoutNode === undefined) {
        const hint =
          elementNames[attr.name] !== undefined
            ? `; write it as a child element <${attr.name}>…</${attr.name}>`
            : Object.keys(attributeNames).length === 0
              ? `; <${el.name}> takes no attributes`
              : hintFor(attr.name, Object.keys(attributeNames));
        this.failAt(`unknown attribute "${attr.name}" on <${el.name}>${hint}`, attr.line, path, attr.name);
      }
      target[layoutNode.field] = this.scalar(layoutNode, attr.value, [...path, layoutNode.field], attr.line);
    }

    const seen = new Map<string, number>();
    for (const child of el.children) {
      const entry = elementNames[child.name];
      if (entry === undefined) {
        const hint =
          attributeNames[child.name] !== undefined
            ? `; write it as an attribute: <${el.name} ${child.name}="…">`
            : hintFor(child.name, Object.keys(elementNames));
        this.failAt(`unknown element <${child.name}> in <${el.name}>${hint}`, child.line, path, child.name);
      }
      const { node } = entry;
      const repeatable = node.kind === 'list' && !node.xmlWrapped;
      const firstLine = seen.get(child.name);
      if (firstLine !== undefined && !repeatable) {
        this.failAt(`<${child.name}> appears twice in <${el.name}> (first on line ${firstLine})`, child.line, path, child.name);
      }
      seen.set(child.name, child.line);
      switch (node.kind) {
        case 'scalar':
          target[node.field] = this.scalar(node, this.textOnly(child, [...path, node.field]), [...path, node.field], child.line);
          break;
        case 'section':
          target[node.field] = this.section(child, node, [...path, node.field]);
          break;
        case 'valued':
          this.valued(child, node, path, target);
          break;
        case 'list':
          if (node.xmlWrapped) target[node.field] = this.wrappedList(child, node, [...path, node.field]);
          else this.listItem(child, node, [...path, node.field], target);
          break;
        case 'map':
          target[node.field] = this.map(child, node, [...path, node.field]);
          break;
      }
    }
    return target;
  }

  valued(el: XmlElement, layout: ValuedLayout, path: ConfigPath, target: Record<string, unknown>): void {
    const valuePath = [...path, layout.value.field];
    if (el.children.length > 0) {
      const c = el.children[0];
      this.failAt(`unexpected element <${c.name}> inside <${el.name}>, which holds a value`, c.line, valuePath);
    }
    for (const attr of el.attributes) {
      const option = layout.options[attr.name];
      if (option === undefined) {
        const hint = hintFor(attr.name, Object.keys(layout.options));
        this.failAt(`unknown attribute "${attr.name}" on <${el.name}>${hint}`, attr.line, valuePath, attr.name);
      }
      target[option.field] = this.scalar(option, attr.value, [...path, option.field], attr.line);
    }
    target[layout.value.field] = this.scalar(layout.value, el.text, valuePath, el.line);
  }

  item(el: XmlElement, layout: ListLayout, path: ConfigPath): unknown {
    if (layout.item.kind === 'scalar') return this.scalar(layout.item, this.textOnly(el, path), path, el.line);
    return this.section(el, layout.item, path);
  }

  listItem(el: XmlElement, layout: ListLayout, path: ConfigPath, target: Record<string, unknown>): void {
    const items = (target[layout.field] ??= []) as unknown[];
    if (items.length >= layout.countMax) this.failAt(`at most ${layout.countMax} <${layout.xmlItem}> elements are allowed`, el.line, path);
    if (items.length === 0) this.record(path, el.line);
    items.push(this.item(el, layout, [...path, items.length]));
  }

  /** An element holding only child elements, at most `countMax` of them: a list wrapper or a map. */
  container(el: XmlElement, path: ConfigPath, countMax: number, itemWord: string): void {
    this.record(path, el.line);
    this.noText(el, path);
    for (const attr of el.attributes) {
      this.failAt(`unknown attribute "${attr.name}" on <${el.name}>; <${el.name}> takes no attributes`, attr.line, path, attr.name);
    }
    if (el.children.length > countMax) this.failAt(`at most ${countMax} ${itemWord} are allowed`, el.line, path);
  }

  wrappedList(el: XmlElement, layout: ListLayout, path: ConfigPath): unknown[] {
    this.container(el, path, layout.countMax, `<${layout.xmlItem}> elements`);
    return el.children.map((child, i) => {
      if (child.name !== layout.xmlItem) {
        this.failAt(`unknown element <${child.name}> in <${el.name}>; expected <${layout.xmlItem}>`, child.line, path);
      }
      return this.item(child, layout, [...path, i]);
    });
  }

  map(el: XmlElement, layout: MapLayout, path: ConfigPath): Record<string, string> {
    this.container(el, path, layout.countMax, 'entries');
    const out: Record<string, string> = {};
    const seen = new Map<string, number>();
    for (const child of el.children) {
      const childPath = [...path, child.name];
      const firstLine = seen.get(child.name);
      if (firstLine !== undefined) {
        this.failAt(`<${child.name}> appears twice (first on line ${firstLine})`, child.line, childPath);
      }
      seen.set(child.name, child.line);
      this.record(childPath, child.line);
      // defineProperty, so a key like "__proto__" is an ordinary entry
      const value = this.textOnly(child, childPath);
      Object.defineProperty(out, child.name, { value, enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
}

/** `xmlns`, `xmlns:*` and `xsi:*` on the root: XML machinery (schema hints for editors), not settings. */
function isNamespaceAttribute(name: string): boolean {
  return name === 'xmlns' || name.startsWith('xmlns:') || name.startsWith('xsi:');
}

function hintFor(written: string, known: readonly string[]): string {
  const suggestion = suggestName(written, known);
  if (suggestion !== undefined) return `; did you mean "${suggestion}"?`;
  return known.length === 0 ? '' : `; expected one of: ${known.join(', ')}`;
}

function coerce(type: ScalarType, raw: string): unknown {
  if (type === 'integer' && /^[+-]?[0-9]+$/.test(raw)) {
    const n = Number(raw);
    return Number.isSafeInteger(n) ? n : raw;
  }
  if (type === 'boolean') {
    if (raw === 'true') return true;
    if (raw === 'false') return false;
  }
  return raw;
}

/** Reads XML config text. Throws `ConfigError` for malformed XML and for unknown elements or attributes. */
export function readXmlConfig(text: string, file: string): { config: Config; origin: ConfigOrigin } {
  if (text.length > CONFIG_LIMITS.fileBytesMax) {
    throw new ConfigError(`config is larger than ${CONFIG_LIMITS.fileBytesMax} characters`, { file });
  }
  const reader = new XmlReader(text.startsWith('\uFEFF') ? text.slice(1) : text, file);
  const root = reader.parseRoot();
  const config = reader.section(root, SHOAL_LAYOUT, [], true) as Config;
  return { config, origin: { file, format: 'xml', lines: reader.settingLines } };
}
