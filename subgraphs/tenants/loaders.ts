import type DataLoader from 'dataloader';
import { byIdLoader } from '../../tenancy/loaders';
import type { SubgraphContext } from '../../tenancy/subgraph-server';
import {
  effectiveLimitsByTenantIds,
  overridesByTenantIds,
  tenantsByIds,
  usersByIds,
  type LimitsRow,
  type OverridesRow,
  type TenantRow,
  type UserRow,
} from './repository';

export interface TenantLoaders {
  tenantById: DataLoader<string, TenantRow | null>;
  userById: DataLoader<string, UserRow | null>;
  /** Effective limits by tenant id. */
  limitsByTenantId: DataLoader<string, LimitsRow | null>;
  /** Overrides by tenant id; null when the tenant never had any. */
  overridesByTenantId: DataLoader<string, OverridesRow | null>;
}

export function createTenantLoaders(ctx: Omit<SubgraphContext<TenantLoaders>, 'loaders'>): TenantLoaders {
  return {
    tenantById: byIdLoader(ctx.withTenant, tenantsByIds),
    userById: byIdLoader(ctx.withTenant, usersByIds),
    limitsByTenantId: byIdLoader(ctx.withTenant, effectiveLimitsByTenantIds),
    overridesByTenantId: byIdLoader(ctx.withTenant, overridesByTenantIds),
  };
}
