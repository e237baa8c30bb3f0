import { hostname } from 'node:os';
import type { Database } from '../../tenancy/db';
import { isUuid } from '../../tenancy/db';
import type { Logger } from '../../tenancy/logger';
import type { KeyValueStore, StreamEntry } from '../../tenancy/store';
import { decodeUsageEntry, USAGE_GROUP, USAGE_RECORDED_CHANNEL, USAGE_STREAM, type UsageEvent } from '../../tenancy/usage-stream';
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

  /**
   * Writes the events of `entries`, each tenant's in its own transaction. An entry (one event, or a
   * gateway's batch of many tenants' events) is done, to be acknowledged, once every tenant it names
   * is written or dropped; otherwise it is read again, and each event's stream id (the entry's, with
   * its index in a batch) keeps the second write from counting what the first stored.
   */
  async function writeBatch(entries: StreamEntry[]): Promise<{ done: string[]; tenants: string[] }> {
    const written: string[] = [];
    const byTenant = new Map<string, Array<UsageEvent & { streamId: string }>>();
    /** Per entry, the tenants whose events it holds and which are not stored yet. */
    const waiting = new Map<string, Set<string>>();
    for (const entry of entries) {
      const events = decodeUsageEntry(entry.fields);
      const batch = entry.fields.batch !== undefined;
      const tenants = new Set<string>();
      waiting.set(entry.id, tenants);
      if (!events) {
        logger.error({ entry: entry.id }, 'dropping a malformed usage entry');
        continue;
      }
      for (const [index, event] of events.entries()) {
        if (!isUuid(event.tenantId)) {
          logger.error({ entry: entry.id }, 'dropping a usage event that names no tenant');
          continue;
        }
        const list = byTenant.get(event.tenantId) ?? [];
        list.push({ ...event, streamId: batch ? `${entry.id}:${index}` : entry.id });
        byTenant.set(event.tenantId, list);
        tenants.add(event.tenantId);
      }
    }
    const settled = (tenantId: string) => {
      for (const tenants of waiting.values()) tenants.delete(tenantId);
    };
    for (const [tenantId, events] of byTenant) {
      try {
        await db.transaction({ tenantId }, (q) => recordUsage(q, events));
        settled(tenantId);
        written.push(tenantId);
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === FOREIGN_KEY_VIOLATION || code === INVALID_TEXT) {
          // The tenant no longer exists: nothing can ever store these.
          logger.error({ err: error, tenantId, events: events.length }, 'dropping usage of an unknown tenant');
          settled(tenantId);
        } else {
          logger.warn({ err: error, tenantId, events: events.length }, 'usage write failed; will retry');
        }
      }
    }
    const done = [...waiting].filter(([, tenants]) => tenants.size === 0).map(([id]) => id);
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
