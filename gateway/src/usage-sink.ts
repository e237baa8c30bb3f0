import type { Logger } from '../../tenancy/logger';
import type { KeyValueStore } from '../../tenancy/store';
import { encodeUsageEvent, USAGE_STREAM, type UsageEvent } from '../../tenancy/usage-stream';

export interface UsageSinkOptions {
  store: KeyValueStore;
  logger: Logger;
  /** Events kept in memory while the store is unreachable; beyond this the oldest are dropped. @default 100_000 */
  maxBuffered?: number;
  /** @default 1_000 ms between retries of buffered events */
  retryIntervalMs?: number;
}

/**
 * The gateway's side of usage metering: one stream entry per finished operation, appended off the
 * response path. While the store is unreachable, entries wait in a bounded buffer and are retried.
 */
export function createUsageSink(options: UsageSinkOptions) {
  const { store, logger, maxBuffered = 100_000, retryIntervalMs = 1_000 } = options;
  const inFlight = new Set<Promise<unknown>>();
  let buffered: UsageEvent[] = [];
  let dropped = 0;

  function append(event: UsageEvent) {
    const sent = store.appendToStream(USAGE_STREAM, encodeUsageEvent(event)).catch(() => {
      buffered.push(event);
      if (buffered.length > maxBuffered) {
        dropped += buffered.length - maxBuffered;
        buffered = buffered.slice(-maxBuffered);
        logger.error({ dropped }, 'usage buffer full: dropping the oldest events');
      }
    });
    inFlight.add(sent);
    void sent.finally(() => inFlight.delete(sent));
  }

  async function retry() {
    if (buffered.length === 0) return;
    const waiting = buffered;
    buffered = [];
    logger.info({ events: waiting.length }, 'retrying buffered usage events');
    for (const event of waiting) append(event);
    await Promise.all(inFlight);
  }

  const timer = setInterval(() => void retry(), retryIntervalMs);
  timer.unref();

  return {
    record: append,
    /** Resolves when every event recorded so far has reached the stream (or the buffer). */
    async flush() {
      await Promise.all(inFlight);
      await retry();
    },
    get buffered() {
      return buffered.length;
    },
    async close() {
      clearInterval(timer);
      await Promise.all(inFlight);
      await retry();
    },
  };
}
export type UsageSink = ReturnType<typeof createUsageSink>;
