// The part of autocannon 8's programmatic API the load worker uses (the package ships no types and
// @types/autocannon is not a dependency of this repo).
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  interface AutocannonOptions {
    url: string;
    method?: 'GET' | 'POST';
    headers?: Record<string, string>;
    body?: string;
    /** Concurrent connections, each sending its next request when the previous response arrives. */
    connections?: number;
    /** Seconds. */
    duration?: number;
    /** Seconds before a request counts as timed out. */
    timeout?: number;
    /** Return false to count the response as a mismatch. */
    verifyBody?: (body: string) => boolean;
  }

  interface AutocannonResult {
    /** Socket errors and timeouts. */
    errors: number;
    timeouts: number;
    /** Responses verifyBody refused. */
    mismatches: number;
    non2xx: number;
  }

  interface AutocannonInstance extends EventEmitter {
    /** Per response: (client, statusCode, bytes, responseTimeMs) with sub-millisecond resolution. */
    on(event: 'response', listener: (client: unknown, statusCode: number, bytes: number, responseTimeMs: number) => void): this;
    on(event: string, listener: (...args: unknown[]) => void): this;
    stop(): void;
  }

  function autocannon(options: AutocannonOptions, callback: (error: Error | null, result: AutocannonResult) => void): AutocannonInstance;
  export default autocannon;
}
