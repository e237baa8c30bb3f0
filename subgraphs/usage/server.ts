import { createSubgraphServer, type SubgraphDeps } from '../../tenancy/subgraph-server';
import type { KeyValueStore } from '../../tenancy/store';
import { subgraphTypeDefs } from '../../tenancy/schema-files';
import { createLogger } from '../../tenancy/logger';
import { createQuotaFeed } from './feed';
import { createUsageLoaders } from './loaders';
import { permissions } from './permissions';
import { createResolvers } from './resolvers';

export interface UsageSubgraphDeps extends SubgraphDeps {
  /** Pub/sub for the live quota feed (Redis, or the in-process store). */
  store: KeyValueStore;
  /** @default 500 ms */
  feedIntervalMs?: number;
}

export async function createUsageSubgraph(deps: UsageSubgraphDeps) {
  const { store, feedIntervalMs, ...rest } = deps;
  const feed = createQuotaFeed({ store, db: deps.db, logger: createLogger('usage', deps.logger?.level), intervalMs: feedIntervalMs });
  await feed.ready;
  const subgraph = await createSubgraphServer({
    name: 'usage',
    typeDefs: subgraphTypeDefs('usage'),
    resolvers: createResolvers(feed),
    permissions,
    createLoaders: createUsageLoaders,
    onStop: () => feed.close(),
    ...rest,
  });
  return Object.assign(subgraph, { feed });
}
