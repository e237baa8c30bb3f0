import { Redis } from 'ioredis';
import type { BucketState, KeyValueStore } from './types';

/**
 * The token bucket as one script, so that any number of gateways sharing Redis change a bucket only
 * atomically (DESIGN.md invariant 6). Time is Redis's own TIME: gateways' clocks may disagree.
 * KEYS[1] bucket hash; ARGV capacity, restoreRate (per s), cost (take), refund (give back), mode.
 * Returns { allowed (0/1), available (string), retryAfterMs }.
 */
const BUCKET_SCRIPT = `
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local refund = tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then tokens = capacity; at = now end
tokens = math.min(capacity, tokens + math.max(0, now - at) / 1000 * rate)
local allowed = 1
local retry = 0
if refund > 0 then tokens = math.min(capacity, tokens + refund) end
if cost > 0 then
  if cost <= tokens then
    tokens = tokens - cost
  else
    allowed = 0
    if cost > capacity then retry = math.ceil(capacity / rate * 1000) else retry = math.ceil((cost - tokens) / rate * 1000) end
  end
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 60000)
return { allowed, tostring(tokens), retry }
`;

/** Concurrency slots: a sorted set of holders scored by lease expiry. KEYS[1]; ARGV id, limit, leaseMs. */
const SLOT_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) == false and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) + 1000)
return 1
`;

export interface RedisStoreOptions {
  url: string;
  /** Prefix of every key and channel, so several stacks (or test runs) can share one Redis. @default '' */
  prefix?: string;
}

export async function createRedisStore(options: RedisStoreOptions): Promise<KeyValueStore> {
  const { url, prefix = '' } = options;
  const redisOptions = { lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: true };
  const client = new Redis(url, redisOptions);
  // A subscribed connection cannot run other commands: pub/sub gets its own.
  const subscriber = new Redis(url, redisOptions);
  // Errors are surfaced through failed commands and ping(); an 'error' event without a listener would crash.
  client.on('error', () => {});
  subscriber.on('error', () => {});
  await Promise.all([client.connect(), subscriber.connect()]);
  client.defineCommand('tenancyBucket', { numberOfKeys: 1, lua: BUCKET_SCRIPT });
  client.defineCommand('tenancySlot', { numberOfKeys: 1, lua: SLOT_SCRIPT });
  type Scripted = Redis & {
    tenancyBucket(key: string, ...args: Array<string | number>): Promise<[number, string, number]>;
    tenancySlot(key: string, ...args: Array<string | number>): Promise<number>;
  };
  const scripted = client as Scripted;
  const bucket = async (key: string, capacity: number, rate: number, cost: number, refund: number): Promise<BucketState> => {
    const [allowed, available, retryAfterMs] = await scripted.tenancyBucket(prefix + key, capacity, rate, cost, refund);
    return { allowed: allowed === 1, available: Number(available), retryAfterMs };
  };
  const handlers = new Map<string, Set<(message: string) => void>>();
  subscriber.on('message', (channel: string, message: string) => {
    for (const handler of handlers.get(channel) ?? []) handler(message);
  });
  return {
    kind: 'redis',
    get: (key) => client.get(prefix + key),
    async set(key, value, ttlSeconds) {
      if (ttlSeconds === undefined) await client.set(prefix + key, value);
      else await client.set(prefix + key, value, 'PX', Math.max(1, Math.round(ttlSeconds * 1000)));
    },
    async del(key) {
      await client.del(prefix + key);
    },
    async publish(channel, message) {
      await client.publish(prefix + channel, message);
    },
    async subscribe(channel, onMessage) {
      const full = prefix + channel;
      let set = handlers.get(full);
      if (!set) {
        set = new Set();
        handlers.set(full, set);
        await subscriber.subscribe(full);
      }
      set.add(onMessage);
      return async () => {
        set!.delete(onMessage);
        if (set!.size === 0 && handlers.get(full) === set) {
          handlers.delete(full);
          await subscriber.unsubscribe(full).catch(() => {});
        }
      };
    },
    async ping() {
      try {
        return (await client.ping()) === 'PONG';
      } catch {
        return false;
      }
    },
    takeTokens: (key, cost, policy) => bucket(key, policy.capacity, policy.restoreRate, cost, 0),
    refundTokens: (key, amount, policy) => bucket(key, policy.capacity, policy.restoreRate, 0, Math.max(0, amount)),
    peekTokens: (key, policy) => bucket(key, policy.capacity, policy.restoreRate, 0, 0),
    async acquireSlot(key, id, limit, leaseMs) {
      return (await scripted.tenancySlot(prefix + key, id, limit, leaseMs)) === 1;
    },
    async releaseSlot(key, id) {
      await client.zrem(prefix + key, id);
    },
    async close() {
      client.disconnect();
      subscriber.disconnect();
    },
  };
}
