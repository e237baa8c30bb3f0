import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack';

const DEMO_QUERY = /* GraphQL */ `
  query Demo {
    currentTenant { slug plan name }
    viewer { email role }
    pets(first: 10) {
      totalCount
      edges { cursor node { id name species owner { name email } tenant { slug } } }
    }
  }
`;

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack?.close());

describe('gateway end to end', () => {
  it("serves acme-pets' tenant, pets, owners and tenant assembled across subgraphs, and only acme-pets'", async () => {
    const { status, body } = await stack.gql(DEMO_QUERY, { token: await stack.token('acme-pets') });
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.data.currentTenant).toEqual({ slug: 'acme-pets', plan: 'free', name: 'Acme Pets' });
    expect(body.data.viewer).toEqual({ email: 'admin@acme-pets.example', role: 'admin' });
    const pets = body.data.pets.edges.map((e: any) => e.node);
    expect(pets.map((p: any) => p.name).sort()).toEqual(['Bella', 'Nemo', 'Rex', 'Tom']);
    expect(body.data.pets.totalCount).toBe(4);
    for (const pet of pets) {
      expect(pet.tenant.slug).toBe('acme-pets');
      expect(pet.owner.email).toMatch(/@acme-pets\.example$/);
    }
  });

  it("serves fluffy-friends' data only to a fluffy-friends token", async () => {
    const { body } = await stack.gql(DEMO_QUERY, { token: await stack.token('fluffy-friends') });
    expect(body.errors).toBeUndefined();
    expect(body.data.currentTenant.slug).toBe('fluffy-friends');
    expect(body.data.currentTenant.plan).toBe('pro');
    const pets = body.data.pets.edges.map((e: any) => e.node);
    expect(pets.map((p: any) => p.name).sort()).toEqual(['Hoppy', 'Polly', 'Whiskers']);
    expect(pets.every((p: any) => p.tenant.slug === 'fluffy-friends' && p.owner.email.endsWith('@fluffy-friends.example'))).toBe(true);
  });

  it('creates, pages, filters, updates and deletes pets', async () => {
    const token = await stack.token('fluffy-friends', { roles: ['admin'] });
    const created = await stack.gql(`mutation { createPet(input: { name: "  Goldie ", species: "fish" }) { id name species owner { id } } }`, { token });
    expect(created.body.errors).toBeUndefined();
    const pet = created.body.data.createPet;
    expect(pet).toMatchObject({ name: 'Goldie', species: 'fish', owner: null });

    const fish = await stack.gql(`{ pets(species: "fish") { totalCount edges { node { id } } } }`, { token });
    expect(fish.body.data.pets.totalCount).toBe(1);

    const page1 = await stack.gql(`{ pets(first: 2) { edges { node { name } } pageInfo { hasNextPage endCursor } } }`, { token });
    expect(page1.body.data.pets.edges).toHaveLength(2);
    expect(page1.body.data.pets.pageInfo.hasNextPage).toBe(true);
    const page2 = await stack.gql(`query($after: String) { pets(first: 10, after: $after) { edges { node { name } } pageInfo { hasNextPage } } }`, {
      token,
      variables: { after: page1.body.data.pets.pageInfo.endCursor },
    });
    const names = [...page1.body.data.pets.edges, ...page2.body.data.pets.edges].map((e: any) => e.node.name);
    expect(new Set(names).size).toBe(4);
    expect(names.sort()).toEqual(['Goldie', 'Hoppy', 'Polly', 'Whiskers']);
    expect(page2.body.data.pets.pageInfo.hasNextPage).toBe(false);

    const updated = await stack.gql(`mutation($id: ID!) { updatePet(id: $id, input: { name: "Goldie II" }) { name species } }`, {
      token,
      variables: { id: pet.id },
    });
    expect(updated.body.data.updatePet).toEqual({ name: 'Goldie II', species: 'fish' });
    const deleted = await stack.gql(`mutation($id: ID!) { deletePet(id: $id) }`, { token, variables: { id: pet.id } });
    expect(deleted.body.data.deletePet).toBe(true);
    const gone = await stack.gql(`query($id: ID!) { pet(id: $id) { id } }`, { token, variables: { id: pet.id } });
    expect(gone.body.data.pet).toBeNull();
  });

  it('answers bad arguments with BAD_USER_INPUT, not a 500', async () => {
    const token = await stack.token('acme-pets');
    const tooMany = await stack.gql(`{ pets(first: 1000) { totalCount } }`, { token });
    expect(tooMany.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const badCursor = await stack.gql(`{ pets(after: "not-a-cursor") { totalCount } }`, { token });
    expect(badCursor.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const emptyName = await stack.gql(`mutation { createPet(input: { name: "  ", species: "dog" }) { id } }`, { token });
    expect(emptyName.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const badOwner = await stack.gql(`mutation { createPet(input: { name: "X", species: "dog", ownerId: "nope" }) { id } }`, { token });
    expect(badOwner.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const syntax = await stack.gql(`{ pets(`, { token });
    expect(syntax.status).toBe(400);
    expect(syntax.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    const unknownField = await stack.gql(`{ nope }`, { token });
    expect(unknownField.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const response = await fetch(stack.urls.gateway!, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: '{"query": ',
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as any).errors[0].extensions.code).toBe('BAD_USER_INPUT');
    for (const body of [JSON.stringify(tooMany.body), JSON.stringify(syntax.body)]) expect(body).not.toMatch(/stacktrace|at .*\.ts:\d+/);
  });

  it('enforces roles: viewers read, members write, only admins delete', async () => {
    const viewer = await stack.token('acme-pets', { roles: ['viewer'], sub: 'member@acme-pets.example' });
    const read = await stack.gql(`{ pets { totalCount } }`, { token: viewer });
    expect(read.body.data.pets.totalCount).toBeGreaterThan(0);
    const write = await stack.gql(`mutation { createPet(input: { name: "V", species: "dog" }) { id } }`, { token: viewer });
    expect(write.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    // A refusal that is the whole answer is a 403 (CONTRACT.md); one beside allowed data keeps 200.
    expect(write.status).toBe(403);
    const nullable = await stack.gql(`{ tenantConfig { key } }`, { token: viewer });
    expect({ status: nullable.status, code: nullable.body.errors?.[0]?.extensions?.code }).toEqual({ status: 403, code: 'FORBIDDEN' });
    const partial = await stack.gql(`{ currentTenant { slug persistedOperationsOverride } }`, { token: viewer });
    expect(partial.status).toBe(200);
    expect(partial.body.data.currentTenant.slug).toBe('acme-pets');
    expect(partial.body.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    const member = await stack.token('acme-pets', { roles: ['member'], sub: 'member@acme-pets.example' });
    const created = await stack.gql(`mutation { createPet(input: { name: "M", species: "dog" }) { id } }`, { token: member });
    expect(created.body.errors).toBeUndefined();
    const del = await stack.gql(`mutation($id: ID!) { deletePet(id: $id) }`, { token: member, variables: { id: created.body.data.createPet.id } });
    expect(del.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(del.status).toBe(403);
    const admin = await stack.token('acme-pets');
    const delAdmin = await stack.gql(`mutation($id: ID!) { deletePet(id: $id) }`, { token: admin, variables: { id: created.body.data.createPet.id } });
    expect(delAdmin.body.data.deletePet).toBe(true);
  });

  it('records usage that quotaStatus and Tenant.usage report, per tenant', async () => {
    const token = await stack.token('fluffy-friends');
    const acmeToken = await stack.token('acme-pets');
    await stack.usage.flush();
    const acmeBefore = await stack.gql(`{ quotaStatus { used } }`, { token: acmeToken });
    await stack.usage.flush();
    const before = (await stack.gql(`{ quotaStatus { used } }`, { token })).body.data.quotaStatus.used;
    for (let i = 0; i < 3; i++) await stack.gql(`query FluffyOnly { pets(first: 5) { edges { node { name } } } }`, { token });
    await stack.usage.flush();
    const { body } = await stack.gql(`{ quotaStatus { plan limit used remaining burnRatePerMinute resetsAt } currentTenant { usage { used } } recentOperations(first: 5) { operationName cost outcome } }`, { token });
    expect(body.errors).toBeUndefined();
    const quota = body.data.quotaStatus;
    expect(quota.plan).toBe('pro');
    // Three operations priced 1 + 5 x (1 + 1) = 11 each, charged at their actual cost 1 + 3 x (1 + 1) = 7
    // (fluffy-friends has three pets), plus the quotaStatus read before them.
    expect(quota.used - before).toBeGreaterThanOrEqual(21);
    expect(quota.remaining).toBe(quota.limit - quota.used);
    expect(quota.burnRatePerMinute).toBeGreaterThan(0);
    expect(new Date(quota.resetsAt).getUTCDate()).toBe(1);
    expect(body.data.currentTenant.usage.used).toBe(quota.used);
    expect(body.data.recentOperations.filter((op: any) => op.operationName === 'FluffyOnly')).toHaveLength(3);
    expect(body.data.recentOperations[0]).toMatchObject({ operationName: 'FluffyOnly', cost: 7, outcome: 'ok' });

    // fluffy-friends' spending is not acme-pets' spending.
    const acme = await stack.gql(`{ quotaStatus { used } recentOperations(first: 100) { operationName } }`, { token: acmeToken });
    expect(acme.body.data.recentOperations.map((op: any) => op.operationName)).not.toContain('FluffyOnly');
    expect(acme.body.data.quotaStatus.used).toBeLessThanOrEqual(acmeBefore.body.data.quotaStatus.used + 2);
  });

  it('serves health, readiness and metrics', async () => {
    const base = stack.urls.gateway!.replace(/\/graphql$/, '');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as any).checks).toMatchObject({ pets: true, tenants: true, usage: true, database: true, store: true });
    await stack.gql(`query MetricsProbe { currentTenant { slug } }`, { token: await stack.token('acme-pets') });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/graphql_requests_total\{[^}]*operation="MetricsProbe"[^}]*tenant="acme-pets"/);
    expect(metrics).toMatch(/graphql_request_duration_seconds_bucket/);
    for (const url of [stack.urls.pets!, stack.urls.tenants!, stack.urls.usage!]) {
      expect((await fetch(url.replace(/\/graphql$/, '/metrics'))).status).toBe(200);
    }
  });
});

describe('with a subgraph that does not answer', () => {
  let partial: TestStack;
  beforeAll(async () => {
    // Port 9 (discard) on loopback: nothing listens, so every fetch to it is refused at once.
    partial = await startTestStack({ SERVICES: 'gateway,pets,tenants', USAGE_URL: 'http://127.0.0.1:9/graphql' });
  });
  afterAll(() => partial?.close());

  it('is live but not ready, names the subgraph, and still answers what the others serve', async () => {
    const base = partial.urls.gateway!.replace(/\/graphql$/, '');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: 'not ready', checks: { pets: true, tenants: true, usage: false, database: true } });

    const token = await partial.token('acme-pets');
    const tenant = await partial.gql(`{ currentTenant { slug } }`, { token });
    expect(tenant.body.data.currentTenant.slug).toBe('acme-pets');
    // What needs the missing subgraph fails as an error in the body, masked: no stack, no 500.
    const quota = await partial.gql(`{ quotaStatus { used } }`, { token });
    expect(quota.status).toBeLessThan(500);
    expect(quota.body.data).toBeNull();
    expect(quota.body.errors?.length).toBeGreaterThan(0);
    expect(JSON.stringify(quota.body)).not.toMatch(/stacktrace|ECONNREFUSED|127\.0\.0\.1:9|at .*\.ts:\d+/);
  });
});
