import type { ApolloServerPlugin } from '@apollo/server';
import { ErrorCode, requestError } from '../../tenancy/errors';
import type { Logger } from '../../tenancy/logger';
import { tenantKey, type BucketPolicy, type BucketState, type KeyValueStore } from '../../tenancy/store';
import type { CostModel } from './cost';
import type { GatewayContext } from './subgraph-fetch';

/**
 * Admission (DESIGN.md request flow, step 3): after parse and validation, before any subgraph is
 * called, the operation is priced and admitted against the tenant's plan: the per-operation maximum,
 * a concurrency limit, then the token bucket (atomic in the store, so N gateways never admit more than
 * the capacity plus one request). After execution the actual cost is computed from the data and the
 * difference refunded, as Shopify does; every response carries extensions.cost.
 */
export interface AdmissionOptions {
  store: KeyValueStore;
  costModel: CostModel;
  logger: Logger;
  /** A crashed gateway's concurrency slots free themselves after this. @default 60_000 ms */
  slotLeaseMs?: number;
  /** Called once per finished operation with what it cost (usage metering, metrics). */
  onFinished?: (context: GatewayContext, outcome: Outcome) => void;
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

export function useAdmission(options: AdmissionOptions): ApolloServerPlugin<GatewayContext> {
  const { store, costModel, logger, slotLeaseMs = 60_000, onFinished } = options;
  return {
    async requestDidStart({ contextValue }) {
      const { tenant, limits } = contextValue;
      const policy: BucketPolicy = { capacity: limits.bucketCapacity, restoreRate: limits.restoreRate };
      let requested = 0;
      let admitted = false;
      let slotHeld = false;
      let bucket: BucketState | undefined;

      return {
        async didResolveOperation({ document, operationName, request, response, operation }) {
          if (operation?.operation === 'subscription') return; // subscriptions are admitted by the socket server (issue 4)
          requested = costModel.requested(document, operationName, request.variables ?? {});
          if (requested > limits.maxOperationCost) {
            throw requestError(
              ErrorCode.COST_LIMIT_EXCEEDED,
              `This operation costs ${requested}, above the ${tenant.plan} plan's maximum of ${limits.maxOperationCost} per operation`,
              { maximumQueryCost: limits.maxOperationCost },
            );
          }
          if (!(await store.acquireSlot(concurrencyKey(tenant.tenantSlug), tenant.requestId, limits.maxConcurrency, slotLeaseMs))) {
            response.http.headers.set('retry-after', '1');
            throw requestError(ErrorCode.RATE_LIMITED, `Too many operations in flight (the ${tenant.plan} plan allows ${limits.maxConcurrency})`, {
              retryAfter: 1,
              reason: 'CONCURRENCY',
            });
          }
          slotHeld = true;
          bucket = await store.takeTokens(bucketKey(tenant.tenantSlug), requested, policy);
          if (!bucket.allowed) {
            const retryAfter = Math.max(1, Math.ceil(bucket.retryAfterMs / 1000));
            response.http.headers.set('retry-after', String(retryAfter));
            throw requestError(ErrorCode.RATE_LIMITED, `Rate limited: this operation costs ${requested}, ${Math.floor(bucket.available)} available`, {
              retryAfter,
              reason: 'BUCKET',
            });
          }
          admitted = true;
        },

        async willSendResponse({ response, document, operationName, request, errors }) {
          if (slotHeld) await store.releaseSlot(concurrencyKey(tenant.tenantSlug), tenant.requestId).catch(() => {});
          if (response.body.kind !== 'single') return;
          const result = response.body.singleResult;
          let actual = 0;
          if (admitted && document) {
            try {
              actual = costModel.actual(document, operationName, request.variables ?? {}, result.data ?? null);
            } catch (error) {
              logger.warn({ err: error }, 'actual cost could not be computed; charging the requested cost');
              actual = requested;
            }
            if (actual < requested) bucket = await store.refundTokens(bucketKey(tenant.tenantSlug), requested - actual, policy);
          }
          const available = bucket?.available ?? (await store.peekTokens(bucketKey(tenant.tenantSlug), policy)).available;
          const cost: CostExtension = {
            requestedQueryCost: requested,
            actualQueryCost: admitted ? Math.min(actual, requested) : 0,
            throttleStatus: { maximumAvailable: policy.capacity, currentlyAvailable: Math.floor(available), restoreRate: policy.restoreRate },
          };
          result.extensions = { ...result.extensions, cost };
          for (const [name, value] of Object.entries(rateLimitHeaders(policy, available))) response.http.headers.set(name, value);
          const code = errors?.[0]?.extensions?.code ?? result.errors?.[0]?.extensions?.code;
          onFinished?.(contextValue, {
            operationName: operationName ?? request.operationName ?? null,
            requestedCost: requested,
            actualCost: cost.actualQueryCost,
            status: code ? String(code) : 'ok',
            latencyMs: performance.now() - contextValue.startedAt,
          });
        },
      };
    },
  };
}
