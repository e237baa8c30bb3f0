import { tenantKey, type KeyValueStore } from './store';

/**
 * The gateway caches tenant records in L1 (in-process) and L2 (the store). Whoever changes a tenant
 * (the tenants subgraph) announces it here, so every gateway drops its copies at once.
 */
export const TENANT_CHANGED_CHANNEL = 'tenant-changed';
export const tenantCacheKey = (slug: string): string => tenantKey(slug, 'record');

export async function announceTenantChanged(store: KeyValueStore, slug: string): Promise<void> {
  await store.del(tenantCacheKey(slug));
  await store.publish(TENANT_CHANGED_CHANNEL, slug);
}
