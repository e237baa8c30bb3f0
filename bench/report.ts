// Aggregation of load runs and the printed table of bench/run.ts.
import type { LoadResult } from './load-worker';
import { judgeAtLeast, judgeBelow, pairedPercentileDelta, pairedRatio, type RatioInterval, type RiseInterval } from './stats';

export type Side = 'baseline' | 'ours';

/** One measured run: what the load worker saw, plus the CPU time this process (the whole stack) spent. */
export interface Measured extends LoadResult {
  /** User + system CPU of this process (all its threads) during the run, in µs. */
  cpuMicros: number;
}
export type Profile = 'throughput' | 'latency';

export interface SideSummary {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  requests: number;
  failed: number;
  /** Requests per second of each measured round, in run order. */
  roundRequestsPerSecond: number[];
  /** CPU µs the stack process spent per successful request (gateway + subgraphs + PGlite). */
  cpuMicrosPerRequest: number;
}

export interface ScenarioSummary {
  query: string;
  profile: Profile;
  connections: number;
  baseline: SideSummary;
  ours: SideSummary;
  /** ours / baseline requests per second (pooled over rounds). */
  throughputRatio: number;
  /** Lowest and highest per-round ratio, to show the run-to-run noise. */
  throughputRatioRange: [number, number];
  /** The ratio of the rounds' mean requests/s with a 95 % paired bootstrap interval over rounds (bench/stats.ts). */
  throughputRatioInterval: RatioInterval;
  p50DeltaMs: number;
  p99DeltaMs: number;
  /** The p99 ours adds, in ms, with a 95 % paired bootstrap interval over rounds (bench/stats.ts). */
  p99DeltaInterval: RiseInterval;
  /** CPU µs per request our layer adds in the stack process (not known per side for the interleaved one-connection profile). */
  addedCpuMicrosPerRequest: number;
  /** baseline / ours CPU per request: the throughput ratio a CPU-bound stack would show, less noisy. */
  cpuThroughputRatio: number;
}

/** Nearest-rank percentile of ascending-sorted samples. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function summarise(rounds: Measured[]): SideSummary {
  const latencies = Float64Array.from(rounds.flatMap((r) => r.latenciesMs)).sort();
  const requests = rounds.reduce((n, r) => n + r.ok, 0);
  const elapsed = rounds.reduce((s, r) => s + r.elapsedSeconds, 0);
  const sum = latencies.reduce((s, v) => s + v, 0);
  return {
    requestsPerSecond: requests / elapsed,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    meanMs: sum / latencies.length,
    requests,
    failed: rounds.reduce((n, r) => n + r.failed, 0),
    roundRequestsPerSecond: rounds.map((r) => r.ok / r.elapsedSeconds),
    cpuMicrosPerRequest: rounds.reduce((s, r) => s + r.cpuMicros, 0) / requests,
  };
}

/** Both sides' rounds of one scenario, round i of each measured together or back to back. */
export function compare(query: string, profile: Profile, connections: number, baselineRounds: Measured[], oursRounds: Measured[]): ScenarioSummary {
  const baseline = summarise(baselineRounds);
  const ours = summarise(oursRounds);
  const perRound = ours.roundRequestsPerSecond.map((rps, i) => rps / baseline.roundRequestsPerSecond[i]!);
  return {
    query,
    profile,
    connections,
    baseline,
    ours,
    throughputRatio: ours.requestsPerSecond / baseline.requestsPerSecond,
    throughputRatioRange: [Math.min(...perRound), Math.max(...perRound)],
    throughputRatioInterval: pairedRatio(ours.roundRequestsPerSecond, baseline.roundRequestsPerSecond),
    p50DeltaMs: ours.p50Ms - baseline.p50Ms,
    p99DeltaMs: ours.p99Ms - baseline.p99Ms,
    p99DeltaInterval: pairedPercentileDelta(
      baselineRounds.map((r) => r.latenciesMs),
      oursRounds.map((r) => r.latenciesMs),
    ),
    addedCpuMicrosPerRequest: ours.cpuMicrosPerRequest - baseline.cpuMicrosPerRequest,
    cpuThroughputRatio: baseline.cpuMicrosPerRequest / ours.cpuMicrosPerRequest,
  };
}

export interface Targets {
  /** ours / baseline requests per second under saturation must stay at or above this. */
  minThroughputRatio: number;
  /** p99 added by our layer without queueing (one connection), in ms, must stay below this. */
  maxAddedP99Ms: number;
}

/** Issue 2's targets: under 10 % of throughput, under 1 ms added at p99. */
export const TARGETS: Targets = { minThroughputRatio: 0.9, maxAddedP99Ms: 1 };

/** A part is absent when its profile was not run (BENCH_PROFILES). */
export interface Verdict {
  throughput?: {
    met: boolean;
    worstRatio: number;
    query: string;
    cpuBoundRatio: number;
    addedCpuMicrosPerRequest: number;
    /** The worst scenario's interval, and the target judged on it: met only when all of it is at or above the target. */
    interval: RatioInterval;
    judged: 'met' | 'not met' | 'unresolved';
  };
  latency?: {
    met: boolean;
    worstAddedP99Ms: number;
    query: string;
    /** The worst scenario's interval of the added p99, and the target judged on it: met only when all of it is below. */
    interval: RiseInterval;
    judged: 'met' | 'not met' | 'unresolved';
  };
}

export function judge(scenarios: ScenarioSummary[], targets: Targets): Verdict {
  const worst = <T>(items: T[], score: (t: T) => number) => items.reduce<T | undefined>((a, b) => (a === undefined || score(b) > score(a) ? b : a), undefined);
  const t = worst(scenarios.filter((s) => s.profile === 'throughput'), (s) => -s.throughputRatio);
  const l = worst(scenarios.filter((s) => s.profile === 'latency'), (s) => s.p99DeltaMs);
  return {
    throughput: t && {
      met: t.throughputRatio >= targets.minThroughputRatio,
      worstRatio: t.throughputRatio,
      query: t.query,
      cpuBoundRatio: t.cpuThroughputRatio,
      addedCpuMicrosPerRequest: t.addedCpuMicrosPerRequest,
      interval: t.throughputRatioInterval,
      judged: judgeAtLeast(t.throughputRatioInterval, targets.minThroughputRatio),
    },
    latency: l && {
      met: l.p99DeltaMs < targets.maxAddedP99Ms,
      worstAddedP99Ms: l.p99DeltaMs,
      query: l.query,
      interval: l.p99DeltaInterval,
      judged: judgeBelow(l.p99DeltaInterval, targets.maxAddedP99Ms),
    },
  };
}

/** A figure as the bench prints it; `signed` adds the + of a rise. */
export const fixed = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
export const signed = (n: number, digits = 2) => (n >= 0 ? '+' : '') + fixed(n, digits);

export function formatTable(scenarios: ScenarioSummary[]): string {
  const header = ['scenario', 'base req/s', 'p50 ms', 'p99 ms', 'ours req/s', 'p50 ms', 'p99 ms', 'ratio', '(per round)', '95 % interval', 'Δp50 ms', 'Δp99 ms', '95 % interval'];
  const rows = scenarios.map((s) => [
    `${s.query}, ${s.connections} conn`,
    fixed(s.baseline.requestsPerSecond, 0),
    fixed(s.baseline.p50Ms),
    fixed(s.baseline.p99Ms),
    fixed(s.ours.requestsPerSecond, 0),
    fixed(s.ours.p50Ms),
    fixed(s.ours.p99Ms),
    fixed(s.throughputRatio, 3),
    `${fixed(s.throughputRatioRange[0], 2)}–${fixed(s.throughputRatioRange[1], 2)}`,
    `${fixed(s.throughputRatioInterval.low, 3)}–${fixed(s.throughputRatioInterval.high, 3)}`,
    signed(s.p50DeltaMs),
    signed(s.p99DeltaMs),
    `${signed(s.p99DeltaInterval.low)}–${signed(s.p99DeltaInterval.high)}`,
  ]);
  return table(header, rows);
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function formatCpuTable(scenarios: ScenarioSummary[]): string {
  const header = ['scenario', 'base CPU µs/req', 'ours CPU µs/req', 'added µs/req', 'CPU-bound ratio'];
  const rows = scenarios.map((s) => [
    `${s.query}, ${s.connections} conn`,
    fixed(s.baseline.cpuMicrosPerRequest, 0),
    fixed(s.ours.cpuMicrosPerRequest, 0),
    signed(s.addedCpuMicrosPerRequest, 0),
    fixed(s.cpuThroughputRatio, 3),
  ]);
  return table(header, rows);
}

export function formatVerdict(verdict: Verdict, targets: Targets): string {
  const mark = (met: boolean) => (met ? 'met' : 'NOT met');
  const { throughput: t, latency: l } = verdict;
  return [
    ...(t
      ? [
          `throughput: ours/baseline ≥ ${targets.minThroughputRatio} under saturation — worst ${fixed(t.worstRatio, 3)} (${t.query}): ${mark(t.met)}` +
            `; 95 % interval over paired rounds ${fixed(t.interval.low, 3)}–${fixed(t.interval.high, 3)}: ${t.judged}`,
          `            (from CPU time per request, less sensitive to noise: ${fixed(t.cpuBoundRatio, 3)}, ${signed(t.addedCpuMicrosPerRequest, 0)} µs/req)`,
        ]
      : []),
    ...(l
      ? [
          `latency:    p99 added < ${targets.maxAddedP99Ms} ms at one connection — worst ${signed(l.worstAddedP99Ms)} ms (${l.query}): ${mark(l.met)}` +
            `; 95 % interval over paired rounds ${signed(l.interval.low)}–${signed(l.interval.high)} ms: ${l.judged}`,
        ]
      : []),
  ].join('\n');
}
