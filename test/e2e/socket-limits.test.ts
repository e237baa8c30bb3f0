// One tenant's WebSocket connections are bounded per gateway (SOCKET_MAX_PER_TENANT): a tenant that
// opens socket after socket cannot take every file descriptor of the gateway from the others.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack';
import { openSocket, type TestSocket } from '../helpers/ws';

let stack: TestStack;
const opened: TestSocket[] = [];

beforeAll(async () => {
  stack = await startTestStack({ SOCKET_MAX_PER_TENANT: '2' });
});
afterAll(async () => {
  for (const socket of opened) await socket.client.dispose();
  await stack?.close();
});

async function connect(slug: string): Promise<TestSocket> {
  const socket = openSocket(stack.urls.gateway!, { authorization: `Bearer ${await stack.token(slug)}` });
  opened.push(socket);
  return socket;
}

const outcome = (socket: TestSocket) =>
  Promise.race([socket.acknowledged.then(() => 'acknowledged' as const), socket.closed, new Promise<'nothing'>((resolve) => setTimeout(() => resolve('nothing'), 3_000))]);

describe('connections per tenant', () => {
  it("refuses a tenant's connection beyond the limit with 1013, leaves other tenants alone, and lets one in when another closes", async () => {
    const first = await connect('fluffy-friends');
    const second = await connect('fluffy-friends');
    expect(await outcome(first)).toBe('acknowledged');
    expect(await outcome(second)).toBe('acknowledged');

    const third = await connect('fluffy-friends');
    const refused = await outcome(third);
    expect(refused).toMatchObject({ code: 1013 });
    expect((refused as { reason: string }).reason).toMatch(/try again later/i);

    // Another tenant on the same gateway is not affected.
    expect(await outcome(await connect('acme-pets'))).toBe('acknowledged');

    // The first two stay open; when one closes, a new connection of the tenant is accepted.
    await first.client.dispose();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await outcome(await connect('fluffy-friends'))).toBe('acknowledged');

    const metrics = await (await fetch(stack.urls.gateway!.replace(/\/graphql$/, '/metrics'))).text();
    expect(metrics).toMatch(/gateway_websocket_refused_total\{reason="tenant_connections"[^}]*\} 1\n/);
  });
});
