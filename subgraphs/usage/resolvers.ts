import { badInput, notFound } from '../../tenancy/errors';
import { pageSize } from '../../tenancy/validation';
import type { Resolvers } from './generated/resolvers-types';
import * as repo from './repository';
import type { UsageContext } from './context';
import type { QuotaFeed } from './feed';

async function quotaOf(ctx: UsageContext, tenantId: string): Promise<repo.QuotaRow> {
  const quota = await ctx.loaders.quotaByTenant.load(tenantId);
  if (!quota) throw notFound('Tenant');
  return quota;
}

function minuteCount(minutes: number | null | undefined): number {
  const value = minutes ?? 30;
  if (!Number.isInteger(value) || value < 1 || value > repo.MAX_MINUTES) {
    throw badInput(`minutes must be an integer between 1 and ${repo.MAX_MINUTES}`, { argument: 'minutes' });
  }
  return value;
}

/** The subgraph's resolvers; the subscription reads from the live feed of this instance. */
export const createResolvers = (feed: QuotaFeed): Resolvers => ({
  ...resolvers,
  Subscription: {
    quotaStatus: {
      // The tenant is the verified caller's: there is no argument by which to ask for another's.
      subscribe: (_root, _args, ctx) => feed.subscribe(ctx.tenant.tenantId),
      resolve: (row: repo.QuotaRow) => row,
    },
  },
});

export const resolvers: Resolvers = {
  Query: {
    quotaStatus: (_root, _args, ctx) => quotaOf(ctx, ctx.tenant.tenantId),
    recentOperations: (_root, { first }, ctx) => ctx.withTenant((q) => repo.recentOperations(q, pageSize(first))),
  },
  Tenant: {
    async __resolveReference(ref, ctx) {
      // Another tenant's id resolves to nothing, exactly like an id that does not exist.
      const quota = await ctx.loaders.quotaByTenant.load(ref.id);
      if (!quota) {
        ctx.auditNotFound('Tenant', [ref.id]);
        return null;
      }
      return { id: ref.id };
    },
    usage: (tenant, _args, ctx) => quotaOf(ctx, tenant.id),
  },
  QuotaStatus: {
    tenant: (quota) => ({ id: quota.tenantId }),
    remaining: (quota) => Math.max(0, quota.limit - quota.used),
    burnRatePerMinute: (quota) => Math.round(quota.burnRatePerMinute * 100) / 100,
    resetsAt: (quota) => quota.resetsAt.toISOString(),
    projectedExhaustionAt: (quota) => {
      const remaining = Math.max(0, quota.limit - quota.used);
      if (remaining === 0) return new Date().toISOString();
      if (quota.burnRatePerMinute <= 0) return null;
      const at = Date.now() + (remaining / quota.burnRatePerMinute) * 60_000;
      return at < quota.resetsAt.getTime() ? new Date(at).toISOString() : null;
    },
    recentOperations: async (quota, { first }, ctx) => {
      const count = pageSize(first, 10, repo.MAX_RECENT);
      return (quota.recent ?? (await ctx.withTenant((q) => repo.recentOperations(q, count)))).slice(0, count);
    },
    usageByMinute: async (quota, { minutes }, ctx) => {
      const count = minuteCount(minutes);
      return (quota.minutes ?? (await ctx.withTenant((q) => repo.usageByMinute(q, count)))).slice(-count);
    },
  },
  OperationUsage: {
    at: (op) => op.at.toISOString(),
  },
  UsageMinute: {
    minute: (row) => row.minute.toISOString(),
  },
};
