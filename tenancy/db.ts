import pg from 'pg';
import type { PGlite } from '@electric-sql/pglite';
import { currentTenantContext } from './context';
import { ErrorCode, graphQLError } from './errors';

/**
 * Database access for every service. The only way to run SQL is inside a transaction that first drops
 * to the application role and sets the tenant with set_config(..., true): transaction-local, so a pooled
 * connection handed to the next request carries nothing over (DESIGN.md invariants 2 and 3).
 */
export const APP_ROLE = 'tenancy_app';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID.test(value);

export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}
export interface Queryable {
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<QueryResult<R>>;
}

export interface TransactionScope {
  /** The tenant whose rows are visible; omitted for registry work that goes through SECURITY DEFINER functions. */
  tenantId?: string;
  /** Only for a verified platform-admin context: may insert and update tenant records. */
  platformAdmin?: boolean;
}

export interface DatabaseStats {
  statements: number;
  transactions: number;
}

export interface Database {
  readonly kind: 'postgres' | 'pglite';
  transaction<T>(scope: TransactionScope, fn: (q: Queryable) => Promise<T>): Promise<T>;
  /** Every statement sent, BEGIN/COMMIT included; tests count them to prove batching. */
  readonly stats: DatabaseStats;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

const SCOPE_SQL = `SELECT set_config('role', '${APP_ROLE}', true), set_config('app.tenant_id', $1, true), set_config('app.platform_admin', $2, true)`;

function scopeParams(scope: TransactionScope): [string, string] {
  if (scope.tenantId !== undefined && !isUuid(scope.tenantId)) {
    throw new Error('transaction scope needs a tenant uuid');
  }
  // Inside a subgraph request the verified context is in AsyncLocalStorage: a transaction for any
  // other tenant is a bug (an id taken from arguments, a loader or closure from another request), and
  // is refused before it reaches the database. Platform-admin work crosses tenants on purpose.
  const verified = currentTenantContext();
  if (verified && scope.tenantId !== undefined && !scope.platformAdmin && scope.tenantId !== verified.tenantId) {
    throw new Error(`a transaction for tenant ${scope.tenantId} inside a request verified for tenant ${verified.tenantId}`);
  }
  return [scope.tenantId ?? '', scope.platformAdmin ? 'on' : 'off'];
}

/**
 * A statement PostgreSQL refused because of a value it was given (SQLSTATE class 22, data exception:
 * a NUL byte in text, a timestamp out of range, a number too large) is the caller's bad input, not
 * our fault: it becomes BAD_USER_INPUT. The database's own message (it may quote the value or name a
 * column) is not shown; the error keeps it as its originalError.
 * Resolvers validate their arguments first; this is the net under anything they missed.
 */
function rejectedInput(error: unknown): never {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('22')) {
    throw graphQLError(ErrorCode.BAD_USER_INPUT, 'An argument has a value the database cannot store or compare', { cause: error });
  }
  throw error;
}

export interface PostgresOptions {
  /** Connection string of the app's pool (APP_DATABASE_URL, else DATABASE_URL). */
  connectionString: string;
  /** @default 10 connections per process */
  max?: number;
}

export function createPostgresDatabase(options: PostgresOptions): Database {
  const { connectionString, max = 10 } = options;
  const pool = new pg.Pool({ connectionString, max, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 5_000 });
  // An idle client's error (server restart) must not crash the process: the pool drops that client.
  pool.on('error', () => {});
  const stats: DatabaseStats = { statements: 0, transactions: 0 };
  return {
    kind: 'postgres',
    stats,
    async transaction(scope, fn) {
      const params = scopeParams(scope);
      const client = await pool.connect();
      const q: Queryable = {
        async query(text, values) {
          stats.statements++;
          const result = await client.query(text, values as unknown[]).catch(rejectedInput);
          return { rows: result.rows, rowCount: result.rowCount ?? 0 };
        },
      };
      stats.transactions++;
      let broken = false;
      try {
        stats.statements += 2;
        await client.query('BEGIN');
        await client.query(SCOPE_SQL, params);
        const result = await fn(q);
        stats.statements++;
        await client.query('COMMIT');
        return result;
      } catch (error) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true;
        }
        throw error;
      } finally {
        client.release(broken);
      }
    },
    async ping() {
      try {
        await pool.query('SELECT 1');
        return true;
      } catch {
        return false;
      }
    },
    close: () => pool.end(),
  };
}

/**
 * Embedded PostgreSQL. PGlite runs as a superuser, which bypasses RLS even with FORCE, so every
 * transaction drops to the app role like the pg driver does (DESIGN.md, known traps). PGlite has one
 * backend: its transaction() serialises callers.
 */
export function createPgliteDatabase(db: PGlite): Database {
  const stats: DatabaseStats = { statements: 0, transactions: 0 };
  return {
    kind: 'pglite',
    stats,
    async transaction(scope, fn) {
      const params = scopeParams(scope);
      stats.transactions++;
      stats.statements += 3; // BEGIN, scope, COMMIT
      return db.transaction(async (tx) => {
        await tx.query(SCOPE_SQL, params);
        return fn({
          async query(text, values) {
            stats.statements++;
            const result = await tx.query(text, values as unknown[]).catch(rejectedInput);
            return { rows: result.rows as never[], rowCount: result.affectedRows ?? result.rows.length };
          },
        });
      });
    },
    async ping() {
      return !db.closed;
    },
    close: async () => {
      if (!db.closed) await db.close();
    },
  };
}

/** Owner-level access for migrations and seeding: raw multi-statement SQL. */
export interface AdminConnection {
  exec(sql: string): Promise<void>;
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
  close(): Promise<void>;
}

export async function openPostgresAdmin(connectionString: string): Promise<AdminConnection> {
  const client = new pg.Client({ connectionString });
  client.on('error', () => {});
  await client.connect();
  return {
    exec: async (sql) => {
      await client.query(sql);
    },
    query: async (text, params) => (await client.query(text, params)).rows,
    close: () => client.end(),
  };
}

export function pgliteAdmin(db: PGlite): AdminConnection {
  return {
    exec: async (sql) => {
      await db.exec(sql);
    },
    query: async <R>(text: string, params?: unknown[]) => (await db.query<R>(text, params)).rows,
    close: async () => {},
  };
}
