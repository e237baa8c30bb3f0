// The bench's interval estimate for a percentile's rise (bench/stats.ts): pure logic, on synthetic rounds.
import { describe, expect, it } from 'vitest';
import { judgeAtLeast, judgeBelow, meanInterval, pairedPercentileDelta, pairedRatio, percentileRise } from '../../bench/stats';

/** `count` rounds of `size` latencies: a body around `typical` ms and 3 % slow ones (about 3x) per round. */
function rounds(count: number, size: number, typical: number, seed: number): number[][] {
  let state = seed >>> 0; // xorshift32
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
  return Array.from({ length: count }, () => Array.from({ length: size }, () => (next() < 0.03 ? typical * (3 + 0.3 * next()) : typical * (0.8 + 0.4 * next()))));
}

describe('percentile rise with a bootstrap interval over rounds', () => {
  it('finds no rise when both sides come from the same distribution, and judges a 10 % limit met', () => {
    const base = rounds(10, 200, 10, 1);
    const same = rounds(10, 200, 10, 2);
    const interval = percentileRise(base, same);
    expect(Math.abs(interval.estimate)).toBeLessThan(5);
    expect(interval.low).toBeLessThan(5);
    expect(interval.high).toBeGreaterThan(-5);
    expect(judgeBelow(interval, 10)).toBe('met');
    expect(interval.low).toBeLessThanOrEqual(interval.estimate);
    expect(interval.high).toBeGreaterThanOrEqual(interval.estimate);
  });

  it('finds a 50 % rise and judges a 10 % limit as not met, and a 100 % limit as met', () => {
    const base = rounds(10, 200, 10, 1);
    const slower = rounds(10, 200, 15, 3);
    const interval = percentileRise(base, slower);
    expect(interval.low).toBeGreaterThan(10);
    expect(interval.estimate).toBeGreaterThan(25);
    expect(interval.estimate).toBeLessThan(80);
    expect(judgeBelow(interval, 10)).toBe('not met');
    expect(judgeBelow(interval, 100)).toBe('met');
  });

  it('calls a limit inside the interval unresolved, and is the same on every run (seeded)', () => {
    const interval = { estimate: 5, low: -20, high: 30 };
    expect(judgeBelow(interval, 10)).toBe('unresolved');
    const base = rounds(4, 50, 10, 7);
    const test = rounds(4, 50, 11, 8);
    expect(percentileRise(base, test)).toEqual(percentileRise(base, test));
  });
});

describe('paired percentile difference with a bootstrap interval over rounds', () => {
  it('measures what one side adds in ms, and judges a 1 ms limit met, not met or unresolved', () => {
    const base = rounds(12, 300, 3, 11);
    const plusHalf = base.map((round) => round.map((ms) => ms + 0.5));
    const half = pairedPercentileDelta(base, plusHalf);
    expect(half.estimate).toBeCloseTo(0.5, 6);
    expect(half.low).toBeCloseTo(0.5, 6); // the same shift in every pair: no spread
    expect(judgeBelow(half, 1)).toBe('met');

    const plusTwo = base.map((round) => round.map((ms) => ms + 2));
    expect(judgeBelow(pairedPercentileDelta(base, plusTwo), 1)).toBe('not met');

    // Independent draws of the same distribution: a p99 from 300 samples a round moves by more than 1 ms.
    const other = rounds(12, 300, 3, 12);
    const noisy = pairedPercentileDelta(base, other);
    expect(noisy.low).toBeLessThan(0);
    expect(noisy.high).toBeGreaterThan(0);
    expect(noisy.low).toBeLessThanOrEqual(noisy.estimate);
    expect(noisy.high).toBeGreaterThanOrEqual(noisy.estimate);
    expect(pairedPercentileDelta(base, other)).toEqual(noisy); // seeded
  });

  it('keeps pairs together: a slow spell that hits both sides of a round does not widen the interval', () => {
    const base = rounds(12, 300, 3, 21).map((round, i) => round.map((ms) => ms * (i % 3 === 0 ? 2 : 1)));
    const ours = base.map((round) => round.map((ms) => ms + 0.3));
    const paired = pairedPercentileDelta(base, ours);
    expect(paired.high - paired.low).toBeLessThan(0.7);
    expect(judgeBelow(paired, 1)).toBe('met');
  });
});

describe('paired ratio with a bootstrap interval over rounds', () => {
  it('brackets the ratio of means, narrows with steadier rounds, and judges an at-least target', () => {
    const base = [400, 410, 390, 405, 395, 400, 402, 398];
    const steady = base.map((v) => v * 0.95);
    const tight = pairedRatio(steady, base);
    expect(tight.estimate).toBeCloseTo(0.95, 6);
    expect(tight.low).toBeCloseTo(0.95, 6); // a constant ratio in every pair: no spread at all
    expect(judgeAtLeast(tight, 0.9)).toBe('met');
    expect(judgeAtLeast(tight, 0.96)).toBe('not met');

    const noisy = base.map((v, i) => v * (i % 2 === 0 ? 0.8 : 1.05));
    const wide = pairedRatio(noisy, base);
    expect(wide.low).toBeLessThan(0.9);
    expect(wide.high).toBeGreaterThan(0.9);
    expect(judgeAtLeast(wide, 0.9)).toBe('unresolved');
    expect(pairedRatio(noisy, base)).toEqual(wide); // seeded
  });
});

describe('mean over runs with a t interval', () => {
  it('matches a hand-computed interval and judges against a minimum', () => {
    // mean 0.92, sd 0.01 (values 0.91, 0.92, 0.93), n = 3, t(0.975, 2) = 4.303: half-width 0.02484
    const interval = meanInterval([0.91, 0.92, 0.93]);
    expect(interval.estimate).toBeCloseTo(0.92, 10);
    expect(interval.sd).toBeCloseTo(0.01, 10);
    expect(interval.low).toBeCloseTo(0.92 - (4.303 * 0.01) / Math.sqrt(3), 10);
    expect(interval.high).toBeCloseTo(0.92 + (4.303 * 0.01) / Math.sqrt(3), 10);
    expect(judgeAtLeast(interval, 0.9)).toBe('unresolved');
    // Six PostgreSQL + Redis light-query ratios from docs/BENCHMARKS.md: wholly above 0.90.
    const six = meanInterval([0.927, 0.906, 0.932, 0.92, 0.913, 0.921]);
    expect(six.low).toBeCloseTo(0.91, 3);
    expect(judgeAtLeast(six, 0.9)).toBe('met');
  });

  it('needs two observations, and keeps the quantile of 30 degrees of freedom past them', () => {
    expect(() => meanInterval([0.9])).toThrow();
    const many = meanInterval(Array.from({ length: 40 }, (_, i) => (i % 2 ? 1 : 0)));
    expect(many.high - many.estimate).toBeCloseTo((2.042 * many.sd) / Math.sqrt(40), 10);
  });
});
