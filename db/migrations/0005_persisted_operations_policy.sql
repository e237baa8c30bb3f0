-- Persisted operations (issue 5): whether a tenant may send GraphQL documents of its own, or only run
-- the operations registered in the persisted-operation manifest. A plan sets it for its tenants, a
-- tenant may override it (NULL = its plan's), and the gateway's PERSISTED_OPERATIONS=require overrides
-- both. Every plan starts at 'allow', so nothing changes until someone asks for 'require'.
--
-- Not a limit: it is not part of plan_versions (the trigger of 0003 only watches the limits) nor of
-- tenant_limit_overrides (numeric, with ranges); an operator sets it with SQL for now, e.g.
--   UPDATE plans SET persisted_operations = 'require' WHERE name = 'enterprise';
--   UPDATE tenants SET persisted_operations = 'allow' WHERE slug = 'some-tenant';
-- and gateways see the change when their cached tenant record expires (L1 5 s, L2 30 s).
ALTER TABLE plans
  ADD COLUMN persisted_operations text NOT NULL DEFAULT 'allow' CHECK (persisted_operations IN ('allow', 'require'));
ALTER TABLE tenants
  ADD COLUMN persisted_operations text CHECK (persisted_operations IN ('allow', 'require'));

-- The registry lookup answers with the effective policy, so the gateway's one cached record carries it.
DROP FUNCTION registry_tenant_by_slug(text);
CREATE FUNCTION registry_tenant_by_slug(p_slug text)
  RETURNS TABLE (
    id uuid, slug text, name text, plan text, status text, isolation text,
    monthly_budget integer, bucket_capacity integer, restore_rate double precision,
    max_operation_cost integer, max_concurrency integer, soft_limit_percent integer, grace_percent integer,
    persisted_operations text
  )
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
    SELECT t.id, t.slug, t.name, t.plan, t.status, t.isolation,
           e.monthly_budget, e.bucket_capacity, e.restore_rate, e.max_operation_cost, e.max_concurrency,
           e.soft_limit_percent, e.grace_percent,
           coalesce(t.persisted_operations, p.persisted_operations)
    FROM tenants t
    JOIN tenant_effective_limits e ON e.tenant_id = t.id
    JOIN plans p ON p.name = t.plan
    WHERE t.slug = p_slug
  $$;
ALTER FUNCTION registry_tenant_by_slug(text) OWNER TO tenancy_registry;
REVOKE ALL ON FUNCTION registry_tenant_by_slug(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION registry_tenant_by_slug(text) TO tenancy_app;
