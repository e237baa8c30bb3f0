import { isViewer } from '../../tenancy/shield';

/** Who may do what in the usage subgraph. Anything not named here is denied. */
export const permissions = {
  Query: { quotaStatus: isViewer, recentOperations: isViewer },
  Subscription: { quotaStatus: isViewer },
  Tenant: isViewer,
  QuotaStatus: isViewer,
  OperationUsage: isViewer,
  UsageMinute: isViewer,
};
