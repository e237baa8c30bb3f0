import { createSubgraphServer, type SubgraphDeps } from '../../tenancy/subgraph-server';
import { subgraphTypeDefs } from '../../tenancy/schema-files';
import { createUsageLoaders } from './loaders';
import { permissions } from './permissions';
import { resolvers } from './resolvers';

export const createUsageSubgraph = (deps: SubgraphDeps) =>
  createSubgraphServer({ name: 'usage', typeDefs: subgraphTypeDefs('usage'), resolvers, permissions, createLoaders: createUsageLoaders, ...deps });
