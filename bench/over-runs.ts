// npm run bench:runs — the tenancy-overhead comparison (bench/run.ts, BENCH_ONLY=tenancy) repeated in
// BENCH_RUNS fresh processes, one after another, and judged over them.
//
// Why: one run's interval (bench/stats.ts pairedRatio) is a bootstrap over its rounds, all in one
// process. On a shared 2-vCPU VM the same code measured in another process moves by more than that
// interval (JIT decisions, heap layout, what the machine did when the process started): the light
// query's added CPU came out anywhere from +41 to +143 µs in separate processes (docs/BENCHMARKS.md).
// Each run here is one observation, and the mean of the runs gets a Student's t interval, which is the
// interval that counts the variation between processes.
//
// Every other BENCH_* setting (BENCH_ROUNDS, BENCH_DURATION, ...), DATABASE_URL and REDIS_URL pass
// through to each run. Each run's results file is kept as bench/results/run-<i>.json, and the summary
// goes to bench/results/over-runs.json. Like `npm run bench`, this always exits 0 unless a run fails to
// complete: it is a measurement, not a test.
import { fork } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { fixed, signed, TARGETS } from './report';
import { judgeAtLeast, judgeBelow, meanInterval, type RatioInterval } from './stats';

const RESULTS = (name: string) => fileURLToPath(new URL(`./results/${name}`, import.meta.url));
const { minThroughputRatio: MIN_THROUGHPUT_RATIO, maxAddedP99Ms: MAX_ADDED_P99_MS } = TARGETS;

const { BENCH_RUNS: runs } = z
  .object({ BENCH_RUNS: z.coerce.number().int().min(2).max(20).default(5) })
  .parse({ BENCH_RUNS: process.env.BENCH_RUNS || undefined });

const scenarioSchema = z.object({
  query: z.string(),
  profile: z.enum(['throughput', 'latency']),
  connections: z.number(),
  throughputRatio: z.number(),
  throughputRatioInterval: z.object({ estimate: z.number(), low: z.number(), high: z.number() }),
  p99DeltaMs: z.number(),
  p99DeltaInterval: z.object({ estimate: z.number(), low: z.number(), high: z.number() }),
  // null where the sides' CPU cannot be told apart (the interleaved one-connection profile; NaN in JSON).
  addedCpuMicrosPerRequest: z.number().nullable().transform((v) => v ?? Number.NaN),
});
const resultSchema = z.object({
  mode: z.object({ database: z.string(), store: z.string() }),
  valid: z.boolean(),
  scenarios: z.array(scenarioSchema),
});
type Scenario = z.infer<typeof scenarioSchema>;

function runOnce(index: number): Promise<void> {
  return new Promise((resolve, reject) => {
    console.log(`bench:runs: run ${index} of ${runs}…`);
    const child = fork(fileURLToPath(new URL('./run.ts', import.meta.url)), [], { env: { ...process.env, BENCH_ONLY: 'tenancy' }, stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`run ${index} exited with ${code}`))));
  });
}

const interval = (i: RatioInterval) => `${fixed(i.estimate, 3)} [${fixed(i.low, 3)}, ${fixed(i.high, 3)}]`;

async function main() {
  // An earlier invocation's run files would read as this one's.
  mkdirSync(RESULTS('.'), { recursive: true });
  for (const name of readdirSync(RESULTS('.'))) if (/^run-\d+\.json$/.test(name)) rmSync(RESULTS(name));
  const results: Array<z.infer<typeof resultSchema>> = [];
  for (let i = 1; i <= runs; i++) {
    await runOnce(i);
    copyFileSync(RESULTS('latest.json'), RESULTS(`run-${i}.json`));
    results.push(resultSchema.parse(JSON.parse(readFileSync(RESULTS(`run-${i}.json`), 'utf8'))));
  }

  const modes = new Set(results.map((r) => `${r.mode.database} + ${r.mode.store} store`));
  const keyOf = (s: Pick<Scenario, 'query' | 'profile' | 'connections'>) => `${s.query}, ${s.connections} conn`;
  const keys = [...new Set(results.flatMap((r) => r.scenarios.map(keyOf)))];
  const of = (key: string) => results.map((r) => r.scenarios.find((s) => keyOf(s) === key)!);

  console.log('');
  console.log(`Tenancy overhead over ${runs} runs, each a fresh process — ${[...modes].join(', ')}`);
  console.log('');
  const summary: Record<string, unknown> = {};
  for (const key of keys) {
    const scenarios = of(key);
    const saturated = scenarios[0]!.profile === 'throughput';
    const perRun = scenarios.map((s) =>
      saturated ? `${fixed(s.throughputRatio, 3)} (${signed(s.addedCpuMicrosPerRequest, 0)} µs, Δp99 ${signed(s.p99DeltaMs, 2)} ms)` : `Δp99 ${signed(s.p99DeltaMs, 2)} ms [${signed(s.p99DeltaInterval.low, 2)}, ${signed(s.p99DeltaInterval.high, 2)}]`,
    );
    const ratio = meanInterval(scenarios.map((s) => s.throughputRatio));
    const runsMet = scenarios.filter((s) =>
      saturated ? judgeAtLeast(s.throughputRatioInterval, MIN_THROUGHPUT_RATIO) === 'met' : judgeBelow(s.p99DeltaInterval, MAX_ADDED_P99_MS) === 'met',
    ).length;
    const p99 = meanInterval(scenarios.map((s) => s.p99DeltaMs));
    const worstP99 = Math.max(...scenarios.map((s) => s.p99DeltaMs));
    console.log(`${key.padEnd(20)} per run: ${perRun.join('; ')}`);
    if (saturated) {
      console.log(
        `${''.padEnd(20)} throughput ratio over runs ${interval(ratio)}: ${judgeAtLeast(ratio, MIN_THROUGHPUT_RATIO)} (≥ ${MIN_THROUGHPUT_RATIO}); ` +
          `each run's own interval wholly above it in ${runsMet} of ${runs}`,
      );
    } else {
      console.log(
        `${''.padEnd(20)} p99 added over runs ${signed(p99.estimate, 2)} [${signed(p99.low, 2)}, ${signed(p99.high, 2)}] ms: ${judgeBelow(p99, MAX_ADDED_P99_MS)} (< ${MAX_ADDED_P99_MS} ms); ` +
          `worst run ${signed(worstP99, 2)} ms; each run's own interval wholly below it in ${runsMet} of ${runs}`,
      );
    }
    summary[key] = { perRun: scenarios, throughputRatioOverRuns: ratio, addedP99MsOverRuns: p99, runsMetOnOwnInterval: runsMet, worstAddedP99Ms: worstP99 };
  }
  const invalid = results.filter((r) => !r.valid).length;
  if (invalid > 0) console.log(`INVALID: ${invalid} run(s) had failed requests; see bench/results/run-*.json`);
  writeFileSync(RESULTS('over-runs.json'), `${JSON.stringify({ date: new Date().toISOString(), runs, modes: [...modes], invalid, scenarios: summary }, null, 2)}\n`);
  console.log(`\nresults: ${RESULTS('over-runs.json')}`);
}

await main();
