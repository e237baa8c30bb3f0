// The bench's own data, made for one run and removed after it, so `npm run bench` can be pointed at a
// developer's PostgreSQL and Redis without touching what is there:
//  - PostgreSQL (DATABASE_URL set): a new database `tenancy_bench_<random>` on that server, which the
//    stack migrates and seeds, dropped at the end. Embedded mode uses an in-memory PGlite.
//  - Redis (REDIS_URL set): every key under a random prefix, deleted at the end.
//  - In that database the bench tenant's plan gets limits no bench can reach, so admission runs its
//    whole path (pricing, concurrency slot, token bucket, refund) on every request but never rejects:
//    a 429 answers much faster than a real response and would flatter the throughput.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { AdminConnection } from '../tenancy/db';

export interface ScratchData {
  /** Environment overrides for loadConfig: the scratch database in place of the given one. */
  env: Record<string, string>;
  storePrefix: string;
  /** Removes the scratch database and the prefixed Redis keys (after the stack is closed). */
  drop(): Promise<void>;
}

const withDatabase = (url: string, name: string): string => {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
};

async function onServer<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function createScratchData(env: NodeJS.ProcessEnv): Promise<ScratchData> {
  const id = randomBytes(4).toString('hex');
  const storePrefix = `bench:${id}:`;
  const overrides: Record<string, string> = { PGLITE_DATA_DIR: '' }; // '' = unset: in-memory PGlite
  let database: string | undefined;
  if (env.DATABASE_URL) {
    database = `tenancy_bench_${id}`;
    await onServer(env.DATABASE_URL, (client) => client.query(`CREATE DATABASE ${database}`));
    overrides.DATABASE_URL = withDatabase(env.DATABASE_URL, database);
    if (env.APP_DATABASE_URL) overrides.APP_DATABASE_URL = withDatabase(env.APP_DATABASE_URL, database);
  }
  return {
    env: overrides,
    storePrefix,
    async drop() {
      if (env.DATABASE_URL && database) {
        const name = database;
        await onServer(env.DATABASE_URL, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
      }
      if (env.REDIS_URL) {
        const redis = new Redis(env.REDIS_URL, { lazyConnect: true });
        await redis.connect();
        try {
          const keys: string[] = [];
          for await (const batch of redis.scanStream({ match: `${storePrefix}*`, count: 500 })) keys.push(...(batch as string[]));
          if (keys.length > 0) await redis.del(...keys);
        } finally {
          redis.disconnect();
        }
      }
    },
  };
}

/** Limits far above what two cores can send (the columns are PostgreSQL integers). */
const UNREACHABLE = { monthlyBudget: 2_000_000_000, bucketCapacity: 2_000_000_000, restoreRate: 1e9, maxOperationCost: 1_000_000, maxConcurrency: 100_000 };

/** In the scratch database only: lifts the plan's limits so admission never rejects a bench request. */
export async function liftPlanLimits(admin: AdminConnection, plan: string): Promise<void> {
  const rows = await admin.query<{ name: string }>(
    `UPDATE plans SET monthly_budget = $2, bucket_capacity = $3, restore_rate = $4, max_operation_cost = $5, max_concurrency = $6
     WHERE name = $1 RETURNING name`,
    [plan, UNREACHABLE.monthlyBudget, UNREACHABLE.bucketCapacity, UNREACHABLE.restoreRate, UNREACHABLE.maxOperationCost, UNREACHABLE.maxConcurrency],
  );
  if (rows.length !== 1) throw new Error(`plan ${plan} not found: cannot lift its limits for the bench`);
}
