import { ErrorCode, graphQLError, notFound, badInput } from '../../tenancy/errors';
import { isUuid, type Queryable } from '../../tenancy/db';
import { pageSize, storableText, text } from '../../tenancy/validation';
import type { IsolationTier, Plan, TenantStatus } from '../../tenancy/context';
import type { Resolvers } from './generated/resolvers-types';
import * as repo from './repository';
import type { TenantsContext } from './context';
import { checkOverrides, nextOverrides, nextPlanLimits, NO_OVERRIDES, sameOverrides, samePlanLimits, type Overrides } from './limits';

export const SLUG = /^[a-z][a-z0-9-]{1,38}[a-z0-9]$/;
/** Slugs that would collide with routes or hostnames we use ourselves. */
export const RESERVED_SLUGS = new Set(['www', 'api', 'app', 'admin', 'gateway', 'dashboard', 'graphql', 'platform', 'static', 'status', 'health']);
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const CONFIG_KEY = /^[A-Za-z0-9_.-]{1,100}$/;

export function validateSlug(slug: string): string {
  if (!SLUG.test(slug) || slug.includes('--')) {
    throw badInput('slug must be 3 to 40 lowercase letters, digits or single hyphens, starting with a letter', { argument: 'slug' });
  }
  if (RESERVED_SLUGS.has(slug)) throw badInput(`slug "${slug}" is reserved`, { argument: 'slug' });
  return slug;
}

/** Invalidates every gateway's cached record of a tenant (see gateway/src/tenant-resolution.ts). */
export type TenantChanged = (slug: string) => Promise<void>;

async function findTenant(ctx: TenantsContext, id: string) {
  const tenant = await ctx.loaders.tenantById.load(id);
  if (!tenant) ctx.auditNotFound('Tenant', [id]);
  return tenant;
}

/**
 * A plan change reaches every tenant on the plan: each one's cached record is dropped. Announced a
 * batch at a time so that a plan with many tenants neither floods the store nor takes forever.
 */
const ANNOUNCE_BATCH = 50;
async function announceAll(tenantChanged: TenantChanged, slugs: readonly string[]): Promise<void> {
  for (let i = 0; i < slugs.length; i += ANNOUNCE_BATCH) await Promise.all(slugs.slice(i, i + ANNOUNCE_BATCH).map(tenantChanged));
}

/**
 * One change of the selected tenant's overrides, in one platform-admin transaction: lock the row,
 * compute and check the next overrides, write them and their history entry. Returns the tenant, and
 * whether anything changed (an unchanged result writes no history).
 */
async function changeOverrides(
  ctx: TenantsContext,
  compute: (q: Queryable, current: { plan: Plan; version: number; overrides: Overrides }) => Promise<{ next: Overrides; revertedTo: number | null }>,
) {
  return ctx.withPlatformAdmin(async (q) => {
    const current = await repo.lockOverrides(q);
    const { next, revertedTo } = await compute(q, current);
    const changed = !sameOverrides(current.overrides, next);
    if (changed) {
      const version = current.version + 1;
      await repo.saveOverrides(q, next, version, ctx.tenant.subject);
      await repo.appendLimitHistory(q, {
        version,
        action: revertedTo === null ? 'set' : 'revert',
        revertedTo,
        changedBy: ctx.tenant.subject,
        before: current.overrides,
        after: next,
      });
    }
    const tenant = await repo.currentTenantRow(q);
    if (!tenant) throw notFound('Tenant');
    return { tenant, changed, version: current.version + (changed ? 1 : 0) };
  });
}

async function planAndRanges(q: Queryable, plan: Plan) {
  const [definition] = await repo.currentPlans(q, { plan });
  if (!definition) throw notFound('Plan');
  return definition;
}

async function findUser(ctx: TenantsContext, id: string) {
  const user = await ctx.loaders.userById.load(id);
  if (!user) ctx.auditNotFound('User', [id]);
  return user;
}

const policyEnum = (policy: repo.PersistedOperationsPolicy) => (policy === 'require' ? 'REQUIRE' : 'ALLOW');

export function createResolvers(tenantChanged: TenantChanged): Resolvers {
  return {
    Query: {
      async currentTenant(_root, _args, ctx) {
        const tenant = await ctx.loaders.tenantById.load(ctx.tenant.tenantId);
        if (!tenant) throw notFound('Tenant');
        return tenant;
      },
      async viewer(_root, _args, ctx) {
        const subject = ctx.tenant.subject;
        if (isUuid(subject)) return ctx.loaders.userById.load(subject);
        return ctx.withTenant((q) => repo.userByEmail(q, subject));
      },
      users: (_root, { first }, ctx) => ctx.withTenant((q) => repo.listUsers(q, pageSize(first, 50))),
      tenantConfig: (_root, _args, ctx) => ctx.withTenant(repo.listConfig),
      plans: (_root, _args, ctx) => ctx.withTenant((q) => repo.currentPlans(q)),
      planVersions: (_root, { plan, first }, ctx) => ctx.withTenant((q) => repo.planVersions(q, plan, pageSize(first, 20))),
    },
    Mutation: {
      async createTenant(_root, { input }, ctx) {
        const slug = validateSlug(input.slug);
        const name = text('name', input.name, 200);
        if (!EMAIL.test(storableText('adminEmail', input.adminEmail)) || input.adminEmail.length > 320) {
          throw badInput('adminEmail is not an email address', { argument: 'adminEmail' });
        }
        const isolation = (input.isolation ?? 'SHARED').toLowerCase() as IsolationTier;
        if (isolation !== 'shared') {
          // The record can carry the tier, but only shared-schema RLS is provisioned today: refusing is
          // honest, storing it would promise an isolation that is not there.
          throw badInput(`isolation ${input.isolation} is not available yet; use SHARED`, { argument: 'isolation' });
        }
        try {
          const created = await ctx.withPlatformAdmin((q) =>
            repo.insertTenant(q, { slug, name, plan: input.plan ?? 'free', isolation }, {
              email: input.adminEmail,
              name: input.adminName?.trim() || input.adminEmail,
            }),
          );
          ctx.logger.info({ audit: 'tenant_created', slug, by: ctx.tenant.subject }, 'tenant created');
          await tenantChanged(slug);
          return created;
        } catch (error) {
          if ((error as { code?: string }).code === '23505') {
            throw graphQLError(ErrorCode.CONFLICT, `A tenant with slug "${slug}" already exists`, { extensions: { argument: 'slug' } });
          }
          throw error;
        }
      },
      async setTenantStatus(_root, { status }, ctx) {
        const updated = await ctx.withPlatformAdmin((q) =>
          repo.setTenantStatus(q, ctx.tenant.tenantId, status.toLowerCase() as TenantStatus),
        );
        if (!updated) throw notFound('Tenant');
        ctx.logger.info({ audit: 'tenant_status_changed', slug: updated.slug, status: updated.status, by: ctx.tenant.subject }, 'tenant status changed');
        await tenantChanged(updated.slug);
        return updated;
      },
      async setTenantConfig(_root, { key, value }, ctx) {
        if (!CONFIG_KEY.test(key)) throw badInput('key must be 1 to 100 letters, digits, _ . or -', { argument: 'key' });
        if (storableText('value', value).length > 10_000) throw badInput('value must be at most 10000 characters', { argument: 'value' });
        return ctx.withTenant((q) => repo.upsertConfig(q, key, value));
      },
      deleteTenantConfig: (_root, { key }, ctx) => ctx.withTenant((q) => repo.deleteConfig(q, key)),
      async setTenantLimits(_root, { input }, ctx) {
        const { tenant, changed, version } = await changeOverrides(ctx, async (q, current) => {
          const plan = await planAndRanges(q, current.plan);
          return { next: nextOverrides(current.overrides, input, current.plan, plan.limits, plan.allowedRanges), revertedTo: null };
        });
        if (changed) {
          ctx.logger.info({ audit: 'tenant_limits_changed', slug: tenant.slug, version, by: ctx.tenant.subject }, 'tenant limits changed');
          await tenantChanged(tenant.slug);
        }
        return tenant;
      },
      async revertTenantLimits(_root, { version: target }, ctx) {
        const { tenant, changed, version } = await changeOverrides(ctx, async (q, current) => {
          if (!Number.isInteger(target) || target < 0 || target > current.version) {
            throw badInput(`version must be between 0 (no overrides) and ${current.version}`, { argument: 'version' });
          }
          const entry = target === 0 ? null : await repo.limitHistoryEntry(q, target);
          if (target !== 0 && !entry) throw badInput(`version ${target} is not in the limit history`, { argument: 'version' });
          const next = entry?.after ?? NO_OVERRIDES;
          const plan = await planAndRanges(q, current.plan);
          checkOverrides(next, current.plan, plan.limits, plan.allowedRanges, 'version');
          return { next, revertedTo: target };
        });
        if (changed) {
          ctx.logger.info({ audit: 'tenant_limits_reverted', slug: tenant.slug, version, to: target, by: ctx.tenant.subject }, 'tenant limits reverted');
          await tenantChanged(tenant.slug);
        }
        return tenant;
      },
      async setPlanLimits(_root, { plan: name, input }, ctx) {
        const { definition, slugs, changed } = await ctx.withPlatformAdmin(async (q) => {
          const [current] = await repo.currentPlans(q, { plan: name, forUpdate: true });
          if (!current) throw notFound('Plan');
          const next = nextPlanLimits(current.limits, input);
          if (samePlanLimits(current.limits, next)) return { definition: current, slugs: [], changed: false };
          await repo.updatePlanLimits(q, name, next, ctx.tenant.subject);
          const [definition] = await repo.currentPlans(q, { plan: name });
          return { definition: definition!, slugs: await repo.slugsOnPlan(q, name), changed: true };
        });
        if (changed) {
          ctx.logger.info({ audit: 'plan_limits_changed', plan: name, version: definition.version, tenants: slugs.length, by: ctx.tenant.subject }, 'plan limits changed');
        }
        await announceAll(tenantChanged, slugs);
        return definition;
      },
      async setTenantPersistedOperations(_root, { policy }, ctx) {
        const value = policy ? (policy.toLowerCase() as repo.PersistedOperationsPolicy) : null;
        const updated = await ctx.withPlatformAdmin((q) => repo.setTenantPersistedOperations(q, ctx.tenant.tenantId, value));
        if (!updated) throw notFound('Tenant');
        ctx.logger.info(
          { audit: 'tenant_persisted_operations_changed', slug: updated.slug, policy: value ?? 'plan', by: ctx.tenant.subject },
          'tenant persisted-operation policy changed',
        );
        await tenantChanged(updated.slug);
        return updated;
      },
      async setPlanPersistedOperations(_root, { plan: name, policy }, ctx) {
        const value = policy.toLowerCase() as repo.PersistedOperationsPolicy;
        const { definition, slugs } = await ctx.withPlatformAdmin(async (q) => {
          if (!(await repo.setPlanPersistedOperations(q, name, value))) throw notFound('Plan');
          const [definition] = await repo.currentPlans(q, { plan: name });
          return { definition: definition!, slugs: await repo.slugsOnPlan(q, name) };
        });
        ctx.logger.info({ audit: 'plan_persisted_operations_changed', plan: name, policy: value, tenants: slugs.length, by: ctx.tenant.subject }, 'plan persisted-operation policy changed');
        await announceAll(tenantChanged, slugs);
        return definition;
      },
    },
    Tenant: {
      __resolveReference: (ref, ctx) => findTenant(ctx, ref.id),
      status: (tenant) => (tenant.status === 'active' ? 'ACTIVE' : 'SUSPENDED'),
      isolation: (tenant) => tenant.isolation.toUpperCase() as 'SHARED' | 'SCHEMA' | 'DATABASE',
      createdAt: (tenant) => tenant.createdAt.toISOString(),
      async limits(tenant, _args, ctx) {
        const limits = await ctx.loaders.limitsByTenantId.load(tenant.id);
        if (!limits) throw notFound('Tenant');
        return limits;
      },
      // A tenant never overridden has no row: every limit is the plan's.
      limitOverrides: async (tenant, _args, ctx) => (await ctx.loaders.overridesByTenantId.load(tenant.id)) ?? NO_OVERRIDES,
      limitHistory: (tenant, { first }, ctx) => ctx.withTenant((q) => repo.limitHistory(q, tenant.id, pageSize(first, 50))),
      persistedOperations: (tenant) => policyEnum(tenant.persistedOperations ?? tenant.planPersistedOperations),
      persistedOperationsOverride: (tenant) => (tenant.persistedOperations ? policyEnum(tenant.persistedOperations) : null),
    },
    PlanDefinition: {
      createdAt: (plan) => plan.createdAt.toISOString(),
      persistedOperations: (plan) => (plan.persistedOperations ? policyEnum(plan.persistedOperations) : null),
    },
    LimitChange: {
      kind: (change) => (change.action === 'set' ? 'SET' : 'REVERT'),
      changedAt: (change) => change.changedAt.toISOString(),
    },
    User: {
      __resolveReference: (ref, ctx) => findUser(ctx, ref.id),
      async tenant(user, _args, ctx) {
        const tenant = await ctx.loaders.tenantById.load(user.tenantId);
        if (!tenant) throw notFound('Tenant');
        return tenant;
      },
    },
  };
}
