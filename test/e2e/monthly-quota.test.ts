// Monthly budgets through the gateway: soft limit warning and event, hard limit QUOTA_EXCEEDED, the
// counter seeded from PostgreSQL when the store has none, and tenant B untouched by A's spending.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketKey, monthlyCounter, QUOTA_EVENTS_CHANNEL, type QuotaEvent } from '../../gateway/src/admission';
import { startTestStack, type TestStack } from '../helpers/stack';

let stack: TestStack;
const events: QuotaEvent[] = [];
const SPEND = `query Spend { a: currentTenant { slug } b: currentTenant { slug } c: currentTenant { slug } d: currentTenant { slug } e: currentTenant { slug } }`; // 5

const monthKey = async (slug: string) =>
  monthlyCounter({ tenantId: await stack.tenantId(slug), tenantSlug: slug } as never, { monthlyBudget: 0 } as never).key;

beforeAll(async () => {
  stack = await startTestStack();
  await stack.store.subscribe(QUOTA_EVENTS_CHANNEL, (message) => events.push(JSON.parse(message)));
  await stack.admin.query(`UPDATE plans SET monthly_budget = 100, bucket_capacity = 100000, restore_rate = 1000 WHERE name = 'free'`);
  for (const slug of ['acme-pets', 'fluffy-friends']) {
    await stack.gateway!.tenants.invalidate(slug);
    await stack.store.del(bucketKey(slug));
  }
});
afterAll(() => stack?.close());

describe('monthly budget', () => {
  it('warns past the soft limit (once as an event), then answers QUOTA_EXCEEDED with Retry-After at the hard limit', async () => {
    const acme = await stack.token('acme-pets');
    const fluffy = await stack.token('fluffy-friends');
    let warned: any;
    let exceeded: Awaited<ReturnType<TestStack['gql']>> | undefined;
    for (let i = 0; i < 40 && !exceeded; i++) {
      const response = await stack.gql(SPEND, { token: acme });
      if (response.status === 429) exceeded = response;
      else if (response.body.extensions?.warnings && !warned) warned = response.body.extensions.warnings[0];
      await stack.gql(SPEND, { token: fluffy }); // B keeps spending alongside
    }
    expect(warned).toMatchObject({ code: 'QUOTA_SOFT_LIMIT', limit: 100 });
    expect(warned.used).toBeGreaterThanOrEqual(80);
    expect(exceeded).toBeDefined();
    expect(exceeded!.body.errors?.[0]?.extensions).toMatchObject({ code: 'QUOTA_EXCEEDED', limit: 100 });
    expect(exceeded!.body.data).toBeUndefined();
    const retryAfter = Number(exceeded!.headers.get('retry-after'));
    const monthEnd = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() + 1, 1);
    expect(Math.abs(retryAfter - (monthEnd - Date.now()) / 1000)).toBeLessThan(60);
    // Spending never passes the budget: the month is at most 100 with no grace margin.
    expect(exceeded!.body.errors?.[0]?.extensions?.used).toBeLessThanOrEqual(100);

    await new Promise((resolve) => setTimeout(resolve, 50));
    const acmeEvents = events.filter((e) => e.tenantSlug === 'acme-pets');
    expect(acmeEvents.map((e) => e.type)).toEqual(['soft_limit_reached', 'hard_limit_reached']);
    expect(events.filter((e) => e.tenantSlug === 'fluffy-friends')).toEqual([]);
    const fluffyNow = await stack.gql(SPEND, { token: fluffy });
    expect(fluffyNow.status).toBe(200);
    expect(fluffyNow.body.extensions?.warnings).toBeUndefined();
  });

  it('reports the spend in quotaStatus once the usage stream is aggregated', async () => {
    await stack.usage.flush();
    await stack.admin.query(`UPDATE plans SET monthly_budget = 1000000 WHERE name = 'free'`);
    await stack.gateway!.tenants.invalidate('acme-pets');
    const { body } = await stack.gql(`{ quotaStatus { used limit remaining burnRatePerMinute projectedExhaustionAt } }`, { token: await stack.token('acme-pets') });
    expect(body.data.quotaStatus.used).toBeGreaterThanOrEqual(95);
    expect(body.data.quotaStatus.burnRatePerMinute).toBeGreaterThan(0);
    expect(body.data.quotaStatus.remaining).toBe(body.data.quotaStatus.limit - body.data.quotaStatus.used);
  });

  it('seeds a lost counter from PostgreSQL instead of starting the month at zero', async () => {
    await stack.usage.flush();
    await stack.admin.query(`UPDATE plans SET monthly_budget = 120 WHERE name = 'free'`);
    await stack.gateway!.tenants.invalidate('acme-pets');
    await stack.store.del(await monthKey('acme-pets')); // Redis restarted without persistence
    const acme = await stack.token('acme-pets');
    const first = await stack.gql(SPEND, { token: acme });
    expect(first.status).toBe(200);
    expect(first.body.extensions?.warnings?.[0]?.used).toBeGreaterThanOrEqual(100);
    let status = 200;
    for (let i = 0; i < 10 && status === 200; i++) status = (await stack.gql(SPEND, { token: acme })).status;
    expect(status).toBe(429);
  });
});
