import type { Server } from 'node:http';
import { GraphQLError, subscribe, type ExecutionArgs, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { CONTEXT_HEADER, type ContextVerifier } from './context-token';
import { createDocumentCache } from './documents';
import { requestUrl } from './http';
import { runInRequestScope, runWithTenant, type TenantContext } from './context';
import { ErrorCode, graphQLError, maskFormattedError } from './errors';
import type { Logger } from './logger';
import { endAfter } from './streams';

/** Largest WebSocket message a subgraph accepts (the gateway sends one operation per message). */
const MAX_MESSAGE_BYTES = 256 * 1024;

export interface SubgraphSubscriptionOptions<Context> {
  server: Server;
  schema: GraphQLSchema;
  /** Verifies each subscription's own gateway-signed context (payload.extensions[CONTEXT_HEADER]). */
  verify: ContextVerifier;
  /** Verifies the gateway's link token in connection_init. */
  verifyLink: (token: unknown) => Promise<boolean>;
  contextFor: (tenant: TenantContext) => Context;
  logger: Logger;
  name: string;
}

/**
 * graphql-ws on a subgraph's /graphql: only the gateway talks to it. The connection is opened with a
 * link token (it names no tenant); every subscription then carries its own signed tenant context, so
 * one socket multiplexes the subscriptions of many tenants and each is as isolated as an HTTP request
 * (DESIGN.md invariant 1). A subscription's context says when its stream must end (the caller's own
 * token expiry): the stream ends then even if the gateway forgot to end it.
 */
export function attachSubgraphSubscriptions<Context extends object>(options: SubgraphSubscriptionOptions<Context>) {
  const { server, schema, verify, verifyLink, contextFor, logger, name } = options;
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  server.on('upgrade', (req, socket, head) => {
    if (requestUrl(req)?.pathname !== '/graphql') {
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  const tenants = new WeakMap<object, TenantContext>();
  const documentOf = createDocumentCache(schema);
  useServer<Record<string, unknown>>(
    {
      schema,
      async onConnect(ctx) {
        const permitted = await verifyLink(ctx.connectionParams?.link);
        if (!permitted) {
          logger.warn('subscription link without a valid gateway link token');
          ctx.extra.socket.close(CloseCode.Unauthorized, 'Unauthorized: missing or invalid gateway link token');
        }
        return permitted;
      },
      async onSubscribe(_ctx, _id, payload) {
        let tenant: TenantContext;
        try {
          tenant = await verify(payload.extensions?.[CONTEXT_HEADER] as string | undefined);
        } catch (error) {
          return [error instanceof GraphQLError ? error : graphQLError(ErrorCode.UNAUTHENTICATED, 'Gateway context is invalid')];
        }
        let parsed;
        try {
          parsed = documentOf(payload.query);
        } catch (error) {
          return [graphQLError(ErrorCode.BAD_USER_INPUT, (error as Error).message)];
        }
        if (parsed.errors.length > 0) return [...parsed.errors];
        const { document } = parsed;
        const contextValue = contextFor(tenant);
        tenants.set(contextValue, tenant);
        return { schema, document, variableValues: payload.variables ?? undefined, operationName: payload.operationName ?? undefined, contextValue };
      },
      async subscribe(args: ExecutionArgs) {
        const tenant = tenants.get(args.contextValue as object)!;
        const result = await runInRequestScope({ requestId: tenant.requestId, service: name, tenant: tenant.tenantSlug }, () =>
          runWithTenant(tenant, () => subscribe(args)),
        );
        if (!(Symbol.asyncIterator in result) || tenant.streamUntil === undefined) return result;
        // The caller's token has expired by then: end the stream (graphql-ws then sends complete).
        return endAfter(result, tenant.streamUntil * 1000 - Date.now());
      },
      onNext(_ctx, _id, _payload, _args, result) {
        if (!result.errors?.length) return undefined;
        return { ...result, errors: result.errors.map((error) => maskedError(error, logger)) } as ExecutionResult;
      },
      onError(_ctx, _id, _payload, errors) {
        return errors.map((error) => maskedError(error, logger));
      },
    },
    wss,
  );

  return {
    get connections() {
      return wss.clients.size;
    },
    /** Ends every socket at once (process shutdown, or a test killing the subgraph). */
    close() {
      for (const client of wss.clients) client.terminate();
      wss.close();
    },
  };
}

function maskedError(error: GraphQLError, logger: Logger): GraphQLError {
  const { error: shown, masked } = maskFormattedError(error.toJSON());
  if (masked) logger.error({ err: error.originalError ?? error, path: error.path }, 'unexpected subscription error masked');
  return new GraphQLError(shown.message, { path: shown.path, extensions: shown.extensions });
}
