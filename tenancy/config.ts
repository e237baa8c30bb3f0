import { resolve } from 'node:path';
import { z } from 'zod';

/**
 * Every environment variable the stack reads, parsed once at start-up. A bad value stops the process
 * with the variable's name and the value received (STYLE.md, "Configuration fails fast").
 */
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const port = z.coerce.number().int().min(0).max(65_535);
const url = z.string().url();
const csv = z.string().transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean));

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().default('127.0.0.1'),
  GATEWAY_PORT: port.default(4000),
  PETS_PORT: port.default(4001),
  TENANTS_PORT: port.default(4002),
  USAGE_PORT: port.default(4003),
  /** Which services this process runs. */
  SERVICES: csv.pipe(z.array(z.enum(['gateway', 'pets', 'tenants', 'usage']))).default(['gateway', 'pets', 'tenants', 'usage']),
  PETS_URL: url.optional(),
  TENANTS_URL: url.optional(),
  USAGE_URL: url.optional(),
  DATABASE_URL: url.optional(),
  APP_DATABASE_URL: url.optional(),
  DB_POOL_MAX: z.coerce.number().int().min(1).max(500).default(10),
  PGLITE_DATA_DIR: z.string().optional(),
  REDIS_URL: url.optional(),
  AUTH_ISSUER: z.string().min(1).default('urn:tenancy:dev-issuer'),
  AUTH_AUDIENCE: z.string().min(1).default('urn:tenancy:api'),
  AUTH_JWKS_URL: url.optional(),
  AUTH_DEV_ISSUER: bool.optional(),
  AUTH_ALGORITHMS: csv.pipe(z.array(z.enum(['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA']))).default(['ES256', 'RS256', 'EdDSA', 'PS256']),
  AUTH_CLOCK_SKEW_SECONDS: z.coerce.number().int().min(0).max(300).default(30),
  CONTEXT_PRIVATE_JWK: z.string().optional(),
  CONTEXT_PUBLIC_JWK: z.string().optional(),
  CONTEXT_MAC_SECRET: z.string().min(32, 'at least 32 characters').optional(),
  CONTEXT_TOKEN_TTL_SECONDS: z.coerce.number().int().min(5).max(600).default(60),
  DEV_KEYS_FILE: z.string().default('.data/dev-keys.json'),
  BASE_DOMAIN: z.string().default('localhost'),
  TENANT_CACHE_L1_TTL_MS: z.coerce.number().int().min(0).default(5_000),
  TENANT_CACHE_L2_TTL_SECONDS: z.coerce.number().int().min(1).default(30),
  METRICS_MAX_TENANT_LABELS: z.coerce.number().int().min(0).max(10_000).default(50),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SEED: bool.default(true),
  /** While Redis is unreachable: admit from a local bucket (open) or refuse with 503 (closed). */
  ADMISSION_FAIL_MODE: z.enum(['open', 'closed']).default('open'),
  /** This gateway's share of each tenant's limits while it admits alone (1/N for N gateways). */
  ADMISSION_LOCAL_SHARE: z.coerce.number().gt(0).max(1).default(1),
  /**
   * With Redis: how long a gateway admits a tenant's operations from a lease (a share of its bucket and
   * a few slots taken in one step, while the tenant is far from its limits) before returning what it did
   * not use; 0 asks Redis for every operation (gateway/src/admission.ts LeaseOptions).
   */
  ADMISSION_LEASE_MS: z.coerce.number().int().min(0).max(10_000).default(500),
  /**
   * Longest a finished operation's usage event waits in the gateway before its batch is appended to
   * the usage stream (one XADD per batch; gateway/src/usage-sink.ts). Budgets do not wait for it: the
   * month counter is charged at admission.
   */
  USAGE_BATCH_MS: z.coerce.number().int().min(1).max(5_000).default(250),
  /** Whether this process's usage service aggregates the usage stream (turn off to run aggregation elsewhere). */
  USAGE_CONSUMER: bool.default(true),
  /** Least time between two live quota updates of one tenant's subscribers (Subscription.quotaStatus). */
  QUOTA_FEED_INTERVAL_MS: z.coerce.number().int().min(50).max(60_000).default(500),
  /** Most operations (subscriptions, queries in flight) one WebSocket connection may run at once. */
  SUBSCRIPTION_MAX_PER_CONNECTION: z.coerce.number().int().min(1).max(1_000).default(20),
  /** WebSocket connections one tenant may hold open on one gateway instance (0: no limit). */
  SOCKET_MAX_PER_TENANT: z.coerce.number().int().min(0).max(10_000_000).default(5_000),
  // Edge limits of the gateway (gateway/src/edge-limits.ts, docs/edge-hardening.md).
  /** Largest GraphQL document, in UTF-8 bytes of the query string. */
  GRAPHQL_MAX_DOCUMENT_BYTES: z.coerce.number().int().min(256).max(1_048_576).default(16_384),
  /** Deepest field nesting of an operation (root fields are depth 1). */
  GRAPHQL_MAX_DEPTH: z.coerce.number().int().min(1).max(1_000).default(12),
  /** Most aliases in an operation (fragments counted where spread). */
  GRAPHQL_MAX_ALIASES: z.coerce.number().int().min(0).max(10_000).default(30),
  /** Most root fields in an operation. */
  GRAPHQL_MAX_ROOT_FIELDS: z.coerce.number().int().min(1).max(1_000).default(15),
  /** Most operations in one batched POST; 0 refuses batches. */
  GRAPHQL_MAX_BATCH_SIZE: z.coerce.number().int().min(0).max(100).default(10),
  /** Persisted operations: off, allow (each tenant's policy decides) or require (for every tenant). */
  PERSISTED_OPERATIONS: z.enum(['off', 'allow', 'require']).default('allow'),
  /** The Apollo persisted-query manifest (generated with the SDK); optional outside production. */
  PERSISTED_OPERATIONS_FILE: z.string().default('sdk/persisted-operations.json'),
});

export type Env = z.infer<typeof schema>;

export interface Config extends Env {
  devIssuer: boolean;
  devKeysFile: string;
  /** PERSISTED_OPERATIONS_FILE, resolved against the working directory. */
  persistedOperationsFile: string;
  subgraphUrls: { pets: string; tenants: string; usage: string };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      return `  ${name}=${JSON.stringify(env[name])}: ${issue.message}`;
    });
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const devIssuer = e.AUTH_DEV_ISSUER ?? e.NODE_ENV !== 'production';
  const fail = (line: string) => {
    throw new Error(`Invalid configuration:\n  ${line}`);
  };
  const runsGateway = e.SERVICES.includes('gateway');
  const runsSubgraphOnly = !runsGateway;
  if (e.NODE_ENV === 'production' && runsGateway && !e.AUTH_JWKS_URL) fail('AUTH_JWKS_URL=undefined: required when NODE_ENV=production');
  if (e.NODE_ENV === 'production' && runsGateway && !e.CONTEXT_PRIVATE_JWK) fail('CONTEXT_PRIVATE_JWK=undefined: required when NODE_ENV=production');
  // Without it a subgraph-only process would make its own dev key and refuse every gateway request.
  if (e.NODE_ENV === 'production' && runsSubgraphOnly && !e.CONTEXT_PUBLIC_JWK) fail('CONTEXT_PUBLIC_JWK=undefined: required for subgraphs when NODE_ENV=production');
  // Gateway and subgraphs must share it; outside production it is derived from the context key.
  if (e.NODE_ENV === 'production' && !e.CONTEXT_MAC_SECRET) fail('CONTEXT_MAC_SECRET=undefined: required when NODE_ENV=production (the same secret in every gateway and subgraph process)');
  if (!e.CONTEXT_MAC_SECRET && !e.CONTEXT_PRIVATE_JWK && e.CONTEXT_PUBLIC_JWK && runsSubgraphOnly) {
    fail('CONTEXT_MAC_SECRET=undefined: required for subgraphs given CONTEXT_PUBLIC_JWK (the secret cannot be derived from a public key)');
  }
  if (e.AUTH_JWKS_URL && e.AUTH_ISSUER === 'urn:tenancy:dev-issuer') {
    fail(`AUTH_ISSUER="${e.AUTH_ISSUER}": set it to the issuer (iss) of the tokens that AUTH_JWKS_URL's keys sign`);
  }
  if (e.NODE_ENV === 'production' && e.DATABASE_URL && !e.APP_DATABASE_URL) {
    fail('APP_DATABASE_URL=undefined: required when NODE_ENV=production (a login role that is a member of tenancy_app)');
  }
  const local = (p: number) => `http://127.0.0.1:${p}/graphql`;
  return {
    ...e,
    devIssuer,
    devKeysFile: resolve(e.DEV_KEYS_FILE),
    persistedOperationsFile: resolve(e.PERSISTED_OPERATIONS_FILE),
    subgraphUrls: {
      pets: e.PETS_URL ?? local(e.PETS_PORT),
      tenants: e.TENANTS_URL ?? local(e.TENANTS_PORT),
      usage: e.USAGE_URL ?? local(e.USAGE_PORT),
    },
  };
}
