import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { SHOAL_LAYOUT, type Layout } from '../../src/config/layout.js';

const DOC = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'config.md'), 'utf8');

interface Row {
  xml: string;
  yaml: string;
  code: string;
}

/** Every setting's spelling in the three forms, the way docs/config.md writes them. */
function rows(node: Layout, xml: string[], yaml: string, code: string, out: Row[]): void {
  const join2 = (a: string, b: string): string => (a === '' ? b : `${a}.${b}`);
  if (node.kind !== 'section') return;
  for (const [key, child] of Object.entries(node.children)) {
    switch (child.kind) {
      case 'scalar':
        out.push({ xml: [...xml, child.attribute === true ? `@${key}` : key].join('/'), yaml: join2(yaml, key), code: join2(code, child.field) });
        break;
      case 'section':
        rows(child, [...xml, key], join2(yaml, key), join2(code, child.field), out);
        break;
      case 'valued':
        out.push({ xml: `${[...xml, key].join('/')}\` (text)`, yaml: join2(yaml, key), code: join2(code, child.value.field) });
        for (const [opt, o] of Object.entries(child.options)) {
          out.push({ xml: [...xml, key, `@${opt}`].join('/'), yaml: `${join2(yaml, key)}.${opt}`, code: join2(code, o.field) });
        }
        break;
      case 'list': {
        const itemXml = child.xmlWrapped ? [...xml, key, child.xmlItem] : [...xml, child.xmlItem];
        out.push({ xml: itemXml.join('/'), yaml: join2(yaml, key), code: join2(code, child.field) });
        if (child.item.kind === 'section') rows(child.item, itemXml, `${join2(yaml, key)}[i]`, `${join2(code, child.field)}[i]`, out);
        break;
      }
      case 'map':
        out.push({ xml: `${[...xml, key].join('/')}/<key>`, yaml: `${join2(yaml, key)}.<key>`, code: join2(code, child.field) });
        break;
    }
  }
}

void describe('docs/config.md', () => {
  const all: Row[] = [];
  rows(SHOAL_LAYOUT, [], '', '', all);

  void it('has a reference row for every setting, in XML, YAML and code spelling', () => {
    assert.ok(all.length > 30);
    for (const row of all) {
      const xml = row.xml.endsWith(' (text)') ? row.xml : `${row.xml}\``;
      assert.ok(DOC.includes(`| \`${xml}`), `XML ${row.xml} missing`);
      assert.ok(DOC.includes(`\`${row.yaml}\``), `YAML ${row.yaml} missing`);
      assert.ok(DOC.includes(`\`${row.code}\``), `code ${row.code} missing`);
    }
  });
});
