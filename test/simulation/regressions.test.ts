/**
 * Every seed that ever failed is kept in ./regressions as JSON (the options it ran with, what
 * broke, what fixed it) and replayed here with exactly those options.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { runOptions, type SimOptions } from '../../src/testing/index.js';

interface Regression {
  readonly seed: number;
  readonly replay: string;
  readonly broke: readonly string[];
  readonly fix: string;
  readonly options: SimOptions;
}

const dir = fileURLToPath(new URL('./regressions/', import.meta.url));
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

test('the regression folder is not empty', () => {
  assert.ok(files.length > 0);
});

for (const file of files) {
  const r = JSON.parse(readFileSync(dir + file, 'utf8')) as Regression;
  test(`regression ${file}: ${r.broke[0] ?? ''}`.slice(0, 200), async () => {
    assert.equal(r.options.seed, r.seed);
    const result = await runOptions(r.options);
    const lines = result.violations.map((v) => `${v.checker}: ${v.message}`);
    assert.deepEqual(lines, [], `seed ${r.seed} broke again (fixed by: ${r.fix}); replay: ${r.replay}\n${result.trace.slice(-30).join('\n')}`);
  });
}
