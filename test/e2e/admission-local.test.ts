// Local refusals (gateway/src/local-refusals.ts) and the early 429 (admission.ts `refuseEarly`): once
// the shared store has refused a tenant for its bucket, a gateway refuses that tenant's operations
// that cannot fit without asking the store, before Apollo Server runs, with the same answer the store
// path gives. It may refuse early, never admit: two gateways sharing one store still admit no more
// than the bucket (DESIGN.md invariant 6).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketKey } from '../../gateway/src/admission';
import { startStack, type Stack } from '../../scripts/stack';
import type { KeyValueStore } from '../../tenancy/store';
import { startTestStack, type TestStack } from '../helpers/stack';

let first: TestStack;
let second: Stack;
const SPEND = `query Spend { a: currentTenant { slug } b: currentTenant { slug } c: currentTenant { slug } d: currentTenant { slug } e: currentTenant { slug } }`;
const COST = 5;

/** Counts the shared store's admissions (both gateways' primaries, whichever objects they are). */
function countAdmissions(...stores: KeyValueStore[]) {
  const counter = { calls: 0 };
  for (const store of new Set(stores)) {
    const admit = store.admit.bind(store);
    store.admit = (...args) => {
      counter.calls++;
      return admit(...args);
    };
  }
  return counter;
}

async function setFreePlan(capacity: number, restoreRate: number) {
  await first.admin.query(
    `UPDATE plans SET bucket_capacity = $1, restore_rate = $2, max_operation_cost = $1, max_concurrency = 1000, monthly_budget = 100000000 WHERE name = 'free'`,
    [capacity, restoreRate],
  );
  await first.gateway!.tenants.invalidate('acme-pets');
  await second.gateway!.tenants.invalidate('acme-pets');
  await first.store.del(bucketKey('acme-pets'));
}

let admissions: { calls: number };
beforeAll(async () => {
  first = await startTestStack();
  second = await startStack(
    { ...first.config, SERVICES: ['gateway'], GATEWAY_PORT: 0, SEED: false, subgraphUrls: { pets: first.urls.pets!, tenants: first.urls.tenants!, usage: first.urls.usage! } },
    { pglite: first.pglite, ...(first.config.REDIS_URL ? { storePrefix: first.storePrefix } : { store: first.store }) },
  );
  admissions = countAdmissions(first.store, second.store);
});
afterAll(async () => {
  await second?.close();
  await first?.close();
});

/** Spends acme-pets' bucket through `url` until the store refuses; returns that 429. */
async function spendUntilRefused(token: string, url = first.urls.gateway!, headers: Record<string, string> = {}) {
  for (let i = 0; i < 200; i++) {
    const response = await first.gql(SPEND, { token, url, headers });
    if (response.status === 429) return response;
    expect(response.status).toBe(200);
  }
  throw new Error('the bucket never ran dry');
}

const headersOf = (headers: Headers) => Object.fromEntries([...headers].filter(([name]) => !['x-request-id', 'date', 'connection', 'keep-alive'].includes(name)));

describe('local refusals', () => {
  it('answers a repeated refusal without the store, byte for byte as the store path answers it', async () => {
    const token = await first.token('acme-pets');
    for (const [capacity, accept] of [[100, undefined], [101, 'application/graphql-response+json']] as const) {
      // A bucket that practically does not refill: both answers report the same numbers. A new
      // capacity each time, so that nothing known of the old bucket applies.
      await setFreePlan(capacity, 0.001);
      const headers: Record<string, string> = accept ? { accept } : {};
      const viaStore = await spendUntilRefused(token, first.urls.gateway, headers);
      const before = admissions.calls;
      const repeated = [await first.gql(SPEND, { token, headers }), await first.gql(SPEND, { token, headers })];
      expect(admissions.calls).toBe(before);
      for (const again of repeated) {
        expect(again.status).toBe(429);
        expect(headersOf(again.headers)).toEqual(headersOf(viaStore.headers));
        expect(JSON.stringify(again.body)).toBe(JSON.stringify(viaStore.body));
      }
      expect(viaStore.body.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', reason: 'BUCKET' });
      expect(viaStore.headers.get('retry-after')).toBe(String(viaStore.body.errors?.[0]?.extensions?.retryAfter));
      expect(viaStore.headers.get('content-type')).toMatch(accept ? /graphql-response\+json/ : /^application\/json/);
    }
  });

  it('still answers what comes before admission first: validation errors and other tenants', async () => {
    await setFreePlan(100, 0.001);
    const token = await first.token('acme-pets');
    await spendUntilRefused(token);
    const invalid = await first.gql('{ currentTenant { nope } }', { token });
    expect(invalid.status).toBe(400);
    expect(invalid.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const tooDear = await first.gql(`{ pets(first: 100) { edges { node { name owner { name } } } } }`, { token });
    expect(tooDear.body.errors?.[0]?.extensions?.code).toBe('COST_LIMIT_EXCEEDED');
    const other = await first.gql(SPEND, { token: await first.token('fluffy-friends') });
    expect(other.status).toBe(200);
  });

  it('refuses locally for at most a second after the store said the bucket is short', async () => {
    await setFreePlan(100, 0.001);
    const token = await first.token('acme-pets');
    await spendUntilRefused(token);
    // An operator refills the bucket behind the gateway's back: refusing early is allowed...
    await first.store.del(bucketKey('acme-pets'));
    expect((await first.gql(SPEND, { token })).status).toBe(429);
    // ...but not for long: the gateway asks the store again.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await first.gql(SPEND, { token })).status).toBe(200);
  });

  it('never admits more than the shared bucket, refilling, across two gateways that refuse locally', async () => {
    const capacity = 50;
    const rate = 50; // units per second: 10 operations a second
    await setFreePlan(capacity, rate);
    const token = await first.token('acme-pets');
    const urls = [first.urls.gateway!, second.urls.gateway!];
    const before = admissions.calls;
    const started = performance.now();
    const statuses: number[] = [];
    const viaGateway = [0, 0];
    const client = async (n: number) => {
      while (performance.now() - started < 1_500) {
        const response = await first.gql(SPEND, { token, url: urls[n % 2] });
        statuses.push(response.status);
        if (response.status === 200) {
          expect(response.body.extensions?.cost.actualQueryCost).toBe(COST);
          viaGateway[n % 2]!++;
        } else {
          expect(response.status).toBe(429);
          expect(response.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
        }
      }
    };
    await Promise.all(Array.from({ length: 12 }, (_, n) => client(n)));
    const elapsedSeconds = (performance.now() - started) / 1000;
    const admitted = statuses.filter((s) => s === 200).length;
    // Invariant 6: the bucket, what it restored meanwhile, plus one request.
    expect(admitted * COST).toBeLessThanOrEqual(capacity + rate * elapsedSeconds + COST);
    // The bucket was really spent, from both gateways.
    expect(admitted * COST).toBeGreaterThanOrEqual(capacity);
    expect(viaGateway.every((n) => n > 0)).toBe(true);
    // And most refusals never reached the store.
    const refused = statuses.length - admitted;
    expect(refused).toBeGreaterThan(admitted);
    expect(admissions.calls - before).toBeLessThan(statuses.length / 2);
  });
});
