// The load generator, run as a child process of bench/run.ts so that the client work does not share
// an event loop with the gateways and subgraphs it measures. It waits for requests on the IPC channel:
// a LoadRequest runs autocannon (closed loop) and answers with the raw per-response latencies
// (autocannon's own histogram has a 1 ms floor, too coarse for a sub-millisecond budget); a
// PacedRequest runs the open-loop fixed-rate client of bench/paced.ts (noisy-neighbour scenario).
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

export interface LoadFailure {
  type: 'error';
  id: number;
  message: string;
}

export type WorkerMessage = LoadResult | PacedResult | LoadFailure;
export type ParentMessage = LoadRequest | PacedRequest | { type: 'stop' };

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
  const running: Promise<WorkerMessage> = message.type === 'run' ? run(message) : paced(message);
  running.then(send, (error: unknown) =>
    send({ type: 'error', id: message.id, message: error instanceof Error ? error.message : String(error) }),
  );
});
