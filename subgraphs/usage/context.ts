import type { SubgraphContext } from '../../tenancy/subgraph-server';
import type { UsageLoaders } from './loaders';
export type UsageContext = SubgraphContext<UsageLoaders>;
