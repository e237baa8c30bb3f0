// The SDK's client: typed operations over GraphQL over HTTP (queries, mutations) and graphql-ws
// (subscriptions) against the gateway's one /graphql endpoint. Browser and Node 20; its only imports
// are graphql (print, getOperationAST) and graphql-ws.
//
// Errors are thrown, not returned. query() and mutate() resolve to `{ data, extensions }` with `data`
// fully typed and never null; any GraphQL error rejects with a typed GraphQLRequestError subclass
// chosen by the first error's extensions.code (errors.ts), which still carries every error and any
// partial data (`error.errors`, `error.data`). Why: the errors clients must react to (UNAUTHENTICATED,
// RATE_LIMITED, QUOTA_EXCEEDED, COST_LIMIT_EXCEEDED, FORBIDDEN) come without data anyway, and a
// `{ data, errors }` result would make every caller check both before touching a field. Subscriptions
// follow the same rule: an event with errors ends the iteration by throwing the typed error.
import { getOperationAST, print, type DocumentNode } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { createClient as createSocketClient, type Client as SocketClient, type FormattedExecutionResult, type Sink } from 'graphql-ws/client';
import { persistedOperations } from './generated/graphql.js';
import { errorFrom, ErrorCode, ForbiddenError, networkError, UnauthenticatedError, type GraphQLErrorEntry, type GraphQLRequestError } from './errors.js';

export interface ClientOptions {
  /** The gateway's GraphQL endpoint, e.g. `http://localhost:4000/graphql`; subscriptions use the same URL as ws(s)://. */
  url: string;
  /** A fixed bearer token. Ignored when `getToken` is given. */
  token?: string;
  /**
   * Called before every HTTP request and every WebSocket connection (reconnections too), so a refreshed
   * token is picked up without a new client. Cache inside it: it is on every request's path.
   */
  getToken?: () => string | undefined | Promise<string | undefined>;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** A WebSocket class for subscriptions where there is no global one (Node 20: `import WebSocket from 'ws'`). @default globalThis.WebSocket */
  webSocketImpl?: unknown;
  /**
   * Send operations as persisted queries: the sha256 of the body first, the body itself only when the
   * server answers PERSISTED_QUERY_NOT_FOUND (then once). The SDK's own documents use the bodies and
   * ids of sdk/persisted-operations.json. @default false
   */
  persisted?: boolean;
  /** Extra HTTP headers on every request (e.g. `x-tenant-id`); a function is called per request. */
  headers?: Record<string, string> | (() => Record<string, string> | Promise<Record<string, string>>);
  /** Reconnection attempts of the subscription socket before its subscriptions fail. @default 5 */
  retryAttempts?: number;
}

/** extensions.cost of every admitted response (CONTRACT.md). */
export interface CostExtension {
  requestedQueryCost: number;
  actualQueryCost: number;
  throttleStatus: { maximumAvailable: number; currentlyAvailable: number; restoreRate: number };
}

export interface ResponseExtensions {
  cost?: CostExtension;
  [key: string]: unknown;
}

export interface OperationResult<TData> {
  data: TData;
  extensions?: ResponseExtensions;
}

export interface RequestOptions {
  signal?: AbortSignal;
  /** Headers for this request only, on top of the client's. */
  headers?: Record<string, string>;
}

export interface SubscribeOptions {
  /** Aborting ends the subscription, like `unsubscribe()`. */
  signal?: AbortSignal;
}

/** Variables are optional exactly when the operation has no required variable. */
type ArgsOf<TVariables, TOptions> = {} extends TVariables
  ? [variables?: TVariables, options?: TOptions]
  : [variables: TVariables, options?: TOptions];

/** A running subscription: iterate it for events; `break`, `unsubscribe()` or the signal ends it. */
export interface Subscription<TData> extends AsyncIterableIterator<OperationResult<TData>> {
  unsubscribe(): void;
}

export interface Client {
  query<TData, TVariables>(document: TypedDocumentNode<TData, TVariables>, ...args: ArgsOf<TVariables, RequestOptions>): Promise<OperationResult<TData>>;
  mutate<TData, TVariables>(document: TypedDocumentNode<TData, TVariables>, ...args: ArgsOf<TVariables, RequestOptions>): Promise<OperationResult<TData>>;
  subscribe<TData, TVariables>(document: TypedDocumentNode<TData, TVariables>, ...args: ArgsOf<TVariables, SubscribeOptions>): Subscription<TData>;
  /** Ends every subscription and closes the socket. In-flight HTTP requests finish on their own. */
  close(): Promise<void>;
}

type OperationType = 'query' | 'mutation' | 'subscription';
interface Operation {
  type: OperationType;
  name: string | undefined;
  body: string;
  /** sha256 hex of body, known ahead for the SDK's documents, computed on first use for others. */
  id?: string;
}

interface GraphQLResponseBody {
  data?: unknown;
  errors?: GraphQLErrorEntry[];
  extensions?: ResponseExtensions;
}

interface HttpAnswer {
  status: number;
  headers: Headers;
  body: GraphQLResponseBody;
}

const MAX_RETRY_WAIT_MS = 30_000; // a socket down for minutes is retried every 30 s at worst, not every 2^n s

/** Exponential backoff with jitter: about 1 s, 2 s, 4 s ... capped at 30 s, each between half and all of it. */
async function backoff(retries: number): Promise<void> {
  const ceiling = Math.min(MAX_RETRY_WAIT_MS, 1_000 * 2 ** retries);
  await new Promise((resolve) => setTimeout(resolve, ceiling / 2 + Math.random() * (ceiling / 2)));
}

const isCloseEvent = (value: unknown): value is { code: number; reason: string } =>
  typeof value === 'object' && value !== null && 'code' in value && 'reason' in value && typeof (value as { code: unknown }).code === 'number';

/** The WebSocket URL of an HTTP(S) endpoint; relative URLs resolve against the page in a browser. */
export function webSocketUrlOf(url: string): string {
  const base = (globalThis as { location?: { href: string } }).location?.href;
  const parsed = new URL(url, base);
  parsed.protocol = parsed.protocol === 'https:' || parsed.protocol === 'wss:' ? 'wss:' : 'ws:';
  return parsed.toString();
}

async function sha256Hex(text: string): Promise<string | undefined> {
  // Web Crypto: in every browser (secure contexts) and Node 20. Without it the request is sent unpersisted.
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return undefined;
  const digest = await subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** The typed error for whatever graphql-ws reports: an `error` message, a close event or a socket error. */
function socketError(reported: unknown): GraphQLRequestError {
  if (Array.isArray(reported)) return errorFrom({ errors: reported as GraphQLErrorEntry[] });
  if (isCloseEvent(reported)) {
    const message = reported.reason || `WebSocket closed (${reported.code})`;
    const context = (code: ErrorCode) => ({ errors: [{ message, extensions: { code, closeCode: reported.code } }] });
    // The gateway closes with 4401 for a missing, bad or expired token and 4403 for a tenant it refuses.
    if (reported.code === 4401) return new UnauthenticatedError(message, ErrorCode.UNAUTHENTICATED, context(ErrorCode.UNAUTHENTICATED));
    if (reported.code === 4403) return new ForbiddenError(message, ErrorCode.FORBIDDEN, context(ErrorCode.FORBIDDEN));
    return networkError(`WebSocket closed (${reported.code}${reported.reason ? `: ${reported.reason}` : ''})`, { cause: reported });
  }
  return networkError(reported instanceof Error ? reported.message : 'WebSocket error', { cause: reported });
}

export function createClient(options: ClientOptions): Client {
  const { url, token, getToken, persisted = false, headers: extraHeaders, webSocketImpl, retryAttempts = 5 } = options;
  // Called through a wrapper: a browser's fetch kept as a property and called as a method throws
  // "Illegal invocation".
  const fetchImpl: typeof fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  /** Operations of documents that are not the SDK's own, printed (and hashed) once per document object. */
  const operations = new WeakMap<DocumentNode, Operation>();
  /** Set when the server says it does not do persisted queries: the client stops trying. */
  let persistedUnsupported = false;
  /** Ids this server did not know: sent with their body from then on, saving a round trip each time. */
  const unknownIds = new Set<string>();
  let socket: SocketClient | undefined;
  const running = new Set<() => void>();

  const currentToken = async () => (getToken ? await getToken() : token);

  function operationOf(document: DocumentNode): Operation {
    const known = persistedOperations.get(document);
    if (known) return known;
    let operation = operations.get(document);
    if (!operation) {
      const definition = getOperationAST(document);
      if (!definition) throw new TypeError('The document must contain exactly one operation');
      operation = { type: definition.operation, name: definition.name?.value, body: print(document) };
      operations.set(document, operation);
    }
    return operation;
  }

  function assertType(operation: Operation, method: string, type: OperationType): void {
    if (operation.type !== type) {
      throw new TypeError(`${method}() runs a ${type}; ${operation.name ?? 'this operation'} is a ${operation.type}`);
    }
  }

  async function post(payload: Record<string, unknown>, requestOptions: RequestOptions): Promise<HttpAnswer> {
    // Headers, not a plain object: names are case-insensitive, so a caller's `Content-Type` cannot
    // end up next to ours.
    const headers = new Headers(typeof extraHeaders === 'function' ? await extraHeaders() : extraHeaders);
    for (const [name, value] of Object.entries(requestOptions.headers ?? {})) headers.set(name, value);
    headers.set('content-type', 'application/json');
    headers.set('accept', 'application/graphql-response+json, application/json');
    const bearer = await currentToken();
    if (bearer) headers.set('authorization', `Bearer ${bearer}`);
    let response: Response;
    try {
      response = await fetchImpl(url, { method: 'POST', headers, body: JSON.stringify(payload), signal: requestOptions.signal });
    } catch (error) {
      if (requestOptions.signal?.aborted) throw error; // the caller's own abort stays an AbortError
      throw networkError(`Request to ${url} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw networkError(`Not a GraphQL response (HTTP ${response.status})`, { status: response.status, headers: response.headers });
    }
    if (typeof body !== 'object' || body === null || (!('data' in body) && !('errors' in body))) {
      throw networkError(`Not a GraphQL response (HTTP ${response.status})`, { status: response.status, headers: response.headers });
    }
    return { status: response.status, headers: response.headers, body: body as GraphQLResponseBody };
  }

  const firstCode = (answer: HttpAnswer) => answer.body.errors?.[0]?.extensions?.code;

  async function execute<TData>(operation: Operation, variables: unknown, requestOptions: RequestOptions = {}): Promise<OperationResult<TData>> {
    const base = { operationName: operation.name, variables: variables ?? {} };
    let answer: HttpAnswer | undefined;
    if (persisted && !persistedUnsupported) {
      operation.id ??= await sha256Hex(operation.body);
      const id = operation.id;
      if (id) {
        const extensions = { persistedQuery: { version: 1, sha256Hash: id } };
        answer = await post({ ...base, ...(unknownIds.has(id) ? { query: operation.body } : {}), extensions }, requestOptions);
        const code = firstCode(answer);
        if (code === ErrorCode.PERSISTED_QUERY_NOT_FOUND && !unknownIds.has(id)) {
          // Not in this server's manifest (or its APQ cache forgot it): send the body, with the hash
          // so that an APQ server registers it, and keep sending it for this id.
          unknownIds.add(id);
          answer = await post({ ...base, query: operation.body, extensions }, requestOptions);
        } else if (code === ErrorCode.PERSISTED_QUERY_NOT_SUPPORTED) {
          persistedUnsupported = true;
          answer = undefined;
        }
      }
    }
    answer ??= await post({ ...base, query: operation.body }, requestOptions);
    const { body, status, headers } = answer;
    if (body.errors?.length) throw errorFrom({ errors: body.errors, data: body.data, status, headers });
    if (body.data === undefined || body.data === null) throw networkError(`Response without data or errors (HTTP ${status})`, { status, headers });
    return { data: body.data as TData, ...(body.extensions ? { extensions: body.extensions } : {}) };
  }

  function socketClient(): SocketClient {
    socket ??= createSocketClient({
      url: webSocketUrlOf(url),
      webSocketImpl,
      lazy: true, // connects with the first subscription, closes after the last one
      connectionParams: async () => {
        const bearer = await currentToken();
        // A browser cannot set headers on a WebSocket: the tenant selector travels in connectionParams.
        const headers = typeof extraHeaders === 'function' ? await extraHeaders() : extraHeaders;
        const tenant = Object.entries(headers ?? {}).find(([name]) => name.toLowerCase() === 'x-tenant-id')?.[1];
        return { ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...(tenant ? { 'x-tenant-id': tenant } : {}) };
      },
      retryAttempts,
      retryWait: backoff,
      // Retry lost connections and network errors. graphql-ws itself never retries 4401 (bad token)
      // and other protocol errors; 4403 is not retried either: a refused tenant stays refused.
      shouldRetry: (reported) => !(isCloseEvent(reported) && reported.code === 4403),
    });
    return socket;
  }

  function subscribe<TData>(operation: Operation, variables: unknown, subscribeOptions: SubscribeOptions = {}): Subscription<TData> {
    const queue: Array<OperationResult<TData>> = [];
    let failure: GraphQLRequestError | undefined;
    let finished = false;
    /** next() calls not answered yet, oldest first (a caller may ask again before an answer). */
    const waiting: Array<{ resolve: (result: IteratorResult<OperationResult<TData>>) => void; reject: (error: unknown) => void }> = [];
    let dispose = () => {};
    /** Whether an event arrived since the subscription (re)started: its token did work. */
    let served = false;

    /** Hands events, then the failure or the end, to pending next() calls in order. */
    const settle = () => {
      while (waiting.length) {
        if (queue.length) waiting.shift()!.resolve({ value: queue.shift()!, done: false });
        else if (failure) {
          waiting.shift()!.reject(failure);
          failure = undefined;
          finished = true;
        } else if (finished) waiting.shift()!.resolve({ value: undefined, done: true });
        else return;
      }
    };
    const release = () => {
      dispose();
      running.delete(stop);
      subscribeOptions.signal?.removeEventListener('abort', stop);
    };
    /** The server ended it (completed, or failed): events already received are still handed out. */
    const end = (error?: GraphQLRequestError) => {
      if (finished || failure) return;
      release();
      if (error) failure = error;
      else finished = true;
      settle();
    };
    /** The caller ended it: nothing more is handed out, not even events or an error already received. */
    const stop = () => {
      queue.length = 0;
      failure = undefined;
      if (!finished) release();
      finished = true;
      settle();
    };
    const sink: Sink<FormattedExecutionResult<TData, ResponseExtensions>> = {
      next(result) {
        if (result.errors?.length) return end(errorFrom({ errors: result.errors as GraphQLErrorEntry[], data: result.data }));
        if (result.data === undefined || result.data === null) return end(networkError('Subscription event without data or errors'));
        served = true;
        queue.push({ data: result.data, ...(result.extensions ? { extensions: result.extensions } : {}) });
        settle();
      },
      error(reported) {
        // The gateway closes the socket with 4401 when the token expires, which graphql-ws never retries.
        // With getToken a fresh token is one reconnection away: subscribe again, once per working token
        // (`served`), so a token that never worked still fails at once.
        if (getToken && served && !finished && isCloseEvent(reported) && reported.code === 4401) return start();
        end(socketError(reported));
      },
      complete: () => end(),
    };
    const payload = { query: operation.body, operationName: operation.name, variables: (variables ?? {}) as Record<string, unknown> };
    const start = () => {
      served = false;
      dispose = socketClient().subscribe(payload, sink);
    };
    if (subscribeOptions.signal?.aborted) finished = true;
    else {
      start();
      running.add(stop);
      subscribeOptions.signal?.addEventListener('abort', stop, { once: true });
    }

    const iterator: Subscription<TData> = {
      next() {
        return new Promise((resolve, reject) => {
          waiting.push({ resolve, reject });
          settle();
        });
      },
      async return() {
        stop();
        return { value: undefined, done: true };
      },
      unsubscribe: stop,
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  return {
    query(document, ...[variables, requestOptions]) {
      return Promise.resolve().then(() => {
        const operation = operationOf(document);
        assertType(operation, 'query', 'query');
        return execute(operation, variables, requestOptions);
      });
    },
    mutate(document, ...[variables, requestOptions]) {
      return Promise.resolve().then(() => {
        const operation = operationOf(document);
        assertType(operation, 'mutate', 'mutation');
        return execute(operation, variables, requestOptions);
      });
    },
    subscribe(document, ...[variables, subscribeOptions]) {
      const operation = operationOf(document);
      assertType(operation, 'subscribe', 'subscription');
      return subscribe(operation, variables, subscribeOptions);
    },
    async close() {
      for (const stop of [...running]) stop();
      const closing = socket;
      socket = undefined;
      await closing?.dispose();
    },
  };
}
