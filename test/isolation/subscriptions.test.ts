// Invariants 1 and 4 for subscriptions: a subscriber never receives another tenant's events, whatever
// it sends, and a subgraph's socket believes nothing but a gateway-signed context.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair } from 'jose';
import { createContextSigner } from '../../tenancy/context-token';
import type { TenantContext } from '../../tenancy/context';
import { startTestStack, type TestStack } from '../helpers/stack';
import { follow, openSocket } from '../helpers/ws';

const QUOTA = /* GraphQL */ `subscription { quotaStatus { used tenant { id slug } recentOperations(first: 50) { operationName } } }`;

let stack: TestStack;
let ids: Record<'acme-pets' | 'fluffy-friends', string>;
beforeAll(async () => {
  stack = await startTestStack({ QUOTA_FEED_INTERVAL_MS: '100' });
  ids = { 'acme-pets': await stack.tenantId('acme-pets'), 'fluffy-friends': await stack.tenantId('fluffy-friends') };
});
afterAll(() => stack?.close());

const contextOf = (slug: 'acme-pets' | 'fluffy-friends'): TenantContext => ({
  tenantId: ids[slug],
  tenantSlug: slug,
  subject: `admin@${slug}.example`,
  roles: ['admin'],
  plan: slug === 'acme-pets' ? 'free' : 'pro',
  isolation: 'shared',
  requestId: 'isolation-test',
});

describe('two tenants subscribed while both spend', () => {
  it("each sees only its own tenant's status and operations, and its own final spend", async () => {
    const tokens = { acme: await stack.token('acme-pets'), fluffy: await stack.token('fluffy-friends') };
    const acmeSocket = openSocket(stack.urls.gateway!, { authorization: `Bearer ${tokens.acme}` });
    const fluffySocket = openSocket(stack.urls.gateway!, { authorization: `Bearer ${tokens.fluffy}` });
    const acme = follow(acmeSocket.client, QUOTA);
    const fluffy = follow(fluffySocket.client, QUOTA);
    await Promise.all([acme.next(), fluffy.next()]);
    // Distinct operation names, so a leaked event would be recognisable.
    await Promise.all([
      ...Array.from({ length: 4 }, () => stack.gql('query AcmeSpends { pets(first: 3) { edges { node { id } } } }', { token: tokens.acme })),
      ...Array.from({ length: 6 }, () => stack.gql('query FluffySpends { pets(first: 7) { edges { node { id } } } }', { token: tokens.fluffy })),
    ]);
    await stack.usage.flush();
    const own = {
      acme: (await stack.gql('{ quotaStatus { used } }', { token: tokens.acme })).body.data.quotaStatus.used,
      fluffy: (await stack.gql('{ quotaStatus { used } }', { token: tokens.fluffy })).body.data.quotaStatus.used,
    };
    // Each feed reaches its own tenant's recorded spend (the two differ: 4 small queries against 6 larger ones).
    expect(own.fluffy).not.toBe(own.acme);
    await acme.next((e) => e.data!.quotaStatus.used >= own.acme);
    await fluffy.next((e) => e.data!.quotaStatus.used >= own.fluffy);
    for (const event of acme.events) {
      expect(event.data!.quotaStatus.tenant).toEqual({ id: ids['acme-pets'], slug: 'acme-pets' });
      expect(event.data!.quotaStatus.recentOperations.map((o: any) => o.operationName)).not.toContain('FluffySpends');
    }
    for (const event of fluffy.events) {
      expect(event.data!.quotaStatus.tenant).toEqual({ id: ids['fluffy-friends'], slug: 'fluffy-friends' });
      expect(event.data!.quotaStatus.recentOperations.map((o: any) => o.operationName)).not.toContain('AcmeSpends');
    }
    await Promise.all([acmeSocket.client.dispose(), fluffySocket.client.dispose()]);
  });

  it("ignores a tenant context the client puts in its own subscribe message", async () => {
    const forged = await createContextSigner({ privateKey: stack.keys.context!.privateKey })(contextOf('fluffy-friends'), 'usage');
    const token = await stack.token('acme-pets');
    const socket = openSocket(stack.urls.gateway!, { authorization: `Bearer ${token}`, 'x-tenant-context': forged });
    const events: any[] = [];
    await new Promise<void>((resolve, reject) => {
      const stop = socket.client.subscribe(
        { query: QUOTA, extensions: { 'x-tenant-context': forged } },
        {
          next: (event) => {
            events.push(event);
            stop();
            resolve();
          },
          error: reject,
          complete: () => resolve(),
        },
      );
    });
    expect(events[0].data.quotaStatus.tenant.slug).toBe('acme-pets');
    await socket.client.dispose();
  });
});

describe("the usage subgraph's own socket", () => {
  const sub = (url: string, params: Record<string, unknown>, extensions?: Record<string, unknown>) => {
    const socket = openSocket(url, params);
    let resolveResult!: (value: { events: any[]; error?: any }) => void;
    let resolveEnd!: (value: 'complete' | 'error') => void;
    const result = new Promise<{ events: any[]; error?: any }>((resolve) => (resolveResult = resolve));
    const ended = new Promise<'complete' | 'error'>((resolve) => (resolveEnd = resolve));
    const events: any[] = [];
    socket.client.subscribe(
      { query: 'subscription { quotaStatus { used tenant { id } } }', extensions },
      {
        next: (e) => {
          events.push(e);
          resolveResult({ events });
        },
        error: (error) => {
          resolveResult({ events, error });
          resolveEnd('error');
        },
        complete: () => {
          resolveResult({ events });
          resolveEnd('complete');
        },
      },
    );
    return { socket, result, ended, events };
  };

  it('closes a connection without a gateway link token (4401), or with one signed by another key', async () => {
    const none = sub(stack.urls.usage!, {});
    expect((await none.socket.closed).code).toBe(4401);
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const foreign = sub(stack.urls.usage!, { link: createContextSigner({ privateKey }).link('usage') });
    expect((await foreign.socket.closed).code).toBe(4401);
    // A tenant context is not a link token.
    const context = await createContextSigner({ privateKey: stack.keys.context!.privateKey })(contextOf('acme-pets'), 'usage');
    const misuse = sub(stack.urls.usage!, { link: context });
    expect((await misuse.socket.closed).code).toBe(4401);
  });

  it('refuses a subscription without a valid context for its audience, and streams only the signed tenant', async () => {
    const sign = createContextSigner({ privateKey: stack.keys.context!.privateKey });
    const link = { link: sign.link('usage') };
    const missing = sub(stack.urls.usage!, link);
    expect((await missing.result).error[0].extensions.code).toBe('UNAUTHENTICATED');
    const otherAudience = sub(stack.urls.usage!, link, { 'x-tenant-context': await sign(contextOf('acme-pets'), 'pets') });
    expect((await otherAudience.result).error[0].extensions.code).toBe('UNAUTHENTICATED');
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const forged = sub(stack.urls.usage!, link, { 'x-tenant-context': await createContextSigner({ privateKey })(contextOf('acme-pets'), 'usage') });
    expect((await forged.result).error[0].extensions.code).toBe('UNAUTHENTICATED');
    const valid = sub(stack.urls.usage!, link, { 'x-tenant-context': await sign(contextOf('fluffy-friends'), 'usage') });
    expect((await valid.result).events[0].data.quotaStatus.tenant.id).toBe(ids['fluffy-friends']);
    for (const s of [missing, otherAudience, forged, valid]) await s.socket.client.dispose();
  });

  it("ends a stream at its context's stream expiry, whatever the gateway does", async () => {
    const sign = createContextSigner({ privateKey: stack.keys.context!.privateKey });
    // At least a second ahead (a claim has whole seconds): the first event must arrive before the end, even on a loaded machine.
    const until = Math.floor(Date.now() / 1000) + 2;
    const expiring = sub(stack.urls.usage!, { link: sign.link('usage') }, { 'x-tenant-context': await sign(contextOf('acme-pets'), 'usage', until) });
    expect((await expiring.result).events).toHaveLength(1);
    expect(await expiring.ended).toBe('complete');
    expect(Date.now()).toBeGreaterThanOrEqual(until * 1000 - 50);
    await expiring.socket.client.dispose();
  });
});
