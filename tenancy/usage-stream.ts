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

/**
 * One stream entry for many events (what the gateway appends: one XADD per batch instead of one per
 * operation, for the gateway's CPU and Redis's): field `batch`, a JSON array of
 * [tenantId, operationName, requestedCost, actualCost, latencyMs, outcome, at] tuples.
 */
export function encodeUsageBatch(events: ReadonlyArray<UsageEvent>): Record<string, string> {
  return {
    batch: JSON.stringify(events.map((e) => [e.tenantId, e.operationName ?? '', e.requestedCost, e.actualCost, Math.round(e.latencyMs * 1000) / 1000, e.outcome, e.at])),
  };
}

/**
 * The events of one stream entry, in order: a batch (encodeUsageBatch) or a single event
 * (encodeUsageEvent, the format before batches, still read). Null when the entry is not usage at all;
 * a batch's malformed items are left out.
 */
export function decodeUsageEntry(fields: Record<string, string>): UsageEvent[] | null {
  if (fields.batch === undefined) {
    const event = decodeUsageEvent(fields);
    return event ? [event] : null;
  }
  let items: unknown;
  try {
    items = JSON.parse(fields.batch);
  } catch {
    return null;
  }
  if (!Array.isArray(items)) return null;
  const events: UsageEvent[] = [];
  for (const item of items) {
    if (!Array.isArray(item) || item.length !== 7) continue;
    const [t, op, rc, ac, ms, o, at] = item as unknown[];
    const event = typeof t === 'string' && typeof op === 'string' && typeof o === 'string' ? decodeUsageEvent({ t, op, rc: String(rc), ac: String(ac), ms: String(ms), o, at: String(at) }) : null;
    if (event) events.push(event);
  }
  return events;
}

/** One event as its own entry (the format before batches; the consumer still reads it). */
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
