// The usage subgraph's live quota feed (subgraphs/usage/feed.ts) against a real database: a subscriber
// whose first snapshot is slow must not end on it when a change heard meanwhile already delivered a
// newer one (it would stay on the dashboard until the tenant's next change).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQuotaFeed } from '../../subgraphs/usage/feed';
import { quotaOfTenants, recordUsage } from '../../subgraphs/usage/repository';
import type { Database } from '../../tenancy/db';
import { createLogger } from '../../tenancy/logger';
import { createMemoryStore } from '../../tenancy/store';
import { USAGE_RECORDED_CHANNEL } from '../../tenancy/usage-stream';
import { openTestDatabase } from '../helpers/database';

let db: Database;
let close: () => Promise<void>;
let acme: string;

beforeAll(async () => {
  ({ db, close } = await openTestDatabase());
  acme = (await db.transaction({}, (q) => q.query<{ id: string }>('SELECT id FROM registry_tenant_by_slug($1)', ['acme-pets']))).rows[0]!.id;
});
afterAll(async () => {
  await close?.();
});

/** The database, with the result of its first transaction held back until `release` (a slow first snapshot). */
function slowFirstRead(inner: Database) {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let first = true;
  const wrapped: Database = Object.create(inner);
  wrapped.transaction = async (scope, fn) => {
    const result = await inner.transaction(scope, fn);
    if (first) {
      first = false;
      await gate;
    }
    return result;
  };
  return { db: wrapped, release };
}

const nextWithin = <T>(iterator: AsyncIterator<T>, ms: number) =>
  Promise.race([iterator.next(), new Promise<'nothing'>((resolve) => setTimeout(() => resolve('nothing'), ms))]);

describe('quota feed', () => {
  it('does not hand a subscriber its first snapshot after a newer one', async () => {
    const store = createMemoryStore();
    const slow = slowFirstRead(db);
    const feed = createQuotaFeed({ store, db: slow.db, logger: createLogger('test', 'silent'), intervalMs: 0 });
    await feed.ready;
    const before = (await db.transaction({ tenantId: acme }, (q) => quotaOfTenants(q, [acme])))[0]!.used;
    const updates = feed.subscribe(acme);
    const firstUpdate = updates.next(); // starts the subscription: its first snapshot is read, then held

    // Spend while the first snapshot is held, and announce it as the usage consumer does.
    await new Promise((resolve) => setTimeout(resolve, 50));
    await db.transaction({ tenantId: acme }, (q) =>
      recordUsage(q, [{ tenantId: acme, streamId: `${Date.now()}-0`, operationName: 'Spend', requestedCost: 30, actualCost: 30, latencyMs: 1, outcome: 'ok', at: Date.now() }]),
    );
    await store.publish(USAGE_RECORDED_CHANNEL, JSON.stringify({ tenants: [acme] }));

    const delivered = await firstUpdate;
    expect(delivered.value?.used).toBe(before + 30);
    slow.release(); // the old snapshot (without the spend) arrives now
    expect(await nextWithin(updates, 300)).toBe('nothing');
    await updates.return?.(undefined);
    await feed.close();
    await store.close();
  });
});
