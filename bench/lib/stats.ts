/** Small statistics helpers: medians with spread, percentiles of latency samples. */

export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** Every run's figure, in run order. */
  readonly runs: readonly number[];
}

export function spread(values: readonly number[]): Spread {
  if (values.length === 0) throw new RangeError('spread of no values');
  const sorted = [...values].sort((a, b) => a - b);
  return { median: median(sorted), min: sorted[0], max: sorted[sorted.length - 1], runs: [...values] };
}

/** Median of already sorted values. */
function median(sorted: readonly number[]): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The q-quantile (0..1) of samples, nearest-rank; sorts `samples` in place. */
export function percentile(samples: Float64Array, q: number): number {
  if (samples.length === 0) return Number.NaN;
  samples.sort();
  const rank = Math.min(samples.length - 1, Math.max(0, Math.ceil(q * samples.length) - 1));
  return samples[rank];
}

/** Latency samples in microseconds, growing as needed (no per-sample allocation). */
export class LatencyRecorder {
  private samples = new Float64Array(1 << 16);
  private count = 0;

  add(us: number): void {
    if (this.count === this.samples.length) {
      const grown = new Float64Array(this.samples.length * 2);
      grown.set(this.samples);
      this.samples = grown;
    }
    this.samples[this.count++] = us;
  }

  get size(): number {
    return this.count;
  }

  summary(): { p50: number; p99: number; mean: number } {
    const view = this.samples.subarray(0, this.count);
    let sum = 0;
    for (let i = 0; i < view.length; i++) sum += view[i];
    const p50 = percentile(view, 0.5);
    const p99 = percentile(view, 0.99);
    return { p50, p99, mean: view.length === 0 ? Number.NaN : sum / view.length };
  }
}
