import { EventEmitter } from 'node:events';
import type { KeyValueStore } from './types';

/** In-process store for a single-process stack; same semantics as the Redis adapter. */
export function createMemoryStore(): KeyValueStore {
  const values = new Map<string, { value: string; expiresAt: number }>();
  const bus = new EventEmitter();
  bus.setMaxListeners(0);
  let closed = false;
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
      values.delete(key);
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
    async close() {
      closed = true;
      bus.removeAllListeners();
      values.clear();
    },
  };
}
