// Subscription scale (issue "Live quota dashboards"): how many subscribed WebSocket clients one gateway
// holds, what an idle connection costs in memory, and how long a usage event takes to reach 1,000 and
// 10,000 subscribers.
//
// Method
//  - One stack in this process (startStack, as `npm start`), on its own scratch data, with usage
//    aggregation on (the event path under test runs through it). The tenant's plan limits are lifted
//    (bench/scratch.ts) so that admission never refuses: each subscription still takes a concurrency
//    slot, pays its cost and renews its slot's lease.
//  - Clients live in BENCH_WS_WORKERS child processes (bench/ws-worker.ts), speaking graphql-transport-ws
//    directly on `ws`, one subscription per connection, all of one tenant (the worst case for fan-out:
//    every event goes to every subscriber). They connect in batches of 250.
//  - Memory per idle connection: the process's RSS and V8 heap after a forced GC, before and after
//    BENCH_WS_IDLE connections that sent connection_init and were acknowledged but subscribe to
//    nothing (the gateway's cost of a connection alone); then the same with a live quotaStatus
//    subscription on each (gateway and usage subgraph share this process, so this figure holds both
//    ends of the subscription: the client socket, the gateway's stream and upstream subscription, and
//    the usage subgraph's subscriber).
//  - Delay: with N subscribers connected, BENCH_WS_ROUNDS times: one query of the tenant through the
//    gateway (it spends; the clock starts when its response arrives), then each client records when it
//    first sees `used` rise. The path measured is the whole one: usage stream -> consumer writes
//    PostgreSQL -> pub/sub -> the usage feed reads the tenant's snapshot once -> one message per
//    subscription over the gateway's link -> the gateway shapes each event -> each client's socket.
//    Rounds are 1.5 s apart, so the feed's throttle (QUOTA_FEED_INTERVAL_MS) never delays an event.
//  - Capacity (only when BENCH_WS_MAX > 0: it takes about ten minutes): subscribed connections are
//    added in steps of 2,000 up to BENCH_WS_MAX; the run stops at the first step with failures and
//    reports what refused. Every new subscription is a usage event of the tenant, so all the
//    subscribers already there get an update while the next ones connect: the ramp is a fan-out load.
//
// Settings: BENCH_WS_SIZES (default 1000,10000), BENCH_WS_ROUNDS (default 5), BENCH_WS_IDLE (default
// 5000), BENCH_WS_DISTINCT_SIZES (default 1000), BENCH_WS_MAX (default 0 = skip the capacity ramp; the
// open-files limit of this machine is 20,000 per process), BENCH_WS_WORKERS (default 4).
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { z } from 'zod';
import { startStack, type Stack } from '../scripts/stack';
import type { Config } from '../tenancy/config';
import { issueDevToken } from '../tenancy/dev-issuer';
import { DEMO_TENANTS, defaultSubject } from '../tenancy/seed';
import { liftPlanLimits, type ScratchData } from './scratch';
import type { WsParentMessage, WsWorkerMessage } from './ws-worker';

export const subscriptionSettingsSchema = z.object({
  BENCH_WS_SIZES: z
    .string()
    .default('1000,10000')
    .transform((v) => v.split(',').map(Number))
    .pipe(z.array(z.number().int().positive())),
  /** Sizes measured again with every subscriber a user of its own (no two subscriptions share an upstream). */
  BENCH_WS_DISTINCT_SIZES: z
    .string()
    .default('1000')
    .transform((v) => v.split(',').filter(Boolean).map(Number))
    .pipe(z.array(z.number().int().positive())),
  BENCH_WS_ROUNDS: z.coerce.number().int().min(1).max(50).default(5),
  BENCH_WS_IDLE: z.coerce.number().int().min(100).default(5_000),
  BENCH_WS_MAX: z.coerce.number().int().min(0).default(0),
  BENCH_WS_WORKERS: z.coerce.number().int().min(1).max(16).default(4),
});
export type SubscriptionSettings = z.infer<typeof subscriptionSettingsSchema>;

const TENANT = 'fluffy-friends';
const QUERY = 'subscription BenchQuota { quotaStatus { used remaining burnRatePerMinute } }';
const SPEND = '{ pets(first: 1) { edges { node { id } } } }';

export interface SubscriptionScaleResult {
  idle: { connections: number; rssBytesPerConnection: number; heapBytesPerConnection: number };
  subscribed: { connections: number; rssBytesPerConnection: number; heapBytesPerConnection: number };
  delivery: Array<{ subscribers: number; users: 'one' | 'each its own'; upstream: number; rounds: number; p50Ms: number; p99Ms: number; maxMs: number; missing: number }>;
  capacity?: { target: number; reached: number; failedAt?: number; firstError?: string; rssBytes: number; fdLimit: string };
}

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

class WsWorker {
  private readonly child: ChildProcess;
  private nextId = 0;
  private readonly pending = new Map<number, (message: WsWorkerMessage) => void>();
  constructor() {
    this.child = fork(fileURLToPath(new URL('./ws-worker.ts', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (message: WsWorkerMessage) => {
      this.pending.get(message.id)?.(message);
      this.pending.delete(message.id);
    });
  }
  request<T extends WsWorkerMessage>(message: WithoutId<WsParentMessage>): Promise<T> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve as (m: WsWorkerMessage) => void);
      this.child.send({ ...message, id });
    });
  }
  kill() {
    this.child.kill();
  }
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function memory() {
  for (let i = 0; i < 3; i++) {
    gc();
    await settle(200);
  }
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heapUsed };
}
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;

export async function runSubscriptionScale(options: {
  config: Config;
  scratch: ScratchData;
  settings: SubscriptionSettings;
  log: (line: string) => void;
}): Promise<SubscriptionScaleResult> {
  const { config, scratch, settings, log } = options;
  const stack: Stack = await startStack({ ...config, USAGE_CONSUMER: true }, { keepAdmin: true, storePrefix: scratch.storePrefix });
  const workers = Array.from({ length: settings.BENCH_WS_WORKERS }, () => new WsWorker());
  try {
    const plan = DEMO_TENANTS.find((t) => t.slug === TENANT)!.plan;
    await liftPlanLimits(stack.admin!, plan);
    const tokenOf = (subject: string) => issueDevToken(stack.keys.issuer!, { tenant: TENANT, subject, roles: ['viewer'], ttlSeconds: 3_600, audience: config.AUTH_AUDIENCE });
    const token = await tokenOf(defaultSubject(TENANT));
    const maxDistinct = Math.max(0, ...settings.BENCH_WS_DISTINCT_SIZES);
    const userTokens = await Promise.all(Array.from({ length: maxDistinct }, (_, i) => tokenOf(`bench-user-${i}@${TENANT}.example`)));
    const url = stack.urls.gateway!.replace(/^http/, 'ws');
    const spend = async () => {
      const response = await fetch(stack.urls.gateway!, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query: SPEND }) });
      if (!response.ok) throw new Error(`spend answered ${response.status}`);
      await response.text();
      return performance.timeOrigin + performance.now();
    };
    const connect = async (count: number, query?: string, tokens: string[] = [token]) => {
      const shares = workers.map((_, i) => Math.floor(count / workers.length) + (i < count % workers.length ? 1 : 0));
      let offset = 0;
      const results = await Promise.all(
        workers.map((w, i) => {
          const own = tokens.length > 1 ? tokens.slice(offset, (offset += shares[i]!)) : tokens;
          return w.request<Extract<WsWorkerMessage, { type: 'connected' }>>({ type: 'connect', url, tokens: own, count: shares[i]!, query, batch: 250 });
        }),
      );
      return {
        open: results.reduce((n, r) => n + r.open, 0),
        subscribed: results.reduce((n, r) => n + r.subscribed, 0),
        failed: results.reduce((n, r) => n + r.failed, 0),
        firstError: results.find((r) => r.firstError)?.firstError,
      };
    };
    const closeAll = async () => {
      await Promise.all(workers.map((w) => w.request({ type: 'close' })));
      await settle(1_000);
    };
    await spend(); // warms the gateway up and seeds the tenant's caches

    log(`subscriptions: memory of ${settings.BENCH_WS_IDLE} idle connections…`);
    const before = await memory();
    const idleConnected = await connect(settings.BENCH_WS_IDLE);
    const idleAfter = await memory();
    await closeAll();
    const subscribedBefore = await memory();
    const subscribedConnected = await connect(settings.BENCH_WS_IDLE, QUERY);
    const subscribedAfter = await memory();
    await closeAll();
    const result: SubscriptionScaleResult = {
      idle: {
        connections: idleConnected.open,
        rssBytesPerConnection: Math.round((idleAfter.rss - before.rss) / idleConnected.open),
        heapBytesPerConnection: Math.round((idleAfter.heapUsed - before.heapUsed) / idleConnected.open),
      },
      subscribed: {
        connections: subscribedConnected.subscribed,
        rssBytesPerConnection: Math.round((subscribedAfter.rss - subscribedBefore.rss) / subscribedConnected.subscribed),
        heapBytesPerConnection: Math.round((subscribedAfter.heapUsed - subscribedBefore.heapUsed) / subscribedConnected.subscribed),
      },
      delivery: [],
    };

    const runs = [
      ...settings.BENCH_WS_SIZES.map((size) => ({ size, users: 'one' as const })),
      ...settings.BENCH_WS_DISTINCT_SIZES.map((size) => ({ size, users: 'each its own' as const })),
    ];
    for (const { size, users } of runs) {
      log(`subscriptions: ${size} subscribers (${users === 'one' ? 'one user' : 'each a user of its own'}), ${settings.BENCH_WS_ROUNDS} usage events…`);
      const connected = await connect(size, QUERY, users === 'one' ? [token] : userTokens.slice(0, size));
      if (connected.failed > 0) log(`subscriptions: ${connected.failed} of ${size} failed to subscribe (${connected.firstError})`);
      const upstream = stack.gateway!.subscriptions.upstream;
      await settle(1_500);
      const delays: number[] = [];
      let missing = 0;
      for (let round = 0; round < settings.BENCH_WS_ROUNDS; round++) {
        // The clients' current `used` is what the next event must rise above.
        const current = await Promise.all(workers.map((w) => w.request<Extract<WsWorkerMessage, { type: 'delivered' }>>({ type: 'expect', above: -1, timeoutMs: 1 })));
        const above = Math.max(...current.map((c) => c.lastUsed));
        const waiting = Promise.all(workers.map((w) => w.request<Extract<WsWorkerMessage, { type: 'delivered' }>>({ type: 'expect', above, timeoutMs: 15_000 })));
        const t0 = await spend();
        for (const delivered of await waiting) {
          missing += delivered.missing;
          for (const at of delivered.delaysMs) delays.push(Math.max(0, at - t0));
        }
        await settle(1_500);
      }
      delays.sort((a, b) => a - b);
      result.delivery.push({
        subscribers: connected.subscribed,
        users,
        upstream,
        rounds: settings.BENCH_WS_ROUNDS,
        p50Ms: Math.round(percentile(delays, 50) * 10) / 10,
        p99Ms: Math.round(percentile(delays, 99) * 10) / 10,
        maxMs: Math.round((delays.at(-1) ?? NaN) * 10) / 10,
        missing,
      });
      await closeAll();
    }

    if (settings.BENCH_WS_MAX > 0) {
      log(`subscriptions: capacity, up to ${settings.BENCH_WS_MAX} subscribed connections…`);
      result.capacity = { target: settings.BENCH_WS_MAX, reached: 0, rssBytes: 0, fdLimit: fdLimit() };
      const step = 2_000;
      let reached = 0;
      while (reached < settings.BENCH_WS_MAX) {
        const count = Math.min(step, settings.BENCH_WS_MAX - reached);
        const connected = await connect(count, QUERY);
        reached += count - connected.failed;
        if (connected.failed > 0) {
          result.capacity.failedAt = reached + connected.failed;
          result.capacity.firstError = connected.firstError;
          break;
        }
      }
      result.capacity.reached = reached;
      result.capacity.rssBytes = (await memory()).rss;
      await closeAll();
    }
    return result;
  } finally {
    for (const worker of workers) worker.kill();
    await stack.close();
  }
}

function fdLimit(): string {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    return line ? line.replace(/\s+/g, ' ').replace('Max open files ', '').trim() : 'unknown';
  } catch {
    return 'unknown';
  }
}

export function formatSubscriptionScale(result: SubscriptionScaleResult): string {
  const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
  const lines = [
    'Subscriptions: one gateway process (with the usage subgraph beside it), clients in other processes',
    `  idle connection (acknowledged, no subscription): ${kib(result.idle.rssBytesPerConnection)} RSS, ${kib(result.idle.heapBytesPerConnection)} heap each (${result.idle.connections} connections)`,
    `  subscribed connection (quotaStatus, both ends):  ${kib(result.subscribed.rssBytesPerConnection)} RSS, ${kib(result.subscribed.heapBytesPerConnection)} heap each (${result.subscribed.connections} connections)`,
    '  usage event -> delivery (spend answered -> client sees the new `used`):',
    ...result.delivery.map(
      (d) =>
        `    ${String(d.subscribers).padStart(6)} subscribers, ${d.users === 'one' ? 'one user  ' : 'distinct users'} (${d.upstream} upstream): p50 ${d.p50Ms} ms, p99 ${d.p99Ms} ms, max ${d.maxMs} ms over ${d.rounds} events${d.missing ? `, ${d.missing} deliveries missing` : ''}`,
    ),
    result.capacity
      ? `  capacity: ${result.capacity.reached} of ${result.capacity.target} subscribed connections held${result.capacity.failedAt ? ` (failed at ${result.capacity.failedAt}: ${result.capacity.firstError})` : ''}, process RSS ${(result.capacity.rssBytes / 2 ** 20).toFixed(0)} MiB; open-files limit ${result.capacity.fdLimit}`
      : '  capacity: not measured (BENCH_WS_MAX=0)',
  ];
  return lines.join('\n');
}
