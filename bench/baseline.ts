// The baseline of the benchmark: a bare @apollo/gateway behind Apollo Server, with no tenancy layer.
//
// It serves the same supergraph from the same subgraphs as our gateway, through the same HTTP adapter
// (tenancy/http.ts: body reading, header map, response writing), so that the only difference between
// the two is what our gateway does per request: user-token verification (cached), tenant resolution
// (L1/L2 cache), request scope, admission (pricing, concurrency slot, token bucket), context tokens
// (since 2026-11-23 our gateway also reuses a principal's token, for 30 s), metrics and the usage event.
//
// Our subgraphs refuse any request without a gateway-signed context (DESIGN.md invariant 1), so the
// baseline's data source sends a context token signed ONCE per subgraph audience, as a static header,
// and re-signs it every 30 s (subgraphs refuse tokens older than 120 s). The subgraphs still verify it
// on every fetch, exactly as they verify ours.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloGateway, RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { CryptoKey } from 'jose';
import { SUPERGRAPH_FILE } from '../tenancy/compose';
import type { TenantContext } from '../tenancy/context';
import { CONTEXT_HEADER, createContextSigner } from '../tenancy/context-token';
import { executeGraphQL, requestUrl, sendJson, serve } from '../tenancy/http';
import { createLogger } from '../tenancy/logger';
import { schemaPath, SUBGRAPHS } from '../tenancy/schema-files';
import { listen } from '../tenancy/subgraph-server';

export interface BaselineOptions {
  /** Routing URL of each subgraph's /graphql: the same ones our gateway uses. */
  subgraphUrls: Record<string, string>;
  /** The gateway's context signing key, so the subgraphs accept the static tokens. */
  contextPrivateKey: CryptoKey;
  contextKid?: string;
  /** What the static tokens say: the same tenant and user our gateway resolves for the bench token. */
  tenant: TenantContext;
  host: string;
}

export interface Baseline {
  url: string;
  close(): Promise<void>;
}

/** Re-sign well inside the subgraphs' 120 s maximum token age. */
const RESIGN_INTERVAL_MS = 30_000;

export async function startBaseline(options: BaselineOptions): Promise<Baseline> {
  process.env.APOLLO_TELEMETRY_DISABLED ??= '1';
  const { subgraphUrls, tenant } = options;
  const sign = createContextSigner({ privateKey: options.contextPrivateKey, kid: options.contextKid });

  const tokens = new Map<string, string>();
  const resign = async () => {
    const signed = await Promise.all(SUBGRAPHS.map(async (name) => [name, await sign(tenant, name)] as const));
    for (const [name, token] of signed) tokens.set(name, token);
  };
  await resign();
  const timer = setInterval(() => void resign(), RESIGN_INTERVAL_MS);
  timer.unref();

  class StaticContextDataSource extends RemoteGraphQLDataSource {
    constructor(
      private readonly subgraph: string,
      url: string,
    ) {
      // The same subgraph fetcher as ours (gateway/src/subgraph-fetch.ts), so the comparison measures
      // the tenancy layer, not a choice of HTTP client.
      super({ url, fetcher: fetch });
    }

    override willSendRequest({ request }: GraphQLDataSourceProcessOptions) {
      const headers = request.http?.headers;
      if (!headers) return;
      headers.set(CONTEXT_HEADER, tokens.get(this.subgraph) ?? '');
      headers.set('x-request-id', tenant.requestId);
    }
  }

  const gateway = new ApolloGateway({
    supergraphSdl: readFileSync(schemaPath(SUPERGRAPH_FILE), 'utf8'),
    buildService: ({ name, url }) => new StaticContextDataSource(name, subgraphUrls[name] ?? url!),
  });
  const apollo = new ApolloServer({ gateway, plugins: [ApolloServerPluginLandingPageDisabled()] });
  await apollo.start();

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = requestUrl(req);
    if (url?.pathname !== '/graphql') return sendJson(res, 404, { errors: [{ message: 'Not found' }] });
    await executeGraphQL(apollo, req, res, url, async () => ({}));
  }

  // The same HTTP adapter as our gateway (tenancy/http.ts), so only the tenancy layer differs.
  const server = serve(handle, createLogger('baseline', 'silent'));
  const running = await listen(server, 0, options.host);

  return {
    url: running.url,
    async close() {
      clearInterval(timer);
      await running.close();
      await apollo.stop();
    },
  };
}
