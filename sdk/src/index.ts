// @tenancy/sdk: a typed client for the tenancy-graph gateway. See docs/sdk.md.
export { createClient, webSocketUrlOf } from './client.js';
export type {
  Client,
  ClientOptions,
  CostExtension,
  OperationResult,
  RequestOptions,
  ResponseExtensions,
  SubscribeOptions,
  Subscription,
} from './client.js';
export {
  BadUserInputError,
  CostLimitExceededError,
  ErrorCode,
  errorFrom,
  ForbiddenError,
  GraphQLRequestError,
  isGraphQLRequestError,
  NetworkError,
  NotFoundError,
  QuotaExceededError,
  RateLimitedError,
  UnauthenticatedError,
} from './errors.js';
export type { ErrorContext, GraphQLErrorEntry } from './errors.js';
// The typed documents (ListPetsDocument, ...), their result and variable types, the schema's enums and
// inputs, and the persisted entry of each document.
export * from './generated/graphql.js';
