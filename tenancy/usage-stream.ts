/**
 * The usage stream: the gateway appends one entry per finished operation, the usage subgraph's
 * consumer group aggregates them into PostgreSQL. Both sides of the format live here.
 */
export const USAGE_STREAM = 'usage-events';
export const USAGE_GROUP = 'usage-aggregator';
/**
 * Pub/sub channel on which the usage instance that wrote a batch names its tenants ({ tenants: [ids] })
 * once it is in PostgreSQL: every usage instance's live feed (subgraphs/usage/feed.ts) hears it.
 */
export const USAGE_RECORDED_CHANNEL = 'usage-recorded';

export interface UsageEvent {
  tenantId: string;
  operationName: string | null;
  requestedCost: number;
  actualCost: number;
  latencyMs: number;
  /** "ok" or the first error code. */
  outcome: string;
  /** When the operation finished, ms since the epoch (gateway clock). */
  at: number;
}

export function encodeUsageEvent(event: UsageEvent): Record<string, string> {
  return {
    t: event.tenantId,
    op: event.operationName ?? '',
    rc: String(event.requestedCost),
    ac: String(event.actualCost),
    ms: event.latencyMs.toFixed(3),
    o: event.outcome,
    at: String(event.at),
  };
}

/** Null for an entry that is not a usage event (it is acknowledged and dropped, with a log line). */
export function decodeUsageEvent(fields: Record<string, string>): UsageEvent | null {
  const requestedCost = Number(fields.rc);
  const actualCost = Number(fields.ac);
  const latencyMs = Number(fields.ms);
  const at = Number(fields.at);
  if (!fields.t || !fields.o || ![requestedCost, actualCost, latencyMs, at].every(Number.isFinite)) return null;
  return {
    tenantId: fields.t,
    operationName: fields.op ? fields.op : null,
    requestedCost: Math.round(requestedCost),
    actualCost: Math.round(actualCost),
    latencyMs,
    outcome: fields.o.slice(0, 100),
    at,
  };
}
