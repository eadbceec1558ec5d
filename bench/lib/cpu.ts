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

/**
 * Seconds the process's main thread (the event loop) ran and waited runnable for a core
 * (/proc/<pid>/schedstat); null when unavailable.
 */
export function schedSeconds(pid: number): { run: number; wait: number } | null {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
    return Number.isFinite(run) && Number.isFinite(wait) ? { run: run / 1e9, wait: wait / 1e9 } : null;
  } catch {
    return null;
  }
}

export interface CpuShare {
  /** CPU seconds used by the whole process in the window. */
  readonly seconds: number;
  /** CPU used by the whole process, % of one core. */
  readonly cpu: number;
  /** Time the main thread waited for a core while runnable, % of the window (starvation). */
  readonly waitingForCore: number;
}

/** Samples several processes' CPU time; `stop()` returns each one's CPU use and core wait. */
export function cpuWindow(pids: Record<string, number>): { stop: () => Record<string, CpuShare> } {
  const started = performance.now();
  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, { cpu: cpuSeconds(pid), sched: schedSeconds(pid) }]));
  return {
    stop: () => {
      const seconds = (performance.now() - started) / 1000;
      const out: Record<string, CpuShare> = {};
      for (const [k, pid] of Object.entries(pids)) {
        const a = before[k];
        const cpu = cpuSeconds(pid);
        const sched = schedSeconds(pid);
        if (a === undefined || a.cpu === null || cpu === null) continue;
        const wait = a.sched !== null && sched !== null ? sched.wait - a.sched.wait : Number.NaN;
        out[k] = { seconds: cpu - a.cpu, cpu: Math.round(((cpu - a.cpu) / seconds) * 100), waitingForCore: Math.round((wait / seconds) * 100) };
      }
      return out;
    },
  };
}

function systemTimes(): { idle: number; total: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal …
    const idle = v[3] + (v[4] ?? 0);
    return { idle, total: v.slice(0, 8).reduce((a, b) => a + b, 0) };
  } catch {
    return null;
  }
}

/** Share of all cores idle over `ms` (0..1), or null without /proc. Tells how busy the machine is. */
export async function systemIdle(ms: number): Promise<number | null> {
  const a = systemTimes();
  await new Promise((r) => setTimeout(r, ms));
  const b = systemTimes();
  if (a === null || b === null || b.total === a.total) return null;
  return (b.idle - a.idle) / (b.total - a.total);
}
