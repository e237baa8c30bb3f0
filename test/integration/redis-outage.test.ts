// Issue 3's fail mode against a real Redis that really goes away: a private redis-server on a free
// port is killed and restarted while the gateway serves.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack';

const hasRedisServer = spawnSync('redis-server', ['--version']).status === 0;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A Redis that keeps its data across restarts (AOF), as a production Redis holding the usage stream must. */
async function startRedis(port: number, dir: string): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir];
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    if (spawnSync('redis-cli', ['-p', String(port), 'ping']).stdout?.toString().includes('PONG')) return child;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('redis-server did not start');
}

async function until<T>(probe: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await probe();
  while (!ok(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await probe();
  }
  return value;
}

const children: ChildProcess[] = [];
const stacks: TestStack[] = [];
afterAll(async () => {
  for (const stack of stacks) await stack.close();
  for (const child of children) child.kill('SIGKILL');
});

const QUERY = `query During { currentTenant { slug } }`;

describe.skipIf(!hasRedisServer)('Redis outage', () => {
  it('fail-open: keeps serving from a local bucket, says so in /readyz and /metrics, and resumes on Redis when it is back', async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'redis-outage-'));
    let redis = await startRedis(port, dir);
    children.push(redis);
    const stack = await startTestStack({ REDIS_URL: `redis://127.0.0.1:${port}`, ADMISSION_FAIL_MODE: 'open', ADMISSION_LOCAL_SHARE: '0.5' });
    stacks.push(stack);
    const base = stack.urls.gateway!.replace(/\/graphql$/, '');
    const token = await stack.token('fluffy-friends');
    const readyz = async () => (await (await fetch(`${base}/readyz`)).json()) as { status: string; admission: string; checks: Record<string, boolean> };
    const degraded = async () => /gateway_admission_degraded\{[^}]*\} (\d)/.exec(await (await fetch(`${base}/metrics`)).text())?.[1];

    expect((await stack.gql(QUERY, { token })).status).toBe(200);
    expect((await readyz()).admission).toBe('shared');
    const sharedCapacity = (await stack.gql(QUERY, { token })).body.extensions?.cost.throttleStatus.maximumAvailable;

    redis.kill('SIGKILL');
    await new Promise((resolve) => redis.once('exit', resolve));
    // A lease taken before the outage (its units already counted in Redis) may admit until its window
    // ends; the next operation finds Redis gone.
    expect((await stack.gql(QUERY, { token })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, Number(stack.config.ADMISSION_LEASE_MS) + 100));
    const during = await stack.gql(QUERY, { token });
    expect(during.status).toBe(200);
    // Alone, this instance admits with its share of the tenant's bucket.
    expect(during.body.extensions?.cost.throttleStatus.maximumAvailable).toBe(sharedCapacity / 2);
    const ready = await readyz();
    expect(ready).toMatchObject({ status: 'ready', admission: 'local (fail-open)', checks: { store: false } });
    expect(await degraded()).toBe('1');
    for (let i = 0; i < 3; i++) expect((await stack.gql(QUERY, { token })).status).toBe(200);

    redis = await startRedis(port, dir);
    children.push(redis);
    const back = await until(readyz, (r) => r.admission === 'shared');
    expect(back).toMatchObject({ status: 'ready', admission: 'shared', checks: { store: true } });
    expect(await degraded()).toBe('0');
    const after = await stack.gql(QUERY, { token });
    expect(after.status).toBe(200);
    expect(after.body.extensions?.cost.throttleStatus.maximumAvailable).toBe(sharedCapacity);

    // Operations served during the outage were buffered and reach the usage tables once Redis is back.
    await until(() => stack.usage.flush(20_000).then(() => true, () => false), Boolean, 30_000);
    const ops = await stack.gql(`{ recentOperations(first: 100) { operationName } }`, { token });
    expect(ops.body.data.recentOperations.filter((o: { operationName: string }) => o.operationName === 'During').length).toBeGreaterThanOrEqual(7);
  }, 90_000);

  it('fail-closed: refuses with 503 SERVICE_UNAVAILABLE and reports not ready while Redis is away', async () => {
    const port = await freePort();
    const redis = await startRedis(port, mkdtempSync(join(tmpdir(), 'redis-outage-')));
    children.push(redis);
    const stack = await startTestStack({ REDIS_URL: `redis://127.0.0.1:${port}`, ADMISSION_FAIL_MODE: 'closed' });
    stacks.push(stack);
    const token = await stack.token('acme-pets');
    expect((await stack.gql(QUERY, { token })).status).toBe(200);
    redis.kill('SIGKILL');
    await new Promise((resolve) => redis.once('exit', resolve));
    const refused = await stack.gql(QUERY, { token });
    expect(refused.status).toBe(503);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    expect(refused.headers.get('retry-after')).toBe('1');
    const ready = await fetch(stack.urls.gateway!.replace(/\/graphql$/, '/readyz'));
    expect(ready.status).toBe(503);
    // A subscription is refused alike, over a socket and over an HTTP stream.
    const { follow, openSocket } = await import('../helpers/ws');
    const socket = openSocket(stack.urls.gateway!, { authorization: `Bearer ${token}` });
    const sub = follow(socket.client, 'subscription { quotaStatus { used } }');
    await sub.finished;
    expect((sub.error as any[])[0].extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryAfter: 1 });
    await socket.client.dispose();
    const stream = await fetch(stack.urls.gateway!, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: 'subscription { quotaStatus { used } }' }),
    });
    expect(stream.status).toBe(503);
    expect(stream.headers.get('retry-after')).toBe('1');
  }, 60_000);
});
