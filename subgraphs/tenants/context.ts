import type { SubgraphContext } from '../../tenancy/subgraph-server';
import type { TenantLoaders } from './loaders';
export type TenantsContext = SubgraphContext<TenantLoaders>;
