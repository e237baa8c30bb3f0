// npm run bench — what our tenancy layer costs, as ratios against a bare gateway measured in the same run.
//
// Method
//  - One stack in this process (startStack, the composition root `npm start` uses): the three
//    subgraphs and our gateway, on in-memory PGlite and the in-process store, or on PostgreSQL / Redis
//    when DATABASE_URL / REDIS_URL are set (in a scratch database and under a key prefix that the bench
//    makes and removes: bench/scratch.ts). Next to it, on its own port, a bare Apollo Server +
//    @apollo/gateway with no tenancy (bench/baseline.ts), pointed at the SAME subgraph URLs, sending a
//    context token signed once as a static header. The difference between the two is our per-request
//    layer: token verification (cached), tenant resolution (L1/L2 cache), request scope, admission
//    (pricing, concurrency slot, token bucket, refund), context tokens (signed per principal and
//    subgraph, reused for half their lifetime: one signature per 30 s here, like the baseline's),
//    metrics and the usage event. The bench tenant's plan limits are lifted in the scratch database so that admission
//    runs its whole path but never rejects (a 429 is cheaper than an answer and would flatter us).
//  - Usage aggregation (the usage service's stream consumer, which writes PostgreSQL) is off, as with
//    USAGE_CONSUMER=false: it is background work of another service, not part of a request, and in one
//    process on PGlite it would share the thread that serves both gateways. BENCH_USAGE_CONSUMER=1
//    includes it.
//  - Load comes from autocannon in a child process (bench/load-worker.ts) over loopback, so the load
//    generator does not share the servers' event loop. Both gateways receive byte-identical requests
//    (the same Authorization header too; the baseline ignores it). Only complete answers count: a
//    non-2xx status or a body with GraphQL errors is a failure, and failures make the run invalid.
//  - Two load profiles per query: "throughput" (BENCH_CONNECTIONS closed-loop connections, enough to
//    saturate the single-threaded stack) gives requests/s; "latency" (one connection, no queueing)
//    gives the latency a request pays for our layer. Under saturation latency is mostly queueing, so
//    the p99 target is judged at one connection and the throughput target under saturation.
//  - Every scenario warms both sides up first, then alternates short measured rounds A B, B A, ... so
//    that JIT, caches, drift and other processes' bursts favour neither side; requests/s and latency
//    percentiles pool the rounds. Latencies are recorded per response with sub-millisecond resolution.
//    The one-connection profile goes further: one request at a time alternates between the gateways
//    request by request (load-worker.ts AlternateRequest), because this VM's speed drifts by a factor
//    of two within seconds, more than a whole round's difference between the sides. The p99 our layer
//    adds is judged on a 95 % bootstrap interval over the paired rounds (bench/stats.ts).
//  - CPU time of this process per request (process.cpuUsage around each run; this process does nothing
//    else meanwhile) is reported too: it is much less sensitive to other processes than requests/s.
//  - The bench process runs its libraries in production mode (bench/production-mode.ts sets
//    NODE_ENV=production before graphql-js loads), as a deployed gateway does; the stack's own
//    configuration stays a development one (dev issuer).
//  - Results are printed as a table and written to bench/results/latest.json. This is a measurement,
//    not a test: the process exits 0 whether or not the targets are met.
//
//  - Then the noisy-neighbour scenario (bench/noisy-neighbour.ts, its own method there) runs on a
//    fresh stack and scratch data: tenant B's latency under a steady load, alone and while tenant A
//    floods at ten times its plan, and how fast A's 429s are answered.
//  - Then subscription scale (bench/subscriptions.ts, its own method there), on a fresh stack:
//    memory per idle and per subscribed WebSocket connection, event-to-delivery delay with 1,000 and
//    10,000 subscribers, and how many subscribed connections one process holds.
//
// Settings (environment): BENCH_ONLY (tenancy | noisy | subscriptions: run one part; default all), BENCH_DURATION (s
// per measured run, default 1), BENCH_WARMUP (s per side per scenario, default 1), BENCH_ROUNDS (A/B
// pairs per scenario, default 8), BENCH_CONNECTIONS (default 10), BENCH_USAGE_CONSUMER (default
// false), BENCH_QUERIES (light,federated) and BENCH_PROFILES (throughput,latency) to run some tenancy
// scenarios only; for the noisy neighbour BENCH_NOISY_ROUNDS (default 4), BENCH_NOISY_DURATION (s per phase,
// default 4), BENCH_NOISY_RATE (B's req/s, default 50), BENCH_NOISY_PLAN_RATE (A's plan in req/s,
// default 10; A floods at ten times it), BENCH_NOISY_TOPOLOGY (one-process, default, or split: the
// gateway alone in this process and the subgraphs in a child, as deployed; needs DATABASE_URL and REDIS_URL).
import './production-mode';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { DEV_ISSUER } from '../gateway/src/auth';
import { startStack, type Stack } from '../scripts/stack';
import type { TenantContext } from '../tenancy/context';
import { loadConfig } from '../tenancy/config';
import { issueDevToken } from '../tenancy/dev-issuer';
import { DEMO_TENANTS, defaultSubject } from '../tenancy/seed';
import { startBaseline, type Baseline } from './baseline';
import { benchConfig, benchEnv, LoadGenerator, machineCpuMicros, machineInfo, modeOf, othersCpuShare, type Mode } from './harness';
import { formatNoisy, noisySettingsSchema, runNoisyNeighbour, type NoisyNeighbourResult } from './noisy-neighbour';
import { createScratchData, liftPlanLimits } from './scratch';
import { formatSubscriptionScale, runSubscriptionScale, subscriptionSettingsSchema, type SubscriptionScaleResult } from './subscriptions';
import { compare, formatCpuTable, formatTable, formatVerdict, judge, TARGETS, type Measured, type Profile, type ScenarioSummary, type Side } from './report';

const QUERIES = {
  light: '{ currentTenant { slug } }',
  federated: '{ pets(first: 10) { edges { node { name owner { name } tenant { slug } } } } }',
} as const;
type QueryName = keyof typeof QUERIES;

const TENANT = 'acme-pets';
const TENANT_PLAN = DEMO_TENANTS.find((t) => t.slug === TENANT)!.plan;
const RESULTS_FILE = fileURLToPath(new URL('./results/latest.json', import.meta.url));

const settings = z
  .object({
    BENCH_ONLY: z.enum(['tenancy', 'noisy', 'subscriptions']).optional(),
    BENCH_DURATION: z.coerce.number().positive().max(60).default(1),
    BENCH_WARMUP: z.coerce.number().min(0).max(60).default(1),
    BENCH_ROUNDS: z.coerce.number().int().min(1).max(40).default(8),
    BENCH_CONNECTIONS: z.coerce.number().int().min(2).max(256).default(10),
    BENCH_USAGE_CONSUMER: z.enum(['true', 'false', '1', '0']).default('false').transform((v) => v === 'true' || v === '1'),
    // Comma-separated subsets of the tenancy scenarios, for a targeted rerun of one of them.
    BENCH_QUERIES: z.string().default('light,federated').pipe(z.string().transform((v) => v.split(',')).pipe(z.array(z.enum(['light', 'federated'])).min(1))),
    BENCH_PROFILES: z.string().default('throughput,latency').pipe(z.string().transform((v) => v.split(',')).pipe(z.array(z.enum(['throughput', 'latency'])).min(1))),
  })
  .extend(noisySettingsSchema.shape)
  .extend(subscriptionSettingsSchema.shape)
  .parse(Object.fromEntries(Object.entries(process.env).filter(([k, v]) => k.startsWith('BENCH_') && v !== '')));

interface Target {
  side: Side;
  url: string;
}

async function post(url: string, headers: Record<string, string>, query: string) {
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query }) });
  return { status: response.status, body: (await response.json()) as { data?: unknown; errors?: unknown[] } };
}

/** Both gateways must give the same successful answer, or the comparison means nothing. */
async function checkSameAnswers(targets: Target[], headers: Record<string, string>) {
  for (const [name, query] of Object.entries(QUERIES)) {
    const answers = await Promise.all(targets.map((t) => post(t.url, headers, query)));
    for (const [i, answer] of answers.entries()) {
      if (answer.status !== 200 || answer.body.errors || !answer.body.data) {
        throw new Error(`${targets[i]!.side} gateway failed the ${name} query: ${answer.status} ${JSON.stringify(answer.body)}`);
      }
    }
    if (!isDeepStrictEqual(answers[0]!.body.data, answers[1]!.body.data)) {
      throw new Error(`the gateways disagree on the ${name} query:\n${answers.map((a) => JSON.stringify(a.body.data)).join('\n')}`);
    }
  }
}

/** The tenancy-overhead scenarios: ours vs the bare gateway. Returns its part of the results file. */
async function runTenancy(keysDir: string): Promise<{ mode: Mode; valid: boolean; json: Record<string, unknown> }> {
  const scratch = await createScratchData(process.env);
  let stack: Stack | undefined;
  let baseline: Baseline | undefined;
  let load: LoadGenerator | undefined;
  try {
    const config = benchConfig(keysDir, scratch, settings.BENCH_USAGE_CONSUMER);
    const mode = modeOf(config);

    console.log(`bench: starting the stack (${mode.database}, ${mode.store} store) and the baseline gateway…`);
    stack = await startStack(config, { storePrefix: scratch.storePrefix, keepAdmin: true });
    const { issuer, context } = stack.keys;
    if (!stack.gateway || !stack.urls.gateway || !issuer || !context || !stack.admin) {
      throw new Error('the stack started without a gateway, its keys or an owner connection');
    }
    // Before any request, so no cache holds the seeded limits.
    await liftPlanLimits(stack.admin, TENANT_PLAN);

    const subject = defaultSubject(TENANT);
    const roles = ['admin' as const];
    const token = await issueDevToken(issuer, { tenant: TENANT, subject, roles, ttlSeconds: 3600, audience: config.AUTH_AUDIENCE });
    const record = await stack.gateway.tenants.resolve(
      { subject, tenantSlug: TENANT, roles, expiresAt: Math.floor(Date.now() / 1000) + 3600, issuer: DEV_ISSUER },
      {},
    );
    const tenant: TenantContext = {
      tenantId: record.id,
      tenantSlug: record.slug,
      subject,
      roles,
      plan: record.plan,
      isolation: record.isolation,
      requestId: 'bench-baseline',
    };
    baseline = await startBaseline({
      subgraphUrls: { pets: stack.urls.pets!, tenants: stack.urls.tenants!, usage: stack.urls.usage! },
      contextPrivateKey: context.privateKey,
      contextKid: context.kid,
      tenant,
      host: config.HOST,
    });

    const targets: Target[] = [
      { side: 'baseline', url: baseline.url },
      { side: 'ours', url: stack.urls.gateway },
    ];
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
    await checkSameAnswers(targets, headers);

    load = new LoadGenerator();
    const generator = load;
    // This process does nothing but serve while a run is in flight, so its CPU time is the stack's.
    let workerCpuMicros = 0;
    const runOn = async (target: Target, query: QueryName, connections: number, durationSeconds: number, record: boolean): Promise<Measured> => {
      const cpu = process.cpuUsage();
      const result = await generator.run({ url: target.url, headers, body: JSON.stringify({ query: QUERIES[query] }), connections, durationSeconds, record });
      const used = process.cpuUsage(cpu);
      workerCpuMicros += result.workerCpuMicros;
      return { ...result, cpuMicros: used.user + used.system };
    };

    const runAlternating = async (query: QueryName, durationSeconds: number, record: boolean): Promise<Record<Side, Measured>> => {
      const result = await generator.alternate({ urls: [targets[0]!.url, targets[1]!.url], headers, body: JSON.stringify({ query: QUERIES[query] }), durationSeconds, record });
      workerCpuMicros += result.workerCpuMicros;
      const side = (i: 0 | 1): Measured => ({ type: 'result', id: result.id, ...result.sides[i], workerCpuMicros: result.workerCpuMicros / 2, cpuMicros: Number.NaN });
      return { [targets[0]!.side]: side(0), [targets[1]!.side]: side(1) } as Record<Side, Measured>;
    };

    const machineBefore = machineCpuMicros();
    const selfBefore = process.cpuUsage();
    // One longer warm-up of everything before the first measured scenario.
    console.log('bench: warming up…');
    for (const target of targets) for (const query of Object.keys(QUERIES) as QueryName[]) await runOn(target, query, settings.BENCH_CONNECTIONS, 2, false);

    const profiles: Array<{ profile: Profile; connections: number }> = (
      [
        { profile: 'throughput', connections: settings.BENCH_CONNECTIONS },
        { profile: 'latency', connections: 1 },
      ] as const
    ).filter((p) => settings.BENCH_PROFILES.includes(p.profile));
    const scenarios: ScenarioSummary[] = [];
    const raw: Array<{ query: QueryName; profile: Profile; side: Side; round: number; result: Omit<Measured, 'latenciesMs' | 'type' | 'id'> }> = [];
    for (const { profile, connections } of profiles) {
      for (const query of settings.BENCH_QUERIES) {
        console.log(`bench: ${query} query, ${profile} (${connections} connection${connections > 1 ? 's' : ''})…`);
        const results: Record<Side, Measured[]> = { baseline: [], ours: [] };
        const keep = (side: Side, round: number, result: Measured) => {
          results[side].push(result);
          raw.push({ query, profile, side, round, result: { ok: result.ok, failed: result.failed, statuses: result.statuses, elapsedSeconds: result.elapsedSeconds, cpuMicros: result.cpuMicros, workerCpuMicros: result.workerCpuMicros } });
        };
        if (profile === 'latency') {
          // One request at a time, alternating between the gateways request by request, so that both
          // meet the machine in the same state (load-worker.ts AlternateRequest). This process's CPU
          // cannot be split between the sides here: the CPU columns come from the saturated profile.
          if (settings.BENCH_WARMUP > 0) await runAlternating(query, settings.BENCH_WARMUP * 2, false);
          for (let round = 0; round < settings.BENCH_ROUNDS; round++) {
            // Twice the duration: each side gets as much of the round as in the saturated profile.
            const sides = await runAlternating(query, settings.BENCH_DURATION * 2, true);
            for (const side of ['baseline', 'ours'] as const) keep(side, round, sides[side]);
          }
        } else {
          if (settings.BENCH_WARMUP > 0) {
            for (const target of targets) await runOn(target, query, connections, settings.BENCH_WARMUP, false);
          }
          for (let round = 0; round < settings.BENCH_ROUNDS; round++) {
            // A B, then B A: neither side always runs first (or last) in a scenario.
            const order = round % 2 === 0 ? targets : [...targets].reverse();
            for (const target of order) keep(target.side, round, await runOn(target, query, connections, settings.BENCH_DURATION, true));
          }
        }
        scenarios.push(compare(query, profile, connections, results.baseline, results.ours));
      }
    }
    // The answers must still be right after the load (caches, token re-signing, pools).
    await checkSameAnswers(targets, headers);

    const self = process.cpuUsage(selfBefore);
    // What the rest of the machine did meanwhile: busy CPU time not spent by this process or the worker.
    const others = othersCpuShare(machineBefore, machineCpuMicros(), self.user + self.system, workerCpuMicros);

    const verdict = judge(scenarios, TARGETS);
    const failed = scenarios.reduce((n, s) => n + s.baseline.failed + s.ours.failed, 0);
    const machine = machineInfo();

    console.log('');
    console.log(`Tenancy overhead: ours vs bare @apollo/gateway — ${mode.database} + ${mode.store} store, ${machine.cpus} CPUs, Node ${machine.node}`);
    console.log(
      `${settings.BENCH_ROUNDS} × ${settings.BENCH_DURATION} s per side per scenario after ${settings.BENCH_WARMUP} s warm-up; ` +
        `usage aggregation ${mode.usageAggregation ? 'on' : 'off'}; latencies in ms`,
    );
    console.log('');
    console.log(formatTable(scenarios));
    console.log('');
    console.log(formatCpuTable(scenarios));
    console.log('');
    console.log(formatVerdict(verdict, TARGETS));
    if (others > 0.05) {
      console.log(`warning: other processes used ${(others * 100).toFixed(0)} % of the machine's CPU during the run; the figures are noisier than on an idle machine (the CPU µs/req columns least so)`);
    }
    if (failed > 0) {
      console.log(`INVALID: ${failed} requests failed (non-2xx, GraphQL errors, socket errors or timeouts), so a side measured an error path; see ${RESULTS_FILE}`);
    }

    return {
      mode,
      valid: failed === 0,
      json: { othersCpuShare: others, queries: QUERIES, targets: TARGETS, verdict, valid: failed === 0, failed, scenarios, runs: raw },
    };
  } finally {
    await load?.close();
    await baseline?.close();
    await stack?.close();
    await scratch.drop();
  }
}

/** The noisy-neighbour scenario, on a fresh stack and scratch data of its own. */
async function runNoisy(keysDir: string): Promise<{ mode: Mode; result: NoisyNeighbourResult }> {
  const scratch = await createScratchData(process.env);
  try {
    const env = benchEnv(keysDir, scratch, settings.BENCH_USAGE_CONSUMER);
    const config = loadConfig(env);
    const mode = modeOf(config);
    const topology = settings.BENCH_NOISY_TOPOLOGY === 'split' ? ', gateway and subgraphs in two processes' : '';
    console.log(`bench: noisy neighbour, starting a fresh stack (${mode.database}, ${mode.store} store${topology})…`);
    const result = await runNoisyNeighbour({ config, env, scratch, settings, log: (line) => console.log(`bench: ${line}`) });
    console.log('');
    console.log(formatNoisy(result));
    return { mode, result };
  } finally {
    await scratch.drop();
  }
}

/** Subscription scale (bench/subscriptions.ts), on a fresh stack and scratch data of its own. */
async function runSubscriptions(keysDir: string): Promise<{ mode: Mode; result: SubscriptionScaleResult }> {
  const scratch = await createScratchData(process.env);
  try {
    const config = benchConfig(keysDir, scratch, true);
    const mode = modeOf(config);
    console.log(`bench: subscriptions, starting a fresh stack (${mode.database}, ${mode.store} store)…`);
    const result = await runSubscriptionScale({ config, scratch, settings, log: (line) => console.log(`bench: ${line}`) });
    console.log('');
    console.log(formatSubscriptionScale(result));
    return { mode, result };
  } finally {
    await scratch.drop();
  }
}

async function main() {
  process.env.APOLLO_TELEMETRY_DISABLED = '1';
  const started = performance.now();
  const keysDir = mkdtempSync(join(tmpdir(), 'tenancy-bench-'));
  try {
    const only = settings.BENCH_ONLY;
    const tenancy = only && only !== 'tenancy' ? undefined : await runTenancy(keysDir);
    if (tenancy) console.log('');
    const noisy = only && only !== 'noisy' ? undefined : await runNoisy(keysDir);
    if (noisy) console.log('');
    const subscriptions = only && only !== 'subscriptions' ? undefined : await runSubscriptions(keysDir);

    mkdirSync(fileURLToPath(new URL('./results/', import.meta.url)), { recursive: true });
    writeFileSync(
      RESULTS_FILE,
      `${JSON.stringify(
        {
          date: new Date().toISOString(),
          machine: machineInfo(),
          mode: tenancy?.mode ?? noisy?.mode ?? subscriptions?.mode,
          settings,
          ...tenancy?.json,
          ...(noisy ? { noisyNeighbour: noisy.result } : {}),
          ...(subscriptions ? { subscriptions: subscriptions.result } : {}),
          totalSeconds: (performance.now() - started) / 1000,
        },
        null,
        2,
      )}\n`,
    );
    if (noisy && !noisy.result.valid) console.log(`\nINVALID noisy-neighbour run: see ${RESULTS_FILE}`);
    console.log(`\nresults: ${RESULTS_FILE} (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  } finally {
    rmSync(keysDir, { recursive: true, force: true });
  }
}

await main();
