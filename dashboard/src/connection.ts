// Private to the dashboard: one live quotaStatus subscription over graphql-ws, and its lifecycle.
import { createClient, type Client } from 'graphql-ws';
import { persistedOperations, QuotaStatusFeedDocument } from '../../sdk/src/generated/graphql';
import type { QuotaStatus } from './types';

/**
 * Everything the page shows comes from this one subscription. The page sends no query of its own:
 * every query is priced and recorded as usage, and recorded usage pushes a new event, so a query sent
 * in reaction to an event would feed itself. The subscription is priced once, when it starts.
 * It is the SDK's QuotaStatusFeed, sent as its registered body, so the page also works for a tenant
 * whose policy requires persisted operations.
 */
export const QUOTA_SUBSCRIPTION = persistedOperations.get(QuotaStatusFeedDocument)!.body;

export type ConnectionState =
  | { kind: 'idle' }
  | { kind: 'connecting' }
  | { kind: 'live'; tenant?: string; expiresAt?: string }
  | { kind: 'reconnecting'; attempt: number; reason: string }
  | { kind: 'closed'; reason: string; code?: number | string };

export interface QuotaConnectionOptions {
  /** ws:// or wss:// URL of the gateway's /graphql. */
  url: string;
  /** Read at every (re)connect, so a retry presents the token the page holds then. */
  token: () => string | undefined;
  onState: (state: ConnectionState) => void;
  onStatus: (status: QuotaStatus) => void;
  /** An event that carried errors beside (or instead of) data; the subscription goes on. */
  onEventError?: (message: string) => void;
  /** Ping the server this often, to notice a connection that died without a close. @default 10_000 ms */
  keepAliveMs?: number;
  /** Give up on a connection whose pong is this late, and reconnect. @default 5_000 ms */
  pongTimeoutMs?: number;
  /** Longest wait between two reconnect attempts. @default 15_000 ms */
  maxRetryWaitMs?: number;
}

export interface QuotaConnection {
  /** Ends the subscription and the socket for good (a new token makes a new connection). */
  close(): void;
}

/** Close codes after which trying again cannot help: the token is bad or expired, or not allowed. */
const AUTH_CLOSE_CODES: Record<number, string> = { 4401: 'Unauthorized', 4403: 'Forbidden' };

interface CloseLike {
  code: number;
  reason: string;
}
const isCloseLike = (value: unknown): value is CloseLike =>
  typeof value === 'object' && value !== null && typeof (value as CloseLike).code === 'number' && 'reason' in value;

interface FormattedError {
  message: string;
  extensions?: { code?: string; retryAfter?: number };
}
const isErrorList = (value: unknown): value is FormattedError[] =>
  Array.isArray(value) && value.every((e) => typeof e === 'object' && e !== null && typeof (e as FormattedError).message === 'string');

export function describeClose({ code, reason }: CloseLike): string {
  const label = AUTH_CLOSE_CODES[code];
  if (label) return reason.toLowerCase().startsWith(label.toLowerCase()) ? `${reason} (${code})` : `${label} (${code})${reason ? `: ${reason}` : ''}`;
  if (code === 1006) return 'connection lost';
  if (code === 1001 || code === 1012) return 'server restarting';
  return reason ? `${reason} (${code})` : `closed (${code})`;
}

/** Exponential backoff with jitter: about 0.5, 1, 2, 4 ... s, at most maxMs, spread so clients don't return together. */
export function retryDelayMs(retries: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, 500 * 2 ** retries);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

export function connectQuota(options: QuotaConnectionOptions): QuotaConnection {
  const { url, token, onState, onStatus, onEventError, keepAliveMs = 10_000, pongTimeoutMs = 5_000, maxRetryWaitMs = 15_000 } = options;
  /** Set once the subscription has ended for good; later socket events only refine the reason. */
  let ended = false;
  let attempt = 0;
  let lastReason = 'connection lost';
  let pongTimer: ReturnType<typeof setTimeout> | undefined;
  let resubscribeTimer: ReturnType<typeof setTimeout> | undefined;
  let unsubscribe: (() => void) | undefined;
  let waitingToResubscribe = false;
  /** Set by close(): the page has moved on (a new token), so this connection reports nothing more. */
  let silenced = false;
  let state: ConnectionState = { kind: 'idle' };

  const set = (next: ConnectionState) => {
    if (silenced) return;
    state = next;
    onState(next);
  };

  const client: Client = createClient({
    url,
    connectionParams: () => {
      const current = token();
      return current ? { authorization: `Bearer ${current}` } : {};
    },
    // A server restart or a network blip must not end the page: keep trying, with backoff, until the
    // server answers or says the token is no good.
    retryAttempts: Number.POSITIVE_INFINITY,
    retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, retryDelayMs(retries, maxRetryWaitMs))),
    // graphql-ws retries 4403 by default (access might be granted later); for this page it will not be.
    shouldRetry: (errOrClose) => isCloseLike(errOrClose) && !(errOrClose.code in AUTH_CLOSE_CODES),
    keepAlive: keepAliveMs,
    on: {
      connecting: (isRetry) => {
        if (ended) return;
        if (isRetry) set({ kind: 'reconnecting', attempt: ++attempt, reason: lastReason });
        else if (state.kind !== 'reconnecting') set({ kind: 'connecting' });
      },
      connected: (_socket, payload) => {
        if (ended) return;
        attempt = 0;
        const ack = (payload ?? {}) as { tenant?: unknown; expiresAt?: unknown };
        set({
          kind: 'live',
          tenant: typeof ack.tenant === 'string' ? ack.tenant : undefined,
          expiresAt: typeof ack.expiresAt === 'string' ? ack.expiresAt : undefined,
        });
      },
      closed: (event) => {
        clearTimeout(pongTimer);
        if (!isCloseLike(event)) return;
        const reason = describeClose(event);
        if (event.code in AUTH_CLOSE_CODES) {
          // Final, and the most precise reason there is: it wins over "the server ended the stream",
          // which can arrive just before it when the token expires.
          finish({ kind: 'closed', reason, code: event.code });
          return;
        }
        // The socket idles out while a refused subscription waits to try again: not a lost connection.
        if (ended || waitingToResubscribe) return;
        lastReason = reason;
        // graphql-ws will retry (or fail the subscription, which finishes with its own reason).
        set({ kind: 'reconnecting', attempt: attempt + 1, reason });
      },
      ping: (received) => {
        if (received) return;
        // Sent a ping: a healthy server answers at once. No pong means a half-open socket (a laptop
        // woke up, a proxy dropped the connection): terminate, and graphql-ws reconnects.
        clearTimeout(pongTimer);
        pongTimer = setTimeout(() => client.terminate(), pongTimeoutMs);
      },
      pong: (received) => {
        if (received) clearTimeout(pongTimer);
      },
    },
  });

  function finish(next: Extract<ConnectionState, { kind: 'closed' }>) {
    const wasEnded = ended;
    ended = true;
    clearTimeout(resubscribeTimer);
    if (!wasEnded || state.kind !== 'closed' || next.code !== undefined) set(next);
    if (!wasEnded) {
      unsubscribe?.();
      void client.dispose();
    }
  }

  function subscribe() {
    unsubscribe = client.subscribe<{ quotaStatus: QuotaStatus }>(
      { query: QUOTA_SUBSCRIPTION, operationName: 'QuotaStatusFeed' },
      {
        next(result) {
          if (ended) return;
          if (result.errors?.length) onEventError?.(result.errors.map((e) => e.message).join('; '));
          if (result.data?.quotaStatus) onStatus(result.data.quotaStatus);
        },
        error(error) {
          if (ended) return;
          if (isCloseLike(error)) return finish({ kind: 'closed', reason: describeClose(error), code: error.code });
          if (isErrorList(error)) {
            const first = error[0];
            const code = first?.extensions?.code;
            // Refused for now (this tenant's bucket, or too many operations on one socket): try again
            // when the server says, on the same socket.
            if (code === 'RATE_LIMITED') {
              const waitMs = Math.max(1, Number(first?.extensions?.retryAfter) || 5) * 1000;
              set({ kind: 'reconnecting', attempt: ++attempt, reason: `${code}: ${first?.message}` });
              waitingToResubscribe = true;
              resubscribeTimer = setTimeout(() => {
                waitingToResubscribe = false;
                subscribe();
              }, waitMs);
              return;
            }
            return finish({ kind: 'closed', reason: error.map((e) => (e.extensions?.code ? `${e.extensions.code}: ${e.message}` : e.message)).join('; '), code });
          }
          finish({ kind: 'closed', reason: error instanceof Error ? error.message : 'connection failed' });
        },
        complete() {
          if (!ended) finish({ kind: 'closed', reason: 'the server ended the subscription' });
        },
      },
    );
  }

  set({ kind: 'connecting' });
  subscribe();

  return {
    close() {
      silenced = true;
      if (ended) return;
      ended = true;
      clearTimeout(resubscribeTimer);
      clearTimeout(pongTimer);
      unsubscribe?.();
      void client.dispose();
    },
  };
}
