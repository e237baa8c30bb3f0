// Per-request DataLoaders: a page of 50 pets with owners and tenant costs the same SQL as a page of 5.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack';

let stack: TestStack;
const PAGE = `query Page($first: Int!) {
  pets(first: $first) { edges { node { id name owner { id name email pets(first: 3) { id } } tenant { id slug name usage { used } } } } }
}`;

beforeAll(async () => {
  // Usage is not aggregated here, so that the consumer's statements do not land inside a measurement.
  stack = await startTestStack({ USAGE_CONSUMER: 'false' });
  const tenantId = await stack.tenantId('fluffy-friends');
  await stack.db.transaction({ tenantId }, async (q) => {
    const owners = await q.query<{ id: string }>(
      `INSERT INTO users (tenant_id, email, name, role)
       SELECT current_tenant_id(), 'owner' || n || '@fluffy-friends.example', 'Owner ' || n, 'member' FROM generate_series(1, 12) n
       RETURNING id`,
    );
    await q.query(
      `INSERT INTO pets (tenant_id, name, species, owner_id)
       SELECT current_tenant_id(), 'Pet ' || n, 'cat', ($1::uuid[])[1 + n % 12] FROM generate_series(1, 60) n`,
      [owners.rows.map((r) => r.id)],
    );
  });
});
afterAll(() => stack?.close());

async function statementsFor(first: number, token: string) {
  const before = stack.db.stats.statements;
  const { body } = await stack.gql(PAGE, { token, variables: { first } });
  expect(body.errors).toBeUndefined();
  expect(body.data.pets.edges).toHaveLength(first);
  expect(body.data.pets.edges.every((e: any) => e.node.owner && e.node.tenant.slug === 'fluffy-friends')).toBe(true);
  return stack.db.stats.statements - before;
}

describe('batching', () => {
  it('runs the same number of SQL statements for 5 pets as for 50, owners, their pets and tenant included', async () => {
    const token = await stack.token('fluffy-friends');
    await statementsFor(5, token); // warm the gateway's tenant cache
    const five = await statementsFor(5, token);
    const fifty = await statementsFor(50, token);
    expect(fifty).toBe(five);
    // pets page, owners, owners' pets, tenant, tenant usage: one transaction each (BEGIN, scope, query, COMMIT).
    expect(five).toBeLessThanOrEqual(5 * 4);
  });
});
