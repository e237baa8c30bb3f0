// The composition root: builds and starts the services this process runs, from a validated Config.
// `npm start` and the test helpers both use it, so tests run exactly what users run.
import { PGlite } from '@electric-sql/pglite';
import { importJWK, type CryptoKey, type JWK } from 'jose';
import { requestBindingSecretFrom } from '../tenancy/context-token';
import type { Config } from '../tenancy/config';
import {
  createPgliteDatabase,
  createPostgresDatabase,
  openPostgresAdmin,
  pgliteAdmin,
  type AdminConnection,
  type Database,
} from '../tenancy/db';
import { keyPairFromPrivateJwk, loadOrCreateDevKeys, type KeyPair } from '../tenancy/keys';
import { createLogger, type Logger } from '../tenancy/logger';
import { migrate } from '../tenancy/migrate';
import { seed } from '../tenancy/seed';
import { createMemoryStore, createRedisStore, type KeyValueStore } from '../tenancy/store';
import { announceTenantChanged } from '../tenancy/tenant-cache';
import type { RunningServer } from '../tenancy/subgraph-server';
import { createGateway, type Gateway } from '../gateway/src/server';
import { createPetsSubgraph } from '../subgraphs/pets/server';
import { createTenantsSubgraph } from '../subgraphs/tenants/server';
import { createUsageSubgraph } from '../subgraphs/usage/server';
import { startUsageConsumer, type UsageConsumer } from '../subgraphs/usage/metering';
import { monthToDate } from '../subgraphs/usage/repository';
import { createUsageSink, type UsageSink } from '../gateway/src/usage-sink';
import { USAGE_GROUP, USAGE_STREAM } from '../tenancy/usage-stream';

type SubgraphName = 'pets' | 'tenants' | 'usage';

export interface Stack {
  urls: Partial<Record<'gateway' | 'pets' | 'tenants' | 'usage', string>>;
  db: Database;
  /** Owner-level connection, kept only when asked for (tests change plans with it). */
  admin?: AdminConnection;
  /** The embedded database, when there is one (a second stack in the same process may share it). */
  pglite?: PGlite;
  store: KeyValueStore;
  /** The gateway's context key pair (absent in a subgraph-only process) and the dev issuer's. */
  keys: { context?: KeyPair; issuer?: KeyPair };
  gateway?: Gateway;
  /** Stops and starts a subgraph of this process on the same port (a restart, as a test needs it). */
  subgraphs: Partial<Record<SubgraphName, { stop(): Promise<void>; start(): Promise<void> }>>;
  usage: {
    sink?: UsageSink;
    consumer?: UsageConsumer;
    /** Resolves when every operation finished so far is aggregated in PostgreSQL (tests). */
    flush(timeoutMs?: number): Promise<void>;
  };
  logger: Logger;
  close(): Promise<void>;
}

export interface StackOptions {
  /** A PGlite instance to reuse (tests share one per file); otherwise one is made when DATABASE_URL is unset. */
  pglite?: PGlite;
  /** Keep the owner connection open after migrations (it is closed otherwise: no process should hold one). */
  keepAdmin?: boolean;
  /** A store to share (two gateways in one test process); the stack does not close it. */
  store?: KeyValueStore;
  /** Prefix for Redis keys and channels, so parallel test files sharing a Redis stay apart. */
  storePrefix?: string;
  logger?: Logger;
}

async function openDatabase(
  config: Config,
  options: StackOptions,
  logger: Logger,
): Promise<{ db: Database; admin: AdminConnection; pglite?: PGlite }> {
  let admin: AdminConnection;
  let db: Database;
  let pglite: PGlite | undefined;
  if (config.DATABASE_URL) {
    admin = await openPostgresAdmin(config.DATABASE_URL);
    db = createPostgresDatabase({ connectionString: config.APP_DATABASE_URL ?? config.DATABASE_URL, max: config.DB_POOL_MAX });
  } else {
    pglite = options.pglite ?? new PGlite(config.PGLITE_DATA_DIR);
    await pglite.waitReady;
    admin = pgliteAdmin(pglite);
    db = createPgliteDatabase(pglite);
  }
  await migrate(admin, logger);
  if (config.SEED) await seed(admin);
  return { db, admin, pglite };
}

export async function startStack(config: Config, options: StackOptions = {}): Promise<Stack> {
  process.env.APOLLO_TELEMETRY_DISABLED ??= '1';
  const logger = options.logger ?? createLogger('stack', config.LOG_LEVEL);
  const services = new Set(config.SERVICES);
  // Dev keys only where nothing else provides them: a subgraph-only process with CONTEXT_PUBLIC_JWK,
  // or a gateway with CONTEXT_PRIVATE_JWK and the dev issuer off, never touches the keys file.
  const needsDevContext = !config.CONTEXT_PRIVATE_JWK && (services.has('gateway') || !config.CONTEXT_PUBLIC_JWK);
  const needsDevIssuer = config.devIssuer && services.has('gateway');
  const devKeys = needsDevContext || needsDevIssuer ? await loadOrCreateDevKeys(config.devKeysFile) : undefined;
  const context = config.CONTEXT_PRIVATE_JWK ? await keyPairFromPrivateJwk(JSON.parse(config.CONTEXT_PRIVATE_JWK) as JWK) : devKeys?.context;
  const contextPublicKey = config.CONTEXT_PUBLIC_JWK
    ? ((await importJWK(JSON.parse(config.CONTEXT_PUBLIC_JWK) as JWK, 'ES256')) as CryptoKey)
    : context!.publicKey;

  const { db, admin: owner, pglite } = await openDatabase(config, options, logger);
  const admin = options.keepAdmin ? owner : undefined;
  if (!admin) await owner.close();
  const store =
    options.store ?? (config.REDIS_URL ? await createRedisStore({ url: config.REDIS_URL, prefix: options.storePrefix }) : createMemoryStore());
  const closers: Array<() => Promise<void>> = [];
  const urls: Stack['urls'] = {};
  // Request-id bindings (tenancy/context-token.ts): the configured secret, else one derived from the
  // context signing key that gateway and subgraphs already share in development (the dev keys file).
  const requestBindingSecret = config.CONTEXT_MAC_SECRET ? Buffer.from(config.CONTEXT_MAC_SECRET) : requestBindingSecretFrom(context!.privateJwk);
  const deps = { db, contextPublicKey, requestBindingSecret, logger, metricsOptions: { maxTenantLabels: config.METRICS_MAX_TENANT_LABELS } };

  type Started = { name: SubgraphName; running: RunningServer; stop: () => Promise<void> };
  const started: Started[] = [];
  const subgraphFactories = {
    pets: () => createPetsSubgraph(deps),
    tenants: () =>
      createTenantsSubgraph({
        ...deps,
        // The change is saved; if the store is away the gateways' caches age out instead (L1 5 s, L2 30 s).
        tenantChanged: (slug) =>
          announceTenantChanged(store, slug).catch((error) => logger.warn({ err: error, slug }, 'tenant change not announced; caches will expire')),
      }),
    usage: () => createUsageSubgraph({ ...deps, store, feedIntervalMs: config.QUOTA_FEED_INTERVAL_MS }),
  };
  const ports = { pets: config.PETS_PORT, tenants: config.TENANTS_PORT, usage: config.USAGE_PORT };
  const launch = async (name: SubgraphName, port: number): Promise<Started> => {
    const subgraph = await subgraphFactories[name]();
    const running = await subgraph.listen(port, config.HOST);
    return { name, running, stop: subgraph.stop };
  };
  for (const name of ['pets', 'tenants', 'usage'] as const) {
    if (!services.has(name)) continue;
    const entry = await launch(name, ports[name]);
    started.push(entry);
    urls[name] = entry.running.url;
  }

  let consumer: UsageConsumer | undefined;
  if (services.has('usage') && config.USAGE_CONSUMER) {
    consumer = startUsageConsumer({ store, db, logger });
    closers.push(() => consumer!.stop());
  }

  let gateway: Gateway | undefined;
  let sink: UsageSink | undefined;
  if (services.has('gateway')) {
    sink = createUsageSink({ store, logger, batchMs: config.USAGE_BATCH_MS });
    if (!services.has('usage') && store.kind === 'memory') {
      logger.warn('this gateway has no usage service beside it and no REDIS_URL: usage is not aggregated');
    }
    gateway = await createGateway({
      db,
      store,
      logger,
      subgraphUrls: {
        pets: urls.pets ?? config.subgraphUrls.pets,
        tenants: urls.tenants ?? config.subgraphUrls.tenants,
        usage: urls.usage ?? config.subgraphUrls.usage,
      },
      contextPrivateKey: context!.privateKey,
      contextKid: context!.kid,
      requestBindingSecret,
      contextTokenTtlSeconds: config.CONTEXT_TOKEN_TTL_SECONDS,
      auth: {
        issuer: config.AUTH_ISSUER,
        audience: config.AUTH_AUDIENCE,
        jwksUrl: config.AUTH_JWKS_URL,
        devPublicJwk: config.devIssuer ? devKeys?.issuer.publicJwk : undefined,
        algorithms: config.AUTH_ALGORITHMS,
        clockSkewSeconds: config.AUTH_CLOCK_SKEW_SECONDS,
      },
      baseDomain: config.BASE_DOMAIN,
      tenantCache: { l1TtlMs: config.TENANT_CACHE_L1_TTL_MS, l2TtlSeconds: config.TENANT_CACHE_L2_TTL_SECONDS },
      metricsOptions: { maxTenantLabels: config.METRICS_MAX_TENANT_LABELS },
      recordUsage: sink.record,
      monthToDate: (tenantId) => db.transaction({ tenantId }, monthToDate),
      admissionFallback: { failMode: config.ADMISSION_FAIL_MODE, localShare: config.ADMISSION_LOCAL_SHARE },
      admissionLease: config.ADMISSION_LEASE_MS > 0 ? { windowMs: config.ADMISSION_LEASE_MS } : false,
      introspection: config.NODE_ENV !== 'production',
      fieldSuggestions: config.NODE_ENV !== 'production',
      edgeLimits: {
        maxDocumentBytes: config.GRAPHQL_MAX_DOCUMENT_BYTES,
        maxDepth: config.GRAPHQL_MAX_DEPTH,
        maxAliases: config.GRAPHQL_MAX_ALIASES,
        maxRootFields: config.GRAPHQL_MAX_ROOT_FIELDS,
        maxBatchSize: config.GRAPHQL_MAX_BATCH_SIZE,
      },
      persistedOperations: {
        mode: config.PERSISTED_OPERATIONS,
        manifestFile: config.persistedOperationsFile,
        // Development may run before the SDK's manifest is generated; production must not.
        manifestRequired: config.NODE_ENV === 'production',
      },
      maxSubscriptionsPerConnection: config.SUBSCRIPTION_MAX_PER_CONNECTION,
      maxSocketsPerTenant: config.SOCKET_MAX_PER_TENANT,
    });
    const running = await gateway.listen(config.GATEWAY_PORT, config.HOST);
    urls.gateway = running.url;
    // The gateway closes first, so its last usage events still reach a running consumer.
    closers.unshift(async () => {
      await running.close();
      await gateway!.stop();
      await sink!.close();
    });
  }
  // Subgraphs close after the gateway, in the state they are in then (a test may have stopped one).
  closers.push(async () => {
    for (const entry of started) {
      await entry.running.close();
      await entry.stop();
    }
    started.length = 0;
  });
  const subgraphs = Object.fromEntries(
    (['pets', 'tenants', 'usage'] as const).filter((name) => services.has(name)).map((name) => [
      name,
      {
        async stop() {
          const index = started.findIndex((entry) => entry.name === name);
          if (index < 0) return;
          const [entry] = started.splice(index, 1);
          await entry!.running.close();
          await entry!.stop();
        },
        async start() {
          if (started.some((entry) => entry.name === name)) return;
          started.push(await launch(name, new URL(urls[name]!).port ? Number(new URL(urls[name]!).port) : ports[name]));
        },
      },
    ]),
  ) as Stack['subgraphs'];

  return {
    urls,
    db,
    admin,
    pglite,
    store,
    keys: { context, issuer: devKeys?.issuer },
    gateway,
    subgraphs,
    usage: {
      sink,
      consumer,
      async flush(timeoutMs = 10_000) {
        await sink?.flush();
        const deadline = Date.now() + timeoutMs;
        while ((await store.streamBacklog(USAGE_STREAM, USAGE_GROUP)) > 0) {
          if (Date.now() > deadline) throw new Error('usage stream not drained in time');
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      },
    },
    logger,
    async close() {
      for (const close of closers) await close().catch((error) => logger.error({ err: error }, 'close failed'));
      if (!options.store) await store.close();
      await admin?.close();
      if (!options.pglite) await db.close();
    },
  };
}
