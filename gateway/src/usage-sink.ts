import { outsideRequestScope } from '../../tenancy/context';
import type { Logger } from '../../tenancy/logger';
import type { KeyValueStore } from '../../tenancy/store';
import { encodeUsageBatch, USAGE_STREAM, type UsageEvent } from '../../tenancy/usage-stream';

export interface UsageSinkOptions {
  store: KeyValueStore;
  logger: Logger;
  /** Events kept in memory while the store is unreachable; beyond this the oldest are dropped. @default 100_000 */
  maxBuffered?: number;
  /** @default 1_000 ms between retries of buffered events */
  retryIntervalMs?: number;
  /**
   * Events are appended in batches, one store call per batch, at most this long after the first of
   * them happened (USAGE_BATCH_MS). @default 250 ms: usage is aggregated per minute and month, and a
   * batch's XADD costs the gateway's thread 150-350 µs on a small VM whatever its size (the loopback
   * write wakes Redis), so under load fewer, larger batches keep that CPU for answers (issue 2). Live
   * dashboards see an operation up to this long later, plus the feed's QUOTA_FEED_INTERVAL_MS (500 ms):
   * together well within the second they promise (issue 4). A crash loses at most one window of
   * events; a shutdown sends them (close).
   */
  batchMs?: number;
  /** Largest batch; a full batch is sent at once. @default 500 events */
  maxBatch?: number;
}

/**
 * The gateway's side of usage metering: one event per finished operation, appended off the response
 * path in batches, one stream entry per batch. While the store is unreachable, events wait in a
 * bounded buffer and are retried.
 */
export function createUsageSink(options: UsageSinkOptions) {
  const { store, logger, maxBuffered = 100_000, retryIntervalMs = 1_000, batchMs = 250, maxBatch = 500 } = options;
  const inFlight = new Set<Promise<unknown>>();
  /** Recorded, not sent yet. */
  let pending: UsageEvent[] = [];
  let batchTimer: NodeJS.Timeout | undefined;
  /** Sent, refused by the store: retried. */
  let buffered: UsageEvent[] = [];
  let dropped = 0;

  function keep(events: UsageEvent[]) {
    buffered.push(...events);
    if (buffered.length > maxBuffered) {
      dropped += buffered.length - maxBuffered;
      buffered = buffered.slice(-maxBuffered);
      logger.error({ dropped }, 'usage buffer full: dropping the oldest events');
    }
  }

  function send(events: UsageEvent[]) {
    // One entry for the batch: one XADD, whatever its size.
    const sent = store.appendToStream(USAGE_STREAM, encodeUsageBatch(events)).then(
      () => {},
      () => keep(events),
    );
    inFlight.add(sent);
    void sent.then(() => inFlight.delete(sent));
  }

  function sendPending() {
    clearTimeout(batchTimer);
    batchTimer = undefined;
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    send(batch);
  }

  function record(event: UsageEvent) {
    pending.push(event);
    if (pending.length >= maxBatch) return sendPending();
    // Started outside the request's scope: the batch belongs to no single request.
    batchTimer ??= outsideRequestScope(() => setTimeout(sendPending, batchMs).unref());
  }

  async function retry() {
    if (buffered.length === 0) return;
    const waiting = buffered;
    buffered = [];
    logger.info({ events: waiting.length }, 'retrying buffered usage events');
    for (let i = 0; i < waiting.length; i += maxBatch) send(waiting.slice(i, i + maxBatch));
    await Promise.all(inFlight);
  }

  const timer = setInterval(() => void retry(), retryIntervalMs);
  timer.unref();

  return {
    record,
    /** Resolves when every event recorded so far has reached the stream (or the buffer). */
    async flush() {
      sendPending();
      await Promise.all(inFlight);
      await retry();
    },
    get buffered() {
      return buffered.length;
    },
    async close() {
      clearInterval(timer);
      sendPending();
      await Promise.all(inFlight);
      await retry();
    },
  };
}
export type UsageSink = ReturnType<typeof createUsageSink>;
