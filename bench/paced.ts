// An open-loop HTTP load at a fixed request rate, for the noisy-neighbour scenario (run in the load
// worker). autocannon is closed-loop (a connection sends its next request when the previous answer
// arrives), so a slow answer delays the next request and hides the delay ("coordinated omission"); and
// it does not split latencies by status. Here request i is sent at start + i / rate whatever happens
// to the earlier ones, over a keep-alive pool of `connections` sockets, and each response is recorded
// with its status and latency. A request that waits for a free socket counts that wait in its latency.
// The few requests that open a socket (at most `connections` per run) are counted but left out of the
// latencies: their TCP handshake is the client's set-up, not the server's answer.
import { Agent, request as httpRequest } from 'node:http';

export interface PacedLoad {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** Requests per second, sent on schedule whether or not earlier ones have been answered. */
  ratePerSecond: number;
  durationSeconds: number;
  /** Keep-alive sockets; requests beyond them queue in the client (and that wait is counted). */
  connections: number;
  /**
   * Seconds from the start: only requests scheduled in [from, to) have their latencies recorded (all
   * are counted). Default: all.
   */
  latencyWindow?: [number, number];
}

export interface PacedOutcome {
  /** Requests sent (rate × duration). */
  sent: number;
  /** Responses per HTTP status; socket errors and timeouts under "error". */
  statuses: Record<string, number>;
  /** 2xx responses without GraphQL `errors`. */
  ok: number;
  /** Everything that is neither ok nor a 429: other statuses, 2xx with errors, socket errors, timeouts. */
  failed: number;
  /** Milliseconds from sending to the last byte, per ok response in the latency window, in completion order. */
  okLatenciesMs: number[];
  /** The same for each 429 response. */
  rejectedLatenciesMs: number[];
  /** 429s by `extensions.reason` (BUCKET, CONCURRENCY) or code (QUOTA_EXCEEDED). */
  rejectReasons: Record<string, number>;
  /** 429s that came without a Retry-After header. */
  rejectedWithoutRetryAfter: number;
  /** How late requests left against their schedule (the client's own timer jitter), ms. */
  sendLagP99Ms: number;
  sendLagMaxMs: number;
  /** Requests that opened a new socket, answered but not in the latencies. */
  connectionOpeners: number;
  /** Seconds from the first scheduled send to the last response. */
  elapsedSeconds: number;
}

const TIMEOUT_MS = 10_000;

function reasonOf(body: string): string {
  const reason = /"reason"\s*:\s*"([A-Z_]+)"/.exec(body)?.[1];
  if (reason) return reason;
  return /"code"\s*:\s*"([A-Z_]+)"/.exec(body)?.[1] ?? 'unknown';
}

export function runPaced(load: PacedLoad): Promise<PacedOutcome> {
  const target = new URL(load.url);
  const body = Buffer.from(load.body);
  const headers = { ...load.headers, 'content-length': String(body.length) };
  const agent = new Agent({ keepAlive: true, maxSockets: load.connections });
  const total = Math.round(load.ratePerSecond * load.durationSeconds);
  const intervalMs = 1000 / load.ratePerSecond;
  const [from, to] = load.latencyWindow ?? [0, Number.POSITIVE_INFINITY];
  const inWindow = (i: number) => i * intervalMs >= from * 1000 && i * intervalMs < to * 1000;

  const outcome: PacedOutcome = {
    sent: 0,
    statuses: {},
    ok: 0,
    failed: 0,
    okLatenciesMs: [],
    rejectedLatenciesMs: [],
    rejectReasons: {},
    rejectedWithoutRetryAfter: 0,
    sendLagP99Ms: 0,
    sendLagMaxMs: 0,
    connectionOpeners: 0,
    elapsedSeconds: 0,
  };
  const lags = new Float64Array(total);
  const count = (key: string) => (outcome.statuses[key] = (outcome.statuses[key] ?? 0) + 1);

  return new Promise((resolve) => {
    let done = 0;
    let next = 0;
    const start = performance.now();

    const finish = () => {
      done += 1;
      if (done < total) return;
      outcome.elapsedSeconds = (performance.now() - start) / 1000;
      const sorted = lags.sort();
      outcome.sendLagP99Ms = sorted[Math.max(0, Math.ceil(0.99 * sorted.length) - 1)] ?? 0;
      outcome.sendLagMaxMs = sorted[sorted.length - 1] ?? 0;
      agent.destroy();
      resolve(outcome);
    };

    const send = (i: number) => {
      const sentAt = performance.now();
      lags[i] = sentAt - (start + i * intervalMs);
      outcome.sent += 1;
      let settled = false;
      const fail = (key: string) => {
        if (settled) return;
        settled = true;
        count(key);
        outcome.failed += 1;
        finish();
      };
      const req = httpRequest(
        { agent, method: 'POST', host: target.hostname, port: target.port, path: `${target.pathname}${target.search}`, headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', () => fail('error'));
          res.on('end', () => {
            if (settled) return;
            settled = true;
            const latency = performance.now() - sentAt;
            const status = res.statusCode ?? 0;
            const text = Buffer.concat(chunks).toString('utf8');
            const timed = req.reusedSocket && inWindow(i);
            if (!req.reusedSocket) outcome.connectionOpeners += 1;
            count(String(status));
            if (status >= 200 && status < 300 && !text.includes('"errors"')) {
              outcome.ok += 1;
              if (timed) outcome.okLatenciesMs.push(latency);
            } else if (status === 429) {
              if (timed) outcome.rejectedLatenciesMs.push(latency);
              const reason = reasonOf(text);
              outcome.rejectReasons[reason] = (outcome.rejectReasons[reason] ?? 0) + 1;
              if (!res.headers['retry-after']) outcome.rejectedWithoutRetryAfter += 1;
            } else {
              outcome.failed += 1;
            }
            finish();
          });
        },
      );
      req.setTimeout(TIMEOUT_MS, () => {
        req.destroy();
        fail('error');
      });
      req.on('error', () => fail('error'));
      req.end(body);
    };

    // Every request whose time has come leaves now (several at once if the timer woke late), then
    // the timer is set for the next one.
    const tick = () => {
      const now = performance.now();
      while (next < total && start + next * intervalMs <= now) send(next++);
      if (next < total) setTimeout(tick, Math.max(0, start + next * intervalMs - performance.now()));
    };
    if (total === 0) {
      agent.destroy();
      resolve(outcome);
      return;
    }
    tick();
  });
}
