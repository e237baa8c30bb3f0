import type DataLoader from 'dataloader';
import { byIdLoader } from '../../tenancy/loaders';
import type { SubgraphContext } from '../../tenancy/subgraph-server';
import { tenantsByIds, usersByIds, type TenantRow, type UserRow } from './repository';

export interface TenantLoaders {
  tenantById: DataLoader<string, TenantRow | null>;
  userById: DataLoader<string, UserRow | null>;
}

export function createTenantLoaders(ctx: Omit<SubgraphContext<TenantLoaders>, 'loaders'>): TenantLoaders {
  return {
    tenantById: byIdLoader(ctx.withTenant, tenantsByIds),
    userById: byIdLoader(ctx.withTenant, usersByIds),
  };
}
