/**
 * The named-partition examples, run as real programs: each example's output must equal the
 * expected output written in its header. They use ports 5801 and up (the counter examples use
 * 5701 and up), so this file can run beside the counter examples, and its own examples run one
 * at a time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expectedOutput, runExample } from './expected-output.js';

const examples = ['examples/named-partitions/define.ts', 'examples/named-partitions/migrate.ts', 'examples/named-partitions/failover.ts'];

describe('named-partition examples', { concurrency: 1 }, () => {
  for (const file of examples) {
    it(`${file} prints its expected output`, async () => {
      const result = await runExample(file);
      assert.equal(result.code, 0, `exit code ${result.code}; stderr:\n${result.stderr}`);
      assert.deepEqual(result.stdout, expectedOutput(file), `stderr:\n${result.stderr}`);
    });
  }
});
