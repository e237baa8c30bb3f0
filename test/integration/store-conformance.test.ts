// One conformance suite for every KeyValueStore: the in-process adapter always, Redis when REDIS_URL
// is set (CI sets it). Both must behave the same, or the one-command start would test something else.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryStore, createRedisStore, tenantKey, type KeyValueStore } from '../../tenancy/store';

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
