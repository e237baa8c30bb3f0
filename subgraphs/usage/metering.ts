import { hostname } from 'node:os';
import type { Database } from '../../tenancy/db';
import { isUuid } from '../../tenancy/db';
import type { Logger } from '../../tenancy/logger';
import type { KeyValueStore, StreamEntry } from '../../tenancy/store';
import { decodeUsageEvent, USAGE_GROUP, USAGE_RECORDED_CHANNEL, USAGE_STREAM, type UsageEvent } from '../../tenancy/usage-stream';
import { recordUsage } from './repository';

export interface UsageConsumerOptions {
  store: KeyValueStore;
  db: Database;
  logger: Logger;
  /**
   * Name in the consumer group. Stable across restarts, so a restarted instance finishes the entries it
   * held at once instead of waiting for another to claim them. @default the host name
   */
  consumer?: string;
  /** @default 500 entries per read */
  batchSize?: number;
  /** How long one read waits for new entries. @default 1_000 ms */
  blockMs?: number;
  /** Pause after a failed write before the entries are read again. @default 1_000 ms */
  retryDelayMs?: number;
}

const FOREIGN_KEY_VIOLATION = '23503';
const INVALID_TEXT = '22P02';

/**
 * Aggregates the usage stream into PostgreSQL: read a batch for this consumer, write each tenant's
 * events in that tenant's transaction, then acknowledge. Entries are acknowledged only once written,
 * so a usage instance that stops or crashes loses nothing: it (or, after 30 s idle, another instance)
 * reads them again, and the stream id keeps the second write from counting twice.
 */
export function startUsageConsumer(options: UsageConsumerOptions) {
  const { store, db, logger, consumer = hostname(), batchSize = 500, blockMs = 1_000, retryDelayMs = 1_000 } = options;
  let running = true;
  let wake: (() => void) | undefined;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  async function writeBatch(entries: StreamEntry[]): Promise<{ done: string[]; tenants: string[] }> {
    const done: string[] = [];
    const written: string[] = [];
    const byTenant = new Map<string, Array<UsageEvent & { streamId: string }>>();
    for (const entry of entries) {
      const event = decodeUsageEvent(entry.fields);
      if (!event || !isUuid(event.tenantId)) {
        logger.error({ entry: entry.id }, 'dropping a malformed usage entry');
        done.push(entry.id);
        continue;
      }
      const list = byTenant.get(event.tenantId) ?? [];
      list.push({ ...event, streamId: entry.id });
      byTenant.set(event.tenantId, list);
    }
    for (const [tenantId, events] of byTenant) {
      try {
        await db.transaction({ tenantId }, (q) => recordUsage(q, events));
        done.push(...events.map((e) => e.streamId));
        written.push(tenantId);
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === FOREIGN_KEY_VIOLATION || code === INVALID_TEXT) {
          // The tenant no longer exists: nothing can ever store these.
          logger.error({ err: error, tenantId, events: events.length }, 'dropping usage of an unknown tenant');
          done.push(...events.map((e) => e.streamId));
        } else {
          logger.warn({ err: error, tenantId, events: events.length }, 'usage write failed; will retry');
        }
      }
    }
    return { done, tenants: written };
  }

  const loop = (async () => {
    while (running) {
      try {
        const entries = await store.readStream(USAGE_STREAM, USAGE_GROUP, consumer, { count: batchSize, blockMs });
        if (entries.length === 0) continue;
        const { done, tenants } = await writeBatch(entries);
        await store.ackStream(USAGE_STREAM, USAGE_GROUP, done);
        // Live dashboards on every instance re-read these tenants (feed.ts); a lost message only delays them to the next change.
        if (tenants.length > 0) store.publish(USAGE_RECORDED_CHANNEL, JSON.stringify({ tenants })).catch(() => {});
        if (done.length < entries.length) await sleep(retryDelayMs);
      } catch (error) {
        if (!running) break;
        logger.warn({ err: error }, 'usage stream unavailable; retrying');
        await sleep(retryDelayMs);
      }
    }
  })();

  return {
    async stop() {
      running = false;
      wake?.();
      await loop;
    },
  };
}
export type UsageConsumer = ReturnType<typeof startUsageConsumer>;
