// Ending an admitted operation (gateway/src/admission.ts `finish`): the refund and slot release go to
// the store without the response waiting for them, the response reports the bucket as the refund
// leaves it, and nothing this gateway remembers of the bucket refuses an operation the refund makes room for.
import { describe, expect, it } from 'vitest';
import { bucketKey, concurrencyKey, createAdmitter } from '../../gateway/src/admission';
import { createLocalRefusals } from '../../gateway/src/local-refusals';
import type { PlanLimits, TenantContext } from '../../tenancy/context';
import { createLogger } from '../../tenancy/logger';
import { createMemoryStore, type KeyValueStore } from '../../tenancy/store';

const tenant: TenantContext = { tenantId: 't-1', tenantSlug: 'acme-pets', subject: 'u', roles: ['admin'], plan: 'free', isolation: 'shared', requestId: 'r' };
const limits: PlanLimits = { monthlyBudget: 1_000_000, bucketCapacity: 100, restoreRate: 0.001, maxOperationCost: 100, maxConcurrency: 5, softLimitPercent: 80, gracePercent: 0 };
const policy = { capacity: limits.bucketCapacity, restoreRate: limits.restoreRate };

/** The memory store, with `settle` held until released (as a slow Redis would hold it). */
function heldSettles(store: KeyValueStore) {
  const held: Array<() => void> = [];
  const wrapped: KeyValueStore = Object.create(store);
  wrapped.settle = (...args) =>
    new Promise((resolve, reject) => {
      held.push(() => store.settle(...args).then(resolve, reject));
    });
  return { store: wrapped, release: () => held.splice(0).forEach((go) => go()), held };
}

describe('finishing an admitted operation', () => {
  it('reports the bucket after the refund without waiting for the store, which applies it when it answers', async () => {
    const memory = createMemoryStore();
    const { store, release, held } = heldSettles(memory);
    const admitter = createAdmitter({ store, logger: createLogger('test', 'silent'), monthToDate: async () => 0 });
    const admitted = await admitter.admit(tenant, limits, 60, 'slot-1');
    expect(admitted.bucket.available).toBeCloseTo(40, 1);
    const at = performance.now();

    const after = admitter.finish(tenant, limits, 'slot-1', 45, { state: admitted.bucket, at });
    expect(held).toHaveLength(1); // sent, not answered
    expect(after!.available).toBeCloseTo(85, 1);
    expect(after!.monthUsed).toBe(admitted.monthUsed! - 45);
    // The store has not applied it yet; once it answers, it holds what the response reported.
    expect((await memory.peekTokens(bucketKey(tenant.tenantSlug), policy)).available).toBeCloseTo(40, 1);
    release();
    await new Promise((resolve) => setImmediate(resolve));
    expect((await memory.peekTokens(bucketKey(tenant.tenantSlug), policy)).available).toBeCloseTo(85, 1);
    // The slot is free again: five more operations fit the plan's concurrency of five.
    for (let i = 0; i < 5; i++) await admitter.admit(tenant, limits, 1, `slot-${i + 2}`);
    await expect(memory.acquireSlot(concurrencyKey(tenant.tenantSlug), 'one-more', limits.maxConcurrency, 60_000)).resolves.toBe(false);
  });

  it('caps the projection at the capacity and never reports an operation that cost nothing back', async () => {
    const admitter = createAdmitter({ store: createMemoryStore(), logger: createLogger('test', 'silent') });
    const admitted = await admitter.admit(tenant, limits, 10, 'slot-1');
    expect(admitter.finish(tenant, limits, 'slot-1', 50, { state: admitted.bucket, at: performance.now() })!.available).toBe(100);
    const again = await admitter.admit(tenant, limits, 10, 'slot-2');
    expect(admitter.finish(tenant, limits, 'slot-2', 0, { state: again.bucket, at: performance.now() })).toBeUndefined();
  });

  it('credits a refund on its way to what it knows of the bucket, so it never refuses locally what the store would admit', async () => {
    const memory = createMemoryStore();
    const { store, release } = heldSettles(memory);
    const localRefusals = createLocalRefusals();
    const admitter = createAdmitter({ store, logger: createLogger('test', 'silent'), localRefusals });
    const first = await admitter.admit(tenant, limits, 90, 'slot-1'); // 10 left
    await expect(admitter.admit(tenant, limits, 50, 'slot-2')).rejects.toMatchObject({ extensions: { code: 'RATE_LIMITED', reason: 'BUCKET' } });
    expect(admitter.shortage(tenant, limits, 50)).toBeDefined(); // known short: refused without the store
    admitter.finish(tenant, limits, 'slot-1', 80, { state: first.bucket, at: performance.now() }); // 90 once applied
    expect(admitter.shortage(tenant, limits, 50)).toBeUndefined();
    // Still known: an operation the refunded bucket cannot hold is refused without the store.
    expect(admitter.shortage(tenant, limits, 95)).toMatchObject({ allowed: false, refusal: 'bucket' });
    release();
    // Ordered after the refund, as ioredis orders commands on its one connection.
    await new Promise((resolve) => setImmediate(resolve));
    await expect(admitter.admit(tenant, limits, 50, 'slot-3')).resolves.toMatchObject({ bucket: { allowed: true } });
  });
});
