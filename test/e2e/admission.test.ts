// Issue 3's admission through the gateway: per-operation maximum, token bucket with refunds,
// concurrency, 429 + Retry-After + RateLimit headers, extensions.cost, and tenant independence.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketKey } from '../../gateway/src/admission';
import { startTestStack, type TestStack } from '../helpers/stack';

let stack: TestStack;
const EXPENSIVE = `query Expensive { pets(first: 100) { edges { node { name owner { name } tenant { slug } } } } }`;
const CHEAP = `query Cheap { currentTenant { slug } }`;

async function setPlan(plan: string, limits: { capacity: number; restore: number; maxCost: number; concurrency: number }) {
  await stack.admin.query(
    'UPDATE plans SET bucket_capacity = $2, restore_rate = $3, max_operation_cost = $4, max_concurrency = $5 WHERE name = $1',
    [plan, limits.capacity, limits.restore, limits.maxCost, limits.concurrency],
  );
  for (const slug of ['acme-pets', 'fluffy-friends']) {
    await stack.gateway!.tenants.invalidate(slug);
    await stack.store.del(bucketKey(slug)); // start each case from a full bucket of the new size
  }
}

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack?.close());

describe('admission', () => {
  it('puts extensions.cost and RateLimit headers on every successful response', async () => {
    const { status, body, headers } = await stack.gql(CHEAP, { token: await stack.token('fluffy-friends') });
    expect(status).toBe(200);
    expect(body.extensions?.cost).toMatchObject({
      requestedQueryCost: expect.any(Number),
      actualQueryCost: expect.any(Number),
      throttleStatus: { maximumAvailable: expect.any(Number), currentlyAvailable: expect.any(Number), restoreRate: expect.any(Number) },
    });
    expect(headers.get('ratelimit-policy')).toMatch(/^"bucket";q=\d+;w=\d+$/);
    expect(headers.get('ratelimit')).toMatch(/^"bucket";r=\d+;t=\d+$/);
  });

  it('refunds the difference when fewer rows come back than were priced', async () => {
    const { body } = await stack.gql(EXPENSIVE, { token: await stack.token('fluffy-friends') });
    const cost = (body as any).extensions.cost;
    expect(cost.actualQueryCost).toBeLessThan(cost.requestedQueryCost);
    const again = (await stack.gql(CHEAP, { token: await stack.token('fluffy-friends') })).body as any;
    // Only the actual cost stayed spent: the bucket is within a few units of full (it refills too).
    expect(again.extensions.cost.throttleStatus.currentlyAvailable).toBeGreaterThan(cost.throttleStatus.maximumAvailable - cost.requestedQueryCost);
  });

  it('charges a failed mutation its base cost', async () => {
    const { body } = await stack.gql(`mutation { deletePet(id: "00000000-0000-4000-8000-000000000000") }`, { token: await stack.token('fluffy-friends') });
    expect(body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(body.extensions?.cost).toMatchObject({ requestedQueryCost: 10, actualQueryCost: 10 });
  });

  it('refuses an operation above the plan maximum with COST_LIMIT_EXCEEDED (400) and touches nothing', async () => {
    await setPlan('free', { capacity: 100_000, restore: 1000, maxCost: 50, concurrency: 10 });
    const { status, body } = await stack.gql(EXPENSIVE, { token: await stack.token('acme-pets') });
    expect(status).toBe(400);
    expect(body.errors?.[0]?.extensions?.code).toBe('COST_LIMIT_EXCEEDED');
    expect(body.data).toBeUndefined();
  });

  it("empties acme-pets' bucket, answers 429 with Retry-After, and leaves fluffy-friends untouched", async () => {
    await setPlan('free', { capacity: 1000, restore: 1, maxCost: 1000, concurrency: 10 });
    const acme = await stack.token('acme-pets');
    const fluffy = await stack.token('fluffy-friends');
    const fluffyBefore = ((await stack.gql(CHEAP, { token: fluffy })).body as any).extensions.cost.throttleStatus.currentlyAvailable;
    const seen: number[] = [];
    let rejected: Awaited<ReturnType<TestStack['gql']>> | undefined;
    // Ask for more rows than exist (priced high, refunded to what is returned): spend with a query
    // whose actual cost equals its price instead, so the bucket really empties.
    const spend = `query Spend { a: currentTenant { slug } b: currentTenant { slug } c: currentTenant { slug } pets(first: 4) { edges { node { name } } } }`;
    for (let i = 0; i < 500 && !rejected; i++) {
      const response = await stack.gql(spend, { token: acme });
      if (response.status === 429) rejected = response;
      else seen.push((response.body as any).extensions.cost.throttleStatus.currentlyAvailable);
    }
    expect(rejected).toBeDefined();
    expect(seen.length).toBeGreaterThan(5);
    expect(seen[seen.length - 1]!).toBeLessThan(seen[0]!);
    expect(rejected!.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect(rejected!.body.data).toBeUndefined();
    expect(Number(rejected!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(rejected!.body.errors?.[0]?.extensions?.retryAfter).toBe(Number(rejected!.headers.get('retry-after')));
    expect(rejected!.headers.get('ratelimit')).toMatch(/^"bucket";r=\d+;t=\d+$/);
    const fluffyAfter = ((await stack.gql(CHEAP, { token: fluffy })).body as any).extensions.cost.throttleStatus.currentlyAvailable;
    expect(fluffyAfter).toBeGreaterThanOrEqual(fluffyBefore - 5);
    expect((await stack.gql(CHEAP, { token: fluffy })).status).toBe(200);
  });

  it('limits operations in flight per tenant', async () => {
    await setPlan('free', { capacity: 100_000, restore: 1000, maxCost: 10_000, concurrency: 1 });
    const acme = await stack.token('acme-pets');
    const results = await Promise.all(Array.from({ length: 8 }, () => stack.gql(EXPENSIVE, { token: acme })));
    const statuses = results.map((r) => r.status);
    expect(statuses).toContain(200);
    expect(statuses).toContain(429);
    const limited = results.find((r) => r.status === 429)!;
    expect(limited.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect(limited.headers.get('retry-after')).toBe('1');
    // A client cannot share one slot among many operations by sending the same request id.
    const sameId = await Promise.all(Array.from({ length: 8 }, () => stack.gql(EXPENSIVE, { token: acme, headers: { 'x-request-id': 'same-id' } })));
    expect(sameId.map((r) => r.status)).toContain(429);
    // Slots are released when operations finish: a later one gets through.
    expect((await stack.gql(CHEAP, { token: acme })).status).toBe(200);
  });
});
