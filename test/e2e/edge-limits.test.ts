// Issue 5, item 5: limits at the edge (document size, depth, aliases, root fields, batches), checked
// before validation and admission, each configurable; introspection and suggestions off in production.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketKey } from '../../gateway/src/admission';
import { startTestStack, type TestStack } from '../helpers/stack';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({
    GRAPHQL_MAX_DOCUMENT_BYTES: '2048',
    GRAPHQL_MAX_DEPTH: '5',
    GRAPHQL_MAX_ALIASES: '4',
    GRAPHQL_MAX_ROOT_FIELDS: '3',
    GRAPHQL_MAX_BATCH_SIZE: '3',
  });
});
afterAll(() => stack?.close());

async function postJson(target: TestStack, body: unknown, token: string) {
  const response = await fetch(target.urls.gateway!, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as any };
}

const bucketOf = async (slug: string) => (await stack.store.peekTokens(bucketKey(slug), { capacity: 1000, restoreRate: 50 })).available;

describe('edge limits', () => {
  it('refuses a document over GRAPHQL_MAX_DOCUMENT_BYTES with 413 DOCUMENT_TOO_LARGE, without parsing it', async () => {
    const token = await stack.token('acme-pets');
    // Not even valid GraphQL: the size is checked on the text, before any parse.
    const big = `{ currentTenant { slug } ${'#'.repeat(2100)}`;
    const { status, body } = await stack.gql(big, { token });
    expect(status).toBe(413);
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'DOCUMENT_TOO_LARGE', maximumDocumentBytes: 2048 });
    const fits = await stack.gql(`{ currentTenant { slug } }${' '.repeat(1900)}`, { token });
    expect(fits.status).toBe(200);

    const url = new URL(stack.urls.gateway!);
    url.searchParams.set('query', `{ currentTenant { slug } } ${'#'.repeat(2100)}`);
    const get = await fetch(url, { headers: { authorization: `Bearer ${token}`, 'apollo-require-preflight': 'true' } });
    expect(get.status).toBe(413);
    expect(((await get.json()) as any).errors[0].extensions.code).toBe('DOCUMENT_TOO_LARGE');
  });

  it('refuses an operation nested deeper than GRAPHQL_MAX_DEPTH, fragments included, before validation and admission', async () => {
    const token = await stack.token('acme-pets');
    const five = await stack.gql(`{ pets { edges { node { owner { name } } } } }`, { token });
    expect(five.status).toBe(200);
    expect(five.body.errors).toBeUndefined();

    await stack.usage.flush();
    const before = await bucketOf('acme-pets');
    const six = await stack.gql(`{ pets { edges { node { owner { pets { id } } } } } }`, { token });
    expect(six.status).toBe(400);
    expect(six.body.errors?.[0]?.extensions).toMatchObject({ code: 'DEPTH_LIMIT_EXCEEDED', depth: 6, maximumDepth: 5 });
    expect(six.body.extensions?.cost).toBeUndefined(); // admission never saw it
    expect(await bucketOf('acme-pets')).toBeGreaterThanOrEqual(before);

    const viaFragments = await stack.gql(
      `query Deep { pets { ...Page } } fragment Page on PetConnection { edges { ...Edge } } fragment Edge on PetEdge { node { owner { pets { id } } } }`,
      { token },
    );
    expect(viaFragments.body.errors?.[0]?.extensions?.code).toBe('DEPTH_LIMIT_EXCEEDED');
    // Too deep and invalid: the limit answers first, so validation never ran on it.
    const invalid = await stack.gql(`{ pets { edges { node { owner { pets { noSuchField } } } } } }`, { token });
    expect(invalid.body.errors?.[0]?.extensions?.code).toBe('DEPTH_LIMIT_EXCEEDED');
  });

  it('refuses more aliases than GRAPHQL_MAX_ALIASES, counting a fragment each time it is spread', async () => {
    const token = await stack.token('acme-pets');
    const four = await stack.gql(`{ currentTenant { a: slug b: slug c: name d: id } }`, { token });
    expect(four.body.errors).toBeUndefined();
    const five = await stack.gql(`{ currentTenant { a: slug b: slug c: name d: id e: plan } }`, { token });
    expect(five.status).toBe(400);
    expect(five.body.errors?.[0]?.extensions).toMatchObject({ code: 'ALIAS_LIMIT_EXCEEDED', aliases: 5, maximumAliases: 4 });
    const spread = await stack.gql(`{ currentTenant { ...T ...T } } fragment T on Tenant { a: slug b: name c: id }`, { token });
    expect(spread.body.errors?.[0]?.extensions).toMatchObject({ code: 'ALIAS_LIMIT_EXCEEDED', aliases: 6 });
  });

  it('refuses more root fields than GRAPHQL_MAX_ROOT_FIELDS, aliases and root fragments included', async () => {
    const token = await stack.token('acme-pets');
    const three = await stack.gql(`{ currentTenant { slug } viewer { email } quotaStatus { used } }`, { token });
    expect(three.body.errors).toBeUndefined();
    const four = await stack.gql(`{ currentTenant { slug } viewer { email } quotaStatus { used } pets { totalCount } }`, { token });
    expect(four.status).toBe(400);
    expect(four.body.errors?.[0]?.extensions).toMatchObject({ code: 'ROOT_FIELD_LIMIT_EXCEEDED', rootFields: 4, maximumRootFields: 3 });
    const aliased = await stack.gql(`{ ...Root ... on Query { a: currentTenant { slug } b: currentTenant { slug } } } fragment Root on Query { viewer { email } quotaStatus { used } }`, { token });
    expect(aliased.body.errors?.[0]?.extensions?.code).toBe('ROOT_FIELD_LIMIT_EXCEEDED');
  });

  it('counts refusals in /metrics under their code', async () => {
    const text = await (await fetch(stack.urls.gateway!.replace(/\/graphql$/, '/metrics'))).text();
    const refused = text.split('\n').filter((line) => line.startsWith('graphql_requests_total{') && line.includes('status="DEPTH_LIMIT_EXCEEDED"') && line.includes('tenant="acme-pets"'));
    expect(refused.length).toBeGreaterThan(0);
  });
});

describe('batches', () => {
  it('runs each operation of a batch through admission and answers an array of results', async () => {
    const token = await stack.token('fluffy-friends');
    const { status, body } = await postJson(
      stack,
      [{ query: '{ currentTenant { slug } }' }, { query: 'query Two($n: Int) { pets(first: $n) { totalCount } }', variables: { n: 2 } }],
      token,
    );
    expect(status).toBe(200);
    expect(body).toHaveLength(2);
    expect(body[0].data.currentTenant.slug).toBe('fluffy-friends');
    expect(body[1].data.pets.totalCount).toBeGreaterThan(0);
    for (const result of body) expect(result.extensions.cost).toMatchObject({ requestedQueryCost: expect.any(Number), actualQueryCost: expect.any(Number) });
    // Admitted one after another: the second saw the bucket after the first.
    expect(body[1].extensions.cost.throttleStatus.currentlyAvailable).toBeLessThanOrEqual(body[0].extensions.cost.throttleStatus.currentlyAvailable);
  });

  it('answers each operation with its own refusal: edge limits, plan maximum, and a shared status when all agree', async () => {
    const token = await stack.token('fluffy-friends');
    await stack.admin.query('UPDATE plans SET max_operation_cost = 20 WHERE name = $1', ['pro']);
    await stack.gateway!.tenants.invalidate('fluffy-friends');
    try {
      const mixed = await postJson(
        stack,
        [
          { query: '{ currentTenant { slug } }' },
          { query: '{ pets(first: 50) { edges { node { name } } } }' },
          { query: '{ pets { edges { node { owner { pets { id } } } } } }' },
        ],
        token,
      );
      expect(mixed.status).toBe(200);
      expect(mixed.body[0].data.currentTenant.slug).toBe('fluffy-friends');
      expect(mixed.body[1].errors[0].extensions.code).toBe('COST_LIMIT_EXCEEDED');
      expect(mixed.body[2].errors[0].extensions.code).toBe('DEPTH_LIMIT_EXCEEDED');

      const allTooDear = await postJson(stack, [{ query: '{ pets(first: 50) { edges { node { name } } } }' }, { query: '{ pets(first: 60) { edges { node { name } } } }' }], token);
      expect(allTooDear.status).toBe(400);
      expect(allTooDear.body.map((r: any) => r.errors[0].extensions.code)).toEqual(['COST_LIMIT_EXCEEDED', 'COST_LIMIT_EXCEEDED']);
    } finally {
      await stack.admin.query('UPDATE plans SET max_operation_cost = 5000 WHERE name = $1', ['pro']);
      await stack.gateway!.tenants.invalidate('fluffy-friends');
    }
  });

  it('refuses a batch longer than GRAPHQL_MAX_BATCH_SIZE, and an empty one, before running any of it', async () => {
    const token = await stack.token('acme-pets');
    const create = { query: 'mutation { createPet(input: { name: "Batched", species: "dog" }) { id } }' };
    const tooLong = await postJson(stack, [create, create, create, create], token);
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.errors[0].extensions).toMatchObject({ code: 'BATCH_LIMIT_EXCEEDED', batchSize: 4, maximumBatchSize: 3 });
    const pets = await stack.gql(`{ pets(first: 100) { edges { node { name } } } }`, { token });
    expect(pets.body.data.pets.edges.map((e: any) => e.node.name)).not.toContain('Batched');
    const empty = await postJson(stack, [], token);
    expect(empty.status).toBe(400);
    expect(empty.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });
});

describe('schema exposure outside production', () => {
  it('serves introspection and suggests field names', async () => {
    const token = await stack.token('acme-pets');
    const schema = await stack.gql(`{ __schema { queryType { name } } }`, { token });
    expect(schema.body.data.__schema.queryType.name).toBe('Query');
    const typo = await stack.gql(`{ pets { edges { node { nmae } } } }`, { token });
    expect(typo.body.errors?.[0]?.message).toMatch(/Did you mean "name"\?/);
  });
});

describe('in production (NODE_ENV=production)', () => {
  let production: TestStack;
  beforeAll(async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const dir = mkdtempSync(join(tmpdir(), 'edge-prod-'));
    const manifest = join(dir, 'manifest.json');
    writeFileSync(manifest, JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 1, operations: [] }));
    production = await startTestStack({
      NODE_ENV: 'production',
      // Production wants a real issuer; the dev issuer stays on here only so that the test can sign tokens.
      AUTH_JWKS_URL: 'http://127.0.0.1:9/jwks.json',
      AUTH_ISSUER: 'https://issuer.example/',
      AUTH_DEV_ISSUER: 'true',
      CONTEXT_PRIVATE_JWK: JSON.stringify(await exportJWK(privateKey)),
      CONTEXT_MAC_SECRET: randomBytes(32).toString('base64url'),
      PERSISTED_OPERATIONS_FILE: manifest,
      GRAPHQL_MAX_BATCH_SIZE: '0',
    });
  });
  afterAll(() => production?.close());

  it('refuses introspection with INTROSPECTION_DISABLED, and still answers __typename', async () => {
    const token = await production.token('acme-pets');
    const introspections = [
      `{ __schema { types { name } } }`,
      `{ __type(name: "Pet") { fields { name } } }`,
      `query Hidden { ...Schema } fragment Schema on Query { __schema { queryType { name } } }`,
    ];
    for (const query of introspections) {
      const { status, body } = await production.gql(query, { token });
      expect(status).toBe(400);
      expect(body.errors?.[0]?.extensions?.code).toBe('INTROSPECTION_DISABLED');
    }
    const typename = await production.gql(`{ __typename currentTenant { __typename slug } }`, { token });
    expect(typename.body).toMatchObject({ data: { __typename: 'Query', currentTenant: { __typename: 'Tenant', slug: 'acme-pets' } } });
  });

  it('leaves "Did you mean ...?" out of validation and variable errors', async () => {
    const token = await production.token('acme-pets');
    const typo = await production.gql(`{ pets { edges { node { nmae } } } }`, { token });
    expect(typo.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(typo.body.errors?.[0]?.message).toContain('nmae');
    expect(typo.body.errors?.[0]?.message).not.toMatch(/Did you mean/);
    const enumTypo = await production.gql(`query P($plan: Plan!) { planVersions(plan: $plan) { version } }`, { token, variables: { plan: 'fre' } });
    expect(enumTypo.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(enumTypo.body.errors?.[0]?.message).not.toMatch(/Did you mean|free/);
    // The same request outside production suggests the value.
    const suggested = await stack.gql(`query P($plan: Plan!) { planVersions(plan: $plan) { version } }`, { token: await stack.token('acme-pets'), variables: { plan: 'fre' } });
    expect(suggested.body.errors?.[0]?.message).toMatch(/Did you mean/);
  });

  it('refuses batches with BATCHING_DISABLED when GRAPHQL_MAX_BATCH_SIZE=0', async () => {
    const { status, body } = await postJson(production, [{ query: '{ currentTenant { slug } }' }], await production.token('acme-pets'));
    expect(status).toBe(400);
    expect(body.errors[0].extensions.code).toBe('BATCHING_DISABLED');
  });
});
