import type { BaseContext } from '@apollo/server';
import { Kind, type GraphQLError } from 'graphql';
import { DONE, type SharedListener } from './request-listeners';

/**
 * Status codes of the GraphQL over HTTP spec (issue 5). Its two media types ask for different ones
 * when a request fails before execution (a document that does not parse or validate, variables that
 * do not coerce):
 *
 * - `application/graphql-response+json`: 400, which Apollo Server already answers;
 * - `application/json`, the legacy type: 200 (SHOULD), since intermediaries may replace the body of a
 *   4xx and legacy clients read the errors from the body.
 *
 * Only a client whose Accept names `application/json` and prefers it gets the legacy 200. A client
 * that sends no Accept, or `*` / `*` alone, keeps the 400 that says what happened (and that this API has
 * always answered). Statuses the gateway chooses itself (401, 403, 429, 503, COST_LIMIT_EXCEEDED and
 * the edge limits) are left alone: they are about the caller, not about GraphQL.
 */
export const MEDIA_TYPES = {
  json: 'application/json; charset=utf-8',
  graphqlResponse: 'application/graphql-response+json; charset=utf-8',
} as const;

interface Preference {
  /** 2: type/subtype named, 1: type/*, 0: * / *, -1: not acceptable at all. */
  specificity: number;
  q: number;
}

/** How much an Accept header wants one media type: the most specific range that matches it decides (RFC 9110, 12.5.1). */
export function preferenceFor(accept: string, mediaType: string): Preference {
  const [type] = mediaType.split('/');
  let best: Preference = { specificity: -1, q: 0 };
  for (const range of accept.split(',')) {
    const [rawMedia = '', ...params] = range.split(';');
    const media = rawMedia.trim().toLowerCase();
    const specificity = media === mediaType ? 2 : media === `${type}/*` ? 1 : media === '*/*' ? 0 : -1;
    if (specificity <= best.specificity) continue;
    let q = 1;
    for (const param of params) {
      const [key, value] = param.split('=').map((part) => part.trim());
      if (key?.toLowerCase() === 'q') q = Number.isFinite(Number(value)) ? Number(value) : 0;
    }
    best = { specificity, q };
  }
  return best;
}

/** Whether the client explicitly asked for the legacy `application/json` and prefers it (ties go to it, as in Apollo Server). */
export function prefersLegacyJson(accept: string | undefined): boolean {
  if (!accept) return false;
  const json = preferenceFor(accept, 'application/json');
  const graphqlResponse = preferenceFor(accept, 'application/graphql-response+json');
  return json.specificity === 2 && json.q > 0 && json.q >= graphqlResponse.q;
}

/** The content type for a response the gateway writes itself, chosen as Apollo Server chooses it. */
export function responseContentType(accept: string | undefined): string {
  if (!accept) return MEDIA_TYPES.json;
  const json = preferenceFor(accept, 'application/json');
  const graphqlResponse = preferenceFor(accept, 'application/graphql-response+json');
  return graphqlResponse.q > json.q ? MEDIA_TYPES.graphqlResponse : MEDIA_TYPES.json;
}

/** Errors of a document that failed before execution: parse, validation, variable coercion. */
function isDocumentError(error: GraphQLError): boolean {
  const code = error.extensions?.code;
  if (code === 'GRAPHQL_PARSE_FAILED' || code === 'GRAPHQL_VALIDATION_FAILED') return true;
  // How Apollo Server recognises a variable that did not coerce (it then labels it BAD_USER_INPUT).
  return code === 'BAD_USER_INPUT' && error.nodes?.length === 1 && error.nodes[0]!.kind === Kind.VARIABLE_DEFINITION;
}

/** The request listener (the same for every request: it keeps no state; see request-listeners.ts). */
export const legacyJsonStatus: SharedListener<BaseContext> = {
  willSendResponse({ request, response, errors }) {
    if (response.http.status !== 400 || response.body.kind !== 'single' || response.body.singleResult.data !== undefined) return DONE;
    if (!errors?.length || !errors.every(isDocumentError)) return DONE;
    if (prefersLegacyJson(request.http?.headers.get('accept'))) response.http.status = 200;
    return DONE;
  },
};

/**
 * CONTRACT.md gives FORBIDDEN the status 403, a role refusal included. graphql-shield refuses during
 * execution, as a field error; when the refusal is the whole answer (every error FORBIDDEN and no root
 * field with data), the response says so with 403, as a refused tenant selector does. A response with
 * any data keeps its 200: part of it was allowed, and a response with data is a 2xx (GraphQL over HTTP).
 */
export const forbiddenStatus: SharedListener<BaseContext> = {
  willSendResponse({ response }) {
    if (response.body.kind !== 'single' || (response.http.status ?? 200) !== 200) return DONE;
    const { data, errors } = response.body.singleResult;
    if (!errors?.length || !errors.every((error) => error.extensions?.code === 'FORBIDDEN')) return DONE;
    if (data === null || data === undefined || Object.values(data).every((value) => value === null)) response.http.status = 403;
    return DONE;
  },
};
