// DESIGN.md's scale-out story, simulated: two gateway instances (own caches, own store connections
// when Redis is used) in front of the same subgraphs, database and store.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../../scripts/stack';
import { startTestStack, type TestStack } from '../helpers/stack';

let first: TestStack;
let second: Stack;
const QUERY = `{ currentTenant { slug } pets { totalCount } }`;

beforeAll(async () => {
  first = await startTestStack();
  second = await startStack(
    { ...first.config, SERVICES: ['gateway'], GATEWAY_PORT: 0, SEED: false, subgraphUrls: { pets: first.urls.pets!, tenants: first.urls.tenants!, usage: first.urls.usage! } },
    {
      pglite: first.pglite,
      // With Redis each gateway has its own connections, as two processes would; in-process, they share the store.
      ...(first.config.REDIS_URL ? { storePrefix: first.storePrefix } : { store: first.store }),
    },
  );
});
afterAll(async () => {
  await second?.close();
  await first?.close();
});

describe('two gateway instances', () => {
  it('serve the same tenants the same data', async () => {
    const token = await first.token('fluffy-friends');
    const a = await first.gql(QUERY, { token });
    const b = await first.gql(QUERY, { token, url: second.urls.gateway });
    expect(a.body.data).toEqual(b.body.data);
    expect(b.body.data.currentTenant.slug).toBe('fluffy-friends');
    const { throttleStatus: atFirst, ...costAtFirst } = a.body.extensions!.cost;
    const { throttleStatus: atSecond, ...costAtSecond } = b.body.extensions!.cost;
    expect(costAtFirst).toEqual(costAtSecond);
    // One bucket: each reports what it could admit now. With Redis, the first gateway's lease (5 % of
    // the bucket, admission.ts LeaseOptions) is out of what the second can admit until it goes back.
    const { maximumAvailable: capacity } = atFirst;
    expect(atSecond.maximumAvailable).toBe(capacity);
    expect(atFirst.currentlyAvailable).toBe(capacity - costAtFirst.actualQueryCost);
    expect(atSecond.currentlyAvailable).toBeLessThanOrEqual(capacity - costAtFirst.actualQueryCost);
    expect(atSecond.currentlyAvailable).toBeGreaterThanOrEqual(capacity * 0.95 - 2 * costAtFirst.actualQueryCost);
  });

  it('both refuse a tenant suspended through one of them, well before their L1 caches expire', async () => {
    const token = await first.token('fluffy-friends');
    expect((await first.gql(QUERY, { token, url: second.urls.gateway })).status).toBe(200); // cached in the second's L1
    const operator = await first.token('acme-pets', { roles: ['platform-admin'] });
    const suspended = await first.gql(`mutation { setTenantStatus(status: SUSPENDED) { status } }`, {
      token: operator,
      headers: { 'x-tenant-id': 'fluffy-friends' },
    });
    expect(suspended.body.data.setTenantStatus.status).toBe('SUSPENDED');
    const started = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - started < 2_000) {
      status = (await first.gql(QUERY, { token, url: second.urls.gateway })).status;
      if (status === 200) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(status).toBe(403);
    expect(Date.now() - started).toBeLessThan(first.config.TENANT_CACHE_L1_TTL_MS);
    expect((await first.gql(QUERY, { token })).status).toBe(403);
    await first.gql(`mutation { setTenantStatus(status: ACTIVE) { status } }`, { token: operator, headers: { 'x-tenant-id': 'fluffy-friends' } });
  });
});
