import pino, { type DestinationStream, type Logger } from 'pino';
import { currentRequestScope } from './context';

/**
 * Structured JSON logs. Every line written inside a request carries its request id and tenant,
 * taken from AsyncLocalStorage, so no call site can forget them.
 */
export function createLogger(service: string, level: string = process.env.LOG_LEVEL ?? 'info', destination?: DestinationStream): Logger {
  return pino(
    {
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin() {
      const scope = currentRequestScope();
      return scope ? { requestId: scope.requestId, tenant: scope.tenant } : {};
    },
    redact: { paths: ['authorization', 'headers.authorization', 'token', '*.token'], censor: '[redacted]' },
    },
    destination,
  );
}
export type { Logger };
