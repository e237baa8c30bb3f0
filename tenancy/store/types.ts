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

  /**
   * Token bucket, changed only atomically (one Lua script in Redis): refills at `restoreRate` per
   * second up to `capacity`, then takes `cost` if that much is available, else takes nothing.
   */
  takeTokens(key: string, cost: number, policy: BucketPolicy): Promise<BucketState>;
  /** Gives `amount` back (actual cost below the requested cost), never above capacity. */
  refundTokens(key: string, amount: number, policy: BucketPolicy): Promise<BucketState>;
  /** The bucket as it stands now, refilled, without taking anything. */
  peekTokens(key: string, policy: BucketPolicy): Promise<BucketState>;
  /**
   * Holds one of `limit` concurrency slots for `id` until released or `leaseMs` passes (a crashed
   * gateway's slots free themselves). False when all slots are held.
   */
  acquireSlot(key: string, id: string, limit: number, leaseMs: number): Promise<boolean>;
  releaseSlot(key: string, id: string): Promise<void>;
}

export interface BucketPolicy {
  capacity: number;
  /** Units restored per second. */
  restoreRate: number;
}

export interface BucketState {
  allowed: boolean;
  /** Units in the bucket after this call. */
  available: number;
  /** When not allowed: milliseconds until enough units will have been restored. */
  retryAfterMs: number;
}

/** The refill rule both adapters share (the Redis script is its transcription). */
export function refill(tokens: number, lastMs: number, nowMs: number, policy: BucketPolicy): number {
  return Math.min(policy.capacity, tokens + (Math.max(0, nowMs - lastMs) / 1000) * policy.restoreRate);
}

export function retryAfterMs(cost: number, available: number, policy: BucketPolicy): number {
  if (cost <= available) return 0;
  if (cost > policy.capacity) return Math.ceil((policy.capacity / policy.restoreRate) * 1000);
  return Math.ceil(((cost - available) / policy.restoreRate) * 1000);
}

/** Key of one tenant's entries: the hash tag keeps a tenant's keys in one Redis Cluster slot. */
export const tenantKey = (tenant: string, suffix: string): string => `{t:${tenant}}:${suffix}`;
