// Every subgraph fetch carries a context token signed for that request (issue 2, item 5): tenant,
// subject, roles, plan and the request id (`jti`), for that subgraph's audience only. A subgraph logs
// and audits under the signed id, never under a header it was sent beside it.
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContextSigner, createContextVerifier, subgraphAudience } from '../../tenancy/context-token';
import type { TenantContext } from '../../tenancy/context';
import { createGatewayContext } from '../../gateway/src/subgraph-fetch';
import { startTestStack, type TestStack } from '../helpers/stack';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack?.close());

const limits = {} as Parameters<typeof createGatewayContext>[1];

describe('context tokens', () => {
  it("sign each request's own context, with its id, per subgraph, and one token per subgraph within a request", async () => {
    const sign = createContextSigner({ privateKey: stack.keys.context!.privateKey, ttlSeconds: 60 });
    const tokenFor = (context: TenantContext, subgraph: string) => sign(context, subgraph);
    const alice: TenantContext = {
      tenantId: await stack.tenantId('acme-pets'),
      tenantSlug: 'acme-pets',
      subject: 'alice@acme-pets.example',
      roles: ['member'],
      plan: 'free',
      isolation: 'shared',
      requestId: 'request-one',
    };
    const first = createGatewayContext(alice, limits, tokenFor);
    const second = createGatewayContext({ ...alice, requestId: 'request-two' }, limits, tokenFor);

    const pets = first.contextTokenFor('pets');
    expect(first.contextTokenFor('pets')).toBe(pets); // a second fetch of the same request
    expect(second.contextTokenFor('pets')).not.toBe(pets);
    const claims = decodeJwt(pets);
    expect(claims).toMatchObject({ tid: alice.tenantId, tsl: 'acme-pets', sub: alice.subject, roles: ['member'], plan: 'free', jti: 'request-one', aud: subgraphAudience('pets') });
    expect(claims.exp! - claims.iat!).toBe(60);
    expect(decodeJwt(second.contextTokenFor('pets')).jti).toBe('request-two');
    expect(decodeJwt(first.contextTokenFor('tenants')).aud).toBe(subgraphAudience('tenants'));

    // What the subgraph makes of it: the same context, request id included; another audience refuses it.
    const verified = await createContextVerifier({ publicKey: stack.keys.context!.publicKey, subgraph: 'pets' })(pets);
    expect(verified).toEqual(alice);
    await expect(createContextVerifier({ publicKey: stack.keys.context!.publicKey, subgraph: 'tenants' })(pets)).rejects.toMatchObject({
      extensions: { code: 'UNAUTHENTICATED' },
    });
  });

  it("audits a probe under each gateway request's own id", async () => {
    const acmeId = await stack.tenantId('acme-pets');
    const fluffy = await stack.gql(`{ pets(first: 1) { edges { node { id } } } }`, { token: await stack.token('fluffy-friends') });
    const foreignPet: string = fluffy.body.data.pets.edges[0].node.id;
    const token = await stack.token('acme-pets');
    for (const requestId of ['probe-one', 'probe-two']) {
      const probe = await stack.gql(`query($id: ID!) { pet(id: $id) { id } }`, { token, variables: { id: foreignPet }, headers: { 'x-request-id': requestId } });
      expect(probe.headers.get('x-request-id')).toBe(requestId);
      expect(probe.body.data).toEqual({ pet: null });
    }
    const rows = await auditedRequestIds(acmeId, foreignPet, 2);
    expect(rows).toEqual(['probe-one', 'probe-two']);
  });

  it('takes the request id from the signed context, not from an x-request-id header sent beside it', async () => {
    const acmeId = await stack.tenantId('acme-pets');
    const fluffy = await stack.gql(`{ pets(first: 2) { edges { node { id } } } }`, { token: await stack.token('fluffy-friends') });
    const foreignPet: string = fluffy.body.data.pets.edges[1].node.id;
    const sign = createContextSigner({ privateKey: stack.keys.context!.privateKey });
    const context: TenantContext = { tenantId: acmeId, tenantSlug: 'acme-pets', subject: 'admin@acme-pets.example', roles: ['admin'], plan: 'free', isolation: 'shared', requestId: 'signed-id' };
    const response = await fetch(stack.urls.pets!, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-tenant-context': sign(context, 'pets'), 'x-request-id': 'header-id' },
      body: JSON.stringify({ query: `query($id: ID!) { pet(id: $id) { id } }`, variables: { id: foreignPet } }),
    });
    expect(((await response.json()) as any).data).toEqual({ pet: null });
    expect(await auditedRequestIds(acmeId, foreignPet, 1)).toEqual(['signed-id']);
  });
});

/** The request ids of the audit rows for one probed resource, once `count` of them are written (off the response path). */
async function auditedRequestIds(tenantId: string, resourceId: string, count: number): Promise<string[]> {
  for (let attempt = 0; ; attempt++) {
    const { rows } = await stack.db.transaction({ tenantId }, (q) =>
      q.query<{ request_id: string }>(`SELECT request_id FROM audit_log WHERE resource_id = $1 ORDER BY request_id`, [resourceId]),
    );
    if (rows.length >= count || attempt === 50) return rows.map((r) => r.request_id);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
