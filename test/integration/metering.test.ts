// The usage stream into PostgreSQL: at-least-once delivery made exactly-once by the stream id, and
// nothing lost when the consumer stops with entries in hand.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUsageConsumer } from '../../subgraphs/usage/metering';
import { monthToDate, recordUsage } from '../../subgraphs/usage/repository';
import { createLogger } from '../../tenancy/logger';
import { createMemoryStore, createRedisStore, type KeyValueStore } from '../../tenancy/store';
import { encodeUsageBatch, encodeUsageEvent, USAGE_GROUP, USAGE_STREAM } from '../../tenancy/usage-stream';
import type { Database } from '../../tenancy/db';
import { openTestDatabase } from '../helpers/database';

let db: Database;
let close: () => Promise<void>;
let store: KeyValueStore;
let acme: string;
let fluffy: string;
const logger = createLogger('test', 'silent');

beforeAll(async () => {
  ({ db, close } = await openTestDatabase());
  store = process.env.REDIS_URL ? await createRedisStore({ url: process.env.REDIS_URL, prefix: `metering:${randomBytes(4).toString('hex')}:` }) : createMemoryStore();
  const id = async (slug: string) => (await db.transaction({}, (q) => q.query<{ id: string }>('SELECT id FROM registry_tenant_by_slug($1)', [slug]))).rows[0]!.id;
  acme = await id('acme-pets');
  fluffy = await id('fluffy-friends');
});
afterAll(async () => {
  await store?.close();
  await close?.();
});

const spent = (tenantId: string) => db.transaction({ tenantId }, monthToDate);
const event = (tenantId: string, cost: number) =>
  encodeUsageEvent({ tenantId, operationName: 'Op', requestedCost: cost, actualCost: cost, latencyMs: 1.5, outcome: 'ok', at: Date.now() });

async function drained() {
  for (let i = 0; i < 250 && (await store.streamBacklog(USAGE_STREAM, USAGE_GROUP)) > 0; i++) await new Promise((r) => setTimeout(r, 20));
  expect(await store.streamBacklog(USAGE_STREAM, USAGE_GROUP)).toBe(0);
}

describe('usage metering', () => {
  it('aggregates each tenant apart, and counts a redelivered entry once', async () => {
    const [acmeBefore, fluffyBefore] = [await spent(acme), await spent(fluffy)];
    const consumer = startUsageConsumer({ store, db, logger, consumer: 'c1', blockMs: 50 });
    for (let i = 0; i < 30; i++) await store.appendToStream(USAGE_STREAM, event(i % 3 ? acme : fluffy, 2));
    await drained();
    await consumer.stop();
    expect((await spent(acme)) - acmeBefore).toBe(40);
    expect((await spent(fluffy)) - fluffyBefore).toBe(20);
    // The same entry written again (redelivery after a crash between write and ack) changes nothing.
    const again = { tenantId: acme, operationName: 'Op', requestedCost: 7, actualCost: 7, latencyMs: 1, outcome: 'ok', at: Date.now(), streamId: 'dup-1' };
    expect(await db.transaction({ tenantId: acme }, (q) => recordUsage(q, [again]))).toBe(1);
    expect(await db.transaction({ tenantId: acme }, (q) => recordUsage(q, [again]))).toBe(0);
    expect((await spent(acme)) - acmeBefore).toBe(47);
  });

  it('loses nothing when a consumer stops holding unacknowledged entries: it finishes them on restart', async () => {
    const before = await spent(acme);
    for (let i = 0; i < 10; i++) await store.appendToStream(USAGE_STREAM, event(acme, 3));
    // A consumer that read the entries and died before writing them.
    const taken = await store.readStream(USAGE_STREAM, USAGE_GROUP, 'c2', { count: 100, blockMs: 10 });
    expect(taken).toHaveLength(10);
    expect(await spent(acme)).toBe(before);
    const restarted = startUsageConsumer({ store, db, logger, consumer: 'c2', blockMs: 50 });
    await drained();
    await restarted.stop();
    expect((await spent(acme)) - before).toBe(30);
  });

  it("aggregates a gateway's batch entry across tenants, skips its malformed items, and counts it once when written twice", async () => {
    const [acmeBefore, fluffyBefore] = [await spent(acme), await spent(fluffy)];
    const op = (tenantId: string, cost: number) => ({ tenantId, operationName: 'Batched', requestedCost: cost + 1, actualCost: cost, latencyMs: 2.25, outcome: 'ok', at: Date.now() });
    const fields = encodeUsageBatch([op(acme, 5), op(fluffy, 7), op(acme, 11), op('not-a-tenant', 13)]);
    // A malformed item inside the batch is left out; the rest of the batch still counts.
    const items = JSON.parse(fields.batch!) as unknown[];
    items.splice(1, 0, ['only', 'three', 'items']);
    await store.appendToStream(USAGE_STREAM, { batch: JSON.stringify(items) });
    // The first acknowledgement fails, as if the consumer died between writing and acknowledging:
    // the entry is read and written again, and its events' stream ids keep them from counting twice.
    const flaky: KeyValueStore = Object.create(store);
    let failures = 0;
    flaky.ackStream = async (...args) => {
      if (failures++ === 0) throw new Error('connection lost');
      return store.ackStream(...args);
    };
    const consumer = startUsageConsumer({ store: flaky, db, logger, consumer: 'c4', blockMs: 50, retryDelayMs: 20 });
    await drained();
    await consumer.stop();
    expect(failures).toBeGreaterThanOrEqual(2);
    expect((await spent(acme)) - acmeBefore).toBe(16);
    expect((await spent(fluffy)) - fluffyBefore).toBe(7);
  });

  it('drops entries that are not usage events or name no tenant, and goes on', async () => {
    const before = await spent(acme);
    await store.appendToStream(USAGE_STREAM, { garbage: 'yes' });
    await store.appendToStream(USAGE_STREAM, event('00000000-0000-4000-8000-000000000000', 5));
    await store.appendToStream(USAGE_STREAM, event(acme, 4));
    const consumer = startUsageConsumer({ store, db, logger, consumer: 'c3', blockMs: 50 });
    await drained();
    await consumer.stop();
    expect((await spent(acme)) - before).toBe(4);
  });
});
