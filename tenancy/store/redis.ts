import { Redis } from 'ioredis';
import type { AdmissionState, BucketPolicy, BucketState, KeyValueStore, MonthlyCounter, StreamEntry } from './types';

/**
 * Lua shared by the bucket scripts. READ_BUCKET expects `capacity` and `rate` and defines `now` (Redis's
 * own TIME: gateways' clocks may disagree), `reserved` (units that gateways hold in leases, until
 * `reservedUntil`: a crashed gateway's reservation lapses then) and `tokens`, the bucket in KEYS[1]
 * refilled up to now, but never past `capacity - reserved`: what a lease holds counts against the
 * capacity, so leases cannot let a bucket hold more than it would without them. GIVE_BACK adds `back`
 * under the same ceiling (never taking anything away). WRITE_BUCKET stores it back.
 */
const READ_BUCKET = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at', 'reserved', 'until')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
local reserved = tonumber(state[3]) or 0
local reservedUntil = tonumber(state[4]) or 0
if now >= reservedUntil then reserved = 0 end
if tokens == nil or at == nil then tokens = capacity - reserved; at = now end
if tokens < capacity - reserved then tokens = math.min(capacity - reserved, tokens + math.max(0, now - at) / 1000 * rate) end
`;
const GIVE_BACK = `
if back > 0 then tokens = math.max(tokens, math.min(capacity - reserved, tokens + back)) end
`;
/** The month's spend in KEYS[2] as `used` when `hard` >= 0 (nil without a counter); an unknown counter answers 4 and changes nothing. */
const READ_MONTH = `
local used = nil
if hard >= 0 then
  used = tonumber(redis.call('GET', KEYS[2]))
  if used == nil then return { 4, tostring(tokens), 0, '-1' } end
end
`;
const WRITE_BUCKET = `
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now), 'reserved', tostring(reserved), 'until', tostring(reservedUntil))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 60000)
`;
/**
 * The month's hard limit, then the bucket: takes `cost` from both, or refuses (`allowed` 3: the month
 * would pass `hard`; 0: the bucket is short, `retry` ms until it holds the cost). Expects `used`
 * (nil without a counter), `cost`, `hard`, `tokens`, `capacity`, `rate`.
 */
const TAKE = `
if cost > 0 then
  if used ~= nil and used + cost > hard then
    allowed = 3
  elseif cost <= tokens then
    tokens = tokens - cost
    if used ~= nil then used = used + cost end
  else
    allowed = 0
    if cost > capacity then retry = math.ceil(capacity / rate * 1000) else retry = math.ceil((cost - tokens) / rate * 1000) end
  end
end
`;

/**
 * The token bucket as one script, so that any number of gateways sharing Redis change a bucket only
 * atomically (DESIGN.md invariant 6).
 * KEYS[1] bucket hash, KEYS[2] month counter; ARGV capacity, restoreRate (per s), cost (take), refund
 * (give back), hard limit of the month (-1: no counter).
 * Returns { allowed (1; 0 bucket short; 3 month's hard limit; 4 counter unknown), available (string),
 * retryAfterMs, monthUsed (string, -1 without a counter) }.
 */
const BUCKET_SCRIPT = `
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local refund = tonumber(ARGV[4])
local hard = tonumber(ARGV[5])
${READ_BUCKET}
${READ_MONTH}
local allowed = 1
local retry = 0
if refund > 0 then
  local back = refund
  ${GIVE_BACK}
  if used ~= nil then used = math.max(0, used - refund) end
end
${TAKE}
${WRITE_BUCKET}
if used ~= nil then redis.call('SET', KEYS[2], tostring(used), 'KEEPTTL') end
return { allowed, tostring(tokens), retry, tostring(used or -1) }
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

/**
 * One admission, one round trip (SLOT_SCRIPT then BUCKET_SCRIPT's take, as one atomic step): a slot
 * if one is free, else `allowed` 2 (concurrency) and nothing changes; then month and bucket; the slot
 * is held only when the cost was taken. Then, for an admitted operation, the lease if one is asked
 * for and the tenant is far from every limit (LeaseClaim in types.ts): its units leave the bucket and
 * join the month, its slots are held like the operation's.
 * KEYS[1] bucket, KEYS[2] month counter, KEYS[3] slots; ARGV capacity, restoreRate, cost, hard limit
 * (-1: no counter), slot id, slot limit, lease ms, then lease units (0: none), tokens to keep, month
 * ceiling, most slots held, how long its reservation holds at most (ms), and the lease's slot ids.
 * Returns what BUCKET_SCRIPT returns, and 1 when the lease was granted.
 */
const ADMIT_SCRIPT = `
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local hard = tonumber(ARGV[4])
${READ_BUCKET}
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
if redis.call('ZSCORE', KEYS[3], ARGV[5]) == false and redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[6]) then
  return { 2, tostring(tokens), 0, '-1' }
end
${READ_MONTH}
local allowed = 1
local retry = 0
${TAKE}
${WRITE_BUCKET}
local leased = 0
if allowed == 1 then
  local expires = now + tonumber(ARGV[7])
  redis.call('ZADD', KEYS[3], expires, ARGV[5])
  local units = tonumber(ARGV[8] or '0')
  if units > 0 and tokens - units >= tonumber(ARGV[9]) and (used == nil or used + units <= tonumber(ARGV[10]))
    and redis.call('ZCARD', KEYS[3]) + (#ARGV - 12) <= tonumber(ARGV[11]) then
    tokens = tokens - units
    reserved = reserved + units
    reservedUntil = math.max(reservedUntil, now + tonumber(ARGV[12]))
    if used ~= nil then used = used + units end
    for i = 13, #ARGV do redis.call('ZADD', KEYS[3], expires, ARGV[i]) end
    leased = 1
    redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'reserved', tostring(reserved), 'until', tostring(reservedUntil))
  end
  if used ~= nil then redis.call('SET', KEYS[2], tostring(used), 'KEEPTTL') end
  redis.call('PEXPIRE', KEYS[3], tonumber(ARGV[7]) + 1000)
end
return { allowed, tostring(tokens), retry, tostring(used or -1), leased }
`;

/**
 * The end of an admitted operation, one round trip: frees its slot and refunds the bucket, and the
 * month's counter if it still exists.
 * KEYS[1] bucket, KEYS[2] month counter, KEYS[3] slots; ARGV capacity, restoreRate, refund, 1 when
 * KEYS[2] is a counter, the units of a lease that ends (its reservation), then the slot ids to free. Returns { available (string), monthUsed (string, -1: no counter) }.
 */
const SETTLE_SCRIPT = `
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local refund = tonumber(ARGV[3])
for i = 6, #ARGV do redis.call('ZREM', KEYS[3], ARGV[i]) end
${READ_BUCKET}
reserved = math.max(0, reserved - tonumber(ARGV[5]))
local used = nil
if ARGV[4] == '1' then used = tonumber(redis.call('GET', KEYS[2])) end
if refund > 0 then
  local back = refund
  ${GIVE_BACK}
  if used ~= nil then used = math.max(0, used - refund) end
end
${WRITE_BUCKET}
if used ~= nil then redis.call('SET', KEYS[2], tostring(used), 'KEEPTTL') end
return { tostring(tokens), tostring(used or -1) }
`;

export interface RedisStoreOptions {
  url: string;
  /** Prefix of every key and channel, so several stacks (or test runs) can share one Redis. @default '' */
  prefix?: string;
}

export async function createRedisStore(options: RedisStoreOptions): Promise<KeyValueStore> {
  const { url, prefix = '' } = options;
  const redisOptions = { lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: true };
  // Commands fail after 500 ms instead of queueing while Redis is away, so admission can fall back
  // (gateway/src/resilient-admission.ts) rather than hold requests.
  // A usage batch's XADD is one command on its own: it skips auto-pipelining, whose Pipeline object
  // per flush cost more than the write it saves.
  const client = new Redis(url, { ...redisOptions, commandTimeout: 500, enableAutoPipelining: true, autoPipeliningIgnoredCommands: ['xadd'] });
  // A subscribed connection cannot run other commands: pub/sub gets its own.
  const subscriber = new Redis(url, redisOptions);
  // Errors are surfaced through failed commands and ping(); an 'error' event without a listener would crash.
  client.on('error', () => {});
  subscriber.on('error', () => {});
  await Promise.all([client.connect(), subscriber.connect()]);
  client.defineCommand('tenancyBucket', { numberOfKeys: 2, lua: BUCKET_SCRIPT });
  client.defineCommand('tenancySlot', { numberOfKeys: 1, lua: SLOT_SCRIPT });
  client.defineCommand('tenancyAdmit', { numberOfKeys: 3, lua: ADMIT_SCRIPT });
  client.defineCommand('tenancySettle', { numberOfKeys: 3, lua: SETTLE_SCRIPT });
  client.defineCommand('tenancyAddIfExists', {
    numberOfKeys: 1,
    lua: `if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('INCRBYFLOAT', KEYS[1], ARGV[1]) end return 1`,
  });
  type Scripted = Redis & {
    tenancyBucket(key: string, monthKey: string, ...args: Array<string | number>): Promise<[number, string, number, string]>;
    tenancySlot(key: string, ...args: Array<string | number>): Promise<number>;
    tenancyAdmit(key: string, monthKey: string, slotKey: string, ...args: Array<string | number>): Promise<[number, string, number, string, number]>;
    tenancySettle(key: string, monthKey: string, slotKey: string, ...args: Array<string | number>): Promise<[string, string]>;
    tenancyAddIfExists(key: string, delta: number): Promise<number>;
  };
  const scripted = client as Scripted;
  const stateOf = (code: number, available: string, retryAfterMs: number, used: string, month?: MonthlyCounter): AdmissionState => {
    if (code === 4) return { allowed: false, monthUnknown: true, available: Number(available), retryAfterMs: 0 };
    if (code === 2) return { allowed: false, refusal: 'concurrency', available: Number(available), retryAfterMs: 0 };
    return {
      allowed: code === 1,
      refusal: code === 0 ? 'bucket' : code === 3 ? 'quota' : undefined,
      available: Number(available),
      retryAfterMs,
      ...(month ? { monthUsed: Number(used) } : {}),
    };
  };
  const bucket = async (key: string, policy: BucketPolicy, cost: number, refund: number, month?: MonthlyCounter): Promise<BucketState> => {
    // Both keys carry the tenant's hash tag, so in Redis Cluster the script touches one slot.
    const [code, available, retryAfterMs, used] = await scripted.tenancyBucket(
      prefix + key,
      prefix + (month?.key ?? key),
      policy.capacity,
      policy.restoreRate,
      cost,
      refund,
      month ? month.hardLimit : -1,
    );
    // The bucket script never answers 2 (concurrency): that is the admit script's.
    return stateOf(code, available, retryAfterMs, used, month) as BucketState;
  };
  // Blocking stream reads hold their connection: they get one of their own, made on first use.
  let reader: Redis | undefined;
  const streamReader = async () => {
    if (!reader) {
      reader = new Redis(url, redisOptions);
      reader.on('error', () => {});
      await reader.connect();
    }
    return reader;
  };
  const groups = new Set<string>();
  async function ensureGroup(stream: string, group: string) {
    const id = `${stream}\u0000${group}`;
    if (groups.has(id)) return;
    try {
      // From the stream's start: entries appended before the first consumer came are not lost.
      await client.xgroup('CREATE', prefix + stream, group, '0', 'MKSTREAM');
    } catch (error) {
      if (!String(error).includes('BUSYGROUP')) throw error;
    }
    groups.add(id);
  }
  const entriesOf = (reply: unknown): StreamEntry[] => {
    const streams = (reply ?? []) as Array<[string, Array<[string, string[] | null]>]>;
    const entries: StreamEntry[] = [];
    for (const [, items] of streams) {
      for (const [id, flat] of items) {
        if (!flat) continue; // trimmed while pending
        const fields: Record<string, string> = {};
        for (let i = 0; i < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
        entries.push({ id, fields });
      }
    }
    return entries;
  };
  /** Entries pending this long in another consumer's hands are taken over (that consumer died). */
  const CLAIM_IDLE_MS = 30_000;
  async function readGroup(stream: string, group: string, consumer: string, count: number, blockMs: number): Promise<StreamEntry[]> {
    const key = prefix + stream;
    const own = entriesOf(await client.xreadgroup('GROUP', group, consumer, 'COUNT', count, 'STREAMS', key, '0'));
    if (own.length) return own;
    const claimed = (await client.xautoclaim(key, group, consumer, CLAIM_IDLE_MS, '0-0', 'COUNT', count)) as [string, Array<[string, string[] | null]>];
    const taken = entriesOf([[key, claimed[1]]]);
    if (taken.length) return taken;
    const connection = await streamReader();
    return entriesOf(await connection.xreadgroup('GROUP', group, consumer, 'COUNT', count, 'BLOCK', blockMs, 'STREAMS', key, '>'));
  }
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
    takeTokens: (key, cost, policy, month) => bucket(key, policy, cost, 0, month),
    refundTokens: (key, amount, policy, month) => bucket(key, policy, 0, Math.max(0, amount), month),
    peekTokens: (key, policy) => bucket(key, policy, 0, 0),
    async seedCounter(key, value, ttlSeconds) {
      await client.set(prefix + key, String(value), 'EX', Math.max(1, Math.ceil(ttlSeconds)), 'NX');
    },
    async addToCounter(key, delta) {
      await scripted.tenancyAddIfExists(prefix + key, delta);
    },
    async setIfAbsent(key, value, ttlSeconds) {
      return (await client.set(prefix + key, value, 'EX', Math.max(1, Math.ceil(ttlSeconds)), 'NX')) === 'OK';
    },
    async appendToStream(stream, fields) {
      // Approximate trimming keeps the stream bounded; a million entries is hours of backlog.
      return (await client.xadd(prefix + stream, 'MAXLEN', '~', '1000000', '*', ...Object.entries(fields).flat()))!;
    },
    async readStream(stream, group, consumer, { count, blockMs }) {
      await ensureGroup(stream, group);
      try {
        return await readGroup(stream, group, consumer, count, blockMs);
      } catch (error) {
        // Redis restarted without its data: the group is gone and is made again on the next read.
        if (String(error).includes('NOGROUP')) groups.delete(`${stream}\u0000${group}`);
        throw error;
      }
    },
    async ackStream(stream, group, ids) {
      if (ids.length) await client.xack(prefix + stream, group, ...ids);
    },
    async streamBacklog(stream, group) {
      await ensureGroup(stream, group);
      const info = (await client.xinfo('GROUPS', prefix + stream)) as Array<Array<string | number | null>>;
      for (const row of info) {
        const fields = new Map<string, string | number | null>();
        for (let i = 0; i < row.length; i += 2) fields.set(String(row[i]), row[i + 1] ?? null);
        if (fields.get('name') !== group) continue;
        const pending = Number(fields.get('pending') ?? 0);
        const lag = fields.get('lag');
        if (lag !== null && lag !== undefined) return pending + Number(lag);
        // Redis cannot always tell the lag (after a restart from the AOF, or deletions): count it.
        const unread = await client.xrange(prefix + stream, `(${String(fields.get('last-delivered-id') ?? '0-0')}`, '+', 'COUNT', 100_000);
        return pending + unread.length;
      }
      // The group is gone (Redis lost it): made again from the stream's start, everything is backlog.
      groups.delete(`${stream}\u0000${group}`);
      await ensureGroup(stream, group);
      return client.xlen(prefix + stream);
    },
    async acquireSlot(key, id, limit, leaseMs) {
      return (await scripted.tenancySlot(prefix + key, id, limit, leaseMs)) === 1;
    },
    async releaseSlot(key, id) {
      await client.zrem(prefix + key, id);
    },
    async admit(key, cost, policy, slot, month, lease) {
      // The three keys carry the tenant's hash tag: in Redis Cluster the script touches one slot.
      const [code, available, retryAfterMs, used, leased] = await scripted.tenancyAdmit(
        prefix + key,
        prefix + (month?.key ?? key),
        prefix + slot.key,
        policy.capacity,
        policy.restoreRate,
        cost,
        month ? month.hardLimit : -1,
        slot.id,
        slot.limit,
        slot.leaseMs,
        ...(lease ? [lease.units, lease.keepTokens, lease.monthCeiling, lease.maxHeld, lease.holdMs, ...lease.slotIds] : []),
      );
      const state = stateOf(code, available, retryAfterMs, used, month);
      if (leased === 1) state.leased = true;
      return state;
    },
    async settle(key, amount, policy, slot, month) {
      const [available, used] = await scripted.tenancySettle(
        prefix + key,
        prefix + (month?.key ?? key),
        prefix + slot.key,
        policy.capacity,
        policy.restoreRate,
        Math.max(0, amount),
        month ? 1 : 0,
        slot.lease ?? 0,
        slot.id,
        ...(slot.more ?? []),
      );
      return { allowed: true, available: Number(available), retryAfterMs: 0, ...(used !== '-1' ? { monthUsed: Number(used) } : {}) };
    },
    async close() {
      reader?.disconnect();
      client.disconnect();
      subscriber.disconnect();
    },
  };
}
