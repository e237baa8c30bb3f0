// The load generator, run as a child process of bench/run.ts so that autocannon's client work does
// not share an event loop with the gateways and subgraphs it measures. It waits for LoadRequests on
// the IPC channel, runs autocannon for each, and answers with the raw per-response latencies
// (autocannon's own histogram has a 1 ms floor, too coarse for a sub-millisecond budget).
import autocannon from 'autocannon';

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
  elapsedSeconds: number;
  /** Milliseconds, one per successful response; empty unless `record`. */
  latenciesMs: number[];
  /** CPU this worker spent on the run, in µs (to tell the bench's own load from other processes'). */
  workerCpuMicros: number;
}

export interface LoadFailure {
  type: 'error';
  id: number;
  message: string;
}

export type WorkerMessage = LoadResult | LoadFailure;
export type ParentMessage = LoadRequest | { type: 'stop' };

function run(request: LoadRequest): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const latenciesMs: number[] = [];
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
          elapsedSeconds: (performance.now() - started) / 1000,
          latenciesMs,
          workerCpuMicros: used.user + used.system,
        });
      },
    );
    instance.on('response', (_client, statusCode, _bytes, time) => {
      status = statusCode;
      responseTimeMs = time;
    });
  });
}

const send = (message: WorkerMessage) => process.send?.(message);

process.on('message', (message: ParentMessage) => {
  if (message.type === 'stop') {
    process.disconnect();
    return;
  }
  run(message).then(send, (error: unknown) =>
    send({ type: 'error', id: message.id, message: error instanceof Error ? error.message : String(error) }),
  );
});
