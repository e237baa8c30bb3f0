import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { getOperationAST, GraphQLError, type DocumentNode, type ExecutionResult } from 'graphql';
import { CloseCode, GRAPHQL_TRANSPORT_WS_PROTOCOL, type SubscribePayload } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { PersistedOperationsPolicy, PlanLimits, TenantContext } from '../../tenancy/context';
import { ErrorCode, ensureGraphQLError, graphQLError } from '../../tenancy/errors';
import type { Logger } from '../../tenancy/logger';
import { requestUrl } from '../../tenancy/http';
import type { SubscriptionEngine } from './subscriptions';
import { createTenantSessions } from './tenant-sessions';

/** Who is on the other end of a socket (or an HTTP stream), as authentication and tenant resolution decided. */
export interface Session {
  tenant: TenantContext;
  limits: PlanLimits;
  /** The token's expiry, ms since the epoch: nothing streams past it. */
  expiresAt: number;
  /** The tenant's persisted-operation policy (its tenant record). */
  persistedOperations?: PersistedOperationsPolicy;
}

/** What the socket presented; the same checks as an HTTP request's headers go through. */
export interface Credentials {
  authorization?: string;
  tenantHeader?: string;
  host?: string;
  pathSlug?: string;
  requestId: string;
}

export interface GatewayWebSocketOptions {
  server: Server;
  /** null for a path that serves no GraphQL; else the tenant slug the path selects, if any. */
  route: (pathname: string) => { pathSlug?: string } | null;
  authenticate: (credentials: Credentials) => Promise<Session>;
  /**
   * The document text a subscribe message names (a persisted operation's hash, or its query), after
   * the persisted-operation policy and the edge limits; throws the refusal. The same checks as HTTP.
   */
  prepare: (session: Session, payload: SubscribePayload & { documentId?: unknown }) => unknown;
  engine: SubscriptionEngine;
  /** Queries and mutations sent over the socket, run like HTTP ones (admission included). */
  execute: (session: Session, request: { document: DocumentNode; variables?: Record<string, unknown>; operationName?: string }) => Promise<ExecutionResult>;
  logger: Logger;
  /** @default 20 */
  maxSubscriptionsPerConnection?: number;
  /**
   * Acknowledged connections one tenant may hold open on this gateway at once (0: no limit). The next
   * is closed with 1013 (Try Again Later), which clients retry with back-off. Subscriptions are bounded
   * by the plan's concurrency already (each holds a slot); this bounds the sockets themselves, so one
   * tenant cannot take every file descriptor of a gateway. @default 0
   */
  maxConnectionsPerTenant?: number;
  /** A connection refused for a limit of this module (metrics). */
  onRefused?: (reason: 'tenant_connections') => void;
  /** Time a client has to send connection_init. @default 3_000 ms (graphql-ws's own default) */
  connectionInitWaitTimeoutMs?: number;
  /** @default 1 MiB */
  maxMessageBytes?: number;
  onConnectionsChanged?: (open: number) => void;
  /** Subscribes to tenant changes (tenant-resolution.ts onChanged); returns the unsubscribe. */
  onTenantChanged?: (listener: (slug: string) => void) => () => void;
}

/** What the gateway keeps on each connection (beside graphql-ws's socket and upgrade request). */
type ConnectionState = {
  session: Session;
  credentials: Credentials;
  expiry: NodeJS.Timeout;
  operations: number;
};
/** An authenticated connection, as the tenant watch holds it. */
type OpenConnection = ConnectionState & { socket: WebSocket };

/** WebSocket close code 1013, Try Again Later (RFC 6455's registry): a limit that will pass. */
const TRY_AGAIN_LATER = 1013;

/** How long before the token's expiry a socket is closed (see onConnect). */
const EXPIRY_MARGIN_MS = 500;

/** A WebSocket close reason is at most 123 bytes. */
const reason = (text: string) => (Buffer.byteLength(text) <= 123 ? text : `${Buffer.from(text).subarray(0, 120).toString('utf8')}...`);

/** The Bearer token from connectionParams.authorization ("Bearer x" or the bare token). */
function authorizationOf(params: Record<string, unknown> | undefined): string | undefined {
  const value = params?.authorization ?? params?.Authorization;
  if (typeof value !== 'string' || !value.trim()) return undefined;
  return /^bearer\s/i.test(value) ? value : `Bearer ${value.trim()}`;
}

/**
 * graphql-ws (graphql-transport-ws) on the gateway's own port and /graphql path (DESIGN.md,
 * subscriptions). The socket is authenticated in connection_init with the same JWT checks and tenant
 * resolution as an HTTP request: 4401 for a bad or missing token, 4403 when the token is good but the
 * tenant may not be used; at the token's expiry the server closes with 4401, so nothing streams past
 * it (clients reconnect with a fresh token; the SDK does). Subscriptions go to the subscription
 * engine; queries and mutations run as over HTTP.
 */
export function attachGatewayWebSocket(options: GatewayWebSocketOptions) {
  const { server, route, authenticate, prepare, engine, execute, logger, maxSubscriptionsPerConnection = 20, maxConnectionsPerTenant = 0, onConnectionsChanged } = options;
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxMessageBytes ?? 1024 * 1024 });
  server.on('upgrade', (req, socket, head) => {
    const url = requestUrl(req);
    const routed = url && route(url.pathname);
    if (!routed) {
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  wss.on('connection', (ws) => {
    // A client that did not ask for graphql-transport-ws (or asked only for the retired
    // subscriptions-transport-ws) is told so at once rather than left to time out.
    if (ws.protocol !== GRAPHQL_TRANSPORT_WS_PROTOCOL) ws.close(CloseCode.SubprotocolNotAcceptable, 'Subprotocol not acceptable');
    onConnectionsChanged?.(wss.clients.size);
    ws.once('close', () => onConnectionsChanged?.(wss.clients.size));
  });

  const streams = new WeakMap<object, AsyncGenerator<ExecutionResult>>();
  // Open connections by tenant: a tenant changed anywhere (suspended, re-planned) is checked again at once.
  const connections = createTenantSessions<OpenConnection>({
    authenticate,
    onTenantChanged: options.onTenantChanged,
    end(connection, { code, message }) {
      if (code === ErrorCode.FORBIDDEN) connection.socket.close(CloseCode.Forbidden, reason(`Forbidden: ${message}`));
      else connection.socket.close(CloseCode.Unauthorized, reason(`Unauthorized: ${message}`));
    },
  });

  useServer<Record<string, unknown>, ConnectionState>(
    {
      schema: engine.schema,
      connectionInitWaitTimeout: options.connectionInitWaitTimeoutMs ?? 3_000,
      async onConnect(ctx) {
        const { request, socket } = ctx.extra;
        ctx.extra.operations = 0;
        const params = ctx.connectionParams;
        const tenantParam = params?.['x-tenant-id'];
        const tenantHeader = typeof tenantParam === 'string' ? tenantParam : request.headers['x-tenant-id'];
        try {
          const credentials: Credentials = {
            authorization: authorizationOf(params),
            tenantHeader: typeof tenantHeader === 'string' ? tenantHeader.trim().toLowerCase() || undefined : undefined,
            host: request.headers.host,
            pathSlug: route(requestUrl(request)?.pathname ?? '/')?.pathSlug,
            requestId: randomUUID(),
          };
          const session = await authenticate(credentials);
          const open = connections.countOf(session.tenant.tenantSlug);
          if (maxConnectionsPerTenant > 0 && open >= maxConnectionsPerTenant) {
            options.onRefused?.('tenant_connections');
            logger.debug({ tenant: session.tenant.tenantSlug, open }, 'socket refused: the tenant holds its maximum of connections');
            socket.close(TRY_AGAIN_LATER, reason(`Try again later: this tenant already holds ${maxConnectionsPerTenant} connections to this gateway`));
            return false;
          }
          ctx.extra.session = session;
          ctx.extra.credentials = credentials;
          connections.add(ctx.extra as OpenConnection);
          // Closed a little before the token's expiry, so the 4401 always reaches the client before the
          // streams themselves end at the expiry (they would otherwise complete first, which a client
          // cannot tell from a normal end, and not reconnect with a fresh token).
          ctx.extra.expiry = setTimeout(
            () => socket.close(CloseCode.Unauthorized, 'Unauthorized: token expired'),
            Math.max(0, session.expiresAt - EXPIRY_MARGIN_MS - Date.now()),
          );
          return { tenant: session.tenant.tenantSlug, expiresAt: new Date(session.expiresAt).toISOString() };
        } catch (thrown) {
          const error = ensureGraphQLError(thrown);
          const code = error.extensions.code;
          if (code === ErrorCode.UNAUTHENTICATED) socket.close(CloseCode.Unauthorized, reason(`Unauthorized: ${error.message}`));
          else if (code === ErrorCode.FORBIDDEN) socket.close(CloseCode.Forbidden, reason(`Forbidden: ${error.message}`));
          else {
            logger.error({ err: thrown }, 'socket authentication failed unexpectedly');
            socket.close(CloseCode.InternalServerError, 'Internal server error');
          }
          return false;
        }
      },
      async onSubscribe(ctx, _id, payload: SubscribePayload) {
        const session = ctx.extra.session!;
        if ((ctx.extra.operations ?? 0) >= maxSubscriptionsPerConnection) {
          return [graphQLError(ErrorCode.RATE_LIMITED, `At most ${maxSubscriptionsPerConnection} operations at once on one connection`, { extensions: { reason: 'CONNECTION_OPERATIONS', retryAfter: 1 } })];
        }
        let source: unknown;
        try {
          source = prepare(session, payload);
        } catch (thrown) {
          return [shown(thrown, logger)];
        }
        if (typeof source !== 'string') return [graphQLError(ErrorCode.BAD_USER_INPUT, 'The subscribe message has no query', { extensions: { reason: 'GRAPHQL_PARSE_FAILED' } })];
        let document: DocumentNode;
        try {
          document = engine.parse(source);
        } catch (error) {
          return [graphQLError(ErrorCode.BAD_USER_INPUT, error instanceof GraphQLError ? error.message : 'The query could not be parsed', { extensions: { reason: 'GRAPHQL_PARSE_FAILED' } })];
        }
        const variables = (payload.variables ?? undefined) as Record<string, unknown> | undefined;
        const operationName = payload.operationName ?? undefined;
        const operation = getOperationAST(document, operationName);
        const contextValue: { session: Session } = { session };
        if (operation?.operation === 'subscription') {
          try {
            const stream = await engine.start({ ...session, document, operationName, variables });
            streams.set(contextValue, stream);
          } catch (thrown) {
            return [shown(thrown, logger)];
          }
        } else {
          const checked = engine.check(document, operationName, variables);
          if (checked.errors) return checked.errors;
        }
        ctx.extra.operations = (ctx.extra.operations ?? 0) + 1;
        return { schema: engine.schema, document, variableValues: variables, operationName, contextValue };
      },
      subscribe: (args) => streams.get(args.contextValue as object)!,
      execute: (args) =>
        execute((args.contextValue as { session: Session }).session, {
          document: args.document,
          variables: (args.variableValues ?? undefined) as Record<string, unknown> | undefined,
          operationName: args.operationName ?? undefined,
        }),
      onComplete(ctx) {
        ctx.extra.operations = Math.max(0, (ctx.extra.operations ?? 1) - 1);
      },
      onClose(ctx) {
        clearTimeout(ctx.extra.expiry);
        if (ctx.extra.session) connections.delete(ctx.extra as OpenConnection);
      },
    },
    wss,
  );

  return {
    get connections() {
      return wss.clients.size;
    },
    close() {
      connections.close();
      for (const client of wss.clients) client.terminate();
      wss.close();
    },
  };
}

function shown(thrown: unknown, logger: Logger): GraphQLError {
  const error = ensureGraphQLError(thrown);
  if (error.extensions.code === ErrorCode.INTERNAL_SERVER_ERROR) {
    logger.error({ err: thrown }, 'subscription could not start');
    return graphQLError(ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error');
  }
  // extensions.http is for HTTP responses; a socket message carries the code and retryAfter alone.
  const { http: _http, ...extensions } = error.extensions;
  return new GraphQLError(error.message, { extensions });
}
