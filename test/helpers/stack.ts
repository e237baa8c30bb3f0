import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadConfig, type Config } from '../../tenancy/config';
import { issueDevToken } from '../../tenancy/dev-issuer';
import { startStack, type Stack } from '../../scripts/stack';
import { createScratchDatabase } from './database';

export interface TestStack extends Stack {
  config: Config;
  /** A dev-issuer token for a seeded tenant. */
  token(tenant: string, options?: { roles?: string[]; sub?: string; ttlSeconds?: number }): Promise<string>;
  /** POSTs a GraphQL request to the gateway (or another URL) and returns status, headers and body. */
  gql<T = any>(
    query: string,
    options?: { token?: string; variables?: Record<string, unknown>; headers?: Record<string, string>; url?: string },
  ): Promise<{ status: number; headers: Headers; body: { data?: T; errors?: Array<{ message: string; extensions?: Record<string, any> }> } }>;
  /** The seeded tenant's id. */
  tenantId(slug: string): Promise<string>;
}

/**
 * The whole stack on free ports: real HTTP between gateway and subgraphs, real PostgreSQL and Redis
 * when DATABASE_URL / REDIS_URL are set (a scratch database and a key prefix per file), else PGlite
 * and the in-process store.
 */
export async function startTestStack(env: Record<string, string> = {}): Promise<TestStack> {
  const scratch = await createScratchDatabase();
  const keysDir = mkdtempSync(join(tmpdir(), 'tenancy-keys-'));
  const config = loadConfig({
    ...process.env,
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    GATEWAY_PORT: '0',
    PETS_PORT: '0',
    TENANTS_PORT: '0',
    USAGE_PORT: '0',
    DEV_KEYS_FILE: join(keysDir, 'dev-keys.json'),
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    ...(scratch ? { DATABASE_URL: scratch.url } : {}),
    ...env,
  });
  const stack = await startStack(config, { storePrefix: `test:${randomBytes(4).toString('hex')}:` });
  const tenantIds = new Map<string, string>();
  return {
    ...stack,
    config,
    async close() {
      await stack.close();
      await scratch?.drop();
    },
    token: (tenant, options = {}) =>
      issueDevToken(stack.keys.issuer!, {
        tenant,
        subject: options.sub ?? `admin@${tenant}.example`,
        roles: options.roles ?? ['admin'],
        ttlSeconds: options.ttlSeconds ?? 600,
        audience: config.AUTH_AUDIENCE,
      }),
    async gql(query, options = {}) {
      const response = await fetch(options.url ?? stack.urls.gateway!, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          ...options.headers,
        },
        body: JSON.stringify({ query, variables: options.variables }),
      });
      const text = await response.text();
      let body;
      try {
        body = JSON.parse(text);
      } catch {
        throw new Error(`non-JSON response ${response.status}: ${text.slice(0, 200)}`);
      }
      return { status: response.status, headers: response.headers, body };
    },
    async tenantId(slug) {
      let id = tenantIds.get(slug);
      if (!id) {
        const rows = await stack.db.transaction({}, (q) => q.query<{ id: string }>('SELECT id FROM registry_tenant_by_slug($1)', [slug]));
        id = rows.rows[0]!.id;
        tenantIds.set(slug, id);
      }
      return id;
    },
  };
}
