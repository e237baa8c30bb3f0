import { EventEmitter } from 'node:events';
import { refill, retryAfterMs, type BucketPolicy, type BucketState, type KeyValueStore } from './types';

/** In-process store for a single-process stack; same semantics as the Redis adapter. */
export function createMemoryStore(): KeyValueStore {
  const values = new Map<string, { value: string; expiresAt: number }>();
  const bus = new EventEmitter();
  bus.setMaxListeners(0);
  const buckets = new Map<string, { tokens: number; at: number }>();
  const slots = new Map<string, Map<string, number>>();
  let closed = false;
  // Synchronous read-modify-write: atomic within the one process that shares this store.
  const bucket = (key: string, policy: BucketPolicy, change: (tokens: number) => { tokens: number; allowed: boolean; cost: number }): BucketState => {
    const now = Date.now();
    const current = buckets.get(key);
    const tokens = current ? refill(current.tokens, current.at, now, policy) : policy.capacity;
    const next = change(tokens);
    buckets.set(key, { tokens: next.tokens, at: now });
    return { allowed: next.allowed, available: next.tokens, retryAfterMs: next.allowed ? 0 : retryAfterMs(next.cost, next.tokens, policy) };
  };
  const live = (key: string) => {
    const entry = values.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      values.delete(key);
      return undefined;
    }
    return entry;
  };
  return {
    kind: 'memory',
    async get(key) {
      return live(key)?.value ?? null;
    },
    async set(key, value, ttlSeconds) {
      values.set(key, { value, expiresAt: ttlSeconds === undefined ? Infinity : Date.now() + ttlSeconds * 1000 });
    },
    async del(key) {
      // Like Redis DEL: whatever the key holds (a value, a bucket, a set of slots).
      values.delete(key);
      buckets.delete(key);
      slots.delete(key);
    },
    async publish(channel, message) {
      // Delivered asynchronously, like Redis pub/sub, so a publisher never re-enters its own handler.
      setImmediate(() => bus.emit(channel, message));
    },
    async subscribe(channel, onMessage) {
      bus.on(channel, onMessage);
      return async () => {
        bus.off(channel, onMessage);
      };
    },
    async ping() {
      return !closed;
    },
    async takeTokens(key, cost, policy) {
      return bucket(key, policy, (tokens) => (cost <= tokens ? { tokens: tokens - cost, allowed: true, cost } : { tokens, allowed: false, cost }));
    },
    async refundTokens(key, amount, policy) {
      return bucket(key, policy, (tokens) => ({ tokens: Math.min(policy.capacity, tokens + Math.max(0, amount)), allowed: true, cost: 0 }));
    },
    async peekTokens(key, policy) {
      return bucket(key, policy, (tokens) => ({ tokens, allowed: true, cost: 0 }));
    },
    async acquireSlot(key, id, limit, leaseMs) {
      const now = Date.now();
      const held = slots.get(key) ?? new Map<string, number>();
      for (const [holder, expires] of held) if (expires <= now) held.delete(holder);
      slots.set(key, held);
      if (held.size >= limit && !held.has(id)) return false;
      held.set(id, now + leaseMs);
      return true;
    },
    async releaseSlot(key, id) {
      slots.get(key)?.delete(id);
    },
    async close() {
      closed = true;
      bus.removeAllListeners();
      values.clear();
    },
  };
}
