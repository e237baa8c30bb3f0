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
  takeTokens(key: string, cost: number, policy: BucketPolicy, month?: MonthlyCounter): Promise<BucketState>;
  /** Gives `amount` back (actual cost below the requested cost), never above capacity. */
  refundTokens(key: string, amount: number, policy: BucketPolicy, month?: MonthlyCounter): Promise<BucketState>;
  /** Sets a counter only if it does not exist (a monthly counter seeded from the database). */
  seedCounter(key: string, value: number, ttlSeconds: number): Promise<void>;
  /** Adds to a counter that exists; an absent counter stays absent. */
  addToCounter(key: string, delta: number): Promise<void>;
  /** Sets a flag only if it is not set; true when this call set it (once-per-period events). */
  setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean>;

  /** Appends an entry to a durable stream (a Redis Stream); returns its id. */
  appendToStream(stream: string, fields: Record<string, string>): Promise<string>;
  /**
   * Reads for one consumer of a consumer group (made on first use, from the stream's start): first
   * the entries delivered to it but never acknowledged (a restarted consumer finishes its work), then
   * entries idle in dead consumers' hands, then new ones, waiting up to `blockMs` for some.
   */
  readStream(stream: string, group: string, consumer: string, options: { count: number; blockMs: number }): Promise<StreamEntry[]>;
  ackStream(stream: string, group: string, ids: string[]): Promise<void>;
  /** Entries of the stream the group has not acknowledged (delivered or not). */
  streamBacklog(stream: string, group: string): Promise<number>;
  /** The bucket as it stands now, refilled, without taking anything. */
  peekTokens(key: string, policy: BucketPolicy): Promise<BucketState>;
  /**
   * Holds one of `limit` concurrency slots for `id` until released or `leaseMs` passes (a crashed
   * gateway's slots free themselves). False when all slots are held.
   */
  acquireSlot(key: string, id: string, limit: number, leaseMs: number): Promise<boolean>;
  releaseSlot(key: string, id: string): Promise<void>;

  /**
   * One admission in one atomic step (one Lua script in Redis, so one round trip): a concurrency slot
   * for `slot.id` if one is free (else `concurrency`, nothing taken), then the month and the bucket
   * exactly as takeTokens; the slot is held only when the cost was taken. A refusal holds nothing.
   * An unknown month counter (monthUnknown) changes nothing, slot included: seed it and retry.
   * With `lease`, an admitted operation may also take a lease for the caller in the same step (see
   * LeaseClaim): granted only while the tenant is far from every limit; `leased` says whether it was.
   */
  admit(key: string, cost: number, policy: BucketPolicy, slot: SlotClaim, month?: MonthlyCounter, lease?: LeaseClaim): Promise<AdmissionState>;
  /**
   * Ends an admitted operation in one atomic step: frees its slot and gives `amount` back to the
   * bucket, and to the month's counter when it still exists (else the bucket alone is refunded and
   * monthUsed is absent). `slot.more` are further slots freed with it (what a lease held unused).
   */
  settle(key: string, amount: number, policy: BucketPolicy, slot: SlotRelease, month?: MonthlyCounter): Promise<BucketState>;
}

/** The slots an ended operation (or lease) frees. */
export interface SlotRelease {
  key: string;
  id: string;
  more?: readonly string[];
  /** The units a lease was granted, when this ends it: its reservation of the capacity ends too. */
  lease?: number;
}

/**
 * A lease asked for with an admission: besides the operation's cost and slot, `units` more from the
 * bucket (and the month) and the slots `slotIds`, held by one gateway so that it can admit the tenant's
 * next operations itself until it gives back what it did not use (settle). Every unit it admits was
 * taken from the shared bucket first, so gateways together still admit no more than the bucket holds.
 * Granted only when, after the operation and the lease, the bucket still holds `keepTokens`, the month
 * is at most `monthCeiling` and at most `maxHeld` slots are held: near a limit, operations are admitted
 * one by one, exactly as without leases.
 */
export interface LeaseClaim {
  units: number;
  slotIds: readonly string[];
  keepTokens: number;
  monthCeiling: number;
  maxHeld: number;
  /**
   * How long the lease's units are reserved at most (ms). Until it ends (settle with `lease`) or this
   * passes, they count against the bucket's capacity: the bucket refills to `capacity - reserved`, so
   * a lease never lets a tenant hold more than its capacity. A crashed gateway's reservation lapses.
   */
  holdMs: number;
}

/** A concurrency slot asked for with an admission (see acquireSlot). */
export interface SlotClaim {
  key: string;
  id: string;
  limit: number;
  leaseMs: number;
}

/** What admit decided: a bucket state whose refusal may also be `concurrency` (every slot held). */
export interface AdmissionState extends Omit<BucketState, 'refusal'> {
  refusal?: BucketState['refusal'] | 'concurrency';
  /** The lease asked for was granted (its units are no longer in `available`, and are in `monthUsed`). */
  leased?: boolean;
}

export interface StreamEntry {
  id: string;
  fields: Record<string, string>;
}

/** A tenant's spend this month, kept beside its bucket and changed by the same atomic step. */
export interface MonthlyCounter {
  key: string;
  /** Most cost admitted this month (budget plus grace); beyond it takeTokens answers `quota`. */
  hardLimit: number;
  /** Lifetime of the counter: past the month's end. */
  ttlSeconds: number;
}

export interface BucketPolicy {
  capacity: number;
  /** Units restored per second. */
  restoreRate: number;
}

export interface BucketState {
  allowed: boolean;
  /** Why not allowed: the bucket is short, or the month's hard limit would be passed. */
  refusal?: 'bucket' | 'quota';
  /** The month's spend after this call, when a counter was given and exists. */
  monthUsed?: number;
  /** A counter was given but does not exist (expired, or Redis lost it): nothing was changed; seed it and retry. */
  monthUnknown?: boolean;
  /** Units in the bucket after this call. */
  available: number;
  /** When not allowed: milliseconds until enough units will have been restored. */
  retryAfterMs: number;
  /** The policy actually applied, when it differs from the one asked for (a gateway admitting alone). */
  applied?: BucketPolicy;
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
