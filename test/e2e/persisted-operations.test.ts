// Issue 5, item 5: persisted operations from an Apollo manifest, and the per-plan / per-tenant policy
// (PostgreSQL, through the registry lookup) on documents that are not registered.
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const CURRENT_TENANT = 'query CurrentTenant {\n  currentTenant {\n    slug\n    plan\n  }\n}';
const PET_NAMES = 'query PetNames($first: Int) {\n  pets(first: $first) {\n    edges {\n      node {\n        name\n      }\n    }\n  }\n}';
const ADD_PET = 'mutation AddPet($name: String!) {\n  createPet(input: { name: $name, species: "cat" }) {\n    id\n  }\n}';
const operation = (name: string, type: string, body: string) => ({ id: sha256(body), name, type, body });
const persisted = (body: string) => ({ persistedQuery: { version: 1, sha256Hash: sha256(body) } });

let stack: TestStack;
beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'persisted-'));
  const file = join(dir, 'persisted-operations.json');
  const operations = [operation('CurrentTenant', 'query', CURRENT_TENANT), operation('PetNames', 'query', PET_NAMES), operation('AddPet', 'mutation', ADD_PET)];
  writeFileSync(file, JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 1, operations }));
  stack = await startTestStack({ PERSISTED_OPERATIONS_FILE: file });
});
afterAll(() => stack?.close());

async function post(body: unknown, token: string) {
  const response = await fetch(stack.urls.gateway!, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as any };
}

async function get(params: Record<string, string>, token: string) {
  const url = new URL(stack.urls.gateway!);
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}`, 'apollo-require-preflight': 'true' } });
  return { status: response.status, body: (await response.json()) as any };
}

async function setPolicy(target: { plan: string } | { tenant: string }, policy: 'allow' | 'require' | null) {
  if ('plan' in target) await stack.admin.query('UPDATE plans SET persisted_operations = $2 WHERE name = $1', [target.plan, policy ?? 'allow']);
  else await stack.admin.query('UPDATE tenants SET persisted_operations = $2 WHERE slug = $1', [target.tenant, policy]);
  for (const slug of ['acme-pets', 'fluffy-friends']) await stack.gateway!.tenants.invalidate(slug);
}

describe('persisted operations', () => {
  it('runs a registered operation named by its hash, by POST and by GET, without the document', async () => {
    const token = await stack.token('acme-pets');
    const byPost = await post({ extensions: persisted(CURRENT_TENANT) }, token);
    expect(byPost.status).toBe(200);
    expect(byPost.body.data.currentTenant).toEqual({ slug: 'acme-pets', plan: 'free' });
    expect(byPost.body.extensions.cost).toBeDefined(); // admitted like any other operation

    const byGet = await get({ operationName: 'PetNames', variables: JSON.stringify({ first: 2 }), extensions: JSON.stringify(persisted(PET_NAMES)) }, token);
    expect(byGet.status).toBe(200);
    expect(byGet.body.data.pets.edges).toHaveLength(2);

    // The GraphQL over HTTP appendix's documentId, with or without its sha256: prefix.
    const byDocumentId = await post({ documentId: `sha256:${sha256(CURRENT_TENANT)}` }, token);
    expect(byDocumentId.body.data.currentTenant.slug).toBe('acme-pets');
    const byBareId = await get({ documentId: sha256(CURRENT_TENANT) }, token);
    expect(byBareId.body.data.currentTenant.slug).toBe('acme-pets');
  });

  it('answers an unknown hash with PERSISTED_QUERY_NOT_FOUND (200, as Apollo clients expect)', async () => {
    const token = await stack.token('acme-pets');
    const unknown = await post({ extensions: persisted('query Unknown { viewer { email } }') }, token);
    expect(unknown.status).toBe(200);
    expect(unknown.body.errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect(unknown.body.data).toBeUndefined();
    const byGet = await get({ extensions: JSON.stringify(persisted('{ nothing }')) }, token);
    expect(byGet.body.errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    const otherIdKind = await post({ documentId: 'x-relay:0123456789abcdef' }, token);
    expect(otherIdKind.body.errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
  });

  it('refuses a hash that does not match the document sent with it, and a malformed persistedQuery', async () => {
    const token = await stack.token('acme-pets');
    const mismatch = await post({ query: '{ viewer { email } }', extensions: persisted(CURRENT_TENANT) }, token);
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    const matching = await post({ query: CURRENT_TENANT, extensions: persisted(CURRENT_TENANT) }, token);
    expect(matching.body.data.currentTenant.slug).toBe('acme-pets');
    const version2 = await post({ extensions: { persistedQuery: { version: 2, sha256Hash: sha256(CURRENT_TENANT) } } }, token);
    expect(version2.status).toBe(400);
    expect(version2.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });

  it('does not run a registered mutation over GET (405)', async () => {
    const { status } = await get({ extensions: JSON.stringify(persisted(ADD_PET)), variables: JSON.stringify({ name: 'ByGet' }) }, await stack.token('acme-pets'));
    expect(status).toBe(405);
  });
});

describe('persisted-operation policy', () => {
  afterEach(async () => {
    await setPolicy({ plan: 'pro' }, 'allow');
    await setPolicy({ plan: 'free' }, 'allow');
    await setPolicy({ tenant: 'acme-pets' }, null);
    await setPolicy({ tenant: 'fluffy-friends' }, null);
  });

  it('allows documents of their own to every tenant by default', async () => {
    for (const slug of ['acme-pets', 'fluffy-friends']) {
      const { status, body } = await stack.gql(`{ currentTenant { slug } }`, { token: await stack.token(slug) });
      expect(status).toBe(200);
      expect(body.data.currentTenant.slug).toBe(slug);
    }
    const { rows } = await stack.db.transaction({}, (q) => q.query<{ persisted_operations: string }>('SELECT persisted_operations FROM registry_tenant_by_slug($1)', ['acme-pets']));
    expect(rows[0]!.persisted_operations).toBe('allow');
  });

  it("refuses free-form documents only for the tenants of a plan that requires persisted operations", async () => {
    await setPolicy({ plan: 'pro' }, 'require');
    const fluffy = await stack.token('fluffy-friends');
    const refused = await stack.gql(`{ currentTenant { slug } }`, { token: fluffy });
    expect(refused.status).toBe(403);
    expect(refused.body.errors?.[0]?.extensions).toMatchObject({ code: 'PERSISTED_QUERY_REQUIRED', policy: 'tenant' });
    expect(refused.body.extensions?.cost).toBeUndefined(); // refused before admission

    const registered = await post({ extensions: persisted(CURRENT_TENANT) }, fluffy);
    expect(registered.body.data.currentTenant).toEqual({ slug: 'fluffy-friends', plan: 'pro' });
    // The registered document sent in full, byte for byte, is the registered operation.
    const inFull = await stack.gql(CURRENT_TENANT, { token: fluffy });
    expect(inFull.body.data.currentTenant.slug).toBe('fluffy-friends');
    const byGet = await get({ query: '{ currentTenant { slug } }' }, fluffy);
    expect(byGet.status).toBe(403);

    // acme-pets is on the free plan, which still allows them.
    const acme = await stack.gql(`{ currentTenant { slug } }`, { token: await stack.token('acme-pets') });
    expect(acme.body.data.currentTenant.slug).toBe('acme-pets');
  });

  it("lets a tenant's own setting override its plan's, both ways", async () => {
    await setPolicy({ plan: 'pro' }, 'require');
    await setPolicy({ tenant: 'fluffy-friends' }, 'allow');
    const fluffy = await stack.gql(`{ currentTenant { slug } }`, { token: await stack.token('fluffy-friends') });
    expect(fluffy.body.data.currentTenant.slug).toBe('fluffy-friends');

    await setPolicy({ tenant: 'acme-pets' }, 'require');
    const acmeToken = await stack.token('acme-pets');
    const acme = await stack.gql(`{ currentTenant { slug } }`, { token: acmeToken });
    expect(acme.body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_REQUIRED');
    const { rows } = await stack.db.transaction({}, (q) => q.query<{ persisted_operations: string }>('SELECT persisted_operations FROM registry_tenant_by_slug($1)', ['acme-pets']));
    expect(rows[0]!.persisted_operations).toBe('require');

    // In a batch, each operation is judged on its own.
    const batch = await post([{ extensions: persisted(CURRENT_TENANT) }, { query: '{ viewer { email } }' }], acmeToken);
    expect(batch.status).toBe(200);
    expect(batch.body[0].data.currentTenant.slug).toBe('acme-pets');
    expect(batch.body[1].errors[0].extensions.code).toBe('PERSISTED_QUERY_REQUIRED');
  });
});

describe('the policy through the API (platform-admin)', () => {
  afterEach(async () => {
    await setPolicy({ plan: 'free' }, 'allow');
    await setPolicy({ plan: 'pro' }, 'allow');
    await setPolicy({ tenant: 'acme-pets' }, null);
    await setPolicy({ tenant: 'fluffy-friends' }, null);
  });
  const operator = () => stack.token('acme-pets', { roles: ['platform-admin'] });
  const asOperator = async (query: string, slug: string) => stack.gql(query, { token: await operator(), headers: { 'x-tenant-id': slug } });

  it("sets a tenant's own policy, applied by every gateway at once, and clears it back to its plan's", async () => {
    const set = await asOperator('mutation { setTenantPersistedOperations(policy: REQUIRE) { slug persistedOperations persistedOperationsOverride } }', 'fluffy-friends');
    expect(set.body.data.setTenantPersistedOperations).toEqual({ slug: 'fluffy-friends', persistedOperations: 'REQUIRE', persistedOperationsOverride: 'REQUIRE' });

    // No cache to wait for: the change is announced to the gateways.
    const fluffy = await stack.token('fluffy-friends');
    const refused = await stack.gql('{ currentTenant { slug } }', { token: fluffy });
    expect(refused.status).toBe(403);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_REQUIRED');
    expect((await post({ extensions: persisted(CURRENT_TENANT) }, fluffy)).body.data.currentTenant.slug).toBe('fluffy-friends');
    // acme-pets is untouched.
    expect((await stack.gql('{ currentTenant { slug } }', { token: await stack.token('acme-pets') })).body.data.currentTenant.slug).toBe('acme-pets');

    // The operator is not locked out by the tenant's policy: it reads and clears it with documents of its own.
    const read = await asOperator('{ currentTenant { persistedOperations persistedOperationsOverride } }', 'fluffy-friends');
    expect(read.body.data.currentTenant).toEqual({ persistedOperations: 'REQUIRE', persistedOperationsOverride: 'REQUIRE' });
    const cleared = await asOperator('mutation { setTenantPersistedOperations(policy: null) { persistedOperations persistedOperationsOverride } }', 'fluffy-friends');
    expect(cleared.body.data.setTenantPersistedOperations).toEqual({ persistedOperations: 'ALLOW', persistedOperationsOverride: null });
    expect((await stack.gql('{ currentTenant { slug } }', { token: fluffy })).body.data.currentTenant.slug).toBe('fluffy-friends');
  });

  it("sets a plan's policy for its tenants without their own, and shows it in the price list", async () => {
    const set = await asOperator('mutation { setPlanPersistedOperations(plan: free, policy: REQUIRE) { name persistedOperations } }', 'acme-pets');
    expect(set.body.data.setPlanPersistedOperations).toEqual({ name: 'free', persistedOperations: 'REQUIRE' });
    const acme = await stack.token('acme-pets');
    expect((await stack.gql('{ currentTenant { slug } }', { token: acme })).body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_REQUIRED');
    // fluffy-friends is on pro.
    const fluffy = await stack.token('fluffy-friends');
    const plans = await stack.gql('{ plans { name persistedOperations } currentTenant { persistedOperations } }', { token: fluffy });
    expect(plans.body.data.plans).toEqual(expect.arrayContaining([{ name: 'free', persistedOperations: 'REQUIRE' }, { name: 'pro', persistedOperations: 'ALLOW' }]));
    expect(plans.body.data.currentTenant.persistedOperations).toBe('ALLOW');
    // A tenant's own ALLOW wins over its plan's REQUIRE.
    await asOperator('mutation { setTenantPersistedOperations(policy: ALLOW) { slug } }', 'acme-pets');
    expect((await stack.gql('{ currentTenant { slug } }', { token: acme })).body.data.currentTenant.slug).toBe('acme-pets');
  });

  it('refuses both mutations to anyone but a platform-admin, and changes nothing', async () => {
    const admin = await stack.token('acme-pets');
    const tenantPolicy = await stack.gql('mutation { setTenantPersistedOperations(policy: REQUIRE) { slug } }', { token: admin });
    expect(tenantPolicy.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const planPolicy = await stack.gql('mutation { setPlanPersistedOperations(plan: free, policy: REQUIRE) { name } }', { token: admin });
    expect(planPolicy.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const { rows } = await stack.db.transaction({}, (q) => q.query<{ persisted_operations: string }>('SELECT persisted_operations FROM registry_tenant_by_slug($1)', ['acme-pets']));
    expect(rows[0]!.persisted_operations).toBe('allow');
    expect((await stack.gql('{ currentTenant { slug } }', { token: admin })).body.data.currentTenant.slug).toBe('acme-pets');
  });
});

describe('subscriptions under the same policy and limits', () => {
  afterEach(() => setPolicy({ tenant: 'acme-pets' }, null));

  it('refuses an unregistered subscription over WebSocket and over an HTTP stream for a tenant that requires persisted operations', async () => {
    const { follow, openSocket } = await import('../helpers/ws');
    await setPolicy({ tenant: 'acme-pets' }, 'require');
    const token = await stack.token('acme-pets');
    const socket = openSocket(stack.urls.gateway!, { authorization: `Bearer ${token}` });
    const sub = follow(socket.client, 'subscription { quotaStatus { used } }');
    await sub.finished;
    expect((sub.error as any[])[0].extensions.code).toBe('PERSISTED_QUERY_REQUIRED');
    await socket.client.dispose();

    const response = await fetch(stack.urls.gateway!, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'multipart/mixed;subscriptionSpec="1.0"', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: 'subscription { quotaStatus { used } }' }),
    });
    expect(response.status).toBe(403);
    expect(((await response.json()) as any).errors[0].extensions.code).toBe('PERSISTED_QUERY_REQUIRED');
  });

  it('applies the edge limits to subscriptions', async () => {
    const { follow, openSocket } = await import('../helpers/ws');
    const token = await stack.token('fluffy-friends');
    const socket = openSocket(stack.urls.gateway!, { authorization: `Bearer ${token}` });
    const aliases = Array.from({ length: 40 }, (_, i) => `a${i}: used`).join(' ');
    const sub = follow(socket.client, `subscription { quotaStatus { ${aliases} } }`);
    await sub.finished;
    expect((sub.error as any[])[0].extensions.code).toBe('ALIAS_LIMIT_EXCEEDED');
    await socket.client.dispose();
  });
});
