import type { IncomingMessage, ServerResponse } from 'node:http';
import { getOperationAST, parse, type DocumentNode, type ExecutionResult } from 'graphql';
import { ErrorCode, ensureGraphQLError, graphQLError } from '../../tenancy/errors';
import { sendGraphQLError } from '../../tenancy/http';
import type { Logger } from '../../tenancy/logger';
import type { SubscriptionEngine } from './subscriptions';
import { createTenantSessions, type TenantSession } from './tenant-sessions';
import type { Credentials, Session } from './websocket';

/** Which streaming protocol an Accept header asks for, if any. */
export function streamProtocolOf(accept: string | undefined): 'multipart' | 'sse' | undefined {
  if (!accept) return undefined;
  if (/multipart\/mixed/i.test(accept)) return 'multipart';
  if (/text\/event-stream/i.test(accept)) return 'sse';
  return undefined;
}

export interface StreamRequest {
  query?: unknown;
  variables?: unknown;
  operationName?: unknown;
}

/** The parsed document when the request is a subscription; undefined for anything else (Apollo Server answers it). */
export function subscriptionDocumentOf(request: StreamRequest): DocumentNode | undefined {
  if (typeof request.query !== 'string') return undefined;
  try {
    const document = parse(request.query);
    const operation = getOperationAST(document, typeof request.operationName === 'string' ? request.operationName : undefined);
    return operation?.operation === 'subscription' ? document : undefined;
  } catch {
    return undefined;
  }
}

/** Parts of the multipart subscription protocol (Apollo Router's, which Apollo Client speaks). */
const BOUNDARY = 'graphql';
const part = (body: unknown) => `\r\n--${BOUNDARY}\r\ncontent-type: application/json; charset=utf-8\r\n\r\n${JSON.stringify(body)}`;

export interface HttpSubscriptionOptions {
  engine: SubscriptionEngine;
  logger: Logger;
  /** Multipart heartbeat (an empty `{}` part) interval. @default 5_000 ms, as the protocol asks */
  heartbeatMs?: number;
  /** Authentication and tenant resolution again, for a stream whose tenant changed (as for sockets). */
  authenticate: (credentials: Credentials) => Promise<Session>;
  /** Subscribes to tenant changes (tenant-resolution.ts onChanged); returns the unsubscribe. */
  onTenantChanged: (listener: (slug: string) => void) => () => void;
}

/** An open stream, as a tenant change finds it. */
interface OpenStream extends TenantSession {
  /** Ends the stream with a transport-level error (the tenant may no longer be used). */
  end(error: { message: string; code: string }): void;
}

/**
 * Subscriptions over plain HTTP, for clients that cannot open a WebSocket: multipart/mixed
 * (subscriptionSpec 1.0: each event a `{ payload }` part, `{}` heartbeats, `{ payload: null, errors }`
 * for a transport-level end) and Server-Sent Events (graphql-sse's distinct-connections format: `next`
 * events, then `complete`). A refusal (validation, cost, rate, quota) is an ordinary JSON error
 * response with its HTTP status and Retry-After, before any stream starts.
 *
 * Like a socket, an open stream follows its tenant: when the tenant changes anywhere (suspended,
 * re-planned), its credentials are checked again at once; a tenant that may no longer be used ends
 * the stream with a FORBIDDEN (or UNAUTHENTICATED) error, new limits reach the stream's slot renewals.
 */
export function createHttpSubscriptions(options: HttpSubscriptionOptions) {
  const { engine, logger, heartbeatMs = 5_000, authenticate } = options;

  // Checked again when their tenant changes; one that may no longer use it ends with the refusal.
  const openStreams = createTenantSessions<OpenStream>({
    authenticate,
    onTenantChanged: options.onTenantChanged,
    end: (stream, refusal) => stream.end(refusal),
  });

  async function serveSubscription(
    req: IncomingMessage,
    res: ServerResponse,
    protocol: 'multipart' | 'sse',
    session: Session,
    request: StreamRequest & { document: DocumentNode },
    credentials: Credentials,
  ): Promise<void> {
    const variables = request.variables;
    if (variables !== undefined && variables !== null && (typeof variables !== 'object' || Array.isArray(variables))) {
      return sendGraphQLError(res, graphQLError(ErrorCode.BAD_USER_INPUT, 'variables must be an object', { withStatus: true }));
    }
    let stream: AsyncGenerator<ExecutionResult>;
    try {
      stream = await engine.start({
        ...session,
        document: request.document,
        operationName: typeof request.operationName === 'string' ? request.operationName : undefined,
        variables: (variables ?? undefined) as Record<string, unknown> | undefined,
      });
    } catch (thrown) {
      const error = ensureGraphQLError(thrown);
      const code = error.extensions.code;
      if (code === ErrorCode.INTERNAL_SERVER_ERROR || !code) logger.error({ err: thrown }, 'subscription could not start');
      const retryAfter = error.extensions.retryAfter;
      const status = error.extensions.http?.status ?? (code === ErrorCode.BAD_USER_INPUT ? 400 : 500);
      const shown = code === ErrorCode.INTERNAL_SERVER_ERROR || !code ? graphQLError(ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error') : error;
      shown.extensions.http = { status };
      return sendGraphQLError(res, shown, typeof retryAfter === 'number' ? { 'retry-after': String(retryAfter) } : {});
    }

    const closed = () => void stream.return(undefined);
    req.socket.once('close', closed);
    res.once('close', closed);
    let endedWith: { message: string; code: string } | undefined;
    const open: OpenStream = {
      credentials,
      session,
      end(error) {
        endedWith ??= error;
        closed();
      },
    };
    openStreams.add(open);
    let heartbeat: NodeJS.Timeout;
    if (protocol === 'multipart') {
      res.writeHead(200, {
        'content-type': `multipart/mixed;boundary="${BOUNDARY}";subscriptionSpec="1.0"`,
        'cache-control': 'no-cache',
      });
      res.write(part({}));
      heartbeat = setInterval(() => res.write(part({})), heartbeatMs);
    } else {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
      res.write(': stream open\n\n');
      heartbeat = setInterval(() => res.write(':\n\n'), 12_000);
    }
    try {
      for await (const result of stream) {
        if (protocol === 'multipart') res.write(part({ payload: result }));
        else res.write(`event: next\ndata: ${JSON.stringify(result)}\n\n`);
      }
    } catch (thrown) {
      logger.error({ err: thrown }, 'subscription stream failed');
      const errors = [{ message: 'Internal server error', extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } }];
      if (protocol === 'multipart') res.write(part({ payload: null, errors }));
      else res.write(`event: next\ndata: ${JSON.stringify({ errors })}\n\n`);
    } finally {
      clearInterval(heartbeat);
      req.socket.off('close', closed);
      openStreams.delete(open);
      if (endedWith && !res.writableEnded) {
        const errors = [{ message: endedWith.message, extensions: { code: endedWith.code } }];
        if (protocol === 'multipart') res.write(part({ payload: null, errors }));
        else res.write(`event: next\ndata: ${JSON.stringify({ errors })}\n\n`);
      }
      if (!res.writableEnded) res.end(protocol === 'multipart' ? `\r\n--${BOUNDARY}--\r\n` : 'event: complete\ndata:\n\n');
    }
  }

  return {
    serve: serveSubscription,
    /** Open streams (tests, metrics). */
    get open(): number {
      return openStreams.size;
    },
    close(): void {
      openStreams.close();
    },
  };
}
