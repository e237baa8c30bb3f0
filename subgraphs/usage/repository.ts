import type { Queryable } from '../../tenancy/db';
import type { Plan } from '../../tenancy/context';
import type { UsageEvent } from '../../tenancy/usage-stream';

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
  /**
   * Filled by the live feed (feed.ts), which reads everything a dashboard shows in one transaction per
   * tenant and change, instead of one query per subscriber per event. Absent on the query path.
   */
  recent?: OperationRow[];
  minutes?: MinuteRow[];
}
export interface MinuteRow {
  minute: Date;
  cost: number;
  operations: number;
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
 * The caller's tenant's month so far, from the usage aggregates. Months are calendar months in UTC.
 * Limits are the tenant's effective ones (its overrides, else its plan's current version).
 */
export async function quotaOfTenants(q: Queryable, ids: readonly string[]): Promise<QuotaRow[]> {
  const { rows } = await q.query<QuotaRow>(
    `SELECT t.id AS "tenantId", e.plan, e.monthly_budget AS "limit", e.restore_rate AS "restoreRate",
       coalesce((SELECT m.cost FROM usage_month m
                 WHERE m.tenant_id = t.id AND m.month = (date_trunc('month', now() AT TIME ZONE 'UTC'))::date), 0)::int AS used,
       coalesce((SELECT sum(m.cost) FROM usage_minute m
                 WHERE m.tenant_id = t.id AND m.minute > now() - make_interval(mins => $2)), 0)::float8 / $2 AS "burnRatePerMinute",
       (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC' AS "resetsAt"
     FROM tenants t JOIN tenant_effective_limits e ON e.tenant_id = t.id
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

/** Most minutes usageByMinute returns, and most operations recentOperations on QuotaStatus returns. */
export const MAX_MINUTES = 60;
export const MAX_RECENT = 50;

/** The last `minutes` minutes of the tenant's spend, oldest first, idle minutes included as zero. */
export async function usageByMinute(q: Queryable, minutes: number): Promise<MinuteRow[]> {
  const { rows } = await q.query<MinuteRow>(
    `SELECT g.minute, coalesce(m.cost, 0)::int AS cost, coalesce(m.operations, 0)::int AS operations
     FROM generate_series(date_trunc('minute', now()) - make_interval(mins => $1 - 1), date_trunc('minute', now()), interval '1 minute') AS g(minute)
     LEFT JOIN usage_minute m ON m.tenant_id = current_tenant_id() AND m.minute = g.minute
     ORDER BY g.minute`,
    [minutes],
  );
  return rows;
}

/**
 * Writes one tenant's usage events, inside that tenant's transaction, in one statement: raw events
 * (idempotent on the stream id: a redelivered entry is not counted twice) and, from the rows really
 * inserted, the per-minute and per-month aggregates.
 */
export async function recordUsage(q: Queryable, events: ReadonlyArray<UsageEvent & { streamId: string }>): Promise<number> {
  if (events.length === 0) return 0;
  const { rows } = await q.query<{ inserted: number }>(
    `WITH ins AS (
       INSERT INTO usage_events (tenant_id, stream_id, operation_name, requested_cost, actual_cost, latency_ms, outcome, created_at)
       SELECT current_tenant_id(), * FROM unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::real[], $6::text[], $7::timestamptz[])
       ON CONFLICT (tenant_id, stream_id) DO NOTHING
       RETURNING created_at, actual_cost
     ), minutes AS (
       INSERT INTO usage_minute (tenant_id, minute, cost, operations)
       SELECT current_tenant_id(), date_trunc('minute', created_at), sum(actual_cost), count(*) FROM ins GROUP BY 2
       ON CONFLICT (tenant_id, minute) DO UPDATE
         SET cost = usage_minute.cost + excluded.cost, operations = usage_minute.operations + excluded.operations
     ), months AS (
       INSERT INTO usage_month (tenant_id, month, cost, operations)
       SELECT current_tenant_id(), (date_trunc('month', created_at AT TIME ZONE 'UTC'))::date, sum(actual_cost), count(*) FROM ins GROUP BY 2
       ON CONFLICT (tenant_id, month) DO UPDATE
         SET cost = usage_month.cost + excluded.cost, operations = usage_month.operations + excluded.operations
     )
     SELECT count(*)::int AS inserted FROM ins`,
    [
      events.map((e) => e.streamId),
      events.map((e) => e.operationName),
      events.map((e) => e.requestedCost),
      events.map((e) => e.actualCost),
      events.map((e) => e.latencyMs),
      events.map((e) => e.outcome),
      events.map((e) => new Date(e.at).toISOString()),
    ],
  );
  return rows[0]?.inserted ?? 0;
}

/** The tenant's spend this month (UTC), from the aggregate: what a gateway seeds its counter with. */
export async function monthToDate(q: Queryable): Promise<number> {
  const { rows } = await q.query<{ used: number }>(
    `SELECT coalesce((SELECT cost FROM usage_month WHERE tenant_id = current_tenant_id()
                      AND month = (date_trunc('month', now() AT TIME ZONE 'UTC'))::date), 0)::float8 AS used`,
  );
  return Number(rows[0]?.used ?? 0);
}
