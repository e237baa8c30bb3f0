import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer, type BaseContext, type HTTPGraphQLResponse } from '@apollo/server';
import type { Logger } from './logger';
import { ErrorCode, errorBody, requestError } from './errors';

/** Largest request body accepted. @default 1 MiB: far above any real operation, small enough to shed abuse. */
export const MAX_BODY_BYTES = 1024 * 1024;

export class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BodyError(413, `Request body is larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function headerMapOf(req: IncomingMessage): HeaderMap {
  const headers = new HeaderMap();
  for (const [key, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    headers.set(key, Array.isArray(value) ? value.join(', ') : value);
  }
  return headers;
}

/** Parses a JSON body when the content type says JSON; Apollo Server answers other content types itself. */
export function parseBody(raw: string, contentType: string | undefined): unknown {
  if (!raw) return undefined;
  if (contentType && /json/i.test(contentType)) {
    try {
      return JSON.parse(raw);
    } catch {
      throw new BodyError(400, 'Request body is not valid JSON');
    }
  }
  return raw;
}

export async function writeApolloResponse(res: ServerResponse, response: HTTPGraphQLResponse, extraHeaders?: Record<string, string>) {
  res.statusCode = response.status ?? 200;
  for (const [key, value] of response.headers) res.setHeader(key, value);
  for (const [key, value] of Object.entries(extraHeaders ?? {})) res.setHeader(key, value);
  if (response.body.kind === 'complete') {
    res.end(response.body.string);
    return;
  }
  for await (const chunk of response.body.asyncIterator) res.write(chunk);
  res.end();
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

/** A request-level GraphQL error response (GraphQL over HTTP shape, status from the code). */
export function sendGraphQLError(res: ServerResponse, error: ReturnType<typeof requestError>, headers: Record<string, string> = {}) {
  sendJson(res, error.extensions.http?.status ?? 500, errorBody(error), headers);
}

/** The error response for a body that could not be read (too large, not JSON). */
export function sendBodyError(res: ServerResponse, error: BodyError) {
  const graphQLError = requestError(ErrorCode.BAD_USER_INPUT, error.message);
  sendJson(res, error.status, errorBody(graphQLError));
}

/** Reads the request's body and runs it through Apollo Server, writing its answer. */
export async function executeGraphQL<Context extends BaseContext>(
  apollo: ApolloServer<Context>,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  context: () => Promise<Context>,
): Promise<void> {
  let body: unknown;
  try {
    body = req.method === 'POST' ? parseBody(await readBody(req), req.headers['content-type']) : undefined;
  } catch (error) {
    if (error instanceof BodyError) return sendBodyError(res, error);
    throw error;
  }
  const response = await apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: req.method ?? 'GET', headers: headerMapOf(req), search: url.search, body },
    context,
  });
  await writeApolloResponse(res, response);
}

/**
 * The request target as a URL, or undefined when it cannot be one. `new URL(req.url, base)` throws
 * on targets such as `//` or `//a:b` (it reads them as a host), and an upgrade handler that throws
 * takes the process down, so every server here reads its path through this.
 */
export function requestUrl(req: IncomingMessage): URL | undefined {
  const target = req.url ?? '/';
  try {
    // Origin-form (`/graphql?x`) is read as a path even when it starts with `//`; absolute-form
    // (`http://host/graphql`, as sent to proxies) is read as it is.
    return target.startsWith('/') ? new URL(`http://localhost${target}`) : new URL(target);
  } catch {
    return undefined;
  }
}

/** `decodeURIComponent`, or undefined for a malformed escape (`%zz`) instead of a thrown URIError. */
export function decodePathSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** The answer to a request target that is not a URL. */
export function sendBadTarget(res: ServerResponse) {
  sendGraphQLError(res, requestError(ErrorCode.BAD_USER_INPUT, 'The request target is not a valid URL path'));
}

/** An HTTP server whose handler can never crash the process or leave a request hanging. */
export function serve(handle: (req: IncomingMessage, res: ServerResponse) => Promise<unknown>, logger: Logger): Server {
  return createServer((req, res) => {
    handle(req, res).catch((error) => {
      logger.error({ err: error }, 'unhandled request error');
      if (!res.headersSent) sendJson(res, 500, { errors: [{ message: 'Internal server error', extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } }] });
      else res.end();
    });
  });
}
