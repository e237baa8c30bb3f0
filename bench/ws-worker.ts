// A child process holding many graphql-transport-ws clients for bench/subscriptions.ts. It speaks the
// protocol directly on `ws` (connection_init, subscribe, next) rather than through graphql-ws's client:
// thousands of clients per process, with as little client-side cost as possible in the measurement.
import WebSocket from 'ws';

export type WsParentMessage =
  | { type: 'connect'; id: number; url: string; tokens: string[]; count: number; query?: string; batch: number }
  | { type: 'expect'; id: number; above: number; timeoutMs: number }
  | { type: 'close'; id: number };

export type WsWorkerMessage =
  | { type: 'connected'; id: number; open: number; subscribed: number; failed: number; firstError?: string }
  | { type: 'delivered'; id: number; delaysMs: number[]; missing: number; lastUsed: number }
  | { type: 'closed'; id: number };

interface Client {
  socket: WebSocket;
  used: number;
  subscribed: boolean;
  onEvent?: (used: number, at: number) => void;
}

const clients: Client[] = [];
const now = () => performance.timeOrigin + performance.now();
const send = (message: WsWorkerMessage) => process.send!(message);

function open(url: string, token: string, query: string | undefined): Promise<Client | string> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, 'graphql-transport-ws', { perMessageDeflate: false });
    const client: Client = { socket, used: -1, subscribed: false };
    let settled = false;
    const settle = (value: Client | string) => {
      if (settled) return;
      settled = true;
      resolve(value);
    };
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
    socket.on('message', (raw) => {
      const message = JSON.parse(raw.toString()) as { type: string; payload?: any };
      if (message.type === 'connection_ack') {
        if (!query) return settle(client);
        socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }));
      } else if (message.type === 'next') {
        const used = message.payload?.data?.quotaStatus?.used;
        if (typeof used === 'number') {
          const at = now();
          client.used = used;
          if (!client.subscribed) {
            client.subscribed = true;
            settle(client);
          }
          client.onEvent?.(used, at);
        }
      } else if (message.type === 'error') {
        settle(`subscription refused: ${JSON.stringify(message.payload).slice(0, 200)}`);
      } else if (message.type === 'ping') {
        socket.send(JSON.stringify({ type: 'pong' }));
      }
    });
    socket.on('error', (error) => settle(`socket error: ${error.message}`));
    socket.on('close', (code, reason) => settle(`closed ${code} ${reason.toString()}`));
  });
}

process.on('message', async (message: WsParentMessage) => {
  try {
    if (message.type === 'connect') {
      let failed = 0;
      let firstError: string | undefined;
      for (let started = 0; started < message.count; started += message.batch) {
        const batch = Math.min(message.batch, message.count - started);
        const results = await Promise.all(Array.from({ length: batch }, (_, i) => open(message.url, message.tokens[(started + i) % message.tokens.length]!, message.query)));
        for (const result of results) {
          if (typeof result === 'string') {
            failed++;
            firstError ??= result;
          } else clients.push(result);
        }
      }
      send({
        type: 'connected',
        id: message.id,
        open: clients.filter((c) => c.socket.readyState === WebSocket.OPEN).length,
        subscribed: clients.filter((c) => c.subscribed).length,
        failed,
        firstError,
      });
    } else if (message.type === 'expect') {
      // Each subscribed client's delay until it sees `used` rise above the given value.
      const since = now();
      const delays: number[] = [];
      const waiting = clients.filter((c) => c.subscribed);
      await new Promise<void>((resolve) => {
        let left = waiting.length;
        if (left === 0) return resolve();
        const timer = setTimeout(resolve, message.timeoutMs);
        for (const client of waiting) {
          const done = (at: number) => {
            client.onEvent = undefined;
            delays.push(at);
            if (--left === 0) {
              clearTimeout(timer);
              resolve();
            }
          };
          if (client.used > message.above) done(since);
          else client.onEvent = (used, at) => used > message.above && done(at);
        }
      });
      for (const client of waiting) client.onEvent = undefined;
      send({ type: 'delivered', id: message.id, delaysMs: delays, missing: waiting.length - delays.length, lastUsed: Math.max(...waiting.map((c) => c.used)) });
    } else if (message.type === 'close') {
      for (const client of clients.splice(0)) client.socket.terminate();
      send({ type: 'closed', id: message.id });
    }
  } catch (error) {
    console.error('ws worker:', error);
    process.exit(1);
  }
});
