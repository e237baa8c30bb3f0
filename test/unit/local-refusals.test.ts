// The gateway's local view of tenants' buckets (gateway/src/local-refusals.ts): it may refuse early,
// never admit, and never trusts one answer of the store for longer than its maximum age.
import { describe, expect, it } from 'vitest';
import { createLocalRefusals } from '../../gateway/src/local-refusals';
import { createMemoryStore } from '../../tenancy/store';
import { retryAfterMs } from '../../tenancy/store/types';

const policy = { capacity: 58, restoreRate: 170 };

function clock(start = 1_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

describe('local refusals', () => {
  it('knows nothing until the store refuses for the bucket', () => {
    const time = clock();
    const local = createLocalRefusals({ now: time.now });
    local.observe('b', policy, { available: 17, refusal: undefined });
    expect(local.knows('b')).toBe(false);
    expect(local.check('b', policy, 41)).toBeUndefined();
    local.observe('b', policy, { available: 10, refusal: 'quota' });
    expect(local.knows('b')).toBe(false);
  });

  it('refuses what cannot fit in the bucket refilled since the refusal, with the retry time the store would give', () => {
    const time = clock();
    const local = createLocalRefusals({ now: time.now });
    local.observe('b', policy, { available: 20, refusal: 'bucket', monthUsed: 500 });
    expect(local.check('b', policy, 41)).toEqual({ available: 20, retryAfterMs: retryAfterMs(41, 20, policy), monthUsed: 500 });
    // A cheaper operation that fits goes to the store.
    expect(local.check('b', policy, 20)).toBeUndefined();
    time.advance(100); // +17 units
    const later = local.check('b', policy, 41)!;
    expect(later.available).toBeCloseTo(37, 6);
    expect(later.retryAfterMs).toBe(retryAfterMs(41, later.available, policy));
    time.advance(30); // 42.1 units: the store may admit it
    expect(local.check('b', policy, 41)).toBeUndefined();
  });

  it('follows later answers of the store while it knows the bucket (admissions take, refunds give back)', () => {
    const time = clock();
    const local = createLocalRefusals({ now: time.now });
    local.observe('b', policy, { available: 45, refusal: 'bucket' });
    local.observe('b', policy, { available: 4 }); // an admission took 41
    expect(local.check('b', policy, 41)?.available).toBe(4);
    local.observe('b', policy, { available: 28 }); // its refund
    expect(local.check('b', policy, 41)?.available).toBe(28);
  });

  it('takes a refund this gateway sent into its estimate, and knows nothing new from one', () => {
    const time = clock();
    const local = createLocalRefusals({ now: time.now });
    local.credit('b', 30); // nothing known: stays unknown
    expect(local.knows('b')).toBe(false);
    local.observe('b', policy, { available: 5, refusal: 'bucket' });
    local.credit('b', 24);
    expect(local.check('b', policy, 41)?.available).toBe(29);
    local.credit('b', 12); // 41: the store may admit it
    expect(local.check('b', policy, 41)).toBeUndefined();
  });

  it('trusts one answer for at most maxAgeMs, and not under another policy', () => {
    const time = clock();
    const local = createLocalRefusals({ now: time.now, maxAgeMs: 50 });
    const slow = { capacity: 100, restoreRate: 0.001 };
    local.observe('b', slow, { available: 0, refusal: 'bucket' });
    expect(local.check('b', slow, 1)).toBeDefined();
    expect(local.check('b', { capacity: 200, restoreRate: 0.001 }, 1)).toBeUndefined(); // the plan changed
    local.observe('b', slow, { available: 0, refusal: 'bucket' });
    time.advance(51);
    expect(local.check('b', slow, 1)).toBeUndefined();
    expect(local.knows('b')).toBe(false);
  });

  it('leaves operations that may pass the month to the store (QUOTA_EXCEEDED is its answer)', () => {
    const local = createLocalRefusals({ now: clock().now });
    local.observe('b', policy, { available: 0, refusal: 'bucket', monthUsed: 990 });
    expect(local.check('b', policy, 10, 1000)).toBeDefined();
    expect(local.check('b', policy, 11, 1000)).toBeUndefined();
  });

  it('learns nothing from a gateway admitting alone (a scaled local bucket)', () => {
    const local = createLocalRefusals({ now: clock().now });
    local.observe('b', policy, { available: 0, refusal: 'bucket', applied: { capacity: 29, restoreRate: 85 } });
    expect(local.knows('b')).toBe(false);
  });

  it('keeps at most maxTenants entries, dropping the stalest', () => {
    const local = createLocalRefusals({ now: clock().now, maxTenants: 2 });
    for (const key of ['a', 'b', 'c']) local.observe(key, policy, { available: 0, refusal: 'bucket' });
    expect(['a', 'b', 'c'].map((key) => local.knows(key))).toEqual([false, true, true]);
  });

  it('never refuses what the store would admit, while nothing else touches the bucket', async () => {
    // The store is the judge: replay a flood against the memory store and check every local refusal.
    const store = createMemoryStore();
    const local = createLocalRefusals();
    const bucketPolicy = { capacity: 58, restoreRate: 1_700 };
    let refusedLocally = 0;
    for (let i = 0; i < 400; i++) {
      const cost = i % 3 === 0 ? 41 : 17;
      if (local.check('k', bucketPolicy, cost)) {
        refusedLocally++;
        // The store, asked now, must refuse too (it can only hold as much or more than the estimate later).
        expect((await store.peekTokens('k', bucketPolicy)).available).toBeLessThan(cost + 1e-6 + bucketPolicy.restoreRate * 0.002);
        continue;
      }
      local.observe('k', bucketPolicy, await store.takeTokens('k', cost, bucketPolicy));
      if (i % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect(refusedLocally).toBeGreaterThan(0);
    await store.close();
  });
});
