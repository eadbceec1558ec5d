/**
 * A small seeded pseudo-random generator (xoshiro128**, 32-bit words) and the way the simulator
 * splits one seed into independent streams.
 *
 * A stream is derived from (root seed, label), never from another stream's state, so drawing more
 * numbers in one subsystem (say, a longer workload) leaves every other subsystem's numbers as they
 * were: the network faults of seed 42 stay the same whatever the workload does.
 */
import type { Random } from '../core/runtime.js';

/** Largest seed accepted: seeds are non-negative safe integers. */
export const SEED_MAX = Number.MAX_SAFE_INTEGER;

const TWO_POW_32 = 0x1_0000_0000;

/** A 32-bit avalanche step (xor-shift-multiply); good enough to spread seeds over the state. */
function avalanche(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x21f0aaad);
  x ^= x >>> 15;
  x = Math.imul(x, 0x735a2d97);
  x ^= x >>> 15;
  return x >>> 0;
}

/** FNV-1a over the UTF-16 code units of `text`, then an avalanche. */
function hashLabel(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return avalanche(h >>> 0);
}

export function checkSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`a seed is an integer in 0..${SEED_MAX}, got ${seed}`);
  }
}

export class Prng implements Random {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** The stream named `label` of `seed`. */
  constructor(seed: number, label = '') {
    checkSeed(seed);
    const lo = seed >>> 0;
    const hi = Math.floor(seed / TWO_POW_32) >>> 0;
    const l = hashLabel(label);
    let k = avalanche(lo ^ avalanche(hi ^ 0x6a09e667) ^ l);
    const word = (): number => {
      k = (k + 0x9e3779b9) >>> 0;
      return avalanche(k ^ l);
    };
    this.s0 = word();
    this.s1 = word();
    this.s2 = word();
    this.s3 = word();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
    // Warm up: the first outputs of a freshly seeded xoshiro are weakly mixed.
    for (let i = 0; i < 8; i++) this.u32();
  }

  /** 32 uniformly random bits as an unsigned integer. */
  u32(): number {
    const s1 = this.s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / TWO_POW_32;
  }

  /** Uniform integer in [0, bound). */
  int(bound: number): number {
    if (!(bound >= 1)) return 0;
    return Math.floor(this.next() * Math.floor(bound));
  }

  /** Uniform integer in [min, max] (both included). */
  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  /** Uniform real in [min, max). */
  real(min: number, max: number): number {
    return min + this.next() * (max - min);
  }

  /** True with probability `p`. Consumes one number whatever `p` is, so streams stay aligned. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Exponentially distributed with the given mean. */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[this.int(items.length)];
  }

  /** A random subset: each item kept with probability `p`. */
  subset<T>(items: readonly T[], p: number): T[] {
    return items.filter(() => this.chance(p));
  }

  /** 128 random bits shaped as a version-4 UUID. */
  uuid(): string {
    const hex = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');
    const a = hex(this.u32());
    const b = hex((this.u32() & 0xffff0fff) | 0x00004000);
    const c = hex((this.u32() & 0x3fffffff) | 0x80000000);
    const d = hex(this.u32());
    return `${a}-${b.slice(0, 4)}-${b.slice(4)}-${c.slice(0, 4)}-${c.slice(4)}${d}`;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** A seeded `() => [0, 1)`, where a plain function is wanted (test schedules, load workers). */
export function seededRandom(seed: number): () => number {
  const prng = new Prng(seed);
  return () => prng.next();
}
