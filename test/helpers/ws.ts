import { createClient, type Client, type FormattedExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';

export const wsUrl = (httpUrl: string) => httpUrl.replace(/^http/, 'ws');

export interface TestSocket {
  client: Client;
  /** Resolves with the close code and reason of the first close. */
  closed: Promise<{ code: number; reason: string }>;
  /** Resolves with the connection_ack payload. */
  acknowledged: Promise<unknown>;
}

/** A graphql-ws client that does not retry, so tests see every close as it is. */
export function openSocket(url: string, connectionParams: Record<string, unknown> | (() => Record<string, unknown>)): TestSocket {
  let closed!: (value: { code: number; reason: string }) => void;
  let acked!: (value: unknown) => void;
  const closedPromise = new Promise<{ code: number; reason: string }>((resolve) => (closed = resolve));
  const acknowledged = new Promise<unknown>((resolve) => (acked = resolve));
  const client = createClient({
    url: wsUrl(url),
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
    connectionParams,
    on: {
      closed: (event) => {
        const e = event as { code: number; reason: string };
        closed({ code: e.code, reason: String(e.reason) });
      },
      connected: (_socket, payload) => acked(payload),
    },
    onNonLazyError: () => {},
  });
  return { client, closed: closedPromise, acknowledged };
}

/** A subscription whose events are collected; `next(predicate)` waits for the first event matching it. */
export function follow<T = any>(client: Client, query: string, variables?: Record<string, unknown>) {
  const events: FormattedExecutionResult<T, unknown>[] = [];
  const waiters: Array<{ predicate: (e: FormattedExecutionResult<T, unknown>) => boolean; resolve: (e: FormattedExecutionResult<T, unknown>) => void }> = [];
  let error: unknown;
  let completed = false;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const unsubscribe = client.subscribe<T>(
    { query, variables },
    {
      next(event) {
        events.push(event);
        for (const waiter of [...waiters]) {
          if (waiter.predicate(event)) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve(event);
          }
        }
      },
      error(e) {
        error = e;
        done();
      },
      complete() {
        completed = true;
        done();
      },
    },
  );
  return {
    events,
    finished,
    get error() {
      return error;
    },
    get completed() {
      return completed;
    },
    unsubscribe,
    next(predicate: (e: FormattedExecutionResult<T, unknown>) => boolean = () => true, timeoutMs = 5_000): Promise<FormattedExecutionResult<T, unknown>> {
      const seen = events.find(predicate);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching event within ${timeoutMs} ms; got ${JSON.stringify(events.slice(-3))}; error ${JSON.stringify(error)}`)), timeoutMs);
        waiters.push({ predicate, resolve: (e) => (clearTimeout(timer), resolve(e)) });
      });
    },
  };
}
