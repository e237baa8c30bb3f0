// Leases (gateway/src/admission.ts LeaseOptions): while a tenant is far from its limits, one store call
// admits an operation and lends this gateway a share of the bucket and a few slots, from which it admits
// the next operations itself; what it did not use goes back when the lease ends. These tests run the
// admitter on the in-process store (the same conformance suite as Redis) and count its calls.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { bucketKey, concurrencyKey, createAdmitter, monthlyCounter, type Admitter } from '../../gateway/src/admission';
import type { PlanLimits, TenantContext } from '../../tenancy/context';
import { createLogger } from '../../tenancy/logger';
import { createMemoryStore, type KeyValueStore } from '../../tenancy/store';

const tenant: TenantContext = { tenantId: 't-1', tenantSlug: 'fluffy-friends', subject: 'u', roles: ['admin'], plan: 'pro', isolation: 'shared', requestId: 'r' };
const limits: PlanLimits = { monthlyBudget: 1_000_000, bucketCapacity: 10_000, restoreRate: 0.001, maxOperationCost: 1_000, maxConcurrency: 32, softLimitPercent: 80, gracePercent: 0 };
const policy = { capacity: limits.bucketCapacity, restoreRate: limits.restoreRate };
const logger = createLogger('test', 'silent');

/** The in-process store with this month's counter seeded, counting the admission calls that reach it. */
async function counted() {
  const store = createMemoryStore();
  await store.seedCounter(monthlyCounter(tenant, limits).key, 0, 3600);
  const calls = { admit: 0, settle: 0, release: 0 };
  const wrapped: KeyValueStore = Object.create(store);
  wrapped.admit = (...args) => (calls.admit++, store.admit(...args));
  wrapped.settle = (...args) => (calls.settle++, store.settle(...args));
  wrapped.releaseSlot = (...args) => (calls.release++, store.releaseSlot(...args));
  return { store: wrapped, memory: store, calls };
}

const admitters: Admitter[] = [];
function leasing(store: KeyValueStore, windowMs = 60_000) {
  const admitter = createAdmitter({ store, logger, monthToDate: async () => 0, lease: { windowMs } });
  admitters.push(admitter);
  return admitter;
}
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(admitters.splice(0).map((a) => a.returnLeases()));
});

/** Slots held in the store: how many more of `limit` can still be acquired, then released again. */
async function freeSlots(store: KeyValueStore, limit: number): Promise<number> {
  const key = concurrencyKey(tenant.tenantSlug);
  let free = 0;
  while (await store.acquireSlot(key, `probe-${free}`, limit, 60_000)) free++;
  for (let i = 0; i < free; i++) await store.releaseSlot(key, `probe-${i}`);
  return free;
}

const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('admission leases', () => {
  it('admits the next operations from the lease without the store, and reports the bucket and month as if it had asked', async () => {
    const { store, memory, calls } = await counted();
    const admitter = leasing(store);
    let spent = 0;
    for (let i = 0; i < 20; i++) {
      const admitted = await admitter.admit(tenant, limits, 7, `op-${i}`, { lease: true });
      spent += 7;
      expect(admitted.bucket.available).toBeCloseTo(limits.bucketCapacity - spent, 0);
      expect(admitted.monthUsed).toBe(spent);
      admitter.finish(tenant, limits, admitted.slotId, 0);
    }
    expect(calls.admit).toBe(1);
    // The store holds the lease's share away from other gateways, and counts it in the month.
    const lent = limits.bucketCapacity * 0.05;
    expect((await memory.peekTokens(bucketKey(tenant.tenantSlug), policy)).available).toBeCloseTo(limits.bucketCapacity - 7 - lent, 0);
    // Returned: the store has exactly what was spent, and every slot is free.
    await admitter.returnLeases();
    expect((await memory.peekTokens(bucketKey(tenant.tenantSlug), policy)).available).toBeCloseTo(limits.bucketCapacity - spent, 0);
    expect(Number(await memory.get(monthlyCounter(tenant, limits).key))).toBe(spent);
    expect(await freeSlots(memory, limits.maxConcurrency)).toBe(limits.maxConcurrency);
  });

  it('gives refunds back to the lease, and returns what it did not use when its window ends', async () => {
    const { store, memory, calls } = await counted();
    const admitter = leasing(store, 50);
    const first = await admitter.admit(tenant, limits, 40, 'op-1', { lease: true });
    admitter.finish(tenant, limits, first.slotId, 30, { state: first.bucket, at: performance.now() }); // not from the lease: settled in the store
    const second = await admitter.admit(tenant, limits, 40, 'op-2', { lease: true });
    const refunded = admitter.finish(tenant, limits, second.slotId, 30);
    expect(refunded!.available).toBeCloseTo(limits.bucketCapacity - 20, 0);
    expect(refunded!.monthUsed).toBe(20);
    expect(calls).toMatchObject({ admit: 1, settle: 1 });
    await new Promise((resolve) => setTimeout(resolve, 80));
    await settled();
    expect(calls.settle).toBe(2); // the lease's return
    expect((await memory.peekTokens(bucketKey(tenant.tenantSlug), policy)).available).toBeCloseTo(limits.bucketCapacity - 20, 0);
    expect(Number(await memory.get(monthlyCounter(tenant, limits).key))).toBe(20);
    expect(await freeSlots(memory, limits.maxConcurrency)).toBe(limits.maxConcurrency);
    // The next operation asks the store again (and may take a new lease).
    await admitter.admit(tenant, limits, 1, 'op-3', { lease: true });
    expect(calls.admit).toBe(2);
  });

  it('admits beyond its slots through the store, and frees in the store a slot held past the lease', async () => {
    const { store, memory, calls } = await counted();
    const admitter = leasing(store);
    const small = { ...limits, maxConcurrency: 16 }; // lends 2 slots
    const held = [];
    for (let i = 0; i < 4; i++) held.push(await admitter.admit(tenant, small, 1, `op-${i}`, { lease: true }));
    // op-0 asked (and took the lease), op-1 and op-2 came from the lease, op-3 asked again.
    expect(calls.admit).toBe(2);
    expect(new Set(held.map((a) => a.slotId)).size).toBe(4);
    // Held: four operations and the lease's slots (the second store call, with the first lease spent,
    // took a new one): 16 - 4 - 2 free.
    expect(await freeSlots(memory, small.maxConcurrency)).toBe(10);
    await admitter.returnLeases();
    await settled();
    expect(await freeSlots(memory, small.maxConcurrency)).toBe(12);
    for (const admitted of held) admitter.finish(tenant, small, admitted.slotId, 0);
    await settled();
    expect(await freeSlots(memory, small.maxConcurrency)).toBe(16);
  });

  it('never leases for a plan with little concurrency, for subscriptions, or with other limits than it was taken for', async () => {
    const { store, calls } = await counted();
    const admitter = leasing(store);
    const free = { ...limits, maxConcurrency: 5 };
    for (let i = 0; i < 3; i++) admitter.finish(tenant, free, (await admitter.admit(tenant, free, 1, `f-${i}`, { lease: true })).slotId, 0);
    expect(calls.admit).toBe(3);
    for (let i = 0; i < 3; i++) await admitter.admit(tenant, limits, 1, `s-${i}`); // no lease asked (subscriptions)
    expect(calls.admit).toBe(6);
    await admitter.admit(tenant, limits, 1, 'op-1', { lease: true });
    await admitter.admit(tenant, limits, 1, 'op-2', { lease: true });
    expect(calls.admit).toBe(7);
    // The plan changed: the lease goes back and the store decides under the new limits.
    const changed = { ...limits, bucketCapacity: 20_000 };
    await admitter.admit(tenant, changed, 1, 'op-3', { lease: true });
    expect(calls.admit).toBe(8);
  });

  it('never lets a tenant hold more than its capacity: the store refills around a lease only up to capacity less the lease', async () => {
    const { store } = await counted();
    const admitter = leasing(store);
    // Refills 1,000 a second: within 100 ms the bucket would be full again.
    const fast = { ...limits, bucketCapacity: 1_000, restoreRate: 1_000, maxConcurrency: 64 };
    const first = await admitter.admit(tenant, fast, 5, 'op-0', { lease: true }); // takes a lease of 50
    admitter.finish(tenant, fast, first.slotId, 0);
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Then everything at once: what the lease holds and what the store holds together.
    let admitted = 5;
    const started = performance.now();
    for (let i = 0; i < 400; i++) {
      try {
        const op = await admitter.admit(tenant, fast, 5, `burst-${i}`, { lease: true });
        admitted += 5;
        admitter.finish(tenant, fast, op.slotId, 0);
      } catch {
        break; // refused: the bucket is short
      }
    }
    const refilledDuringBurst = ((performance.now() - started) / 1000) * fast.restoreRate;
    // Without leases: at most the capacity, what refilled meanwhile, and the one operation in between.
    expect(admitted).toBeLessThanOrEqual(fast.bucketCapacity + refilledDuringBurst + 5 + 1);
    expect(admitted).toBeGreaterThanOrEqual(fast.bucketCapacity - 5);
  });

  it('returns a lease whose window ended with operations in flight once they finish, in one store call with their slots and refunds', async () => {
    const { store, memory, calls } = await counted();
    const admitter = leasing(store, 30);
    // The first operation asks the store (its own slot, settled on its own) and takes the lease.
    const first = await admitter.admit(tenant, limits, 10, 'op-1', { lease: true });
    admitter.finish(tenant, limits, first.slotId, 0);
    const inFlight = [await admitter.admit(tenant, limits, 10, 'op-2', { lease: true }), await admitter.admit(tenant, limits, 10, 'op-3', { lease: true })];
    await new Promise((resolve) => setTimeout(resolve, 60));
    await settled();
    // The window is over: the lease admits no more, but it waits for its two operations.
    expect(calls).toMatchObject({ admit: 1, settle: 0, release: 1 });
    const lent = limits.bucketCapacity * 0.05;
    expect((await memory.peekTokens(bucketKey(tenant.tenantSlug), policy)).available).toBeCloseTo(limits.bucketCapacity - 10 - lent, 0);
    admitter.finish(tenant, limits, inFlight[0]!.slotId, 4);
    await settled();
    expect(calls.settle).toBe(0);
    admitter.finish(tenant, limits, inFlight[1]!.slotId, 4);
    await settled();
    // The last one back: one call returns the unspent units, both refunds and every slot.
    expect(calls).toMatchObject({ admit: 1, settle: 1, release: 1 });
    expect((await memory.peekTokens(bucketKey(tenant.tenantSlug), policy)).available).toBeCloseTo(limits.bucketCapacity - 22, 0);
    expect(Number(await memory.get(monthlyCounter(tenant, limits).key))).toBe(22);
    expect(await freeSlots(memory, limits.maxConcurrency)).toBe(limits.maxConcurrency);
  });

  it('waits at most a second for operations in flight, then returns the lease; a slot held longer is freed when its operation ends', async () => {
    const { store, memory, calls } = await counted();
    const admitter = leasing(store, 5_000);
    const first = await admitter.admit(tenant, limits, 10, 'op-1', { lease: true });
    admitter.finish(tenant, limits, first.slotId, 0);
    const slow = await admitter.admit(tenant, limits, 10, 'op-2', { lease: true });
    expect(calls).toMatchObject({ admit: 1, release: 1 });
    // The plan changes: the lease admits no more, and the store decides under the new limits (and lends anew).
    const changed = { ...limits, maxOperationCost: 2_000 };
    const next = await admitter.admit(tenant, changed, 10, 'op-3', { lease: true });
    admitter.finish(tenant, changed, next.slotId, 0);
    expect(calls).toMatchObject({ admit: 2, settle: 0, release: 2 });
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await settled();
    expect(calls.settle).toBe(1);
    // op-2's slot: still held until op-2 ends, then freed on its own.
    admitter.finish(tenant, limits, slow.slotId, 0);
    await settled();
    expect(calls.release).toBe(3);
    await admitter.returnLeases();
    await settled();
    expect(await freeSlots(memory, limits.maxConcurrency)).toBe(limits.maxConcurrency);
    expect(Number(await memory.get(monthlyCounter(tenant, limits).key))).toBe(30);
  });

  it('admits the operations that arrive while a lease is being asked for from that lease, not one store call each', async () => {
    const { store, calls } = await counted();
    const admitter = leasing(store);
    // One asks the store and takes a lease of four slots (an eighth of 32); the other four wait for it.
    const admitted = await Promise.all(Array.from({ length: 5 }, (_, i) => admitter.admit(tenant, limits, 5, `op-${i}`, { lease: true })));
    expect(calls.admit).toBe(1);
    expect(new Set(admitted.map((a) => a.slotId)).size).toBe(5);
    for (const op of admitted) admitter.finish(tenant, limits, op.slotId, 0);
    expect(calls.release).toBe(1); // the asking operation's own slot, not one of the lease's
  });

  it('asks for the next lease before the window ends, so that under steady load no operation waits for the store', async () => {
    const { store, memory, calls } = await counted();
    // The lease's clock (performance.now) is driven by the test; its timers never fire within a minute.
    let now = 1_000;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const admitter = leasing(store, 60_000);
    let spent = 0;
    const run = () => {
      // admitKnown is the request path's synchronous admission: undefined would mean a store round trip.
      const op = admitter.admitKnown(tenant, limits, 3);
      expect(op).toBeDefined();
      spent += 3;
      admitter.finish(tenant, limits, op!.slotId, 0);
    };
    const first = await admitter.admit(tenant, limits, 3, 'op-0', { lease: true }); // asks the store, takes a lease
    spent += 3;
    admitter.finish(tenant, limits, first.slotId, 0);
    now += 30_000;
    run(); // half the window: from the lease, nothing asked
    await settled();
    expect(calls.admit).toBe(1);
    now += 25_000;
    run(); // past 90 % of the window: admitted, and the successor is asked for meanwhile
    await settled();
    expect(calls.admit).toBe(2);
    now += 10_000;
    run(); // the first lease's window is over: the successor admits
    run();
    expect(calls.admit).toBe(2);
    vi.restoreAllMocks();
    await admitter.returnLeases();
    await settled();
    expect((await memory.peekTokens(bucketKey(tenant.tenantSlug), policy)).available).toBeCloseTo(limits.bucketCapacity - spent, 0);
    expect(Number(await memory.get(monthlyCounter(tenant, limits).key))).toBe(spent);
    expect(await freeSlots(memory, limits.maxConcurrency)).toBe(limits.maxConcurrency);
  });

  it('keeps two gateways sharing one bucket within it: every unit admitted was taken from the store first', async () => {
    const memory = createMemoryStore();
    const gateways = [leasing(memory, 20), leasing(memory, 20)];
    const tight = { ...limits, bucketCapacity: 2_000, maxConcurrency: 64 };
    let admitted = 0;
    await Promise.all(
      Array.from({ length: 40 }, async (_, client) => {
        const admitter = gateways[client % 2]!;
        for (let i = 0; i < 10; i++) {
          try {
            const op = await admitter.admit(tenant, tight, 10, `c${client}-${i}`, { lease: true });
            admitted += 10;
            await new Promise((resolve) => setTimeout(resolve, 1));
            admitter.finish(tenant, tight, op.slotId, 0);
          } catch {
            // refused: the bucket is short
          }
        }
      }),
    );
    expect(admitted).toBeGreaterThan(1_500);
    expect(admitted).toBeLessThanOrEqual(tight.bucketCapacity);
    await Promise.all(gateways.map((g) => g.returnLeases()));
    const left = (await memory.peekTokens(bucketKey(tenant.tenantSlug), { capacity: tight.bucketCapacity, restoreRate: tight.restoreRate })).available;
    expect(left).toBeCloseTo(tight.bucketCapacity - admitted, 0);
  });
});
