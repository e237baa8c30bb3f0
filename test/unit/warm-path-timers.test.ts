// The caches a warm request reads (verified tokens, tenant records, context tokens) keep entries with a
// TTL. lru-cache's default reads the clock through a cache refreshed by a 1 ms timer, which under load
// some request starts nearly every millisecond: a timer to create, insert and fire for every few
// requests (docs/BENCHMARKS.md). These lookups must start none.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createAuthenticator, DEV_ISSUER } from '../../gateway/src/auth';
import { createTenantResolver } from '../../gateway/src/tenant-resolution';
import type { TenantContext, TenantRecord } from '../../tenancy/context';
import { createContextTokenCache } from '../../tenancy/context-token';
import { issueDevToken } from '../../tenancy/dev-issuer';
import { generateKeyPairJwk, keyPairFromPrivateJwk } from '../../tenancy/keys';
import { createLogger } from '../../tenancy/logger';
import { createMemoryStore } from '../../tenancy/store';

const AUDIENCE = 'urn:tenancy:api';
const limits = { monthlyBudget: 1000, bucketCapacity: 100, restoreRate: 10, maxOperationCost: 100, maxConcurrency: 2, softLimitPercent: 80, gracePercent: 0 };
const acme: TenantRecord = { id: '1', slug: 'acme-pets', name: 'Acme', plan: 'free', status: 'active', isolation: 'shared', limits };

/** Calls `lookup` across several milliseconds of the clock and counts the timers started meanwhile. */
async function timersStartedBy(lookup: () => unknown): Promise<number> {
  const started = vi.spyOn(globalThis, 'setTimeout');
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 20; i++) lookup();
    // Let a millisecond pass and the event loop turn, as between requests under load.
    const until = performance.now() + 1.5;
    while (performance.now() < until);
    for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
  }
  const count = started.mock.calls.length;
  started.mockRestore();
  return count;
}

afterEach(() => vi.restoreAllMocks());

describe('warm request path', () => {
  it('a verified token is found again without starting a timer', async () => {
    const issuer = await keyPairFromPrivateJwk(await generateKeyPairJwk());
    const auth = createAuthenticator({ issuer: 'https://unused.test', audience: AUDIENCE, devPublicJwk: issuer.publicJwk, algorithms: ['ES256'], clockSkewSeconds: 30 });
    const token = await issueDevToken(issuer, { tenant: 'acme-pets', subject: 'u1', roles: ['admin'], ttlSeconds: 300, audience: AUDIENCE });
    const claims = await auth.authenticate(`Bearer ${token}`);
    expect(claims.issuer).toBe(DEV_ISSUER);
    expect(auth.known(`Bearer ${token}`)).toEqual(claims);
    expect(await timersStartedBy(() => auth.known(`Bearer ${token}`))).toBe(0);
  });

  it('a cached tenant record is found again without starting a timer', async () => {
    const resolver = createTenantResolver({ registry: async () => acme, store: createMemoryStore(), logger: createLogger('test', 'silent'), onPlatformAdminSelect: () => {} });
    const claims = { subject: 'u1', tenantSlug: 'acme-pets', roles: ['admin' as const], expiresAt: Date.now() / 1000 + 60, issuer: DEV_ISSUER };
    await resolver.resolve(claims, {});
    expect(resolver.resolveKnown(claims, {})?.slug).toBe('acme-pets');
    expect(await timersStartedBy(() => resolver.resolveKnown(claims, {}))).toBe(0);
  });

  it('a context token is reused without starting a timer', async () => {
    const tokenFor = createContextTokenCache(Object.assign(async () => 'signed', { link: () => 'link' }));
    const context: TenantContext = { tenantId: '1', tenantSlug: 'acme-pets', subject: 'u1', roles: ['admin'], plan: 'free', isolation: 'shared', requestId: 'r' };
    await tokenFor(context, 'pets');
    expect(tokenFor(context, 'pets')).toBe('signed');
    expect(await timersStartedBy(() => tokenFor(context, 'pets'))).toBe(0);
  });
});
