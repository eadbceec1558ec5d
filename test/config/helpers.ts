import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, parseXmlConfig, parseYamlConfig, resolveConfig, type Config, type ResolvedConfig } from '../../src/config/index.js';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'config');

export type Format = 'xml' | 'yaml' | 'code';

/** Parses and resolves one config given as XML text, YAML text or a programmatic object. */
export function resolveAny(format: Format, input: string | Config, file = format === 'xml' ? 'shoal.xml' : 'shoal.yaml'): ResolvedConfig {
  if (format === 'code') return resolveConfig(input as Config);
  const text = input as string;
  return resolveConfig(format === 'xml' ? parseXmlConfig(text, file) : parseYamlConfig(text, file));
}

export interface ExpectedError {
  file?: string;
  line?: number;
  field?: string;
  /** Matched against the whole message. */
  message: RegExp;
}

/** Asserts `fn` throws a ConfigError at the expected place, and that the message names file, line and field. */
export function assertConfigError(fn: () => unknown, expected: ExpectedError): ConfigError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  checkConfigError(caught, expected);
  return caught;
}

export function checkConfigError(err: ConfigError, expected: ExpectedError): void {
  assert.equal(err.file, expected.file, `file in: ${err.message}`);
  assert.equal(err.line, expected.line, `line in: ${err.message}`);
  assert.equal(err.field, expected.field, `field in: ${err.message}`);
  const prefix = [
    expected.file === undefined ? '' : `${expected.file}:`,
    expected.line === undefined ? '' : `${expected.line}:`,
  ].join('');
  assert.ok(err.message.startsWith(prefix), `message should start with "${prefix}": ${err.message}`);
  if (expected.field !== undefined) assert.ok(err.message.includes(`${expected.field}: `), `message should name ${expected.field}: ${err.message}`);
  assert.match(err.message, expected.message);
}

/** A small XML config around `body` (inside <shoal>), starting on line 1 with <shoal>. */
export function xml(body: string): string {
  return `<shoal>\n${body}\n</shoal>\n`;
}

/** A YAML config with `body` indented under `shoal:` (line 1), so body line n is file line n+1. */
export function yaml(body: string): string {
  return `shoal:\n${body
    .split('\n')
    .map((l) => (l === '' ? l : `  ${l}`))
    .join('\n')}\n`;
}
