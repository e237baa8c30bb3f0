import { createSubgraphServer, type SubgraphDeps } from '../../tenancy/subgraph-server';
import { subgraphTypeDefs } from '../../tenancy/schema-files';
import { createTenantLoaders } from './loaders';
import { permissions } from './permissions';
import { createResolvers, type TenantChanged } from './resolvers';

export const createTenantsSubgraph = (deps: SubgraphDeps & { tenantChanged: TenantChanged }) =>
  createSubgraphServer({
    name: 'tenants',
    typeDefs: subgraphTypeDefs('tenants'),
    resolvers: createResolvers(deps.tenantChanged),
    permissions,
    createLoaders: createTenantLoaders,
    ...deps,
  });
