import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics of one service. Label values that clients control (tenant, operation name) are
 * bounded: the first `maxTenantLabels` tenants and `maxOperationLabels` operation names seen keep their
 * own label; every later one is counted under "other". A process therefore never holds more than
 * (max + 1) series per label, whatever clients send, and the biggest tenants (who arrive first and
 * most often) keep their own series in practice.
 */
export interface MetricsOptions {
  /** @default 50 */
  maxTenantLabels?: number;
  /** @default 200 */
  maxOperationLabels?: number;
  /** Node process metrics (heap, event loop lag). @default true */
  processMetrics?: boolean;
}

export const OTHER_LABEL = 'other';

export class BoundedLabel {
  private readonly seen = new Set<string>();
  constructor(private readonly max: number) {}
  of(value: string | undefined | null): string {
    if (!value) return 'none';
    if (this.seen.has(value)) return value;
    if (this.seen.size < this.max) {
      this.seen.add(value);
      return value;
    }
    return OTHER_LABEL;
  }
}

const DURATION_METRIC = 'graphql_request_duration_seconds';
const OPERATION_NAME = /^[_A-Za-z][_0-9A-Za-z]{0,99}$/;

export function createMetrics(service: string, options: MetricsOptions = {}) {
  const { maxTenantLabels = 50, maxOperationLabels = 200, processMetrics = true } = options;
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  if (processMetrics) collectDefaultMetrics({ register: registry });
  const labelNames = ['operation', 'status', 'tenant'] as const;
  // Every request is observed once, in the histogram; the counter is its _count series, copied at
  // scrape time, so a request costs one prom-client call (label hashing and all) instead of two.
  const requests: Counter<(typeof labelNames)[number]> = new Counter({
    name: 'graphql_requests_total',
    help: 'GraphQL requests by operation name, outcome and tenant (bounded labels)',
    labelNames,
    registers: [registry],
    async collect() {
      const counts = (await duration.get()).values.filter((v) => v.metricName === `${DURATION_METRIC}_count`);
      // Synchronous from here: two scrapes at once cannot interleave a reset with the other's counts.
      requests.reset();
      for (const { labels, value } of counts) requests.inc({ operation: String(labels.operation), status: String(labels.status), tenant: String(labels.tenant) }, value);
    },
  });
  const duration = new Histogram({
    name: DURATION_METRIC,
    help: 'GraphQL request latency by operation name, outcome and tenant (bounded labels)',
    labelNames,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const tenants = new BoundedLabel(maxTenantLabels);
  const operations = new BoundedLabel(maxOperationLabels);
  return {
    registry,
    /** Records one finished request. `status` is "ok" or the first error code. */
    observe(operation: string | null | undefined, status: string, tenant: string | undefined, seconds: number) {
      const labels = {
        operation: operations.of(operation && OPERATION_NAME.test(operation) ? operation : operation ? 'invalid' : 'anonymous'),
        status,
        tenant: tenants.of(tenant),
      };
      duration.observe(labels, seconds);
    },
    tenantLabel: (tenant: string) => tenants.of(tenant),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
