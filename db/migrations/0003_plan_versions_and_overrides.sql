-- Query-cost quotas per tenant: plans as versioned data, allowed override ranges per plan, per-tenant
-- overrides with an append-only history (who, when, before, after) that makes a revert possible, and
-- the registry lookup returning the tenant's EFFECTIVE limits.
--
-- `plans` stays the table of current values (tenants.plan references it; the usage subgraph and the
-- registry read it), and every change of a plan's limits appends a row to plan_versions: a trigger
-- does it, so no writer (the API, an operator's psql, a test) can change a plan without a version.

-- Monthly soft limit (a warning at this share of the budget) and grace margin (share above the budget
-- still admitted before the hard limit rejects). The enforcement reads them from the registry.
ALTER TABLE plans
  ADD COLUMN soft_limit_percent integer NOT NULL DEFAULT 80 CHECK (soft_limit_percent BETWEEN 1 AND 100),
  ADD COLUMN grace_percent integer NOT NULL DEFAULT 0 CHECK (grace_percent BETWEEN 0 AND 100),
  ADD COLUMN version integer NOT NULL DEFAULT 1 CHECK (version > 0);

CREATE TABLE plan_versions (
  plan text NOT NULL REFERENCES plans (name),
  version integer NOT NULL CHECK (version > 0),
  monthly_budget integer NOT NULL CHECK (monthly_budget > 0),
  bucket_capacity integer NOT NULL CHECK (bucket_capacity > 0),
  restore_rate double precision NOT NULL CHECK (restore_rate > 0),
  max_operation_cost integer NOT NULL CHECK (max_operation_cost > 0),
  max_concurrency integer NOT NULL CHECK (max_concurrency > 0),
  soft_limit_percent integer NOT NULL CHECK (soft_limit_percent BETWEEN 1 AND 100),
  grace_percent integer NOT NULL CHECK (grace_percent BETWEEN 0 AND 100),
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (plan, version)
);
INSERT INTO plan_versions (plan, version, monthly_budget, bucket_capacity, restore_rate, max_operation_cost, max_concurrency,
                           soft_limit_percent, grace_percent, created_by)
  SELECT name, version, monthly_budget, bucket_capacity, restore_rate, max_operation_cost, max_concurrency,
         soft_limit_percent, grace_percent, 'migration:0003'
  FROM plans;

-- Who changed a plan: the transaction-local app.actor (the API sets it to the verified subject), else
-- the database user (an operator editing by hand).
CREATE FUNCTION plans_new_version() RETURNS trigger
  LANGUAGE plpgsql SET search_path = public, pg_temp
  AS $$
BEGIN
  NEW.version := OLD.version + 1;
  INSERT INTO plan_versions (plan, version, monthly_budget, bucket_capacity, restore_rate, max_operation_cost, max_concurrency,
                             soft_limit_percent, grace_percent, created_by)
    VALUES (NEW.name, NEW.version, NEW.monthly_budget, NEW.bucket_capacity, NEW.restore_rate, NEW.max_operation_cost,
            NEW.max_concurrency, NEW.soft_limit_percent, NEW.grace_percent,
            coalesce(nullif(current_setting('app.actor', true), ''), session_user));
  RETURN NEW;
END $$;
CREATE TRIGGER plans_versioned BEFORE UPDATE ON plans FOR EACH ROW
  WHEN ((OLD.monthly_budget, OLD.bucket_capacity, OLD.restore_rate, OLD.max_operation_cost, OLD.max_concurrency,
         OLD.soft_limit_percent, OLD.grace_percent)
        IS DISTINCT FROM
        (NEW.monthly_budget, NEW.bucket_capacity, NEW.restore_rate, NEW.max_operation_cost, NEW.max_concurrency,
         NEW.soft_limit_percent, NEW.grace_percent))
  EXECUTE FUNCTION plans_new_version();

-- What a tenant's override of each limit may be, per plan. One row per (plan, limit) so that a limit
-- added later is a row, not a column in every place.
CREATE TABLE plan_limit_ranges (
  plan text NOT NULL REFERENCES plans (name),
  limit_name text NOT NULL CHECK (limit_name IN ('monthly_budget', 'bucket_capacity', 'restore_rate', 'max_operation_cost',
                                                 'max_concurrency', 'soft_limit_percent', 'grace_percent')),
  min_value double precision NOT NULL,
  max_value double precision NOT NULL,
  PRIMARY KEY (plan, limit_name),
  CHECK (min_value <= max_value)
);
-- Defaults: a tenant may be tuned down to a tenth of its plan (at least 1) and up to twice it (ten
-- times on enterprise, whose contracts are negotiated); soft limit 50-95 %, grace 0-10 % on free and
-- up to 20 % (50 % on enterprise) on paid plans.
INSERT INTO plan_limit_ranges (plan, limit_name, min_value, max_value)
  SELECT p.name, l.limit_name,
         greatest(1, floor(l.value / 10)),
         l.value * CASE WHEN p.name = 'enterprise' THEN 10 ELSE 2 END
  FROM plans p
  CROSS JOIN LATERAL (VALUES
    ('monthly_budget', p.monthly_budget::double precision),
    ('bucket_capacity', p.bucket_capacity::double precision),
    ('restore_rate', p.restore_rate),
    ('max_operation_cost', p.max_operation_cost::double precision),
    ('max_concurrency', p.max_concurrency::double precision)
  ) AS l (limit_name, value);
INSERT INTO plan_limit_ranges (plan, limit_name, min_value, max_value)
  SELECT name, 'soft_limit_percent', 50, 95 FROM plans
  UNION ALL
  SELECT name, 'grace_percent', 0, CASE name WHEN 'free' THEN 10 WHEN 'enterprise' THEN 50 ELSE 20 END FROM plans;

-- Plans are platform reference data, not tenant-owned: every role may read them, only a verified
-- platform-admin transaction may change them (same rule as the tenants registry). RLS is enabled but
-- not forced: the owner is the migrator, trusted like the schema itself.
ALTER TABLE plans ENABLE ROW LEVEL SECURITY;
CREATE POLICY plans_read ON plans FOR SELECT USING (true);
CREATE POLICY plans_update ON plans FOR UPDATE USING (is_platform_admin()) WITH CHECK (is_platform_admin());
ALTER TABLE plan_versions ENABLE ROW LEVEL SECURITY;
CREATE POLICY plan_versions_read ON plan_versions FOR SELECT USING (true);
CREATE POLICY plan_versions_insert ON plan_versions FOR INSERT WITH CHECK (is_platform_admin());
ALTER TABLE plan_limit_ranges ENABLE ROW LEVEL SECURITY;
CREATE POLICY plan_limit_ranges_read ON plan_limit_ranges FOR SELECT USING (true);
-- Versions are append-only for the app: no UPDATE or DELETE grant.
GRANT UPDATE ON plans TO tenancy_app;
GRANT SELECT, INSERT ON plan_versions TO tenancy_app;
GRANT SELECT ON plan_versions, plan_limit_ranges TO tenancy_registry;
GRANT SELECT ON plan_limit_ranges TO tenancy_app;

-- A tenant's overrides: one row per tenant, a NULL column means "the plan's value". `version` counts
-- the changes (0 = never overridden) and equals the latest history entry's version.
CREATE TABLE tenant_limit_overrides (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  monthly_budget integer CHECK (monthly_budget > 0),
  bucket_capacity integer CHECK (bucket_capacity > 0),
  restore_rate double precision CHECK (restore_rate > 0),
  max_operation_cost integer CHECK (max_operation_cost > 0),
  max_concurrency integer CHECK (max_concurrency > 0),
  soft_limit_percent integer CHECK (soft_limit_percent BETWEEN 1 AND 100),
  grace_percent integer CHECK (grace_percent BETWEEN 0 AND 100),
  version integer NOT NULL DEFAULT 0 CHECK (version >= 0),
  updated_by text,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id)
);

-- Every override change, append-only: the overrides before and after (JSON objects with every limit,
-- null where not overridden), so any version can be restored exactly.
CREATE TABLE tenant_limit_history (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  version integer NOT NULL CHECK (version > 0),
  action text NOT NULL CHECK (action IN ('set', 'revert')),
  reverted_to integer CHECK (reverted_to >= 0),
  before jsonb NOT NULL,
  after jsonb NOT NULL,
  changed_by text NOT NULL,
  changed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, version)
);

-- Tenant-owned, like 0001's tables: RLS enabled and forced, one policy on the transaction's tenant.
-- On top of it, writes need a platform-admin transaction (restrictive policies): a tenant admin's
-- transaction can read its limits but not raise them, even if a resolver forgot to check.
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['tenant_limit_overrides', 'tenant_limit_history'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id())', t);
    EXECUTE format('CREATE POLICY platform_admin_insert ON %I AS RESTRICTIVE FOR INSERT WITH CHECK (is_platform_admin())', t);
    EXECUTE format('CREATE POLICY platform_admin_update ON %I AS RESTRICTIVE FOR UPDATE USING (is_platform_admin()) WITH CHECK (is_platform_admin())', t);
    EXECUTE format('CREATE POLICY platform_admin_delete ON %I AS RESTRICTIVE FOR DELETE USING (is_platform_admin())', t);
  END LOOP;
END $$;
GRANT SELECT, INSERT, UPDATE ON tenant_limit_overrides TO tenancy_app;
GRANT SELECT, INSERT ON tenant_limit_history TO tenancy_app;
-- The registry lookup (no tenant context) reads overrides across tenants, only inside its function.
CREATE POLICY registry_read ON tenant_limit_overrides FOR SELECT USING (current_user = 'tenancy_registry');
GRANT SELECT ON tenant_limit_overrides TO tenancy_registry;

-- The one definition of a tenant's effective limits: its override where set, else its plan's current
-- version. security_invoker: whoever reads it sees only what RLS shows them (the app its own tenant).
CREATE VIEW tenant_effective_limits WITH (security_invoker = true) AS
  SELECT t.id AS tenant_id, t.plan, p.version AS plan_version, coalesce(o.version, 0) AS overrides_version,
         coalesce(o.monthly_budget, p.monthly_budget) AS monthly_budget,
         coalesce(o.bucket_capacity, p.bucket_capacity) AS bucket_capacity,
         coalesce(o.restore_rate, p.restore_rate) AS restore_rate,
         coalesce(o.max_operation_cost, p.max_operation_cost) AS max_operation_cost,
         coalesce(o.max_concurrency, p.max_concurrency) AS max_concurrency,
         coalesce(o.soft_limit_percent, p.soft_limit_percent) AS soft_limit_percent,
         coalesce(o.grace_percent, p.grace_percent) AS grace_percent
  FROM tenants t
  JOIN plans p ON p.name = t.plan
  LEFT JOIN tenant_limit_overrides o ON o.tenant_id = t.id;
GRANT SELECT ON tenant_effective_limits TO tenancy_app, tenancy_registry;

-- The registry lookup now answers with the effective limits and the monthly soft limit / grace margin.
DROP FUNCTION registry_tenant_by_slug(text);
CREATE FUNCTION registry_tenant_by_slug(p_slug text)
  RETURNS TABLE (
    id uuid, slug text, name text, plan text, status text, isolation text,
    monthly_budget integer, bucket_capacity integer, restore_rate double precision,
    max_operation_cost integer, max_concurrency integer, soft_limit_percent integer, grace_percent integer
  )
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
    SELECT t.id, t.slug, t.name, t.plan, t.status, t.isolation,
           e.monthly_budget, e.bucket_capacity, e.restore_rate, e.max_operation_cost, e.max_concurrency,
           e.soft_limit_percent, e.grace_percent
    FROM tenants t JOIN tenant_effective_limits e ON e.tenant_id = t.id
    WHERE t.slug = p_slug
  $$;
ALTER FUNCTION registry_tenant_by_slug(text) OWNER TO tenancy_registry;
REVOKE ALL ON FUNCTION registry_tenant_by_slug(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION registry_tenant_by_slug(text) TO tenancy_app;
