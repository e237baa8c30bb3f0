import type { Queryable } from '../../tenancy/db';
import type { Plan } from '../../tenancy/context';

export interface TenantRef {
  id: string;
}
export interface QuotaRow {
  tenantId: string;
  plan: Plan;
  limit: number;
  used: number;
  restoreRate: number;
  burnRatePerMinute: number;
  resetsAt: Date;
}
export interface OperationRow {
  operationName: string | null;
  cost: number;
  latencyMs: number;
  outcome: string;
  at: Date;
}

/** Minutes of history the burn rate averages over. */
export const BURN_WINDOW_MINUTES = 5;

/**
 * The caller's tenant's month so far, from recorded usage. Months are calendar months in UTC. The
 * plan comes from the tenants registry row (RLS shows only the caller's), limits from the plans table.
 */
export async function quotaOfTenants(q: Queryable, ids: readonly string[]): Promise<QuotaRow[]> {
  const { rows } = await q.query<QuotaRow>(
    `WITH month AS (SELECT date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS start)
     SELECT t.id AS "tenantId", p.name AS plan, p.monthly_budget AS "limit", p.restore_rate AS "restoreRate",
       coalesce((SELECT sum(u.actual_cost) FROM usage_events u, month
                 WHERE u.tenant_id = t.id AND u.created_at >= month.start), 0)::int AS used,
       coalesce((SELECT sum(u.actual_cost) FROM usage_events u
                 WHERE u.tenant_id = t.id AND u.created_at >= now() - make_interval(mins => $2)), 0)::float8 / $2 AS "burnRatePerMinute",
       (SELECT (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC') AS "resetsAt"
     FROM tenants t JOIN plans p ON p.name = t.plan
     WHERE t.id = current_tenant_id() AND t.id = ANY($1::uuid[])`,
    [ids, BURN_WINDOW_MINUTES],
  );
  return rows;
}

export async function recentOperations(q: Queryable, first: number): Promise<OperationRow[]> {
  const { rows } = await q.query<OperationRow>(
    `SELECT operation_name AS "operationName", actual_cost AS cost, latency_ms AS "latencyMs", outcome, created_at AS at
     FROM usage_events WHERE tenant_id = current_tenant_id() ORDER BY created_at DESC, id DESC LIMIT $1`,
    [first],
  );
  return rows;
}

export interface UsageEvent {
  tenantId: string;
  operationName: string | null;
  requestedCost: number;
  actualCost: number;
  latencyMs: number;
  outcome: string;
}

/** Appends one tenant's usage events (one statement), inside that tenant's transaction. */
export async function insertUsage(q: Queryable, events: readonly UsageEvent[]): Promise<void> {
  if (events.length === 0) return;
  await q.query(
    `INSERT INTO usage_events (tenant_id, operation_name, requested_cost, actual_cost, latency_ms, outcome)
     SELECT current_tenant_id(), * FROM unnest($1::text[], $2::int[], $3::int[], $4::real[], $5::text[])`,
    [
      events.map((e) => e.operationName),
      events.map((e) => e.requestedCost),
      events.map((e) => e.actualCost),
      events.map((e) => e.latencyMs),
      events.map((e) => e.outcome),
    ],
  );
}
