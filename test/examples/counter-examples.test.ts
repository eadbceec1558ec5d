/**
 * The seeds' walk-through, run as real programs: each example's output must equal the expected
 * output written in its header. They use the default ports (5701…), so they run one at a time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expectedOutput, runExample } from './expected-output.js';

const examples: [string, string[]][] = [
  ['examples/counter/step1-create.ts', []],
  ['examples/counter/step1-create.ts', ['--yaml']],
  ['examples/counter/step4-proxy.ts', []],
  ['examples/counter/step5-containers.ts', []],
  ['examples/counter/step6-migration.ts', []],
  ['examples/counter/step7-backups.ts', []],
  ['examples/counter/failover.ts', []],
];

describe('counter walk-through examples', { concurrency: 1 }, () => {
  for (const [file, args] of examples) {
    it(`${file} ${args.join(' ')} prints its expected output`, async () => {
      const result = await runExample(file, args);
      assert.equal(result.code, 0, `exit code ${result.code}; stderr:\n${result.stderr}`);
      assert.deepEqual(result.stdout, expectedOutput(file), `stderr:\n${result.stderr}`);
    });
  }
});
