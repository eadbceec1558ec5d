import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ConfigError, parseXmlConfig, parseYamlConfig, resolveConfig } from '../../src/config/index.js';
import { FIXTURES } from './helpers.js';

const XML = readFileSync(join(FIXTURES, 'full.xml'), 'utf8');
const YAML = readFileSync(join(FIXTURES, 'full.yaml'), 'utf8');

/** A damaged copy of `text`: a slice replaced by characters that matter to the format. */
function damaged(text: string, alphabet: string[]) {
  return fc
    .tuple(fc.nat(text.length), fc.nat(12), fc.array(fc.constantFrom(...alphabet), { maxLength: 8 }))
    .map(([at, cut, insert]) => text.slice(0, at) + insert.join('') + text.slice(at + cut));
}

/** Parsing either succeeds or fails with a ConfigError that has a file and, for file problems, a line. */
function parsesOrExplains(parse: (text: string, file: string) => unknown, text: string): void {
  try {
    resolveConfig(parse(text, 'f') as Parameters<typeof resolveConfig>[0]);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `not a ConfigError: ${String(err)}`);
    assert.equal(err.file, 'f');
    assert.ok(err.line === undefined || (Number.isInteger(err.line) && err.line >= 1), `bad line ${err.line}`);
  }
}

void describe('damaged config files', () => {
  void it('XML: every failure is a ConfigError', () => {
    const alphabet = ['<', '>', '/', '"', '=', '&', ';', '#', ' ', '\n', 'a', '1', '-', '!', '?', ']]>', '<![CDATA['];
    fc.assert(fc.property(damaged(XML, alphabet), (text) => parsesOrExplains(parseXmlConfig, text)), { numRuns: 400, seed: 1 });
  });

  void it('YAML: every failure is a ConfigError', () => {
    const alphabet = [':', '-', ' ', '\n', '  ', '[', ']', '{', '}', '"', "'", '&a', '*a', '!', '#', 'x', '1', '|', '>'];
    fc.assert(fc.property(damaged(YAML, alphabet), (text) => parsesOrExplains(parseYamlConfig, text)), { numRuns: 400, seed: 1 });
  });

  void it('arbitrary text: every failure is a ConfigError', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        parsesOrExplains(parseXmlConfig, text);
        parsesOrExplains(parseYamlConfig, text);
      }),
      { numRuns: 300, seed: 2 },
    );
  });
});
