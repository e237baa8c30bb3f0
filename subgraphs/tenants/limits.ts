// Quota limits as data: the names of the limits, and the checks a change must pass before it is
// written (plans' own limits, and tenant overrides within the plan's allowed ranges).
import type { Plan, PlanLimits } from '../../tenancy/context';
import { badInput } from '../../tenancy/errors';

export type LimitField = keyof PlanLimits;

/** Every limit, by its GraphQL field and its column in plans / plan_versions / tenant_limit_overrides. */
export const LIMITS: ReadonlyArray<{ field: LimitField; column: string; integer: boolean }> = [
  { field: 'monthlyBudget', column: 'monthly_budget', integer: true },
  { field: 'bucketCapacity', column: 'bucket_capacity', integer: true },
  { field: 'restoreRate', column: 'restore_rate', integer: false },
  { field: 'maxOperationCost', column: 'max_operation_cost', integer: true },
  { field: 'maxConcurrency', column: 'max_concurrency', integer: true },
  { field: 'softLimitPercent', column: 'soft_limit_percent', integer: true },
  { field: 'gracePercent', column: 'grace_percent', integer: true },
];

/** A tenant's overrides: null where the plan's value applies. */
export type Overrides = { [K in LimitField]: number | null };
/** Inclusive bounds of each override on a plan; null: that limit cannot be overridden there. */
export type LimitRanges = { [K in LimitField]: { min: number; max: number } | null };
/** What a change names: a value, null (clear / keep), or nothing (left out). */
export type LimitsInput = { [K in LimitField]?: number | null };

export const NO_OVERRIDES: Overrides = Object.freeze(Object.fromEntries(LIMITS.map(({ field }) => [field, null])) as Overrides);

export const sameOverrides = (a: Overrides, b: Overrides): boolean => LIMITS.every(({ field }) => a[field] === b[field]);

/** Overrides as stored in history (jsonb): every limit present, unknown keys dropped. */
export function overridesOf(value: Partial<Record<string, unknown>> | null | undefined): Overrides {
  return Object.fromEntries(
    LIMITS.map(({ field }) => {
      const given = value?.[field];
      return [field, typeof given === 'number' ? given : null];
    }),
  ) as Overrides;
}

export const effectiveLimits = (plan: PlanLimits, overrides: Overrides): PlanLimits =>
  Object.fromEntries(LIMITS.map(({ field }) => [field, overrides[field] ?? plan[field]])) as unknown as PlanLimits;

/** Absolute bounds of each limit, whatever the plan (the columns' CHECK constraints say the same). */
const ABSOLUTE: Record<LimitField, { min: number; max: number }> = {
  monthlyBudget: { min: 1, max: 2 ** 31 - 1 },
  bucketCapacity: { min: 1, max: 2 ** 31 - 1 },
  restoreRate: { min: 0.001, max: 1e9 },
  maxOperationCost: { min: 1, max: 2 ** 31 - 1 },
  maxConcurrency: { min: 1, max: 2 ** 31 - 1 },
  softLimitPercent: { min: 1, max: 100 },
  gracePercent: { min: 0, max: 100 },
};

function checkValue(field: LimitField, value: number, bounds: { min: number; max: number }, where: string, argument: string = field): void {
  if (!Number.isFinite(value) || value < bounds.min || value > bounds.max) {
    throw badInput(`${field} must be between ${bounds.min} and ${bounds.max}${where}`, { argument });
  }
}

/**
 * An operation that costs more than the bucket holds could never be admitted: it would be rate
 * limited forever instead of refused as too expensive. So the per-operation maximum may not exceed
 * the bucket, and the error names whichever of the two the change set.
 */
function checkConsistent(limits: PlanLimits, input: LimitsInput, argument?: string): void {
  if (limits.maxOperationCost > limits.bucketCapacity) {
    const field = argument ?? (input.maxOperationCost !== undefined || input.bucketCapacity === undefined ? 'maxOperationCost' : 'bucketCapacity');
    throw badInput(`maxOperationCost (${limits.maxOperationCost}) must not exceed bucketCapacity (${limits.bucketCapacity})`, { argument: field });
  }
}

/**
 * The overrides after a setTenantLimits: a value sets the override (it must lie in the plan's range),
 * null clears it, a field left out keeps it.
 */
export function nextOverrides(current: Overrides, input: LimitsInput, plan: Plan, planLimits: PlanLimits, ranges: LimitRanges): Overrides {
  const next: Overrides = { ...current };
  for (const { field } of LIMITS) {
    const value = input[field];
    if (value === undefined) continue;
    if (value !== null) checkOverride(field, value, plan, ranges);
    next[field] = value;
  }
  checkConsistent(effectiveLimits(planLimits, next), input);
  return next;
}

/**
 * Overrides restored by a revert must still fit the plan's ranges today (the plan or its ranges may
 * have changed since); errors name `argument` (the revert's version), the message names the limit.
 */
export function checkOverrides(overrides: Overrides, plan: Plan, planLimits: PlanLimits, ranges: LimitRanges, argument: string): void {
  for (const { field } of LIMITS) {
    const value = overrides[field];
    if (value !== null) checkOverride(field, value, plan, ranges, argument);
  }
  checkConsistent(effectiveLimits(planLimits, overrides), {}, argument);
}

function checkOverride(field: LimitField, value: number, plan: Plan, ranges: LimitRanges, argument: string = field): void {
  const range = ranges[field];
  if (!range) throw badInput(`${field} cannot be overridden on the ${plan} plan`, { argument });
  checkValue(field, value, ABSOLUTE[field], '', argument);
  checkValue(field, value, range, ` on the ${plan} plan`, argument);
}

/** A plan's limits after setPlanLimits: a value replaces the current one, null or left out keeps it. */
export function nextPlanLimits(current: PlanLimits, input: LimitsInput): PlanLimits {
  const next: PlanLimits = { ...current };
  for (const { field } of LIMITS) {
    const value = input[field];
    if (value === undefined || value === null) continue;
    checkValue(field, value, ABSOLUTE[field], '');
    next[field] = value;
  }
  checkConsistent(next, input);
  return next;
}

export const samePlanLimits = (a: PlanLimits, b: PlanLimits): boolean => LIMITS.every(({ field }) => a[field] === b[field]);
