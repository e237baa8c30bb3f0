// Query-cost quotas per tenant, the data side: plans as versioned data, per-tenant overrides within
// the plan's ranges with an audit history and a revert, and every gateway's admission using the
// effective limits as soon as they change.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketKey } from '../../gateway/src/admission';
import { startTestStack, type TestStack } from '../helpers/stack';

let stack: TestStack;
let operator: string;
const OPERATOR = 'operator@platform.example';

beforeAll(async () => {
  stack = await startTestStack();
  operator = await stack.token('acme-pets', { roles: ['platform-admin'], sub: OPERATOR });
});
afterAll(() => stack?.close());

// Costs 401 (pets(first: 100) priced at 100 rows): admitted on the free plan (maximum 1000).
const EXPENSIVE = `query Expensive { pets(first: 100) { edges { node { name owner { name } tenant { slug } } } } }`;
const CHEAP = `query Cheap { currentTenant { slug } }`;
const LIMITS = 'monthlyBudget bucketCapacity restoreRate maxOperationCost maxConcurrency softLimitPercent gracePercent';
const LIMIT_STATE = `{ currentTenant { slug plan limits { ${LIMITS} } limitOverrides { ${LIMITS} }
  limitHistory { version kind revertedTo changedBy changedAt before { ${LIMITS} } after { ${LIMITS} } } } }`;
const SET = `mutation($input: TenantLimitsInput!) { setTenantLimits(input: $input) { slug limits { ${LIMITS} } limitOverrides { ${LIMITS} } } }`;
const REVERT = `mutation($version: Int!) { revertTenantLimits(version: $version) { slug limitOverrides { ${LIMITS} } } }`;
const SET_PLAN = `mutation($plan: Plan!, $input: PlanLimitsInput!) { setPlanLimits(plan: $plan, input: $input) { name version createdBy limits { ${LIMITS} } } }`;
const PLANS = `{ plans { name version createdAt limits { ${LIMITS} } allowedRanges { bucketCapacity { min max } maxOperationCost { min max } gracePercent { min max } } } }`;
const NONE = { monthlyBudget: null, bucketCapacity: null, restoreRate: null, maxOperationCost: null, maxConcurrency: null, softLimitPercent: null, gracePercent: null };

const asOperator = (slug: string) => ({ token: operator, headers: { 'x-tenant-id': slug } });

let created = 0;
/** A fresh tenant per scenario, so that each one's history starts empty. */
async function newTenant(plan?: string): Promise<string> {
  const slug = `plan-test-${++created}`;
  const { body } = await stack.gql(`mutation($input: CreateTenantInput!) { createTenant(input: $input) { slug } }`, {
    token: operator,
    variables: { input: { slug, name: `Plan test ${created}`, adminEmail: `boss@${slug}.example`, ...(plan ? { plan } : {}) } },
  });
  expect(body.errors).toBeUndefined();
  return slug;
}

async function planLimits(name: string) {
  const { body } = await stack.gql(PLANS, { token: operator });
  return body.data.plans.find((p: { name: string }) => p.name === name);
}

/** The tenant's next operation, from a full bucket: what the gateway admits it with. */
async function throttleOf(slug: string, query = CHEAP) {
  await stack.store.del(bucketKey(slug));
  return stack.gql(query, { token: await stack.token(slug) });
}

/**
 * Waits for a condition that holds once the tenant-changed message has reached the gateway (pub/sub
 * is asynchronous). Far below the 5 s L1 lifetime, so passing proves the announcement, not expiry.
 */
async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean, timeoutMs = 1_500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (check(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('plans and tenant limits', () => {
  it('lists the four plans as versioned data with their override ranges', async () => {
    const { body } = await stack.gql(PLANS, { token: await stack.token('acme-pets', { roles: ['viewer'] }) });
    expect(body.errors).toBeUndefined();
    expect(body.data.plans.map((p: { name: string }) => p.name)).toEqual(['free', 'starter', 'pro', 'enterprise']);
    const free = body.data.plans[0];
    expect(free).toMatchObject({
      version: 1,
      limits: { monthlyBudget: 100000, bucketCapacity: 1000, restoreRate: 50, maxOperationCost: 1000, maxConcurrency: 5, softLimitPercent: 80, gracePercent: 0 },
      allowedRanges: { bucketCapacity: { min: 100, max: 2000 }, maxOperationCost: { min: 100, max: 2000 }, gracePercent: { min: 0, max: 10 } },
    });
    expect(Date.parse(free.createdAt)).not.toBeNaN();
    // Who made a plan version is the operator's business.
    const who = await stack.gql(`{ plans { name createdBy } }`, { token: await stack.token('acme-pets') });
    expect(who.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('gives a new tenant the free plan, its limits and no overrides', async () => {
    const slug = await newTenant();
    const { body } = await stack.gql(LIMIT_STATE, { token: await stack.token(slug) });
    expect(body.errors).toBeUndefined();
    expect(body.data.currentTenant).toEqual({
      slug,
      plan: 'free',
      limits: (await planLimits('free')).limits,
      limitOverrides: NONE,
      limitHistory: [],
    });
    const { body: cost } = await throttleOf(slug);
    expect(cost.extensions?.cost.throttleStatus).toMatchObject({ maximumAvailable: 1000, restoreRate: 50 });
  });

  it('applies an override within range at once: a lower maximum refuses what was admitted, a new capacity shows', async () => {
    const slug = await newTenant();
    const admin = await stack.token(slug);
    expect((await stack.gql(EXPENSIVE, { token: admin })).status).toBe(200); // caches the free plan's limits

    const { body } = await stack.gql(SET, { ...asOperator(slug), variables: { input: { maxOperationCost: 200, bucketCapacity: 1500 } } });
    expect(body.errors).toBeUndefined();
    expect(body.data.setTenantLimits).toMatchObject({
      slug,
      limits: { maxOperationCost: 200, bucketCapacity: 1500, restoreRate: 50, monthlyBudget: 100000 },
      limitOverrides: { ...NONE, maxOperationCost: 200, bucketCapacity: 1500 },
    });

    const refused = await eventually(() => stack.gql(EXPENSIVE, { token: admin }), (r) => r.status === 400);
    expect(refused.status).toBe(400);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('COST_LIMIT_EXCEEDED');
    expect(refused.body.errors?.[0]?.extensions?.maximumQueryCost).toBe(200);
    const { body: cheap } = await throttleOf(slug);
    expect(cheap.extensions?.cost.throttleStatus.maximumAvailable).toBe(1500);
    // Another tenant's admission is untouched.
    expect((await throttleOf('fluffy-friends')).body.extensions?.cost.throttleStatus.maximumAvailable).toBe(5000);

    // null clears one override, leaving the others.
    const cleared = await stack.gql(SET, { ...asOperator(slug), variables: { input: { maxOperationCost: null } } });
    expect(cleared.body.data.setTenantLimits.limitOverrides).toEqual({ ...NONE, bucketCapacity: 1500 });
    const admitted = await eventually(() => stack.gql(EXPENSIVE, { token: admin }), (r) => r.status === 200);
    expect(admitted.status).toBe(200);
  });

  it('refuses an override outside the plan range with BAD_USER_INPUT naming the field, and changes nothing', async () => {
    const slug = await newTenant();
    for (const [input, field] of [
      [{ bucketCapacity: 2001 }, 'bucketCapacity'],
      [{ maxOperationCost: 99 }, 'maxOperationCost'],
      [{ restoreRate: 0 }, 'restoreRate'],
      [{ gracePercent: 11 }, 'gracePercent'],
      [{ softLimitPercent: 100 }, 'softLimitPercent'],
      [{ monthlyBudget: 9999, maxConcurrency: 5 }, 'monthlyBudget'],
      // Within range, but an operation dearer than the bucket could never be admitted.
      [{ bucketCapacity: 500 }, 'bucketCapacity'],
      [{ maxOperationCost: 1500 }, 'maxOperationCost'],
    ] as const) {
      const { body } = await stack.gql(SET, { ...asOperator(slug), variables: { input } });
      expect({ input, code: body.errors?.[0]?.extensions?.code, argument: body.errors?.[0]?.extensions?.argument }).toEqual({ input, code: 'BAD_USER_INPUT', argument: field });
      expect(body.errors?.[0]?.message).toContain(field);
    }
    const { body } = await stack.gql(LIMIT_STATE, { token: await stack.token(slug) });
    expect(body.data.currentTenant).toMatchObject({ limitOverrides: NONE, limitHistory: [] });
  });

  it('lets a tenant admin read its limits but not change them; members see neither', async () => {
    const slug = await newTenant();
    const admin = await stack.token(slug);
    expect((await stack.gql(LIMIT_STATE, { token: admin })).body.errors).toBeUndefined();
    for (const [query, variables] of [
      [SET, { input: { bucketCapacity: 2000 } }],
      [REVERT, { version: 0 }],
      [SET_PLAN, { plan: 'free', input: { bucketCapacity: 2000 } }],
    ] as const) {
      const { body } = await stack.gql(query, { token: admin, variables });
      expect(body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(body.data).toBeNull();
    }
    const member = await stack.token(slug, { roles: ['member'] });
    for (const field of ['limits { bucketCapacity }', 'limitOverrides { bucketCapacity }', 'limitHistory { version }']) {
      const { body } = await stack.gql(`{ currentTenant { ${field} } }`, { token: member });
      expect({ field, code: body.errors?.[0]?.extensions?.code }).toEqual({ field, code: 'FORBIDDEN' });
    }
    // Below the API too: a transaction that is not a platform-admin's cannot write overrides (RLS).
    const id = await tenantIdOf(slug);
    await expect(
      stack.db.transaction({ tenantId: id }, (q) => q.query(`INSERT INTO tenant_limit_overrides (tenant_id, bucket_capacity) VALUES ($1, 2000)`, [id])),
    ).rejects.toThrow(/row-level security/);
    const planUpdate = await stack.db.transaction({ tenantId: id }, (q) => q.query(`UPDATE plans SET bucket_capacity = 1 WHERE name = 'free'`));
    expect(planUpdate.rowCount).toBe(0);
    await expect(
      stack.db.transaction({ tenantId: id }, (q) =>
        q.query(`INSERT INTO plan_versions (plan, version, monthly_budget, bucket_capacity, restore_rate, max_operation_cost, max_concurrency,
                 soft_limit_percent, grace_percent, created_by) VALUES ('free', 99, 1, 1, 1, 1, 1, 80, 0, 'me')`),
      ),
    ).rejects.toThrow(/row-level security/);
    const { body } = await stack.gql(LIMIT_STATE, { token: admin });
    expect(body.data.currentTenant).toMatchObject({ limitOverrides: NONE, limitHistory: [] });
  });

  it('records who changed what and when, and reverts to an earlier version as a new entry', async () => {
    const slug = await newTenant();
    const started = Date.now();
    const steps = [{ maxOperationCost: 200 }, { bucketCapacity: 1500, gracePercent: 5 }, { maxOperationCost: null }];
    for (const input of steps) {
      const { body } = await stack.gql(SET, { ...asOperator(slug), variables: { input } });
      expect(body.errors).toBeUndefined();
    }
    // Setting what is already set changes nothing and records nothing.
    await stack.gql(SET, { ...asOperator(slug), variables: { input: { bucketCapacity: 1500 } } });

    const admin = await stack.token(slug);
    let { body } = await stack.gql(LIMIT_STATE, { token: admin });
    const history = body.data.currentTenant.limitHistory;
    expect(history.map((h: { version: number }) => h.version)).toEqual([3, 2, 1]);
    const v1 = { ...NONE, maxOperationCost: 200 };
    const v2 = { ...v1, bucketCapacity: 1500, gracePercent: 5 };
    const v3 = { ...v2, maxOperationCost: null };
    expect(history[2]).toMatchObject({ version: 1, kind: 'SET', revertedTo: null, changedBy: OPERATOR, before: NONE, after: v1 });
    expect(history[1]).toMatchObject({ version: 2, before: v1, after: v2 });
    expect(history[0]).toMatchObject({ version: 3, before: v2, after: v3 });
    for (const entry of history) {
      expect(Date.parse(entry.changedAt)).toBeGreaterThanOrEqual(started - 5_000);
      expect(Date.parse(entry.changedAt)).toBeLessThanOrEqual(Date.now() + 5_000);
    }

    const reverted = await stack.gql(REVERT, { ...asOperator(slug), variables: { version: 1 } });
    expect(reverted.body.errors).toBeUndefined();
    expect(reverted.body.data.revertTenantLimits.limitOverrides).toEqual(v1);
    ({ body } = await stack.gql(LIMIT_STATE, { token: admin }));
    expect(body.data.currentTenant.limitHistory[0]).toMatchObject({ version: 4, kind: 'REVERT', revertedTo: 1, changedBy: OPERATOR, before: v3, after: v1 });
    expect(body.data.currentTenant.limits).toMatchObject({ maxOperationCost: 200, bucketCapacity: 1000, gracePercent: 0 });
    // The gateway enforces the restored maximum.
    const refused = await eventually(() => stack.gql(EXPENSIVE, { token: admin }), (r) => r.status === 400);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('COST_LIMIT_EXCEEDED');

    // Version 0 is the plan's defaults; a version that does not exist is bad input.
    expect((await stack.gql(REVERT, { ...asOperator(slug), variables: { version: 0 } })).body.data.revertTenantLimits.limitOverrides).toEqual(NONE);
    for (const version of [6, -1]) {
      const bad = await stack.gql(REVERT, { ...asOperator(slug), variables: { version } });
      expect(bad.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'version' });
    }
    ({ body } = await stack.gql(LIMIT_STATE, { token: admin }));
    expect(body.data.currentTenant.limitHistory.map((h: { version: number }) => h.version)).toEqual([5, 4, 3, 2, 1]);
    expect((await eventually(() => stack.gql(EXPENSIVE, { token: admin }), (r) => r.status === 200)).status).toBe(200);
  });

  it('makes a plan change a new version that reaches every tenant on the plan at once', async () => {
    const [first, second, overridden] = [await newTenant('starter'), await newTenant('starter'), await newTenant('starter')];
    await stack.gql(SET, { ...asOperator(overridden), variables: { input: { bucketCapacity: 3000 } } });
    for (const slug of [first, second, overridden]) await throttleOf(slug); // every gateway cache holds the old record
    expect((await throttleOf(first)).body.extensions?.cost.throttleStatus.maximumAvailable).toBe(2000);

    const { body } = await stack.gql(SET_PLAN, { token: operator, variables: { plan: 'starter', input: { bucketCapacity: 2500, restoreRate: 120 } } });
    expect(body.errors).toBeUndefined();
    expect(body.data.setPlanLimits).toMatchObject({ name: 'starter', version: 2, createdBy: OPERATOR, limits: { bucketCapacity: 2500, restoreRate: 120, maxOperationCost: 2000 } });

    for (const slug of [first, second]) {
      const { body: seen } = await eventually(() => throttleOf(slug), (r) => r.body.extensions?.cost.throttleStatus.maximumAvailable === 2500);
      expect(seen.extensions?.cost.throttleStatus).toMatchObject({ maximumAvailable: 2500, restoreRate: 120 });
    }
    // The tenant's own override still wins; the plan's other change reaches it.
    const { body: own } = await eventually(() => throttleOf(overridden), (r) => r.body.extensions?.cost.throttleStatus.restoreRate === 120);
    expect(own.extensions?.cost.throttleStatus).toMatchObject({ maximumAvailable: 3000, restoreRate: 120 });
    // Tenants on other plans are untouched.
    expect((await throttleOf('acme-pets')).body.extensions?.cost.throttleStatus.maximumAvailable).toBe(1000);

    const versions = await stack.gql(`{ planVersions(plan: starter) { version createdBy limits { bucketCapacity restoreRate } } }`, { token: operator });
    expect(versions.body.data.planVersions).toEqual([
      { version: 2, createdBy: OPERATOR, limits: { bucketCapacity: 2500, restoreRate: 120 } },
      { version: 1, createdBy: 'migration:0003', limits: { bucketCapacity: 2000, restoreRate: 100 } },
    ]);
    expect((await planLimits('starter')).version).toBe(2);
    // Nothing to change: no new version.
    const same = await stack.gql(SET_PLAN, { token: operator, variables: { plan: 'starter', input: { bucketCapacity: 2500 } } });
    expect(same.body.data.setPlanLimits.version).toBe(2);
    const bad = await stack.gql(SET_PLAN, { token: operator, variables: { plan: 'starter', input: { maxOperationCost: 3000 } } });
    expect(bad.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'maxOperationCost' });
    const zero = await stack.gql(SET_PLAN, { token: operator, variables: { plan: 'starter', input: { maxConcurrency: 0 } } });
    expect(zero.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'maxConcurrency' });
    const history = await stack.gql(`{ planVersions(plan: starter) { version } }`, { token: await stack.token(first) });
    expect(history.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it("keeps one tenant's overrides and history invisible to another", async () => {
    const [a, b] = [await newTenant(), await newTenant()];
    await stack.gql(SET, { ...asOperator(a), variables: { input: { bucketCapacity: 1999, gracePercent: 7 } } });
    await stack.gql(SET, { ...asOperator(b), variables: { input: { maxConcurrency: 3 } } });

    const { body } = await stack.gql(LIMIT_STATE, { token: await stack.token(b) });
    expect(body.data.currentTenant.limitOverrides).toEqual({ ...NONE, maxConcurrency: 3 });
    expect(body.data.currentTenant.limits).toMatchObject({ bucketCapacity: 1000, gracePercent: 0, maxConcurrency: 3 });
    expect(body.data.currentTenant.limitHistory).toHaveLength(1);
    expect(body.data.currentTenant.limitHistory[0].after).toEqual({ ...NONE, maxConcurrency: 3 });
    // B's admin cannot select A.
    const across = await stack.gql(LIMIT_STATE, { token: await stack.token(b), headers: { 'x-tenant-id': a } });
    expect(across.status).toBe(403);
    expect(across.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    // In the database, B's transactions see only B's rows, even without a WHERE.
    const [idA, idB] = [await tenantIdOf(a), await tenantIdOf(b)];
    for (const table of ['tenant_limit_overrides', 'tenant_limit_history']) {
      const { rows } = await stack.db.transaction({ tenantId: idB }, (q) => q.query<{ tenant_id: string }>(`SELECT tenant_id FROM ${table}`));
      expect({ table, tenants: [...new Set(rows.map((r) => r.tenant_id))] }).toEqual({ table, tenants: [idB] });
      const none = await stack.db.transaction({ tenantId: idB }, (q) => q.query(`SELECT 1 FROM ${table} WHERE tenant_id = $1`, [idA]));
      expect(none.rows).toEqual([]);
    }
  });
});

async function tenantIdOf(slug: string): Promise<string> {
  const { rows } = await stack.db.transaction({}, (q) => q.query<{ id: string }>('SELECT id FROM registry_tenant_by_slug($1)', [slug]));
  return rows[0]!.id;
}
