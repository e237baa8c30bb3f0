// The SDK's subscription socket against a plain graphql-ws server on a free port, where the test
// decides when the server closes: token expiry (4401 after events), refused tokens, lost connections.
import type { AddressInfo } from 'node:net';
import { buildSchema, parse } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import WebSocket, { WebSocketServer } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { createClient, NetworkError, UnauthenticatedError, type Client } from '../../sdk/src/index';

const schema = buildSchema('type Query { ok: Boolean } type Subscription { tick: Int! }');
const roots = {
  async *tick() {
    for (let i = 0; ; i++) {
      yield { tick: i };
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  },
};
const TICKS = parse('subscription Ticks { tick }') as TypedDocumentNode<{ tick: number }, Record<string, never>>;

/** What the server does with each connection, chosen per test by the token it receives. */
const behaviour: Record<string, 'expire-after-300ms' | 'refuse' | 'drop-after-300ms' | 'serve'> = {
  'short-lived': 'expire-after-300ms',
  bad: 'refuse',
  flaky: 'drop-after-300ms',
  fresh: 'serve',
};

/** Connections the server accepted or refused, per token. */
const connections: Record<string, number> = {};
let wss: WebSocketServer;
let url: string;
const clients: Client[] = [];
const sdk = (options: Parameters<typeof createClient>[0]) => {
  const client = createClient(options);
  clients.push(client);
  return client;
};

beforeAll(async () => {
  wss = new WebSocketServer({ port: 0, host: '127.0.0.1', path: '/graphql' });
  await new Promise((resolve) => wss.once('listening', resolve));
  url = `http://127.0.0.1:${(wss.address() as AddressInfo).port}/graphql`;
  useServer(
    {
      schema,
      roots: { subscription: roots },
      onConnect(ctx) {
        const token = String(ctx.connectionParams?.authorization ?? '').replace(/^Bearer /, '');
        const socket = ctx.extra.socket;
        connections[token] = (connections[token] ?? 0) + 1;
        switch (behaviour[token]) {
          case 'refuse':
            socket.close(4401, 'Unauthorized: bad token');
            return false;
          case 'expire-after-300ms':
            setTimeout(() => socket.close(4401, 'Unauthorized: token expired'), 300);
            return true;
          case 'drop-after-300ms':
            setTimeout(() => socket.terminate(), 300);
            return true;
          case 'serve':
            return true;
          default:
            socket.close(4401, 'Unauthorized');
            return false;
        }
      },
    },
    wss,
  );
});
afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  for (const socket of wss.clients) socket.terminate();
  await new Promise((resolve) => wss.close(resolve));
});

/** Reads events until `count` arrived or `ms` passed; returns them and how the iteration ended. */
async function take(feed: AsyncIterator<{ data: { tick: number } }>, count: number, ms = 5_000) {
  const ticks: number[] = [];
  const deadline = Date.now() + ms;
  while (ticks.length < count && Date.now() < deadline) {
    const next = await feed.next();
    if (next.done) return { ticks, ended: 'done' as const };
    ticks.push(next.value.data.tick);
  }
  return { ticks, ended: ticks.length >= count ? ('enough' as const) : ('timeout' as const) };
}

describe('sdk subscription socket', () => {
  it('subscribes again on a fresh token when the server closes with 4401 after serving events', async () => {
    const issued: string[] = [];
    const client = sdk({
      url,
      webSocketImpl: WebSocket,
      getToken: () => {
        const token = issued.length === 0 ? 'short-lived' : 'fresh';
        issued.push(token);
        return token;
      },
    });
    const feed = client.subscribe(TICKS);
    const { ticks, ended } = await take(feed, 15);
    feed.unsubscribe();
    expect(ended).toBe('enough');
    expect(issued).toEqual(['short-lived', 'fresh']);
    // The second subscription started over: its counter went back to 0.
    expect(ticks.indexOf(0, 1)).toBeGreaterThan(0);
  });

  it('fails at once with UnauthenticatedError when the token never worked', async () => {
    let calls = 0;
    const client = sdk({
      url,
      webSocketImpl: WebSocket,
      getToken: () => {
        calls++;
        return 'bad';
      },
    });
    const thrown = await client
      .subscribe(TICKS)
      .next()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(thrown).toBeInstanceOf(UnauthenticatedError);
    expect(calls).toBe(1);
  });

  it('reconnects with backoff after a lost connection', async () => {
    const client = sdk({ url, webSocketImpl: WebSocket, token: 'flaky' });
    const feed = client.subscribe(TICKS);
    const { ticks, ended } = await take(feed, 12, 10_000);
    feed.unsubscribe();
    // 300 ms of ticks (about 6), a drop, 0.5 to 1 s of backoff, then a new subscription counting from 0.
    expect(ended).toBe('enough');
    expect(connections.flaky).toBeGreaterThanOrEqual(2);
    expect(ticks.indexOf(0, 1)).toBeGreaterThan(0);
  }, 15_000);

  it('gives up with NetworkError when the server stays unreachable for retryAttempts', async () => {
    const closed = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((resolve) => closed.once('listening', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve)); // a port where nothing listens
    const client = sdk({ url: `http://127.0.0.1:${port}/graphql`, webSocketImpl: WebSocket, token: 'fresh', retryAttempts: 1 });
    const started = Date.now();
    const thrown = await client
      .subscribe(TICKS)
      .next()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(thrown).toBeInstanceOf(NetworkError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(400); // it did wait and retry once
  }, 15_000);
});
