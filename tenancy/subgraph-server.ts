import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { applyMiddleware } from 'graphql-middleware';
import type { DocumentNode } from 'graphql';
import { CONTEXT_HEADER, createContextVerifier, createLinkVerifier, createRequestBindingVerifier, REQUEST_BINDING_HEADER } from './context-token';
import { attachSubgraphSubscriptions } from './subgraph-subscriptions';
import { REQUEST_ID, runInRequestScope, runWithTenant, type TenantContext } from './context';
import type { Database, Queryable } from './db';
import { maskFormattedError } from './errors';
import { executeGraphQL, requestUrl, sendBadTarget, sendGraphQLError, sendJson, serve } from './http';
import { createLogger, type Logger } from './logger';
import { createMetrics, type Metrics, type MetricsOptions } from './metrics';
import type { CryptoKey } from 'jose';
import { createPermissions } from './shield';
import type { IRules } from 'graphql-shield';
import { GraphQLError } from 'graphql';

/** What every subgraph resolver receives. */
export interface SubgraphContext<Loaders> {
  tenant: TenantContext;
  /** Runs fn in one transaction scoped to the caller's tenant (RLS), as the app role. */
  withTenant<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  /** Same, additionally allowed to write the tenants registry; only for a verified platform-admin. */
  withPlatformAdmin<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  loaders: Loaders;
  logger: Logger;
  /** Records, without changing the answer, that ids of `resource` were not found for this tenant. */
  auditNotFound(resource: 'Pet' | 'User' | 'Tenant', ids: string[]): void;
}

export type SubgraphServerOptions<Loaders> = {
  name: string;
  typeDefs: DocumentNode;
  resolvers: GraphQLResolverMap<SubgraphContext<Loaders>>;
  permissions: IRules;
  createLoaders: (ctx: Omit<SubgraphContext<Loaders>, 'loaders'>) => Loaders;
  /** Runs when the subgraph stops (after its sockets are closed): live feeds, consumers. */
  onStop?: () => Promise<void>;
} & SubgraphDeps;

/** What the process gives every subgraph. */
export interface SubgraphDeps {
  db: Database;
  /** The gateway's public key for context tokens. */
  contextPublicKey: CryptoKey;
  /** The secret shared with the gateway for request-id bindings (context-token.ts). */
  requestBindingSecret: Uint8Array;
  logger?: Logger;
  metricsOptions?: MetricsOptions;
}

export interface RunningServer {
  server: Server;
  url: string;
  port: number;
  close(): Promise<void>;
}

export function listen(server: Server, port: number, host: string, path = '/graphql'): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address() as AddressInfo;
      const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
      resolve({
        server,
        port: address.port,
        url: `http://${shownHost}:${address.port}${path}`,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections?.();
            server.close(() => done());
          }),
      });
    });
  });
}

function metricsPlugin(metrics: Metrics): ApolloServerPlugin<{ tenant?: TenantContext }> {
  return {
    async requestDidStart({ contextValue }) {
      const started = performance.now();
      return {
        async willSendResponse({ response, errors, request, operationName }) {
          const code = errors?.[0]?.extensions?.code ?? (response.body.kind === 'single' ? response.body.singleResult.errors?.[0]?.extensions?.code : undefined);
          metrics.observe(operationName ?? request.operationName, code ? String(code) : 'ok', contextValue.tenant?.tenantSlug, (performance.now() - started) / 1000);
        },
      };
    },
  };
}

/**
 * One subgraph: verify the gateway-signed context, then graphql-shield (deny by default), then
 * resolvers with per-request DataLoaders over tenant-scoped transactions. The three subgraphs differ
 * only in what they pass here.
 */
export async function createSubgraphServer<Loaders>(options: SubgraphServerOptions<Loaders>) {
  const { name, typeDefs, resolvers, permissions, createLoaders, db, contextPublicKey } = options;
  const logger = createLogger(name, options.logger?.level);
  const metrics = createMetrics(name, options.metricsOptions);
  const verify = createContextVerifier({ publicKey: contextPublicKey, subgraph: name });
  const requestIdOf = createRequestBindingVerifier(options.requestBindingSecret, name);
  const schema = applyMiddleware(buildSubgraphSchema({ typeDefs, resolvers: resolvers as GraphQLResolverMap<unknown> }), createPermissions(permissions));
  const apollo = new ApolloServer<SubgraphContext<Loaders>>({
    schema,
    includeStacktraceInErrorResponses: false,
    // The process owns shutdown (scripts/start.ts): Apollo's own signal handlers would stop the server
    // a second time, and that second stop never resolves, so the process would hang on SIGTERM.
    stopOnTerminationSignals: false,
    plugins: [ApolloServerPluginLandingPageDisabled(), ApolloServerPluginInlineTraceDisabled(), metricsPlugin(metrics)],
    formatError(formatted, error) {
      const { error: shown, masked } = maskFormattedError(formatted);
      if (masked) logger.error({ err: error instanceof GraphQLError ? (error.originalError ?? error) : error, path: formatted.path }, 'unexpected resolver error');
      return shown;
    },
  });
  await apollo.start();

  function contextFor(tenant: TenantContext): SubgraphContext<Loaders> {
    const scope = { tenantId: tenant.tenantId };
    const base: Omit<SubgraphContext<Loaders>, 'loaders'> = {
      tenant,
      logger,
      withTenant: (fn) => db.transaction(scope, fn),
      withPlatformAdmin: (fn) => db.transaction({ ...scope, platformAdmin: true }, fn),
      auditNotFound(resource, ids) {
        if (ids.length === 0) return;
        // Off the response path: the answer is the same whether or not the id exists elsewhere.
        db.transaction(scope, (q) =>
          q.query('SELECT audit_cross_tenant_probe($1, $2, $3, $4)', [resource, ids, tenant.subject, tenant.requestId]),
        ).catch((error) => logger.error({ err: error }, 'audit write failed'));
      },
    };
    return { ...base, loaders: createLoaders(base) };
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = requestUrl(req);
    if (!url) return sendBadTarget(res);
    if (url.pathname === '/healthz') {
      const ok = await db.ping();
      return sendJson(res, ok ? 200 : 503, { status: ok ? 'ok' : 'database unavailable', service: name });
    }
    if (url.pathname === '/metrics') {
      res.writeHead(200, { 'content-type': metrics.registry.contentType });
      return res.end(await metrics.registry.metrics());
    }
    if (url.pathname !== '/graphql') return sendJson(res, 404, { error: 'not found' });

    // Only for the log line of a refused request (a caller's correlation id); an accepted request's id
    // is the one its context vouches for.
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : crypto.randomUUID();
    let tenant: TenantContext;
    try {
      // Invariant 1: nothing about the tenant is read from anywhere but this verified token.
      const token = req.headers[CONTEXT_HEADER] as string | undefined;
      tenant = await verify(token);
      // The request id only under a MAC bound to this token (the token is reused across requests).
      const binding = req.headers[REQUEST_BINDING_HEADER];
      tenant = { ...tenant, requestId: requestIdOf(token!, typeof binding === 'string' ? binding : undefined, tenant.requestId) };
    } catch (error) {
      metrics.observe(null, 'UNAUTHENTICATED', undefined, 0);
      logger.warn({ requestId, path: url.pathname }, 'request without a valid gateway context');
      return sendGraphQLError(res, error as GraphQLError);
    }
    await runInRequestScope({ requestId: tenant.requestId, service: name, tenant: tenant.tenantSlug }, () =>
      runWithTenant(tenant, () => executeGraphQL(apollo, req, res, url, async () => contextFor(tenant))),
    );
  }

  const server = serve(handle, logger);
  // Subscriptions (graphql-ws on the same /graphql) where the schema has any: only the gateway connects.
  const sockets = schema.getSubscriptionType()
    ? attachSubgraphSubscriptions({
        server,
        schema,
        verify,
        verifyLink: createLinkVerifier({ publicKey: contextPublicKey, subgraph: name }),
        contextFor,
        logger,
        name,
      })
    : undefined;

  return {
    name,
    server,
    schema,
    metrics,
    async listen(port: number, host: string): Promise<RunningServer> {
      const running = await listen(server, port, host);
      return {
        ...running,
        close: async () => {
          sockets?.close();
          await running.close();
        },
      };
    },
    async stop() {
      sockets?.close();
      await apollo.stop();
      await options.onStop?.();
    },
  };
}
