/**
 * Engine bugs the simulator found that are reported and not fixed yet, one replayable seed each
 * (./known-bugs/*.json keeps the exact options). These run as TODO tests: they report, they do not
 * fail the suite. Once a bug is fixed its seed passes here; move its file to ./regressions.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { runOptions, type SimOptions } from '../../src/testing/index.js';

interface KnownBug {
  readonly seed: number;
  readonly replay: string;
  readonly bug: string;
  readonly options: SimOptions;
}

const dir = fileURLToPath(new URL('./known-bugs/', import.meta.url));
for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
  const k = JSON.parse(readFileSync(dir + file, 'utf8')) as KnownBug;
  test(`known engine bug ${file}`, { todo: k.bug }, async () => {
    const result = await runOptions(k.options);
    assert.deepEqual(
      result.violations.map((v) => `${v.checker}: ${v.message}`),
      [],
      `still broken; replay: ${k.replay}`,
    );
  });
}
