// One conformance suite for every KeyValueStore: the in-process adapter always, Redis when REDIS_URL
// is set (CI sets it). Both must behave the same, or the one-command start would test something else.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryStore, createRedisStore, tenantKey, type KeyValueStore, type LeaseClaim } from '../../tenancy/store';

const adapters: Array<[string, () => Promise<KeyValueStore>]> = [['memory', async () => createMemoryStore()]];
if (process.env.REDIS_URL) {
  adapters.push(['redis', () => createRedisStore({ url: process.env.REDIS_URL!, prefix: `conformance:${randomBytes(4).toString('hex')}:` })]);
}

const nextMessage = (store: KeyValueStore, channel: string) =>
  new Promise<{ message: string; unsubscribe: () => Promise<void> }>((resolve) => {
    let unsubscribe: () => Promise<void>;
    void store
      .subscribe(channel, (message) => resolve({ message, unsubscribe }))
      .then((u) => {
        unsubscribe = u;
      });
  });

describe.each(adapters)('%s store', (_name, create) => {
  let store: KeyValueStore;
  beforeAll(async () => {
    store = await create();
  });
  afterAll(() => store?.close());

  it('gets what was set, null for what was not, and nothing after del', async () => {
    expect(await store.get('missing')).toBeNull();
    await store.set('k', 'v');
    expect(await store.get('k')).toBe('v');
    await store.set('k', 'w');
    expect(await store.get('k')).toBe('w');
    await store.del('k');
    expect(await store.get('k')).toBeNull();
    await store.del('never-set');
  });

  it('expires keys after their TTL', async () => {
    await store.set('short', 'x', 0.15);
    await store.set('long', 'y', 60);
    expect(await store.get('short')).toBe('x');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await store.get('short')).toBeNull();
    expect(await store.get('long')).toBe('y');
  });

  it('keeps unicode and large values intact', async () => {
    const value = `ünïcødé ${'x'.repeat(100_000)} 🐕`;
    await store.set(tenantKey('acme-pets', 'big'), value, 10);
    expect(await store.get(tenantKey('acme-pets', 'big'))).toBe(value);
  });

  it('delivers published messages to every subscriber of the channel, and none after unsubscribe', async () => {
    const a = nextMessage(store, 'chan');
    const b = nextMessage(store, 'chan');
    const other: string[] = [];
    const unsubscribeOther = await store.subscribe('other-chan', (m) => other.push(m));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await store.publish('chan', 'hello');
    const [ma, mb] = await Promise.all([a, b]);
    expect([ma.message, mb.message]).toEqual(['hello', 'hello']);
    await ma.unsubscribe();
    await mb.unsubscribe();
    const received: string[] = [];
    const unsubscribe = await store.subscribe('chan', (m) => received.push(m));
    await unsubscribe();
    await store.publish('chan', 'after');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(received).toEqual([]);
    expect(other).toEqual([]);
    await unsubscribeOther();
  });

  it('answers ping', async () => {
    expect(await store.ping()).toBe(true);
  });

  describe('token bucket', () => {
    const policy = { capacity: 10, restoreRate: 100 };
    const key = () => tenantKey('acme-pets', `bucket:${randomBytes(4).toString('hex')}`);

    it('starts full, takes what is available, and refuses more without taking anything', async () => {
      const slow = { capacity: 10, restoreRate: 0.001 };
      const k = key();
      expect(await store.takeTokens(k, 3, slow)).toMatchObject({ allowed: true, retryAfterMs: 0 });
      expect((await store.peekTokens(k, slow)).available).toBeCloseTo(7, 1);
      const refused = await store.takeTokens(k, 8, slow);
      expect(refused.allowed).toBe(false);
      expect(refused.available).toBeCloseTo(7, 1);
      expect(refused.retryAfterMs).toBeGreaterThan(900_000); // 1 unit at 0.001/s
      expect((await store.takeTokens(k, 7, slow)).allowed).toBe(true);
    });

    it('restores at the restore rate, up to capacity', async () => {
      const k = key();
      await store.takeTokens(k, 10, policy);
      await new Promise((resolve) => setTimeout(resolve, 60));
      const state = await store.peekTokens(k, policy);
      expect(state.available).toBeGreaterThanOrEqual(5);
      expect(state.available).toBeLessThanOrEqual(10);
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect((await store.peekTokens(k, policy)).available).toBe(10);
    });

    it('refunds, never above capacity', async () => {
      const slow = { capacity: 10, restoreRate: 0.001 };
      const k = key();
      await store.takeTokens(k, 6, slow);
      expect((await store.refundTokens(k, 4, slow)).available).toBeCloseTo(8, 1);
      expect((await store.refundTokens(k, 100, slow)).available).toBe(10);
    });

    it('forgets a bucket that is deleted: the next take finds it full', async () => {
      const slow = { capacity: 10, restoreRate: 0.001 };
      const k = key();
      await store.takeTokens(k, 10, slow);
      await store.del(k);
      expect((await store.peekTokens(k, slow)).available).toBe(10);
    });

    it('never admits more than capacity under concurrent takes', async () => {
      const slow = { capacity: 50, restoreRate: 0.001 };
      const k = key();
      const results = await Promise.all(Array.from({ length: 200 }, () => store.takeTokens(k, 1, slow)));
      expect(results.filter((r) => r.allowed)).toHaveLength(50);
    });
  });

  describe('monthly counter beside the bucket', () => {
    const policy = { capacity: 1000, restoreRate: 0.001 };
    const keys = () => {
      const id = randomBytes(4).toString('hex');
      return { bucket: tenantKey('acme-pets', `bucket:${id}`), month: { key: tenantKey('acme-pets', `month:${id}`), hardLimit: 100, ttlSeconds: 60 } };
    };

    it('reports an unknown counter without changing anything, then counts from the seeded value', async () => {
      const k = keys();
      const unknown = await store.takeTokens(k.bucket, 10, policy, k.month);
      expect(unknown).toMatchObject({ allowed: false, monthUnknown: true });
      expect((await store.peekTokens(k.bucket, policy)).available).toBe(1000);
      await store.seedCounter(k.month.key, 80, 60);
      await store.seedCounter(k.month.key, 0, 60); // already there: kept
      expect(await store.takeTokens(k.bucket, 10, policy, k.month)).toMatchObject({ allowed: true, monthUsed: 90 });
      expect(await store.refundTokens(k.bucket, 4, policy, k.month)).toMatchObject({ monthUsed: 86 });
    });

    it('refuses with quota, taking nothing, when the month would pass its hard limit', async () => {
      const k = keys();
      await store.seedCounter(k.month.key, 95, 60);
      const refused = await store.takeTokens(k.bucket, 10, policy, k.month);
      expect(refused).toMatchObject({ allowed: false, refusal: 'quota', monthUsed: 95 });
      expect(refused.available).toBeCloseTo(1000, 0);
      expect(await store.takeTokens(k.bucket, 5, policy, k.month)).toMatchObject({ allowed: true, monthUsed: 100 });
    });

    it('adds to a counter that exists and leaves an absent one absent', async () => {
      const k = keys();
      await store.addToCounter(k.month.key, 5);
      expect(await store.get(k.month.key)).toBeNull();
      await store.seedCounter(k.month.key, 10, 60);
      await store.addToCounter(k.month.key, 5);
      expect(Number(await store.get(k.month.key))).toBe(15);
    });

    it('sets a flag once', async () => {
      const key = tenantKey('acme-pets', `flag:${randomBytes(4).toString('hex')}`);
      expect(await store.setIfAbsent(key, '1', 60)).toBe(true);
      expect(await store.setIfAbsent(key, '1', 60)).toBe(false);
    });
  });

  describe('streams', () => {
    it('delivers each entry to one consumer of a group, keeps unacknowledged ones for it, and counts the backlog', async () => {
      const stream = `usage-${randomBytes(4).toString('hex')}`;
      await store.appendToStream(stream, { n: '1' });
      await store.appendToStream(stream, { n: '2' });
      expect(await store.streamBacklog(stream, 'g')).toBe(2);
      const first = await store.readStream(stream, 'g', 'c1', { count: 10, blockMs: 10 });
      expect(first.map((e) => e.fields.n)).toEqual(['1', '2']);
      // Not acknowledged: the same consumer gets them again (a restart finishes its work), c2 gets nothing new.
      expect((await store.readStream(stream, 'g', 'c1', { count: 10, blockMs: 10 })).map((e) => e.fields.n)).toEqual(['1', '2']);
      expect(await store.readStream(stream, 'g', 'c2', { count: 10, blockMs: 10 })).toEqual([]);
      await store.ackStream(stream, 'g', first.map((e) => e.id));
      expect(await store.streamBacklog(stream, 'g')).toBe(0);
      expect(await store.readStream(stream, 'g', 'c1', { count: 10, blockMs: 10 })).toEqual([]);
      // A blocked reader wakes up for a new entry.
      const waiting = store.readStream(stream, 'g', 'c2', { count: 10, blockMs: 2_000 });
      await new Promise((resolve) => setTimeout(resolve, 50));
      await store.appendToStream(stream, { n: '3' });
      expect((await waiting).map((e) => e.fields.n)).toEqual(['3']);
      // Entries arrive in the order they were appended, after the others.
      const ids = [await store.appendToStream(stream, { n: '4' }), await store.appendToStream(stream, { n: '5' })];
      expect((await store.readStream(stream, 'g', 'c1', { count: 10, blockMs: 10 })).map((e) => [e.id, e.fields.n])).toEqual([
        [ids[0], '4'],
        [ids[1], '5'],
      ]);
      // Another group reads the whole stream independently.
      expect((await store.readStream(stream, 'other', 'c1', { count: 10, blockMs: 10 })).length).toBeGreaterThanOrEqual(1);
    });
  });

  describe('concurrency slots', () => {
    it('holds at most limit slots, frees them on release or when the lease runs out', async () => {
      const k = tenantKey('acme-pets', `slots:${randomBytes(4).toString('hex')}`);
      expect(await store.acquireSlot(k, 'a', 2, 60_000)).toBe(true);
      expect(await store.acquireSlot(k, 'b', 2, 100)).toBe(true);
      expect(await store.acquireSlot(k, 'c', 2, 60_000)).toBe(false);
      await store.releaseSlot(k, 'a');
      expect(await store.acquireSlot(k, 'c', 2, 60_000)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(await store.acquireSlot(k, 'd', 2, 60_000)).toBe(true);
      expect(await store.acquireSlot(k, 'e', 2, 60_000)).toBe(false);
    });
  });

  describe('admission in one step (admit, settle)', () => {
    const policy = { capacity: 100, restoreRate: 0.001 };
    const keys = () => {
      const id = randomBytes(4).toString('hex');
      return {
        bucket: tenantKey('acme-pets', `bucket:${id}`),
        slots: tenantKey('acme-pets', `slots:${id}`),
        month: { key: tenantKey('acme-pets', `month:${id}`), hardLimit: 1000, ttlSeconds: 60 },
      };
    };
    const slot = (k: ReturnType<typeof keys>, id: string, limit = 2, leaseMs = 60_000) => ({ key: k.slots, id, limit, leaseMs });

    it('takes a slot, the bucket and the month together, and settle frees the slot and refunds both', async () => {
      const k = keys();
      await store.seedCounter(k.month.key, 10, 60);
      const admitted = await store.admit(k.bucket, 30, policy, slot(k, 'a'), k.month);
      expect(admitted).toMatchObject({ allowed: true, monthUsed: 40, retryAfterMs: 0 });
      expect(admitted.refusal).toBeUndefined();
      expect(admitted.available).toBeCloseTo(70, 1);
      expect(await store.acquireSlot(k.slots, 'b', 2, 60_000)).toBe(true);
      expect(await store.acquireSlot(k.slots, 'c', 2, 60_000)).toBe(false); // a holds one of the two
      const settled = await store.settle(k.bucket, 20, policy, { key: k.slots, id: 'a' }, k.month);
      expect(settled).toMatchObject({ allowed: true, monthUsed: 20 });
      expect(settled.available).toBeCloseTo(90, 1);
      expect(await store.acquireSlot(k.slots, 'c', 2, 60_000)).toBe(true); // a's slot is free again
    });

    it('refuses for concurrency first, taking nothing from the bucket or the month', async () => {
      const k = keys();
      await store.seedCounter(k.month.key, 0, 60);
      expect((await store.admit(k.bucket, 10, policy, slot(k, 'a'), k.month)).allowed).toBe(true);
      expect((await store.admit(k.bucket, 10, policy, slot(k, 'b'), k.month)).allowed).toBe(true);
      const refused = await store.admit(k.bucket, 10, policy, slot(k, 'c'), k.month);
      expect(refused).toMatchObject({ allowed: false, refusal: 'concurrency' });
      expect(refused.monthUsed).toBeUndefined();
      expect(refused.available).toBeCloseTo(80, 1);
      expect((await store.peekTokens(k.bucket, policy)).available).toBeCloseTo(80, 1);
      expect(Number(await store.get(k.month.key))).toBe(20);
      // A holder asking again keeps its slot (a renewal), and a lease that ran out frees one.
      expect((await store.admit(k.bucket, 0, policy, slot(k, 'a'), k.month)).allowed).toBe(true);
      expect((await store.admit(k.bucket, 0, policy, slot(k, 'short', 3, 50), k.month)).allowed).toBe(true);
      expect((await store.admit(k.bucket, 0, policy, slot(k, 'd', 3), k.month)).refusal).toBe('concurrency');
      await new Promise((resolve) => setTimeout(resolve, 120));
      expect((await store.admit(k.bucket, 0, policy, slot(k, 'd', 3), k.month)).allowed).toBe(true);
    });

    it('holds no slot after a bucket or month refusal', async () => {
      const k = keys();
      await store.seedCounter(k.month.key, 995, 60);
      const quota = await store.admit(k.bucket, 10, policy, slot(k, 'a', 1), k.month);
      expect(quota).toMatchObject({ allowed: false, refusal: 'quota', monthUsed: 995 });
      const short = await store.admit(k.bucket, 101, { capacity: 100, restoreRate: 1 }, slot(k, 'b', 1));
      expect(short).toMatchObject({ allowed: false, refusal: 'bucket' });
      expect(short.retryAfterMs).toBeGreaterThan(0);
      expect(short.monthUsed).toBeUndefined();
      // The single slot is still free.
      expect(await store.acquireSlot(k.slots, 'c', 1, 60_000)).toBe(true);
      // And the bucket still holds what the quota refusal did not take.
      expect((await store.peekTokens(k.bucket, policy)).available).toBeCloseTo(100, 0);
    });

    it('changes nothing when the month counter is unknown, then admits once it is seeded', async () => {
      const k = keys();
      const unknown = await store.admit(k.bucket, 10, policy, slot(k, 'a', 1), k.month);
      expect(unknown).toMatchObject({ allowed: false, monthUnknown: true });
      expect(await store.acquireSlot(k.slots, 'probe', 1, 60_000)).toBe(true);
      await store.releaseSlot(k.slots, 'probe');
      expect((await store.peekTokens(k.bucket, policy)).available).toBe(100);
      await store.seedCounter(k.month.key, 5, 60);
      expect(await store.admit(k.bucket, 10, policy, slot(k, 'a', 1), k.month)).toMatchObject({ allowed: true, monthUsed: 15 });
    });

    it('settles a lost month counter on the bucket alone', async () => {
      const k = keys();
      await store.seedCounter(k.month.key, 0, 60);
      await store.admit(k.bucket, 50, policy, slot(k, 'a'), k.month);
      await store.del(k.month.key);
      const settled = await store.settle(k.bucket, 20, policy, { key: k.slots, id: 'a' }, k.month);
      expect(settled.monthUsed).toBeUndefined();
      expect(settled.available).toBeCloseTo(70, 1);
      expect(await store.get(k.month.key)).toBeNull();
    });

    it('never admits more than the bucket or the slots allow under concurrent admissions', async () => {
      const k = keys();
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => store.admit(k.bucket, 1, { capacity: 50, restoreRate: 0.001 }, slot(k, `s${i}`, 1000))));
      expect(results.filter((r) => r.allowed)).toHaveLength(50);
      const k2 = keys();
      const limited = await Promise.all(Array.from({ length: 50 }, (_, i) => store.admit(k2.bucket, 1, policy, slot(k2, `s${i}`, 7))));
      expect(limited.filter((r) => r.allowed)).toHaveLength(7);
      expect(limited.filter((r) => r.refusal === 'concurrency')).toHaveLength(43);
    });

    describe('with a lease asked for', () => {
      const lease = (ids: string[], over: Partial<LeaseClaim> = {}): LeaseClaim => ({ units: 20, slotIds: ids, keepTokens: 50, monthCeiling: 500, maxHeld: 5, holdMs: 60_000, ...over });

      it('grants it with the operation: its units leave the bucket and join the month, its slots are held', async () => {
        const k = keys();
        await store.seedCounter(k.month.key, 10, 60);
        const admitted = await store.admit(k.bucket, 5, policy, slot(k, 'op', 10), k.month, lease(['l1', 'l2']));
        expect(admitted).toMatchObject({ allowed: true, leased: true, monthUsed: 35 });
        expect(admitted.available).toBeCloseTo(75, 1);
        expect((await store.peekTokens(k.bucket, policy)).available).toBeCloseTo(75, 1);
        expect(Number(await store.get(k.month.key))).toBe(35);
        // op, l1 and l2 hold three of four slots.
        expect(await store.acquireSlot(k.slots, 'x', 4, 60_000)).toBe(true);
        expect(await store.acquireSlot(k.slots, 'y', 4, 60_000)).toBe(false);
        // Returning it: the unused units and both idle slots in one settle.
        const settled = await store.settle(k.bucket, 20, policy, { key: k.slots, id: 'l1', more: ['l2'], lease: 20 }, k.month);
        expect(settled).toMatchObject({ monthUsed: 15 });
        expect(settled.available).toBeCloseTo(95, 1);
        expect(await store.acquireSlot(k.slots, 'y', 4, 60_000)).toBe(true);
        expect(await store.acquireSlot(k.slots, 'z', 4, 60_000)).toBe(true);
      });

      it('admits the operation alone, taking nothing more, near any limit', async () => {
        const k = keys();
        await store.seedCounter(k.month.key, 0, 60);
        // The bucket would keep less than keepTokens.
        const low = await store.admit(k.bucket, 40, policy, slot(k, 'a', 10), k.month, lease(['l1']));
        expect(low).toMatchObject({ allowed: true, monthUsed: 40 });
        expect(low.leased).toBeFalsy();
        expect(low.available).toBeCloseTo(60, 1);
        // The month would pass its ceiling.
        const k2 = keys();
        await store.seedCounter(k2.month.key, 490, 60);
        const month = await store.admit(k2.bucket, 1, policy, slot(k2, 'a', 10), k2.month, lease(['l1']));
        expect(month).toMatchObject({ allowed: true, monthUsed: 491 });
        expect(month.leased).toBeFalsy();
        // Too many slots would be held: op + 2 lease slots > maxHeld 2.
        const k3 = keys();
        const slots = await store.admit(k3.bucket, 1, policy, slot(k3, 'a', 10), undefined, lease(['l1', 'l2'], { maxHeld: 2 }));
        expect(slots.allowed).toBe(true);
        expect(slots.leased).toBeFalsy();
        expect(slots.available).toBeCloseTo(99, 1);
        expect(await store.acquireSlot(k3.slots, 'b', 2, 60_000)).toBe(true); // only 'a' was held
        // A refused operation takes no lease either.
        const k4 = keys();
        const refused = await store.admit(k4.bucket, 101, policy, slot(k4, 'a', 10), undefined, lease(['l1']));
        expect(refused).toMatchObject({ allowed: false, refusal: 'bucket' });
        expect(refused.leased).toBeFalsy();
        expect((await store.peekTokens(k4.bucket, policy)).available).toBeCloseTo(100, 1);
      });

      it('counts what a lease holds against the capacity until it is returned, or until its hold lapses', async () => {
        const fast = { capacity: 100, restoreRate: 1_000 };
        const k = keys();
        const granted = await store.admit(k.bucket, 5, fast, slot(k, 'op', 10), undefined, lease(['l1'], { keepTokens: 0 }));
        expect(granted).toMatchObject({ allowed: true, leased: true });
        expect(granted.available).toBeCloseTo(75, 0);
        await new Promise((resolve) => setTimeout(resolve, 60));
        // Refilled, but only to the capacity less the lease's 20: with the lease's units the tenant
        // never holds more than the bucket's capacity.
        expect((await store.peekTokens(k.bucket, fast)).available).toBeCloseTo(80, 0);
        expect((await store.refundTokens(k.bucket, 50, fast)).available).toBeCloseTo(80, 0);
        // Returned (unused): the reservation ends and the units are back.
        const returned = await store.settle(k.bucket, 20, fast, { key: k.slots, id: 'l1', lease: 20 });
        expect(returned.available).toBeCloseTo(100, 0);
        // A lease never returned (its gateway crashed) stops counting when its hold lapses.
        const k2 = keys();
        await store.admit(k2.bucket, 5, fast, slot(k2, 'op', 10), undefined, lease(['l1'], { keepTokens: 0, holdMs: 50 }));
        expect((await store.peekTokens(k2.bucket, fast)).available).toBeLessThanOrEqual(80.5);
        await new Promise((resolve) => setTimeout(resolve, 80));
        expect((await store.peekTokens(k2.bucket, fast)).available).toBeCloseTo(100, 0);
      });

      it('never lets leases and operations together take more than the bucket holds', async () => {
        const k = keys();
        const small = { capacity: 50, restoreRate: 0.001 };
        const results = await Promise.all(
          Array.from({ length: 100 }, (_, i) => store.admit(k.bucket, 1, small, slot(k, `s${i}`, 1000), undefined, lease([`l${i}`], { units: 5, keepTokens: 0, maxHeld: 1000 }))),
        );
        const taken = results.reduce((sum, r) => sum + (r.allowed ? 1 : 0) + (r.leased ? 5 : 0), 0);
        expect(taken).toBeLessThanOrEqual(50);
        expect(taken).toBeGreaterThanOrEqual(49);
        expect((await store.peekTokens(k.bucket, small)).available).toBeCloseTo(50 - taken, 0);
      });
    });
  });

  it('keeps one tenant key in one hash slot', () => {
    expect(tenantKey('acme-pets', 'record')).toBe('{t:acme-pets}:record');
  });
});

describe.runIf(process.env.REDIS_URL)('redis buckets shared by two connections (two gateways)', () => {
  it('never admits more than capacity across both', async () => {
    const prefix = `conformance:${randomBytes(4).toString('hex')}:`;
    const [a, b] = await Promise.all([createRedisStore({ url: process.env.REDIS_URL!, prefix }), createRedisStore({ url: process.env.REDIS_URL!, prefix })]);
    try {
      const policy = { capacity: 100, restoreRate: 0.001 };
      const k = tenantKey('acme-pets', 'bucket');
      const results = await Promise.all(Array.from({ length: 300 }, (_, i) => (i % 2 ? a : b).takeTokens(k, 1, policy)));
      expect(results.filter((r) => r.allowed)).toHaveLength(100);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
