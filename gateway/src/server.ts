import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloGateway } from '@apollo/gateway';
import type { CryptoKey, JWK } from 'jose';
import { GraphQLError, type ExecutionResult } from 'graphql';
import { runInRequestScope, currentRequestScope, REQUEST_ID, type PersistedOperationsPolicy, type PlanLimits, type TenantContext, type TenantRecord } from '../../tenancy/context';
import { createContextSigner, createContextTokenCache, createRequestBinder } from '../../tenancy/context-token';
import type { Database } from '../../tenancy/db';
import { ErrorCode, ensureGraphQLError, maskFormattedError, requestError } from '../../tenancy/errors';
import { BodyError, decodePathSegment, parseBody, readBody, requestUrl, sendBadTarget, sendBodyError, sendGraphQLError, sendJson, serve } from '../../tenancy/http';
import { createLogger, type Logger } from '../../tenancy/logger';
import { createMetrics, type MetricsOptions } from '../../tenancy/metrics';
import { schemaPath, SUPERGRAPH_FILE } from '../../tenancy/schema-files';
import type { KeyValueStore } from '../../tenancy/store';
import { listen, type RunningServer } from '../../tenancy/subgraph-server';
import type { UsageEvent } from '../../tenancy/usage-stream';
import { createAuthenticator, type UserClaims } from './auth';
import { createCostModel } from './cost';
import { createDashboard } from './dashboard';
import { createDocumentGuard, noSuggestions, type EdgeLimitOptions } from './edge-limits';
import { createGraphQLEndpoint, type EndpointRequest } from './graphql-endpoint';
import { forbiddenStatus, legacyJsonStatus } from './http-status';
import { sharedListenerPlugin } from './request-listeners';
import { createPersistedOperations, type PersistedOperationsOptions } from './persisted-operations';
import { createAdmission, createAdmitter, type LeaseOptions } from './admission';
import { createHttpSubscriptions, streamProtocolOf, subscriptionDocumentOf, type StreamRequest } from './http-subscriptions';
import { createSubscriptionEngine } from './subscriptions';
import { attachGatewayWebSocket, type Credentials, type Session } from './websocket';
import { createResilientAdmission } from './resilient-admission';
import { Counter, Gauge } from 'prom-client';
import { createGatewayContext, TenantContextDataSource, type GatewayContext } from './subgraph-fetch';
import { createTenantResolver, subdomainOf } from './tenant-resolution';

export interface GatewayOptions {
  db: Database;
  store: KeyValueStore;
  logger: Logger;
  /** Routing URL of each subgraph's /graphql. */
  subgraphUrls: Record<string, string>;
  contextPrivateKey: CryptoKey;
  contextKid?: string;
  /** The secret shared with the subgraphs for request-id bindings (context-token.ts). */
  requestBindingSecret: Uint8Array;
  /** @default 60 seconds */
  contextTokenTtlSeconds?: number;
  auth: {
    issuer: string;
    audience: string;
    jwksUrl?: string;
    devPublicJwk?: JWK;
    algorithms: string[];
    clockSkewSeconds: number;
  };
  /** Host names `{slug}.<baseDomain>` select a tenant. @default 'localhost' */
  baseDomain?: string;
  tenantCache?: { l1TtlMs?: number; l2TtlSeconds?: number };
  metricsOptions?: MetricsOptions;
  /** Where each finished operation's usage goes (the usage stream, see usage-sink.ts). */
  recordUsage?: (event: UsageEvent) => void;
  /** The tenant's spend this month from PostgreSQL, to seed the store's monthly counter. */
  monthToDate?: (tenantId: string) => Promise<number>;
  /** Redis outage behaviour of admission (resilient-admission.ts). @default { failMode: 'open', localShare: 1 } */
  admissionFallback?: { failMode?: 'open' | 'closed'; localShare?: number; probeIntervalMs?: number };
  /** Admission leases (admission.ts LeaseOptions), with either store. @default { windowMs: 500 } */
  admissionLease?: LeaseOptions | false;
  /** Serve introspection. @default true */
  introspection?: boolean;
  /** "Did you mean ...?" in error messages. @default true */
  fieldSuggestions?: boolean;
  /** Limits on documents and batches, checked before validation and admission (edge-limits.ts). @default DEFAULT_EDGE_LIMITS */
  edgeLimits?: Omit<EdgeLimitOptions, 'introspection'>;
  /** Persisted operations: mode and manifest (persisted-operations.ts). @default { mode: 'allow' }, no manifest */
  persistedOperations?: Omit<PersistedOperationsOptions, 'logger'>;
  /** Most operations one WebSocket connection may run at once. @default 20 */
  maxSubscriptionsPerConnection?: number;
  /** WebSocket connections one tenant may hold open on this gateway (websocket.ts). @default 0: no limit */
  maxSocketsPerTenant?: number;
}


interface RegistryRow {
  id: string;
  slug: string;
  name: string;
  plan: TenantRecord['plan'];
  status: TenantRecord['status'];
  isolation: TenantRecord['isolation'];
  monthly_budget: number;
  bucket_capacity: number;
  restore_rate: number;
  max_operation_cost: number;
  max_concurrency: number;
  soft_limit_percent: number;
  grace_percent: number;
  persisted_operations: PersistedOperationsPolicy;
}

const tenantRecordOf = (row: RegistryRow): TenantRecord => ({
  id: row.id,
  slug: row.slug,
  name: row.name,
  plan: row.plan,
  status: row.status,
  isolation: row.isolation,
  limits: {
    monthlyBudget: row.monthly_budget,
    bucketCapacity: row.bucket_capacity,
    restoreRate: Number(row.restore_rate),
    maxOperationCost: row.max_operation_cost,
    maxConcurrency: row.max_concurrency,
    softLimitPercent: row.soft_limit_percent,
    gracePercent: row.grace_percent,
  },
  persistedOperations: row.persisted_operations,
});
const TENANT_PATH = /^\/t\/([^/]+)\/graphql$/;
/**
 * The tenant a `/t/{slug}/graphql` path selects. A segment that does not decode (`%zz`) is kept as
 * written: it names no tenant, so it is refused like any other selector that differs from the token.
 */
const pathTenant = (segment: string): string => (decodePathSegment(segment) ?? segment).toLowerCase();

export async function createGateway(options: GatewayOptions) {
  process.env.APOLLO_TELEMETRY_DISABLED ??= '1';
  const { db, store, logger: rootLogger, subgraphUrls, baseDomain = 'localhost', recordUsage } = options;
  const logger = createLogger('gateway', rootLogger.level);
  const metrics = createMetrics('gateway', options.metricsOptions);
  // Bundles the /dashboard page in the background (esbuild, once per process); requests wait for it.
  const dashboard = createDashboard({ logger });
  const authenticator = createAuthenticator(options.auth);
  const contextTokenTtlSeconds = options.contextTokenTtlSeconds ?? 60;
  const sign = createContextSigner({
    privateKey: options.contextPrivateKey,
    kid: options.contextKid,
    ttlSeconds: contextTokenTtlSeconds,
  });
  // Queries and mutations reuse a principal's token for half its lifetime; subscriptions sign their own
  // (each carries its stream's end). Signing per request was measured at 2026-12-06: the light query's
  // throughput ratio fell from 0.934 to 0.875 on average (docs/BENCHMARKS.md).
  const contextTokens = createContextTokenCache(sign, { reuseMs: (contextTokenTtlSeconds * 1000) / 2 });
  // Each request's id goes beside the reused token under a per-subgraph MAC instead.
  const bindRequest = createRequestBinder(options.requestBindingSecret);

  const tenants = createTenantResolver({
    store,
    logger,
    ...options.tenantCache,
    registry: async (slug) => {
      const { rows } = await db.transaction({}, (q) => q.query<RegistryRow>('SELECT * FROM registry_tenant_by_slug($1)', [slug]));
      const row = rows[0];
      return row ? tenantRecordOf(row) : null;
    },
    onPlatformAdminSelect(claims, tenant) {
      const requestId = currentRequestScope()?.requestId ?? null;
      logger.info({ audit: 'platform_admin_selected_tenant', subject: claims.subject, from: claims.tenantSlug, to: tenant.slug }, 'platform-admin acting on another tenant');
      db.transaction({ tenantId: tenant.id }, (q) =>
        q.query(
          `INSERT INTO audit_log (tenant_id, actor, action, resource, resource_id, request_id, detail)
           VALUES (current_tenant_id(), $1, 'platform_admin_selected_tenant', 'Tenant', $2, $3, $4)`,
          [claims.subject, tenant.id, requestId, JSON.stringify({ tokenTenant: claims.tenantSlug })],
        ),
      ).catch((error) => logger.error({ err: error }, 'audit write failed'));
    },
  });
  await tenants.start();

  const supergraphSdl = readFileSync(schemaPath(SUPERGRAPH_FILE), 'utf8');
  const gateway = new ApolloGateway({
    supergraphSdl,
    buildService: ({ name, url }) => new TenantContextDataSource(name, subgraphUrls[name] ?? url!, bindRequest),
  });

  const costModel = createCostModel(supergraphSdl);
  const degraded = new Gauge({
    name: 'gateway_admission_degraded',
    help: '1 while Redis is unreachable and admission runs on this instance alone (fail-open) or refuses (fail-closed)',
    registers: [metrics.registry],
  });
  const degradations = new Counter({
    name: 'gateway_admission_degradations_total',
    help: 'Times admission lost the shared store',
    registers: [metrics.registry],
  });
  const failMode = options.admissionFallback?.failMode ?? 'open';
  const resilient = createResilientAdmission({
    primary: store,
    logger,
    failMode,
    localShare: options.admissionFallback?.localShare,
    probeIntervalMs: options.admissionFallback?.probeIntervalMs,
    onModeChange(mode) {
      degraded.set(mode.kind === 'local' ? 1 : 0);
      if (mode.kind === 'local') {
        degradations.inc();
        // Alone from now on: no operation is admitted from a lease taken before the outage.
        void admitter.returnLeases();
      }
    },
  });
  degraded.set(0);
  // One admitter for HTTP operations and subscriptions: what it learns of a tenant's bucket serves both.
  // Leases save a store call per operation: with Redis a round trip; with the in-process store the
  // asynchronous admission path (its promises, a slot and a script-like update), which on the light
  // query cost about 35 µs of the thread that also serves the subgraphs (docs/BENCHMARKS.md).
  const lease = options.admissionLease ?? {};
  const admitter = createAdmitter({ store: resilient.store, logger, monthToDate: options.monthToDate, lease });
  const admission = createAdmission({
    store: resilient.store,
    admitter,
    costModel,
    logger,
    monthToDate: options.monthToDate,
    onFinished(context, outcome) {
      metrics.observe(outcome.operationName, outcome.status, context.tenant.tenantSlug, outcome.latencyMs / 1000);
      recordUsage?.({
        tenantId: context.tenant.tenantId,
        operationName: outcome.operationName,
        requestedCost: outcome.requestedCost,
        actualCost: outcome.actualCost,
        latencyMs: outcome.latencyMs,
        outcome: outcome.status,
        at: Date.now(),
      });
    },
  });

  const introspection = options.introspection ?? true;
  const guard = createDocumentGuard({ ...options.edgeLimits, introspection });
  const persisted = createPersistedOperations({ ...options.persistedOperations, logger });
  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    introspection,
    includeStacktraceInErrorResponses: false,
    // The manifest is the only registry of persisted operations (graphql-endpoint.ts resolves them):
    // Apollo's automatic persisted queries would let any client register documents at run time.
    persistedQueries: false,
    // The process owns shutdown (scripts/start.ts): Apollo's own signal handlers would stop the server
    // a second time, and that second stop never resolves, so the process would hang on SIGTERM.
    stopOnTerminationSignals: false,
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      // One listener for the gateway's three (request-listeners.ts): each listener costs promises per operation.
      sharedListenerPlugin<GatewayContext>([admission.listener, legacyJsonStatus, forbiddenStatus, ...((options.fieldSuggestions ?? true) ? [] : [noSuggestions])]),
    ],
    formatError(formatted, error) {
      const { error: shown, masked } = maskFormattedError(formatted);
      if (masked) logger.error({ err: error instanceof GraphQLError ? (error.originalError ?? error) : error, path: formatted.path, code: formatted.extensions?.code }, 'unexpected error masked');
      return shown;
    },
  });
  await apollo.start();
  const endpoint = createGraphQLEndpoint({ apollo, guard, persisted, logger });

  const subscriptions = createSubscriptionEngine({
    supergraphSdl,
    subgraphUrls,
    serviceMap: () => dataSources,
    sign,
    costModel,
    admitter,
    logger,
    onStarted(tenant, { operationName, cost }) {
      metrics.observe(operationName, 'ok', tenant.tenantSlug, 0);
      recordUsage?.({ tenantId: tenant.tenantId, operationName, requestedCost: cost, actualCost: cost, latencyMs: 0, outcome: 'ok', at: Date.now() });
    },
  });
  const dataSources = Object.fromEntries(Object.entries(subgraphUrls).map(([name, url]) => [name, new TenantContextDataSource(name, url, bindRequest)]));
  const httpSubscriptions = createHttpSubscriptions({
    engine: subscriptions,
    logger,
    authenticate: (credentials) => authenticate(credentials),
    onTenantChanged: (listener) => tenants.onChanged(listener),
  });
  const socketGauge = new Gauge({ name: 'gateway_websocket_connections', help: 'Open graphql-ws connections', registers: [metrics.registry] });
  const socketRefusals = new Counter({
    name: 'gateway_websocket_refused_total',
    help: 'graphql-ws connections refused for a gateway limit, by reason (tenant_connections: SOCKET_MAX_PER_TENANT)',
    labelNames: ['reason'],
    registers: [metrics.registry],
  });
  const subscriptionGauge = new Gauge({
    name: 'gateway_subscriptions_active',
    help: 'Subscriptions streaming (WebSocket and HTTP)',
    registers: [metrics.registry],
    collect() {
      this.set(subscriptions.active);
    },
  });
  void subscriptionGauge;

  const selectorsOf = (credentials: Credentials) => ({
    header: credentials.tenantHeader,
    subdomain: subdomainOf(credentials.host, baseDomain),
    path: credentials.pathSlug,
  });

  /** Authentication and tenant resolution, the same for an HTTP request and a WebSocket's connection_init. */
  async function authenticate(credentials: Credentials): Promise<Session> {
    const claims = await authenticator.authenticate(credentials.authorization);
    return sessionOf(credentials, claims, await tenants.resolve(claims, selectorsOf(credentials)));
  }

  /**
   * `authenticate` without a promise when the token was verified before and the tenant is in L1 (most
   * requests); undefined when only `authenticate` can tell. Throws the same refusals.
   */
  function authenticateKnown(credentials: Credentials): Session | undefined {
    const claims = authenticator.known(credentials.authorization);
    const record = claims && tenants.resolveKnown(claims, selectorsOf(credentials));
    return record && sessionOf(credentials, claims, record);
  }

  function sessionOf(credentials: Credentials, claims: UserClaims, record: TenantRecord): Session {
    return {
      tenant: {
        tenantId: record.id,
        tenantSlug: record.slug,
        subject: claims.subject,
        roles: claims.roles,
        plan: record.plan,
        isolation: record.isolation,
        requestId: credentials.requestId,
      },
      limits: record.limits,
      expiresAt: claims.expiresAt * 1000,
      // A tenant's policy binds the tenant's own clients; an operator acting on the tenant (who may
      // also act on a suspended one) is not locked out by it. The gateway-wide
      // PERSISTED_OPERATIONS=require still applies to everyone (persisted-operations.ts).
      persistedOperations: claims.roles.includes('platform-admin') ? 'allow' : record.persistedOperations,
    };
  }

  async function handleGraphQL(req: IncomingMessage, res: ServerResponse, url: URL, pathSlug: string | undefined) {
    const started = performance.now();
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    res.setHeader('x-request-id', requestId);
    let session: Awaited<ReturnType<typeof authenticate>>;
    const header = req.headers['x-tenant-id'];
    const credentials: Credentials = {
      authorization: req.headers.authorization,
      tenantHeader: typeof header === 'string' ? header.trim().toLowerCase() || undefined : undefined,
      host: req.headers.host,
      pathSlug,
      requestId,
    };
    try {
      session = authenticateKnown(credentials) ?? (await authenticate(credentials));
    } catch (thrown) {
      const error = ensureGraphQLError(thrown);
      const code = String(error.extensions.code);
      if (code === ErrorCode.INTERNAL_SERVER_ERROR) logger.error({ err: thrown, requestId }, 'authentication failed unexpectedly');
      metrics.observe(null, code, undefined, (performance.now() - started) / 1000);
      const shown = code === ErrorCode.INTERNAL_SERVER_ERROR ? ensureGraphQLError(new Error('masked')) : error;
      return sendGraphQLError(res, shown, code === ErrorCode.UNAUTHENTICATED ? { 'www-authenticate': 'Bearer' } : {});
    }
    const { tenant, limits } = session;
    const request: EndpointRequest = {
      policy: session.persistedOperations,
      // Methods, not arrow properties: tsx names every arrow property it creates (a defineProperty per request).
      async context() {
        return createGatewayContext(tenant, limits, contextTokens);
      },
      onRefused(code: string, operationName: string | null) {
        metrics.observe(operationName, code, tenant.tenantSlug, (performance.now() - started) / 1000);
      },
      // A tenant whose bucket is known to be short gets its 429 here, before Apollo Server (only
      // looked at when this gateway knows anything of the tenant's bucket).
      refuseEarly: admitter.mayRefuseLocally(tenant) ? (params) => admission.refuseEarly({ tenant, limits, startedAt: started }, params) : undefined,
    };
    const scope = { requestId, service: 'gateway', tenant: tenant.tenantSlug };
    // A subscription asked for as a multipart or event stream is served here; anything else by Apollo Server.
    const protocol = req.method === 'POST' ? streamProtocolOf(req.headers.accept) : undefined;
    if (!protocol) return runInRequestScope(scope, () => endpoint.handle(req, res, url, request));

    await runInRequestScope(scope, async () => {
      let body: unknown;
      try {
        body = parseBody(await readBody(req), req.headers['content-type']);
      } catch (error) {
        if (error instanceof BodyError) return sendBodyError(res, error);
        throw error;
      }
      if (body && typeof body === 'object' && !Array.isArray(body)) {
        // The same persisted-operation policy and edge limits as any other operation, before anything else.
        let resolved;
        try {
          resolved = endpoint.prepare(body, session.persistedOperations);
        } catch (thrown) {
          const error = ensureGraphQLError(thrown);
          metrics.observe(null, String(error.extensions.code), tenant.tenantSlug, (performance.now() - started) / 1000);
          return sendGraphQLError(res, error);
        }
        const streamed = { ...(body as StreamRequest), query: resolved.query };
        const document = subscriptionDocumentOf(streamed);
        if (document) return httpSubscriptions.serve(req, res, protocol, session, { ...streamed, document }, credentials);
      }
      // Not a subscription: an ordinary operation (or batch) whose body is read already.
      return endpoint.handle(req, res, url, request, { body });
    });
  }

  async function readiness() {
    const checks: Record<string, boolean> = {};
    const admissionMode = resilient.mode.kind === 'shared' ? 'shared' : `local (fail-${failMode})`;
    await Promise.all([
      ...Object.entries(subgraphUrls).map(async ([name, url]) => {
        try {
          const response = await fetch(url.replace(/\/graphql$/, '/healthz'), { signal: AbortSignal.timeout(2_000) });
          checks[name] = response.ok;
        } catch {
          checks[name] = false;
        }
      }),
      db.ping().then((ok) => (checks.database = ok)),
      store.ping().then((ok) => (checks.store = ok)),
    ]);
    // Without Redis a fail-open gateway still serves (admitting locally): it stays ready, and says so.
    const ready = Object.entries(checks).every(([name, ok]) => ok || (name === 'store' && failMode === 'open'));
    return { ready, checks, admission: admissionMode };
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = requestUrl(req);
    if (!url) return sendBadTarget(res);
    const tenantPath = TENANT_PATH.exec(url.pathname);
    if (url.pathname === '/graphql' || tenantPath) return handleGraphQL(req, res, url, tenantPath ? pathTenant(tenantPath[1]!) : undefined);
    if (url.pathname === '/healthz') return sendJson(res, 200, { status: 'ok', service: 'gateway' });
    if (url.pathname === '/readyz') {
      const { ready, checks, admission: admissionMode } = await readiness();
      return sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks, admission: admissionMode });
    }
    if (url.pathname === '/metrics') {
      res.writeHead(200, { 'content-type': metrics.registry.contentType });
      return res.end(await metrics.registry.metrics());
    }
    if (dashboard.handle(req, res, url)) return;
    if (url.pathname === '/.well-known/jwks.json' && options.auth.devPublicJwk) {
      return sendJson(res, 200, { keys: [options.auth.devPublicJwk] });
    }
    return sendJson(res, 404, { errors: [{ message: 'Not found', extensions: { code: 'NOT_FOUND' } }] });
  }

  const server = serve(handle, logger);
  const sockets = attachGatewayWebSocket({
    server,
    route(pathname) {
      if (pathname === '/graphql') return {};
      const tenantPath = TENANT_PATH.exec(pathname);
      return tenantPath ? { pathSlug: pathTenant(tenantPath[1]!) } : null;
    },
    authenticate,
    prepare: (session, payload) => endpoint.prepare(payload, session.persistedOperations).query,
    engine: subscriptions,
    async execute(session, { document, variables, operationName }) {
      const response = await runInRequestScope({ requestId: session.tenant.requestId, service: 'gateway', tenant: session.tenant.tenantSlug }, () =>
        apollo.executeOperation(
          { query: document, variables, operationName },
          // Each operation on a socket is a request of its own: its own id, context and admission.
          { contextValue: createGatewayContext({ ...session.tenant, requestId: randomUUID() }, session.limits, contextTokens) },
        ),
      );
      return response.body.kind === 'single' ? (response.body.singleResult as ExecutionResult) : { errors: [requestError(ErrorCode.BAD_USER_INPUT, 'Incremental delivery is not available over WebSocket')] };
    },
    logger,
    maxSubscriptionsPerConnection: options.maxSubscriptionsPerConnection,
    maxConnectionsPerTenant: options.maxSocketsPerTenant,
    onRefused: (why) => socketRefusals.inc({ reason: why }),
    onConnectionsChanged: (open) => socketGauge.set(open),
    onTenantChanged: (listener) => tenants.onChanged(listener),
  });

  return {
    server,
    metrics,
    tenants,
    readiness,
    async listen(port: number, host: string): Promise<RunningServer> {
      const running = await listen(server, port, host);
      return {
        ...running,
        close: async () => {
          sockets.close();
          await running.close();
        },
      };
    },
    admission: resilient,
    admitter,
    subscriptions,
    async stop() {
      sockets.close();
      httpSubscriptions.close();
      await subscriptions.close();
      await apollo.stop();
      // What this gateway's leases did not use goes back to the tenants' buckets.
      await admitter.returnLeases();
      await tenants.stop();
      await resilient.close();
    },
  };
}
export type Gateway = Awaited<ReturnType<typeof createGateway>>;
