// Authentication against a remote OIDC issuer's JWKS served over real HTTP: caching and key rotation.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT, type JWK } from 'jose';
import { createAuthenticator } from '../../gateway/src/auth';
import { generateKeyPairJwk, keyPairFromPrivateJwk, type KeyPair } from '../../tenancy/keys';

const ISSUER = 'https://issuer.test';
const AUDIENCE = 'urn:tenancy:api';
let server: Server;
let jwksUrl: string;
let published: JWK[] = [];
let fetches = 0;

beforeAll(async () => {
  server = createServer((_req, res) => {
    fetches++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: published }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const sign = (key: KeyPair, tenant = 'acme-pets') =>
  new SignJWT({ tenant_id: tenant, roles: ['member'] })
    .setProtectedHeader({ alg: key.alg, kid: key.kid })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject('user-1')
    .setExpirationTime('5m')
    .sign(key.privateKey);

describe('remote JWKS', () => {
  it('verifies tokens of the published key, caches the key set and the verified token', async () => {
    const key = await keyPairFromPrivateJwk(await generateKeyPairJwk());
    published = [key.publicJwk];
    fetches = 0;
    const auth = createAuthenticator({ issuer: ISSUER, audience: AUDIENCE, jwksUrl, algorithms: ['ES256'], jwksCooldownMs: 0 });
    const token = await sign(key);
    const claims = await auth.authenticate(`Bearer ${token}`);
    expect(claims).toMatchObject({ tenantSlug: 'acme-pets', roles: ['member'], subject: 'user-1', issuer: ISSUER });
    await auth.authenticate(`Bearer ${await sign(key, 'fluffy-friends')}`);
    await auth.authenticate(`Bearer ${token}`);
    expect(fetches).toBe(1);
  });

  it('follows a key rotation: a token with a new kid makes it refetch, a removed key stops working', async () => {
    const oldKey = await keyPairFromPrivateJwk(await generateKeyPairJwk());
    const newKey = await keyPairFromPrivateJwk(await generateKeyPairJwk());
    published = [oldKey.publicJwk];
    fetches = 0;
    const auth = createAuthenticator({ issuer: ISSUER, audience: AUDIENCE, jwksUrl, algorithms: ['ES256'], jwksCooldownMs: 0, cacheSize: 0 });
    await auth.authenticate(await sign(oldKey));
    published = [newKey.publicJwk];
    expect((await auth.authenticate(await sign(newKey))).tenantSlug).toBe('acme-pets');
    expect(fetches).toBe(2);
    await expect(auth.authenticate(await sign(oldKey, 'fluffy-friends'))).rejects.toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
  });

  it('refuses tokens of a trusted key but another issuer, and answers 503 when the JWKS is unreachable', async () => {
    const key = await keyPairFromPrivateJwk(await generateKeyPairJwk());
    published = [key.publicJwk];
    const auth = createAuthenticator({ issuer: ISSUER, audience: AUDIENCE, jwksUrl, algorithms: ['ES256'] });
    const other = await new SignJWT({ tenant_id: 'acme-pets', roles: ['admin'] })
      .setProtectedHeader({ alg: 'ES256', kid: key.kid })
      .setIssuer('https://other.test')
      .setAudience(AUDIENCE)
      .setSubject('x')
      .setExpirationTime('5m')
      .sign(key.privateKey);
    await expect(auth.authenticate(other)).rejects.toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
    const down = createAuthenticator({ issuer: ISSUER, audience: AUDIENCE, jwksUrl: 'http://127.0.0.1:1/jwks.json', algorithms: ['ES256'] });
    await expect(down.authenticate(await sign(key))).rejects.toMatchObject({ extensions: { code: 'SERVICE_UNAVAILABLE', http: { status: 503 } } });
  });
});
