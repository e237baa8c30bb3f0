import type { Queryable } from '../../tenancy/db';
import type { IsolationTier, Plan, PlanLimits, TenantStatus } from '../../tenancy/context';
import { LIMITS, overridesOf, type LimitField, type LimitRanges, type Overrides } from './limits';

export interface TenantRow {
  id: string;
  slug: string;
  name: string;
  plan: Plan;
  status: TenantStatus;
  isolation: IsolationTier;
  createdAt: Date;
  /** The tenant's own persisted-operation policy; null: its plan's applies. */
  persistedOperations: PersistedOperationsPolicy | null;
  /** Its plan's policy. */
  planPersistedOperations: PersistedOperationsPolicy;
}
/** db/migrations/0005: whether a tenant may send documents of its own, or only persisted operations. */
export type PersistedOperationsPolicy = 'allow' | 'require';
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

const TENANT = `id, slug, name, plan, status, isolation, created_at AS "createdAt", persisted_operations AS "persistedOperations",
  (SELECT p.persisted_operations FROM plans p WHERE p.name = tenants.plan) AS "planPersistedOperations"`;
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

/** Inside a platform-admin transaction: the tenant's own persisted-operation policy (null: its plan's). */
export async function setTenantPersistedOperations(q: Queryable, id: string, policy: PersistedOperationsPolicy | null): Promise<TenantRow | null> {
  const { rows } = await q.query<TenantRow>(`UPDATE tenants SET persisted_operations = $2 WHERE id = $1 RETURNING ${TENANT}`, [id, policy]);
  return rows[0] ?? null;
}

/** Inside a platform-admin transaction: a plan's persisted-operation policy; false when there is no such plan. */
export async function setPlanPersistedOperations(q: Queryable, plan: Plan, policy: PersistedOperationsPolicy): Promise<boolean> {
  const { rows } = await q.query<{ name: string }>(`UPDATE plans SET persisted_operations = $2 WHERE name = $1 RETURNING name`, [plan, policy]);
  return rows.length > 0;
}

export async function setTenantStatus(q: Queryable, id: string, status: TenantStatus): Promise<TenantRow | null> {
  const { rows } = await q.query<TenantRow>(`UPDATE tenants SET status = $2 WHERE id = $1 RETURNING ${TENANT}`, [id, status]);
  return rows[0] ?? null;
}

// ---- Quota limits (db/migrations/0003): plans as versioned data, tenant overrides and their history.

/** A tenant's effective limits (tenant_effective_limits), keyed by the tenant's id. */
export interface LimitsRow extends PlanLimits {
  id: string;
}
export interface OverridesRow extends Overrides {
  id: string;
  version: number;
}
/** One version of a plan, with the override ranges in force today. */
export interface PlanVersionRow {
  name: Plan;
  version: number;
  limits: PlanLimits;
  allowedRanges: LimitRanges;
  createdAt: Date;
  createdBy: string;
  /** The plan's current persisted-operation policy; null on a past version (it is not versioned). */
  persistedOperations: PersistedOperationsPolicy | null;
}
export interface LimitChangeRow {
  version: number;
  action: 'set' | 'revert';
  revertedTo: number | null;
  changedBy: string;
  changedAt: Date;
  before: Overrides;
  after: Overrides;
}

const limitColumns = (alias: string) => LIMITS.map(({ column, field }) => `${alias}.${column} AS "${field}"`).join(', ');
const pickLimits = (row: Record<string, unknown>): PlanLimits =>
  Object.fromEntries(LIMITS.map(({ field }) => [field, Number(row[field])])) as unknown as PlanLimits;
const pickOverrides = (row: Record<string, unknown>): Overrides =>
  Object.fromEntries(LIMITS.map(({ field }) => [field, row[field] === null ? null : Number(row[field])])) as unknown as Overrides;

export async function effectiveLimitsByTenantIds(q: Queryable, ids: readonly string[]): Promise<LimitsRow[]> {
  const sql = `SELECT e.tenant_id AS id, ${limitColumns('e')} FROM tenant_effective_limits e WHERE e.tenant_id = ANY($1::uuid[])`;
  return (await q.query<Record<string, unknown>>(sql, [ids])).rows.map((row) => ({ id: String(row.id), ...pickLimits(row) }));
}

/** Tenants without a row have never been overridden: version 0, every limit null. */
export async function overridesByTenantIds(q: Queryable, ids: readonly string[]): Promise<OverridesRow[]> {
  const sql = `SELECT o.tenant_id AS id, o.version, ${limitColumns('o')} FROM tenant_limit_overrides o
               WHERE o.tenant_id = current_tenant_id() AND o.tenant_id = ANY($1::uuid[])`;
  return (await q.query<Record<string, unknown>>(sql, [ids])).rows.map((row) => ({ id: String(row.id), version: Number(row.version), ...pickOverrides(row) }));
}

/**
 * Inside a platform-admin transaction of the tenant: its overrides row (made on first use), locked
 * until commit so that two concurrent changes cannot take the same version, and the tenant's plan.
 */
export async function lockOverrides(q: Queryable): Promise<{ plan: Plan; version: number; overrides: Overrides }> {
  await q.query(`INSERT INTO tenant_limit_overrides (tenant_id) VALUES (current_tenant_id()) ON CONFLICT (tenant_id) DO NOTHING`);
  const { rows } = await q.query<Record<string, unknown>>(
    `SELECT t.plan, o.version, ${limitColumns('o')}
     FROM tenant_limit_overrides o JOIN tenants t ON t.id = o.tenant_id
     WHERE o.tenant_id = current_tenant_id() FOR UPDATE OF o`,
  );
  const row = rows[0]!;
  return { plan: row.plan as Plan, version: Number(row.version), overrides: pickOverrides(row) };
}

export async function saveOverrides(q: Queryable, overrides: Overrides, version: number, actor: string): Promise<void> {
  const sets = LIMITS.map(({ column }, i) => `${column} = $${i + 1}`).join(', ');
  const n = LIMITS.length;
  await q.query(
    `UPDATE tenant_limit_overrides SET ${sets}, version = $${n + 1}, updated_by = $${n + 2}, updated_at = now()
     WHERE tenant_id = current_tenant_id()`,
    [...LIMITS.map(({ field }) => overrides[field]), version, actor],
  );
}

export async function appendLimitHistory(q: Queryable, change: Omit<LimitChangeRow, 'changedAt'>): Promise<void> {
  await q.query(
    `INSERT INTO tenant_limit_history (tenant_id, version, action, reverted_to, before, after, changed_by)
     VALUES (current_tenant_id(), $1, $2, $3, $4::jsonb, $5::jsonb, $6)`,
    [change.version, change.action, change.revertedTo, JSON.stringify(change.before), JSON.stringify(change.after), change.changedBy],
  );
}

const HISTORY = `version, action, reverted_to AS "revertedTo", changed_by AS "changedBy", changed_at AS "changedAt", before, after`;
const historyRowOf = (row: LimitChangeRow): LimitChangeRow => ({ ...row, before: overridesOf(row.before), after: overridesOf(row.after) });

export async function limitHistory(q: Queryable, tenantId: string, first: number): Promise<LimitChangeRow[]> {
  const sql = `SELECT ${HISTORY} FROM tenant_limit_history WHERE tenant_id = current_tenant_id() AND tenant_id = $1
               ORDER BY version DESC LIMIT $2`;
  return (await q.query<LimitChangeRow>(sql, [tenantId, first])).rows.map(historyRowOf);
}

export async function limitHistoryEntry(q: Queryable, version: number): Promise<LimitChangeRow | null> {
  const sql = `SELECT ${HISTORY} FROM tenant_limit_history WHERE tenant_id = current_tenant_id() AND version = $1`;
  const row = (await q.query<LimitChangeRow>(sql, [version])).rows[0];
  return row ? historyRowOf(row) : null;
}

export async function limitRanges(q: Queryable, plans: readonly Plan[]): Promise<Map<Plan, LimitRanges>> {
  const { rows } = await q.query<{ plan: Plan; limitName: string; min: number; max: number }>(
    `SELECT plan, limit_name AS "limitName", min_value AS min, max_value AS max FROM plan_limit_ranges WHERE plan = ANY($1::text[])`,
    [plans],
  );
  const byPlan = new Map<Plan, LimitRanges>(plans.map((plan) => [plan, Object.fromEntries(LIMITS.map(({ field }) => [field, null])) as LimitRanges]));
  const fieldOf = new Map(LIMITS.map(({ column, field }) => [column, field] as [string, LimitField]));
  for (const row of rows) {
    const field = fieldOf.get(row.limitName);
    if (field) byPlan.get(row.plan)![field] = { min: Number(row.min), max: Number(row.max) };
  }
  return byPlan;
}

/** The current version of each plan (or of one), ordered from the smallest plan up. */
export async function currentPlans(q: Queryable, options: { plan?: Plan; forUpdate?: boolean } = {}): Promise<PlanVersionRow[]> {
  const { rows } = await q.query<Record<string, unknown>>(
    `SELECT p.name, p.version, ${limitColumns('p')}, p.persisted_operations AS "persistedOperations",
            coalesce(v.created_at, now()) AS "createdAt", coalesce(v.created_by, 'unknown') AS "createdBy"
     FROM plans p LEFT JOIN plan_versions v ON v.plan = p.name AND v.version = p.version
     WHERE $1::text IS NULL OR p.name = $1
     ORDER BY p.monthly_budget, p.name
     ${options.forUpdate ? 'FOR UPDATE OF p' : ''}`,
    [options.plan ?? null],
  );
  return withRanges(q, rows);
}

export async function planVersions(q: Queryable, plan: Plan, first: number): Promise<PlanVersionRow[]> {
  const { rows } = await q.query<Record<string, unknown>>(
    `SELECT v.plan AS name, v.version, ${limitColumns('v')}, v.created_at AS "createdAt", v.created_by AS "createdBy"
     FROM plan_versions v WHERE v.plan = $1 ORDER BY v.version DESC LIMIT $2`,
    [plan, first],
  );
  return withRanges(q, rows);
}

async function withRanges(q: Queryable, rows: Record<string, unknown>[]): Promise<PlanVersionRow[]> {
  if (rows.length === 0) return [];
  const ranges = await limitRanges(q, [...new Set(rows.map((row) => row.name as Plan))]);
  return rows.map((row) => ({
    name: row.name as Plan,
    version: Number(row.version),
    limits: pickLimits(row),
    allowedRanges: ranges.get(row.name as Plan)!,
    createdAt: row.createdAt as Date,
    createdBy: String(row.createdBy),
    persistedOperations: (row.persistedOperations as PersistedOperationsPolicy | undefined) ?? null,
  }));
}

/**
 * Inside a platform-admin transaction: new limits for a plan. The plans_versioned trigger bumps the
 * version and appends it to plan_versions with app.actor as its author.
 */
export async function updatePlanLimits(q: Queryable, plan: Plan, limits: PlanLimits, actor: string): Promise<void> {
  await q.query(`SELECT set_config('app.actor', $1, true)`, [actor]);
  const sets = LIMITS.map(({ column }, i) => `${column} = $${i + 2}`).join(', ');
  await q.query(`UPDATE plans SET ${sets} WHERE name = $1`, [plan, ...LIMITS.map(({ field }) => limits[field])]);
}

/** Inside a platform-admin transaction (which sees every tenant): the slugs of a plan's tenants. */
export async function slugsOnPlan(q: Queryable, plan: Plan): Promise<string[]> {
  return (await q.query<{ slug: string }>(`SELECT slug FROM tenants WHERE plan = $1 ORDER BY slug`, [plan])).rows.map((r) => r.slug);
}

export async function currentTenantRow(q: Queryable): Promise<TenantRow | null> {
  return (await q.query<TenantRow>(`SELECT ${TENANT} FROM tenants WHERE id = current_tenant_id()`)).rows[0] ?? null;
}
