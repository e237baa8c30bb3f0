// DESIGN.md invariants 1, 4 and 5 attacked through the gateway and directly at the subgraphs:
// tenant A's token against tenant B's ids on every query, mutation and entity reference.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContextSigner } from '../../tenancy/context-token';
import { runWithTenant, type TenantContext } from '../../tenancy/context';
import type { Queryable } from '../../tenancy/db';
import { startTestStack, type TestStack } from '../helpers/stack';

let stack: TestStack;
let acmeToken: string;
let acmeId: string;
let fluffyId: string;
let fluffyPetId: string;
let fluffyUserId: string;

/**
 * Replaces ids so that two answers can be compared for shape and wording alone. The caller's own
 * bucket level (extensions.cost.throttleStatus.currentlyAvailable) moves between any two requests and
 * says nothing about the target, so it is left out; the prices are kept.
 */
const normalise = (body: unknown, ...ids: string[]) => {
  const copy = JSON.parse(JSON.stringify(body));
  if (copy?.extensions?.cost?.throttleStatus) delete copy.extensions.cost.throttleStatus.currentlyAvailable;
  let text = JSON.stringify(copy);
  for (const id of ids) text = text.split(id).join('<id>');
  return JSON.parse(text);
};

async function auditRows(tenantId: string, resourceId: string) {
  await new Promise((resolve) => setTimeout(resolve, 150)); // audit writes are off the response path
  const { rows } = await stack.db.transaction({ tenantId }, (q) =>
    q.query<{ action: string; resource: string; actor: string }>('SELECT action, resource, actor FROM audit_log WHERE resource_id = $1', [resourceId]),
  );
  return rows;
}

beforeAll(async () => {
  stack = await startTestStack();
  acmeToken = await stack.token('acme-pets');
  acmeId = await stack.tenantId('acme-pets');
  fluffyId = await stack.tenantId('fluffy-friends');
  const fluffy = await stack.gql(`{ pets(first: 1) { edges { node { id owner { id } } } } }`, { token: await stack.token('fluffy-friends') });
  fluffyPetId = fluffy.body.data.pets.edges[0].node.id;
  fluffyUserId = fluffy.body.data.pets.edges[0].node.owner.id;
});
afterAll(() => stack?.close());

describe("tenant A's token against tenant B's ids, through the gateway", () => {
  it('pet(id) answers exactly as for an id that does not exist, and audits the probe', async () => {
    const missing = randomUUID();
    const probe = await stack.gql(`query($id: ID!) { pet(id: $id) { id name } }`, { token: acmeToken, variables: { id: fluffyPetId } });
    const absent = await stack.gql(`query($id: ID!) { pet(id: $id) { id name } }`, { token: acmeToken, variables: { id: missing } });
    expect(probe.status).toBe(absent.status);
    expect(probe.body.data).toEqual({ pet: null });
    expect(probe.body.errors).toBeUndefined();
    expect(normalise(probe.body, fluffyPetId)).toEqual(normalise(absent.body, missing));
    expect(await auditRows(acmeId, fluffyPetId)).toEqual([
      { action: 'cross_tenant_access_denied', resource: 'Pet', actor: 'admin@acme-pets.example' },
    ]);
    expect(await auditRows(acmeId, missing)).toEqual([]);
  });

  it('updatePet and deletePet answer NOT_FOUND like a missing id, change nothing, and are audited', async () => {
    const missing = randomUUID();
    for (const mutation of [
      `mutation($id: ID!) { updatePet(id: $id, input: { name: "pwned" }) { id } }`,
      `mutation($id: ID!) { deletePet(id: $id) }`,
    ]) {
      const probe = await stack.gql(mutation, { token: acmeToken, variables: { id: fluffyPetId } });
      const absent = await stack.gql(mutation, { token: acmeToken, variables: { id: missing } });
      expect(probe.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      expect(probe.status).toBe(absent.status);
      expect(normalise(probe.body, fluffyPetId)).toEqual(normalise(absent.body, missing));
    }
    const still = await stack.gql(`query($id: ID!) { pet(id: $id) { name } }`, { token: await stack.token('fluffy-friends'), variables: { id: fluffyPetId } });
    expect(still.body.data.pet.name).not.toBe('pwned');
    expect((await auditRows(acmeId, fluffyPetId)).length).toBeGreaterThanOrEqual(2);
  });

  it("cannot give a pet to another tenant's user (same answer as an unknown user)", async () => {
    const probe = await stack.gql(`mutation($o: ID!) { createPet(input: { name: "x", species: "dog", ownerId: $o }) { id } }`, {
      token: acmeToken,
      variables: { o: fluffyUserId },
    });
    const missing = randomUUID();
    const absent = await stack.gql(`mutation($o: ID!) { createPet(input: { name: "x", species: "dog", ownerId: $o }) { id } }`, {
      token: acmeToken,
      variables: { o: missing },
    });
    expect(probe.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(normalise(probe.body, fluffyUserId)).toEqual(normalise(absent.body, missing));
  });

  it("lists never contain another tenant's rows", async () => {
    const { body } = await stack.gql(`{ pets(first: 100) { edges { node { id tenant { id } } } } users { id } }`, { token: acmeToken });
    expect(body.data.pets.edges.map((e: any) => e.node.id)).not.toContain(fluffyPetId);
    expect(body.data.pets.edges.every((e: any) => e.node.tenant.id === acmeId)).toBe(true);
    expect(body.data.users.map((u: any) => u.id)).not.toContain(fluffyUserId);
  });
});

describe('loaders and caches under concurrent requests of two tenants for the same ids (invariant 4)', () => {
  it("never answers A from B's loads: interleaved requests for B's pet and owner, each tenant gets its own answer", async () => {
    const fluffyToken = await stack.token('fluffy-friends');
    const query = `query($id: ID!) { pet(id: $id) { id owner { id } } }`;
    // Sent together, so that a loader or memo shared across requests would batch or cache them as one
    // (four of acme-pets': its free plan runs at most five operations at once).
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => stack.gql(query, { token: i % 2 ? acmeToken : fluffyToken, variables: { id: fluffyPetId } })),
    );
    answers.forEach((answer, i) => {
      if (i % 2) expect(answer.body.data, `acme #${i}`).toEqual({ pet: null });
      else expect(answer.body.data, `fluffy #${i}`).toEqual({ pet: { id: fluffyPetId, owner: { id: fluffyUserId } } });
    });
    // And after B's loads are warm, in sequence.
    const after = await stack.gql(query, { token: acmeToken, variables: { id: fluffyPetId } });
    expect(after.body.data).toEqual({ pet: null });
  });
});

describe('the verified context in AsyncLocalStorage bounds every transaction of its request', () => {
  it("refuses a transaction for B inside a request verified for A, before it reaches the database; A's own and platform-admin work run", async () => {
    const context: TenantContext = { tenantId: acmeId, tenantSlug: 'acme-pets', subject: 'admin@acme-pets.example', roles: ['admin'], plan: 'free', isolation: 'shared', requestId: 'als' };
    const count = (q: Queryable) => q.query<{ n: number }>('SELECT count(*)::int AS n FROM pets').then((r) => r.rows[0]!.n);
    await runWithTenant(context, async () => {
      const statements = stack.db.stats.statements;
      await expect(stack.db.transaction({ tenantId: fluffyId }, count)).rejects.toThrow(/inside a request verified for tenant/);
      expect(stack.db.stats.statements).toBe(statements);
      expect(await stack.db.transaction({ tenantId: acmeId }, count)).toBeGreaterThan(0);
      await expect(stack.db.transaction({ tenantId: fluffyId, platformAdmin: true }, count)).resolves.toBeTypeOf('number');
    });
    // Outside any request (the usage consumer, timers) the scope alone decides.
    expect(await stack.db.transaction({ tenantId: fluffyId }, count)).toBeGreaterThan(0);
  });
});

describe('entity references (_entities) called on the subgraphs with a validly signed context for A', () => {
  let contextFor: (subgraph: string) => Promise<string>;
  beforeAll(() => {
    const sign = createContextSigner({ privateKey: stack.keys.context!.privateKey });
    const tenant: TenantContext = {
      tenantId: acmeId,
      tenantSlug: 'acme-pets',
      subject: 'admin@acme-pets.example',
      roles: ['admin'],
      plan: 'free',
      isolation: 'shared',
      requestId: 'isolation-test',
    };
    contextFor = (subgraph) => sign(tenant, subgraph);
  });

  async function entities(subgraph: 'pets' | 'tenants' | 'usage', representations: unknown[], selection: string) {
    const response = await fetch(stack.urls[subgraph]!, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-tenant-context': await contextFor(subgraph) },
      body: JSON.stringify({
        query: `query($r: [_Any!]!) { _entities(representations: $r) { ${selection} } }`,
        variables: { r: representations },
      }),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as { data?: { _entities: unknown[] }; errors?: unknown[] };
  }

  it("resolves B's Pet to null, like a missing one", async () => {
    const body = await entities('pets', [{ __typename: 'Pet', id: fluffyPetId }, { __typename: 'Pet', id: randomUUID() }], '... on Pet { id name species }');
    expect(body.data?._entities).toEqual([null, null]);
  });

  it("resolves B's User and B's Tenant to null in the tenants subgraph", async () => {
    const body = await entities(
      'tenants',
      [{ __typename: 'User', id: fluffyUserId }, { __typename: 'Tenant', id: fluffyId }, { __typename: 'Tenant', id: acmeId }],
      '... on User { id email } ... on Tenant { id slug }',
    );
    expect(body.data?._entities).toEqual([null, null, { id: acmeId, slug: 'acme-pets' }]);
    expect((await auditRows(acmeId, fluffyId)).some((r) => r.resource === 'Tenant')).toBe(true);
  });

  it("resolves B's Tenant to null in the usage subgraph (no quota of B leaks)", async () => {
    const body = await entities('usage', [{ __typename: 'Tenant', id: fluffyId }], '... on Tenant { usage { used limit plan } }');
    expect(body.data?._entities).toEqual([null]);
  });

  it('refuses _entities itself, before any reference resolver or SQL runs, to a context with no tenant role', async () => {
    const sign = createContextSigner({ privateKey: stack.keys.context!.privateKey });
    const roleless: TenantContext = { tenantId: acmeId, tenantSlug: 'acme-pets', subject: 'nobody@acme-pets.example', roles: [], plan: 'free', isolation: 'shared', requestId: 'roleless' };
    // B's ids: a reference resolver that ran would answer null and audit the probe under this request's id.
    for (const [subgraph, representation, selection] of [
      ['pets', { __typename: 'Pet', id: fluffyPetId }, '... on Pet { id }'],
      ['tenants', { __typename: 'Tenant', id: fluffyId }, '... on Tenant { id }'],
      ['usage', { __typename: 'Tenant', id: acmeId }, '... on Tenant { usage { used } }'],
    ] as const) {
      const response = await fetch(stack.urls[subgraph]!, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-tenant-context': await sign(roleless, subgraph) },
        body: JSON.stringify({ query: `query($r: [_Any!]!) { _entities(representations: $r) { ${selection} } }`, variables: { r: [representation] } }),
      });
      const body = (await response.json()) as { data?: { _entities: unknown } | null; errors?: Array<{ extensions?: { code?: string } }> };
      expect(body.errors?.[0]?.extensions?.code, subgraph).toBe('FORBIDDEN');
      expect(body.data?._entities ?? null, subgraph).toBeNull();
    }
    await new Promise((resolve) => setTimeout(resolve, 150)); // audit writes are off the response path
    const { rows } = await stack.db.transaction({ tenantId: acmeId }, (q) => q.query(`SELECT 1 FROM audit_log WHERE request_id = 'roleless'`));
    expect(rows).toEqual([]);
  });

  it("gives B's User no pets in the pets subgraph", async () => {
    const body = await entities('pets', [{ __typename: 'User', id: fluffyUserId }], '... on User { id pets { id } }');
    expect(body.data?._entities).toEqual([{ id: fluffyUserId, pets: [] }]);
  });
});
