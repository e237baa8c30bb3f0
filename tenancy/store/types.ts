/**
 * Shared state behind one interface: Redis in production (REDIS_URL), an in-process adapter for the
 * one-command start. Both pass test/integration/store-conformance.test.ts.
 */
export interface KeyValueStore {
  readonly kind: 'memory' | 'redis';
  get(key: string): Promise<string | null>;
  /** @param ttlSeconds expiry; omitted keeps the key until deleted */
  set(key: string, value: string, ttlSeconds?: number): Promise<void>;
  del(key: string): Promise<void>;
  publish(channel: string, message: string): Promise<void>;
  /** Resolves once the subscription is live; the returned function unsubscribes. */
  subscribe(channel: string, onMessage: (message: string) => void): Promise<() => Promise<void>>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** Key of one tenant's entries: the hash tag keeps a tenant's keys in one Redis Cluster slot. */
export const tenantKey = (tenant: string, suffix: string): string => `{t:${tenant}}:${suffix}`;
