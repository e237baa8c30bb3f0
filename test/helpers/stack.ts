import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { loadConfig, type Config } from '../../tenancy/config';
import { issueDevToken } from '../../tenancy/dev-issuer';
import { startStack, type Stack } from '../../scripts/stack';
import { createScratchDatabase } from './database';

export interface TestStack extends Stack {
  admin: NonNullable<Stack['admin']>;
  config: Config;
  /** Prefix of this stack's Redis keys and channels (another gateway joins the same "cluster" with it). */
  storePrefix: string;
  /** A dev-issuer token for a seeded tenant. */
  token(tenant: string, options?: { roles?: string[]; sub?: string; ttlSeconds?: number }): Promise<string>;
  /** POSTs a GraphQL request to the gateway (or another URL) and returns status, headers and body. */
  gql<T = any>(
    query: string,
    options?: { token?: string; variables?: Record<string, unknown>; headers?: Record<string, string>; url?: string },
  ): Promise<{ status: number; headers: Headers; body: { data?: T; errors?: Array<{ message: string; extensions?: Record<string, any> }>; extensions?: Record<string, any> } }>;
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
    ...(scratch ? { DATABASE_URL: scratch.url, APP_DATABASE_URL: scratch.appUrl } : {}),
    ...env,
  });
  const storePrefix = `test:${randomBytes(4).toString('hex')}:`;
  const stack = await startStack(config, { storePrefix, keepAdmin: true });
  const tenantIds = new Map<string, string>();
  return {
    ...stack,
    admin: stack.admin!,
    config,
    storePrefix,
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
      // node:http rather than fetch: fetch drops a Host header, and tests select tenants by Host.
      const { status, headers, text } = await httpPost(options.url ?? stack.urls.gateway!, JSON.stringify({ query, variables: options.variables }), {
        'content-type': 'application/json',
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...options.headers,
      });
      let body;
      try {
        body = JSON.parse(text);
      } catch {
        throw new Error(`non-JSON response ${status}: ${text.slice(0, 200)}`);
      }
      return { status, headers, body };
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

/** A POST with exactly the headers given (Host included). */
export function httpPost(url: string, body: string, headers: Record<string, string>): Promise<{ status: number; headers: Headers; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-length': String(Buffer.byteLength(body)), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const out = new Headers();
        for (const [key, value] of Object.entries(res.headers)) if (typeof value === 'string') out.set(key, value);
        resolve({ status: res.statusCode ?? 0, headers: out, text: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
