import { isAdmin, isMember, isPlatformAdminRule, isViewer } from '../../tenancy/shield';

/** Who may do what in the tenants subgraph. Anything not named here is denied. */
export const permissions = {
  Query: { currentTenant: isViewer, viewer: isViewer, users: isViewer, tenantConfig: isMember },
  Mutation: {
    createTenant: isPlatformAdminRule,
    setTenantStatus: isPlatformAdminRule,
    setTenantConfig: isAdmin,
    deleteTenantConfig: isAdmin,
  },
  Tenant: isViewer,
  User: isViewer,
  ConfigEntry: isMember,
};
