import { GraphQLError } from 'graphql';
import { LRUCache } from 'lru-cache';
import { isPlatformAdmin, type TenantRecord } from '../../tenancy/context';
import { ErrorCode, requestError } from '../../tenancy/errors';
import type { Logger } from '../../tenancy/logger';
import type { KeyValueStore } from '../../tenancy/store';
import { announceTenantChanged, TENANT_CHANGED_CHANNEL, tenantCacheKey } from '../../tenancy/tenant-cache';
import type { UserClaims } from './auth';

/** Where a request may name its tenant, besides the token's claim. */
export interface TenantSelectors {
  header?: string;
  subdomain?: string;
  path?: string;
}

export interface TenantResolverOptions {
  /** The registry: one tenant by slug, or null. */
  registry: (slug: string) => Promise<TenantRecord | null>;
  store: KeyValueStore;
  logger: Logger;
  /** Called when a platform-admin acts on a tenant other than their token's (it is audited). */
  onPlatformAdminSelect?: (claims: UserClaims, tenant: TenantRecord) => void;
  /** L1 lifetime. @default 5_000 ms: a suspension reaches every gateway within 5 s even if the invalidation message is lost */
  l1TtlMs?: number;
  /** L2 (Redis) lifetime. @default 30 s */
  l2TtlSeconds?: number;
  /** @default 10_000 tenants in L1 */
  l1Max?: number;
  /** Unknown slugs are remembered this long in L1 only, so bad tokens cannot hammer the registry. @default 1_000 ms */
  negativeTtlMs?: number;
}

const MISSING = Symbol('missing');
type Entry = TenantRecord | typeof MISSING;
const SLUG = /^[a-z][a-z0-9-]{1,38}[a-z0-9]$/;

const forbidden = (message: string) => requestError(ErrorCode.FORBIDDEN, message);
/** Reads of one tenant's record per request, when changes keep aborting them. */
const MAX_LOOKUPS = 3;

export function createTenantResolver(options: TenantResolverOptions) {
  const { registry, store, logger, onPlatformAdminSelect, l1TtlMs = 5_000, l2TtlSeconds = 30, l1Max = 10_000, negativeTtlMs = 1_000 } = options;

  // fetchMethod coalesces concurrent misses of one slug into one L2/registry lookup.
  const l1 = new LRUCache<string, Entry>({
    max: l1Max,
    ttl: Math.max(1, l1TtlMs),
    // Read the clock at each lookup: the default (1 ms) caches it behind a timer, started by some
    // request nearly every millisecond under load, which costs more than the clock and runs in that
    // request's scope.
    ttlResolution: 0,
    fetchMethod: async (slug, _stale, { options: fetchOptions, signal }) => {
      const cached = await store.get(tenantCacheKey(slug)).catch((error) => {
        logger.warn({ err: error }, 'tenant cache L2 unavailable, reading the registry');
        return null;
      });
      if (cached) return JSON.parse(cached) as TenantRecord;
      let record: TenantRecord | null;
      try {
        record = await registry(slug);
      } catch (error) {
        logger.error({ err: error }, 'tenant registry unavailable');
        throw requestError(ErrorCode.SERVICE_UNAVAILABLE, 'Tenant registry is unavailable, try again');
      }
      if (!record) {
        fetchOptions.ttl = negativeTtlMs;
        return MISSING;
      }
      // A change announced while this read was under way aborted it (changed() below): what it read
      // may predate the change, so it is not shared through L2.
      if (!signal.aborted) store.set(tenantCacheKey(slug), JSON.stringify(record), l2TtlSeconds).catch(() => {});
      return record;
    },
  });

  /** The tenant a request names: the token's, unless a selector names it too (or a platform-admin names another). */
  function selectedSlug(claims: UserClaims, selectors: TenantSelectors): string {
    const { header, subdomain, path } = selectors;
    if (!header && !subdomain && !path) return claims.tenantSlug;
    const named = [header, subdomain, path].filter((s): s is string => !!s);
    const selected = named[0]!;
    if (named.some((s) => s !== selected)) throw forbidden('Tenant selectors name different tenants');
    if (selected !== claims.tenantSlug && !isPlatformAdmin(claims.roles)) {
      throw forbidden('Tenant selector does not match the token tenant');
    }
    return selected;
  }

  /** The tenant, if this principal may act on it now; throws the refusal. */
  function admitted(claims: UserClaims, slug: string, tenant: TenantRecord | null): TenantRecord {
    if (!tenant) throw forbidden('Unknown tenant');
    const admin = isPlatformAdmin(claims.roles);
    // A platform-admin may still act on a suspended tenant: that is how it gets reactivated.
    if (tenant.status !== 'active' && !admin) throw forbidden('Tenant is suspended');
    if (admin && slug !== claims.tenantSlug) onPlatformAdminSelect?.(claims, tenant);
    return tenant;
  }

  let unsubscribe: (() => Promise<void>) | undefined;
  const changeListeners = new Set<(slug: string) => void>();
  const changed = (slug: string) => {
    // Deleting the entry also aborts a read of it under way, so that read is neither kept nor shared.
    l1.delete(slug);
    // A read on this gateway that ended between the change and this message may have put the old
    // record back in L2 after the announcer deleted it: delete it again.
    store.del(tenantCacheKey(slug)).catch(() => {});
    for (const listener of changeListeners) listener(slug);
  };

  async function lookup(slug: string): Promise<TenantRecord | null> {
    if (!SLUG.test(slug)) return null;
    for (let attempt = 1; ; attempt++) {
      try {
        const entry = l1TtlMs > 0 ? await l1.fetch(slug) : await l1.fetch(slug, { forceRefresh: true });
        return entry && entry !== MISSING ? entry : null;
      } catch (error) {
        if (error instanceof GraphQLError) throw error;
        // lru-cache rejects a read that a change aborted (changed() above): read again, after the
        // change. Only a tenant changing on every attempt gets here MAX_LOOKUPS times.
        if (attempt < MAX_LOOKUPS) continue;
        logger.error({ err: error, slug }, 'tenant record could not be read');
        throw requestError(ErrorCode.SERVICE_UNAVAILABLE, 'Tenant registry is unavailable, try again');
      }
    }
  }

  return {
    async start() {
      unsubscribe = await store.subscribe(TENANT_CHANGED_CHANNEL, changed);
    },
    async stop() {
      await unsubscribe?.();
    },
    /** Drops a tenant from this gateway's L1, the shared L2, and tells the other gateways. */
    async invalidate(slug: string) {
      changed(slug);
      await announceTenantChanged(store, slug);
    },
    /** Calls `listener` with the slug of each tenant changed (suspended, re-planned, re-limited) anywhere. */
    onChanged(listener: (slug: string) => void): () => void {
      changeListeners.add(listener);
      return () => changeListeners.delete(listener);
    },
    /**
     * The token's tenant_id claim decides the tenant. Selectors (header, Host subdomain, /t/{slug}
     * path) may only repeat it; a platform-admin may select any tenant, and that is audited.
     */
    async resolve(claims: UserClaims, selectors: TenantSelectors): Promise<TenantRecord> {
      const slug = selectedSlug(claims, selectors);
      return admitted(claims, slug, await lookup(slug));
    },
    /**
     * What `resolve` answers when this gateway's L1 holds the tenant, without a promise (the common
     * case of a request); undefined when only `resolve` can tell. Throws the same refusals.
     */
    resolveKnown(claims: UserClaims, selectors: TenantSelectors): TenantRecord | undefined {
      const slug = selectedSlug(claims, selectors);
      const entry = l1TtlMs > 0 && SLUG.test(slug) ? l1.get(slug) : undefined;
      return entry && entry !== MISSING ? admitted(claims, slug, entry) : undefined;
    },
  };
}
export type TenantResolver = ReturnType<typeof createTenantResolver>;

/** The `{slug}.` label of a Host header under the configured base domain, if any. */
export function subdomainOf(host: string | undefined, baseDomain: string): string | undefined {
  if (!host) return undefined;
  const name = host.replace(/:\d+$/, '').toLowerCase();
  const suffix = `.${baseDomain.toLowerCase()}`;
  if (!name.endsWith(suffix)) return undefined;
  const label = name.slice(0, -suffix.length);
  return label && !label.includes('.') ? label : undefined;
}
