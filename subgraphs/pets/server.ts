import { createSubgraphServer, type SubgraphDeps } from '../../tenancy/subgraph-server';
import { subgraphTypeDefs } from '../../tenancy/schema-files';
import { createPetLoaders } from './loaders';
import { permissions } from './permissions';
import { resolvers } from './resolvers';

export const createPetsSubgraph = (deps: SubgraphDeps) =>
  createSubgraphServer({ name: 'pets', typeDefs: subgraphTypeDefs('pets'), resolvers, permissions, createLoaders: createPetLoaders, ...deps });
