import { describe, expect, it, vi } from 'vitest';
import { createTenantResolver, subdomainOf } from '../../gateway/src/tenant-resolution';
import type { TenantRecord } from '../../tenancy/context';
import { createLogger } from '../../tenancy/logger';
import { createMemoryStore } from '../../tenancy/store';
import { announceTenantChanged, TENANT_CHANGED_CHANNEL, tenantCacheKey } from '../../tenancy/tenant-cache';
import type { UserClaims } from '../../gateway/src/auth';

const limits = { monthlyBudget: 1000, bucketCapacity: 100, restoreRate: 10, maxOperationCost: 100, maxConcurrency: 2, softLimitPercent: 80, gracePercent: 0 };
const acme: TenantRecord = { id: '1', slug: 'acme-pets', name: 'Acme', plan: 'free', status: 'active', isolation: 'shared', limits };
const fluffy: TenantRecord = { id: '2', slug: 'fluffy-friends', name: 'Fluffy', plan: 'pro', status: 'active', isolation: 'shared', limits };
const claims = (tenantSlug: string, roles: UserClaims['roles'] = ['admin']): UserClaims => ({
  subject: 's',
  tenantSlug,
  roles,
  expiresAt: Date.now() / 1000 + 60,
  issuer: 'i',
});

function setup(records: TenantRecord[] = [acme, fluffy]) {
  const store = createMemoryStore();
  const registry = vi.fn(async (slug: string) => records.find((r) => r.slug === slug) ?? null);
  const onPlatformAdminSelect = vi.fn();
  const resolver = createTenantResolver({ registry, store, logger: createLogger('test', 'silent'), onPlatformAdminSelect });
  return { store, registry, resolver, onPlatformAdminSelect };
}

/**
 * A started resolver whose registry reads hold until the test calls `release` (the first read only,
 * or every read), so that a tenant change can land while a read is under way.
 */
async function gatedResolver(gate: 'first' | 'every') {
  const records = [acme];
  const store = createMemoryStore();
  let gateOpen: () => void = () => {};
  const registry = vi.fn(async (slug: string) => {
    const found = records.find((r) => r.slug === slug) ?? null;
    if (gate === 'every' || registry.mock.calls.length === 1) await new Promise<void>((resolve) => (gateOpen = resolve));
    return found;
  });
  const resolver = createTenantResolver({ registry, store, logger: createLogger('test', 'silent') });
  await resolver.start();
  return { records, store, registry, resolver, release: () => gateOpen() };
}

describe('tenant resolution', () => {
  it('takes the tenant from the claim, and accepts selectors that repeat it', async () => {
    const { resolver } = setup();
    expect((await resolver.resolve(claims('acme-pets'), {})).slug).toBe('acme-pets');
    expect((await resolver.resolve(claims('acme-pets'), { header: 'acme-pets', subdomain: 'acme-pets', path: 'acme-pets' })).slug).toBe('acme-pets');
  });

  it('refuses a selector naming another tenant, and selectors that disagree', async () => {
    const { resolver } = setup();
    for (const selectors of [{ header: 'fluffy-friends' }, { subdomain: 'fluffy-friends' }, { path: 'fluffy-friends' }, { header: 'acme-pets', path: 'fluffy-friends' }]) {
      await expect(resolver.resolve(claims('acme-pets'), selectors)).rejects.toMatchObject({ extensions: { code: 'FORBIDDEN' } });
    }
  });

  it('lets a platform-admin select another tenant and reports it for the audit', async () => {
    const { resolver, onPlatformAdminSelect } = setup();
    const tenant = await resolver.resolve(claims('acme-pets', ['platform-admin']), { header: 'fluffy-friends' });
    expect(tenant.slug).toBe('fluffy-friends');
    expect(onPlatformAdminSelect).toHaveBeenCalledOnce();
    await resolver.resolve(claims('acme-pets', ['platform-admin']), {});
    expect(onPlatformAdminSelect).toHaveBeenCalledOnce();
  });

  it('refuses unknown and suspended tenants', async () => {
    const { resolver } = setup([acme, { ...fluffy, status: 'suspended' }]);
    await expect(resolver.resolve(claims('nobody-here'), {})).rejects.toMatchObject({ extensions: { code: 'FORBIDDEN' } });
    await expect(resolver.resolve(claims('fluffy-friends'), {})).rejects.toMatchObject({ extensions: { code: 'FORBIDDEN' } });
    await expect(resolver.resolve(claims('BAD SLUG'), {})).rejects.toMatchObject({ extensions: { code: 'FORBIDDEN' } });
  });

  it('reads the registry once: L1 first, then L2, and coalesces concurrent misses', async () => {
    const { resolver, registry, store } = setup();
    await Promise.all(Array.from({ length: 20 }, () => resolver.resolve(claims('acme-pets'), {})));
    expect(registry).toHaveBeenCalledTimes(1);
    expect(JSON.parse((await store.get(tenantCacheKey('acme-pets')))!)).toEqual(acme);
    // A second gateway sharing the store finds the record in L2 without the registry.
    const second = createTenantResolver({ registry, store, logger: createLogger('test', 'silent') });
    await second.resolve(claims('acme-pets'), {});
    expect(registry).toHaveBeenCalledTimes(1);
  });

  it('drops cached records everywhere when a tenant changes', async () => {
    const records = [acme];
    const { resolver, registry, store } = setup(records);
    await resolver.start();
    await resolver.resolve(claims('acme-pets'), {});
    records[0] = { ...acme, status: 'suspended' };
    await announceTenantChanged(store, 'acme-pets');
    await new Promise((resolve) => setTimeout(resolve, 10));
    await expect(resolver.resolve(claims('acme-pets'), {})).rejects.toMatchObject({ extensions: { code: 'FORBIDDEN' } });
    expect(registry).toHaveBeenCalledTimes(2);
    await resolver.stop();
  });

  it('answers a request whose lookup was under way when the tenant changed, with the record read after the change', async () => {
    // The change's announcement drops the L1 entry, and that aborts the read in flight. The request
    // reading it must not fail for that (it used to surface as INTERNAL_SERVER_ERROR).
    const { records, store, registry, resolver, release } = await gatedResolver('first');
    const pending = resolver.resolve(claims('acme-pets'), {});
    await vi.waitFor(() => expect(registry).toHaveBeenCalledOnce());
    // The tenants subgraph changes the record and announces it; the read under way finishes only after
    // this gateway heard of it.
    records[0] = { ...acme, plan: 'pro' };
    await announceTenantChanged(store, 'acme-pets');
    await vi.waitFor(() => expect(registry).toHaveBeenCalledTimes(2));
    await new Promise((resolve) => setTimeout(resolve, 10));
    release();
    const tenant = await pending;
    expect(tenant.plan).toBe('pro');
    expect(registry).toHaveBeenCalledTimes(2);
    // What it read after the change is what L1 holds, and the aborted read's old record went
    // nowhere: not in L1, not in L2 for the other gateways.
    expect(resolver.resolveKnown(claims('acme-pets'), {})?.plan).toBe('pro');
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(JSON.parse((await store.get(tenantCacheKey('acme-pets')))!)).toEqual(records[0]);
    await resolver.stop();
  });
});

describe('tenant resolution racing tenant changes', () => {
  it('deletes the L2 copy when it hears of a change, in case its own read finished between the change and the message', async () => {
    const { records, store, registry, resolver, release } = await gatedResolver('every');
    const pending = resolver.resolve(claims('acme-pets'), {});
    await vi.waitFor(() => expect(registry).toHaveBeenCalledOnce());
    // The change commits and the announcer deletes L2; the read (begun before) finishes and shares
    // the old record before the message arrives.
    records[0] = { ...acme, plan: 'pro' };
    await store.del(tenantCacheKey('acme-pets'));
    release();
    expect((await pending).plan).toBe('free');
    expect(JSON.parse((await store.get(tenantCacheKey('acme-pets')))!).plan).toBe('free');
    await store.publish(TENANT_CHANGED_CHANNEL, 'acme-pets');
    await vi.waitFor(async () => expect(await store.get(tenantCacheKey('acme-pets'))).toBeNull());
    await resolver.stop();
  });

  it('answers 503 SERVICE_UNAVAILABLE when changes abort every read of the record', async () => {
    const store = createMemoryStore();
    const registry = vi.fn(async (slug: string) => {
      // Each read is overtaken by another change of the tenant.
      await store.publish(TENANT_CHANGED_CHANNEL, slug);
      await new Promise((resolve) => setTimeout(resolve, 20));
      return acme;
    });
    const resolver = createTenantResolver({ registry, store, logger: createLogger('test', 'silent') });
    await resolver.start();
    await expect(resolver.resolve(claims('acme-pets'), {})).rejects.toMatchObject({ extensions: { code: 'SERVICE_UNAVAILABLE' } });
    expect(registry).toHaveBeenCalledTimes(3);
    await resolver.stop();
  });
});

describe('subdomainOf', () => {
  it('reads a single label under the base domain only', () => {
    expect(subdomainOf('acme-pets.localhost:4000', 'localhost')).toBe('acme-pets');
    expect(subdomainOf('ACME-PETS.api.example.com', 'api.example.com')).toBe('acme-pets');
    expect(subdomainOf('localhost:4000', 'localhost')).toBeUndefined();
    expect(subdomainOf('a.b.localhost', 'localhost')).toBeUndefined();
    expect(subdomainOf('acme-pets.evil.com', 'localhost')).toBeUndefined();
    expect(subdomainOf(undefined, 'localhost')).toBeUndefined();
  });
});

describe('tenant resolution when the registry is down', () => {
  it('answers 503 SERVICE_UNAVAILABLE, not an internal error', async () => {
    const resolver = createTenantResolver({
      registry: async () => {
        throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
      },
      store: createMemoryStore(),
      logger: createLogger('test', 'silent'),
    });
    await expect(resolver.resolve(claims('acme-pets'), {})).rejects.toMatchObject({
      extensions: { code: 'SERVICE_UNAVAILABLE', http: { status: 503 } },
    });
  });
});
