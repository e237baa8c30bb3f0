import { Repeater } from '@repeaterjs/repeater';

/**
 * The stream `source`, ended after `ms` (a token's expiry): the source is returned (its clean-up runs)
 * whichever ends first, and no timer outlives the stream. Repeater, unlike an async generator, ends a
 * consumer's pending next() at once when returned, so a cancelled stream never waits for one more event.
 */
export function endAfter<T>(source: AsyncIterable<T>, ms: number): AsyncGenerator<T> {
  return new Repeater<T>(async (push, stop) => {
    const timer = setTimeout(() => stop(), Math.max(0, ms));
    const iterator = source[Symbol.asyncIterator]();
    const stopped = stop.then(() => ({ done: true, value: undefined }) as IteratorReturnResult<undefined>);
    try {
      for (;;) {
        const next = await Promise.race([iterator.next(), stopped]);
        if (next.done) break;
        await push(next.value);
      }
    } catch (error) {
      stop(error);
    } finally {
      clearTimeout(timer);
      stop();
      await iterator.return?.();
    }
  }) as unknown as AsyncGenerator<T>;
}
