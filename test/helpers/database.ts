import { PGlite } from '@electric-sql/pglite';
import {
  createPgliteDatabase,
  createPostgresDatabase,
  openPostgresAdmin,
  pgliteAdmin,
  type AdminConnection,
  type Database,
} from '../../tenancy/db';
import { migrate } from '../../tenancy/migrate';
import { seed } from '../../tenancy/seed';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * A throwaway PostgreSQL database per test file when DATABASE_URL is set, so files run in parallel
 * without sharing rows; undefined when it is not (the stack then uses embedded PGlite).
 */
export async function createScratchDatabase(): Promise<{ url: string; appUrl: string; drop(): Promise<void> } | undefined> {
  const base = process.env.DATABASE_URL;
  if (!base) return undefined;
  const name = `tenancy_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  // The app pool logs in as the app role itself, as production does (CI's PostgreSQL trusts local logins).
  const appUrl = new URL(url);
  appUrl.username = 'tenancy_app';
  appUrl.password = '';
  return {
    url: url.toString(),
    appUrl: appUrl.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: base });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/** A migrated, seeded database (scratch PostgreSQL when DATABASE_URL is set, else PGlite) without servers. */
export async function openTestDatabase(options: { poolMax?: number } = {}): Promise<{
  db: Database;
  admin: AdminConnection;
  url?: string;
  close(): Promise<void>;
}> {
  const scratch = await createScratchDatabase();
  if (scratch) {
    const admin = await openPostgresAdmin(scratch.url);
    await migrate(admin);
    await seed(admin);
    const db = createPostgresDatabase({ connectionString: scratch.appUrl, max: options.poolMax ?? 4 });
    return {
      db,
      admin,
      url: scratch.url,
      async close() {
        await db.close();
        await admin.close();
        await scratch.drop();
      },
    };
  }
  const pglite = new PGlite();
  const admin = pgliteAdmin(pglite);
  await migrate(admin);
  await seed(admin);
  const db = createPgliteDatabase(pglite);
  return { db, admin, close: () => db.close() };
}
