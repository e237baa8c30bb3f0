// Issue 5, item 4: the gateway against graphql-http's audit of the GraphQL over HTTP spec, the status
// codes that depend on Accept, and Apollo Server's CSRF prevention kept on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditServer } from 'graphql-http';
import { bucketKey } from '../../gateway/src/admission';
import { startTestStack, type TestStack } from '../helpers/stack';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack?.close());

const JSON_ACCEPT = 'application/json';
const GRAPHQL_RESPONSE = 'application/graphql-response+json';

async function post(body: unknown, headers: Record<string, string>) {
  const response = await fetch(stack.urls.gateway!, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as any };
}

describe('GraphQL over HTTP', () => {
  it('passes every MUST and SHOULD audit of graphql-http', async () => {
    const token = await stack.token('acme-pets');
    // One request at a time: the audits are many and the free plan allows 5 operations in flight.
    let previous: Promise<unknown> = Promise.resolve();
    const results = await auditServer({
      url: stack.urls.gateway!,
      fetchFn: (input: string | URL | Request, init: RequestInit = {}) => {
        const headers = new Headers(init.headers);
        headers.set('authorization', `Bearer ${token}`);
        const response = previous.then(() => fetch(input, { ...init, headers }));
        previous = response.catch(() => {});
        return response;
      },
    });
    expect(results.length).toBeGreaterThanOrEqual(61);
    const failures = results.filter((r) => r.status === 'error' || r.status === 'warn').map((r) => `${r.status} ${r.id} ${r.name}: ${'reason' in r ? r.reason : ''}`);
    expect(failures, `failed audits:\n${failures.join('\n')}`).toEqual([]);
    // What is left are MAYs: GET without a preflight-forcing header, which CSRF prevention refuses.
    const notices = results.filter((r) => r.status === 'notice').map((r) => r.id);
    expect(notices.every((id) => ['5A70', 'D6D5', '6A70'].includes(id)), notices.join()).toBe(true);
  });

  it('answers document errors with 200 to a client that asks for application/json, 400 otherwise', async () => {
    const authorization = `Bearer ${await stack.token('acme-pets')}`;
    const cases = [
      { name: 'parse', body: { query: '{' }, code: 'GRAPHQL_PARSE_FAILED' },
      { name: 'validation', body: { query: '{ noSuchField }' }, code: 'GRAPHQL_VALIDATION_FAILED' },
      { name: 'variables', body: { query: 'query Q($id: ID!) { pet(id: $id) { name } }', variables: { id: null } }, code: 'BAD_USER_INPUT' },
    ];
    for (const { name, body, code } of cases) {
      const legacy = await post(body, { authorization, accept: JSON_ACCEPT });
      expect([name, legacy.status]).toEqual([name, 200]);
      expect(legacy.headers.get('content-type')).toContain('application/json');
      expect(legacy.body.errors[0].extensions.code).toBe(code);
      const modern = await post(body, { authorization, accept: GRAPHQL_RESPONSE });
      expect([name, modern.status]).toEqual([name, 400]);
      expect(modern.headers.get('content-type')).toContain(GRAPHQL_RESPONSE);
      expect(modern.body.data).toBeUndefined();
      const preferred = await post(body, { authorization, accept: `${GRAPHQL_RESPONSE}, ${JSON_ACCEPT};q=0.9` });
      expect([name, preferred.status]).toEqual([name, 400]);
      for (const accept of [undefined, '*/*']) {
        const unspecified = await post(body, { authorization, ...(accept ? { accept } : {}) });
        expect([name, accept, unspecified.status]).toEqual([name, accept, 400]);
      }
    }
  });

  it('keeps the statuses of authentication, tenant selection, cost and quota whatever the Accept', async () => {
    const token = await stack.token('fluffy-friends');
    const accept = JSON_ACCEPT;
    const query = { query: '{ currentTenant { slug } }' };
    expect((await post(query, { accept })).status).toBe(401);
    expect((await post(query, { accept, authorization: 'Bearer not-a-jwt' })).status).toBe(401);
    expect((await post(query, { accept, authorization: `Bearer ${token}`, 'x-tenant-id': 'acme-pets' })).status).toBe(403);

    await stack.admin.query('UPDATE plans SET bucket_capacity = 30, restore_rate = 0.01, max_operation_cost = 25 WHERE name = $1', ['pro']);
    await stack.gateway!.tenants.invalidate('fluffy-friends');
    await stack.store.del(bucketKey('fluffy-friends'));
    try {
      const tooDear = await post({ query: '{ pets(first: 20) { edges { node { name } } } }' }, { accept, authorization: `Bearer ${token}` });
      expect(tooDear.status).toBe(400);
      expect(tooDear.body.errors[0].extensions.code).toBe('COST_LIMIT_EXCEEDED');
      const spend = { query: '{ pets(first: 10) { edges { node { name } } } }' }; // 21 each, never refunded below 7
      let limited: Awaited<ReturnType<typeof post>> | undefined;
      for (let i = 0; i < 10 && !limited; i++) {
        const response = await post(spend, { accept, authorization: `Bearer ${token}` });
        if (response.status !== 200) limited = response;
      }
      expect(limited?.status).toBe(429);
      expect(limited?.body.errors[0].extensions.code).toBe('RATE_LIMITED');
      expect(limited?.headers.get('retry-after')).toMatch(/^\d+$/);
    } finally {
      await stack.admin.query('UPDATE plans SET bucket_capacity = 5000, restore_rate = 250, max_operation_cost = 5000 WHERE name = $1', ['pro']);
      await stack.gateway!.tenants.invalidate('fluffy-friends');
      await stack.store.del(bucketKey('fluffy-friends'));
    }
  });

  it('refuses a simple cross-site POST or GET (no preflight-forcing header) before running it', async () => {
    const authorization = `Bearer ${await stack.token('acme-pets')}`;
    const create = 'mutation { createPet(input: { name: "Csrf", species: "cat" }) { id } }';
    // A form or fetch(..., { mode: "no-cors" }) can send text/plain without a CORS preflight.
    const textPlain = await fetch(stack.urls.gateway!, { method: 'POST', headers: { 'content-type': 'text/plain', authorization }, body: JSON.stringify({ query: create }) });
    expect(textPlain.status).toBe(400);
    const refused = (await textPlain.json()) as any;
    expect(refused.errors[0].extensions.code).toBe('BAD_REQUEST');
    expect(refused.errors[0].message).toMatch(/Cross-Site Request Forgery/);

    const url = new URL(stack.urls.gateway!);
    url.searchParams.set('query', '{ pets { totalCount } }');
    const get = await fetch(url, { headers: { authorization } });
    expect(get.status).toBe(400);
    expect(((await get.json()) as any).errors[0].message).toMatch(/Cross-Site Request Forgery/);
    // The same GET with a header that forces a preflight is served.
    const preflighted = await fetch(url, { headers: { authorization, 'apollo-require-preflight': 'true' } });
    expect(preflighted.status).toBe(200);

    const pets = await stack.gql(`{ pets(first: 100) { edges { node { name } } } }`, { token: await stack.token('acme-pets') });
    expect(pets.body.data.pets.edges.map((e: any) => e.node.name)).not.toContain('Csrf');
  });
});
