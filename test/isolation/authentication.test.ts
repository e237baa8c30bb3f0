// DESIGN.md invariant 1 and CONTRACT.md's token rules, attacked: forged, expired, alg-none, wrong
// audience, HS/RS confusion, selector mismatch, and direct calls to subgraphs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT, UnsecuredJWT, base64url, exportJWK, generateKeyPair, importJWK } from 'jose';
import { createContextSigner } from '../../tenancy/context-token';
import type { TenantContext } from '../../tenancy/context';
import { DEV_ISSUER } from '../../gateway/src/auth';
import { startTestStack, type TestStack } from '../helpers/stack';

let stack: TestStack;
const QUERY = `{ currentTenant { slug } pets { edges { node { name } } } }`;

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack?.close());

const claims = (overrides: Record<string, unknown> = {}) => ({ tenant_id: 'acme-pets', roles: ['admin'], ...overrides });

async function expectUnauthenticated(token: string) {
  const { status, body, headers } = await stack.gql(QUERY, { token });
  expect(status).toBe(401);
  expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  expect(body.data).toBeUndefined();
  expect(headers.get('www-authenticate')).toBe('Bearer');
}

describe('user tokens at the gateway', () => {
  it('accepts a valid dev token', async () => {
    const { status, body } = await stack.gql(QUERY, { token: await stack.token('acme-pets') });
    expect(status).toBe(200);
    expect(body.data.currentTenant.slug).toBe('acme-pets');
  });

  it('rejects a missing or malformed token with 401', async () => {
    const missing = await stack.gql(QUERY);
    expect(missing.status).toBe(401);
    expect(missing.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    await expectUnauthenticated('not-a-jwt');
    await expectUnauthenticated('a.b.c');
  });

  it('rejects a token signed by another key that claims the dev key id (forged)', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'ES256', kid: stack.keys.issuer!.kid })
      .setIssuer(DEV_ISSUER)
      .setAudience(stack.config.AUTH_AUDIENCE)
      .setSubject('admin@acme-pets.example')
      .setExpirationTime('5m')
      .sign(privateKey);
    await expectUnauthenticated(forged);
  });

  it('rejects an expired token (beyond the allowed clock skew)', async () => {
    const expired = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'ES256', kid: stack.keys.issuer!.kid })
      .setIssuer(DEV_ISSUER)
      .setAudience(stack.config.AUTH_AUDIENCE)
      .setSubject('admin@acme-pets.example')
      .setIssuedAt(Math.floor(Date.now() / 1000) - 3600)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 120)
      .sign(stack.keys.issuer!.privateKey);
    await expectUnauthenticated(expired);
  });

  it('rejects alg none', async () => {
    const unsecured = new UnsecuredJWT(claims())
      .setIssuer(DEV_ISSUER)
      .setAudience(stack.config.AUTH_AUDIENCE)
      .setSubject('admin@acme-pets.example')
      .setExpirationTime('5m')
      .encode();
    await expectUnauthenticated(unsecured);
    // The same with a header that says "none" but carries a made-up signature.
    const [header, payload] = unsecured.split('.');
    await expectUnauthenticated(`${header}.${payload}.${base64url.encode('sig')}`);
  });

  it('rejects HS256 signed with the public key as the secret (algorithm confusion)', async () => {
    const secret = new TextEncoder().encode(JSON.stringify(stack.keys.issuer!.publicJwk));
    const confused = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'HS256', kid: stack.keys.issuer!.kid })
      .setIssuer(DEV_ISSUER)
      .setAudience(stack.config.AUTH_AUDIENCE)
      .setSubject('admin@acme-pets.example')
      .setExpirationTime('5m')
      .sign(secret);
    await expectUnauthenticated(confused);
    const rawSecret = await importJWK({ kty: 'oct', k: base64url.encode(secret) }, 'HS256');
    const confused2 = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(DEV_ISSUER)
      .setAudience(stack.config.AUTH_AUDIENCE)
      .setSubject('x')
      .setExpirationTime('5m')
      .sign(rawSecret);
    await expectUnauthenticated(confused2);
  });

  it('rejects a wrong audience, a wrong issuer and missing required claims', async () => {
    const sign = (c: Record<string, unknown>, opts: { iss?: string; aud?: string; sub?: string | null; exp?: boolean } = {}) => {
      let jwt = new SignJWT(c).setProtectedHeader({ alg: 'ES256', kid: stack.keys.issuer!.kid }).setIssuer(opts.iss ?? DEV_ISSUER);
      if (opts.aud !== '') jwt = jwt.setAudience(opts.aud ?? stack.config.AUTH_AUDIENCE);
      if (opts.sub !== null) jwt = jwt.setSubject(opts.sub ?? 'admin@acme-pets.example');
      if (opts.exp !== false) jwt = jwt.setExpirationTime('5m');
      return jwt.sign(stack.keys.issuer!.privateKey);
    };
    await expectUnauthenticated(await sign(claims(), { aud: 'urn:someone-else' }));
    await expectUnauthenticated(await sign(claims(), { aud: '' }));
    await expectUnauthenticated(await sign(claims(), { iss: 'https://evil.example' }));
    await expectUnauthenticated(await sign(claims(), { exp: false }));
    await expectUnauthenticated(await sign(claims(), { sub: null }));
    await expectUnauthenticated(await sign({ roles: ['admin'] }));
    await expectUnauthenticated(await sign(claims({ roles: ['root'] })));
    await expectUnauthenticated(await sign(claims({ roles: 'admin' })));
  });

  it('refuses an RSA token when the dev key is EC, even with a matching kid', async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    expect(await exportJWK(publicKey)).toHaveProperty('kty', 'RSA');
    const token = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'RS256', kid: stack.keys.issuer!.kid })
      .setIssuer(DEV_ISSUER)
      .setAudience(stack.config.AUTH_AUDIENCE)
      .setSubject('admin@acme-pets.example')
      .setExpirationTime('5m')
      .sign(privateKey);
    await expectUnauthenticated(token);
  });
});

describe('tenant selectors', () => {
  it('accepts selectors that repeat the token tenant', async () => {
    const token = await stack.token('acme-pets');
    const header = await stack.gql(QUERY, { token, headers: { 'x-tenant-id': 'acme-pets' } });
    expect(header.body.data.currentTenant.slug).toBe('acme-pets');
    const path = await stack.gql(QUERY, { token, url: stack.urls.gateway!.replace(/\/graphql$/, '/t/acme-pets/graphql') });
    expect(path.body.data.currentTenant.slug).toBe('acme-pets');
    const host = await stack.gql(QUERY, { token, headers: { host: 'acme-pets.localhost' } });
    expect(host.body.data.currentTenant.slug).toBe('acme-pets');
  });

  it('answers 403 FORBIDDEN when a selector names another tenant, whichever selector', async () => {
    const token = await stack.token('acme-pets');
    const attempts = [
      stack.gql(QUERY, { token, headers: { 'x-tenant-id': 'fluffy-friends' } }),
      stack.gql(QUERY, { token, url: stack.urls.gateway!.replace(/\/graphql$/, '/t/fluffy-friends/graphql') }),
      stack.gql(QUERY, { token, headers: { host: 'fluffy-friends.localhost' } }),
      stack.gql(QUERY, { token, headers: { 'x-tenant-id': 'acme-pets', host: 'fluffy-friends.localhost' } }),
    ];
    for (const { status, body } of await Promise.all(attempts)) {
      expect(status).toBe(403);
      expect(body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(body.data).toBeUndefined();
    }
  });

  it('lets a platform-admin select any tenant, and audits it in that tenant', async () => {
    const token = await stack.token('acme-pets', { roles: ['platform-admin'], sub: 'operator@platform.example' });
    const { body } = await stack.gql(QUERY, { token, headers: { 'x-tenant-id': 'fluffy-friends' } });
    expect(body.data.currentTenant.slug).toBe('fluffy-friends');
    await new Promise((resolve) => setTimeout(resolve, 150));
    const fluffyId = await stack.tenantId('fluffy-friends');
    const { rows } = await stack.db.transaction({ tenantId: fluffyId }, (q) =>
      q.query<{ actor: string }>(`SELECT actor FROM audit_log WHERE action = 'platform_admin_selected_tenant'`),
    );
    expect(rows.map((r) => r.actor)).toContain('operator@platform.example');
    const disagree = await stack.gql(QUERY, { token, headers: { 'x-tenant-id': 'fluffy-friends', host: 'acme-pets.localhost' } });
    expect(disagree.status).toBe(403);
  });

  it('refuses an unknown tenant', async () => {
    const { status, body } = await stack.gql(QUERY, { token: await stack.token('no-such-tenant') });
    expect(status).toBe(403);
    expect(body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('direct calls to subgraphs', () => {
  const tenant = (overrides: Partial<TenantContext> = {}): TenantContext => ({
    tenantId: '00000000-0000-4000-8000-000000000000',
    tenantSlug: 'acme-pets',
    subject: 'x',
    roles: ['admin'],
    plan: 'free',
    isolation: 'shared',
    requestId: 'direct',
    ...overrides,
  });

  async function call(subgraph: 'pets' | 'tenants' | 'usage', headers: Record<string, string>) {
    const response = await fetch(stack.urls[subgraph]!, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    return { status: response.status, body: (await response.json()) as { errors?: Array<{ extensions?: { code?: string } }> } };
  }

  it('answers 401 without a context, with a bare X-Tenant-ID, or with a user token in its place', async () => {
    const userToken = await stack.token('acme-pets');
    for (const subgraph of ['pets', 'tenants', 'usage'] as const) {
      for (const headers of [{}, { 'x-tenant-id': 'acme-pets' }, { 'x-tenant-context': userToken }, { authorization: `Bearer ${userToken}` }] as Array<Record<string, string>>) {
        const { status, body } = await call(subgraph, headers);
        expect(status).toBe(401);
        expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      }
    }
  });

  it('answers 401 to a forged, an expired and a replayed-from-another-audience context', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await createContextSigner({ privateKey, kid: stack.keys.context!.kid })(tenant(), 'pets');
    expect((await call('pets', { 'x-tenant-context': forged })).status).toBe(401);

    const realKey = stack.keys.context!.privateKey;
    const expired = await new SignJWT({ tid: tenant().tenantId, tsl: 'acme-pets', roles: ['admin'], plan: 'free', iso: 'shared' })
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer('urn:tenancy:gateway')
      .setAudience('urn:tenancy:subgraph:pets')
      .setSubject('x')
      .setJti('r')
      .setIssuedAt(Math.floor(Date.now() / 1000) - 600)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 300)
      .sign(realKey);
    expect((await call('pets', { 'x-tenant-context': expired })).status).toBe(401);

    const forPets = await createContextSigner({ privateKey: realKey })(tenant(), 'pets');
    expect((await call('pets', { 'x-tenant-context': forPets })).status).toBe(200);
    expect((await call('tenants', { 'x-tenant-context': forPets })).status).toBe(401);
    expect((await call('usage', { 'x-tenant-context': forPets })).status).toBe(401);

    const tampered = forPets.split('.');
    const payload = JSON.parse(Buffer.from(tampered[1]!, 'base64url').toString());
    payload.tid = '11111111-1111-4111-8111-111111111111';
    tampered[1] = Buffer.from(JSON.stringify(payload)).toString('base64url');
    expect((await call('pets', { 'x-tenant-context': tampered.join('.') })).status).toBe(401);
  });
});

describe('tenant status', () => {
  it('refuses a suspended tenant at once, and lets a platform-admin reactivate it', async () => {
    const operator = await stack.token('acme-pets', { roles: ['platform-admin'], sub: 'operator@platform.example' });
    const fluffy = await stack.token('fluffy-friends');
    expect((await stack.gql(QUERY, { token: fluffy })).status).toBe(200); // cached in L1 now
    const suspend = await stack.gql(`mutation { setTenantStatus(status: SUSPENDED) { status } }`, {
      token: operator,
      headers: { 'x-tenant-id': 'fluffy-friends' },
    });
    expect(suspend.body.data.setTenantStatus.status).toBe('SUSPENDED');
    await new Promise((resolve) => setTimeout(resolve, 100)); // invalidation travels by pub/sub
    const refused = await stack.gql(QUERY, { token: fluffy });
    expect(refused.status).toBe(403);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const tenantAdmin = await stack.gql(`mutation { setTenantStatus(status: ACTIVE) { status } }`, { token: fluffy });
    expect(tenantAdmin.status).toBe(403);
    const reactivate = await stack.gql(`mutation { setTenantStatus(status: ACTIVE) { status } }`, {
      token: operator,
      headers: { 'x-tenant-id': 'fluffy-friends' },
    });
    expect(reactivate.body.data.setTenantStatus.status).toBe('ACTIVE');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await stack.gql(QUERY, { token: fluffy })).status).toBe(200);
  });
});
