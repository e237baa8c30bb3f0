import { GraphQLError, type GraphQLFormattedError } from 'graphql';

/** Every error code a client can see. Values equal keys so they survive serialisation unchanged. */
export enum ErrorCode {
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  FORBIDDEN = 'FORBIDDEN',
  NOT_FOUND = 'NOT_FOUND',
  BAD_USER_INPUT = 'BAD_USER_INPUT',
  CONFLICT = 'CONFLICT',
  COST_LIMIT_EXCEEDED = 'COST_LIMIT_EXCEEDED',
  RATE_LIMITED = 'RATE_LIMITED',
  QUOTA_EXCEEDED = 'QUOTA_EXCEEDED',
  SERVICE_UNAVAILABLE = 'SERVICE_UNAVAILABLE',
  INTERNAL_SERVER_ERROR = 'INTERNAL_SERVER_ERROR',
  // Edge limits (gateway/src/edge-limits.ts, docs/edge-hardening.md).
  DOCUMENT_TOO_LARGE = 'DOCUMENT_TOO_LARGE',
  DEPTH_LIMIT_EXCEEDED = 'DEPTH_LIMIT_EXCEEDED',
  ALIAS_LIMIT_EXCEEDED = 'ALIAS_LIMIT_EXCEEDED',
  ROOT_FIELD_LIMIT_EXCEEDED = 'ROOT_FIELD_LIMIT_EXCEEDED',
  BATCH_LIMIT_EXCEEDED = 'BATCH_LIMIT_EXCEEDED',
  BATCHING_DISABLED = 'BATCHING_DISABLED',
  INTROSPECTION_DISABLED = 'INTROSPECTION_DISABLED',
  // Persisted operations (gateway/src/persisted-operations.ts); the first two are Apollo's own codes.
  PERSISTED_QUERY_NOT_FOUND = 'PERSISTED_QUERY_NOT_FOUND',
  PERSISTED_QUERY_NOT_SUPPORTED = 'PERSISTED_QUERY_NOT_SUPPORTED',
  PERSISTED_QUERY_REQUIRED = 'PERSISTED_QUERY_REQUIRED',
}

/** HTTP status that goes with each code when the error ends the whole request (CONTRACT.md, Errors). */
export const httpStatusOf: Record<ErrorCode, number> = {
  [ErrorCode.UNAUTHENTICATED]: 401,
  [ErrorCode.FORBIDDEN]: 403,
  [ErrorCode.NOT_FOUND]: 200,
  [ErrorCode.BAD_USER_INPUT]: 400,
  [ErrorCode.CONFLICT]: 200,
  [ErrorCode.COST_LIMIT_EXCEEDED]: 400,
  [ErrorCode.RATE_LIMITED]: 429,
  [ErrorCode.QUOTA_EXCEEDED]: 429,
  [ErrorCode.SERVICE_UNAVAILABLE]: 503,
  [ErrorCode.INTERNAL_SERVER_ERROR]: 500,
  [ErrorCode.DOCUMENT_TOO_LARGE]: 413,
  [ErrorCode.DEPTH_LIMIT_EXCEEDED]: 400,
  [ErrorCode.ALIAS_LIMIT_EXCEEDED]: 400,
  [ErrorCode.ROOT_FIELD_LIMIT_EXCEEDED]: 400,
  [ErrorCode.BATCH_LIMIT_EXCEEDED]: 400,
  [ErrorCode.BATCHING_DISABLED]: 400,
  [ErrorCode.INTROSPECTION_DISABLED]: 400,
  // 200 as Apollo Server answers them: Apollo clients' persisted-query links turn persisted queries off
  // for good after a 400, instead of retrying with the document.
  [ErrorCode.PERSISTED_QUERY_NOT_FOUND]: 200,
  [ErrorCode.PERSISTED_QUERY_NOT_SUPPORTED]: 200,
  // The document is fine; this tenant is not allowed to send documents of its own.
  [ErrorCode.PERSISTED_QUERY_REQUIRED]: 403,
};

declare module 'graphql' {
  interface GraphQLErrorExtensions {
    code?: ErrorCode | string;
    http?: { status?: number; headers?: Map<string, string> };
    /** Seconds to wait before retrying, on RATE_LIMITED. */
    retryAfter?: number;
  }
}

export interface ErrorOptions {
  /** Attach the HTTP status of the code, so that a request-level error sets the response status. */
  withStatus?: boolean;
  extensions?: Record<string, unknown>;
  cause?: unknown;
}

/** The one way to build a client-facing error. */
export function graphQLError(code: ErrorCode, message: string, options: ErrorOptions = {}): GraphQLError {
  const { withStatus = false, extensions = {}, cause } = options;
  return new GraphQLError(message, {
    originalError: cause instanceof Error ? cause : undefined,
    extensions: {
      ...extensions,
      code,
      ...(withStatus ? { http: { status: httpStatusOf[code] } } : {}),
    },
  });
}

/** A request-level error: it decides the HTTP status of the response. */
export function requestError(code: ErrorCode, message: string, extensions?: Record<string, unknown>): GraphQLError {
  return graphQLError(code, message, { withStatus: true, extensions });
}

export const notFound = (what: string): GraphQLError => graphQLError(ErrorCode.NOT_FOUND, `${what} not found`);
export const badInput = (message: string, extensions?: Record<string, unknown>): GraphQLError =>
  graphQLError(ErrorCode.BAD_USER_INPUT, message, { extensions });

const knownCodes = new Set<string>(Object.values(ErrorCode));
/** Codes that graphql-js and Apollo Server produce for bad documents; they are safe to show. */
const safeForeignCodes = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
]);

export function isSafeCode(code: unknown): boolean {
  return typeof code === 'string' && (knownCodes.has(code) || safeForeignCodes.has(code));
}

/**
 * Masks anything we did not raise on purpose. Returns the formatted error to send and, when it masked,
 * the fact so that the caller logs the original with request id and tenant.
 */
export function maskFormattedError(formatted: GraphQLFormattedError): { error: GraphQLFormattedError; masked: boolean } {
  const code = formatted.extensions?.code;
  // Apollo Server labels any unexpected resolver error INTERNAL_SERVER_ERROR before formatError runs:
  // the code is ours, the message is not (a driver's "Command timed out", a SQL error), so it is masked.
  if (isSafeCode(code) && !(code === ErrorCode.INTERNAL_SERVER_ERROR && formatted.message !== 'Internal server error')) {
    const { stacktrace: _stack, exception: _exception, ...extensions } = (formatted.extensions ?? {}) as Record<string, unknown>;
    return { error: { ...formatted, extensions }, masked: false };
  }
  return {
    error: {
      message: 'Internal server error',
      ...(formatted.path ? { path: formatted.path } : {}),
      ...(formatted.locations ? { locations: formatted.locations } : {}),
      extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
    },
    masked: true,
  };
}

/** Normalises anything thrown into a GraphQLError (unknown causes become INTERNAL_SERVER_ERROR). */
export function ensureGraphQLError(error: unknown): GraphQLError {
  if (error instanceof GraphQLError) return error;
  return graphQLError(ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error', { withStatus: true, cause: error });
}

/** The JSON body of a request-level error response, GraphQL over HTTP shaped. */
export function errorBody(error: GraphQLError): string {
  const { http: _http, ...extensions } = error.extensions;
  return JSON.stringify({ errors: [{ message: error.message, extensions }] });
}
