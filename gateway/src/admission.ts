import { randomUUID } from 'node:crypto';
import type {
  ApolloServerPlugin,
  GraphQLRequestContextWillSendResponse,
} from '@apollo/server';
import { ErrorCode, requestError } from '../../tenancy/errors';
import type { Logger } from '../../tenancy/logger';
import type { PlanLimits, TenantContext } from '../../tenancy/context';
import { tenantKey, type BucketPolicy, type BucketState, type MonthlyCounter } from '../../tenancy/store';
import { AdmissionUnavailableError, type AdmissionStore } from './resilient-admission';
import { Kind, type GraphQLError } from 'graphql';
import { MUTATION_BASE_COST, type CostModel } from './cost';
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
  onFinished?: (context: GatewayContext, outcome: Outcome) => void;
  /**
   * The tenant's spend this month as PostgreSQL has it, to seed the store's counter when it has none
   * (new month, or Redis lost it). Without it the counter starts at zero.
   */
  monthToDate?: (tenantId: string) => Promise<number>;
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

/** The calendar month (UTC) as YYYY-MM, and when it ends. */
export function monthOf(now = new Date()): { id: string; endsAt: Date } {
  const id = now.toISOString().slice(0, 7);
  return { id, endsAt: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)) };
}

/** The month's counter for a tenant: hard limit is the budget plus the plan's grace margin. */
export function monthlyCounter(tenant: TenantContext, limits: PlanLimits, now = new Date()): MonthlyCounter & { month: string; endsAt: Date } {
  const { id, endsAt } = monthOf(now);
  const { gracePercent } = limits;
  return {
    key: tenantKey(tenant.tenantSlug, `month:${id}`),
    hardLimit: Math.floor(limits.monthlyBudget * (1 + gracePercent / 100)),
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

/** What admission decided for one operation that it let through. */
export interface Admitted {
  bucket: BucketState;
  monthUsed?: number;
}

/**
 * The admission steps shared by HTTP operations (the plugin below) and subscriptions
 * (subscriptions.ts): per-operation maximum, a concurrency slot, then the bucket and the month's
 * counter in one atomic step. A refusal is thrown as the GraphQL error the client sees; its
 * extensions.retryAfter is what the Retry-After header says.
 */
export function createAdmitter(options: Pick<AdmissionOptions, 'store' | 'logger' | 'monthToDate' | 'slotLeaseMs'>) {
  const { store, logger, monthToDate, slotLeaseMs = 60_000 } = options;

  function announce(event: QuotaEvent) {
    logger.warn({ audit: event.type, used: event.used, limit: event.limit, month: event.month }, 'tenant quota event');
    store.publish(QUOTA_EVENTS_CHANNEL, JSON.stringify(event)).catch(() => {});
  }

  async function take(tenant: TenantContext, policy: BucketPolicy, month: ReturnType<typeof monthlyCounter>, cost: number) {
    let state = await store.takeTokens(bucketKey(tenant.tenantSlug), cost, policy, month);
    if (state.monthUnknown) {
      const used = monthToDate ? await monthToDate(tenant.tenantId) : 0;
      await store.seedCounter(month.key, used, month.ttlSeconds);
      state = await store.takeTokens(bucketKey(tenant.tenantSlug), cost, policy, month);
    }
    return state;
  }

  async function admit(tenant: TenantContext, limits: PlanLimits, requested: number, slotId: string): Promise<Admitted> {
    const policy: BucketPolicy = { capacity: limits.bucketCapacity, restoreRate: limits.restoreRate };
    const month = monthlyCounter(tenant, limits);
    if (requested > limits.maxOperationCost) {
      throw requestError(
        ErrorCode.COST_LIMIT_EXCEEDED,
        `This operation costs ${requested}, above the ${tenant.plan} plan's maximum of ${limits.maxOperationCost} per operation`,
        { maximumQueryCost: limits.maxOperationCost },
      );
    }
    if (!(await store.acquireSlot(concurrencyKey(tenant.tenantSlug), slotId, limits.maxConcurrency, slotLeaseMs))) {
      throw requestError(ErrorCode.RATE_LIMITED, `Too many operations in flight (the ${tenant.plan} plan allows ${limits.maxConcurrency})`, {
        retryAfter: 1,
        reason: 'CONCURRENCY',
      });
    }
    let bucket: BucketState;
    try {
      bucket = await take(tenant, policy, month, requested);
    } catch (error) {
      await release(tenant, slotId);
      throw error;
    }
    if (bucket.refusal === 'quota' || !bucket.allowed) await release(tenant, slotId);
    if (bucket.refusal === 'quota') {
      const retryAfter = Math.max(1, Math.ceil((month.endsAt.getTime() - Date.now()) / 1000));
      if (await store.setIfAbsent(tenantKey(tenant.tenantSlug, `hard:${month.month}`), '1', month.ttlSeconds)) {
        announce({ type: 'hard_limit_reached', tenantId: tenant.tenantId, tenantSlug: tenant.tenantSlug, used: bucket.monthUsed ?? 0, limit: limits.monthlyBudget, month: month.month, at: new Date().toISOString() });
      }
      throw refusal(
        requestError(ErrorCode.QUOTA_EXCEEDED, `The monthly budget of ${limits.monthlyBudget} is spent; it resets at ${month.endsAt.toISOString()}`, {
          retryAfter,
          used: bucket.monthUsed,
          limit: limits.monthlyBudget,
          resetsAt: month.endsAt.toISOString(),
        }),
        bucket,
      );
    }
    if (!bucket.allowed) {
      const retryAfter = Math.max(1, Math.ceil(bucket.retryAfterMs / 1000));
      throw refusal(
        requestError(ErrorCode.RATE_LIMITED, `Rate limited: this operation costs ${requested}, ${Math.floor(bucket.available)} available`, {
          retryAfter,
          reason: 'BUCKET',
        }),
        bucket,
      );
    }
    const softLimit = Math.floor((limits.monthlyBudget * limits.softLimitPercent) / 100);
    const monthUsed = bucket.monthUsed;
    if (monthUsed !== undefined && monthUsed >= softLimit && monthUsed - requested < softLimit) {
      // Crossed just now; the flag makes it one event per tenant per month across all gateways.
      if (await store.setIfAbsent(tenantKey(tenant.tenantSlug, `soft:${month.month}`), '1', month.ttlSeconds)) {
        announce({ type: 'soft_limit_reached', tenantId: tenant.tenantId, tenantSlug: tenant.tenantSlug, used: monthUsed, limit: limits.monthlyBudget, month: month.month, at: new Date().toISOString() });
      }
    }
    return { bucket, monthUsed };
  }

  function release(tenant: TenantContext, slotId: string): Promise<void> {
    return store.releaseSlot(concurrencyKey(tenant.tenantSlug), slotId).catch(() => {});
  }

  /** Extends a held slot's lease (a subscription holds its slot for as long as it streams). */
  function renew(tenant: TenantContext, limits: PlanLimits, slotId: string): Promise<boolean> {
    return store.acquireSlot(concurrencyKey(tenant.tenantSlug), slotId, limits.maxConcurrency, slotLeaseMs);
  }

  return { admit, release, renew, slotLeaseMs };
}
export type Admitter = ReturnType<typeof createAdmitter>;

export function useAdmission(options: AdmissionOptions): ApolloServerPlugin<GatewayContext> {
  const { store, costModel, logger, onFinished } = options;
  const admitter = createAdmitter(options);
  return {
    async requestDidStart({ contextValue }) {
      const { tenant, limits } = contextValue;
      const policy: BucketPolicy = { capacity: limits.bucketCapacity, restoreRate: limits.restoreRate };
      const month = monthlyCounter(tenant, limits);
      const softLimit = Math.floor((limits.monthlyBudget * limits.softLimitPercent) / 100);
      // Not the request id: clients may choose that one, and equal ids would share one slot.
      const slotId = randomUUID();
      let requested = 0;
      let admitted = false;
      let slotHeld = false;
      let bucket: BucketState | undefined;
      let monthUsed: number | undefined;

      return {
        async didResolveOperation(requestContext) {
          // No operation: Apollo Server answers that itself (OPERATION_RESOLUTION_FAILURE, 400).
          if (!requestContext.operation) return;
          if (requestContext.operation.operation === 'subscription') return; // the subscription server admits these (subscriptions.ts)
          requested = costModel.requested(requestContext.document, requestContext.operationName, requestContext.request.variables ?? {});
          try {
            ({ bucket, monthUsed } = await admitter.admit(tenant, limits, requested, slotId));
            slotHeld = true;
            admitted = true;
          } catch (error) {
            if (error instanceof AdmissionUnavailableError) {
              // Fail-closed mode with Redis away: nothing is admitted that could not be counted.
              requestContext.response.http.headers.set('retry-after', '1');
              throw requestError(ErrorCode.SERVICE_UNAVAILABLE, 'Admission is unavailable, try again shortly', { retryAfter: 1 });
            }
            bucket = refusedBuckets.get(error as GraphQLError);
            monthUsed = bucket?.monthUsed;
            const retryAfter = (error as GraphQLError).extensions?.retryAfter;
            if (typeof retryAfter === 'number') requestContext.response.http.headers.set('retry-after', String(retryAfter));
            throw error;
          }
        },

        async willSendResponse(requestContext) {
          try {
            await settle(requestContext);
          } catch (error) {
            logger.warn({ err: error }, 'could not settle the operation cost');
          }
        },
      };

      async function settle({ response, document, operationName, request, errors, operation }: SettleContext) {
        if (slotHeld) await admitter.release(tenant, slotId);
        if (response.body.kind !== 'single') return;
        const result = response.body.singleResult;
        let actual = 0;
        if (admitted && document) {
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
          if (actual < requested) {
            bucket = await store.refundTokens(bucketKey(tenant.tenantSlug), requested - actual, policy, month);
            // The month's counter expired in between: the bucket still gets its refund.
            if (bucket.monthUnknown) bucket = await store.refundTokens(bucketKey(tenant.tenantSlug), requested - actual, policy);
            monthUsed = bucket.monthUsed ?? monthUsed;
          }
        }
        const state = bucket ?? (await store.peekTokens(bucketKey(tenant.tenantSlug), policy));
        const available = state.available;
        const applied = state.applied ?? policy;
        const cost: CostExtension = {
          requestedQueryCost: requested,
          actualQueryCost: admitted ? Math.min(actual, requested) : 0,
          throttleStatus: { maximumAvailable: applied.capacity, currentlyAvailable: Math.floor(available), restoreRate: applied.restoreRate },
        };
        result.extensions = { ...result.extensions, cost };
        if (monthUsed !== undefined && monthUsed >= softLimit) {
          result.extensions.warnings = [
            {
              code: 'QUOTA_SOFT_LIMIT',
              message: `${Math.floor((monthUsed / limits.monthlyBudget) * 100)}% of the monthly budget is spent`,
              used: monthUsed,
              limit: limits.monthlyBudget,
            },
          ];
        }
        for (const [name, value] of Object.entries(rateLimitHeaders(applied, available))) response.http.headers.set(name, value);
        const code = errors?.[0]?.extensions?.code ?? result.errors?.[0]?.extensions?.code;
        onFinished?.(contextValue, {
          operationName: operationName ?? request.operationName ?? null,
          requestedCost: requested,
          actualCost: cost.actualQueryCost,
          status: code ? String(code) : 'ok',
          latencyMs: performance.now() - contextValue.startedAt,
        });
      }
    },
  };
}

type SettleContext = GraphQLRequestContextWillSendResponse<GatewayContext>;
