// Noisy neighbour (issue "Query-cost quotas per tenant"): tenant B sends a steady load while tenant A
// floods at ten times its plan. Does A's flood reach B, and how cheaply are A's rejections answered?
//
// Method
//  - A fresh stack (startStack, like `npm start`) on its own scratch data (bench/scratch.ts): the
//    bench's tenancy scenario lifts the free plan's limits in its database, this one sets them.
//  - A = acme-pets (free plan), B = fluffy-friends (pro plan), both send the federated query. Before
//    the load, one request per tenant reads its requested and actual cost (extensions.cost). In the
//    scratch database the free plan then gets restore_rate = PLAN_RATE × A's actual cost: each
//    admitted operation takes its requested cost and gets the difference back when it finishes, so
//    in the long run A's plan admits exactly PLAN_RATE of these operations per second. Its
//    bucket_capacity = requested + actual cost: one operation and one in reserve, so that requests
//    sent exactly at the plan rate are not refused for a few µs of timer jitter, and no larger burst.
//    The pro plan gets ten times what B's steady load needs (B must never be throttled: any non-2xx
//    answer to B makes the run invalid). max_concurrency and the monthly budget stay as seeded. The tenant caches are told (announceTenantChanged), and one
//    more request per tenant checks that the gateway applies the new limits.
//  - Load is open-loop and paced (bench/paced.ts): each request leaves on schedule whatever happened
//    to the earlier ones, so "ten times its plan" is an exact rate and a slow answer cannot slow the
//    sender down. B and A each have their own load worker process. Every response's status and
//    latency are recorded, so the latency of A's 429s is measured apart from its admitted answers.
//  - Three phases per round, each BENCH_NOISY_DURATION seconds of B's steady load:
//      alone    B only;
//      at plan  B, and A at exactly its plan rate (what A is allowed to cost everyone);
//      flood    B, and A at ten times its plan rate.
//    A's load starts half a second before B's window and ends half a second after it; A's latencies
//    are taken inside B's window only. The order of the phases is reversed every other round, so
//    drift and other processes' bursts favour none of them. A request that opens a socket (at most
//    8 per run) is counted but not timed.
//  - Targets (issue): B's p99 under A's flood rises by less than 10 % over B alone; A's 429s are
//    answered in under 1 ms at p99, as the client sees them (over loopback). The gateway's HTTP
//    server times each 429 as well (a bench-only 'request' listener: request event to 'finish'), to
//    tell time spent handling a 429 from time spent waiting for the thread.
//    The comparison with "at plan" shows how much of B's rise comes from A's admitted operations,
//    which A's plan allows, and how much from the excess the quota refuses.
//  - The stack process's CPU time and event-loop utilisation are taken per phase. After the rounds,
//    A floods once more with B absent (what a 429 takes when no answer to B holds the thread), the
//    same client sends /healthz at that rate (the floor this client and machine can resolve), then A
//    floods alone and closed-loop (autocannon, 10 connections, 2 s) to measure how many 429s/s the stack
//    answers and the CPU time each costs.
import { performance } from 'node:perf_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { startStack, type Stack } from '../scripts/stack';
import { loadConfig, type Config } from '../tenancy/config';
import { issueDevToken } from '../tenancy/dev-issuer';
import { DEMO_TENANTS, defaultSubject } from '../tenancy/seed';
import { announceTenantChanged } from '../tenancy/tenant-cache';
import { cpus } from 'node:os';
import { LoadGenerator, SubgraphsProcess, machineCpuMicros, othersCpuShare, pinToCpus } from './harness';
import type { PacedResult } from './load-worker';
import { percentile } from './report';
import { judgeBelow, percentileRise, type RiseInterval } from './stats';
import type { ScratchData } from './scratch';

export const NOISY_QUERY = '{ pets(first: 10) { edges { node { name owner { name } tenant { slug } } } } }';
const NEIGHBOURS = { a: 'acme-pets', b: 'fluffy-friends' } as const;
/** "Floods at ten times its plan." */
export const FLOOD_FACTOR = 10;
export const NOISY_TARGETS = { maxP99RisePercent: 10, maxRejectionP99Ms: 1 } as const;
/** B's plan allows this many times what B's steady load needs. */
const B_HEADROOM = 10;
/** A's load runs this long before and after B's measured window. */
const LEAD_MS = 500;
const CONNECTIONS = { a: 8, b: 8 } as const;

export const noisySettingsSchema = z.object({
  /** Rounds of the three phases. */
  BENCH_NOISY_ROUNDS: z.coerce.number().int().min(1).max(20).default(4),
  /** Seconds of B's steady load per phase. */
  BENCH_NOISY_DURATION: z.coerce.number().positive().max(60).default(4),
  /** B's steady load, requests/s. */
  BENCH_NOISY_RATE: z.coerce.number().positive().max(2000).default(50),
  /** What A's plan admits, requests/s of the query; A floods at ten times this. */
  BENCH_NOISY_PLAN_RATE: z.coerce.number().positive().max(1000).default(10),
  /**
   * one-process: the whole stack in the bench's process, as `npm start` runs it. split: the gateway
   * alone in the bench's process and the three subgraphs in a child process, as a deployment runs
   * them (docker-compose.yml); needs DATABASE_URL and REDIS_URL.
   */
  BENCH_NOISY_TOPOLOGY: z.enum(['one-process', 'split']).default('one-process'),
  /**
   * With the split topology: the gateway (this process) alone on the machine's last CPU, the
   * subgraphs and both load workers on the others (Linux taskset; PostgreSQL and Redis are not moved).
   */
  BENCH_NOISY_PIN: z.enum(['true', 'false', '1', '0']).default('false').transform((v) => v === 'true' || v === '1'),
});
export type NoisySettings = z.infer<typeof noisySettingsSchema>;

export type Phase = 'alone' | 'atPlan' | 'flood';
const PHASES: Phase[] = ['alone', 'atPlan', 'flood'];
const PHASE_LABEL: Record<Phase, string> = { alone: 'B alone', atPlan: 'A at plan (1×)', flood: `A flooding (${FLOOD_FACTOR}×)` };

/**
 * The gateway's own time for each 429: from its HTTP server's 'request' event (headers parsed, the
 * first listener) to the response's 'finish' (last byte handed to the kernel). What the client sees
 * beyond it is time waiting for the thread before the request is read, loopback and the client.
 */
function timeRejections(stack: Stack) {
  const server = stack.gateway!.server;
  let samples: number[] = [];
  const onRequest = (_req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    res.once('finish', () => {
      if (res.statusCode === 429) samples.push(performance.now() - started);
    });
  };
  server.prependListener('request', onRequest);
  return {
    /** The 429s timed since the last call. */
    take(): number[] {
      const taken = samples;
      samples = [];
      return taken;
    },
    stop: () => server.off('request', onRequest),
  };
}

interface PhaseRun {
  phase: Phase;
  round: number;
  /** The gateway's own time for each 429 during the phase, ms. */
  serverRejectionMs: number[];
  b: PacedResult;
  a?: PacedResult;
  /** CPU of the stack's processes (this one, and the subgraphs' when split) during the phase, µs. */
  stackCpuMicros: number;
  /** The subgraphs' process's share of it (split topology only), µs. */
  subgraphsCpuMicros?: number;
  /** CPU of both load workers during the phase, µs. */
  workerCpuMicros: number;
  /** CPU of the Redis server during the phase, µs (Redis mode only). */
  redisCpuMicros?: number;
  /** Event-loop utilisation of the stack process during the phase, 0–1. */
  eventLoopUtilization: number;
  seconds: number;
}

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

export interface PhaseSummary {
  b: LatencySummary & {
    ok: number;
    failed: number;
    rejected: number;
    statuses: Record<string, number>;
    roundP99Ms: number[];
    /** Median of the rounds' p99: less swayed by one round's hiccup than the pooled p99. */
    medianRoundP99Ms: number;
  };
  a?: {
    /** A's scheduled rate. */
    ratePerSecond: number;
    sent: number;
    ok: number;
    rejected: number;
    failed: number;
    okPerSecond: number;
    rejectedPerSecond: number;
    /** The client's own lateness against its schedule (worst round's p99), ms. */
    sendLagP99Ms: number;
    statuses: Record<string, number>;
    rejectReasons: Record<string, number>;
    rejectedWithoutRetryAfter: number;
    rejectedLatency: LatencySummary;
    okLatency: LatencySummary;
  };
  /** CPU of the stack process over the phase's runs, µs, and per second. */
  stackCpuMicros: number;
  stackCpuMicrosPerSecond: number;
  /** Both load workers' CPU per second (on the same cores: A's flood costs its client too). */
  workerCpuMicrosPerSecond: number;
  redisCpuMicrosPerSecond?: number;
  eventLoopUtilization: number;
  /** A's 429s as the gateway's HTTP server timed them (request event to finish). */
  serverRejectionLatency?: LatencySummary;
}

export interface NoisyNeighbourResult {
  tenants: { a: string; b: string };
  query: string;
  costs: { a: { requested: number; actual: number }; b: { requested: number; actual: number } };
  plans: {
    a: { plan: string; bucketCapacity: number; restoreRate: number; maxConcurrency: number; ratePerSecond: number };
    b: { plan: string; bucketCapacity: number; restoreRate: number; maxConcurrency: number };
  };
  load: { bRatePerSecond: number; aPlanRatePerSecond: number; aFloodRatePerSecond: number; connections: typeof CONNECTIONS };
  settings: NoisySettings;
  phases: Record<Phase, PhaseSummary>;
  p99RisePercent: number;
  p50RisePercent: number;
  /** B's p99 under the flood against A at its plan: what A's excess over its plan costs B. */
  p99RiseOverAtPlanPercent: number;
  /** The same two comparisons on the median of the rounds' p99. */
  medianRoundP99RisePercent: number;
  medianRoundP99RiseOverAtPlanPercent: number;
  /**
   * B's p99 rise with a 95 % bootstrap interval over rounds (bench/stats.ts), under the flood against
   * B alone and against A at its plan, and the target judged on it: met only when the whole interval
   * is under the limit, unresolved when the limit lies inside it.
   */
  p99RiseInterval: RiseInterval;
  p99RiseOverAtPlanInterval: RiseInterval;
  /** Stack CPU per answer to B's query, from the "alone" phases. */
  cpuMicrosPerOkRequest: number;
  /** A flooding at ten times its plan with B absent, once after the rounds: the 429s' latency without B's work on the thread. */
  floodWithoutB: {
    sent: number;
    ok: number;
    rejected: number;
    failed: number;
    rejectedLatency: LatencySummary;
    serverRejectionLatency: LatencySummary;
    sendLagP99Ms: number;
    eventLoopUtilization: number;
  };
  /** The measuring floor: /healthz (no auth, no GraphQL) at A's flood rate with nothing else running, client-side latency. */
  healthzFloor: LatencySummary & { sendLagP99Ms: number };
  /** A alone, closed loop, after the rounds: how many 429s/s the stack answers and what each costs. */
  rejectionCapacity: {
    connections: number;
    seconds: number;
    rejected: number;
    ok: number;
    other: number;
    rejectedPerSecond: number;
    /** Stack CPU per 429, after taking out A's few admitted operations (at B's CPU per answer). */
    cpuMicrosPerRejection: number;
  };
  targets: typeof NOISY_TARGETS;
  verdict: {
    /** Judged on p99RiseInterval (flood against B alone). */
    bP99: 'met' | 'not met' | 'unresolved';
    /** The same judgement against A at its plan: what the refused excess alone costs B. */
    bP99OverAtPlan: 'met' | 'not met' | 'unresolved';
    rejectionP99: boolean;
    /** Whether this client can resolve the 429 target at all: its /healthz floor's p99 is under it. */
    rejectionP99Resolvable: boolean;
  };
  valid: boolean;
  problems: string[];
  othersCpuShare: number;
  seconds: number;
  runs: Array<Omit<PhaseRun, 'a' | 'b' | 'serverRejectionMs'> & { b: Omit<PacedResult, 'okLatenciesMs' | 'rejectedLatenciesMs'>; a?: Omit<PacedResult, 'okLatenciesMs' | 'rejectedLatenciesMs'> }>;
}

function latencySummary(samples: number[]): LatencySummary {
  const sorted = Float64Array.from(samples).sort();
  return {
    count: sorted.length,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
    meanMs: sorted.reduce((s, v) => s + v, 0) / sorted.length,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const add = (into: Record<string, number>, from: Record<string, number>) => {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
  return into;
};
const rejectedOf = (r: PacedResult) => r.statuses['429'] ?? 0;

/** `aRate`: A's scheduled requests/s in this phase (0: A sends nothing). */
function summarisePhase(runs: PhaseRun[], aRate: number): PhaseSummary {
  const seconds = runs.reduce((s, r) => s + r.seconds, 0);
  const bRuns = runs.map((r) => r.b);
  const b = {
    ...latencySummary(bRuns.flatMap((r) => r.okLatenciesMs)),
    ok: bRuns.reduce((n, r) => n + r.ok, 0),
    failed: bRuns.reduce((n, r) => n + r.failed, 0),
    rejected: bRuns.reduce((n, r) => n + rejectedOf(r), 0),
    statuses: bRuns.reduce((s, r) => add(s, r.statuses), {} as Record<string, number>),
    roundP99Ms: bRuns.map((r) => latencySummary(r.okLatenciesMs).p99Ms),
    medianRoundP99Ms: median(bRuns.map((r) => latencySummary(r.okLatenciesMs).p99Ms)),
  };
  const aRuns = runs.flatMap((r) => (r.a ? [r.a] : []));
  let a: PhaseSummary['a'];
  if (aRuns.length > 0) {
    const sent = aRuns.reduce((n, r) => n + r.sent, 0);
    const ok = aRuns.reduce((n, r) => n + r.ok, 0);
    const rejected = aRuns.reduce((n, r) => n + rejectedOf(r), 0);
    // A's schedule lasted sent / rate seconds.
    const window = sent / aRate;
    a = {
      ratePerSecond: aRate,
      sent,
      ok,
      rejected,
      failed: aRuns.reduce((n, r) => n + r.failed, 0),
      okPerSecond: ok / window,
      rejectedPerSecond: rejected / window,
      statuses: aRuns.reduce((s, r) => add(s, r.statuses), {} as Record<string, number>),
      rejectReasons: aRuns.reduce((s, r) => add(s, r.rejectReasons), {} as Record<string, number>),
      rejectedWithoutRetryAfter: aRuns.reduce((n, r) => n + r.rejectedWithoutRetryAfter, 0),
      rejectedLatency: latencySummary(aRuns.flatMap((r) => r.rejectedLatenciesMs)),
      okLatency: latencySummary(aRuns.flatMap((r) => r.okLatenciesMs)),
      sendLagP99Ms: Math.max(...aRuns.map((r) => r.sendLagP99Ms)),
    };
  }
  return {
    b,
    a,
    ...(a ? { serverRejectionLatency: latencySummary(runs.flatMap((r) => r.serverRejectionMs)) } : {}),
    stackCpuMicros: runs.reduce((s, r) => s + r.stackCpuMicros, 0),
    stackCpuMicrosPerSecond: runs.reduce((s, r) => s + r.stackCpuMicros, 0) / seconds,
    workerCpuMicrosPerSecond: runs.reduce((s, r) => s + r.workerCpuMicros, 0) / seconds,
    ...(runs.every((r) => r.redisCpuMicros !== undefined) ? { redisCpuMicrosPerSecond: runs.reduce((s, r) => s + r.redisCpuMicros!, 0) / seconds } : {}),
    eventLoopUtilization: runs.reduce((s, r) => s + r.eventLoopUtilization * r.seconds, 0) / seconds,
  };
}

interface GraphQLAnswer {
  status: number;
  body: { data?: unknown; errors?: Array<{ extensions?: { code?: string } }>; extensions?: { cost?: { requestedQueryCost: number; actualQueryCost: number; throttleStatus: { maximumAvailable: number; restoreRate: number } } } };
}

async function post(url: string, token: string): Promise<GraphQLAnswer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: NOISY_QUERY }),
  });
  return { status: response.status, body: (await response.json()) as GraphQLAnswer['body'] };
}

async function costOf(url: string, token: string, who: string) {
  const answer = await post(url, token);
  const cost = answer.body.extensions?.cost;
  if (answer.status !== 200 || answer.body.errors || !answer.body.data || !cost) {
    throw new Error(`${who}'s probe request failed: ${answer.status} ${JSON.stringify(answer.body)}`);
  }
  return { requested: cost.requestedQueryCost, actual: cost.actualQueryCost };
}

/** Waits until the gateway answers `token` with the given bucket policy (the caches have dropped the old plan). */
async function expectPolicy(url: string, token: string, who: string, capacity: number, restoreRate: number) {
  const deadline = Date.now() + 10_000;
  let last: GraphQLAnswer | undefined;
  while (Date.now() < deadline) {
    last = await post(url, token);
    const status = last.body.extensions?.cost?.throttleStatus;
    if (status && status.maximumAvailable === capacity && Math.abs(status.restoreRate - restoreRate) < 1e-9) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${who}: the gateway did not apply the bench's plan (capacity ${capacity}, restore ${restoreRate}/s): ${JSON.stringify(last?.body)}`);
}

export interface NoisyNeighbourOptions {
  /** The one-process stack's configuration. */
  config: Config;
  /** The environment it was loaded from (the split topology starts its two processes from it). */
  env: Record<string, string | undefined>;
  scratch: ScratchData;
  settings: NoisySettings;
  log: (line: string) => void;
}

export async function runNoisyNeighbour({ config: oneProcess, env, scratch, settings, log }: NoisyNeighbourOptions): Promise<NoisyNeighbourResult> {
  const started = performance.now();
  const split = settings.BENCH_NOISY_TOPOLOGY === 'split';
  let stack: Stack | undefined;
  let subgraphs: SubgraphsProcess | undefined;
  let config = oneProcess;
  let redis: Redis | undefined;
  const workers: LoadGenerator[] = [];
  try {
    if (config.REDIS_URL) {
      redis = new Redis(config.REDIS_URL, { lazyConnect: true });
      await redis.connect();
    }
    /** The Redis server's CPU so far (INFO cpu), µs; undefined without Redis. */
    const redisCpuMicros = async (): Promise<number | undefined> => {
      if (!redis) return undefined;
      const info = await redis.info('cpu');
      const field = (name: string) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
      return (field('used_cpu_sys') + field('used_cpu_user')) * 1e6;
    };
    if (split) {
      // The subgraphs migrate and seed the scratch database first; then the gateway starts alone here.
      subgraphs = await SubgraphsProcess.start(env, scratch.storePrefix);
      config = loadConfig({ ...env, SERVICES: 'gateway', PETS_URL: subgraphs.urls.pets, TENANTS_URL: subgraphs.urls.tenants, USAGE_URL: subgraphs.urls.usage });
    }
    /** CPU time of the stack's processes so far, µs: this one, and the subgraphs' when split. */
    const stackCpu = async () => {
      const own = process.cpuUsage();
      const child = subgraphs ? (await subgraphs.usage()).micros : 0;
      return { total: own.user + own.system + child, subgraphs: child };
    };
    stack = await startStack(config, { storePrefix: scratch.storePrefix, keepAdmin: true });
    const { issuer } = stack.keys;
    const url = stack.urls.gateway;
    const admin = stack.admin;
    if (!issuer || !url || !admin) throw new Error('the stack started without a gateway, the dev issuer or an owner connection');
    const planOf = (slug: string) => DEMO_TENANTS.find((t) => t.slug === slug)!.plan;
    const tokenOf = (slug: string) =>
      issueDevToken(issuer, { tenant: slug, subject: defaultSubject(slug), roles: ['admin'], ttlSeconds: 3600, audience: config.AUTH_AUDIENCE });
    const tokens = { a: await tokenOf(NEIGHBOURS.a), b: await tokenOf(NEIGHBOURS.b) };

    // The costs the plans are set from (B's data is smaller: its actual cost is lower).
    const costs = { a: await costOf(url, tokens.a, NEIGHBOURS.a), b: await costOf(url, tokens.b, NEIGHBOURS.b) };
    const seeded = async (plan: string) =>
      (await admin.query<{ max_operation_cost: number; max_concurrency: number }>('SELECT max_operation_cost, max_concurrency FROM plans WHERE name = $1', [plan]))[0]!;
    const aPlan = { plan: planOf(NEIGHBOURS.a), bucketCapacity: costs.a.requested + costs.a.actual, restoreRate: settings.BENCH_NOISY_PLAN_RATE * costs.a.actual };
    const bNeeds = settings.BENCH_NOISY_RATE * costs.b.requested;
    const bPlan = { plan: planOf(NEIGHBOURS.b), bucketCapacity: Math.ceil(B_HEADROOM * bNeeds), restoreRate: B_HEADROOM * bNeeds };
    for (const [who, p] of [[NEIGHBOURS.a, aPlan], [NEIGHBOURS.b, bPlan]] as const) {
      const limits = await seeded(p.plan);
      if (limits.max_operation_cost < costs[who === NEIGHBOURS.a ? 'a' : 'b'].requested) throw new Error(`the ${p.plan} plan's max_operation_cost is below the query's cost: ${who} could never be admitted`);
      // In the scratch database only; the trigger of migration 0003 versions the change like any other.
      await admin.query('UPDATE plans SET bucket_capacity = $2, restore_rate = $3 WHERE name = $1', [p.plan, p.bucketCapacity, p.restoreRate]);
    }
    for (const slug of Object.values(NEIGHBOURS)) await announceTenantChanged(stack.store, slug);
    await expectPolicy(url, tokens.a, NEIGHBOURS.a, aPlan.bucketCapacity, aPlan.restoreRate);
    await expectPolicy(url, tokens.b, NEIGHBOURS.b, bPlan.bucketCapacity, bPlan.restoreRate);
    const plans = {
      a: { ...aPlan, maxConcurrency: (await seeded(aPlan.plan)).max_concurrency, ratePerSecond: settings.BENCH_NOISY_PLAN_RATE },
      b: { ...bPlan, maxConcurrency: (await seeded(bPlan.plan)).max_concurrency },
    };
    if (plans.b.maxConcurrency < CONNECTIONS.b) throw new Error(`the ${bPlan.plan} plan allows fewer operations in flight than B's connections`);

    const rejections = timeRejections(stack);
    const bWorker = new LoadGenerator();
    const aWorker = new LoadGenerator();
    workers.push(bWorker, aWorker);
    if (settings.BENCH_NOISY_PIN) {
      const last = cpus().length - 1;
      if (!split || last < 1) throw new Error('BENCH_NOISY_PIN needs BENCH_NOISY_TOPOLOGY=split and at least two CPUs');
      const others = last === 1 ? '0' : `0-${last - 1}`;
      pinToCpus(process.pid, String(last));
      for (const pid of [subgraphs!.pid, bWorker.pid, aWorker.pid]) pinToCpus(pid!, others);
      log(`noisy neighbour: gateway pinned to CPU ${last}; subgraphs and load workers to CPU ${others}`);
    }
    const body = JSON.stringify({ query: NOISY_QUERY });
    const headersOf = (token: string) => ({ 'content-type': 'application/json', authorization: `Bearer ${token}` });
    const aRate: Record<Phase, number> = { alone: 0, atPlan: settings.BENCH_NOISY_PLAN_RATE, flood: FLOOD_FACTOR * settings.BENCH_NOISY_PLAN_RATE };
    const seconds = settings.BENCH_NOISY_DURATION;
    let workerCpuMicros = 0;

    const runPhase = async (phase: Phase, round: number, durationSeconds: number): Promise<PhaseRun> => {
      rejections.take();
      const redisBefore = await redisCpuMicros();
      const cpu = await stackCpu();
      const elu = performance.eventLoopUtilization();
      const t0 = performance.now();
      const bLoad = () => bWorker.paced({ url, headers: headersOf(tokens.b), body, ratePerSecond: settings.BENCH_NOISY_RATE, durationSeconds, connections: CONNECTIONS.b });
      const [aResult, b] =
        aRate[phase] > 0
          ? await Promise.all([
              aWorker.paced({
                url,
                headers: headersOf(tokens.a),
                body,
                ratePerSecond: aRate[phase],
                durationSeconds: durationSeconds + (2 * LEAD_MS) / 1000,
                connections: CONNECTIONS.a,
                // A's latencies count while B is measured, not in the lead-in and lead-out.
                latencyWindow: [LEAD_MS / 1000, LEAD_MS / 1000 + durationSeconds],
              }),
              new Promise((resolve) => setTimeout(resolve, LEAD_MS)).then(bLoad),
            ])
          : [undefined, await bLoad()];
      const cpuAfter = await stackCpu();
      const eventLoopUtilization = performance.eventLoopUtilization(elu).utilization;
      const phaseSeconds = (performance.now() - t0) / 1000;
      const redisAfter = await redisCpuMicros();
      const run: PhaseRun = {
        phase,
        round,
        serverRejectionMs: rejections.take(),
        b,
        a: aResult,
        stackCpuMicros: cpuAfter.total - cpu.total,
        ...(split ? { subgraphsCpuMicros: cpuAfter.subgraphs - cpu.subgraphs } : {}),
        workerCpuMicros: b.workerCpuMicros + (aResult?.workerCpuMicros ?? 0),
        ...(redisBefore !== undefined && redisAfter !== undefined ? { redisCpuMicros: redisAfter - redisBefore } : {}),
        eventLoopUtilization,
        seconds: phaseSeconds,
      };
      workerCpuMicros += b.workerCpuMicros + (aResult?.workerCpuMicros ?? 0);
      // A's bucket refills and its last answers drain before the next phase.
      await new Promise((resolve) => setTimeout(resolve, 300));
      return run;
    };

    const machineBefore = machineCpuMicros();
    const selfBefore = await stackCpu();
    const redisAtStart = await redisCpuMicros();
    log(`noisy neighbour: warming up (B ${settings.BENCH_NOISY_RATE} req/s; A's plan ${settings.BENCH_NOISY_PLAN_RATE} req/s, flood ${aRate.flood} req/s)…`);
    await runPhase('alone', -1, 2);
    await runPhase('flood', -1, 2);

    const runs: PhaseRun[] = [];
    for (let round = 0; round < settings.BENCH_NOISY_ROUNDS; round++) {
      const order = round % 2 === 0 ? PHASES : [...PHASES].reverse();
      log(`noisy neighbour: round ${round + 1}/${settings.BENCH_NOISY_ROUNDS} (${order.join(', ')}, ${seconds} s each)…`);
      for (const phase of order) runs.push(await runPhase(phase, round, seconds));
    }
    // The same flood with B absent: what a 429 takes when no answer to B holds the thread.
    log(`noisy neighbour: A flooding with B absent (${seconds} s)…`);
    const eluWithoutB = performance.eventLoopUtilization();
    rejections.take();
    const withoutB = await aWorker.paced({ url, headers: headersOf(tokens.a), body, ratePerSecond: aRate.flood, durationSeconds: seconds, connections: CONNECTIONS.a });
    const floodWithoutB = {
      serverRejectionLatency: latencySummary(rejections.take()),
      sent: withoutB.sent,
      ok: withoutB.ok,
      rejected: rejectedOf(withoutB),
      failed: withoutB.failed,
      rejectedLatency: latencySummary(withoutB.rejectedLatenciesMs),
      sendLagP99Ms: withoutB.sendLagP99Ms,
      eventLoopUtilization: performance.eventLoopUtilization(eluWithoutB).utilization,
    };
    workerCpuMicros += withoutB.workerCpuMicros;
    await new Promise((resolve) => setTimeout(resolve, 300));

    // The floor of what this client and machine can resolve: the gateway's /healthz at the same rate.
    const healthz = await aWorker.paced({ url: url.replace(/\/graphql$/, '/healthz'), headers: {}, body: '', ratePerSecond: aRate.flood, durationSeconds: 2, connections: CONNECTIONS.a });
    workerCpuMicros += healthz.workerCpuMicros;
    const healthzFloor = { ...latencySummary(healthz.okLatenciesMs), sendLagP99Ms: healthz.sendLagP99Ms };
    if (healthz.ok !== healthz.sent) throw new Error(`/healthz failed: ${JSON.stringify(healthz.statuses)}`);

    // Rejection capacity: A alone floods closed-loop, so nearly every answer is a 429 (its plan still
    // admits PLAN_RATE/s).
    log('noisy neighbour: rejection capacity (A alone, closed loop)…');
    const capacityConnections = 10;
    const capacitySeconds = 2;
    const capacityCpu = await stackCpu();
    const capacityRun = await aWorker.run({ url, headers: headersOf(tokens.a), body, connections: capacityConnections, durationSeconds: capacitySeconds, record: false });
    const capacityUsed = (await stackCpu()).total - capacityCpu.total;
    workerCpuMicros += capacityRun.workerCpuMicros;
    const capacityRejected = capacityRun.statuses['429'] ?? 0;
    rejections.stop();

    const self = (await stackCpu()).total - selfBefore.total;
    // Redis's CPU is this bench's load too; PostgreSQL's still counts as "other".
    const redisUsed = redisAtStart === undefined ? 0 : (await redisCpuMicros())! - redisAtStart;
    const others = othersCpuShare(machineBefore, machineCpuMicros(), self, workerCpuMicros + redisUsed);

    const phases = Object.fromEntries(PHASES.map((p) => [p, summarisePhase(runs.filter((r) => r.phase === p), aRate[p])])) as Record<Phase, PhaseSummary>;
    const { alone, atPlan, flood } = phases;
    const cpuMicrosPerOkRequest = alone.stackCpuMicros / alone.b.ok;
    const rejectionCapacity = {
      connections: capacityConnections,
      seconds: capacityRun.elapsedSeconds,
      rejected: capacityRejected,
      ok: capacityRun.ok,
      other: capacityRun.failed - capacityRejected,
      rejectedPerSecond: capacityRejected / capacityRun.elapsedSeconds,
      cpuMicrosPerRejection: (capacityUsed - capacityRun.ok * cpuMicrosPerOkRequest) / capacityRejected,
    };
    const p99RisePercent = ((flood.b.p99Ms - alone.b.p99Ms) / alone.b.p99Ms) * 100;
    const p50RisePercent = ((flood.b.p50Ms - alone.b.p50Ms) / alone.b.p50Ms) * 100;
    const p99RiseOverAtPlanPercent = ((flood.b.p99Ms - atPlan.b.p99Ms) / atPlan.b.p99Ms) * 100;
    const medianRoundP99RisePercent = ((flood.b.medianRoundP99Ms - alone.b.medianRoundP99Ms) / alone.b.medianRoundP99Ms) * 100;
    const medianRoundP99RiseOverAtPlanPercent = ((flood.b.medianRoundP99Ms - atPlan.b.medianRoundP99Ms) / atPlan.b.medianRoundP99Ms) * 100;
    const bRounds = (phase: Phase) => runs.filter((r) => r.phase === phase).map((r) => r.b.okLatenciesMs);
    const p99RiseInterval = percentileRise(bRounds('alone'), bRounds('flood'));
    const p99RiseOverAtPlanInterval = percentileRise(bRounds('atPlan'), bRounds('flood'));
    const problems: string[] = [];
    for (const p of PHASES) {
      const s = phases[p];
      if (s.b.rejected > 0) problems.push(`B was throttled ${s.b.rejected} times (${PHASE_LABEL[p]}): its plan must stay above its load`);
      if (s.b.failed > 0) problems.push(`B had ${s.b.failed} failed requests (${PHASE_LABEL[p]}): ${JSON.stringify(s.b.statuses)}`);
      if (s.a && s.a.failed > 0) problems.push(`A had ${s.a.failed} answers that were neither a success nor a 429 (${PHASE_LABEL[p]}): ${JSON.stringify(s.a.statuses)}`);
      if (s.a && s.a.rejectedWithoutRetryAfter > 0) problems.push(`${s.a.rejectedWithoutRetryAfter} of A's 429s had no Retry-After (${PHASE_LABEL[p]})`);
    }
    if (floodWithoutB.failed > 0) problems.push(`A had ${floodWithoutB.failed} answers that were neither a success nor a 429 (flood without B)`);
    if (rejectionCapacity.other > 0) problems.push(`A had ${rejectionCapacity.other} answers that were neither a success nor a 429 (rejection capacity)`);
    if (flood.a!.okPerSecond > 1.1 * settings.BENCH_NOISY_PLAN_RATE) {
      problems.push(`A got ${flood.a!.okPerSecond.toFixed(1)} answers/s while flooding, above its plan's ${settings.BENCH_NOISY_PLAN_RATE}/s`);
    }

    return {
      tenants: NEIGHBOURS,
      query: NOISY_QUERY,
      costs,
      plans,
      load: { bRatePerSecond: settings.BENCH_NOISY_RATE, aPlanRatePerSecond: settings.BENCH_NOISY_PLAN_RATE, aFloodRatePerSecond: aRate.flood, connections: CONNECTIONS },
      settings,
      phases,
      p99RisePercent,
      p50RisePercent,
      p99RiseOverAtPlanPercent,
      medianRoundP99RisePercent,
      medianRoundP99RiseOverAtPlanPercent,
      p99RiseInterval,
      p99RiseOverAtPlanInterval,
      cpuMicrosPerOkRequest,
      floodWithoutB,
      healthzFloor,
      rejectionCapacity,
      targets: NOISY_TARGETS,
      verdict: {
        bP99: judgeBelow(p99RiseInterval, NOISY_TARGETS.maxP99RisePercent),
        bP99OverAtPlan: judgeBelow(p99RiseOverAtPlanInterval, NOISY_TARGETS.maxP99RisePercent),
        rejectionP99: flood.a!.rejectedLatency.p99Ms < NOISY_TARGETS.maxRejectionP99Ms,
        rejectionP99Resolvable: healthzFloor.p99Ms < NOISY_TARGETS.maxRejectionP99Ms,
      },
      valid: problems.filter((p) => !p.startsWith('A got')).length === 0,
      problems,
      othersCpuShare: others,
      seconds: (performance.now() - started) / 1000,
      runs: runs.map(({ a, b, serverRejectionMs: _server, ...run }) => ({ ...run, b: withoutSamples(b), a: a && withoutSamples(a) })),
    };
  } finally {
    for (const worker of workers) await worker.close();
    redis?.disconnect();
    await stack?.close();
    await subgraphs?.close();
  }
}

function withoutSamples({ okLatenciesMs: _ok, rejectedLatenciesMs: _rejected, ...rest }: PacedResult) {
  return rest;
}

const fixed = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
const signed = (n: number, digits = 1) => (n >= 0 ? '+' : '') + fixed(n, digits);

export function formatNoisy(r: NoisyNeighbourResult): string {
  const { alone, atPlan, flood } = r.phases;
  const mark = (met: boolean) => (met ? 'met' : 'NOT met');
  const rows: string[][] = [['phase', 'B 2xx', 'B p50 ms', 'B p99 ms', 'B p99 per round', 'median', 'A sent/s', 'A 2xx/s', 'A 429', 'A 429 p50 ms', 'A 429 p99 ms', 'stack CPU %', 'loop busy %', 'workers CPU %', 'Redis CPU %']];
  for (const p of PHASES) {
    const s = r.phases[p];
    rows.push([
      PHASE_LABEL[p],
      String(s.b.ok),
      fixed(s.b.p50Ms),
      fixed(s.b.p99Ms),
      s.b.roundP99Ms.map((v) => fixed(v, 1)).join(' '),
      fixed(s.b.medianRoundP99Ms, 1),
      s.a ? fixed(s.a.ratePerSecond, 0) : '–',
      s.a ? fixed(s.a.okPerSecond, 1) : '–',
      s.a ? String(s.a.rejected) : '–',
      s.a ? fixed(s.a.rejectedLatency.p50Ms, 3) : '–',
      s.a ? fixed(s.a.rejectedLatency.p99Ms, 3) : '–',
      fixed(s.stackCpuMicrosPerSecond / 1e4, 0),
      fixed(s.eventLoopUtilization * 100, 0),
      fixed(s.workerCpuMicrosPerSecond / 1e4, 0),
      s.redisCpuMicrosPerSecond === undefined ? '–' : fixed(s.redisCpuMicrosPerSecond / 1e4, 0),
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const table = [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
  const reasons = Object.entries(flood.a!.rejectReasons)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return [
    `Noisy neighbour: B = ${r.tenants.b} (${r.plans.b.plan}) at ${r.load.bRatePerSecond} req/s; A = ${r.tenants.a} (${r.plans.a.plan}, plan ${r.load.aPlanRatePerSecond} req/s) at 1× and ${FLOOD_FACTOR}× its plan`,
    `query cost: A requested ${r.costs.a.requested} / actual ${r.costs.a.actual}, B ${r.costs.b.requested} / ${r.costs.b.actual}; ` +
      `A's plan: bucket ${r.plans.a.bucketCapacity}, restore ${r.plans.a.restoreRate}/s, ${r.plans.a.maxConcurrency} in flight; ` +
      `B's plan: bucket ${r.plans.b.bucketCapacity}, restore ${r.plans.b.restoreRate}/s, ${r.plans.b.maxConcurrency} in flight`,
    `${r.settings.BENCH_NOISY_ROUNDS} rounds × 3 phases × ${r.settings.BENCH_NOISY_DURATION} s, open-loop paced load; latencies in ms at the client; CPU in % of one core`,
    r.settings.BENCH_NOISY_TOPOLOGY === 'split'
      ? 'topology: split — the gateway alone in the bench process, the three subgraphs in a child process; stack CPU is both, loop busy is the gateway\'s' +
        (r.settings.BENCH_NOISY_PIN ? '; gateway pinned to a CPU of its own, subgraphs and load workers to the others' : '')
      : 'topology: one process — gateway, subgraphs and (embedded) PGlite share one event loop, as `npm start` runs them',
    '',
    table,
    '',
    `A while flooding: ${flood.a!.sent} sent, ${flood.a!.ok} answered 2xx (${fixed(flood.a!.okPerSecond, 1)}/s against a plan of ${r.load.aPlanRatePerSecond}/s), ` +
      `${flood.a!.rejected} answered 429 (${reasons}), ${flood.a!.failed} other; 429 latency p50 ${fixed(flood.a!.rejectedLatency.p50Ms, 3)} / ` +
      `p99 ${fixed(flood.a!.rejectedLatency.p99Ms, 3)} / max ${fixed(flood.a!.rejectedLatency.maxMs, 3)} ms over ${flood.a!.rejectedLatency.count} timed 429s ` +
      `(client send lag p99 ≤ ${fixed(flood.a!.sendLagP99Ms, 2)} ms)`,
    `A's 429s as the gateway's HTTP server timed them (request event → finish): p50 ${fixed(flood.serverRejectionLatency!.p50Ms, 3)} / ` +
      `p99 ${fixed(flood.serverRejectionLatency!.p99Ms, 3)} ms (${flood.serverRejectionLatency!.count} 429s, lead-in and lead-out included)`,
    `A flooding with B absent (${r.settings.BENCH_NOISY_DURATION} s, loop busy ${fixed(r.floodWithoutB.eventLoopUtilization * 100, 0)} %): ` +
      `429 latency p50 ${fixed(r.floodWithoutB.rejectedLatency.p50Ms, 3)} / p99 ${fixed(r.floodWithoutB.rejectedLatency.p99Ms, 3)} / max ${fixed(r.floodWithoutB.rejectedLatency.maxMs, 3)} ms ` +
      `over ${r.floodWithoutB.rejectedLatency.count} 429s (client send lag p99 ${fixed(r.floodWithoutB.sendLagP99Ms, 2)} ms); ` +
      `server p50 ${fixed(r.floodWithoutB.serverRejectionLatency.p50Ms, 3)} / p99 ${fixed(r.floodWithoutB.serverRejectionLatency.p99Ms, 3)} ms`,
    `measuring floor: /healthz at ${r.load.aFloodRatePerSecond} req/s, nothing else running: p50 ${fixed(r.healthzFloor.p50Ms, 3)} / p99 ${fixed(r.healthzFloor.p99Ms, 3)} ms at the client`,
    `rejection capacity (A alone, ${r.rejectionCapacity.connections} connections closed-loop, ${fixed(r.rejectionCapacity.seconds, 1)} s): ` +
      `${fixed(r.rejectionCapacity.rejectedPerSecond, 0)} 429s/s (${r.rejectionCapacity.ok} admitted, ${r.rejectionCapacity.other} other); ` +
      `stack CPU ≈ ${fixed(r.rejectionCapacity.cpuMicrosPerRejection, 0)} µs per 429 against ≈ ${fixed(r.cpuMicrosPerOkRequest, 0)} µs per answer to B`,
    `B's p99: ${fixed(alone.b.p99Ms)} ms alone, ${fixed(atPlan.b.p99Ms)} ms with A at its plan, ${fixed(flood.b.p99Ms)} ms under A's flood (${signed(r.p99RisePercent)} % over alone, p50 ${signed(r.p50RisePercent)} %; ${signed(r.p99RiseOverAtPlanPercent)} % over A at its plan)`,
    `B's p99, median of rounds: ${fixed(alone.b.medianRoundP99Ms)} ms alone, ${fixed(atPlan.b.medianRoundP99Ms)} ms with A at its plan, ${fixed(flood.b.medianRoundP99Ms)} ms under A's flood ` +
      `(${signed(r.medianRoundP99RisePercent)} % over alone; ${signed(r.medianRoundP99RiseOverAtPlanPercent)} % over A at its plan)`,
    `B's p99 rise, 95 % interval over rounds (block bootstrap): under the flood against alone ${signed(r.p99RiseInterval.low)} … ${signed(r.p99RiseInterval.high)} %, ` +
      `against A at its plan ${signed(r.p99RiseOverAtPlanInterval.low)} … ${signed(r.p99RiseOverAtPlanInterval.high)} %`,
    `target: B's p99 rises < ${r.targets.maxP99RisePercent} % under the flood — ${signed(r.p99RisePercent)} % [${signed(r.p99RiseInterval.low)}, ${signed(r.p99RiseInterval.high)}]: ${r.verdict.bP99}` +
      ` (against A at its plan ${signed(r.p99RiseOverAtPlanPercent)} % [${signed(r.p99RiseOverAtPlanInterval.low)}, ${signed(r.p99RiseOverAtPlanInterval.high)}]: ${r.verdict.bP99OverAtPlan})`,
    `target: A's 429s answered < ${r.targets.maxRejectionP99Ms} ms at p99 — ${fixed(flood.a!.rejectedLatency.p99Ms, 3)} ms: ${mark(r.verdict.rejectionP99)}` +
      (r.verdict.rejectionP99Resolvable ? '' : ` (unresolvable from this client: /healthz, which does nothing, already takes ${fixed(r.healthzFloor.p99Ms, 3)} ms at p99)`),
    ...(r.othersCpuShare > 0.05 ? [`warning: other processes used ${(r.othersCpuShare * 100).toFixed(0)} % of the machine's CPU during this scenario (PostgreSQL counts among them)`] : []),
    ...r.problems.map((p) => (r.valid ? `note: ${p}` : `INVALID: ${p}`)),
  ].join('\n');
}
