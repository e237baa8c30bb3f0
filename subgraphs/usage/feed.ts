import { Repeater, SlidingBuffer } from '@repeaterjs/repeater';
import type { Database } from '../../tenancy/db';
import { notFound } from '../../tenancy/errors';
import type { Logger } from '../../tenancy/logger';
import type { KeyValueStore } from '../../tenancy/store';
import { USAGE_RECORDED_CHANNEL } from '../../tenancy/usage-stream';
import { MAX_MINUTES, MAX_RECENT, quotaOfTenants, recentOperations, usageByMinute, type QuotaRow } from './repository';

export interface QuotaFeedOptions {
  store: KeyValueStore;
  db: Database;
  logger: Logger;
  /** Least time between two updates of one tenant's subscribers. @default 500 ms */
  intervalMs?: number;
}

interface TenantFeed {
  subscribers: Set<(row: QuotaRow) => void>;
  last?: QuotaRow;
  lastRefreshAt: number;
  timer?: NodeJS.Timeout;
  refreshing: boolean;
  /** Usage changed since the last snapshot was read. */
  dirty: boolean;
}

/**
 * Live quota for Subscription.quotaStatus. Whichever usage instance writes a tenant's usage publishes
 * the tenant's id on USAGE_RECORDED_CHANNEL (Redis pub/sub), so every instance hears of every change,
 * wherever the spend came from. An instance reads a tenant's snapshot (status, recent operations,
 * minutes) once per change, in that tenant's own transaction (RLS), and hands the same snapshot to all
 * of the tenant's local subscribers: one query per tenant per interval, however many dashboards watch.
 * Each subscriber keeps only the newest snapshot it has not read yet (a slow client skips states,
 * never falls behind, never grows a queue).
 */
export function createQuotaFeed(options: QuotaFeedOptions) {
  const { store, db, logger, intervalMs = 500 } = options;
  const feeds = new Map<string, TenantFeed>();

  const ready = store.subscribe(USAGE_RECORDED_CHANNEL, (message) => {
    let ids: unknown;
    try {
      ids = (JSON.parse(message) as { tenants?: unknown }).tenants;
    } catch {
      return;
    }
    if (!Array.isArray(ids)) return;
    for (const id of ids) if (typeof id === 'string') changed(id);
  });

  function changed(tenantId: string) {
    const feed = feeds.get(tenantId);
    if (!feed) return;
    feed.dirty = true;
    schedule(tenantId, feed);
  }

  function schedule(tenantId: string, feed: TenantFeed) {
    if (feed.refreshing || feed.timer) return;
    const wait = Math.max(0, feed.lastRefreshAt + intervalMs - Date.now());
    feed.timer = setTimeout(() => {
      feed.timer = undefined;
      void refresh(tenantId, feed);
    }, wait);
  }

  async function refresh(tenantId: string, feed: TenantFeed) {
    feed.refreshing = true;
    feed.dirty = false;
    feed.lastRefreshAt = Date.now();
    try {
      const row = await snapshot(tenantId);
      if (row) {
        feed.last = row;
        for (const push of feed.subscribers) push(row);
      }
    } catch (error) {
      logger.warn({ err: error, tenantId }, 'quota snapshot failed; retrying');
      feed.dirty = true;
    } finally {
      feed.refreshing = false;
      if (feed.dirty && feeds.get(tenantId) === feed) schedule(tenantId, feed);
    }
  }

  /** Everything a dashboard shows, read in one transaction under the tenant's RLS scope. */
  function snapshot(tenantId: string): Promise<QuotaRow | null> {
    return db.transaction({ tenantId }, async (q) => {
      const [row] = await quotaOfTenants(q, [tenantId]);
      if (!row) return null;
      const recent = await recentOperations(q, MAX_RECENT);
      const minutes = await usageByMinute(q, MAX_MINUTES);
      return { ...row, recent, minutes };
    });
  }

  /** The tenant's quota now, then at each change. The tenant is the caller's verified one, never an argument. */
  function subscribe(tenantId: string): AsyncGenerator<QuotaRow> {
    return new Repeater<QuotaRow>(async (push, stop) => {
      let feed = feeds.get(tenantId);
      if (!feed) {
        feed = { subscribers: new Set(), lastRefreshAt: 0, refreshing: false, dirty: false };
        feeds.set(tenantId, feed);
      }
      // A change heard while the first snapshot is read refreshes the feed, and that newer snapshot can
      // reach this subscriber before the first one does: the first is then stale and is not pushed
      // (pushed after it, it would stay on the dashboard until the tenant's next change).
      let pushed = false;
      const subscriber = (row: QuotaRow) => {
        pushed = true;
        void push(row).catch(() => {});
      };
      feed.subscribers.add(subscriber);
      try {
        // The first value at once: the last snapshot if this instance has one, else a fresh read.
        const first = feed.last ?? (await snapshot(tenantId));
        if (!first) throw notFound('Tenant');
        feed.last ??= first;
        if (!pushed) await push(first);
        await stop;
      } catch (error) {
        stop(error);
      } finally {
        feed.subscribers.delete(subscriber);
        if (feed.subscribers.size === 0 && feeds.get(tenantId) === feed) {
          clearTimeout(feed.timer);
          feeds.delete(tenantId);
        }
      }
    }, new SlidingBuffer(1)) as unknown as AsyncGenerator<QuotaRow>;
  }

  return {
    ready,
    subscribe,
    /** Tenants and subscribers this instance serves (metrics, tests). */
    stats() {
      let subscribers = 0;
      for (const feed of feeds.values()) subscribers += feed.subscribers.size;
      return { tenants: feeds.size, subscribers };
    },
    async close() {
      for (const feed of feeds.values()) clearTimeout(feed.timer);
      feeds.clear();
      await (await ready)();
    },
  };
}
export type QuotaFeed = ReturnType<typeof createQuotaFeed>;
