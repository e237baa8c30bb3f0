import { allow, deny, rule, shield } from 'graphql-shield';
import type { IRules } from 'graphql-shield';
import { ErrorCode, graphQLError } from './errors';
import { hasRoleAtLeast, isPlatformAdmin, type TenantContext, type TenantRole } from './context';

/**
 * Common graphql-shield rules. Every subgraph is deny-by-default: a field without a rule is refused,
 * so a new field is invisible until someone decides who may read it.
 */
interface GuardedContext {
  tenant?: TenantContext;
}

const forbidden = () => graphQLError(ErrorCode.FORBIDDEN, 'Not allowed');

export const isAuthenticated = rule({ cache: 'contextual' })((_parent, _args, ctx: GuardedContext) =>
  ctx.tenant ? true : graphQLError(ErrorCode.UNAUTHENTICATED, 'Missing gateway context'),
);

const roleRule = (role: TenantRole) =>
  rule(`hasRole:${role}`, { cache: 'contextual' })((_parent, _args, ctx: GuardedContext) =>
    ctx.tenant && hasRoleAtLeast(ctx.tenant.roles, role) ? true : forbidden(),
  );

export const isViewer = roleRule('viewer');
export const isMember = roleRule('member');
export const isAdmin = roleRule('admin');
export const isPlatformAdminRule = rule({ cache: 'contextual' })((_parent, _args, ctx: GuardedContext) =>
  ctx.tenant && isPlatformAdmin(ctx.tenant.roles) ? true : forbidden(),
);

/**
 * Federation plumbing. `_service` must stay readable (the gateway and composition read the SDL);
 * `_entities` gets a real rule because it runs before any __resolveReference and shield never wraps
 * __resolveReference itself (DESIGN.md, known traps). Field rules still fire on the entity path.
 */
export const federationRules = {
  Query: { _service: allow, _entities: isViewer },
  _Service: allow,
};

export function createPermissions(rules: IRules) {
  const merged = rules as Record<string, Record<string, unknown>>;
  const tree = {
    ...merged,
    Query: { ...federationRules.Query, ...(merged.Query ?? {}) },
    _Service: federationRules._Service,
  } as IRules;
  return shield(tree, {
    fallbackRule: deny,
    fallbackError: forbidden,
    // Errors that resolvers throw on purpose (NOT_FOUND, BAD_USER_INPUT) pass through unchanged;
    // anything else is masked at the edge by formatError.
    allowExternalErrors: true,
    debug: false,
  });
}

export { allow, deny };
