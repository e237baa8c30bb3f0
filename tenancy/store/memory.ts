import { EventEmitter } from 'node:events';
import {
  refill,
  retryAfterMs,
  type AdmissionState,
  type BucketPolicy,
  type BucketState,
  type KeyValueStore,
  type MonthlyCounter,
  type StreamEntry,
} from './types';

interface Group {
  /** Index in entries of the next never-delivered entry. */
  next: number;
  /** Delivered, unacknowledged: id -> consumer. */
  pending: Map<string, string>;
}

/**
 * Most entries an in-process stream keeps, like the Redis adapter's MAXLEN: with nothing consuming
 * (a gateway-only process, USAGE_CONSUMER=false) the oldest go rather than the process's memory.
 */
const MAX_STREAM_ENTRIES = 100_000;

/** In-process store for a single-process stack; same semantics as the Redis adapter. */
export function createMemoryStore(): KeyValueStore {
  const values = new Map<string, { value: string; expiresAt: number }>();
  /** A bucket, and the units leases hold against its capacity until `until` (the Redis script's fields). */
  const buckets = new Map<string, { tokens: number; at: number; reserved: number; until: number }>();
  const slots = new Map<string, Map<string, number>>();
  const streams = new Map<string, { entries: StreamEntry[]; groups: Map<string, Group>; seq: number }>();
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

  // Synchronous read-modify-write: atomic within the one process that shares this store. The same
  // rules as the Redis script, step for step.
  /** READ_BUCKET of the Redis script: the bucket refilled to now, never past its capacity less live reservations. */
  function read(key: string, policy: BucketPolicy, now: number) {
    const current = buckets.get(key);
    const reserved = current && now < current.until ? current.reserved : 0;
    const until = current?.until ?? 0;
    const ceiling = policy.capacity - reserved;
    if (!current) return { tokens: ceiling, reserved, until };
    const tokens = current.tokens < ceiling ? refill(current.tokens, current.at, now, { ...policy, capacity: ceiling }) : current.tokens;
    return { tokens, reserved, until };
  }
  /** GIVE_BACK of the Redis script: adds `back` under the same ceiling, never taking anything away. */
  const giveBack = (tokens: number, back: number, ceiling: number) => (back > 0 ? Math.max(tokens, Math.min(ceiling, tokens + back)) : tokens);

  function bucket(key: string, policy: BucketPolicy, cost: number, refund: number, month?: MonthlyCounter, endLease = 0): BucketState {
    const now = Date.now();
    let used: number | undefined;
    if (month) {
      const counter = live(month.key);
      if (!counter) return { allowed: false, monthUnknown: true, available: read(key, policy, now).tokens, retryAfterMs: 0 };
      used = Number(counter.value);
    }
    let { tokens, reserved, until } = read(key, policy, now);
    reserved = Math.max(0, reserved - endLease);
    let allowed = true;
    let refusal: BucketState['refusal'];
    if (refund > 0) {
      tokens = giveBack(tokens, refund, policy.capacity - reserved);
      if (used !== undefined) used = Math.max(0, used - refund);
    }
    if (cost > 0) {
      if (used !== undefined && month && used + cost > month.hardLimit) {
        allowed = false;
        refusal = 'quota';
      } else if (cost <= tokens) {
        tokens -= cost;
        if (used !== undefined) used += cost;
      } else {
        allowed = false;
        refusal = 'bucket';
      }
    }
    buckets.set(key, { tokens, at: now, reserved, until });
    if (month && used !== undefined) values.set(month.key, { value: String(used), expiresAt: live(month.key)!.expiresAt });
    return {
      allowed,
      refusal,
      available: tokens,
      retryAfterMs: refusal === 'bucket' ? retryAfterMs(cost, tokens, policy) : 0,
      ...(used !== undefined ? { monthUsed: used } : {}),
    };
  }

  /** A key's slot holders, those whose lease ran out dropped (Redis: ZREMRANGEBYSCORE). */
  function liveSlots(key: string, now: number): Map<string, number> {
    let held = slots.get(key);
    if (!held) {
      held = new Map<string, number>();
      slots.set(key, held);
    }
    for (const [holder, expires] of held) if (expires <= now) held.delete(holder);
    return held;
  }

  function append(name: string, fields: Record<string, string>): string {
    const s = stream(name);
    const id = `${Date.now()}-${s.seq++}`;
    s.entries.push({ id, fields: { ...fields } });
    if (s.entries.length > MAX_STREAM_ENTRIES) {
      const drop = s.entries.length - MAX_STREAM_ENTRIES;
      for (const removed of s.entries.splice(0, drop)) for (const g of s.groups.values()) g.pending.delete(removed.id);
      for (const g of s.groups.values()) g.next = Math.max(0, g.next - drop);
    }
    // Wakes blocked readers. With none waiting there is nothing to wake (a reader checks the entries
    // before it blocks, in the same tick), and a gateway with no consumer in its process saves a timer.
    if (bus.listenerCount(`stream:${name}`) > 0) setImmediate(() => bus.emit(`stream:${name}`));
    return id;
  }

  function stream(name: string) {
    let s = streams.get(name);
    if (!s) {
      s = { entries: [], groups: new Map(), seq: 0 };
      streams.set(name, s);
    }
    return s;
  }
  function group(name: string, groupName: string): Group {
    const s = stream(name);
    let g = s.groups.get(groupName);
    if (!g) {
      g = { next: 0, pending: new Map() };
      s.groups.set(groupName, g);
    }
    return g;
  }

  return {
    kind: 'memory',
    async get(key) {
      return live(key)?.value ?? null;
    },
    async set(key, value, ttlSeconds) {
      values.set(key, { value, expiresAt: ttlSeconds === undefined ? Infinity : Date.now() + ttlSeconds * 1000 });
    },
    async del(key) {
      // Like Redis DEL: whatever the key holds (a value, a bucket, a set of slots, a stream).
      values.delete(key);
      buckets.delete(key);
      slots.delete(key);
      streams.delete(key);
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
    async takeTokens(key, cost, policy, month) {
      return bucket(key, policy, cost, 0, month);
    },
    async refundTokens(key, amount, policy, month) {
      return bucket(key, policy, 0, Math.max(0, amount), month);
    },
    async peekTokens(key, policy) {
      return bucket(key, policy, 0, 0);
    },
    async seedCounter(key, value, ttlSeconds) {
      if (!live(key)) values.set(key, { value: String(value), expiresAt: Date.now() + ttlSeconds * 1000 });
    },
    async addToCounter(key, delta) {
      const counter = live(key);
      if (counter) counter.value = String(Number(counter.value) + delta);
    },
    async setIfAbsent(key, value, ttlSeconds) {
      if (live(key)) return false;
      values.set(key, { value, expiresAt: Date.now() + ttlSeconds * 1000 });
      return true;
    },
    async acquireSlot(key, id, limit, leaseMs) {
      const now = Date.now();
      const held = liveSlots(key, now);
      if (held.size >= limit && !held.has(id)) return false;
      held.set(id, now + leaseMs);
      return true;
    },
    async releaseSlot(key, id) {
      slots.get(key)?.delete(id);
    },
    // The Redis adapter's ADMIT_SCRIPT, step for step: slots first, then month and bucket.
    async admit(key, cost, policy, slot, month, lease) {
      const now = Date.now();
      const held = liveSlots(slot.key, now);
      if (held.size >= slot.limit && !held.has(slot.id)) {
        return { allowed: false, refusal: 'concurrency', available: read(key, policy, now).tokens, retryAfterMs: 0 };
      }
      const state: AdmissionState = bucket(key, policy, cost, 0, month);
      if (!state.allowed) return state;
      held.set(slot.id, now + slot.leaseMs);
      // The lease, on the same conditions as the Redis script: far from the bucket's, the month's and the slots' limits.
      if (
        lease &&
        lease.units > 0 &&
        state.available - lease.units >= lease.keepTokens &&
        (state.monthUsed === undefined || state.monthUsed + lease.units <= lease.monthCeiling) &&
        held.size + lease.slotIds.length <= lease.maxHeld
      ) {
        const written = buckets.get(key)!;
        buckets.set(key, { tokens: state.available - lease.units, at: now, reserved: written.reserved + lease.units, until: Math.max(written.until, now + lease.holdMs) });
        state.available -= lease.units;
        if (state.monthUsed !== undefined) {
          state.monthUsed += lease.units;
          values.set(month!.key, { value: String(state.monthUsed), expiresAt: live(month!.key)!.expiresAt });
        }
        for (const id of lease.slotIds) held.set(id, now + slot.leaseMs);
        state.leased = true;
      }
      return state;
    },
    async settle(key, amount, policy, slot, month) {
      slots.get(slot.key)?.delete(slot.id);
      for (const id of slot.more ?? []) slots.get(slot.key)?.delete(id);
      // A counter that expired meanwhile stays absent: the bucket alone gets the refund.
      return bucket(key, policy, 0, Math.max(0, amount), month && live(month.key) ? month : undefined, slot.lease ?? 0);
    },
    async appendToStream(name, fields) {
      return append(name, fields);
    },
    async readStream(name, groupName, consumer, { count, blockMs }) {
      const s = stream(name);
      const g = group(name, groupName);
      const mine = s.entries.filter((e) => g.pending.get(e.id) === consumer).slice(0, count);
      if (mine.length) return mine;
      if (g.next >= s.entries.length && blockMs > 0 && !closed) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, blockMs);
          function done() {
            clearTimeout(timer);
            bus.off(`stream:${name}`, done);
            resolve();
          }
          bus.on(`stream:${name}`, done);
        });
      }
      const fresh = s.entries.slice(g.next, g.next + count);
      g.next += fresh.length;
      for (const entry of fresh) g.pending.set(entry.id, consumer);
      return fresh;
    },
    async ackStream(name, groupName, ids) {
      const s = stream(name);
      const g = group(name, groupName);
      for (const id of ids) g.pending.delete(id);
      // Drop what every group has consumed and acknowledged, so a long-running process stays small.
      let keep = Infinity;
      for (const each of s.groups.values()) {
        keep = Math.min(keep, each.next);
        for (const pendingId of each.pending.keys()) keep = Math.min(keep, s.entries.findIndex((e) => e.id === pendingId));
      }
      if (keep > 0 && Number.isFinite(keep)) {
        s.entries.splice(0, keep);
        for (const each of s.groups.values()) each.next -= keep;
      }
    },
    async streamBacklog(name, groupName) {
      const s = stream(name);
      const g = group(name, groupName);
      return s.entries.length - g.next + g.pending.size;
    },
    async close() {
      closed = true;
      bus.emit('close');
      bus.removeAllListeners();
      values.clear();
    },
  };
}
