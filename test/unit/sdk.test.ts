// The client SDK without a server: what it sends, how it types errors, how it persists operations.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { ErrorCode as ServerErrorCode } from '../../tenancy/errors';
import {
  BadUserInputError,
  CostLimitExceededError,
  createClient,
  CreatePetDocument,
  ErrorCode,
  ForbiddenError,
  GetPetDocument,
  GraphQLRequestError,
  ListPetsDocument,
  NetworkError,
  NotFoundError,
  persistedOperations,
  QuotaExceededError,
  QuotaStatusDocument,
  QuotaStatusFeedDocument,
  RateLimitedError,
  UnauthenticatedError,
  webSocketUrlOf,
} from '../../sdk/src/index';

interface Sent {
  url: string;
  headers: Record<string, string>;
  body: Record<string, any>;
}

/** A fetch that records requests and answers from a script (one answer per call, the last repeats). */
function fakeFetch(...answers: Array<{ status?: number; body: unknown; headers?: Record<string, string> }>) {
  const sent: Sent[] = [];
  const fetch = (async (url: string, init: RequestInit) => {
    sent.push({ url, headers: Object.fromEntries(new Headers(init.headers)), body: JSON.parse(String(init.body)) });
    const answer = answers[Math.min(sent.length - 1, answers.length - 1)]!;
    const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
    return new Response(text, { status: answer.status ?? 200, headers: { 'content-type': 'application/json', ...answer.headers } });
  }) as unknown as typeof globalThis.fetch;
  return { fetch, sent };
}

const URL = 'http://gateway.test/graphql';
const PETS = { pets: { totalCount: 0, edges: [], pageInfo: { hasNextPage: false, endCursor: null } } };
/** The error a promise rejects with (fails the test when it resolves). */
const rejection = <E>(promise: Promise<unknown>): Promise<E> =>
  promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e as E,
  );
const error = (code: string, extensions: Record<string, unknown> = {}) => ({ errors: [{ message: code.toLowerCase(), extensions: { code, ...extensions } }] });

describe('sdk client over HTTP', () => {
  it('POSTs the manifest body with JSON and GraphQL response media types and a bearer token from getToken', async () => {
    const { fetch, sent } = fakeFetch({ body: { data: PETS, extensions: { cost: { requestedQueryCost: 3, actualQueryCost: 1 } } } });
    let calls = 0;
    const client = createClient({ url: URL, fetch, getToken: async () => `token-${++calls}`, headers: { 'X-Tenant-ID': 'acme-pets', 'Content-Type': 'text/plain' } });
    const { data, extensions } = await client.query(ListPetsDocument, { first: 2 });
    await client.query(ListPetsDocument);
    expect(data.pets.totalCount).toBe(0);
    expect(extensions?.cost?.actualQueryCost).toBe(1);
    expect(sent[0]!.headers).toMatchObject({
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      authorization: 'Bearer token-1',
      'x-tenant-id': 'acme-pets',
    });
    expect(sent[1]!.headers.authorization).toBe('Bearer token-2');
    expect(sent[0]!.body).toEqual({ operationName: 'ListPets', variables: { first: 2 }, query: persistedOperations.get(ListPetsDocument)!.body });
  });

  it('sends no authorization header without a token', async () => {
    const { fetch, sent } = fakeFetch({ body: { data: PETS } });
    await createClient({ url: URL, fetch }).query(ListPetsDocument);
    expect(sent[0]!.headers.authorization).toBeUndefined();
  });

  it.each([
    ['UNAUTHENTICATED', 401, UnauthenticatedError],
    ['FORBIDDEN', 403, ForbiddenError],
    ['NOT_FOUND', 200, NotFoundError],
    ['BAD_USER_INPUT', 400, BadUserInputError],
    ['COST_LIMIT_EXCEEDED', 400, CostLimitExceededError],
    ['RATE_LIMITED', 429, RateLimitedError],
    ['QUOTA_EXCEEDED', 429, QuotaExceededError],
    ['CONFLICT', 200, GraphQLRequestError],
    ['SERVICE_UNAVAILABLE', 503, GraphQLRequestError],
  ] as const)('throws %s (HTTP %i) as %o', async (code, status, Class) => {
    const { fetch } = fakeFetch({ status, body: error(code) });
    const thrown = await rejection(createClient({ url: URL, fetch }).query(ListPetsDocument));
    expect(thrown).toBeInstanceOf(Class);
    expect(thrown).toBeInstanceOf(GraphQLRequestError);
    expect(thrown).toMatchObject({ code, status, message: code.toLowerCase() });
  });

  it('takes retryAfter from extensions, else from a Retry-After header in seconds or as a date', async () => {
    const fromExtensions = await rejection<RateLimitedError>(createClient({ url: URL, fetch: fakeFetch({ status: 429, body: error('RATE_LIMITED', { retryAfter: 7, reason: 'BUCKET' }), headers: { 'retry-after': '3' } }).fetch }).query(ListPetsDocument));
    expect(fromExtensions).toMatchObject({ retryAfter: 7, reason: 'BUCKET' });
    const fromHeader = await rejection<RateLimitedError>(createClient({ url: URL, fetch: fakeFetch({ status: 429, body: error('RATE_LIMITED'), headers: { 'retry-after': '3' } }).fetch }).query(ListPetsDocument));
    expect(fromHeader.retryAfter).toBe(3);
    const date = new Date(Date.now() + 10_000).toUTCString();
    const fromDate = await rejection<RateLimitedError>(createClient({ url: URL, fetch: fakeFetch({ status: 429, body: error('RATE_LIMITED'), headers: { 'retry-after': date } }).fetch }).query(ListPetsDocument));
    expect(fromDate.retryAfter).toBeGreaterThanOrEqual(8);
    expect(fromDate.retryAfter).toBeLessThanOrEqual(10);
  });

  it('carries the details of QUOTA_EXCEEDED and COST_LIMIT_EXCEEDED', async () => {
    const quota = await rejection<QuotaExceededError>(createClient({ url: URL, fetch: fakeFetch({ status: 429, body: error('QUOTA_EXCEEDED', { retryAfter: 3600, used: 120, limit: 100, resetsAt: '2030-01-01T00:00:00.000Z' }) }).fetch }).query(ListPetsDocument));
    expect(quota).toMatchObject({ retryAfter: 3600, used: 120, limit: 100, resetsAt: '2030-01-01T00:00:00.000Z' });
    const cost = await rejection<CostLimitExceededError>(createClient({ url: URL, fetch: fakeFetch({ status: 400, body: error('COST_LIMIT_EXCEEDED', { maximumQueryCost: 50 }) }).fetch }).query(ListPetsDocument));
    expect(cost.maximumQueryCost).toBe(50);
  });

  it('keeps partial data and every error on a field error', async () => {
    const body = { data: { pet: null }, errors: [{ message: 'Pet not found', path: ['pet'], extensions: { code: 'NOT_FOUND' } }, { message: 'x', extensions: { code: 'FORBIDDEN' } }] };
    const thrown = await rejection<NotFoundError>(createClient({ url: URL, fetch: fakeFetch({ body }).fetch }).query(GetPetDocument, { id: '1' }));
    expect(thrown).toBeInstanceOf(NotFoundError);
    expect(thrown.data).toEqual({ pet: null });
    expect(thrown.errors).toHaveLength(2);
    expect(thrown.extensions).toEqual({ code: 'NOT_FOUND' });
  });

  it('throws NetworkError when the answer is not GraphQL or fetch fails', async () => {
    const proxy = await rejection<NetworkError>(createClient({ url: URL, fetch: fakeFetch({ status: 502, body: '<html>Bad gateway</html>' }).fetch }).query(ListPetsDocument));
    expect(proxy).toBeInstanceOf(NetworkError);
    expect(proxy).toMatchObject({ code: 'NETWORK_ERROR', status: 502 });
    const refused = new TypeError('fetch failed');
    const down = await rejection<NetworkError>(createClient({ url: URL, fetch: (async () => { throw refused; }) as unknown as typeof fetch }).query(ListPetsDocument));
    expect(down).toBeInstanceOf(NetworkError);
    expect(down.cause).toBe(refused);
  });

  it('refuses a document of the wrong operation type before sending anything', async () => {
    const { fetch, sent } = fakeFetch({ body: { data: PETS } });
    const client = createClient({ url: URL, fetch });
    await expect(client.mutate(ListPetsDocument as never)).rejects.toThrow(TypeError);
    await expect(client.query(CreatePetDocument as never, { input: { name: 'x', species: 'y' } } as never)).rejects.toThrow(TypeError);
    expect(() => client.subscribe(QuotaStatusDocument as never)).toThrow(TypeError);
    expect(sent).toHaveLength(0);
  });

  it('runs documents that are not the SDK own, printed once', async () => {
    const { fetch, sent } = fakeFetch({ body: { data: { currentTenant: { slug: 'acme-pets' } } } });
    const document = parse('query Mine { currentTenant { slug } }') as TypedDocumentNode<{ currentTenant: { slug: string } }, Record<string, never>>;
    const { data } = await createClient({ url: URL, fetch }).query(document);
    expect(data.currentTenant.slug).toBe('acme-pets');
    expect(sent[0]!.body.query).toBe('query Mine {\n  currentTenant {\n    slug\n  }\n}');
  });
});

describe('sdk persisted operations', () => {
  const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

  it('sends the hash alone, then the body on PERSISTED_QUERY_NOT_FOUND, and the body with the hash from then on', async () => {
    const { fetch, sent } = fakeFetch({ body: error('PERSISTED_QUERY_NOT_FOUND') }, { body: { data: PETS } }, { body: { data: PETS } });
    const client = createClient({ url: URL, fetch, persisted: true });
    await client.query(ListPetsDocument, { species: 'cat' });
    await client.query(ListPetsDocument, { species: 'cat' });
    const entry = persistedOperations.get(ListPetsDocument)!;
    const persistedQuery = { version: 1, sha256Hash: entry.id };
    expect(sent.map((s) => s.body)).toEqual([
      { operationName: 'ListPets', variables: { species: 'cat' }, extensions: { persistedQuery } },
      { operationName: 'ListPets', variables: { species: 'cat' }, extensions: { persistedQuery }, query: entry.body },
      { operationName: 'ListPets', variables: { species: 'cat' }, extensions: { persistedQuery }, query: entry.body },
    ]);
    expect(entry.id).toBe(sha256(entry.body));
  });

  it('hashes documents outside the manifest itself, and stops persisting where it is not supported', async () => {
    const { fetch, sent } = fakeFetch({ body: error('PERSISTED_QUERY_NOT_SUPPORTED') }, { body: { data: { currentTenant: { slug: 'a' } } } });
    const client = createClient({ url: URL, fetch, persisted: true });
    const document = parse('query Mine { currentTenant { slug } }');
    await client.query(document);
    await client.query(document);
    expect(sent[0]!.body.extensions.persistedQuery.sha256Hash).toBe(sha256('query Mine {\n  currentTenant {\n    slug\n  }\n}'));
    expect(sent.slice(1).map((s) => Object.keys(s.body).sort())).toEqual([
      ['operationName', 'query', 'variables'],
      ['operationName', 'query', 'variables'],
    ]);
  });

  it('lists every SDK document in the manifest with the same body and id', () => {
    const manifest = JSON.parse(readFileSync('sdk/persisted-operations.json', 'utf8'));
    expect(manifest).toMatchObject({ format: 'apollo-persisted-query-manifest', version: 1 });
    const fromDocuments = [...persistedOperations.values()].sort((a, b) => a.name.localeCompare(b.name));
    expect(manifest.operations).toEqual(fromDocuments);
    for (const { id, body } of manifest.operations) expect(id).toBe(sha256(body));
    expect(fromDocuments.map((op) => `${op.type} ${op.name}`)).toEqual(
      expect.arrayContaining(['query ListPets', 'query GetPet', 'mutation CreatePet', 'mutation UpdatePet', 'mutation DeletePet', 'query CurrentTenant', 'query Viewer', 'query QuotaStatus', 'query RecentOperations', 'subscription QuotaStatusFeed']),
    );
    expect(persistedOperations.get(QuotaStatusFeedDocument)!.body).toContain('usageByMinute(minutes: 30)');
  });
});

describe('sdk typing and helpers', () => {
  it('knows every code the server can send', () => {
    for (const code of Object.values(ServerErrorCode)) expect(Object.values(ErrorCode)).toContain(code);
  });

  it('derives the WebSocket URL from the HTTP one', () => {
    expect(webSocketUrlOf('http://localhost:4000/graphql')).toBe('ws://localhost:4000/graphql');
    expect(webSocketUrlOf('https://api.example.com/t/acme/graphql?x=1')).toBe('wss://api.example.com/t/acme/graphql?x=1');
  });

  it('types variables and results from the documents (checked by tsc)', async () => {
    const client = createClient({ url: URL, fetch: fakeFetch({ body: { data: { pet: null } } }).fetch });
    // @ts-expect-error GetPet requires { id }
    await client.query(GetPetDocument).catch(() => {});
    // @ts-expect-error id is a string
    await client.query(GetPetDocument, { id: 1 }).catch(() => {});
    const { data } = await client.query(GetPetDocument, { id: 'p1' });
    // @ts-expect-error pet may be null
    const unchecked = () => data.pet.name;
    expect(unchecked).toThrow(TypeError);
    expect(data.pet?.name).toBeUndefined();
  });
});
