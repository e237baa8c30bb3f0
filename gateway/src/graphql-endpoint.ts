import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer, type HTTPGraphQLResponse } from '@apollo/server';
import { GraphQLError } from 'graphql';
import type { PersistedOperationsPolicy } from '../../tenancy/context';
import { ErrorCode, errorBody, requestError } from '../../tenancy/errors';
import { BodyError, headerMapOf, parseBody, readBody, sendBodyError, writeApolloResponse } from '../../tenancy/http';
import type { Logger } from '../../tenancy/logger';
import type { EarlyAnswer, OperationParams } from './admission';
import type { DocumentGuard } from './edge-limits';
import { responseContentType } from './http-status';
import type { DocumentParams, PersistedOperations, ResolvedDocument } from './persisted-operations';
import type { GatewayContext } from './subgraph-fetch';

/**
 * The gateway's `/graphql` over HTTP, after authentication (issue 5): it reads the request, resolves
 * persisted operations, applies the tenant's persisted-operation policy and the edge limits, and only
 * then hands each operation to Apollo Server (validation, admission, planning, execution). Everything
 * refused here is refused before any of those, with a request-level error and its status.
 *
 * Batches (a JSON array of operations in one POST) are split here rather than by Apollo Server, which
 * would give every operation one shared context and one shared status: each operation of a batch runs
 * as a request of its own, through the same checks and the same admission (its own cost, bucket charge
 * and concurrency slot), one after another, and the answer is the array of their results.
 */
export interface GraphQLEndpointOptions {
  apollo: ApolloServer<GatewayContext>;
  guard: DocumentGuard;
  persisted: PersistedOperations;
  logger: Logger;
}

/** What the endpoint needs to know about one authenticated request. */
export interface EndpointRequest {
  /** The tenant's persisted-operation policy (its tenant record). */
  policy: PersistedOperationsPolicy | undefined;
  /** A fresh context for each operation (a batch runs several). */
  context: () => Promise<GatewayContext>;
  /** Called for every operation refused here, before Apollo Server (metrics). */
  onRefused?: (code: string, operationName: string | null) => void;
  /**
   * The answer to an operation whose refusal admission already knows (admission.ts `refuseEarly`),
   * given without Apollo Server; undefined lets it go on.
   */
  refuseEarly?: (params: OperationParams) => EarlyAnswer | undefined;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isAbsentOr = (value: unknown, check: (v: unknown) => boolean) => value === undefined || value === null || check(value);

/**
 * The operation of a POST body that Apollo Server would take as it is and run through its request
 * pipeline: a JSON content type (no CSRF refusal), a non-empty query, well-formed operationName,
 * variables and extensions, and no persisted-query extension (Apollo Server's own are off). Anything
 * else is left to Apollo Server, which answers it as it always has.
 */
function plainOperation(body: Record<string, unknown>, contentType: string | undefined): OperationParams | undefined {
  if (contentType?.split(';', 1)[0]!.trim().toLowerCase() !== 'application/json') return undefined;
  const { query, operationName, variables, extensions } = body;
  if (typeof query !== 'string' || query === '') return undefined;
  if (!isAbsentOr(operationName, (v) => typeof v === 'string')) return undefined;
  if (!isAbsentOr(variables, isRecord) || !isAbsentOr(extensions, isRecord)) return undefined;
  if (isRecord(extensions) && 'persistedQuery' in extensions) return undefined;
  return { query, operationName: operationName as string | null | undefined, variables: variables as Record<string, unknown> | null | undefined };
}

/** Most Accept values whose content type is remembered; past it the memory starts again. */
const MAX_ACCEPT_VALUES = 64;

export function createGraphQLEndpoint(options: GraphQLEndpointOptions) {
  const { apollo, guard, persisted, logger } = options;
  /**
   * The content type Apollo Server chose for a complete answer, by Accept header value. An early
   * answer needs it to be byte-identical, and Apollo Server's negotiation (which may also refuse
   * with 406) is its own: so an Accept value it has not answered yet is never answered early.
   */
  const contentTypes = new Map<string, string>();
  function learnContentType(accept: string | undefined, response: HTTPGraphQLResponse) {
    const status = response.status ?? 200;
    // Only statuses that come out of its whole pipeline, after the negotiation; errors before it fall back to JSON.
    if ((status !== 200 && status !== 429) || response.body.kind !== 'complete') return;
    const contentType = response.headers.get('content-type');
    if (!contentType || contentTypes.get(accept ?? '') === contentType) return;
    if (contentTypes.size >= MAX_ACCEPT_VALUES) contentTypes.clear();
    contentTypes.set(accept ?? '', contentType);
  }

  function earlyAnswer(answer: EarlyAnswer, contentType: string): HTTPGraphQLResponse {
    const headers = new HeaderMap(answer.headers);
    headers.set('content-type', contentType);
    // As Apollo Server writes a result: JSON and a newline.
    return { status: answer.status, headers, body: { kind: 'complete', string: `${JSON.stringify(answer.result)}\n` } };
  }

  /** The persisted operation, the policy, then the document's limits; throws the refusal. */
  function resolveDocument(params: DocumentParams, policy: PersistedOperationsPolicy | undefined): ResolvedDocument {
    const resolved = persisted.resolve(params, policy);
    if (resolved instanceof GraphQLError) throw resolved;
    if (typeof resolved.query === 'string') {
      const refusal = guard.check(resolved.query);
      if (refusal) throw refusal;
    }
    return resolved;
  }

  function preparePost(body: Record<string, unknown>, policy: PersistedOperationsPolicy | undefined): Record<string, unknown> {
    const resolved = resolveDocument(body, policy);
    if (!resolved.rewritten) return body;
    const { documentId: _documentId, ...rest } = body;
    // Never a key set to undefined: Apollo Server refuses `extensions: undefined` as "not an object".
    return {
      ...rest,
      ...(resolved.query !== undefined ? { query: resolved.query } : {}),
      ...(resolved.extensions !== undefined ? { extensions: resolved.extensions } : {}),
    };
  }

  function prepareGet(search: string, policy: PersistedOperationsPolicy | undefined): string {
    const params = new URLSearchParams(search);
    for (const name of ['query', 'extensions', 'documentId']) {
      if (params.getAll(name).length > 1) throw requestError(ErrorCode.BAD_USER_INPUT, `The '${name}' parameter may only be given once`);
    }
    const rawExtensions = params.get('extensions');
    let extensions: unknown = rawExtensions ?? undefined;
    if (rawExtensions !== null) {
      try {
        extensions = JSON.parse(rawExtensions);
      } catch {
        // Left as it is: Apollo Server refuses it with 400.
      }
    }
    const resolved = resolveDocument({ query: params.get('query') ?? undefined, documentId: params.get('documentId') ?? undefined, extensions }, policy);
    if (!resolved.rewritten) return search;
    params.delete('documentId');
    if (typeof resolved.query === 'string') params.set('query', resolved.query);
    if (isRecord(resolved.extensions)) {
      if (Object.keys(resolved.extensions).length === 0) params.delete('extensions');
      else params.set('extensions', JSON.stringify(resolved.extensions));
    }
    return `?${params}`;
  }

  function refusal(error: GraphQLError, headers: HeaderMap): HTTPGraphQLResponse {
    return {
      status: error.extensions.http?.status ?? 400,
      headers: new HeaderMap([
        ['content-type', responseContentType(headers.get('accept'))],
        ['cache-control', 'no-store'],
      ]),
      body: { kind: 'complete', string: errorBody(error) },
    };
  }

  async function runOne(method: string, headers: HeaderMap, search: string, body: unknown, request: EndpointRequest): Promise<HTTPGraphQLResponse> {
    try {
      // Anything else (no body, a body that is not an object, another method) goes to Apollo Server
      // as it came: it answers those with 400, 405 or its CSRF refusal.
      if (method === 'GET') search = prepareGet(search, request.policy);
      else if (method === 'POST' && isRecord(body)) body = preparePost(body, request.policy);
    } catch (error) {
      if (!(error instanceof GraphQLError)) throw error;
      const operationName = method === 'GET' ? new URLSearchParams(search).get('operationName') : isRecord(body) && typeof body.operationName === 'string' ? body.operationName : null;
      const code = String(error.extensions.code);
      logger.debug({ code, operationName }, 'operation refused at the edge');
      request.onRefused?.(code, operationName);
      return refusal(error, headers);
    }
    if (request.refuseEarly && method === 'POST' && isRecord(body)) {
      const contentType = contentTypes.get(headers.get('accept') ?? '');
      const params = contentType && plainOperation(body, headers.get('content-type'));
      const early = params && request.refuseEarly(params);
      if (early) return earlyAnswer(early, contentType!);
    }
    const response = await apollo.executeHTTPGraphQLRequest({ httpGraphQLRequest: { method, headers, search, body }, context: request.context });
    learnContentType(headers.get('accept'), response);
    return response;
  }

  async function runBatch(headers: HeaderMap, search: string, operations: unknown[], request: EndpointRequest): Promise<HTTPGraphQLResponse> {
    const { maxBatchSize } = guard.limits;
    const refuse = (error: GraphQLError) => {
      request.onRefused?.(String(error.extensions.code), null);
      return refusal(error, headers);
    };
    if (maxBatchSize === 0) {
      return refuse(requestError(ErrorCode.BATCHING_DISABLED, 'This endpoint does not accept batched operations: send one operation per request'));
    }
    if (operations.length === 0) return refuse(requestError(ErrorCode.BAD_USER_INPUT, 'A batch must hold at least one operation'));
    if (operations.length > maxBatchSize) {
      return refuse(
        requestError(ErrorCode.BATCH_LIMIT_EXCEEDED, `A batch may hold at most ${maxBatchSize} operations; this one holds ${operations.length}`, {
          batchSize: operations.length,
          maximumBatchSize: maxBatchSize,
        }),
      );
    }
    // One after another: a batch holds one concurrency slot at a time (it cannot refuse itself for
    // concurrency), and its mutations run in the order they were sent.
    const responses: HTTPGraphQLResponse[] = [];
    for (const operation of operations) responses.push(await runOne('POST', headers, search, operation, request));

    const merged = new HeaderMap();
    const bodies: string[] = [];
    let retryAfter = 0;
    for (const response of responses) {
      // Later operations carry the newest RateLimit state, so theirs win.
      for (const [name, value] of response.headers) merged.set(name, value);
      retryAfter = Math.max(retryAfter, Number(response.headers.get('retry-after')) || 0);
      if (response.body.kind === 'complete') {
        bodies.push(response.body.string);
      } else {
        await response.body.asyncIterator.return?.();
        bodies.push(errorBody(requestError(ErrorCode.BAD_USER_INPUT, 'Incremental delivery (@defer) is not available inside a batch')));
      }
    }
    if (retryAfter > 0) merged.set('retry-after', String(retryAfter));
    // One status for many results: the one they share (every operation refused alike, e.g. 429), else 200
    // with each result carrying its own errors and codes.
    const statuses = new Set(responses.map((response) => response.status ?? 200));
    return { status: statuses.size === 1 ? [...statuses][0]! : 200, headers: merged, body: { kind: 'complete', string: `[${bodies.join(',')}]` } };
  }

  return {
    /**
     * The document a request object names, resolved and checked (persisted operation, policy, edge
     * limits), for transports that do not come through `handle` (subscriptions over WebSocket or an
     * HTTP stream). Throws the refusal, a GraphQLError with its code and HTTP status.
     */
    prepare(params: DocumentParams, policy: PersistedOperationsPolicy | undefined): ResolvedDocument {
      return resolveDocument(params, policy);
    },

    /** Answers one authenticated request on /graphql; `read` is the body when the caller has read it already. */
    async handle(req: IncomingMessage, res: ServerResponse, url: URL, request: EndpointRequest, read?: { body: unknown }): Promise<void> {
      const method = req.method ?? 'GET';
      let body: unknown = read?.body;
      if (!read) {
        try {
          body = method === 'POST' ? parseBody(await readBody(req), req.headers['content-type']) : undefined;
        } catch (error) {
          if (error instanceof BodyError) return sendBodyError(res, error);
          throw error;
        }
      }
      const headers = headerMapOf(req);
      const response = method === 'POST' && Array.isArray(body) ? await runBatch(headers, url.search, body, request) : await runOne(method, headers, url.search, body, request);
      await writeApolloResponse(res, response);
    },
  };
}
export type GraphQLEndpoint = ReturnType<typeof createGraphQLEndpoint>;
