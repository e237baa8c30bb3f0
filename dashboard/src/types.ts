// Private to the dashboard: the shape of the data the page subscribes to (schema/usage.graphql).

export interface OperationUsage {
  operationName: string | null;
  cost: number;
  latencyMs: number;
  outcome: string;
  at: string;
}

export interface UsageMinute {
  minute: string;
  cost: number;
  operations: number;
}

export interface QuotaStatus {
  plan: string;
  limit: number;
  used: number;
  remaining: number;
  restoreRate: number;
  burnRatePerMinute: number;
  resetsAt: string;
  projectedExhaustionAt: string | null;
  recentOperations: OperationUsage[];
  usageByMinute: UsageMinute[];
}
