import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Umzug, type UmzugStorage } from 'umzug';
import type { AdminConnection } from './db';
import type { Logger } from './logger';

const MIGRATIONS_DIR = fileURLToPath(new URL('../db/migrations/', import.meta.url));
/** One advisory lock key for every process migrating the same database at once. */
const MIGRATION_LOCK = 727_001;

class TableStorage implements UmzugStorage {
  constructor(private readonly admin: AdminConnection) {}
  async logMigration({ name }: { name: string }) {
    await this.admin.query('INSERT INTO schema_migrations (name) VALUES ($1)', [name]);
  }
  async unlogMigration({ name }: { name: string }) {
    await this.admin.query('DELETE FROM schema_migrations WHERE name = $1', [name]);
  }
  async executed() {
    const rows = await this.admin.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name');
    return rows.map((r) => r.name);
  }
}

/**
 * Applies db/migrations/*.sql in order, each once, serialised across processes by an advisory lock.
 * Roles are cluster-wide while the lock is per database: two databases of one cluster migrating at
 * once can collide on the role catalog ("tuple concurrently updated"), so that error is retried.
 */
export async function migrate(admin: AdminConnection, logger?: Logger): Promise<string[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await migrateOnce(admin, logger);
    } catch (error) {
      const text = String((error as { cause?: unknown }).cause ?? error) + String(error);
      if (attempt >= 5 || !/tuple concurrently updated|duplicate key value violates unique constraint "pg_authid/.test(text)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt + Math.random() * 100));
    }
  }
}

async function migrateOnce(admin: AdminConnection, logger?: Logger): Promise<string[]> {
  await admin.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
  try {
    await admin.exec('CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    const umzug = new Umzug({
      migrations: {
        glob: ['*.sql', { cwd: MIGRATIONS_DIR }],
        resolve: ({ name, path }) => ({
          name,
          up: async () => {
            const sql = readFileSync(path!, 'utf8');
            await admin.exec(`BEGIN;\n${sql}\nCOMMIT;`);
          },
        }),
      },
      storage: new TableStorage(admin),
      logger: undefined,
    });
    const applied = await umzug.up();
    if (applied.length) logger?.info({ migrations: applied.map((m) => m.name) }, 'migrations applied');
    return applied.map((m) => m.name);
  } catch (error) {
    await admin.exec('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    await admin.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
  }
}
