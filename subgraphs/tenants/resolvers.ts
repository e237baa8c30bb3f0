import { ErrorCode, graphQLError, notFound, badInput } from '../../tenancy/errors';
import { isUuid } from '../../tenancy/db';
import { pageSize, text } from '../../tenancy/validation';
import type { IsolationTier, TenantStatus } from '../../tenancy/context';
import type { Resolvers } from './generated/resolvers-types';
import * as repo from './repository';
import type { TenantsContext } from './context';

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

async function findUser(ctx: TenantsContext, id: string) {
  const user = await ctx.loaders.userById.load(id);
  if (!user) ctx.auditNotFound('User', [id]);
  return user;
}

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
    },
    Mutation: {
      async createTenant(_root, { input }, ctx) {
        const slug = validateSlug(input.slug);
        const name = text('name', input.name, 200);
        if (!EMAIL.test(input.adminEmail) || input.adminEmail.length > 320) {
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
        if (value.length > 10_000) throw badInput('value must be at most 10000 characters', { argument: 'value' });
        return ctx.withTenant((q) => repo.upsertConfig(q, key, value));
      },
      deleteTenantConfig: (_root, { key }, ctx) => ctx.withTenant((q) => repo.deleteConfig(q, key)),
    },
    Tenant: {
      __resolveReference: (ref, ctx) => findTenant(ctx, ref.id),
      status: (tenant) => (tenant.status === 'active' ? 'ACTIVE' : 'SUSPENDED'),
      isolation: (tenant) => tenant.isolation.toUpperCase() as 'SHARED' | 'SCHEMA' | 'DATABASE',
      createdAt: (tenant) => tenant.createdAt.toISOString(),
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
