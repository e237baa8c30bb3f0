import type { Database } from '../../tenancy/db';
import type { Logger } from '../../tenancy/logger';
import { insertUsage, type UsageEvent } from './repository';

export interface UsageRecorderOptions {
  db: Database;
  logger: Logger;
  /** @default 200 ms between writes: the request path never waits on the usage table */
  flushIntervalMs?: number;
  /** Events held while the database is unreachable; beyond this the oldest are dropped and counted. @default 100_000 */
  maxBuffered?: number;
}

/**
 * Records per-operation usage for the usage subgraph: buffered in memory, written in one statement per
 * tenant per flush, each in that tenant's RLS transaction. A failed write keeps the events for the next
 * flush. (Issue 3 replaces the in-memory buffer with a durable Redis Stream.)
 */
export function createUsageRecorder(options: UsageRecorderOptions) {
  const { db, logger, flushIntervalMs = 200, maxBuffered = 100_000 } = options;
  let buffer: UsageEvent[] = [];
  let dropped = 0;
  let flushing: Promise<void> | undefined;

  async function writeOnce(): Promise<void> {
    if (buffer.length === 0) return;
    const batch = buffer;
    buffer = [];
    const byTenant = new Map<string, UsageEvent[]>();
    for (const event of batch) {
      const list = byTenant.get(event.tenantId) ?? [];
      list.push(event);
      byTenant.set(event.tenantId, list);
    }
    for (const [tenantId, events] of byTenant) {
      try {
        await db.transaction({ tenantId }, (q) => insertUsage(q, events));
      } catch (error) {
        logger.warn({ err: error, events: events.length }, 'usage write failed; will retry');
        buffer = events.concat(buffer);
      }
    }
  }

  function flush(): Promise<void> {
    flushing ??= writeOnce().finally(() => {
      flushing = undefined;
    });
    return flushing;
  }

  const timer = setInterval(() => void flush(), flushIntervalMs);
  timer.unref();

  return {
    record(event: UsageEvent) {
      buffer.push(event);
      if (buffer.length > maxBuffered) {
        dropped += buffer.length - maxBuffered;
        buffer.splice(0, buffer.length - maxBuffered);
        logger.error({ dropped }, 'usage buffer full: dropping oldest events');
      }
    },
    /** Writes everything buffered now (tests and shutdown). */
    async flush() {
      await flushing;
      await flush();
    },
    async close() {
      clearInterval(timer);
      await flushing;
      await flush();
    },
  };
}
export type UsageRecorder = ReturnType<typeof createUsageRecorder>;
