// Issue 5: the generated client SDK against the whole stack: the quickstart example, typed data and
// typed errors over HTTP, persisted operations through the gateway, and the live quota feed over
// graphql-ws.
import WebSocket from 'ws';
import { parse } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketKey } from '../../gateway/src/admission';
import { main as quickstart } from '../../examples/sdk-quickstart';
import {
  CostLimitExceededError,
  createClient,
  CreatePetDocument,
  CurrentTenantDocument,
  DeletePetDocument,
  ForbiddenError,
  GetPetDocument,
  ListPetsDocument,
  NotFoundError,
  persistedOperations,
  QuotaStatusDocument,
  QuotaStatusFeedDocument,
  RateLimitedError,
  RecentOperationsDocument,
  UnauthenticatedError,
  UpdatePetDocument,
  ViewerDocument,
  type Client,
  type ClientOptions,
} from '../../sdk/src/index';
import { startTestStack, type TestStack } from '../helpers/stack';

let stack: TestStack;
const clients: Client[] = [];
const FREE_PLAN = { bucket_capacity: 1000, restore_rate: 50, max_operation_cost: 1000, max_concurrency: 5 };

function client(options: Partial<ClientOptions> & { token?: string } = {}): Client {
  const made = createClient({ url: stack.urls.gateway!, webSocketImpl: WebSocket, ...options });
  clients.push(made);
  return made;
}

/** Changes the free plan (acme-pets) and starts from a full bucket of the new size. */
async function setFreePlan(limits: Partial<typeof FREE_PLAN>) {
  const next = { ...FREE_PLAN, ...limits };
  await stack.admin.query('UPDATE plans SET bucket_capacity = $2, restore_rate = $3, max_operation_cost = $4, max_concurrency = $5 WHERE name = $1', [
    'free',
    next.bucket_capacity,
    next.restore_rate,
    next.max_operation_cost,
    next.max_concurrency,
  ]);
  await stack.gateway!.tenants.invalidate('acme-pets');
  await stack.store.del(bucketKey('acme-pets'));
}

/** The error a promise rejects with (fails the test when it resolves). */
const rejection = <E>(promise: Promise<unknown>): Promise<E> =>
  promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e as E,
  );

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await stack?.close();
});

describe('sdk quickstart (examples/sdk-quickstart.ts)', () => {
  it('lists pets, creates one, reads the quota and follows the live quota feed', async () => {
    const lines: string[] = [];
    const summary = await quickstart({ url: stack.urls.gateway!, token: await stack.token('fluffy-friends'), events: 3, log: (line) => lines.push(line) });
    expect(summary.tenantPets).toBe(3);
    expect(summary.createdPetId).toEqual(expect.any(String));
    expect(summary.quota.limit).toBeGreaterThan(0);
    expect(summary.events).toHaveLength(3);
    // Each event follows a query that spent something: usage only grows, and it did grow.
    expect([...summary.events].sort((a, b) => a - b)).toEqual(summary.events);
    expect(summary.events[2]!).toBeGreaterThan(summary.events[0]!);
    expect(lines[0]).toMatch(/^pets: 3 in total, first page: /);
    expect(lines[1]).toMatch(/^created pet [\w-]+ \(Quickstart [\d:]+, cat\)$/);
    expect(lines[2]).toMatch(/^quota: \d+ of \d+ used on the pro plan/);
    expect(lines.filter((line) => line.startsWith('quota event '))).toHaveLength(3);
  }, 60_000);
});

describe('sdk over HTTP', () => {
  it('returns typed data for queries and mutations, with extensions.cost', async () => {
    const sdk = client({ token: await stack.token('fluffy-friends') });
    const { data: tenant } = await sdk.query(CurrentTenantDocument);
    expect(tenant.currentTenant).toMatchObject({ slug: 'fluffy-friends', plan: 'pro', status: 'ACTIVE' });
    const { data: viewer } = await sdk.query(ViewerDocument);
    expect(viewer.viewer).toMatchObject({ email: 'admin@fluffy-friends.example', role: 'admin', tenant: { slug: 'fluffy-friends' } });

    const { data: created, extensions } = await sdk.mutate(CreatePetDocument, { input: { name: 'Sdk Sam', species: 'hamster' } });
    expect(created.createPet).toMatchObject({ name: 'Sdk Sam', species: 'hamster', owner: null });
    expect(extensions?.cost).toMatchObject({ requestedQueryCost: expect.any(Number), actualQueryCost: expect.any(Number) });
    const id = created.createPet.id;

    const { data: hamsters } = await sdk.query(ListPetsDocument, { species: 'hamster', first: 10 });
    expect(hamsters.pets.edges.map((edge) => edge.node.id)).toEqual([id]);
    const { data: updated } = await sdk.mutate(UpdatePetDocument, { id, input: { name: 'Sdk Samantha' } });
    expect(updated.updatePet.name).toBe('Sdk Samantha');
    expect((await sdk.query(GetPetDocument, { id })).data.pet?.name).toBe('Sdk Samantha');
    expect((await sdk.mutate(DeletePetDocument, { id })).data.deletePet).toBe(true);
    expect((await sdk.query(GetPetDocument, { id })).data.pet).toBeNull();

    const { data: quota } = await sdk.query(QuotaStatusDocument);
    expect(quota.quotaStatus).toMatchObject({ plan: 'pro', limit: expect.any(Number), resetsAt: expect.any(String) });
    const { data: recent } = await sdk.query(RecentOperationsDocument, { first: 5 });
    expect(Array.isArray(recent.recentOperations)).toBe(true);
  });

  it('asks getToken for the token before every request', async () => {
    const token = await stack.token('fluffy-friends');
    let calls = 0;
    const sdk = client({
      getToken: async () => {
        calls++;
        return token;
      },
    });
    await sdk.query(CurrentTenantDocument);
    await sdk.query(CurrentTenantDocument);
    expect(calls).toBe(2);
  });

  it('throws NotFoundError for another tenant’s pet, with the partial data', async () => {
    const acme = client({ token: await stack.token('acme-pets') });
    const acmePet = (await acme.query(ListPetsDocument, { first: 1 })).data.pets.edges[0]!.node.id;
    const fluffy = client({ token: await stack.token('fluffy-friends') });
    const thrown = await rejection<NotFoundError>(fluffy.mutate(UpdatePetDocument, { id: acmePet, input: { name: 'Stolen' } }));
    expect(thrown).toBeInstanceOf(NotFoundError);
    expect(thrown.code).toBe('NOT_FOUND');
    expect(thrown.status).toBe(200);
    expect(thrown.data).toBeNull();
    expect((await acme.query(GetPetDocument, { id: acmePet })).data.pet?.name).not.toBe('Stolen');
  });

  it('throws UnauthenticatedError (401) for a bad token and ForbiddenError (403) for another tenant selected', async () => {
    const bad = await rejection<UnauthenticatedError>(client({ getToken: () => 'not-a-jwt' }).query(CurrentTenantDocument));
    expect(bad).toBeInstanceOf(UnauthenticatedError);
    expect(bad.status).toBe(401);
    const selector = await rejection<ForbiddenError>(client({ token: await stack.token('acme-pets'), headers: { 'x-tenant-id': 'fluffy-friends' } }).query(CurrentTenantDocument));
    expect(selector).toBeInstanceOf(ForbiddenError);
    expect(selector.status).toBe(403);
  });

  it('throws CostLimitExceededError (400) for an operation above the plan maximum', async () => {
    await setFreePlan({ max_operation_cost: 20 });
    try {
      const sdk = client({ token: await stack.token('acme-pets') });
      const thrown = await rejection<CostLimitExceededError>(sdk.query(ListPetsDocument, { first: 100 }));
      expect(thrown).toBeInstanceOf(CostLimitExceededError);
      expect(thrown.status).toBe(400);
      expect(thrown.maximumQueryCost).toBe(20);
      expect((await sdk.query(ListPetsDocument, { first: 2 })).data.pets.edges).toHaveLength(2);
    } finally {
      await setFreePlan({});
    }
  });

  it('throws RateLimitedError (429) with retryAfter, and succeeds after waiting that long', async () => {
    await setFreePlan({ bucket_capacity: 10, restore_rate: 2 });
    try {
      const sdk = client({ token: await stack.token('acme-pets') });
      let limited: RateLimitedError | undefined;
      for (let i = 0; i < 50 && !limited; i++) {
        limited = await sdk.query(CurrentTenantDocument).then(
          () => undefined,
          (e: unknown) => {
            if (e instanceof RateLimitedError) return e;
            throw e;
          },
        );
      }
      expect(limited).toBeInstanceOf(RateLimitedError);
      expect(limited!.status).toBe(429);
      expect(limited!.retryAfter).toBeGreaterThanOrEqual(1);
      expect(limited!.retryAfter).toBe(Number(limited!.headers?.get('retry-after')));
      await new Promise((resolve) => setTimeout(resolve, limited!.retryAfter * 1000));
      expect((await sdk.query(CurrentTenantDocument)).data.currentTenant.slug).toBe('acme-pets');
    } finally {
      await setFreePlan({});
    }
  });

  it('sends SDK operations by hash alone (the gateway loads sdk/persisted-operations.json)', async () => {
    const bodies: Array<Record<string, any>> = [];
    const recording: typeof fetch = async (input, init) => {
      bodies.push(JSON.parse(String(init?.body)));
      return fetch(input, init);
    };
    const sdk = client({ token: await stack.token('fluffy-friends'), persisted: true, fetch: recording });
    const first = await sdk.query(ListPetsDocument, { first: 2, species: 'cat' });
    const second = await sdk.query(ListPetsDocument, { first: 2, species: 'cat' });
    expect(second.data).toEqual(first.data);
    expect(first.data.pets.edges.length).toBeGreaterThan(0);
    const hash = persistedOperations.get(ListPetsDocument)!.id;
    expect(bodies.map((b) => ({ hash: b.extensions?.persistedQuery?.sha256Hash, withBody: 'query' in b }))).toEqual([
      { hash, withBody: false },
      { hash, withBody: false },
    ]);
  });

  it('sends a document outside the manifest with its body once the gateway does not know its hash', async () => {
    const bodies: Array<Record<string, any>> = [];
    const recording: typeof fetch = async (input, init) => {
      bodies.push(JSON.parse(String(init?.body)));
      return fetch(input, init);
    };
    const sdk = client({ token: await stack.token('fluffy-friends'), persisted: true, fetch: recording });
    const mine = parse('query Mine { currentTenant { slug } }') as TypedDocumentNode<{ currentTenant: { slug: string } }, Record<string, never>>;
    expect((await sdk.query(mine)).data.currentTenant.slug).toBe('fluffy-friends');
    expect((await sdk.query(mine)).data.currentTenant.slug).toBe('fluffy-friends');
    expect(bodies.map((b) => 'query' in b)).toEqual([false, true, true]);
    expect(new Set(bodies.map((b) => b.extensions.persistedQuery.sha256Hash)).size).toBe(1);
  });
});

describe('sdk subscriptions over graphql-ws', () => {
  it('streams typed quota events and stops on unsubscribe', async () => {
    const token = await stack.token('fluffy-friends');
    const sdk = client({ getToken: () => token });
    const feed = sdk.subscribe(QuotaStatusFeedDocument);
    const first = await feed.next();
    expect(first.done).toBe(false);
    const status = first.value!.data.quotaStatus;
    expect(status).toMatchObject({ plan: 'pro', limit: expect.any(Number), used: expect.any(Number) });
    expect(status.usageByMinute).toHaveLength(30);
    // Spend until an event shows it (events are throttled and may skip intermediate states).
    let latest = status.used;
    for (let i = 0; i < 20 && latest <= status.used; i++) {
      await sdk.query(ListPetsDocument, { first: 3 });
      const event = await Promise.race([feed.next(), new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 2_000))]);
      if (event && !event.done) latest = event.value.data.quotaStatus.used;
    }
    expect(latest).toBeGreaterThan(status.used);
    feed.unsubscribe();
    expect(await feed.next()).toEqual({ value: undefined, done: true });
  }, 60_000);

  it('ends the iteration with UnauthenticatedError when the socket refuses the token', async () => {
    const feed = client({ token: 'not-a-jwt' }).subscribe(QuotaStatusFeedDocument);
    const thrown = await rejection<UnauthenticatedError>(feed.next());
    expect(thrown).toBeInstanceOf(UnauthenticatedError);
    expect(thrown.extensions.closeCode).toBe(4401);
  });

  it('sends the x-tenant-id selector in connectionParams: ForbiddenError for another tenant', async () => {
    const feed = client({ token: await stack.token('acme-pets'), headers: { 'x-tenant-id': 'fluffy-friends' } }).subscribe(QuotaStatusFeedDocument);
    const thrown = await rejection<ForbiddenError>(feed.next());
    expect(thrown).toBeInstanceOf(ForbiddenError);
    expect(thrown.extensions.closeCode).toBe(4403);
  });

  it('ends when the signal aborts', async () => {
    const controller = new AbortController();
    const feed = client({ token: await stack.token('fluffy-friends') }).subscribe(QuotaStatusFeedDocument, {}, { signal: controller.signal });
    expect((await feed.next()).done).toBe(false);
    controller.abort();
    expect((await feed.next()).done).toBe(true);
  });
});
