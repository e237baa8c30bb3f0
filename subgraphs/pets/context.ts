import type { SubgraphContext } from '../../tenancy/subgraph-server';
import type { PetLoaders } from './loaders';
export type PetsContext = SubgraphContext<PetLoaders>;
