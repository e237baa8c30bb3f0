import { describe, expect, it } from 'vitest';
import { GraphQLError } from 'graphql';
import { ErrorCode, maskFormattedError, ensureGraphQLError, graphQLError, requestError } from '../../tenancy/errors';
import { BoundedLabel, createMetrics } from '../../tenancy/metrics';
import { decodeCursor, encodeCursor, pageSize, text } from '../../tenancy/validation';
import { validateSlug } from '../../subgraphs/tenants/resolvers';
import { hasRoleAtLeast } from '../../tenancy/context';

describe('errors', () => {
  it('builds errors with a code and, for request errors, the HTTP status of CONTRACT.md', () => {
    expect(graphQLError(ErrorCode.NOT_FOUND, 'x').extensions).toEqual({ code: 'NOT_FOUND' });
    expect(requestError(ErrorCode.UNAUTHENTICATED, 'x').extensions).toMatchObject({ code: 'UNAUTHENTICATED', http: { status: 401 } });
    expect(requestError(ErrorCode.FORBIDDEN, 'x').extensions.http?.status).toBe(403);
    expect(requestError(ErrorCode.RATE_LIMITED, 'x').extensions.http?.status).toBe(429);
  });

  it('masks anything without a known code and strips stack traces from the rest', () => {
    const masked = maskFormattedError({ message: 'connection refused at 10.0.0.3', extensions: { code: 'ECONNREFUSED', stacktrace: ['at x'] } });
    expect(masked).toEqual({ masked: true, error: { message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } } });
    const kept = maskFormattedError({ message: 'Pet not found', path: ['pet'], extensions: { code: 'NOT_FOUND', stacktrace: ['at y'] } });
    expect(kept).toEqual({ masked: false, error: { message: 'Pet not found', path: ['pet'], extensions: { code: 'NOT_FOUND' } } });
    expect(maskFormattedError({ message: 'TypeError: x is undefined' }).masked).toBe(true);
    // What Apollo Server makes of an unexpected resolver error: our code, someone else's message.
    const internal = maskFormattedError({ message: 'Command timed out', path: ['pets'], extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(internal).toEqual({ masked: true, error: { message: 'Internal server error', path: ['pets'], extensions: { code: 'INTERNAL_SERVER_ERROR' } } });
    expect(ensureGraphQLError(new Error('secret detail')).message).toBe('Internal server error');
    const own = new GraphQLError('kept');
    expect(ensureGraphQLError(own)).toBe(own);
  });
});

describe('bounded metric labels', () => {
  it('keeps the first N values and counts every later one as "other"', () => {
    const label = new BoundedLabel(2);
    expect([label.of('a'), label.of('b'), label.of('c'), label.of('a'), label.of(undefined)]).toEqual(['a', 'b', 'other', 'a', 'none']);
  });

  it('never exposes more tenant series than the bound, whatever tenants send', async () => {
    const metrics = createMetrics('test', { maxTenantLabels: 3, processMetrics: false });
    for (let i = 0; i < 100; i++) metrics.observe(`Op${i}`, 'ok', `tenant-${i}`, 0.001);
    const text = await metrics.registry.metrics();
    const tenants = new Set([...text.matchAll(/tenant="([^"]+)"/g)].map((m) => m[1]));
    expect(tenants).toEqual(new Set(['tenant-0', 'tenant-1', 'tenant-2', 'other']));
    metrics.observe('bad name with spaces {}', 'ok', 'tenant-0', 0.001);
    expect(await metrics.registry.metrics()).toContain('operation="invalid"');
  });

  it('counts each request once in graphql_requests_total, equal to the histogram count, over repeated and concurrent scrapes', async () => {
    const metrics = createMetrics('test', { processMetrics: false });
    const series = (text: string, name: string) =>
      Object.fromEntries([...text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\d+)$`, 'gm'))].map((m) => [m[1]!.split(',').filter((l) => l !== 'service="test"').join(','), Number(m[2])]));
    for (let i = 0; i < 5; i++) metrics.observe('Pets', 'ok', 'acme-pets', 0.002);
    metrics.observe('Pets', 'RATE_LIMITED', 'acme-pets', 0.0001);
    metrics.observe(null, 'UNAUTHENTICATED', undefined, 0.0001);
    const first = await metrics.registry.metrics();
    expect(series(first, 'graphql_requests_total')).toEqual({
      'operation="Pets",status="ok",tenant="acme-pets"': 5,
      'operation="Pets",status="RATE_LIMITED",tenant="acme-pets"': 1,
      'operation="anonymous",status="UNAUTHENTICATED",tenant="none"': 1,
    });
    expect(series(first, 'graphql_requests_total')).toEqual(series(first, 'graphql_request_duration_seconds_count'));
    // Scraping again does not count again; two scrapes at once agree with each other.
    metrics.observe('Pets', 'ok', 'acme-pets', 0.002);
    const [a, b] = await Promise.all([metrics.registry.metrics(), metrics.registry.metrics()]);
    for (const text of [a, b]) expect(series(text, 'graphql_requests_total')['operation="Pets",status="ok",tenant="acme-pets"']).toBe(6);
  });
});

describe('validation', () => {
  it('round-trips cursors and refuses anything else with BAD_USER_INPUT', () => {
    const cursor = encodeCursor('2026-11-23 19:04:37.123456+00', '9bc77482-7155-459d-9b61-ac1cce2b76ef');
    expect(decodeCursor(cursor)).toEqual({ createdAtKey: '2026-11-23 19:04:37.123456+00', id: '9bc77482-7155-459d-9b61-ac1cce2b76ef' });
    expect(decodeCursor(null)).toBeNull();
    for (const bad of ['', 'x', Buffer.from('["2026-01-01", "not-uuid"]').toString('base64url'), Buffer.from('["drop table", "9bc77482-7155-459d-9b61-ac1cce2b76ef"]').toString('base64url')]) {
      expect(() => decodeCursor(bad)).toThrow(expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT', argument: 'after' } }));
    }
  });

  it('bounds page sizes and trims text', () => {
    expect(pageSize(undefined)).toBe(20);
    expect(pageSize(100)).toBe(100);
    expect(() => pageSize(101)).toThrow();
    expect(() => pageSize(-1)).toThrow();
    expect(text('name', '  Rex ', 10)).toBe('Rex');
    expect(() => text('name', '   ', 10)).toThrow();
    expect(() => text('name', 'x'.repeat(11), 10)).toThrow();
  });

  it('accepts well-formed slugs and refuses reserved or malformed ones', () => {
    expect(validateSlug('acme-pets')).toBe('acme-pets');
    for (const bad of ['Acme', 'a', '-abc', 'abc-', 'a--b', 'www', 'x'.repeat(41), '1abc']) expect(() => validateSlug(bad)).toThrow();
  });
});

describe('roles', () => {
  it('orders viewer < member < admin, with platform-admin above all', () => {
    expect(hasRoleAtLeast(['viewer'], 'member')).toBe(false);
    expect(hasRoleAtLeast(['member'], 'viewer')).toBe(true);
    expect(hasRoleAtLeast(['admin'], 'admin')).toBe(true);
    expect(hasRoleAtLeast(['platform-admin'], 'admin')).toBe(true);
    expect(hasRoleAtLeast([], 'viewer')).toBe(false);
  });
});

describe('logs', () => {
  it('puts the request id and tenant on every line written inside a request', async () => {
    const { createLogger } = await import('../../tenancy/logger');
    const { runInRequestScope } = await import('../../tenancy/context');
    const lines: string[] = [];
    const logger = createLogger('svc', 'info', { write: (line: string) => void lines.push(line) });
    runInRequestScope({ requestId: 'req-1', service: 'svc', tenant: 'acme-pets' }, () => {
      logger.info('inside');
      logger.child({ component: 'x' }).warn({ token: 'secret' }, 'nested');
    });
    logger.info('outside');
    const parsed = lines.map((l) => JSON.parse(l));
    expect(parsed[0]).toMatchObject({ msg: 'inside', requestId: 'req-1', tenant: 'acme-pets', service: 'svc' });
    expect(parsed[1]).toMatchObject({ msg: 'nested', requestId: 'req-1', tenant: 'acme-pets', token: '[redacted]' });
    expect(parsed[2].requestId).toBeUndefined();
  });
});

describe('configuration', () => {
  it('fails fast naming the variable and the value received', async () => {
    const { loadConfig } = await import('../../tenancy/config');
    expect(() => loadConfig({ GATEWAY_PORT: 'eighty' })).toThrow(/GATEWAY_PORT="eighty"/);
    expect(() => loadConfig({ AUTH_ALGORITHMS: 'HS256' })).toThrow(/AUTH_ALGORITHMS/);
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/AUTH_JWKS_URL/);
    expect(() => loadConfig({ NODE_ENV: 'production', SERVICES: 'pets' })).toThrow(/CONTEXT_PUBLIC_JWK/);
    const jwks = { AUTH_JWKS_URL: 'https://issuer.example/jwks.json', AUTH_ISSUER: 'https://issuer.example/' };
    expect(() => loadConfig({ NODE_ENV: 'production', ...jwks, CONTEXT_PRIVATE_JWK: '{}' })).toThrow(/CONTEXT_MAC_SECRET/);
    expect(() => loadConfig({ SERVICES: 'pets', CONTEXT_PUBLIC_JWK: '{}' })).toThrow(/CONTEXT_MAC_SECRET=undefined: required for subgraphs given CONTEXT_PUBLIC_JWK/);
    expect(() => loadConfig({ CONTEXT_MAC_SECRET: 'short' })).toThrow(/CONTEXT_MAC_SECRET="short": at least 32 characters/);
    expect(() => loadConfig({ AUTH_JWKS_URL: 'https://issuer.example/jwks.json' })).toThrow(/AUTH_ISSUER/);
    expect(loadConfig({}).devIssuer).toBe(true);
    expect(loadConfig({}).subgraphUrls.pets).toBe('http://127.0.0.1:4001/graphql');
  });
});

describe('context tokens', () => {
  it('round-trips through the jose verifier for its own audience only', async () => {
    const { generateKeyPair } = await import('jose');
    const { createContextSigner, createContextVerifier } = await import('../../tenancy/context-token');
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const context = {
      tenantId: '9bc77482-7155-459d-9b61-ac1cce2b76ef',
      tenantSlug: 'acme-pets',
      subject: 'admin@acme-pets.example',
      roles: ['admin' as const],
      plan: 'free' as const,
      isolation: 'shared' as const,
      requestId: 'req-1',
    };
    const token = await createContextSigner({ privateKey, kid: 'k1' })(context, 'pets');
    expect(await createContextVerifier({ publicKey, subgraph: 'pets' })(token)).toEqual(context);
    await expect(createContextVerifier({ publicKey, subgraph: 'usage' })(token)).rejects.toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
    const { publicKey: otherKey } = await generateKeyPair('ES256');
    await expect(createContextVerifier({ publicKey: otherKey, subgraph: 'pets' })(token)).rejects.toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
  });
});
