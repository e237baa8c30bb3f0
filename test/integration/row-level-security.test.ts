// DESIGN.md invariants 2 and 3 at the database: RLS filters every tenant-owned table for a role that
// cannot bypass it, and the tenant lives in the transaction, never in the pooled session.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database, AdminConnection } from '../../tenancy/db';
import { APP_ROLE } from '../../tenancy/db';
import { openTestDatabase } from '../helpers/database';

let db: Database;
let admin: AdminConnection;
let close: () => Promise<void>;
let acme: string;
let fluffy: string;

beforeAll(async () => {
  // One pooled connection: every transaction below reuses the same backend.
  ({ db, admin, close } = await openTestDatabase({ poolMax: 1 }));
  const ids = async (slug: string) =>
    (await db.transaction({}, (q) => q.query<{ id: string }>('SELECT id FROM registry_tenant_by_slug($1)', [slug]))).rows[0]!.id;
  acme = await ids('acme-pets');
  fluffy = await ids('fluffy-friends');
});
afterAll(() => close?.());

const TENANT_TABLES = ['users', 'pets', 'tenant_config', 'usage_events', 'audit_log', 'tenant_limit_overrides', 'tenant_limit_history', 'usage_minute', 'usage_month'];

describe('schema', () => {
  it('runs app transactions as a role that is neither superuser, BYPASSRLS, nor owner of any table', async () => {
    const { rows } = await db.transaction({ tenantId: acme }, (q) =>
      q.query<{ who: string; rolsuper: boolean; rolbypassrls: boolean; owned: number }>(
        `SELECT current_user AS who, r.rolsuper, r.rolbypassrls,
                (SELECT count(*)::int FROM pg_class c WHERE c.relowner = r.oid AND c.relkind = 'r') AS owned
         FROM pg_roles r WHERE r.rolname = current_user`,
      ),
    );
    expect(rows[0]).toEqual({ who: APP_ROLE, rolsuper: false, rolbypassrls: false, owned: 0 });
  });

  it('enables and forces RLS, with a policy, on every table that has tenant_id', async () => {
    const rows = await admin.query<{ table: string; enabled: boolean; forced: boolean; policies: number }>(
      `SELECT c.relname AS table, c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced,
              (SELECT count(*)::int FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
       FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id'
       JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
       WHERE c.relkind = 'r' ORDER BY 1`,
    );
    expect(rows.map((r) => r.table).sort()).toEqual([...TENANT_TABLES].sort());
    for (const row of rows) expect(row).toMatchObject({ enabled: true, forced: true });
    for (const row of rows) expect(row.policies).toBeGreaterThan(0);
    const tenants = await admin.query<{ enabled: boolean; forced: boolean }>(
      `SELECT relrowsecurity AS enabled, relforcerowsecurity AS forced FROM pg_class WHERE relname = 'tenants'`,
    );
    expect(tenants[0]).toEqual({ enabled: true, forced: true });
  });

  it('leads every primary key, unique key and foreign key of a tenant table with tenant_id (Citus-ready)', async () => {
    const rows = await admin.query<{ table: string; kind: string; columns: string[] }>(
      `SELECT c.relname AS table, k.contype AS kind,
              array(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY u(n, i)
                    JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.i) AS columns
       FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
       WHERE c.relname = ANY($1) AND k.contype IN ('p', 'u', 'f')`,
      [TENANT_TABLES],
    );
    expect(rows.length).toBeGreaterThan(TENANT_TABLES.length);
    for (const row of rows) expect({ table: row.table, kind: row.kind, first: row.columns[0] }).toEqual({ table: row.table, kind: row.kind, first: 'tenant_id' });
  });
});

describe('row-level security', () => {
  it('shows only the transaction tenant even when a query forgets WHERE tenant_id', async () => {
    const acmeRows = await db.transaction({ tenantId: acme }, (q) => q.query<{ tenant_id: string }>('SELECT tenant_id FROM pets'));
    expect(acmeRows.rows.length).toBeGreaterThan(0);
    expect(new Set(acmeRows.rows.map((r) => r.tenant_id))).toEqual(new Set([acme]));
    const users = await db.transaction({ tenantId: fluffy }, (q) => q.query<{ tenant_id: string }>('SELECT tenant_id FROM users'));
    expect(new Set(users.rows.map((r) => r.tenant_id))).toEqual(new Set([fluffy]));
    const tenants = await db.transaction({ tenantId: fluffy }, (q) => q.query<{ id: string }>('SELECT id FROM tenants'));
    expect(tenants.rows).toEqual([{ id: fluffy }]);
  });

  it('shows nothing when no tenant is set', async () => {
    for (const table of [...TENANT_TABLES, 'tenants']) {
      const { rows } = await db.transaction({}, (q) => q.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`));
      expect({ table, n: rows[0]!.n }).toEqual({ table, n: 0 });
    }
  });

  it("refuses to write a row into another tenant, and cannot touch another tenant's rows", async () => {
    await expect(
      db.transaction({ tenantId: acme }, (q) => q.query(`INSERT INTO pets (tenant_id, name, species) VALUES ($1, 'intruder', 'cat')`, [fluffy])),
    ).rejects.toThrow(/row-level security/);
    const updated = await db.transaction({ tenantId: acme }, (q) => q.query(`UPDATE pets SET name = 'pwned' WHERE tenant_id = $1`, [fluffy]));
    expect(updated.rowCount).toBe(0);
    const deleted = await db.transaction({ tenantId: acme }, (q) => q.query(`DELETE FROM users WHERE tenant_id = $1`, [fluffy]));
    expect(deleted.rowCount).toBe(0);
    await expect(
      db.transaction({ tenantId: acme }, (q) => q.query(`UPDATE pets SET tenant_id = $1 WHERE tenant_id = $2`, [fluffy, acme])),
    ).rejects.toThrow(/row-level security/);
  });

  it('lets only a platform-admin transaction write the tenants registry', async () => {
    await expect(
      db.transaction({ tenantId: acme }, (q) => q.query(`UPDATE tenants SET plan = 'enterprise' WHERE id = $1 RETURNING id`, [acme])),
    ).resolves.toMatchObject({ rowCount: 0 });
    await expect(
      db.transaction({ tenantId: acme }, (q) => q.query(`INSERT INTO tenants (slug, name) VALUES ('sneaky', 'Sneaky')`)),
    ).rejects.toThrow(/row-level security/);
  });

  // PostgreSQL checks SET ROLE against the session user. When the pool logs in as a member of
  // tenancy_app only (APP_DATABASE_URL, as production requires), SQL cannot leave the app role.
  // PGlite has a single superuser session, so there the guarantee rests on the app never issuing it.
  it.runIf(process.env.DATABASE_URL)('cannot leave the app role or switch RLS off when the pool logs in as the app role', async () => {
    await expect(db.transaction({ tenantId: acme }, (q) => q.query(`SET LOCAL ROLE tenancy_registry`))).rejects.toThrow(/permission denied/);
    await expect(db.transaction({ tenantId: acme }, (q) => q.query(`RESET ROLE`).then(() => q.query('SELECT count(*) FROM pets WHERE tenant_id <> current_tenant_id()')))).resolves.toMatchObject({ rows: [{ count: '0' }] });
    await expect(
      db.transaction({ tenantId: acme }, (q) => q.query(`SET LOCAL row_security = off`).then(() => q.query('SELECT count(*) FROM pets'))),
    ).rejects.toThrow(/row-level security/);
  });
});

describe('pooled connections', () => {
  it('carries nothing from one tenant to the next transaction on the same connection', async () => {
    const first = await db.transaction({ tenantId: acme }, (q) =>
      q.query<{ pid: number; tenant: string }>(`SELECT pg_backend_pid() AS pid, current_setting('app.tenant_id', true) AS tenant`),
    );
    expect(first.rows[0]!.tenant).toBe(acme);
    const next = await db.transaction({}, (q) =>
      q.query<{ pid: number; tenant: string; pets: number }>(
        `SELECT pg_backend_pid() AS pid, coalesce(current_setting('app.tenant_id', true), '') AS tenant, (SELECT count(*)::int FROM pets) AS pets`,
      ),
    );
    expect(next.rows[0]!.pid).toBe(first.rows[0]!.pid); // the same backend was reused
    expect(next.rows[0]).toMatchObject({ tenant: '', pets: 0 });
    const other = await db.transaction({ tenantId: fluffy }, (q) => q.query<{ tenant_id: string }>('SELECT DISTINCT tenant_id FROM pets'));
    expect(other.rows).toEqual([{ tenant_id: fluffy }]);
  });

  it('resets the tenant and the role after a failed transaction too', async () => {
    await expect(db.transaction({ tenantId: acme }, (q) => q.query('SELECT 1/0'))).rejects.toThrow();
    const after = await db.transaction({}, (q) => q.query<{ tenant: string }>(`SELECT coalesce(current_setting('app.tenant_id', true), '') AS tenant`));
    expect(after.rows[0]!.tenant).toBe('');
    const session = await admin.query<{ who: string; tenant: string }>(
      `SELECT current_user AS who, coalesce(current_setting('app.tenant_id', true), '') AS tenant`,
    );
    expect(session[0]!.who).not.toBe(APP_ROLE);
  });

  it('keeps interleaved transactions of two tenants apart', async () => {
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => {
        const tenantId = i % 2 ? acme : fluffy;
        return db
          .transaction({ tenantId }, (q) => q.query<{ tenant_id: string }>('SELECT tenant_id FROM pets'))
          .then(({ rows }) => ({ tenantId, seen: [...new Set(rows.map((r) => r.tenant_id))] }));
      }),
    );
    for (const { tenantId, seen } of results) expect(seen).toEqual([tenantId]);
  });
});

describe('registry functions', () => {
  it('registry_tenant_by_slug returns one tenant record and nothing else', async () => {
    const { rows } = await db.transaction({}, (q) => q.query('SELECT * FROM registry_tenant_by_slug($1)', ['acme-pets']));
    expect(rows).toHaveLength(1);
    expect(Object.keys(rows[0]!).sort()).toEqual(['bucket_capacity', 'grace_percent', 'id', 'isolation', 'max_concurrency', 'max_operation_cost', 'monthly_budget', 'name', 'persisted_operations', 'plan', 'restore_rate', 'slug', 'soft_limit_percent', 'status']);
  });
});
