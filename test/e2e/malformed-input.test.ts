// Bad input never yields a 500, a stack trace or a crash (issue 2, item 10): request targets that are
// not URL paths, WebSocket upgrades to them, and argument values PostgreSQL cannot store or compare.
import { connect } from 'node:net';
import { GraphQLError } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack?.close());

/** Sends `head` as written (fetch and node:http would normalise the target) and returns the raw answer. */
function raw(url: string, head: string): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(head));
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      // One answer is enough: an upgrade that is accepted leaves the socket open.
      if (/\r\n\r\n/.test(text) && (!/content-length: (\d+)/i.test(text) || text.split('\r\n\r\n')[1]!.length >= Number(/content-length: (\d+)/i.exec(text)![1]))) socket.end();
    });
    socket.on('end', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text }));
    socket.on('close', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text }));
    socket.on('error', reject);
    socket.setTimeout(5_000, () => socket.destroy(new Error(`no answer to ${head.split('\r\n')[0]}`)));
  });
}

const get = (target: string, extra = '') => `GET ${target} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n${extra}\r\n`;
const upgrade = (target: string) =>
  get(target, 'upgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-protocol: graphql-transport-ws\r\n');

async function alive() {
  for (const name of ['gateway', 'pets', 'tenants', 'usage'] as const) {
    const response = await fetch(stack.urls[name]!.replace(/\/graphql$/, '/healthz'));
    expect(response.status, name).toBe(200);
  }
}

describe('malformed request targets', () => {
  it('answers targets that are not plain paths with a JSON error, never a 500, on the gateway and every subgraph', async () => {
    const token = await stack.token('acme-pets');
    const gateway = stack.urls.gateway!;
    for (const target of ['//', '//a:b', '//graphql', '/%zz', '/graphql/..%2f..%2f']) {
      const answer = await raw(gateway, get(target));
      expect(answer.status, target).toBe(404);
      expect(answer.text, target).toContain('"code":"NOT_FOUND"');
    }
    // An absolute-form target that is no URL at all.
    const absolute = await raw(gateway, get('http://[nowhere/graphql'));
    expect(absolute.status).toBe(400);
    expect(absolute.text).toContain('"code":"BAD_USER_INPUT"');
    // A tenant path segment that is not a valid escape names no tenant: refused as a selector mismatch.
    const badSlug = await raw(gateway, get('/t/%zz/graphql?query=%7BcurrentTenant%7Bslug%7D%7D', `authorization: Bearer ${token}\r\napollo-require-preflight: 1\r\n`));
    expect(badSlug.status).toBe(403);
    expect(badSlug.text).toContain('"code":"FORBIDDEN"');
    for (const name of ['pets', 'tenants', 'usage'] as const) {
      for (const target of ['//', '//a:b']) {
        const answer = await raw(stack.urls[name]!, get(target));
        expect(answer.status, `${name} ${target}`).toBe(404);
        expect(answer.text).not.toMatch(/Internal|stack|at .*\.ts/);
      }
    }
    await alive();
  });

  it('refuses WebSocket upgrades to such targets and keeps every service up', async () => {
    for (const target of ['/t/%zz/graphql', '//', '//a:b', '/nowhere']) {
      const answer = await raw(stack.urls.gateway!, upgrade(target));
      // A bad tenant segment still reaches the socket (and is refused at connection_init, 4403);
      // the others are not a route at all.
      expect([101, 404], target).toContain(answer.status);
      expect(answer.status === 101, target).toBe(target.startsWith('/t/'));
    }
    for (const target of ['//', '//a:b', '/nowhere']) {
      const answer = await raw(stack.urls.usage!, upgrade(target));
      expect(answer.status, target).toBe(404);
    }
    await alive();
  });
});

describe('values the database cannot take', () => {
  it('refuses a NUL character in any text argument with BAD_USER_INPUT naming the argument, and stores nothing', async () => {
    const token = await stack.token('acme-pets');
    const count = async () => (await stack.gql(`{ pets(first: 100) { edges { node { id } } } }`, { token })).body.data.pets.edges.length;
    const before = await count();
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['mutation($n: String!) { createPet(input: { name: $n, species: "cat" }) { id } }', { n: 'Tom\u0000' }, 'name'],
      ['mutation($s: String!) { createPet(input: { name: "Tom", species: $s }) { id } }', { s: 'c\u0000at' }, 'species'],
      ['query($s: String) { pets(species: $s) { edges { node { id } } } }', { s: '\u0000' }, 'species'],
      ['mutation($v: String!) { setTenantConfig(key: "theme", value: $v) { key } }', { v: 'dark\u0000' }, 'value'],
    ];
    for (const [query, variables, argument] of cases) {
      const { status, body } = await stack.gql(query, { token, variables });
      expect(status, argument).toBe(200);
      expect(body.errors?.[0]?.extensions, argument).toMatchObject({ code: 'BAD_USER_INPUT', argument });
      expect(body.errors?.[0]?.message).toContain('NUL');
    }
    const platform = await stack.token('acme-pets', { roles: ['platform-admin'] });
    const created = await stack.gql(`mutation { createTenant(input: { slug: "nul-test", name: "Nul", adminEmail: "a\\u0000@b.example" }) { id } }`, { token: platform });
    expect(created.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'adminEmail' });
    expect(await count()).toBe(before);
  });

  it('refuses a cursor whose timestamp names no real instant with BAD_USER_INPUT', async () => {
    const token = await stack.token('acme-pets');
    const id = '00000000-0000-4000-8000-000000000000';
    for (const stamp of ['2024-13-45 25:61:61', '2024-02-30 10:00:00', '2024-01-01 24:00:00+00']) {
      const after = Buffer.from(JSON.stringify([stamp, id])).toString('base64url');
      const { status, body } = await stack.gql(`query($a: String) { pets(first: 2, after: $a) { edges { node { id } } } }`, { token, variables: { a: after } });
      expect(status, stamp).toBe(200);
      expect(body.errors?.[0]?.extensions, stamp).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'after' });
    }
    const real = Buffer.from(JSON.stringify(['2024-02-29 10:00:00.5+00', id])).toString('base64url');
    const ok = await stack.gql(`query($a: String) { pets(first: 2, after: $a) { edges { node { id } } } }`, { token, variables: { a: real } });
    expect(ok.body.errors).toBeUndefined();
  });

  it('turns any data exception the database raises into BAD_USER_INPUT, on the real driver', async () => {
    const tenantId = await stack.tenantId('acme-pets');
    for (const [sql, value] of [
      ['SELECT $1::timestamptz', '2024-13-45'],
      ['SELECT $1::text', 'a\u0000b'],
      ['SELECT $1::int', '99999999999'],
    ] as const) {
      const failure = await stack.db.transaction({ tenantId }, (q) => q.query(sql, [value])).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure, sql).toBeInstanceOf(GraphQLError);
      expect((failure as GraphQLError).extensions.code, sql).toBe('BAD_USER_INPUT');
    }
    // Other failures are not the caller's: they stay what they were (and are masked at the edge).
    const other = await stack.db.transaction({ tenantId }, (q) => q.query('SELECT * FROM no_such_table')).catch((error: unknown) => error);
    expect(other).not.toBeInstanceOf(GraphQLError);
  });
});
