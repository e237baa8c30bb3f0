import type DataLoader from 'dataloader';
import { byIdLoader } from '../../tenancy/loaders';
import type { SubgraphContext } from '../../tenancy/subgraph-server';
import { quotaOfTenants, type QuotaRow } from './repository';

export interface UsageLoaders {
  quotaByTenant: DataLoader<string, QuotaRow | null>;
}

export function createUsageLoaders(ctx: Omit<SubgraphContext<UsageLoaders>, 'loaders'>): UsageLoaders {
  return {
    quotaByTenant: byIdLoader(ctx.withTenant, async (q, ids) =>
      (await quotaOfTenants(q, ids)).map((row) => ({ ...row, id: row.tenantId })),
    ),
  };
}
