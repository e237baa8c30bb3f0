// What the bench's scenarios share: the stack's configuration, the load worker child process, and the
// machine-wide CPU counters used to tell the bench's own load from other processes'.
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, type Config } from '../tenancy/config';
import type { ScratchData } from './scratch';
import type { SubgraphsParentMessage, SubgraphsWorkerMessage } from './subgraphs-worker';
import type { AlternateRequest, AlternateResult, LoadRequest, LoadResult, PacedRequest, PacedResult, ParentMessage, WorkerMessage } from './load-worker';

/** The environment every bench stack runs with: all services in this process, on free loopback ports. */
export function benchEnv(keysDir: string, scratch: ScratchData, usageConsumer: boolean): Record<string, string | undefined> {
  return {
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
  };
}

export function benchConfig(keysDir: string, scratch: ScratchData, usageConsumer: boolean): Config {
  return loadConfig(benchEnv(keysDir, scratch, usageConsumer));
}

/**
 * The three subgraphs in a child process (bench/subgraphs-worker.ts), for a gateway that runs in this
 * process alone. Needs DATABASE_URL and REDIS_URL in `env`: processes share no embedded database or
 * in-process store.
 */
export class SubgraphsProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly urls: { pets: string; tenants: string; usage: string },
  ) {}

  private nextId = 0;

  static async start(env: Record<string, string | undefined>, storePrefix: string): Promise<SubgraphsProcess> {
    if (!env.DATABASE_URL || !env.REDIS_URL) throw new Error('the subgraphs can run in a process of their own only with DATABASE_URL and REDIS_URL');
    const child = fork(fileURLToPath(new URL('./subgraphs-worker.ts', import.meta.url)), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...env, SERVICES: 'pets,tenants,usage', BENCH_STORE_PREFIX: storePrefix },
    });
    const urls = await new Promise<Record<string, string>>((resolve, reject) => {
      child.once('message', (message: SubgraphsWorkerMessage) => {
        if (message.type === 'ready') resolve(message.urls);
        else reject(new Error(`subgraphs process: ${message.type === 'error' ? message.message : message.type}`));
      });
      child.once('exit', (code) => reject(new Error(`subgraphs process exited with ${code} before it was ready`)));
    });
    const { pets, tenants, usage } = urls;
    if (!pets || !tenants || !usage) throw new Error(`subgraphs process started without all three subgraphs: ${JSON.stringify(urls)}`);
    return new SubgraphsProcess(child, { pets, tenants, usage });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The child's CPU time (µs) and event-loop active / idle time (ms) so far. */
  usage(): Promise<{ micros: number; eluActiveMs: number; eluIdleMs: number }> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const onMessage = (message: SubgraphsWorkerMessage) => {
        if (message.type !== 'cpu' || message.id !== id) return;
        this.child.off('message', onMessage);
        resolve(message);
      };
      this.child.on('message', onMessage);
      if (!this.child.connected) reject(new Error('subgraphs process is gone'));
      else this.child.send({ type: 'cpu', id } satisfies SubgraphsParentMessage);
    });
  }

  close(): Promise<void> {
    if (this.child.exitCode !== null || !this.child.connected) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.send({ type: 'stop' } satisfies SubgraphsParentMessage);
    });
  }
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

  get pid(): number | undefined {
    return this.child.pid;
  }

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

  /** One request at a time, alternately to each of two targets (AlternateRequest). */
  async alternate(request: Omit<AlternateRequest, 'type' | 'id'>): Promise<AlternateResult> {
    const result = await this.send({ type: 'alternate', id: this.nextId++, ...request });
    if (result.type !== 'alternate-result') throw new Error(`load worker answered an alternate run with ${result.type}`);
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

/** Restricts a process and all its threads to the given CPUs (Linux `taskset`, e.g. "0" or "0-2"). */
export function pinToCpus(pid: number, cpuList: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpuList, String(pid)], { stdio: 'ignore' });
}
