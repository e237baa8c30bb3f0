// Typed errors: one class per extensions.code the gateway documents (CONTRACT.md, Errors), so that
// callers write `catch (e) { if (e instanceof RateLimitedError) wait(e.retryAfter) }` instead of
// digging through JSON. This file mirrors tenancy/errors.ts without importing it: the SDK is shipped to
// frontends and must not pull server code (test/unit/sdk.test.ts checks the two lists agree).

/** A GraphQL error as it arrives in a response (GraphQL over HTTP, or a graphql-ws `error`/`next` message). */
export interface GraphQLErrorEntry {
  message: string;
  path?: ReadonlyArray<string | number>;
  locations?: ReadonlyArray<{ line: number; column: number }>;
  extensions?: Record<string, unknown>;
}

/** Every code the gateway sends, plus the SDK's own NETWORK_ERROR. */
export const ErrorCode = {
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  CONFLICT: 'CONFLICT',
  COST_LIMIT_EXCEEDED: 'COST_LIMIT_EXCEEDED',
  RATE_LIMITED: 'RATE_LIMITED',
  QUOTA_EXCEEDED: 'QUOTA_EXCEEDED',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
  /** Edge limits: the document itself is too large, deep or wide, or a batch or introspection is refused. */
  DOCUMENT_TOO_LARGE: 'DOCUMENT_TOO_LARGE',
  DEPTH_LIMIT_EXCEEDED: 'DEPTH_LIMIT_EXCEEDED',
  ALIAS_LIMIT_EXCEEDED: 'ALIAS_LIMIT_EXCEEDED',
  ROOT_FIELD_LIMIT_EXCEEDED: 'ROOT_FIELD_LIMIT_EXCEEDED',
  BATCH_LIMIT_EXCEEDED: 'BATCH_LIMIT_EXCEEDED',
  BATCHING_DISABLED: 'BATCHING_DISABLED',
  INTROSPECTION_DISABLED: 'INTROSPECTION_DISABLED',
  /** The tenant may only run registered operations; the SDK's own are registered, even sent in full. */
  PERSISTED_QUERY_REQUIRED: 'PERSISTED_QUERY_REQUIRED',
  /** graphql-js and Apollo Server codes for documents the server could not run. */
  GRAPHQL_PARSE_FAILED: 'GRAPHQL_PARSE_FAILED',
  GRAPHQL_VALIDATION_FAILED: 'GRAPHQL_VALIDATION_FAILED',
  BAD_REQUEST: 'BAD_REQUEST',
  PERSISTED_QUERY_NOT_FOUND: 'PERSISTED_QUERY_NOT_FOUND',
  PERSISTED_QUERY_NOT_SUPPORTED: 'PERSISTED_QUERY_NOT_SUPPORTED',
  /** No GraphQL answer at all: fetch failed, the body was not JSON, or the socket closed for good. */
  NETWORK_ERROR: 'NETWORK_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** What the client knows about the response an error came from. */
export interface ErrorContext {
  /** Every error of the response; the class of the thrown error follows the first one. */
  errors?: readonly GraphQLErrorEntry[];
  /** `data` of the response: partial data on field errors, null when a non-null field failed, absent on request errors. */
  data?: unknown;
  /** HTTP status; absent over WebSocket. */
  status?: number;
  headers?: Headers;
  cause?: unknown;
}

/**
 * The base of every error the client throws. `code` is extensions.code of the first GraphQL error
 * (or NETWORK_ERROR); codes without a class of their own (CONFLICT, SERVICE_UNAVAILABLE,
 * INTERNAL_SERVER_ERROR, validation errors) arrive as this class.
 */
export class GraphQLRequestError extends Error {
  override name = 'GraphQLRequestError';
  readonly code: ErrorCode | (string & {});
  readonly errors: readonly GraphQLErrorEntry[];
  readonly data: unknown;
  readonly status: number | undefined;
  readonly headers: Headers | undefined;
  /** extensions of the first error. */
  readonly extensions: Record<string, unknown>;

  constructor(message: string, code: string, context: ErrorContext = {}) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.code = code;
    this.errors = context.errors ?? [];
    this.data = context.data;
    this.status = context.status;
    this.headers = context.headers;
    this.extensions = context.errors?.[0]?.extensions ?? {};
  }
}

export class UnauthenticatedError extends GraphQLRequestError {
  override name = 'UnauthenticatedError';
  declare readonly code: 'UNAUTHENTICATED';
}

export class ForbiddenError extends GraphQLRequestError {
  override name = 'ForbiddenError';
  declare readonly code: 'FORBIDDEN';
}

/** The object does not exist for the caller's tenant (another tenant's object looks the same). */
export class NotFoundError extends GraphQLRequestError {
  override name = 'NotFoundError';
  declare readonly code: 'NOT_FOUND';
}

export class BadUserInputError extends GraphQLRequestError {
  override name = 'BadUserInputError';
  declare readonly code: 'BAD_USER_INPUT';
}

/** The operation alone costs more than the plan allows per operation: retrying will not help, ask for less. */
export class CostLimitExceededError extends GraphQLRequestError {
  override name = 'CostLimitExceededError';
  declare readonly code: 'COST_LIMIT_EXCEEDED';
  /** The plan's maximum cost per operation, when the server says. */
  readonly maximumQueryCost: number | undefined = numberOr(this.extensions.maximumQueryCost);
}

/** The tenant's bucket or concurrency limit is exhausted: wait `retryAfter` seconds and try again. */
export class RateLimitedError extends GraphQLRequestError {
  override name = 'RateLimitedError';
  declare readonly code: 'RATE_LIMITED';
  /** Seconds to wait: extensions.retryAfter, else the Retry-After header, else 1. */
  readonly retryAfter: number = retryAfterOf(this.extensions, this.headers) ?? 1;
  /** BUCKET (cost budget per second) or CONCURRENCY (operations in flight), when the server says. */
  readonly reason: string | undefined = typeof this.extensions.reason === 'string' ? this.extensions.reason : undefined;
}

/** The monthly hard limit is reached: nothing more until `resetsAt` (retrying sooner is pointless). */
export class QuotaExceededError extends GraphQLRequestError {
  override name = 'QuotaExceededError';
  declare readonly code: 'QUOTA_EXCEEDED';
  /** Seconds until the monthly budget resets, when known. */
  readonly retryAfter: number | undefined = retryAfterOf(this.extensions, this.headers);
  readonly used: number | undefined = numberOr(this.extensions.used);
  readonly limit: number | undefined = numberOr(this.extensions.limit);
  /** ISO 8601. */
  readonly resetsAt: string | undefined = typeof this.extensions.resetsAt === 'string' ? this.extensions.resetsAt : undefined;
}

/** No GraphQL answer: the request never got one (network, proxy, non-JSON body) or the socket gave up. */
export class NetworkError extends GraphQLRequestError {
  override name = 'NetworkError';
  declare readonly code: 'NETWORK_ERROR';
}

const classes: Partial<Record<string, new (message: string, code: string, context?: ErrorContext) => GraphQLRequestError>> = {
  UNAUTHENTICATED: UnauthenticatedError,
  FORBIDDEN: ForbiddenError,
  NOT_FOUND: NotFoundError,
  BAD_USER_INPUT: BadUserInputError,
  COST_LIMIT_EXCEEDED: CostLimitExceededError,
  RATE_LIMITED: RateLimitedError,
  QUOTA_EXCEEDED: QuotaExceededError,
  NETWORK_ERROR: NetworkError,
};

/** The typed error for a response's errors: the class of the first error's code. */
export function errorFrom(context: ErrorContext & { errors: readonly GraphQLErrorEntry[] }): GraphQLRequestError {
  const first = context.errors[0];
  const code = typeof first?.extensions?.code === 'string' ? first.extensions.code : ErrorCode.INTERNAL_SERVER_ERROR;
  const Class = classes[code] ?? GraphQLRequestError;
  return new Class(first?.message ?? 'GraphQL request failed', code, context);
}

export function networkError(message: string, context: Omit<ErrorContext, 'errors'> = {}): NetworkError {
  return new NetworkError(message, ErrorCode.NETWORK_ERROR, context);
}

export const isGraphQLRequestError = (value: unknown): value is GraphQLRequestError => value instanceof GraphQLRequestError;

function numberOr(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** Seconds, from extensions.retryAfter or a Retry-After header (delta-seconds or an HTTP date). */
function retryAfterOf(extensions: Record<string, unknown>, headers: Headers | undefined): number | undefined {
  const fromExtensions = numberOr(extensions.retryAfter);
  if (fromExtensions !== undefined) return fromExtensions;
  const header = headers?.get('retry-after');
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}
