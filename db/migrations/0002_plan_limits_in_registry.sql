-- The gateway admits operations against the tenant's plan (issue 3): the registry lookup returns the
-- plan's limits with the tenant record, so one cached record answers both questions.
DROP FUNCTION registry_tenant_by_slug(text);
CREATE FUNCTION registry_tenant_by_slug(p_slug text)
  RETURNS TABLE (
    id uuid, slug text, name text, plan text, status text, isolation text,
    monthly_budget integer, bucket_capacity integer, restore_rate double precision,
    max_operation_cost integer, max_concurrency integer
  )
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
    SELECT t.id, t.slug, t.name, t.plan, t.status, t.isolation,
           p.monthly_budget, p.bucket_capacity, p.restore_rate, p.max_operation_cost, p.max_concurrency
    FROM tenants t JOIN plans p ON p.name = t.plan
    WHERE t.slug = p_slug
  $$;
GRANT SELECT ON plans TO tenancy_registry;
ALTER FUNCTION registry_tenant_by_slug(text) OWNER TO tenancy_registry;
REVOKE ALL ON FUNCTION registry_tenant_by_slug(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION registry_tenant_by_slug(text) TO tenancy_app;
