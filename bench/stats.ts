// Interval estimates for the bench's percentile comparisons. A p99 from a few thousand latencies on a
// shared 2-core VM moves by tens of percent between identical rounds (a GC pause or a descheduled
// thread delays several consecutive requests), so a point estimate alone cannot say whether a 10 %
// rise is there. The round is the unit of resampling: rounds are drawn with replacement and their
// latencies pooled (a block bootstrap), which keeps the hiccups that hit neighbouring requests together.

/** Nearest-rank percentile of unsorted samples. */
function percentileOf(samples: Float64Array, p: number): number {
  const sorted = samples.slice().sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** A small seeded generator (mulberry32): the same rounds give the same interval on every run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function resample(rounds: number[][], next: () => number): Float64Array {
  const drawn: number[][] = [];
  let size = 0;
  for (let i = 0; i < rounds.length; i++) {
    const round = rounds[Math.floor(next() * rounds.length)]!;
    drawn.push(round);
    size += round.length;
  }
  const pooled = new Float64Array(size);
  let at = 0;
  for (const round of drawn) {
    pooled.set(round, at);
    at += round.length;
  }
  return pooled;
}

export interface RiseInterval {
  /** The rise of the pooled percentile: in percent of the baseline's (percentileRise), or in the samples' unit (pairedPercentileDelta). */
  estimate: number;
  /** Central interval of the resampled rises (95 % by default), in the same unit. */
  low: number;
  high: number;
}

/**
 * How much the `p`th percentile of `test` rises over that of `base`, with a bootstrap interval: each
 * side's rounds (arrays of latencies) are resampled independently `iterations` times.
 */
export function percentileRise(base: number[][], test: number[][], options: { p?: number; iterations?: number; confidence?: number; seed?: number } = {}): RiseInterval {
  const { p = 99, iterations = 2000, confidence = 0.95, seed = 1 } = options;
  if (base.length === 0 || test.length === 0) throw new Error('percentileRise needs at least one round on each side');
  const rise = (b: Float64Array, t: Float64Array) => {
    const reference = percentileOf(b, p);
    return ((percentileOf(t, p) - reference) / reference) * 100;
  };
  const estimate = rise(Float64Array.from(base.flat()), Float64Array.from(test.flat()));
  const next = random(seed);
  const rises = new Float64Array(iterations);
  for (let i = 0; i < iterations; i++) rises[i] = rise(resample(base, next), resample(test, next));
  rises.sort();
  const tail = (1 - confidence) / 2;
  return {
    estimate,
    low: rises[Math.floor(tail * (iterations - 1))]!,
    high: rises[Math.ceil((1 - tail) * (iterations - 1))]!,
  };
}

/**
 * A target "less than `limit`" (a rise in percent, or added milliseconds) judged on the interval: met
 * when the whole interval is below the limit, not met when it is wholly at or above it, unresolved when
 * the limit lies inside it (this run cannot tell).
 */
export function judgeBelow(interval: RiseInterval, limit: number): 'met' | 'not met' | 'unresolved' {
  if (interval.high < limit) return 'met';
  if (interval.low >= limit) return 'not met';
  return 'unresolved';
}

/**
 * How much the `p`th percentile of `test` exceeds that of `base`, in the samples' unit, for paired
 * rounds (round i of each side measured together, as the interleaved one-connection profile does), with
 * a bootstrap interval: round indices are drawn with replacement, the pair kept together, and each
 * side's drawn rounds pooled.
 */
export function pairedPercentileDelta(base: number[][], test: number[][], options: { p?: number; iterations?: number; confidence?: number; seed?: number } = {}): RiseInterval {
  const { p = 99, iterations = 2000, confidence = 0.95, seed = 1 } = options;
  const n = Math.min(base.length, test.length);
  if (n === 0) throw new Error('pairedPercentileDelta needs at least one pair of rounds');
  const pool = (rounds: number[][], indices: ArrayLike<number>) => {
    const picked = Array.from(indices, (i) => rounds[i]!);
    const pooled = new Float64Array(picked.reduce((size, round) => size + round.length, 0));
    let at = 0;
    for (const round of picked) {
      pooled.set(round, at);
      at += round.length;
    }
    return pooled;
  };
  const delta = (indices: ArrayLike<number>) => percentileOf(pool(test, indices), p) - percentileOf(pool(base, indices), p);
  const next = random(seed);
  const draws = new Float64Array(iterations);
  const picked = new Uint32Array(n);
  for (let i = 0; i < iterations; i++) {
    for (let k = 0; k < n; k++) picked[k] = Math.floor(next() * n);
    draws[i] = delta(picked);
  }
  draws.sort();
  const tail = (1 - confidence) / 2;
  return {
    estimate: delta(Array.from({ length: n }, (_, i) => i)),
    low: draws[Math.floor(tail * (iterations - 1))]!,
    high: draws[Math.ceil((1 - tail) * (iterations - 1))]!,
  };
}

export interface RatioInterval {
  estimate: number;
  low: number;
  high: number;
}

/**
 * mean(numerator) / mean(denominator) of paired rounds (round i of each side ran back to back), with
 * a bootstrap interval: round indices are drawn with replacement, the pairs kept together.
 */
export function pairedRatio(numerator: readonly number[], denominator: readonly number[], options: { iterations?: number; confidence?: number; seed?: number } = {}): RatioInterval {
  const { iterations = 2000, confidence = 0.95, seed = 1 } = options;
  const n = Math.min(numerator.length, denominator.length);
  if (n === 0) throw new Error('pairedRatio needs at least one pair of rounds');
  const ratio = (indices: ArrayLike<number>) => {
    let top = 0;
    let bottom = 0;
    for (let k = 0; k < indices.length; k++) {
      top += numerator[indices[k]!]!;
      bottom += denominator[indices[k]!]!;
    }
    return top / bottom;
  };
  const all = Array.from({ length: n }, (_, i) => i);
  const next = random(seed);
  const draws = new Float64Array(iterations);
  const picked = new Uint32Array(n);
  for (let i = 0; i < iterations; i++) {
    for (let k = 0; k < n; k++) picked[k] = Math.floor(next() * n);
    draws[i] = ratio(picked);
  }
  draws.sort();
  const tail = (1 - confidence) / 2;
  return { estimate: ratio(all), low: draws[Math.floor(tail * (iterations - 1))]!, high: draws[Math.ceil((1 - tail) * (iterations - 1))]! };
}

/** A target "at least `minimum`" judged on the interval: met when all of it is at or above, not met when all of it is below. */
export function judgeAtLeast(interval: RatioInterval, minimum: number): 'met' | 'not met' | 'unresolved' {
  if (interval.low >= minimum) return 'met';
  if (interval.high < minimum) return 'not met';
  return 'unresolved';
}

/** Two-sided 97.5 % quantiles of Student's t by degrees of freedom (1-30), for 95 % intervals. */
const T_975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074,
  2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/**
 * The mean of independent observations (one per bench run, each a fresh process) with its 95 %
 * Student's t interval. Unlike `pairedRatio`, whose rounds all share one process, this one counts
 * what differs between processes: JIT decisions, heap layout, the machine's state at start.
 */
export function meanInterval(values: readonly number[]): RatioInterval & { sd: number; n: number } {
  const n = values.length;
  if (n < 2) throw new Error('meanInterval needs at least two observations');
  const mean = values.reduce((sum, v) => sum + v, 0) / n;
  const sd = Math.sqrt(values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / (n - 1));
  const half = (T_975[Math.min(n - 1, T_975.length) - 1]! * sd) / Math.sqrt(n);
  return { estimate: mean, low: mean - half, high: mean + half, sd, n };
}
