import type { Queryable } from '../../tenancy/db';
import type { IsolationTier, Plan, TenantStatus } from '../../tenancy/context';

export interface TenantRow {
  id: string;
  slug: string;
  name: string;
  plan: Plan;
  status: TenantStatus;
  isolation: IsolationTier;
  createdAt: Date;
}
export interface UserRow {
  id: string;
  tenantId: string;
  email: string;
  name: string;
  role: 'admin' | 'member' | 'viewer';
  createdAt: Date;
}
export interface ConfigRow {
  key: string;
  value: string;
  updatedAt: Date;
}

const TENANT = `id, slug, name, plan, status, isolation, created_at AS "createdAt"`;
const USER = `id, tenant_id AS "tenantId", email, name, role, created_at AS "createdAt"`;

export async function tenantsByIds(q: Queryable, ids: readonly string[]): Promise<TenantRow[]> {
  return (await q.query<TenantRow>(`SELECT ${TENANT} FROM tenants WHERE id = ANY($1::uuid[])`, [ids])).rows;
}

export async function usersByIds(q: Queryable, ids: readonly string[]): Promise<UserRow[]> {
  const sql = `SELECT ${USER} FROM users WHERE tenant_id = current_tenant_id() AND id = ANY($1::uuid[])`;
  return (await q.query<UserRow>(sql, [ids])).rows;
}

export async function userByEmail(q: Queryable, email: string): Promise<UserRow | null> {
  const sql = `SELECT ${USER} FROM users WHERE tenant_id = current_tenant_id() AND lower(email) = lower($1)`;
  return (await q.query<UserRow>(sql, [email])).rows[0] ?? null;
}

export async function listUsers(q: Queryable, first: number): Promise<UserRow[]> {
  const sql = `SELECT ${USER} FROM users WHERE tenant_id = current_tenant_id() ORDER BY created_at, id LIMIT $1`;
  return (await q.query<UserRow>(sql, [first])).rows;
}

export async function listConfig(q: Queryable): Promise<ConfigRow[]> {
  const sql = `SELECT key, value, updated_at AS "updatedAt" FROM tenant_config WHERE tenant_id = current_tenant_id() ORDER BY key`;
  return (await q.query<ConfigRow>(sql)).rows;
}

export async function upsertConfig(q: Queryable, key: string, value: string): Promise<ConfigRow> {
  const sql = `INSERT INTO tenant_config (tenant_id, key, value) VALUES (current_tenant_id(), $1, $2)
               ON CONFLICT (tenant_id, key) DO UPDATE SET value = excluded.value, updated_at = now()
               RETURNING key, value, updated_at AS "updatedAt"`;
  return (await q.query<ConfigRow>(sql, [key, value])).rows[0]!;
}

export async function deleteConfig(q: Queryable, key: string): Promise<boolean> {
  return (await q.query(`DELETE FROM tenant_config WHERE tenant_id = current_tenant_id() AND key = $1`, [key])).rowCount > 0;
}

/** Inside a platform-admin transaction: the tenant row, then its first admin, in that tenant's scope. */
export async function insertTenant(
  q: Queryable,
  tenant: { slug: string; name: string; plan: Plan; isolation: IsolationTier },
  admin: { email: string; name: string },
): Promise<TenantRow> {
  const { rows } = await q.query<TenantRow>(
    `INSERT INTO tenants (slug, name, plan, isolation) VALUES ($1, $2, $3, $4) RETURNING ${TENANT}`,
    [tenant.slug, tenant.name, tenant.plan, tenant.isolation],
  );
  const created = rows[0]!;
  await q.query(`SELECT set_config('app.tenant_id', $1, true)`, [created.id]);
  await q.query(`INSERT INTO users (tenant_id, email, name, role) VALUES ($1, $2, $3, 'admin')`, [created.id, admin.email, admin.name]);
  return created;
}

export async function setTenantStatus(q: Queryable, id: string, status: TenantStatus): Promise<TenantRow | null> {
  const { rows } = await q.query<TenantRow>(`UPDATE tenants SET status = $2 WHERE id = $1 RETURNING ${TENANT}`, [id, status]);
  return rows[0] ?? null;
}
