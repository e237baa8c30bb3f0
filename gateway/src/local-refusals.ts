import { retryAfterMs, type BucketPolicy, type BucketState } from '../../tenancy/store/types';

/**
 * What this gateway last heard about each tenant's bucket, to refuse locally while it is known to be
 * short (issue 3, noisy neighbour): after the shared store refuses a tenant for its bucket, the
 * tenant's next operations that cannot fit are answered 429 without asking the store again. A flood
 * then costs no Redis round trip per request, and N gateways do not hammer Redis for a tenant that is
 * already over its plan.
 *
 * This only ever refuses, never admits: anything the estimate says may fit goes to the shared store,
 * which decides atomically (DESIGN.md invariant 6 is the store's). The estimate is the store's last
 * answer refilled at the plan's rate from when that answer arrived (later than the store's own clock
 * read it, so the estimate is never above what the store had, by the store's rules). The store can
 * hold more than that: operations in flight on other gateways may have been refunded meanwhile, or an
 * operator emptied the key. So a local refusal may come early, never late, and no entry is trusted for
 * longer than `maxAgeMs` after the store's answer that made or last refreshed it.
 */
export interface LocalRefusalsOptions {
  /** How long one answer of the store may be extrapolated. @default 1_000 ms: Retry-After's own unit, the least a refused client is told to wait */
  maxAgeMs?: number;
  /** Tenants remembered at once; the oldest entry goes first. @default 10_000 */
  maxTenants?: number;
  /** Clock in ms (tests). @default performance.now */
  now?: () => number;
}

interface Entry {
  /** Units in the bucket when the store answered. */
  available: number;
  /** When the answer arrived, by `now`. */
  at: number;
  policy: BucketPolicy;
  /** The month's spend the store reported, if it keeps a counter. */
  monthUsed: number | undefined;
}

/** A refusal decided locally: the bucket as estimated now, what the store would say it needs. */
export interface LocalRefusal {
  available: number;
  retryAfterMs: number;
  monthUsed: number | undefined;
}

export function createLocalRefusals(options: LocalRefusalsOptions = {}) {
  const { maxAgeMs = 1_000, maxTenants = 10_000, now = () => performance.now() } = options;
  // A Map keeps insertion order: re-inserting on refresh makes the first key the stalest.
  const entries = new Map<string, Entry>();

  const samePolicy = (a: BucketPolicy, b: BucketPolicy) => a.capacity === b.capacity && a.restoreRate === b.restoreRate;

  function remember(key: string, entry: Entry) {
    entries.delete(key);
    entries.set(key, entry);
    if (entries.size > maxTenants) entries.delete(entries.keys().next().value!);
  }

  return {
    /**
     * The refusal the store would give `cost` now, if the bucket is known to be short of it; undefined
     * when the store must decide (nothing known, too old, another policy, or it may fit). `hardLimit`:
     * an operation that might pass the month's hard limit is left to the store (QUOTA_EXCEEDED).
     */
    check(key: string, policy: BucketPolicy, cost: number, hardLimit?: number): LocalRefusal | undefined {
      const entry = entries.get(key);
      if (!entry) return undefined;
      const age = now() - entry.at;
      if (age > maxAgeMs || age < 0 || !samePolicy(entry.policy, policy)) {
        entries.delete(key);
        return undefined;
      }
      if (hardLimit !== undefined && entry.monthUsed !== undefined && entry.monthUsed + cost > hardLimit) return undefined;
      const available = Math.min(policy.capacity, entry.available + (age / 1000) * policy.restoreRate);
      if (cost <= available) return undefined;
      return { available, retryAfterMs: retryAfterMs(cost, available, policy), monthUsed: entry.monthUsed };
    },

    /**
     * Every answer of the store about a bucket: a bucket refusal starts (or refreshes) the entry;
     * any other answer refreshes an entry that exists (an admission took from it, a refund gave back)
     * and is ignored otherwise, so tenants that are never refused cost one map lookup.
     */
    observe(key: string, policy: BucketPolicy, state: Pick<BucketState, 'available' | 'monthUsed' | 'applied'> & { refusal?: string }) {
      // A gateway admitting alone (Redis away) answers from its own scaled bucket: nothing to learn.
      if (state.applied) return;
      const bucketShort = state.refusal === 'bucket';
      if (!bucketShort && !entries.has(key)) return;
      remember(key, { available: state.available, at: now(), policy, monthUsed: state.monthUsed });
    },

    /**
     * A refund this gateway has sent to the store for the bucket: the store applies it before anything
     * this gateway asks next, so the estimate rises by the same amount (and stays at or below the store's).
     */
    credit(key: string, amount: number): void {
      const entry = entries.get(key);
      if (entry && amount > 0) entry.available += amount;
    },

    /** Whether anything is remembered for this bucket (it may be too old to use). */
    knows(key: string): boolean {
      return entries.has(key);
    },
  };
}
export type LocalRefusals = ReturnType<typeof createLocalRefusals>;
