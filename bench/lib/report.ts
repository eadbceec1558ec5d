/** Formatting of figures and the results table. */
import type { Spread } from './stats.js';

export type Verdict = 'PASS' | 'FAIL' | 'info' | 'skipped' | 'ERROR';

export interface Row {
  readonly scenario: string;
  readonly shoal: string;
  readonly anchor: string;
  readonly ratio: string;
  readonly target: string;
  readonly verdict: Verdict;
}

export function fmtRate(v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (v >= 1e4) return `${Math.round(v / 1e3)}k`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  return v.toFixed(0);
}

export function fmtUs(v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  return v >= 10_000 ? `${(v / 1000).toFixed(1)}ms` : `${Math.round(v)}µs`;
}

export function fmtRatio(v: number): string {
  return Number.isFinite(v) ? `${v.toFixed(2)}×` : 'n/a';
}

/** "median [min..max]" with a unit formatter. */
export function fmtSpread(s: Spread, fmt: (v: number) => string, unit = ''): string {
  if (s.runs.length === 1) return `${fmt(s.median)}${unit}`;
  return `${fmt(s.median)}${unit} [${fmt(s.min)}..${fmt(s.max)}]`;
}

export function renderTable(rows: readonly Row[]): string {
  const header: Row = { scenario: 'scenario', shoal: 'Shoal', anchor: 'anchor (same run)', ratio: 'ratio', target: 'target', verdict: 'info' };
  const cells = (r: Row): string[] => [r.scenario, r.shoal, r.anchor, r.ratio, r.target, r === header ? 'verdict' : r.verdict];
  const all = [header, ...rows].map(cells);
  const widths = all[0].map((_, c) => Math.max(...all.map((row) => [...row[c]].length)));
  const line = (row: string[]): string => `| ${row.map((cell, c) => cell + ' '.repeat(widths[c] - [...cell].length)).join(' | ')} |`;
  const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  return [line(all[0]), rule, ...all.slice(1).map(line)].join('\n');
}
