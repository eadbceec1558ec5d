/**
 * A child process of `runBatch`: runs seeds first, first+step, … (task as JSON in argv[2]) and
 * sends one summary per seed to its parent.
 */
import type { SimOverrides } from './options.js';
import { runSeed } from './run-seed.js';
import { summarise } from './runner.js';

interface Task {
  readonly first: number;
  readonly count: number;
  readonly step: number;
  readonly overrides: SimOverrides;
}

const task = JSON.parse(process.argv[2] ?? '{}') as Task;
for (let i = 0; i < task.count; i++) {
  const result = await runSeed(task.first + i * task.step, task.overrides);
  await new Promise<void>((resolve, reject) => {
    process.send?.(summarise(result), (error: Error | null) => (error ? reject(error) : resolve()));
  });
}
process.disconnect?.();
