// Issue 5: the pure parts of the edge: document measurement, the guard, Accept negotiation, the
// persisted-operation manifest and modes, and their configuration.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphQLError, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { createDocumentGuard, DEFAULT_EDGE_LIMITS, measureDocument, withoutSuggestions } from '../../gateway/src/edge-limits';
import { preferenceFor, prefersLegacyJson, responseContentType } from '../../gateway/src/http-status';
import { createPersistedOperations, loadManifest, parseManifest } from '../../gateway/src/persisted-operations';
import { loadConfig } from '../../tenancy/config';
import { httpStatusOf, ErrorCode } from '../../tenancy/errors';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const shape = (query: string) => measureDocument(parse(query))[0]!.shape;
const codeOf = (result: unknown) => (result instanceof GraphQLError ? result.extensions.code : undefined);

describe('measureDocument', () => {
  it('measures depth, aliases, root fields and introspection in one walk', () => {
    expect(shape(`{ a { b { c } } d: e }`)).toEqual({ depth: 3, aliases: 1, fields: 2, introspection: false });
    expect(shape(`{ __typename }`)).toMatchObject({ depth: 1, introspection: false });
    expect(shape(`{ x { __type(name: "T") { name } } }`)).toMatchObject({ introspection: true });
  });

  it('expands fragments where they are spread, without adding a level', () => {
    expect(shape(`{ ...R } fragment R on Query { a { ... on A { b { c } } } x: y }`)).toEqual({ depth: 3, aliases: 1, fields: 2, introspection: false });
  });

  it('measures each fragment once, so exponential spreading costs nothing to measure', () => {
    const levels = 30;
    const fragments = Array.from({ length: levels }, (_, i) => `fragment F${i} on T { ${i + 1 < levels ? `...F${i + 1} ...F${i + 1}` : 'a: b'} }`);
    const started = performance.now();
    const measured = shape(`{ t { ...F0 } } ${fragments.join(' ')}`);
    expect(performance.now() - started).toBeLessThan(100);
    expect(measured.aliases).toBe(2 ** (levels - 1));
  });

  it('ends on cyclic and unknown fragments (validation reports them)', () => {
    expect(shape(`{ ...A ...Missing } fragment A on Query { a { ...B } } fragment B on T { b { ...A } }`).depth).toBe(2);
  });

  it('measures every operation of a document', () => {
    expect(measureDocument(parse(`query A { a } query B { b { c } }`)).map((m) => [m.operation, m.shape.depth])).toEqual([
      ['A', 1],
      ['B', 2],
    ]);
  });
});

describe('createDocumentGuard', () => {
  const guard = createDocumentGuard({ maxDocumentBytes: 300, maxDepth: 3, maxAliases: 2, maxRootFields: 2, introspection: false });

  it('refuses each limit with its code and HTTP status', () => {
    const cases: Array<[string, string, number]> = [
      [`{ a ${'#'.repeat(400)}`, 'DOCUMENT_TOO_LARGE', 413],
      [`{ a { b { c { d } } } }`, 'DEPTH_LIMIT_EXCEEDED', 400],
      [`{ a { x: b y: b z: b } }`, 'ALIAS_LIMIT_EXCEEDED', 400],
      [`{ a b c }`, 'ROOT_FIELD_LIMIT_EXCEEDED', 400],
      [`{ __schema { types { name } } }`, 'INTROSPECTION_DISABLED', 400],
    ];
    for (const [query, code, status] of cases) {
      const error = guard.check(query);
      expect([query.slice(0, 20), error?.extensions.code, error?.extensions.http?.status]).toEqual([query.slice(0, 20), code, status]);
    }
    expect(guard.check(`{ a { b { c } } x: d }`)).toBeUndefined();
    expect(guard.check(`{ not valid`)).toBeUndefined(); // Apollo Server reports syntax errors
  });

  it('refuses a document too deep for the parser as too deep, not as a syntax error', () => {
    const roomy = createDocumentGuard({ maxDocumentBytes: 1_048_576 });
    const nested = (levels: number) => `${'{a'.repeat(levels)}${'}'.repeat(levels)}`;
    expect(roomy.check(nested(1_000))?.extensions.code).toBe('DEPTH_LIMIT_EXCEEDED');
    expect(roomy.check(nested(100_000))?.extensions).toMatchObject({ code: 'DEPTH_LIMIT_EXCEEDED', maximumDepth: 12 });
  });

  it('counts bytes, not characters', () => {
    expect(guard.check(`{ a(s: "${'é'.repeat(150)}") }`)?.extensions.code).toBe('DOCUMENT_TOO_LARGE');
  });

  it('builds a fresh error from a cached verdict every time', () => {
    const first = guard.check(`{ a b c }`);
    const second = guard.check(`{ a b c }`);
    expect(second).not.toBe(first);
    expect(second?.extensions.code).toBe(first?.extensions.code);
  });

  it('has defaults a real API can live with', () => {
    const defaults = createDocumentGuard();
    expect(defaults.limits).toMatchObject({ ...DEFAULT_EDGE_LIMITS, introspection: true });
    expect(defaults.check(`{ pets(first: 10) { edges { node { owner { pets(first: 3) { tenant { usage { used } } } } } } } }`)).toBeUndefined();
  });
});

describe('suggestions', () => {
  it('removes the "Did you mean" sentence and nothing else', () => {
    expect(withoutSuggestions('Cannot query field "nmae" on type "Pet". Did you mean "name"?')).toBe('Cannot query field "nmae" on type "Pet".');
    expect(withoutSuggestions('Variable "$p" got invalid value "fre"; Value "fre" does not exist in "Plan" enum. Did you mean the enum value "free"?')).toBe(
      'Variable "$p" got invalid value "fre"; Value "fre" does not exist in "Plan" enum.',
    );
    expect(withoutSuggestions('Syntax Error: Expected Name, found <EOF>.')).toBe('Syntax Error: Expected Name, found <EOF>.');
  });
});

describe('Accept negotiation', () => {
  it('gives the legacy 200 only to a client that names application/json and prefers it', () => {
    expect(prefersLegacyJson('application/json')).toBe(true);
    expect(prefersLegacyJson('application/json; charset=utf-8')).toBe(true);
    expect(prefersLegacyJson('application/json, application/graphql-response+json')).toBe(true);
    expect(prefersLegacyJson('application/graphql-response+json, application/json;q=0.9')).toBe(false);
    expect(prefersLegacyJson('application/graphql-response+json')).toBe(false);
    expect(prefersLegacyJson('application/json;q=0')).toBe(false);
    expect(prefersLegacyJson('*/*')).toBe(false);
    expect(prefersLegacyJson(undefined)).toBe(false);
  });

  it('chooses the content type as Apollo Server does', () => {
    expect(responseContentType(undefined)).toMatch(/^application\/json/);
    expect(responseContentType('*/*')).toMatch(/^application\/json/);
    expect(responseContentType('application/graphql-response+json')).toMatch(/^application\/graphql-response\+json/);
    expect(responseContentType('application/*;q=0.5, application/graphql-response+json')).toMatch(/^application\/graphql-response\+json/);
    expect(preferenceFor('text/html, application/*;q=0.3', 'application/json')).toEqual({ specificity: 1, q: 0.3 });
  });
});

describe('persisted operations', () => {
  const body = 'query A {\n  a\n}';
  const manifest = { format: 'apollo-persisted-query-manifest', version: 1, operations: [{ id: sha256(body), name: 'A', type: 'query', body }] };
  const hash = { persistedQuery: { version: 1, sha256Hash: sha256(body) } };

  function withManifest(mode: 'off' | 'allow' | 'require') {
    const dir = mkdtempSync(join(tmpdir(), 'manifest-'));
    const file = join(dir, 'm.json');
    writeFileSync(file, JSON.stringify(manifest));
    return createPersistedOperations({ mode, manifestFile: file });
  }

  it('validates the manifest, every id against its body', () => {
    expect(parseManifest(manifest).get(sha256(body))?.name).toBe('A');
    expect(() => parseManifest({ ...manifest, operations: [{ ...manifest.operations[0], body: 'query A { b }' }] })).toThrow(/not the SHA-256/);
    expect(() => parseManifest({ ...manifest, format: 'relay' })).toThrow(/format/);
  });

  it('tolerates a missing manifest unless it is required, and names the variable when it fails', () => {
    const missing = join(tmpdir(), 'does-not-exist', 'manifest.json');
    expect(loadManifest(missing, false)).toBeUndefined();
    expect(() => loadManifest(missing, true)).toThrow(/PERSISTED_OPERATIONS_FILE/);
  });

  it('off: refuses persisted requests, allows every document whatever the tenant policy', () => {
    const operations = withManifest('off');
    expect(codeOf(operations.resolve({ extensions: hash }, 'allow'))).toBe('PERSISTED_QUERY_NOT_SUPPORTED');
    expect(operations.resolve({ query: '{ b }' }, 'require')).toMatchObject({ query: '{ b }', rewritten: false });
  });

  it('allow: the tenant policy decides about documents of its own', () => {
    const operations = withManifest('allow');
    expect(operations.resolve({ extensions: hash }, 'require')).toEqual({ query: body, extensions: {}, rewritten: true });
    expect(operations.resolve({ documentId: `sha256:${sha256(body)}` }, 'require')).toMatchObject({ query: body });
    expect(operations.resolve({ query: '{ b }' }, undefined)).toMatchObject({ query: '{ b }' });
    expect(codeOf(operations.resolve({ query: '{ b }' }, 'require'))).toBe('PERSISTED_QUERY_REQUIRED');
    expect(operations.resolve({ query: body }, 'require')).toMatchObject({ query: body }); // byte for byte registered
  });

  it('require: no tenant may send documents of its own, whatever its policy', () => {
    const operations = withManifest('require');
    const refused = operations.resolve({ query: '{ b }' }, 'allow');
    expect(codeOf(refused)).toBe('PERSISTED_QUERY_REQUIRED');
    expect((refused as GraphQLError).extensions.policy).toBe('gateway');
    expect(operations.resolve({ extensions: { ...hash, other: 1 } }, 'allow')).toEqual({ query: body, extensions: { other: 1 }, rewritten: true });
  });

  it('refuses unknown ids, mismatched documents and malformed requests with clear codes', () => {
    const operations = withManifest('allow');
    expect(codeOf(operations.resolve({ extensions: { persistedQuery: { version: 1, sha256Hash: sha256('other') } } }, 'allow'))).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect(codeOf(operations.resolve({ query: '{ b }', extensions: hash }, 'allow'))).toBe('BAD_USER_INPUT');
    expect(codeOf(operations.resolve({ extensions: { persistedQuery: { version: 1, sha256Hash: 'nope' } } }, 'allow'))).toBe('BAD_USER_INPUT');
    expect(codeOf(operations.resolve({ extensions: hash, documentId: sha256(body) }, 'allow'))).toBe('BAD_USER_INPUT');
    expect(codeOf(operations.resolve({ documentId: 42 }, 'allow'))).toBe('BAD_USER_INPUT');
  });

  it("accepts the SDK's generated manifest, when there is one", () => {
    const file = 'sdk/persisted-operations.json';
    if (!existsSync(file)) return;
    expect(parseManifest(JSON.parse(readFileSync(file, 'utf8'))).size).toBeGreaterThan(0);
  });
});

describe('configuration', () => {
  it('defaults the edge limits and persisted operations, the manifest to the SDK\'s', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      GRAPHQL_MAX_DOCUMENT_BYTES: 16_384,
      GRAPHQL_MAX_DEPTH: 12,
      GRAPHQL_MAX_ALIASES: 30,
      GRAPHQL_MAX_ROOT_FIELDS: 15,
      GRAPHQL_MAX_BATCH_SIZE: 10,
      PERSISTED_OPERATIONS: 'allow',
    });
    expect(config.persistedOperationsFile.endsWith(join('sdk', 'persisted-operations.json'))).toBe(true);
    expect(loadConfig({ GRAPHQL_MAX_BATCH_SIZE: '0', PERSISTED_OPERATIONS: 'require' })).toMatchObject({ GRAPHQL_MAX_BATCH_SIZE: 0, PERSISTED_OPERATIONS: 'require' });
  });

  it('refuses bad values, naming the variable', () => {
    expect(() => loadConfig({ GRAPHQL_MAX_DEPTH: '0' })).toThrow(/GRAPHQL_MAX_DEPTH="0"/);
    expect(() => loadConfig({ GRAPHQL_MAX_DOCUMENT_BYTES: 'lots' })).toThrow(/GRAPHQL_MAX_DOCUMENT_BYTES/);
    expect(() => loadConfig({ PERSISTED_OPERATIONS: 'sometimes' })).toThrow(/PERSISTED_OPERATIONS="sometimes"/);
  });

  it('gives every new code an HTTP status', () => {
    expect(httpStatusOf[ErrorCode.DOCUMENT_TOO_LARGE]).toBe(413);
    expect(httpStatusOf[ErrorCode.PERSISTED_QUERY_REQUIRED]).toBe(403);
    expect(httpStatusOf[ErrorCode.PERSISTED_QUERY_NOT_FOUND]).toBe(200);
  });
});
