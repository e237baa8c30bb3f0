import { AsyncLocalStorage } from 'node:async_hooks';

export const TENANT_ROLES = ['admin', 'member', 'viewer'] as const;
export type TenantRole = (typeof TENANT_ROLES)[number];
export const PLATFORM_ADMIN = 'platform-admin';
export type Role = TenantRole | typeof PLATFORM_ADMIN;
export const ROLES: readonly Role[] = [...TENANT_ROLES, PLATFORM_ADMIN];

export type Plan = 'free' | 'starter' | 'pro' | 'enterprise';
export type IsolationTier = 'shared' | 'schema' | 'database';
export type TenantStatus = 'active' | 'suspended';

/** What a tenant may spend: its plan's current version, overridden per tenant (the registry's effective limits; DESIGN.md, Quotas). */
export interface PlanLimits {
  /** Cost units per calendar month (UTC). */
  monthlyBudget: number;
  /** Token bucket size, in cost units. */
  bucketCapacity: number;
  /** Cost units restored to the bucket per second. */
  restoreRate: number;
  /** Largest cost one operation may have. */
  maxOperationCost: number;
  /** Operations of the tenant in flight at once. */
  maxConcurrency: number;
  /** Share of the monthly budget, in percent, at which the tenant is warned (monthly soft limit). */
  softLimitPercent: number;
  /** Percent above the monthly budget still admitted before the hard limit rejects (grace margin). */
  gracePercent: number;
}

/** Whether a tenant may send documents of its own, or only operations registered in the persisted-operation manifest. */
export type PersistedOperationsPolicy = 'allow' | 'require';

/** A row of the tenants registry, as the gateway caches it. */
export interface TenantRecord {
  id: string;
  slug: string;
  name: string;
  plan: Plan;
  status: TenantStatus;
  isolation: IsolationTier;
  limits: PlanLimits;
  /** The tenant's override, else its plan's (migration 0005). Absent (a record cached by an older gateway) means 'allow'. */
  persistedOperations?: PersistedOperationsPolicy;
}

/**
 * What a subgraph knows about the caller, and only from a verified gateway-signed token
 * (DESIGN.md invariant 1). Also what the gateway signs.
 */
export interface TenantContext {
  tenantId: string;
  tenantSlug: string;
  subject: string;
  roles: Role[];
  plan: Plan;
  isolation: IsolationTier;
  requestId: string;
  /** On a subscription's context: when its stream must end (seconds since the epoch). */
  streamUntil?: number;
}

/** A request id a client (or the gateway, to a subgraph) may choose: short, no spaces or quotes. */
export const REQUEST_ID = /^[\w.:-]{1,100}$/;

/** Per-request log fields; every log line of a request carries them (see logger.ts). */
export interface RequestScope {
  requestId: string;
  service: string;
  tenant?: string;
}

const requestScope = new AsyncLocalStorage<RequestScope>();
const tenantScope = new AsyncLocalStorage<TenantContext>();

export const runInRequestScope = <T>(scope: RequestScope, fn: () => T): T => requestScope.run(scope, fn);
export const currentRequestScope = (): RequestScope | undefined => requestScope.getStore();
/** Runs fn outside any request (timers started there must not carry one request's id forever). */
export const outsideRequestScope = <T>(fn: () => T): T => requestScope.exit(() => tenantScope.exit(fn));

/** Runs fn with the verified tenant context available to everything below it, however deep. */
export const runWithTenant = <T>(context: TenantContext, fn: () => T): T => tenantScope.run(context, fn);
export const currentTenantContext = (): TenantContext | undefined => tenantScope.getStore();

export const isPlatformAdmin = (roles: readonly string[]): boolean => roles.includes(PLATFORM_ADMIN);

/** Highest tenant role held; platform-admin counts as admin of the tenant it selected. */
export function hasRoleAtLeast(roles: readonly string[], wanted: TenantRole): boolean {
  if (isPlatformAdmin(roles)) return true;
  const rank: Record<TenantRole, number> = { viewer: 1, member: 2, admin: 3 };
  return roles.some((role) => role in rank && rank[role as TenantRole] >= rank[wanted]);
}
