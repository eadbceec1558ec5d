#!/usr/bin/env node
// The `shoal` command. Runs the compiled CLI (dist/cli/main.js) when the package is built or
// installed; in a fresh clone without a build it registers tsx and runs the TypeScript source, so
// `npx shoal` works right after `npm install`.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/cli/main.js', import.meta.url);

if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    process.stderr.write(
      'shoal: dist/cli/main.js is missing and tsx is not installed; run `npm run build` (or `npm install`) first\n',
    );
    process.exit(1);
  }
  register();
  await import(new URL('../src/cli/main.ts', import.meta.url).href);
}
