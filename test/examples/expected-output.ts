/** Runs an example as its own process and reads the expected output from its header comment. */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export function expectedOutput(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const header = text.slice(0, text.indexOf('*/'));
  const start = header.indexOf('Expected output:');
  if (start < 0) throw new Error(`${file} has no "Expected output:" block`);
  return header
    .slice(start)
    .split('\n')
    .slice(1)
    .map((l) => l.replace(/^ \*\s{0,3}/, ''))
    .filter((l) => l.trim().length > 0);
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string[];
  readonly stderr: string;
}

export function runExample(file: string, args: string[] = [], timeoutMs = 120_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} did not finish within ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: stdout.split('\n').filter((l) => l.length > 0), stderr });
    });
  });
}
