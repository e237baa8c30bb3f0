import { isAdmin, isMember, isPlatformAdminRule, isViewer } from '../../tenancy/shield';

/** Who may do what in the tenants subgraph. Anything not named here is denied. */
export const permissions = {
  Query: {
    currentTenant: isViewer,
    viewer: isViewer,
    users: isViewer,
    tenantConfig: isMember,
    // Plans are the price list: any user may read them; their history names operators.
    plans: isViewer,
    planVersions: isPlatformAdminRule,
  },
  Mutation: {
    createTenant: isPlatformAdminRule,
    setTenantStatus: isPlatformAdminRule,
    setTenantConfig: isAdmin,
    deleteTenantConfig: isAdmin,
    // Limits are what the tenant pays for: only the operator changes them.
    setTenantLimits: isPlatformAdminRule,
    revertTenantLimits: isPlatformAdminRule,
    setPlanLimits: isPlatformAdminRule,
    setTenantPersistedOperations: isPlatformAdminRule,
    setPlanPersistedOperations: isPlatformAdminRule,
  },
  // Field by field, so that a field added to Tenant stays denied until someone gives it a rule.
  Tenant: {
    id: isViewer,
    slug: isViewer,
    name: isViewer,
    plan: isViewer,
    status: isViewer,
    isolation: isViewer,
    createdAt: isViewer,
    limits: isAdmin,
    limitOverrides: isAdmin,
    limitHistory: isAdmin,
    persistedOperations: isAdmin,
    persistedOperationsOverride: isAdmin,
  },
  User: isViewer,
  ConfigEntry: isMember,
  // Reached through Query.plans (any user) or the admin-only Tenant fields above.
  PlanLimits: isViewer,
  PlanLimitRanges: isViewer,
  LimitRange: isViewer,
  PlanDefinition: {
    name: isViewer,
    version: isViewer,
    limits: isViewer,
    allowedRanges: isViewer,
    createdAt: isViewer,
    createdBy: isPlatformAdminRule,
    persistedOperations: isViewer,
  },
  LimitOverrides: isAdmin,
  LimitChange: isAdmin,
};
