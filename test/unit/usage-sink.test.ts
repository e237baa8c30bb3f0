// The gateway's usage sink (gateway/src/usage-sink.ts): events go to the stream in small batches, one
// store call each, and wait in a buffer while the store refuses them.
import { afterEach, describe, expect, it } from 'vitest';
import { createUsageSink, type UsageSink } from '../../gateway/src/usage-sink';
import { createLogger } from '../../tenancy/logger';
import { createMemoryStore, type KeyValueStore } from '../../tenancy/store';
import { decodeUsageEntry, USAGE_STREAM, type UsageEvent } from '../../tenancy/usage-stream';

const event = (n: number): UsageEvent => ({ tenantId: 't', operationName: `Op${n}`, requestedCost: n, actualCost: n, latencyMs: 1, outcome: 'ok', at: Date.now() });
const logger = createLogger('test', 'silent');

let sink: UsageSink | undefined;
afterEach(() => sink?.close());

/** Counts the store calls and the events each carries (one entry per batch). */
function counting(store: KeyValueStore, failing = { now: false }) {
  const calls: number[] = [];
  const append = store.appendToStream.bind(store);
  store.appendToStream = async (stream, fields) => {
    calls.push(decodeUsageEntry(fields)?.length ?? 0);
    if (failing.now) throw new Error('store away');
    return append(stream, fields);
  };
  return { calls, failing };
}

const streamed = async (store: KeyValueStore) =>
  (await store.readStream(USAGE_STREAM, 'check', 'c', { count: 1000, blockMs: 0 })).flatMap((e) => decodeUsageEntry(e.fields)!.map((event) => event.operationName));

describe('usage sink', () => {
  it('appends the events of a short window in one store call, in order', async () => {
    const store = createMemoryStore();
    const { calls } = counting(store);
    sink = createUsageSink({ store, logger, batchMs: 20 });
    for (let n = 1; n <= 3; n++) sink.record(event(n));
    expect(calls).toEqual([]); // off the response path: nothing yet
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(calls).toEqual([3]);
    expect(await streamed(store)).toEqual(['Op1', 'Op2', 'Op3']);
  });

  it('sends a full batch at once, and flush sends what waits', async () => {
    const store = createMemoryStore();
    const { calls } = counting(store);
    sink = createUsageSink({ store, logger, batchMs: 10_000, maxBatch: 2 });
    for (let n = 1; n <= 3; n++) sink.record(event(n));
    expect(calls).toEqual([2]);
    await sink.flush();
    expect(calls).toEqual([2, 1]);
    expect(await streamed(store)).toEqual(['Op1', 'Op2', 'Op3']);
  });

  it('keeps refused batches and appends them once the store takes them again', async () => {
    const store = createMemoryStore();
    const { failing } = counting(store, { now: true });
    sink = createUsageSink({ store, logger, batchMs: 1, retryIntervalMs: 20 });
    sink.record(event(1));
    sink.record(event(2));
    await sink.flush();
    expect(sink.buffered).toBe(2);
    failing.now = false;
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(sink.buffered).toBe(0);
    expect(await streamed(store)).toEqual(['Op1', 'Op2']);
  });
});
