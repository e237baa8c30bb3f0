// The load generator, run as a child process of bench/run.ts so that the client work does not share
// an event loop with the gateways and subgraphs it measures. It waits for requests on the IPC channel:
// a LoadRequest runs autocannon (closed loop) and answers with the raw per-response latencies
// (autocannon's own histogram has a 1 ms floor, too coarse for a sub-millisecond budget); a
// PacedRequest runs the open-loop fixed-rate client of bench/paced.ts (noisy-neighbour scenario); an
// AlternateRequest sends one request at a time, alternately to each of two targets (interleaved).
import { Agent, request as httpRequest } from 'node:http';
import autocannon from 'autocannon';
import { runPaced, type PacedLoad, type PacedOutcome } from './paced';

export interface LoadRequest {
  type: 'run';
  id: number;
  url: string;
  headers: Record<string, string>;
  body: string;
  connections: number;
  durationSeconds: number;
  /** Warm-up runs send no latencies back. */
  record: boolean;
}

export interface LoadResult {
  type: 'result';
  id: number;
  /** 2xx responses whose body had no `errors`. */
  ok: number;
  /** Non-2xx responses, bodies carrying GraphQL errors, socket errors and timeouts. */
  failed: number;
  /** Responses per HTTP status (complete ones only: answers still in flight when the run ends are not counted). */
  statuses: Record<string, number>;
  elapsedSeconds: number;
  /** Milliseconds, one per successful response; empty unless `record`. */
  latenciesMs: number[];
  /** CPU this worker spent on the run, in µs (to tell the bench's own load from other processes'). */
  workerCpuMicros: number;
}

export interface PacedRequest extends PacedLoad {
  type: 'paced';
  id: number;
}

export interface PacedResult extends PacedOutcome {
  type: 'paced-result';
  id: number;
  /** CPU this worker spent on the run, in µs. */
  workerCpuMicros: number;
}

/**
 * One request in flight at a time, alternately to each target (A B, B A, ...: neither always goes
 * first), on one keep-alive connection per target. Both sides then meet the same machine at the same
 * moments, so a burst of other processes' work or a slow spell of the VM falls on both alike: what a
 * request pays for one side's layer, without queueing, measured request against request.
 */
export interface AlternateRequest {
  type: 'alternate';
  id: number;
  urls: [string, string];
  headers: Record<string, string>;
  body: string;
  durationSeconds: number;
  record: boolean;
}

export interface AlternateResult {
  type: 'alternate-result';
  id: number;
  /** Per target, in the order of `urls`; `elapsedSeconds` is the time spent waiting on that target's answers. */
  sides: [Omit<LoadResult, 'type' | 'id' | 'workerCpuMicros'>, Omit<LoadResult, 'type' | 'id' | 'workerCpuMicros'>];
  workerCpuMicros: number;
}

export interface LoadFailure {
  type: 'error';
  id: number;
  message: string;
}

export type WorkerMessage = LoadResult | PacedResult | AlternateResult | LoadFailure;
export type ParentMessage = LoadRequest | PacedRequest | AlternateRequest | { type: 'stop' };

function run(request: LoadRequest): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const latenciesMs: number[] = [];
    const statuses: Record<string, number> = {};
    let ok = 0;
    let failedResponses = 0;
    // autocannon emits 'response' and then, synchronously for the same response, calls verifyBody:
    // the status and time stashed by the first are those of the body the second sees.
    let status = 0;
    let responseTimeMs = 0;
    const started = performance.now();
    const cpu = process.cpuUsage();
    const instance = autocannon(
      {
        url: request.url,
        method: 'POST',
        headers: request.headers,
        body: request.body,
        connections: request.connections,
        duration: request.durationSeconds,
        timeout: 10,
        // Only a complete answer counts: a fast error path (401, 429, GraphQL errors) must not pass for throughput.
        verifyBody: (body) => {
          const good = status >= 200 && status < 300 && !body.includes('"errors"');
          if (good) {
            ok += 1;
            if (request.record) latenciesMs.push(responseTimeMs);
          } else {
            failedResponses += 1;
          }
          return good;
        },
      },
      (error, result) => {
        if (error) return reject(error);
        const used = process.cpuUsage(cpu);
        resolve({
          type: 'result',
          id: request.id,
          ok,
          failed: failedResponses + result.errors, // autocannon counts timeouts among errors
          statuses,
          elapsedSeconds: (performance.now() - started) / 1000,
          latenciesMs,
          workerCpuMicros: used.user + used.system,
        });
      },
    );
    instance.on('response', (_client, statusCode, _bytes, time) => {
      status = statusCode;
      responseTimeMs = time;
      statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
    });
  });
}

/** One POST on a keep-alive agent: status, body and the time from sending to the body's end, in ms. */
function post(url: URL, agent: Agent, headers: Record<string, string>, body: string): Promise<{ status: number; body: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = httpRequest(url, { method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) }, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - started }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

async function alternate(request: AlternateRequest): Promise<AlternateResult> {
  const cpu = process.cpuUsage();
  const urls = request.urls.map((u) => new URL(u));
  const agents = urls.map(() => new Agent({ keepAlive: true, maxSockets: 1 }));
  const sides = urls.map(() => ({ ok: 0, failed: 0, statuses: {} as Record<string, number>, elapsedSeconds: 0, latenciesMs: [] as number[] }));
  const ends = performance.now() + request.durationSeconds * 1000;
  try {
    for (let pair = 0; performance.now() < ends; pair++) {
      const order = pair % 2 === 0 ? [0, 1] : [1, 0];
      for (const i of order) {
        const side = sides[i]!;
        try {
          const answer = await post(urls[i]!, agents[i]!, request.headers, request.body);
          side.statuses[answer.status] = (side.statuses[answer.status] ?? 0) + 1;
          side.elapsedSeconds += answer.ms / 1000;
          // Only a complete answer counts, as in `run`.
          if (answer.status >= 200 && answer.status < 300 && !answer.body.includes('"errors"')) {
            side.ok += 1;
            if (request.record) side.latenciesMs.push(answer.ms);
          } else side.failed += 1;
        } catch {
          side.failed += 1;
        }
      }
    }
  } finally {
    for (const agent of agents) agent.destroy();
  }
  const used = process.cpuUsage(cpu);
  return { type: 'alternate-result', id: request.id, sides: [sides[0]!, sides[1]!], workerCpuMicros: used.user + used.system };
}

async function paced(request: PacedRequest): Promise<PacedResult> {
  const { type: _type, id, ...load } = request;
  const cpu = process.cpuUsage();
  const outcome = await runPaced(load);
  const used = process.cpuUsage(cpu);
  return { type: 'paced-result', id, ...outcome, workerCpuMicros: used.user + used.system };
}

const send = (message: WorkerMessage) => process.send?.(message);

process.on('message', (message: ParentMessage) => {
  if (message.type === 'stop') {
    process.disconnect();
    return;
  }
  const running: Promise<WorkerMessage> = message.type === 'run' ? run(message) : message.type === 'alternate' ? alternate(message) : paced(message);
  running.then(send, (error: unknown) =>
    send({ type: 'error', id: message.id, message: error instanceof Error ? error.message : String(error) }),
  );
});
