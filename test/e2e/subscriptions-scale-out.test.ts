// DESIGN.md's scale-out story for subscriptions: a client on any gateway (and usage instance) sees
// spend caused through any other, because usage changes fan out through the store's pub/sub.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../../scripts/stack';
import { startTestStack, type TestStack } from '../helpers/stack';
import { follow, openSocket } from '../helpers/ws';

let first: TestStack;
let second: Stack;

beforeAll(async () => {
  first = await startTestStack({ QUOTA_FEED_INTERVAL_MS: '100' });
  second = await startStack(
    {
      ...first.config,
      // A second gateway with its own usage instance, which does not consume the usage stream: only
      // the first instance writes usage, yet the second's subscribers must hear of it.
      SERVICES: ['gateway', 'usage'],
      USAGE_CONSUMER: false,
      GATEWAY_PORT: 0,
      USAGE_PORT: 0,
      SEED: false,
      subgraphUrls: { pets: first.urls.pets!, tenants: first.urls.tenants!, usage: first.urls.usage! },
    },
    { pglite: first.pglite, ...(first.config.REDIS_URL ? { storePrefix: first.storePrefix } : { store: first.store }) },
  );
});
afterAll(async () => {
  await second?.close();
  await first?.close();
});

describe('subscriptions across instances', () => {
  it('a subscriber on the second gateway and usage instance sees spend made through the first gateway', async () => {
    expect(second.urls.usage).not.toBe(first.urls.usage);
    const token = await first.token('fluffy-friends');
    const socket = openSocket(second.urls.gateway!, { authorization: `Bearer ${token}` });
    const sub = follow(socket.client, 'subscription { quotaStatus { used tenant { slug } } }');
    const initial = await sub.next();
    expect(initial.data!.quotaStatus.tenant.slug).toBe('fluffy-friends');
    const started = Date.now();
    for (let i = 0; i < 3; i++) expect((await first.gql('{ pets(first: 10) { totalCount } }', { token })).status).toBe(200);
    await sub.next((e) => e.data!.quotaStatus.used > initial.data!.quotaStatus.used);
    expect(Date.now() - started).toBeLessThan(2_000);
    await socket.client.dispose();
  });
});
