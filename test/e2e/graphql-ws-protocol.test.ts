// graphql-transport-ws edge cases against the gateway (issue 5, item 4): what a misbehaving or
// malicious client sends gets the protocol's close code, never a crash, and never touches others.
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack';
import { wsUrl } from '../helpers/ws';

let stack: TestStack;
let token: string;
beforeAll(async () => {
  stack = await startTestStack();
  token = await stack.token('acme-pets');
});
afterAll(() => stack?.close());

/** A raw socket: the messages it received and how it closed. */
function raw(protocol: string | null = 'graphql-transport-ws') {
  const socket = new WebSocket(wsUrl(stack.urls.gateway!), protocol ? [protocol] : []);
  const messages: any[] = [];
  const waiters: Array<{ match: (m: any) => boolean; resolve: (m: any) => void }> = [];
  socket.on('message', (data) => {
    const message = JSON.parse(data.toString());
    messages.push(message);
    for (const waiter of [...waiters]) if (waiter.match(message)) (waiters.splice(waiters.indexOf(waiter), 1), waiter.resolve(message));
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const opened = new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return {
    socket,
    messages,
    closed,
    async send(message: unknown) {
      await opened;
      socket.send(typeof message === 'string' ? message : JSON.stringify(message));
    },
    receive(match: (m: any) => boolean, timeoutMs = 3_000): Promise<any> {
      const seen = messages.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no such message; got ${JSON.stringify(messages)}`)), timeoutMs);
        waiters.push({ match, resolve: (m) => (clearTimeout(timer), resolve(m)) });
      });
    },
  };
}

async function acknowledged() {
  const client = raw();
  await client.send({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } });
  await client.receive((m) => m.type === 'connection_ack');
  return client;
}

const QUOTA = 'subscription { quotaStatus { used } }';

describe('graphql-transport-ws edge cases', () => {
  it('closes with 4408 when no connection_init arrives in time', async () => {
    const client = raw();
    const started = Date.now();
    expect(await client.closed).toMatchObject({ code: 4408 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_500);
  });

  it('closes with 4406 without the graphql-transport-ws subprotocol', async () => {
    expect(await raw(null).closed).toMatchObject({ code: 4406 });
  });

  it('closes with 4429 on a second connection_init', async () => {
    const client = await acknowledged();
    await client.send({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } });
    expect(await client.closed).toMatchObject({ code: 4429 });
  });

  it('closes with 4401 on a subscribe before the connection is acknowledged', async () => {
    const client = raw();
    await client.send({ id: '1', type: 'subscribe', payload: { query: QUOTA } });
    expect(await client.closed).toMatchObject({ code: 4401 });
  });

  it('closes with 4409 on a duplicate subscription id, ending the first subscription too', async () => {
    const client = await acknowledged();
    await client.send({ id: 'same', type: 'subscribe', payload: { query: QUOTA } });
    await client.receive((m) => m.type === 'next' && m.id === 'same');
    await client.send({ id: 'same', type: 'subscribe', payload: { query: QUOTA } });
    expect(await client.closed).toMatchObject({ code: 4409 });
    // The first subscription's concurrency slot is released with the socket: the tenant can go on.
    await expect.poll(async () => (await stack.gql('{ currentTenant { slug } }', { token })).status, { timeout: 3_000 }).toBe(200);
  });

  it('ignores a complete for an unknown id and keeps the connection and its subscriptions', async () => {
    const client = await acknowledged();
    await client.send({ id: 'a', type: 'subscribe', payload: { query: QUOTA } });
    await client.receive((m) => m.type === 'next' && m.id === 'a');
    await client.send({ id: 'never-subscribed', type: 'complete' });
    await client.send({ type: 'ping' });
    await client.receive((m) => m.type === 'pong');
    expect(client.socket.readyState).toBe(WebSocket.OPEN);
    await client.send({ id: 'a', type: 'complete' });
    client.socket.close();
  });

  it.each([
    ['not JSON', '{"type": "subscribe", '],
    ['an unknown message type', { type: 'launch_missiles' }],
    ['a subscribe without an id', { type: 'subscribe', payload: { query: QUOTA } }],
    ['a subscribe whose query is not a string', { id: '1', type: 'subscribe', payload: { query: 42 } }],
    ['a JSON array', '[1, 2, 3]'],
  ])('closes with 4400 on %s', async (_name, message) => {
    const client = await acknowledged();
    await client.send(message);
    expect(await client.closed).toMatchObject({ code: 4400 });
  });

  it('closes with 1009 on a message larger than the limit', async () => {
    const client = await acknowledged();
    await client.send({ id: '1', type: 'subscribe', payload: { query: `subscription { quotaStatus { used } } # ${'x'.repeat(1_100_000)}` } });
    expect((await client.closed).code).toBe(1009);
  });

  it('answers a document that does not parse with an error message, keeping the socket', async () => {
    const client = await acknowledged();
    await client.send({ id: 'bad', type: 'subscribe', payload: { query: 'subscription {' } });
    const error = await client.receive((m) => m.type === 'error' && m.id === 'bad');
    expect(error.payload[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(client.socket.readyState).toBe(WebSocket.OPEN);
    client.socket.close();
  });

  it('stays up for everyone else through all of the above', async () => {
    const { status, body } = await stack.gql('{ currentTenant { slug } }', { token: await stack.token('fluffy-friends') });
    expect(status).toBe(200);
    expect(body.data.currentTenant.slug).toBe('fluffy-friends');
  });
});
