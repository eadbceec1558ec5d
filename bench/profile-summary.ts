/**
 * Summarises V8 .cpuprofile files (from `npm run bench -- --profile`, or any `node --cpu-prof`):
 * the functions with the most self time, and self time per source file.
 *
 *   npx tsx bench/profile-summary.ts bench/results/profiles/*.cpuprofile [--top 25]
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

function shortUrl(url: string): string {
  if (url === '') return '(native)';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') ? path.replace(/^.*node_modules\//, 'node_modules/') : rel;
}

function summarise(file: string, top: number): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  for (const n of profile.nodes) byId.set(n.id, n);
  const selfByFunction = new Map<string, number>();
  const selfByFile = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]);
    const dt = profile.timeDeltas[i] ?? 0;
    if (node === undefined) continue;
    total += dt;
    const f = node.callFrame;
    const where = shortUrl(f.url);
    const key = `${f.functionName === '' ? '(anonymous)' : f.functionName}  ${where}${f.url === '' ? '' : `:${f.lineNumber + 1}`}`;
    selfByFunction.set(key, (selfByFunction.get(key) ?? 0) + dt);
    selfByFile.set(where, (selfByFile.get(where) ?? 0) + dt);
  }
  const idle = [...selfByFunction.entries()].filter(([k]) => k.startsWith('(idle)') || k.startsWith('(program)') || k.startsWith('(garbage collector)'));
  console.log(`\n${file}: ${(total / 1e6).toFixed(2)} s sampled (${idle.map(([k, v]) => `${k.split(' ')[0]} ${((v / total) * 100).toFixed(1)}%`).join(', ')})`);
  const print = (title: string, map: Map<string, number>): void => {
    console.log(`  ${title}`);
    for (const [k, v] of [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(`  ${((v / total) * 100).toFixed(1).padStart(5)}%  ${(v / 1000).toFixed(0).padStart(7)} ms  ${k}`);
    }
  };
  print('self time by function:', selfByFunction);
  print('self time by file:', selfByFile);
}

const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const top = topAt >= 0 ? Number(args[topAt + 1]) : 25;
const files = args.filter((a, i) => !a.startsWith('--') && (topAt < 0 || i !== topAt + 1));
if (files.length === 0) {
  console.error('usage: tsx bench/profile-summary.ts <file.cpuprofile>... [--top N]');
  process.exitCode = 2;
}
for (const f of files) summarise(f, top);
