// The gateway reuses a signed context token per principal and subgraph (tenancy/context-token.ts,
// createContextTokenCache): one signature per principal for half the token's lifetime, never one
// principal's token for another, and each request still reaches the subgraph with its own request id,
// under a MAC bound to the token (x-tenant-request): never a bare header.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContextSigner, createContextTokenCache, createRequestBinder, requestBindingSecretFrom, type ContextSigner } from '../../tenancy/context-token';
import type { TenantContext } from '../../tenancy/context';
import { startTestStack, type TestStack } from '../helpers/stack';

const alice: TenantContext = {
  tenantId: '00000000-0000-4000-8000-000000000001',
  tenantSlug: 'acme-pets',
  subject: 'alice@acme-pets.example',
  roles: ['member'],
  plan: 'free',
  isolation: 'shared',
  requestId: 'r1',
};

function countingSigner() {
  const signed: Array<{ context: TenantContext; subgraph: string }> = [];
  const sign = (async (context: TenantContext, subgraph: string) => {
    signed.push({ context, subgraph });
    return `token-${signed.length}`;
  }) as ContextSigner;
  return { sign, signed };
}

describe('context token cache', () => {
  it('signs once per principal and subgraph, whatever the request id', async () => {
    const { sign, signed } = countingSigner();
    const tokenFor = createContextTokenCache(sign);
    const first = await tokenFor(alice, 'pets');
    expect(await tokenFor({ ...alice, requestId: 'r2' }, 'pets')).toBe(first);
    // Once signed, the token itself: a request's fetch need not wait for a promise.
    expect(tokenFor({ ...alice, requestId: 'r3' }, 'pets')).toBe(first);
    expect(signed).toHaveLength(1);
    // The token's jti is an id of its own, not the first request's.
    expect(signed[0]!.context.requestId).not.toBe('r1');
  });

  it('signs anew for anything the token says: subgraph, tenant, plan, isolation, roles, subject', async () => {
    const { sign, signed } = countingSigner();
    const tokenFor = createContextTokenCache(sign);
    const variants: Array<[TenantContext, string]> = [
      [alice, 'pets'],
      [alice, 'tenants'],
      [{ ...alice, tenantId: '00000000-0000-4000-8000-000000000002', tenantSlug: 'fluffy-friends' }, 'pets'],
      [{ ...alice, plan: 'pro' }, 'pets'],
      [{ ...alice, isolation: 'schema' }, 'pets'],
      [{ ...alice, roles: ['admin'] }, 'pets'],
      [{ ...alice, roles: ['member', 'platform-admin'] }, 'pets'],
      [{ ...alice, subject: 'bob@acme-pets.example' }, 'pets'],
    ];
    const tokens = await Promise.all(variants.map(([context, subgraph]) => tokenFor(context, subgraph)));
    expect(new Set(tokens).size).toBe(variants.length);
    expect(signed).toHaveLength(variants.length);
  });

  it('signs anew after the reuse window, and never keeps a failed signature', async () => {
    const { sign, signed } = countingSigner();
    const tokenFor = createContextTokenCache(sign, { reuseMs: 50 });
    const first = await tokenFor(alice, 'pets');
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(await tokenFor(alice, 'pets')).not.toBe(first);
    expect(signed).toHaveLength(2);

    let fail = true;
    const flaky = (async (context: TenantContext, subgraph: string) => {
      if (fail) throw new Error('no key');
      return sign(context, subgraph);
    }) as ContextSigner;
    const flakyFor = createContextTokenCache(flaky);
    await expect(flakyFor(alice, 'pets')).rejects.toThrow('no key');
    fail = false;
    expect(await flakyFor(alice, 'pets')).toMatch(/^token-/);
  });
});

describe('through the gateway', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(() => stack?.close());

  it("gives each request's own id to the subgraph (logs, audit) while the token is reused", async () => {
    const acmeId = await stack.tenantId('acme-pets');
    const fluffy = await stack.gql(`{ pets(first: 1) { edges { node { id } } } }`, { token: await stack.token('fluffy-friends') });
    const foreignPet: string = fluffy.body.data.pets.edges[0].node.id;
    const token = await stack.token('acme-pets');
    for (const requestId of ['probe-one', 'probe-two']) {
      const probe = await stack.gql(`query($id: ID!) { pet(id: $id) { id } }`, { token, variables: { id: foreignPet }, headers: { 'x-request-id': requestId } });
      expect(probe.body.data).toEqual({ pet: null });
    }
    await new Promise((resolve) => setTimeout(resolve, 150)); // audit writes are off the response path
    const { rows } = await stack.db.transaction({ tenantId: acmeId }, (q) =>
      q.query<{ request_id: string }>(`SELECT request_id FROM audit_log WHERE resource_id = $1 ORDER BY request_id`, [foreignPet]),
    );
    expect(rows.map((r) => r.request_id)).toEqual(['probe-one', 'probe-two']);
  });

  it('believes a request id at a subgraph only under a valid binding to the very token and subgraph', async () => {
    const acmeId = await stack.tenantId('acme-pets');
    const fluffy = await stack.gql(`{ pets(first: 1) { edges { node { id } } } }`, { token: await stack.token('fluffy-friends') });
    const foreignPet: string = fluffy.body.data.pets.edges[0].node.id;
    const sign = createContextSigner({ privateKey: stack.keys.context!.privateKey });
    const bind = createRequestBinder(requestBindingSecretFrom(stack.keys.context!.privateJwk));
    const context = { tenantId: acmeId, tenantSlug: 'acme-pets', subject: 'admin@acme-pets.example', roles: ['admin' as const], plan: 'free' as const, isolation: 'shared' as const, requestId: 'token-jti' };
    const token = await sign(context, 'pets');
    const other = await sign({ ...context, requestId: 'other-jti' }, 'pets');
    const probe = (headers: Record<string, string>) =>
      fetch(stack.urls.pets!, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-tenant-context': token, ...headers },
        body: JSON.stringify({ query: `query($id: ID!) { pet(id: $id) { id } }`, variables: { id: foreignPet } }),
      });
    /** The audit rows of the probes, by request id (writes are off the response path). */
    const audited = async () => {
      await new Promise((resolve) => setTimeout(resolve, 150));
      const { rows } = await stack.db.transaction({ tenantId: acmeId }, (q) =>
        q.query<{ request_id: string }>(`SELECT request_id FROM audit_log WHERE resource_id = $1 AND request_id NOT LIKE 'probe-%' ORDER BY request_id`, [foreignPet]),
      );
      return rows.map((r) => r.request_id);
    };
    // A bare header is not believed: the probe is audited under the token's own id.
    expect((await probe({ 'x-request-id': 'header-id' })).status).toBe(200);
    // A binding for this token and subgraph is.
    expect((await probe({ 'x-tenant-request': bind(token, 'pets', 'bound-id') })).status).toBe(200);
    expect(await audited()).toEqual(['bound-id', 'token-jti']);
    // Forged, made for another token, made for another subgraph, or not a request id: refused, nothing runs.
    for (const binding of [
      `forged-id.${Buffer.alloc(32).toString('base64url')}`,
      bind(other, 'pets', 'moved-id'),
      bind(token, 'tenants', 'other-subgraph-id'),
      bind(token, 'pets', 'has space'),
      'no-mac',
    ]) {
      const refused = await probe({ 'x-tenant-request': binding });
      expect(refused.status, binding).toBe(401);
      expect(((await refused.json()) as any).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    }
    expect(await audited()).toEqual(['bound-id', 'token-jti']);
  });
});
