// DESIGN.md invariant 6: two gateway instances sharing one store, many concurrent clients, never admit
// more cost than the bucket holds plus one request.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketKey } from '../../gateway/src/admission';
import { startStack, type Stack } from '../../scripts/stack';
import { startTestStack, type TestStack } from '../helpers/stack';

let first: TestStack;
let second: Stack;
const SPEND = `query Spend { a: currentTenant { slug } b: currentTenant { slug } c: currentTenant { slug } d: currentTenant { slug } e: currentTenant { slug } }`;
const COST = 5;
const CAPACITY = 100;

beforeAll(async () => {
  // Leases of 2 s: the test reads the store while one is out, which a stalled machine must not outlast.
  first = await startTestStack({ ADMISSION_LEASE_MS: '2000' });
  second = await startStack(
    { ...first.config, SERVICES: ['gateway'], GATEWAY_PORT: 0, SEED: false, subgraphUrls: { pets: first.urls.pets!, tenants: first.urls.tenants!, usage: first.urls.usage! } },
    { pglite: first.pglite, ...(first.config.REDIS_URL ? { storePrefix: first.storePrefix } : { store: first.store }) },
  );
  // A bucket that practically does not refill during the test, and room for every request at once.
  await first.admin.query(
    `UPDATE plans SET bucket_capacity = $1, restore_rate = 0.001, max_operation_cost = $1, max_concurrency = 1000, monthly_budget = 100000000 WHERE name = 'free'`,
    [CAPACITY],
  );
  await first.gateway!.tenants.invalidate('acme-pets');
  await first.store.del(bucketKey('acme-pets'));
});
afterAll(async () => {
  await second?.close();
  await first?.close();
});

describe('admission across two gateway instances', () => {
  it('admits at most the bucket plus one request, however the requests are spread', async () => {
    const token = await first.token('acme-pets');
    const responses = await Promise.all(
      Array.from({ length: 60 }, (_, i) => first.gql(SPEND, { token, url: i % 2 ? second.urls.gateway : first.urls.gateway })),
    );
    const admitted = responses.filter((r) => r.status === 200);
    const limited = responses.filter((r) => r.status === 429);
    expect(admitted.length + limited.length).toBe(60);
    for (const r of admitted) expect(r.body.extensions?.cost.actualQueryCost).toBe(COST);
    expect(admitted.length * COST).toBeLessThanOrEqual(CAPACITY + COST);
    // And the bucket was really shared, not refused wholesale: it was spent down to the last request.
    expect(admitted.length * COST).toBeGreaterThanOrEqual(CAPACITY - COST);
    expect(limited.every((r) => r.body.errors?.[0]?.extensions?.code === 'RATE_LIMITED')).toBe(true);
    // Both instances admitted some.
    const viaSecond = responses.filter((r, i) => i % 2 === 1 && r.status === 200).length;
    expect(viaSecond).toBeGreaterThan(0);
    expect(admitted.length - viaSecond).toBeGreaterThan(0);
  });

  it('with leases: admits from them while the bucket is far from empty, and still never more than the bucket plus one request', async () => {
    // A bucket big enough for leases: each takes 5 % (100), ten times this operation's cost.
    const capacity = 2_000;
    const leaseMs = Number(first.config.ADMISSION_LEASE_MS);
    await first.admin.query(`UPDATE plans SET bucket_capacity = $1, max_operation_cost = $1 WHERE name = 'free'`, [capacity]);
    await Promise.all([first.gateway!.tenants.invalidate('acme-pets'), second.gateway!.tenants.invalidate('acme-pets')]);
    await first.store.del(bucketKey('acme-pets'));
    const policy = { capacity, restoreRate: 0.001 };
    const token = await first.token('acme-pets');

    const one = await first.gql(SPEND, { token });
    expect(one.status).toBe(200);
    expect(one.body.extensions?.cost.throttleStatus.currentlyAvailable).toBe(capacity - COST);
    const inStore = (await first.store.peekTokens(bucketKey('acme-pets'), policy)).available;
    // The gateway holds a lease (from Redis or the in-process store alike): its share is out of the
    // shared bucket, though not spent.
    expect(inStore).toBeCloseTo(capacity - COST - capacity * 0.05, 0);
    await new Promise((resolve) => setTimeout(resolve, leaseMs + 100));
    // Returned: the store holds exactly what was not spent.
    expect((await first.store.peekTokens(bucketKey('acme-pets'), policy)).available).toBeCloseTo(capacity - COST, 0);

    // Forty clients over both gateways spend the bucket down.
    const statuses = await Promise.all(
      Array.from({ length: 40 }, async (_, client) => {
        const url = client % 2 ? second.urls.gateway : first.urls.gateway;
        const seen: number[] = [];
        for (let i = 0; i < 20; i++) {
          const response = await first.gql(SPEND, { token, url });
          seen.push(response.status);
          if (response.status === 200) expect(response.body.extensions?.cost.actualQueryCost).toBe(COST);
          else expect(response.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
        }
        return seen;
      }),
    );
    const admitted = statuses.flat().filter((status) => status === 200).length + 1;
    expect(statuses.flat().every((status) => status === 200 || status === 429)).toBe(true);
    expect(admitted * COST).toBeLessThanOrEqual(capacity + COST);
    // A lease held idle on one gateway while the other refuses is at most 5 % of the bucket per gateway,
    // and goes back within its window.
    expect(admitted * COST).toBeGreaterThanOrEqual(capacity - 2 * capacity * 0.05 - COST);
    await new Promise((resolve) => setTimeout(resolve, leaseMs + 100));
    const left = (await first.store.peekTokens(bucketKey('acme-pets'), policy)).available;
    expect(left).toBeCloseTo(capacity - admitted * COST, 0);
  });
});
