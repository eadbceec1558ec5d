/** CPU time of processes by pid, from /proc (Linux); null elsewhere or when the process is gone. */
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** User + system CPU seconds the process has used so far. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return Number.isFinite(utime) && Number.isFinite(stime) ? (utime + stime) / TICKS_PER_SECOND : null;
  } catch {
    return null;
  }
}

/** Samples several processes' CPU time; `stop()` returns each one's CPU use in % of one core. */
export function cpuWindow(pids: Record<string, number>): { stop: () => Record<string, number> } {
  const started = performance.now();
  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
  return {
    stop: () => {
      const seconds = (performance.now() - started) / 1000;
      const out: Record<string, number> = {};
      for (const [k, pid] of Object.entries(pids)) {
        const a = before[k];
        const b = cpuSeconds(pid);
        if (a !== null && a !== undefined && b !== null) out[k] = Math.round(((b - a) / seconds) * 100);
      }
      return out;
    },
  };
}
