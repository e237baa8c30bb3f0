import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack?.close());

const CREATE = `mutation($input: CreateTenantInput!) { createTenant(input: $input) { id slug name plan status isolation } }`;

describe('tenants', () => {
  it('lets a platform-admin create a tenant whose admin can use it at once', async () => {
    const operator = await stack.token('acme-pets', { roles: ['platform-admin'], sub: 'operator@platform.example' });
    // Asked for before it exists: the gateway remembers the miss briefly, creation must clear it.
    expect((await stack.gql(`{ currentTenant { slug } }`, { token: await stack.token('new-shop') })).status).toBe(403);
    const { body } = await stack.gql(CREATE, {
      token: operator,
      variables: { input: { slug: 'new-shop', name: 'New Shop', plan: 'starter', adminEmail: 'boss@new-shop.example' } },
    });
    expect(body.errors).toBeUndefined();
    expect(body.data.createTenant).toMatchObject({ slug: 'new-shop', name: 'New Shop', plan: 'starter', status: 'ACTIVE', isolation: 'SHARED' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const token = await stack.token('new-shop', { sub: 'boss@new-shop.example' });
    const own = await stack.gql(`{ currentTenant { slug plan } viewer { email role } pets { totalCount } }`, { token });
    expect(own.body.data).toEqual({ currentTenant: { slug: 'new-shop', plan: 'starter' }, viewer: { email: 'boss@new-shop.example', role: 'admin' }, pets: { totalCount: 0 } });
  });

  it('answers CONFLICT for a slug in use and BAD_USER_INPUT for a bad slug, name or email', async () => {
    const operator = await stack.token('acme-pets', { roles: ['platform-admin'] });
    const conflict = await stack.gql(CREATE, { token: operator, variables: { input: { slug: 'acme-pets', name: 'Again', adminEmail: 'a@b.example' } } });
    expect(conflict.body.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    for (const input of [
      { slug: 'Bad Slug', name: 'x', adminEmail: 'a@b.example' },
      { slug: 'ab', name: 'x', adminEmail: 'a@b.example' },
      { slug: 'trailing-', name: 'x', adminEmail: 'a@b.example' },
      { slug: 'double--hyphen', name: 'x', adminEmail: 'a@b.example' },
      { slug: 'dashboard', name: 'x', adminEmail: 'a@b.example' },
      { slug: 'fine-slug', name: '   ', adminEmail: 'a@b.example' },
      { slug: 'fine-slug', name: 'x', adminEmail: 'not-an-email' },
      { slug: 'fine-slug', name: 'x', adminEmail: 'a@b.example', isolation: 'SCHEMA' },
    ]) {
      const { body } = await stack.gql(CREATE, { token: operator, variables: { input } });
      expect({ input, code: body.errors?.[0]?.extensions?.code }).toEqual({ input, code: 'BAD_USER_INPUT' });
    }
  });

  it('refuses createTenant to a tenant admin', async () => {
    const { body } = await stack.gql(CREATE, {
      token: await stack.token('acme-pets'),
      variables: { input: { slug: 'sneaky-shop', name: 'x', adminEmail: 'a@b.example' } },
    });
    expect(body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(body.data).toBeNull();
  });

  it('keeps per-tenant configuration apart', async () => {
    const acme = await stack.token('acme-pets');
    const fluffy = await stack.token('fluffy-friends');
    const set = await stack.gql(`mutation { setTenantConfig(key: "theme", value: "dark") { key value updatedAt } }`, { token: acme });
    expect(set.body.data.setTenantConfig).toMatchObject({ key: 'theme', value: 'dark' });
    await stack.gql(`mutation { setTenantConfig(key: "theme", value: "light") { key } }`, { token: fluffy });
    expect((await stack.gql(`{ tenantConfig { key value } }`, { token: acme })).body.data.tenantConfig).toEqual([{ key: 'theme', value: 'dark' }]);
    expect((await stack.gql(`{ tenantConfig { key value } }`, { token: fluffy })).body.data.tenantConfig).toEqual([{ key: 'theme', value: 'light' }]);
    const bad = await stack.gql(`mutation { setTenantConfig(key: "no spaces", value: "x") { key } }`, { token: acme });
    expect(bad.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const member = await stack.token('acme-pets', { roles: ['member'] });
    const denied = await stack.gql(`mutation { setTenantConfig(key: "theme", value: "x") { key } }`, { token: member });
    expect(denied.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await stack.gql(`mutation { deleteTenantConfig(key: "theme") }`, { token: acme })).body.data.deleteTenantConfig).toBe(true);
    expect((await stack.gql(`{ tenantConfig { key } }`, { token: acme })).body.data.tenantConfig).toEqual([]);
    expect((await stack.gql(`{ tenantConfig { key } }`, { token: fluffy })).body.data.tenantConfig).toHaveLength(1);
  });

  it('lists only the tenant users, and viewer is null for a subject that is not one', async () => {
    const { body } = await stack.gql(`{ users { email tenant { slug } } viewer { email } }`, { token: await stack.token('acme-pets', { sub: 'stranger@else.example' }) });
    expect(body.data.viewer).toBeNull();
    expect(body.data.users.every((u: any) => u.email.endsWith('@acme-pets.example') && u.tenant.slug === 'acme-pets')).toBe(true);
  });
});
