import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack';
import { follow, openSocket } from '../helpers/ws';

const QUOTA = /* GraphQL */ `subscription Quota { quotaStatus { used remaining limit plan tenant { slug name } } }`;

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ QUOTA_FEED_INTERVAL_MS: '100' });
});
afterAll(() => stack?.close());

const spend = async (token: string, times = 1) => {
  for (let i = 0; i < times; i++) {
    const { status } = await stack.gql('{ pets(first: 5) { edges { node { id } } } }', { token });
    expect(status).toBe(200);
  }
};

describe('subscriptions over graphql-ws on the gateway', () => {
  it('streams the caller tenant quota, with tenant fields resolved from another subgraph, and updates on spend', async () => {
    const token = await stack.token('acme-pets');
    const socket = openSocket(stack.urls.gateway!, { authorization: `Bearer ${token}` });
    const sub = follow(socket.client, QUOTA);
    const first = await sub.next();
    expect(first.errors).toBeUndefined();
    expect(first.data!.quotaStatus.tenant).toEqual({ slug: 'acme-pets', name: 'Acme Pets' });
    const before = first.data!.quotaStatus.used as number;
    const started = Date.now();
    await spend(token, 3);
    const later = await sub.next((e) => (e.data?.quotaStatus.used ?? 0) > before);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(later.data!.quotaStatus.remaining).toBe(later.data!.quotaStatus.limit - later.data!.quotaStatus.used);
    sub.unsubscribe();
    await socket.client.dispose();
  });

  it('closes with 4401 for a missing or invalid token and 4403 for a tenant the token may not use', async () => {
    const missing = openSocket(stack.urls.gateway!, {});
    expect(await missing.closed).toMatchObject({ code: 4401 });
    const garbage = openSocket(stack.urls.gateway!, { authorization: 'Bearer not-a-jwt' });
    const closed = await garbage.closed;
    expect(closed.code).toBe(4401);
    expect(closed.reason).toMatch(/^Unauthorized/);
    const token = await stack.token('acme-pets');
    const other = openSocket(stack.urls.gateway!, { authorization: `Bearer ${token}`, 'x-tenant-id': 'fluffy-friends' });
    expect(await other.closed).toMatchObject({ code: 4403 });
  });

  it('ends the connection with 4401 when the token expires, and never streams past it', async () => {
    // Long enough to connect and get the first event on a loaded machine, so that expiry, not a slow
    // start, is what ends the connection.
    const token = await stack.token('acme-pets', { ttlSeconds: 6 });
    const socket = openSocket(stack.urls.gateway!, { authorization: token });
    const sub = follow(socket.client, QUOTA);
    await sub.next();
    const closed = await socket.closed;
    expect(closed.code).toBe(4401);
    expect(closed.reason).toMatch(/expired/);
    // The close comes first: a stream that just completed would look like a normal end to the client.
    expect(sub.completed).toBe(false);
  });

  it('runs queries over the socket too, admitted like HTTP ones', async () => {
    const token = await stack.token('fluffy-friends');
    const socket = openSocket(stack.urls.gateway!, { authorization: `Bearer ${token}` });
    const result = await follow(socket.client, '{ currentTenant { slug } }').next();
    expect(result.data).toEqual({ currentTenant: { slug: 'fluffy-friends' } });
    await socket.client.dispose();
  });

  it('answers invalid subscriptions with an error message carrying extensions.code, and keeps the socket', async () => {
    const token = await stack.token('acme-pets');
    const socket = openSocket(stack.urls.gateway!, { authorization: `Bearer ${token}` });
    const bad = follow(socket.client, 'subscription { quotaStatus { nope } }');
    await bad.finished;
    expect((bad.error as any[])[0].extensions.code).toBe('BAD_USER_INPUT');
    const good = follow(socket.client, QUOTA);
    expect((await good.next()).data!.quotaStatus.tenant.slug).toBe('acme-pets');
    await socket.client.dispose();
  });
});

/** Reads a streamed HTTP response chunk by chunk until `enough` says so, then aborts it. */
async function readStream(url: string, token: string, accept: string, query: string, enough: (text: string) => boolean, timeoutMs = 5_000) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept, authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
    signal: controller.signal,
  });
  let text = '';
  if (response.body) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
        if (enough(text)) break;
      }
    } catch {
      // aborted on timeout: the assertions below say what was missing
    }
    controller.abort();
  }
  clearTimeout(timer);
  return { status: response.status, headers: response.headers, text };
}

describe('subscriptions over HTTP', () => {
  it('streams multipart/mixed (subscriptionSpec 1.0) parts with the payload of each event', async () => {
    const token = await stack.token('acme-pets');
    let spent = false;
    const { status, headers, text } = await readStream(
      stack.urls.gateway!,
      token,
      'multipart/mixed;subscriptionSpec="1.0", application/json',
      QUOTA,
      (sofar) => {
        const used = [...sofar.matchAll(/"used":(\d+)/g)].map((m) => Number(m[1]));
        if (used.length >= 1 && !spent) {
          spent = true;
          void spend(token, 2);
        }
        return used.some((u) => u > used[0]!);
      },
    );
    expect(status).toBe(200);
    expect(headers.get('content-type')).toMatch(/^multipart\/mixed;boundary="graphql";subscriptionSpec="1.0"/);
    const parts = text.split('\r\n--graphql').slice(1).map((p) => JSON.parse(p.split('\r\n\r\n')[1]!));
    const events = parts.filter((p) => p.payload);
    expect(events.length).toBeGreaterThanOrEqual(2);
    expect(events[0].payload.data.quotaStatus.tenant.slug).toBe('acme-pets');
    expect(Math.max(...events.map((e) => e.payload.data.quotaStatus.used))).toBeGreaterThan(events[0].payload.data.quotaStatus.used);
  });

  it('streams Server-Sent Events', async () => {
    const token = await stack.token('fluffy-friends');
    const { status, headers, text } = await readStream(stack.urls.gateway!, token, 'text/event-stream', QUOTA, (sofar) => sofar.includes('event: next'));
    expect(status).toBe(200);
    expect(headers.get('content-type')).toMatch(/^text\/event-stream/);
    const data = JSON.parse(text.split('event: next\ndata: ')[1]!.split('\n')[0]!);
    expect(data.data.quotaStatus.tenant.slug).toBe('fluffy-friends');
  });

  it('refuses before streaming with the JSON error and status of the refusal', async () => {
    const token = await stack.token('acme-pets');
    const { status, text } = await readStream(stack.urls.gateway!, token, 'multipart/mixed;subscriptionSpec="1.0"', 'subscription { quotaStatus { nope } }', () => false, 2_000);
    expect(status).toBe(400);
    expect(JSON.parse(text).errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });
});

describe('admission of subscriptions', () => {
  it('holds a concurrency slot per subscription: past the plan limit both subscriptions and queries get RATE_LIMITED, until one ends', async () => {
    // acme-pets is on the free plan: 5 operations in flight.
    const token = await stack.token('acme-pets');
    const socket = openSocket(stack.urls.gateway!, { authorization: `Bearer ${token}` });
    const subs = [];
    for (let i = 0; i < 5; i++) {
      const sub = follow(socket.client, QUOTA);
      await sub.next();
      subs.push(sub);
    }
    const sixth = follow(socket.client, QUOTA);
    await sixth.finished;
    expect((sixth.error as any[])[0].extensions).toMatchObject({ code: 'RATE_LIMITED', reason: 'CONCURRENCY' });
    const query = await stack.gql('{ currentTenant { slug } }', { token });
    expect(query.status).toBe(429);
    expect(query.headers.get('retry-after')).toBe('1');
    subs[0]!.unsubscribe();
    await expect.poll(async () => (await stack.gql('{ currentTenant { slug } }', { token })).status, { timeout: 3_000 }).toBe(200);
    await socket.client.dispose();
    // Closing the socket releases every slot it held.
    await expect
      .poll(async () => {
        const again = openSocket(stack.urls.gateway!, { authorization: `Bearer ${token}` });
        const probes = Array.from({ length: 5 }, () => follow(again.client, QUOTA));
        const results = await Promise.all(probes.map((p) => Promise.race([p.next().then(() => 'ok'), p.finished.then(() => 'refused')])));
        await again.client.dispose();
        return results.every((r) => r === 'ok');
      }, { timeout: 5_000 })
      .toBe(true);
  });

  it('charges the subscription cost once, at start, as a usage event', async () => {
    const token = await stack.token('fluffy-friends');
    await stack.usage.flush();
    const before = (await stack.gql('{ quotaStatus { used } }', { token })).body.data.quotaStatus.used;
    await stack.usage.flush();
    const socket = openSocket(stack.urls.gateway!, { authorization: `Bearer ${token}` });
    await follow(socket.client, QUOTA).next();
    await socket.client.dispose();
    await stack.usage.flush();
    const after = (await stack.gql('{ quotaStatus { used } }', { token })).body.data.quotaStatus.used;
    // The query itself (2) and the subscription (QuotaStatus 2 + Tenant 1) are both charged.
    expect(after - before).toBe(2 + 3);
  });
});

describe('the usage subgraph restarting', () => {
  it('re-subscribes upstream: subscribers stay connected and keep receiving', async () => {
    const token = await stack.token('fluffy-friends');
    const socket = openSocket(stack.urls.gateway!, { authorization: `Bearer ${token}` });
    const sub = follow(socket.client, QUOTA);
    const first = await sub.next();
    await stack.subgraphs.usage!.stop();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await stack.subgraphs.usage!.start();
    const count = sub.events.length;
    // A fresh subscription upstream sends the current status at once, then changes again.
    await sub.next((e) => sub.events.indexOf(e) >= count, 10_000);
    await spend(token, 2);
    const later = await sub.next((e) => (e.data?.quotaStatus.used ?? 0) > first.data!.quotaStatus.used, 10_000);
    expect(later.errors).toBeUndefined();
    expect(sub.completed).toBe(false);
    await socket.client.dispose();
  });
});

describe('identical subscriptions of one principal', () => {
  it('share one upstream subscription; a late joiner gets the latest state at once; another user gets their own', async () => {
    const engine = stack.gateway!.subscriptions;
    // Earlier tests' sockets are closed; their groups end shortly after.
    await expect.poll(() => engine.upstream, { timeout: 3_000 }).toBe(0);
    const before = 0;
    const token = await stack.token('fluffy-friends');
    const sockets = [0, 1, 2].map(() => openSocket(stack.urls.gateway!, { authorization: `Bearer ${token}` }));
    const subs = sockets.map((s) => follow(s.client, QUOTA));
    await Promise.all(subs.map((s) => s.next()));
    expect(engine.upstream).toBe(before + 1);
    const late = openSocket(stack.urls.gateway!, { authorization: `Bearer ${token}` });
    const lateSub = follow(late.client, QUOTA);
    expect((await lateSub.next(undefined, 1_000)).data!.quotaStatus.tenant.slug).toBe('fluffy-friends');
    const other = openSocket(stack.urls.gateway!, { authorization: `Bearer ${await stack.token('fluffy-friends', { sub: 'someone-else@fluffy-friends.example', roles: ['viewer'] })}` });
    await follow(other.client, QUOTA).next();
    expect(engine.upstream).toBe(before + 2);
    // Every member still receives every change.
    const used = subs[0]!.events.at(-1)!.data!.quotaStatus.used;
    await spend(token);
    await Promise.all([...subs, lateSub].map((s) => s.next((e) => e.data!.quotaStatus.used > used)));
    for (const s of [...sockets, late, other]) await s.client.dispose();
    await expect.poll(() => engine.upstream, { timeout: 3_000 }).toBe(before);
  });
});

describe('a tenant changed while its sockets are open', () => {
  it('closes them with 4403 when the tenant is suspended, at once rather than at token expiry', async () => {
    const token = await stack.token('fluffy-friends');
    const socket = openSocket(stack.urls.gateway!, { authorization: `Bearer ${token}` });
    await follow(socket.client, QUOTA).next();
    const operator = await stack.token('acme-pets', { roles: ['platform-admin'] });
    const suspend = (status: string) =>
      stack.gql(`mutation { setTenantStatus(status: ${status}) { status } }`, { token: operator, headers: { 'x-tenant-id': 'fluffy-friends' } });
    try {
      expect((await suspend('SUSPENDED')).body.data.setTenantStatus.status).toBe('SUSPENDED');
      const closed = await Promise.race([socket.closed, new Promise<null>((resolve) => setTimeout(() => resolve(null), 3_000))]);
      expect(closed).toMatchObject({ code: 4403 });
      expect(closed!.reason).toMatch(/suspended/i);
    } finally {
      await suspend('ACTIVE');
    }
  });

  for (const accept of ['multipart/mixed;subscriptionSpec="1.0"', 'text/event-stream']) {
    it(`ends an HTTP stream (${accept.split(';')[0]}) with FORBIDDEN when the tenant is suspended`, async () => {
      const token = await stack.token('fluffy-friends');
      const operator = await stack.token('acme-pets', { roles: ['platform-admin'] });
      const suspend = (status: string) =>
        stack.gql(`mutation { setTenantStatus(status: ${status}) { status } }`, { token: operator, headers: { 'x-tenant-id': 'fluffy-friends' } });
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), 6_000);
      try {
        const response = await fetch(stack.urls.gateway!, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept, authorization: `Bearer ${token}` },
          body: JSON.stringify({ query: QUOTA }),
          signal: controller.signal,
        });
        expect(response.status).toBe(200);
        const reader = response.body!.getReader();
        const decoder = new TextDecoder();
        let text = '';
        let suspended = false;
        let ended = false;
        for (;;) {
          const { value, done } = await reader.read();
          if (done) {
            ended = true;
            break;
          }
          text += decoder.decode(value, { stream: true });
          if (!suspended && text.includes('"quotaStatus"')) {
            suspended = true;
            expect((await suspend('SUSPENDED')).body.data.setTenantStatus.status).toBe('SUSPENDED');
          }
        }
        // The server ended the stream (no abort), after a transport-level FORBIDDEN error.
        expect(ended).toBe(true);
        expect(text).toMatch(/"code":"FORBIDDEN"/);
        expect(text).toMatch(/suspended/i);
        expect(text.trimEnd()).toMatch(accept.startsWith('multipart') ? /--graphql--$/ : /event: complete\ndata:$/);
      } finally {
        clearTimeout(timer);
        await suspend('ACTIVE');
      }
    });
  }
});
