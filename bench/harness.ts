// What the bench's scenarios share: the stack's configuration, the load worker child process, and the
// machine-wide CPU counters used to tell the bench's own load from other processes'.
import { fork, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, type Config } from '../tenancy/config';
import type { ScratchData } from './scratch';
import type { LoadRequest, LoadResult, PacedRequest, PacedResult, ParentMessage, WorkerMessage } from './load-worker';

/** The configuration every bench stack runs with: all services in this process, on free loopback ports. */
export function benchConfig(keysDir: string, scratch: ScratchData, usageConsumer: boolean): Config {
  return loadConfig({
    ...process.env,
    NODE_ENV: 'development',
    AUTH_DEV_ISSUER: 'true',
    SERVICES: 'gateway,pets,tenants,usage',
    HOST: '127.0.0.1',
    GATEWAY_PORT: '0',
    PETS_PORT: '0',
    TENANTS_PORT: '0',
    USAGE_PORT: '0',
    LOG_LEVEL: 'silent',
    DEV_KEYS_FILE: join(keysDir, 'dev-keys.json'),
    USAGE_CONSUMER: String(usageConsumer),
    ...scratch.env,
  });
}

export interface Mode {
  database: 'postgres' | 'pglite';
  store: 'redis' | 'memory';
  usageAggregation: boolean;
}

export function modeOf(config: Config): Mode {
  return {
    database: config.DATABASE_URL ? 'postgres' : 'pglite',
    store: config.REDIS_URL ? 'redis' : 'memory',
    usageAggregation: config.USAGE_CONSUMER,
  };
}

type Pending = { resolve: (r: WorkerMessage) => void; reject: (e: Error) => void };

/** One load worker child process (bench/load-worker.ts); it runs one load at a time. */
export class LoadGenerator {
  private readonly child: ChildProcess;
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();

  constructor() {
    // execArgv is inherited, so the child runs under the same tsx loader as this process.
    this.child = fork(fileURLToPath(new URL('./load-worker.ts', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (message: WorkerMessage) => {
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.type === 'error') waiter?.reject(new Error(`load worker: ${message.message}`));
      else waiter?.resolve(message);
    });
    this.child.on('exit', (code) => {
      for (const waiter of this.pending.values()) waiter.reject(new Error(`load worker exited with ${code}`));
      this.pending.clear();
    });
  }

  private send(request: ParentMessage & { id: number }): Promise<WorkerMessage> {
    return new Promise((resolve, reject) => {
      this.pending.set(request.id, { resolve, reject });
      this.child.send(request);
    });
  }

  /** Closed-loop autocannon load: `connections` requests in flight at all times. */
  async run(request: Omit<LoadRequest, 'type' | 'id'>): Promise<LoadResult> {
    const result = await this.send({ type: 'run', id: this.nextId++, ...request });
    if (result.type !== 'result') throw new Error(`load worker answered a run with ${result.type}`);
    return result;
  }

  /** Open-loop load at a fixed request rate, every response's status and latency recorded. */
  async paced(request: Omit<PacedRequest, 'type' | 'id'>): Promise<PacedResult> {
    const result = await this.send({ type: 'paced', id: this.nextId++, ...request });
    if (result.type !== 'paced-result') throw new Error(`load worker answered a paced run with ${result.type}`);
    return result;
  }

  close(): Promise<void> {
    if (this.child.exitCode !== null || !this.child.connected) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.send({ type: 'stop' } satisfies ParentMessage);
    });
  }
}

/** Busy and total CPU time of the whole machine so far, in µs (all cores). */
export function machineCpuMicros(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const { times } of cpus()) {
    const sum = times.user + times.nice + times.sys + times.irq + times.idle;
    total += sum;
    busy += sum - times.idle;
  }
  return { busy: busy * 1000, total: total * 1000 };
}

/**
 * Share of the machine's CPU that other processes used between two readings: busy time not spent by
 * this process (`selfMicros`) or the bench's load workers (`workerMicros`). With DATABASE_URL /
 * REDIS_URL, the PostgreSQL and Redis servers count as "other" too.
 */
export function othersCpuShare(before: { busy: number; total: number }, after: { busy: number; total: number }, selfMicros: number, workerMicros: number): number {
  return Math.max(0, after.busy - before.busy - selfMicros - workerMicros) / (after.total - before.total);
}

export function machineInfo() {
  return { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${process.platform}-${process.arch}` };
}
