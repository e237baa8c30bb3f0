import { randomUUID } from 'node:crypto';
import type { GraphQLRequestContextDidResolveOperation, GraphQLRequestContextWillSendResponse } from '@apollo/server';
import { ErrorCode, httpStatusOf, requestError } from '../../tenancy/errors';
import type { Logger } from '../../tenancy/logger';
import { outsideRequestScope, type PlanLimits, type TenantContext } from '../../tenancy/context';
import { tenantKey, type AdmissionState, type BucketPolicy, type BucketState, type LeaseClaim, type MonthlyCounter, type SlotClaim } from '../../tenancy/store';
import { AdmissionUnavailableError, type AdmissionStore } from './resilient-admission';
import { getOperationAST, Kind, type DocumentNode, type GraphQLError, type GraphQLFormattedError } from 'graphql';
import { LRUCache } from 'lru-cache';
import { MUTATION_BASE_COST, type CostModel } from './cost';
import { createLocalRefusals, type LocalRefusals } from './local-refusals';
import { DONE, type SharedListener } from './request-listeners';
import type { GatewayContext } from './subgraph-fetch';

/**
 * Admission (DESIGN.md request flow, step 3): after parse and validation, before any subgraph is
 * called, the operation is priced and admitted against the tenant's plan: the per-operation maximum,
 * a concurrency limit, then the token bucket (atomic in the store, so N gateways never admit more than
 * the capacity plus one request). After execution the actual cost is computed from the data and the
 * difference refunded, as Shopify does; every response carries extensions.cost.
 */
export interface AdmissionOptions {
  /** The shared store, usually through createResilientAdmission (local fallback while Redis is away). */
  store: AdmissionStore;
  costModel: CostModel;
  logger: Logger;
  /** A crashed gateway's concurrency slots free themselves after this. @default 60_000 ms */
  slotLeaseMs?: number;
  /** Called once per finished operation with what it cost (usage metering, metrics). */
  onFinished?: (context: Pick<GatewayContext, 'tenant'>, outcome: Outcome) => void;
  /**
   * The tenant's spend this month as PostgreSQL has it, to seed the store's counter when it has none
   * (new month, or Redis lost it). Without it the counter starts at zero.
   */
  monthToDate?: (tenantId: string) => Promise<number>;
  /** Share one admitter (and what it knows of buckets) with the subscription engine. @default a fresh one */
  admitter?: Admitter;
  /** Room for documents remembered for early refusals, in characters of their text. @default 1 MiB */
  knownDocumentChars?: number;
}

/** A quota event, published on QUOTA_EVENTS_CHANNEL (JSON) for dashboards and alerting. */
export interface QuotaEvent {
  type: 'soft_limit_reached' | 'hard_limit_reached';
  tenantId: string;
  tenantSlug: string;
  used: number;
  limit: number;
  month: string;
  at: string;
}
export const QUOTA_EVENTS_CHANNEL = 'quota-events';

/** The last month computed: every request asks, and the answer changes twelve times a year (toISOString costs µs). */
let lastMonth: { id: string; startsAt: number; endsAt: Date } | undefined;

/** The calendar month (UTC) as YYYY-MM, and when it ends. */
export function monthOf(now = new Date()): { id: string; endsAt: Date } {
  const time = now.getTime();
  if (lastMonth && time >= lastMonth.startsAt && time < lastMonth.endsAt.getTime()) return lastMonth;
  const id = now.toISOString().slice(0, 7);
  const month = { id, startsAt: Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1), endsAt: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)) };
  lastMonth = month;
  return month;
}

/** Most a tenant may spend in a month: its budget plus the plan's grace margin. */
const hardLimitOf = (limits: PlanLimits): number => Math.floor(limits.monthlyBudget * (1 + limits.gracePercent / 100));

/** The month's counter for a tenant: hard limit is the budget plus the plan's grace margin. */
export function monthlyCounter(tenant: TenantContext, limits: PlanLimits, now = new Date()): MonthlyCounter & { month: string; endsAt: Date } {
  const { id, endsAt } = monthOf(now);
  return {
    key: tenantKey(tenant.tenantSlug, `month:${id}`),
    hardLimit: hardLimitOf(limits),
    // Kept a few days past the month's end: late refunds of the month's last operations still land.
    ttlSeconds: Math.ceil((endsAt.getTime() - now.getTime()) / 1000) + 3 * 86_400,
    month: id,
    endsAt,
  };
}

export interface Outcome {
  operationName: string | null;
  requestedCost: number;
  actualCost: number;
  /** "ok" or the first error code. */
  status: string;
  latencyMs: number;
}

/** The cost extension of CONTRACT.md. */
export interface CostExtension {
  requestedQueryCost: number;
  actualQueryCost: number;
  throttleStatus: { maximumAvailable: number; currentlyAvailable: number; restoreRate: number };
}

export const bucketKey = (slug: string) => tenantKey(slug, 'bucket');
export const concurrencyKey = (slug: string) => tenantKey(slug, 'concurrency');

/**
 * IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers): the policy is the bucket
 * (quota = capacity, window = seconds to refill from empty); the state is what remains and the
 * seconds until the bucket is full again.
 */
export function rateLimitHeaders(policy: BucketPolicy, available: number): Record<string, string> {
  const window = Math.ceil(policy.capacity / policy.restoreRate);
  const remaining = Math.max(0, Math.floor(available));
  const reset = Math.ceil(Math.max(0, policy.capacity - available) / policy.restoreRate);
  return {
    'ratelimit-policy': `"bucket";q=${policy.capacity};w=${window}`,
    ratelimit: `"bucket";r=${remaining};t=${reset}`,
  };
}

/** The bucket as a refusal left it, so the refused response still reports it without asking the store again. */
const refusedBuckets = new WeakMap<GraphQLError, BucketState>();
const refusal = (error: GraphQLError, bucket: BucketState): GraphQLError => (refusedBuckets.set(error, bucket), error);

/** What a bucket refusal says: message and extensions (code and HTTP status added by requestError). */
function bucketRefusalOf(requested: number, bucket: BucketState) {
  return {
    message: `Rate limited: this operation costs ${requested}, ${Math.floor(bucket.available)} available`,
    extensions: { retryAfter: Math.max(1, Math.ceil(bucket.retryAfterMs / 1000)), reason: 'BUCKET' },
  };
}

function bucketRefusal(requested: number, bucket: BucketState): GraphQLError {
  const { message, extensions } = bucketRefusalOf(requested, bucket);
  return refusal(requestError(ErrorCode.RATE_LIMITED, message, extensions), bucket);
}

/** What admission decided for one operation that it let through. */
export interface Admitted {
  bucket: BucketState;
  monthUsed?: number;
  /** The concurrency slot the operation holds: the one asked for, or one of a lease's. */
  slotId: string;
}

/**
 * Leases (gateway-side admission while a tenant is far from its limits): with Redis, admitting an
 * operation costs a round trip and a script run per operation, which for a light query is most of what
 * our layer adds (docs/BENCHMARKS.md). So an admission may also take, in the same atomic step, a lease:
 * a share of the tenant's bucket (and month) and a few concurrency slots, from which this gateway then
 * admits the tenant's next operations itself, giving back what it did not use when the lease ends
 * (`windowMs`) in one store call. Every unit admitted was taken from the shared bucket first, so the
 * gateways together never admit more than the bucket holds (DESIGN.md invariant 6).
 *
 * The store grants a lease only while the tenant is far from every limit: the bucket keeps at least
 * half its capacity after it, the month stays under the soft limit, and at most half the plan's
 * concurrency is held; plans whose concurrency is too small to lend slots from (under 16) never
 * lease, nor does an operation that the lease's share could serve fewer than ten times. A lease stops
 * admitting as soon as a store answer shows the bucket under half. So near a limit every operation is
 * admitted one by one, exactly as without leases. What a lease changes: another gateway can find up
 * to `maxSlots` (at most an eighth of the plan's concurrency) of the tenant's slots held idle here and
 * up to `share` of its bucket away, for at most `windowMs` plus the time its operations still in
 * flight take (at most LEASE_DRAIN_MS): a lease that admits no more goes back when they are done, with
 * their slots and refunds, in its one store call.
 */
export interface LeaseOptions {
  /** How long a lease admits before what it did not use goes back. @default 500 ms */
  windowMs?: number;
  /** The share of the bucket's capacity a lease takes. @default 0.05 */
  share?: number;
  /** Most concurrency slots one lease holds (never more than an eighth of the plan's). @default 16 */
  maxSlots?: number;
}

export type AdmitterOptions = Pick<AdmissionOptions, 'store' | 'logger' | 'monthToDate' | 'slotLeaseMs'> & {
  /** What this gateway knows of tenants' buckets, to refuse locally while one is short (local-refusals.ts). @default a fresh one */
  localRefusals?: LocalRefusals;
  /** Admit from leases while tenants are far from their limits (the gateway leases with either store). @default false: every operation asks the store */
  lease?: LeaseOptions | false;
};

/** A lease this gateway holds on one tenant's bucket and slots (LeaseOptions). */
interface Lease {
  key: string;
  slotKey: string;
  limits: PlanLimits;
  policy: BucketPolicy;
  month: ReturnType<typeof monthlyCounter>;
  /** Units taken from the shared bucket and not spent yet. */
  tokens: number;
  /** Units it was granted: reserved against the bucket's capacity until it is returned. */
  granted: number;
  /** The lease's slots no operation holds now. */
  free: string[];
  /** How many slots it was granted. */
  slots: number;
  /** The store's answer that granted it (bucket and month after the lease), at `at` (performance.now). */
  shared: { available: number; monthUsed?: number; at: number; applied?: BucketPolicy };
  expiresAt: number;
  /** From then on, an operation it admits also asks the store for its successor (renewAhead). */
  renewAt: number;
  renewing: boolean;
  /** It admits no more; it goes back once its operations in flight are done (retireLease). */
  retiring: boolean;
  closed: boolean;
  /** Its window's end, then (retiring) the longest wait for its operations in flight. */
  timer: NodeJS.Timeout;
}

const sameLimits = (a: PlanLimits, b: PlanLimits): boolean =>
  a === b ||
  (a.bucketCapacity === b.bucketCapacity &&
    a.restoreRate === b.restoreRate &&
    a.maxConcurrency === b.maxConcurrency &&
    a.maxOperationCost === b.maxOperationCost &&
    a.monthlyBudget === b.monthlyBudget &&
    a.softLimitPercent === b.softLimitPercent &&
    a.gracePercent === b.gracePercent);

/** Plans with less concurrency than this lend no slots: an idle leased slot would be too large a share. */
const MIN_LEASE_CONCURRENCY = 16;
/** How long past its window a lease's reservation of the capacity holds, waiting for the return. */
const LEASE_RETURN_GRACE_MS = 5_000;
/**
 * Longest a lease that admits no more waits for its operations in flight before it goes back (well
 * inside the grace above); the slots of those still running then go back one by one as they finish.
 */
const LEASE_DRAIN_MS = 1_000;
/**
 * Share of a lease's window after which the operations it admits also ask for its successor in the
 * background, so that under steady load no operation waits for a store round trip at a window's end
 * (with Redis that wait put about one operation in a hundred a round trip behind: the p99).
 */
const LEASE_RENEW_AT = 0.9;
/** A lease is asked for only when its share of the bucket covers at least this many operations like the one asking. */
const MIN_LEASED_OPERATIONS = 10;

/**
 * The admission steps shared by HTTP operations (the request listener below) and subscriptions
 * (subscriptions.ts): per-operation maximum, then one atomic step of the store for a concurrency slot,
 * the month's counter and the bucket (one round trip to Redis, admitted or refused). A refusal is
 * thrown as the GraphQL error the client sees; its extensions.retryAfter is what the Retry-After
 * header says. While a tenant's bucket is known to be short of an operation's cost, the refusal is
 * given without asking the store (local-refusals.ts: it only ever refuses, so N gateways still admit
 * no more than the shared bucket allows).
 */
export function createAdmitter(options: AdmitterOptions) {
  const { store, logger, monthToDate, slotLeaseMs = 60_000, localRefusals = createLocalRefusals() } = options;
  const leasing = options.lease ? { windowMs: 500, share: 0.05, maxSlots: 16, ...options.lease } : undefined;
  /** The lease held on each tenant's bucket, by bucket key. */
  const leases = new Map<string, Lease>();
  /** The lease each leased slot belongs to, while that lease is open or an operation holds the slot. */
  const leaseOfSlot = new Map<string, Lease>();
  /** Leases that admit no more and wait for their operations in flight (retireLease). */
  const retiring = new Set<Lease>();
  /**
   * Buckets with a lease asked for and not answered yet (one request at a time per tenant), and that
   * answer: the tenant's other operations meanwhile wait for it rather than each asking the store.
   */
  const asking = new Map<string, Promise<unknown>>();

  function announce(event: QuotaEvent) {
    logger.warn({ audit: event.type, used: event.used, limit: event.limit, month: event.month }, 'tenant quota event');
    store.publish(QUOTA_EVENTS_CHANNEL, JSON.stringify(event)).catch(() => {});
  }

  const policyOf = (limits: PlanLimits): BucketPolicy => ({ capacity: limits.bucketCapacity, restoreRate: limits.restoreRate });
  const slotOf = (tenant: TenantContext, limits: PlanLimits, slotId: string): SlotClaim => ({
    key: concurrencyKey(tenant.tenantSlug),
    id: slotId,
    limit: limits.maxConcurrency,
    leaseMs: slotLeaseMs,
  });

  /**
   * The bucket as the store would refuse it now, when this gateway already knows it is short of
   * `requested` (no store call); undefined when only the store can tell.
   */
  function shortage(tenant: TenantContext, limits: PlanLimits, requested: number): BucketState | undefined {
    const known = localRefusals.check(bucketKey(tenant.tenantSlug), policyOf(limits), requested, hardLimitOf(limits));
    if (!known) return undefined;
    const { available, retryAfterMs, monthUsed } = known;
    return { allowed: false, refusal: 'bucket', available, retryAfterMs, ...(monthUsed !== undefined ? { monthUsed } : {}) };
  }

  /** The bucket as a lease sees it: the store's answer refilled since, plus what the lease holds unspent. */
  function leasedBucket(lease: Lease): BucketState {
    const { shared } = lease;
    const applied = shared.applied ?? lease.policy;
    const refilled = ((performance.now() - shared.at) / 1000) * applied.restoreRate;
    // The store refills no higher than its capacity less what leases hold (this one's grant at least).
    const inStore = Math.max(shared.available, Math.min(applied.capacity - lease.granted, shared.available + Math.max(0, refilled)));
    return {
      allowed: true,
      available: Math.min(applied.capacity, inStore + lease.tokens),
      retryAfterMs: 0,
      ...(shared.monthUsed !== undefined ? { monthUsed: shared.monthUsed - lease.tokens } : {}),
      ...(shared.applied ? { applied: shared.applied } : {}),
    };
  }

  /**
   * Stops a lease admitting. It goes back once the operations it admitted and that are still in flight
   * are done (at most LEASE_DRAIN_MS from now), so that their slots and refunds go back with it in its
   * one store call rather than one call each: under load a lease's window always ends with some in flight.
   */
  function retireLease(lease: Lease): void {
    if (lease.closed || lease.retiring) return;
    lease.retiring = true;
    clearTimeout(lease.timer);
    if (leases.get(lease.key) === lease) leases.delete(lease.key);
    if (lease.free.length >= lease.slots) {
      void closeLease(lease);
      return;
    }
    retiring.add(lease);
    lease.timer = outsideRequestScope(() => setTimeout(() => void closeLease(lease), LEASE_DRAIN_MS).unref());
  }

  /** Ends a lease: what it did not spend and its idle slots go back in one store call (not awaited by callers). */
  function closeLease(lease: Lease): Promise<void> | undefined {
    if (lease.closed) return undefined;
    lease.closed = true;
    clearTimeout(lease.timer);
    retiring.delete(lease);
    if (leases.get(lease.key) === lease) leases.delete(lease.key);
    const [first, ...more] = lease.free;
    lease.free = [];
    for (const id of [first, ...more]) if (id !== undefined) leaseOfSlot.delete(id);
    const { key, policy, month, tokens } = lease;
    // One call: the unspent units, the idle slots and the end of the reservation (a slot id that is
    // not held, when every slot is in use, frees nothing).
    const returned = store.settle(key, tokens, policy, { key: lease.slotKey, id: first ?? `${lease.slotKey}:none`, more, lease: lease.granted }, month);
    return returned.then(
      (state) => localRefusals.observe(key, policy, state),
      (error: unknown) => logger.warn({ err: error, bucket: key }, 'could not return a lease'),
    );
  }

  /** An operation admitted from this gateway's lease, without the store; undefined when the lease cannot. */
  function admitFromLease(key: string, limits: PlanLimits, requested: number, month: string): Admitted | undefined {
    const lease = leases.get(key);
    if (!lease) return undefined;
    const now = performance.now();
    if (now >= lease.expiresAt || lease.month.month !== month || !sameLimits(lease.limits, limits)) {
      retireLease(lease);
      return undefined;
    }
    if (lease.tokens < requested || lease.free.length === 0) return undefined;
    lease.tokens -= requested;
    const slotId = lease.free.pop()!;
    const bucket = leasedBucket(lease);
    if (!lease.renewing && now >= lease.renewAt) {
      lease.renewing = true;
      outsideRequestScope(() => renewAhead(lease, requested));
    }
    return { bucket, monthUsed: bucket.monthUsed, slotId };
  }

  /**
   * Asks the store for a lease's successor while the lease still admits (not awaited): an admission of
   * nothing (cost 0) whose slot is the new lease's first, with the lease claim. Granted, the successor
   * takes over and this lease retires; refused (the tenant came near a limit), the slot goes back and
   * this lease runs out its window, after which operations are admitted as usual.
   */
  function renewAhead(lease: Lease, requested: number): void {
    const { key, limits, policy, month, slotKey } = lease;
    const claim = leaseClaimFor(key, limits, requested);
    if (!claim) return;
    const slot: SlotClaim = { key: slotKey, id: claim.slotIds[0]!, limit: limits.maxConcurrency, leaseMs: slotLeaseMs };
    const answer = store.admit(key, 0, policy, slot, month, claim).then(
      (state) => {
        // An unknown month held nothing: the next admission that asks the store seeds it.
        if (state.monthUnknown) return;
        if (state.leased) {
          openLease(key, slotKey, limits, claim, state, month);
          localRefusals.observe(key, policy, { ...state, available: state.available + claim.units, ...(state.monthUsed !== undefined ? { monthUsed: state.monthUsed - claim.units } : {}) });
          return;
        }
        if (state.allowed) void store.releaseSlot(slotKey, slot.id).catch(() => {});
        localRefusals.observe(key, policy, state);
      },
      (error: unknown) => logger.warn({ err: error, bucket: key }, 'could not renew a lease'),
    );
    asking.set(key, answer);
    void answer.then(() => {
      if (asking.get(key) === answer) asking.delete(key);
    });
  }

  /** The lease to ask for with an admission, when this tenant may have one; its slot ids are new. */
  function leaseClaimFor(key: string, limits: PlanLimits, requested: number): LeaseClaim | undefined {
    if (!leasing || asking.has(key) || limits.maxConcurrency < MIN_LEASE_CONCURRENCY) return undefined;
    const units = Math.floor(limits.bucketCapacity * leasing.share);
    const slots = Math.min(leasing.maxSlots, Math.floor(limits.maxConcurrency / 8));
    // A lease that would cover a few operations like this one saves little and may hold units idle.
    if (units < MIN_LEASED_OPERATIONS * Math.max(1, requested) || slots < 1) return undefined;
    return {
      units,
      slotIds: Array.from({ length: slots }, () => randomUUID()),
      keepTokens: limits.bucketCapacity / 2,
      monthCeiling: Math.floor((limits.monthlyBudget * limits.softLimitPercent) / 100) - 1,
      maxHeld: Math.floor(limits.maxConcurrency / 2),
      // Its reservation outlives its window by enough for the return to arrive; a crashed gateway's lapses.
      holdMs: leasing.windowMs + LEASE_RETURN_GRACE_MS,
    };
  }

  function openLease(key: string, slotKey: string, limits: PlanLimits, claim: LeaseClaim, state: AdmissionState, month: Lease['month']) {
    const previous = leases.get(key);
    if (previous) retireLease(previous);
    const lease: Lease = {
      key,
      slotKey,
      limits,
      policy: policyOf(limits),
      month,
      tokens: claim.units,
      granted: claim.units,
      free: [...claim.slotIds],
      slots: claim.slotIds.length,
      shared: { available: state.available, at: performance.now(), ...(state.monthUsed !== undefined ? { monthUsed: state.monthUsed } : {}), ...(state.applied ? { applied: state.applied } : {}) },
      expiresAt: performance.now() + leasing!.windowMs,
      renewAt: performance.now() + leasing!.windowMs * LEASE_RENEW_AT,
      renewing: false,
      retiring: false,
      closed: false,
      // Started outside the request's scope: the lease belongs to no single request.
      timer: outsideRequestScope(() => setTimeout(() => retireLease(lease), leasing!.windowMs).unref()),
    };
    for (const id of claim.slotIds) leaseOfSlot.set(id, lease);
    leases.set(key, lease);
  }

  function checkMaximum(tenant: TenantContext, limits: PlanLimits, requested: number) {
    if (requested > limits.maxOperationCost) {
      throw requestError(
        ErrorCode.COST_LIMIT_EXCEEDED,
        `This operation costs ${requested}, above the ${tenant.plan} plan's maximum of ${limits.maxOperationCost} per operation`,
        { maximumQueryCost: limits.maxOperationCost },
      );
    }
  }

  /**
   * What `admit` with a lease decides when this gateway can decide alone, without a promise: the
   * per-operation maximum (thrown), then the tenant's open lease; undefined when the store must answer.
   */
  function admitKnown(tenant: TenantContext, limits: PlanLimits, requested: number): Admitted | undefined {
    checkMaximum(tenant, limits, requested);
    return leasing ? admitFromLease(bucketKey(tenant.tenantSlug), limits, requested, monthOf().id) : undefined;
  }

  async function admit(tenant: TenantContext, limits: PlanLimits, requested: number, slotId: string, options: { lease?: boolean } = {}): Promise<Admitted> {
    const policy = policyOf(limits);
    const month = monthlyCounter(tenant, limits);
    checkMaximum(tenant, limits, requested);
    const key = bucketKey(tenant.tenantSlug);
    if (options.lease && leasing) {
      const leased = admitFromLease(key, limits, requested, month.month);
      if (leased) return leased;
      // A lease is on its way (another operation's admission asked for it): it will most likely
      // admit this one too, for one store call less now and one slot release less later.
      const pending = asking.get(key);
      if (pending) {
        await pending;
        const fromNew = admitFromLease(key, limits, requested, month.month);
        if (fromNew) return fromNew;
      }
    }
    const short = shortage(tenant, limits, requested);
    if (short) throw bucketRefusal(requested, short);
    const slot = slotOf(tenant, limits, slotId);
    const claim = options.lease ? leaseClaimFor(key, limits, requested) : undefined;
    let state: AdmissionState;
    // A spent lease admits no more: it goes back once its operations in flight are done.
    const spent = claim && leases.get(key);
    if (spent) retireLease(spent);
    const answer = (async () => {
      let first = await store.admit(key, requested, policy, slot, month, claim);
      if (first.monthUnknown) {
        const used = monthToDate ? await monthToDate(tenant.tenantId) : 0;
        await store.seedCounter(month.key, used, month.ttlSeconds);
        first = await store.admit(key, requested, policy, slot, month, claim);
      }
      return first;
    })();
    if (claim) {
      // Settled once the lease is open (or refused), for the operations waiting on it; never rejects.
      const opened = answer.then(
        () => {},
        () => {},
      );
      asking.set(key, opened);
    }
    try {
      state = await answer;
    } finally {
      if (claim) asking.delete(key);
    }
    const open = leases.get(key);
    if (open && !state.leased) {
      // The store's newer word on the bucket, without what the open lease holds; near the bucket's
      // limit the lease stops admitting and goes back, so that other gateways can admit what it would hold idle.
      if (state.available < open.limits.bucketCapacity / 2) retireLease(open);
      else open.shared = { ...open.shared, available: state.available, at: performance.now(), ...(state.monthUsed !== undefined ? { monthUsed: state.monthUsed } : {}) };
    }
    if (state.leased && claim) {
      openLease(key, concurrencyKey(tenant.tenantSlug), limits, claim, state, month);
      // The tenant's bucket and month as they are for everyone but the lease: what it holds is not spent.
      state = { ...state, available: state.available + claim.units, ...(state.monthUsed !== undefined ? { monthUsed: state.monthUsed - claim.units } : {}) };
      delete state.leased;
    }
    if (!state.monthUnknown) localRefusals.observe(key, policy, state);
    // The response reports the bucket as the refusal saw it (refusedBuckets), with no further store call.
    const bucket: BucketState = { ...state, refusal: state.refusal === 'concurrency' ? undefined : state.refusal };
    if (state.refusal === 'concurrency') {
      // Not the month's use: a refusal before the month's counter was read carries no warning.
      const { monthUsed: _unread, ...unread } = bucket;
      throw refusal(
        requestError(ErrorCode.RATE_LIMITED, `Too many operations in flight (the ${tenant.plan} plan allows ${limits.maxConcurrency})`, {
          retryAfter: 1,
          reason: 'CONCURRENCY',
        }),
        unread,
      );
    }
    if (state.refusal === 'quota') {
      const retryAfter = Math.max(1, Math.ceil((month.endsAt.getTime() - Date.now()) / 1000));
      if (await store.setIfAbsent(tenantKey(tenant.tenantSlug, `hard:${month.month}`), '1', month.ttlSeconds)) {
        announce({ type: 'hard_limit_reached', tenantId: tenant.tenantId, tenantSlug: tenant.tenantSlug, used: state.monthUsed ?? 0, limit: limits.monthlyBudget, month: month.month, at: new Date().toISOString() });
      }
      throw refusal(
        requestError(ErrorCode.QUOTA_EXCEEDED, `The monthly budget of ${limits.monthlyBudget} is spent; it resets at ${month.endsAt.toISOString()}`, {
          retryAfter,
          used: state.monthUsed,
          limit: limits.monthlyBudget,
          resetsAt: month.endsAt.toISOString(),
        }),
        bucket,
      );
    }
    if (!state.allowed) throw bucketRefusal(requested, bucket);
    const softLimit = Math.floor((limits.monthlyBudget * limits.softLimitPercent) / 100);
    const monthUsed = state.monthUsed;
    if (monthUsed !== undefined && monthUsed >= softLimit && monthUsed - requested < softLimit) {
      // Crossed just now; the flag makes it one event per tenant per month across all gateways.
      if (await store.setIfAbsent(tenantKey(tenant.tenantSlug, `soft:${month.month}`), '1', month.ttlSeconds)) {
        announce({ type: 'soft_limit_reached', tenantId: tenant.tenantId, tenantSlug: tenant.tenantSlug, used: monthUsed, limit: limits.monthlyBudget, month: month.month, at: new Date().toISOString() });
      }
    }
    return { bucket, monthUsed, slotId };
  }

  function release(tenant: TenantContext, slotId: string): Promise<void> {
    return store.releaseSlot(concurrencyKey(tenant.tenantSlug), slotId).catch(() => {});
  }

  /**
   * Ends an admitted operation: frees its slot and gives back what it did not cost, in one store call.
   * The call is not awaited: the response needs nothing from it. It is already on its way when this
   * returns (the memory store runs it synchronously, ioredis writes it now), so anything this gateway
   * asks the store next, such as the same client's next operation, is ordered after it.
   *
   * Returns the bucket as it is after the refund, projected from `admitted` (the store's answer when it
   * admitted the operation, received at `admitted.at` by performance.now): that answer, refilled at the
   * plan's rate since, plus the refund; undefined when there is nothing to give back. The store's own
   * figure would differ only by what other operations of the tenant took or gave back meanwhile, which
   * the next answer shows anyway.
   */
  function finish(tenant: TenantContext, limits: PlanLimits, slotId: string, refund: number, admitted?: { state: BucketState; at: number }): BucketState | undefined {
    const lease = leaseOfSlot.get(slotId);
    if (lease && !lease.closed) {
      // Admitted from a lease not yet returned: the slot and the refund go back to it, no store call.
      lease.free.push(slotId);
      lease.tokens += Math.max(0, refund);
      const bucket = refund > 0 ? leasedBucket(lease) : undefined;
      // A retiring lease's last operation in flight: now it goes back.
      if (lease.retiring && lease.free.length >= lease.slots) void closeLease(lease);
      return bucket;
    }
    // A closed lease's slot, held by this operation until now: freed in the store like any other.
    if (lease) leaseOfSlot.delete(slotId);
    if (refund <= 0) {
      void release(tenant, slotId);
      return undefined;
    }
    const key = bucketKey(tenant.tenantSlug);
    const policy = policyOf(limits);
    // What this gateway knows of the bucket takes the refund on its way now, so that no operation is
    // refused locally that the store, which applies the refund first, would admit.
    localRefusals.credit(key, refund);
    const open = leases.get(key);
    if (open) {
      // What an open lease reports of the bucket takes the refund too.
      open.shared = { ...open.shared, available: open.shared.available + refund, ...(open.shared.monthUsed !== undefined ? { monthUsed: Math.max(0, open.shared.monthUsed - refund) } : {}) };
    }
    store.settle(key, refund, policy, { key: concurrencyKey(tenant.tenantSlug), id: slotId }, monthlyCounter(tenant, limits)).then(
      (state) => localRefusals.observe(key, policy, state),
      (error: unknown) => logger.warn({ err: error, tenant: tenant.tenantSlug }, 'could not settle the operation cost'),
    );
    if (!admitted) return undefined;
    const { state, at } = admitted;
    const applied = state.applied ?? policy;
    const refilled = ((performance.now() - at) / 1000) * applied.restoreRate;
    return {
      ...state,
      available: Math.min(applied.capacity, state.available + Math.max(0, refilled) + refund),
      ...(state.monthUsed !== undefined ? { monthUsed: Math.max(0, state.monthUsed - refund) } : {}),
    };
  }

  /** Extends a held slot's lease (a subscription holds its slot for as long as it streams). */
  function renew(tenant: TenantContext, limits: PlanLimits, slotId: string): Promise<boolean> {
    return store.acquireSlot(concurrencyKey(tenant.tenantSlug), slotId, limits.maxConcurrency, slotLeaseMs);
  }

  /** Whether this gateway knows anything of the tenant's bucket that could refuse locally (one map lookup). */
  const mayRefuseLocally = (tenant: TenantContext): boolean => localRefusals.knows(bucketKey(tenant.tenantSlug));

  /** Gives back every lease this gateway holds (at shutdown, or for a test that reads the store). */
  async function returnLeases(): Promise<void> {
    await Promise.all([...leases.values(), ...retiring].map(closeLease));
  }

  return { admit, admitKnown, release, renew, finish, shortage, mayRefuseLocally, returnLeases, slotLeaseMs };
}
export type Admitter = ReturnType<typeof createAdmitter>;

/** The parts of a response that admission writes: extensions.cost (and warnings), RateLimit headers. */
function costParts(limits: PlanLimits, requested: number, actual: number, state: BucketState, monthUsed: number | undefined) {
  const available = state.available;
  const applied = state.applied ?? { capacity: limits.bucketCapacity, restoreRate: limits.restoreRate };
  const cost: CostExtension = {
    requestedQueryCost: requested,
    actualQueryCost: actual,
    throttleStatus: { maximumAvailable: applied.capacity, currentlyAvailable: Math.floor(available), restoreRate: applied.restoreRate },
  };
  const softLimit = Math.floor((limits.monthlyBudget * limits.softLimitPercent) / 100);
  const warnings =
    monthUsed !== undefined && monthUsed >= softLimit
      ? [
          {
            code: 'QUOTA_SOFT_LIMIT',
            message: `${Math.floor((monthUsed / limits.monthlyBudget) * 100)}% of the monthly budget is spent`,
            used: monthUsed,
            limit: limits.monthlyBudget,
          },
        ]
      : undefined;
  return { cost, warnings, headers: rateLimitHeaders(applied, available) };
}

/** An operation answered before Apollo Server's request pipeline: its status, headers and (unserialised) result. */
export interface EarlyAnswer {
  status: number;
  /** In the order the Apollo Server path writes them; content-type is the endpoint's. */
  headers: Array<[string, string]>;
  result: { errors: GraphQLFormattedError[]; extensions: Record<string, unknown> };
}

/** An operation as a POST body names it, for the early refusal. */
export interface OperationParams {
  query: string;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
}

/** What admission knows of one operation between its hooks (GatewayContext.admission). */
export interface OperationState {
  /** The concurrency slot it holds, once admitted: its own (asked of the store) or a lease's. */
  slotId: string;
  requested: number;
  admitted: boolean;
  bucket?: BucketState;
  /** When the store's admitting answer arrived (performance.now). */
  admittedAt: number;
  monthUsed?: number;
}

/**
 * Admission for HTTP operations: the Apollo Server request listener, and the early refusal that answers an
 * operation from a tenant whose bucket is known to be short before Apollo Server parses, validates
 * or plans anything (issue 3: a flood's 429s should cost next to nothing). The early refusal only
 * applies to a document that the listener has seen validated and refused for the bucket before, so it
 * gives exactly the answer the listener would: same status, headers and body.
 */
export function createAdmission(options: AdmissionOptions) {
  const { costModel, logger, onFinished, knownDocumentChars = 1024 * 1024 } = options;
  const admitter = options.admitter ?? createAdmitter(options);
  /** Documents that passed validation and were refused for the bucket, by their text. */
  const knownDocuments = new LRUCache<string, DocumentNode>({ maxSize: knownDocumentChars, sizeCalculation: (_value, key) => Math.max(1, key.length) });

  /**
   * The 429 the listener would give this operation, when the tenant's bucket is known to be short of its
   * cost and its document is known valid; undefined when Apollo Server must handle it (anything else,
   * including every operation of a tenant with nothing known). Reports it like the listener (metrics, usage).
   */
  function refuseEarly(context: Pick<GatewayContext, 'tenant' | 'limits' | 'startedAt'>, params: OperationParams): EarlyAnswer | undefined {
    const { tenant, limits } = context;
    if (!admitter.mayRefuseLocally(tenant)) return undefined;
    const document = knownDocuments.get(params.query);
    if (!document) return undefined;
    const operation = getOperationAST(document, params.operationName);
    if (!operation || operation.operation === 'subscription') return undefined;
    let requested: number;
    try {
      requested = costModel.requested(document, params.operationName, params.variables ?? {});
    } catch {
      return undefined;
    }
    if (requested > limits.maxOperationCost) return undefined;
    const bucket = admitter.shortage(tenant, limits, requested);
    if (!bucket) return undefined;
    const { cost, warnings, headers } = costParts(limits, requested, 0, bucket, bucket.monthUsed);
    // The error as Apollo Server formats the listener's (requestError's extensions without `http`);
    // no GraphQLError is built: its stack trace alone would cost more than the rest of this answer.
    const { message, extensions } = bucketRefusalOf(requested, bucket);
    onFinished?.(context, {
      operationName: operation.name?.value || params.operationName || null,
      requestedCost: requested,
      actualCost: 0,
      status: ErrorCode.RATE_LIMITED,
      latencyMs: performance.now() - context.startedAt,
    });
    return {
      status: httpStatusOf[ErrorCode.RATE_LIMITED],
      headers: [['retry-after', String(extensions.retryAfter)], ['cache-control', 'no-store'], ...Object.entries(headers)],
      result: { errors: [{ message, extensions: { ...extensions, code: ErrorCode.RATE_LIMITED } }], extensions: { cost, ...(warnings ? { warnings } : {}) } },
    };
  }

  /**
   * Per operation: on its context (one GatewayContext each, a batch's operations included). A field
   * rather than a WeakMap: an ephemeron per operation is work for every garbage collection.
   */
  const stateOf = (context: GatewayContext): OperationState => (context.admission ??= { slotId: '', requested: 0, admitted: false, admittedAt: 0 });

  /** An admission's answer, kept for the operation's settlement. */
  function admitted(state: OperationState, decided: Admitted): void {
    state.bucket = decided.bucket;
    state.monthUsed = decided.monthUsed;
    state.slotId = decided.slotId;
    state.admittedAt = performance.now();
    state.admitted = true;
  }

  /** A refusal as the response gives it (status, Retry-After, the early-refusal cache); always throws. */
  function refused(requestContext: GraphQLRequestContextDidResolveOperation<GatewayContext>, state: OperationState, error: unknown): never {
    if (error instanceof AdmissionUnavailableError) {
      // Fail-closed mode with Redis away: nothing is admitted that could not be counted.
      requestContext.response.http.headers.set('retry-after', '1');
      throw requestError(ErrorCode.SERVICE_UNAVAILABLE, 'Admission is unavailable, try again shortly', { retryAfter: 1 });
    }
    state.bucket = refusedBuckets.get(error as GraphQLError);
    state.monthUsed = state.bucket?.monthUsed;
    const extensions = (error as GraphQLError).extensions;
    // A valid document refused for the bucket: its next repetitions may be refused early.
    if (extensions?.reason === 'BUCKET' && requestContext.source) knownDocuments.set(requestContext.source, requestContext.document);
    const retryAfter = extensions?.retryAfter;
    if (typeof retryAfter === 'number') requestContext.response.http.headers.set('retry-after', String(retryAfter));
    throw error;
  }

  const settleFailed = (error: unknown) => logger.warn({ err: error }, 'could not settle the operation cost');

  /**
   * One listener for every operation (no closures per request); its state lives on the operation's
   * context (stateOf). Its hooks return DONE when they finished synchronously (an admission from this gateway's lease, a
   * settlement that needs no store answer), so most operations wait on no promise of admission's.
   */
  const listener: SharedListener<GatewayContext> = {
    didResolveOperation(requestContext) {
      // No operation: Apollo Server answers that itself (OPERATION_RESOLUTION_FAILURE, 400).
      if (!requestContext.operation) return DONE;
      if (requestContext.operation.operation === 'subscription') return DONE; // the subscription server admits these (subscriptions.ts)
      const { tenant, limits } = requestContext.contextValue;
      const state = stateOf(requestContext.contextValue);
      state.requested = costModel.requested(requestContext.document, requestContext.operationName, requestContext.request.variables ?? {});
      let known: Admitted | undefined;
      try {
        known = admitter.admitKnown(tenant, limits, state.requested);
      } catch (error) {
        refused(requestContext, state, error);
      }
      if (known) {
        admitted(state, known);
        return DONE;
      }
      // The slot id is not the request id: clients may choose that one, and equal ids would share one slot.
      return admitter.admit(tenant, limits, state.requested, randomUUID(), { lease: true }).then(
        (decided) => admitted(state, decided),
        (error: unknown) => refused(requestContext, state, error),
      );
    },

    willSendResponse(requestContext) {
      try {
        // Synchronous for every admitted operation: no further promise on the response's path.
        const pending = settle(requestContext, stateOf(requestContext.contextValue));
        return pending ? pending.catch(settleFailed) : DONE;
      } catch (error) {
        settleFailed(error);
        return DONE;
      }
    },
  };

  /** The refund and slot release, then the report; a promise only when the bucket must be asked for. */
  function settle(requestContext: SettleContext, state: OperationState): Promise<void> | undefined {
    const { response, document, operationName, request, operation, contextValue } = requestContext;
    const { tenant, limits } = contextValue;
    const { requested, admitted } = state;
    let actual = 0;
    const result = response.body.kind === 'single' ? response.body.singleResult : undefined;
    if (admitted && document && result) {
      try {
        actual = costModel.actual(document, operationName, request.variables ?? {}, result.data ?? null);
        if (operation?.operation === 'mutation') {
          // A mutation that failed returns no data but did its work (or tried to): its base cost stays
          // spent, so failing writes cannot be repeated for free.
          const rootFields = operation.selectionSet.selections.filter((s) => s.kind === Kind.FIELD).length;
          actual = Math.max(actual, Math.min(requested, rootFields * MUTATION_BASE_COST));
        }
      } catch (error) {
        logger.warn({ err: error }, 'actual cost could not be computed; charging the requested cost');
        actual = requested;
      }
    }
    if (admitted) {
      // One store call frees the slot and refunds what the operation did not cost (not awaited).
      const refunded = admitter.finish(tenant, limits, state.slotId, result ? requested - actual : 0, state.bucket && { state: state.bucket, at: state.admittedAt });
      if (refunded) {
        state.bucket = refunded;
        state.monthUsed = refunded.monthUsed ?? state.monthUsed;
      }
    }
    if (!result) return undefined;
    // Only an operation refused before the store answered has no bucket to report: ask for it.
    if (!state.bucket) {
      return options.store
        .peekTokens(bucketKey(tenant.tenantSlug), { capacity: limits.bucketCapacity, restoreRate: limits.restoreRate })
        .then((bucket) => report(requestContext, state, result, actual, bucket));
    }
    report(requestContext, state, result, actual, state.bucket);
    return undefined;
  }

  /** Writes extensions.cost (and warnings) and the RateLimit headers, and reports the finished operation. */
  function report({ response, operationName, request, errors, contextValue }: SettleContext, state: OperationState, result: SingleResult, actual: number, bucket: BucketState) {
    const { requested, admitted } = state;
    const { cost, warnings, headers } = costParts(contextValue.limits, requested, admitted ? Math.min(actual, requested) : 0, bucket, state.monthUsed);
    result.extensions = { ...result.extensions, cost };
    if (warnings) result.extensions.warnings = warnings;
    for (const name in headers) response.http.headers.set(name, headers[name]!);
    const code = errors?.[0]?.extensions?.code ?? result.errors?.[0]?.extensions?.code;
    onFinished?.(contextValue, {
      operationName: operationName ?? request.operationName ?? null,
      requestedCost: requested,
      actualCost: cost.actualQueryCost,
      status: code ? String(code) : 'ok',
      latencyMs: performance.now() - contextValue.startedAt,
    });
  }

  return { listener, admitter, refuseEarly };
}
export type Admission = ReturnType<typeof createAdmission>;

type SettleContext = GraphQLRequestContextWillSendResponse<GatewayContext>;
type SingleResult = Extract<SettleContext['response']['body'], { kind: 'single' }>['singleResult'];
