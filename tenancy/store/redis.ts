import { Redis } from 'ioredis';
import type { KeyValueStore } from './types';

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
    async close() {
      client.disconnect();
      subscriber.disconnect();
    },
  };
}
