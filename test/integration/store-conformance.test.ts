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

  it('keeps one tenant key in one hash slot', () => {
    expect(tenantKey('acme-pets', 'record')).toBe('{t:acme-pets}:record');
  });
});
