-- Core schema: the tenants registry and every tenant-owned table, with RLS (DESIGN.md invariant 2).
-- Keys lead with tenant_id so the schema distributes by tenant on Citus without a rewrite.

-- tenancy_app: the role every application transaction runs as. Neither superuser, nor BYPASSRLS, nor owner.
-- It may log in (production gives it a password, or grants it to the login role of APP_DATABASE_URL):
-- PostgreSQL checks SET ROLE against the session user, so only a pool that logs in as the app role
-- cannot be talked out of it.
-- tenancy_registry: owns the few SECURITY DEFINER functions that must look across tenants
-- (tenant lookup by slug, the cross-tenant probe audit); the app role cannot become it.
-- Roles are cluster-wide: each step only writes when something is missing, so migrating several
-- databases of one cluster at once does not race on the role catalog in the steady state.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tenancy_app') THEN
    CREATE ROLE tenancy_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  ELSIF EXISTS (SELECT FROM pg_roles WHERE rolname = 'tenancy_app' AND (rolsuper OR rolbypassrls OR NOT rolcanlogin)) THEN
    ALTER ROLE tenancy_app LOGIN NOSUPERUSER NOBYPASSRLS;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tenancy_registry') THEN
    CREATE ROLE tenancy_registry NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
  -- The migrating user must be able to SET ROLE tenancy_app and hand functions to tenancy_registry.
  IF NOT pg_has_role(current_user, 'tenancy_app', 'MEMBER') THEN
    EXECUTE format('GRANT tenancy_app TO %I', current_user);
  END IF;
  IF NOT pg_has_role(current_user, 'tenancy_registry', 'MEMBER') THEN
    EXECUTE format('GRANT tenancy_registry TO %I', current_user);
  END IF;
END $$;

GRANT USAGE ON SCHEMA public TO tenancy_app, tenancy_registry;

CREATE FUNCTION current_tenant_id() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT nullif(current_setting('app.tenant_id', true), '')::uuid $$;

CREATE FUNCTION is_platform_admin() RETURNS boolean
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT coalesce(current_setting('app.platform_admin', true), '') = 'on' $$;

-- Plans are data, not code: a reference table every tenant may read.
CREATE TABLE plans (
  name text PRIMARY KEY,
  monthly_budget integer NOT NULL CHECK (monthly_budget > 0),
  bucket_capacity integer NOT NULL CHECK (bucket_capacity > 0),
  restore_rate double precision NOT NULL CHECK (restore_rate > 0),
  max_operation_cost integer NOT NULL CHECK (max_operation_cost > 0),
  max_concurrency integer NOT NULL CHECK (max_concurrency > 0)
);
INSERT INTO plans (name, monthly_budget, bucket_capacity, restore_rate, max_operation_cost, max_concurrency) VALUES
  ('free',        100000,   1000,   50, 1000,   5),
  ('starter',    1000000,   2000,  100, 2000,  10),
  ('pro',       10000000,   5000,  250, 5000,  25),
  ('enterprise',100000000, 20000, 1000, 20000, 100);
GRANT SELECT ON plans TO tenancy_app, tenancy_registry;

CREATE TABLE tenants (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z][a-z0-9-]{1,38}[a-z0-9]$'),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  plan text NOT NULL DEFAULT 'free' REFERENCES plans (name),
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
  isolation text NOT NULL DEFAULT 'shared' CHECK (isolation IN ('shared', 'schema', 'database')),
  created_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenants_read ON tenants FOR SELECT
  USING (id = current_tenant_id() OR is_platform_admin() OR current_user = 'tenancy_registry');
CREATE POLICY tenants_insert ON tenants FOR INSERT WITH CHECK (is_platform_admin());
CREATE POLICY tenants_update ON tenants FOR UPDATE USING (is_platform_admin()) WITH CHECK (is_platform_admin());
GRANT SELECT, INSERT, UPDATE ON tenants TO tenancy_app;
GRANT SELECT ON tenants TO tenancy_registry;

CREATE TABLE users (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  email text NOT NULL CHECK (length(email) BETWEEN 3 AND 320),
  name text NOT NULL,
  role text NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, email)
);

CREATE TABLE pets (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  species text NOT NULL CHECK (length(species) BETWEEN 1 AND 100),
  owner_id uuid,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id) ON DELETE SET NULL (owner_id)
);
CREATE INDEX pets_page ON pets (tenant_id, created_at DESC, id DESC);
CREATE INDEX pets_species ON pets (tenant_id, species, created_at DESC, id DESC);
CREATE INDEX pets_owner ON pets (tenant_id, owner_id);

CREATE TABLE tenant_config (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  key text NOT NULL CHECK (key ~ '^[A-Za-z0-9_.-]{1,100}$'),
  value text NOT NULL CHECK (length(value) <= 10000),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, key)
);

CREATE TABLE usage_events (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id bigint GENERATED ALWAYS AS IDENTITY,
  operation_name text,
  requested_cost integer NOT NULL,
  actual_cost integer NOT NULL,
  latency_ms real NOT NULL,
  outcome text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX usage_events_time ON usage_events (tenant_id, created_at DESC);

CREATE TABLE audit_log (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id bigint GENERATED ALWAYS AS IDENTITY,
  at timestamptz NOT NULL DEFAULT now(),
  actor text NOT NULL,
  action text NOT NULL,
  resource text,
  resource_id text,
  request_id text,
  detail jsonb NOT NULL DEFAULT '{}',
  PRIMARY KEY (tenant_id, id)
);

-- Every tenant-owned table: RLS enabled and forced, one policy on the transaction's tenant.
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['users', 'pets', 'tenant_config', 'usage_events', 'audit_log'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id())', t);
  END LOOP;
END $$;
GRANT SELECT, INSERT, UPDATE, DELETE ON users, pets, tenant_config TO tenancy_app;
GRANT SELECT, INSERT ON usage_events, audit_log TO tenancy_app;

-- The registry's view of tenants, for the gateway's tenant resolution (no tenant context yet).
CREATE FUNCTION registry_tenant_by_slug(p_slug text)
  RETURNS TABLE (id uuid, slug text, name text, plan text, status text, isolation text)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT t.id, t.slug, t.name, t.plan, t.status, t.isolation FROM tenants t WHERE t.slug = p_slug $$;
ALTER FUNCTION registry_tenant_by_slug(text) OWNER TO tenancy_registry;
REVOKE ALL ON FUNCTION registry_tenant_by_slug(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION registry_tenant_by_slug(text) TO tenancy_app;

-- Called when a lookup by id found nothing for the caller's tenant. It answers nothing (the caller
-- sees the same "not found" either way) but writes an audit row, in the caller's tenant, when the id
-- belongs to another tenant: a probe (DESIGN.md invariant 5).
CREATE FUNCTION audit_cross_tenant_probe(p_resource text, p_ids text[], p_actor text, p_request_id text)
  RETURNS void
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
DECLARE
  me uuid := current_tenant_id();
  ids uuid[];
  foreign_ids text[];
BEGIN
  IF me IS NULL THEN RETURN; END IF;
  SELECT coalesce(array_agg(x::uuid), '{}') INTO ids FROM unnest(p_ids) x
    WHERE x ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';
  IF p_resource = 'Pet' THEN
    SELECT array_agg(p.id::text) INTO foreign_ids FROM pets p WHERE p.id = ANY (ids) AND p.tenant_id <> me;
  ELSIF p_resource = 'User' THEN
    SELECT array_agg(u.id::text) INTO foreign_ids FROM users u WHERE u.id = ANY (ids) AND u.tenant_id <> me;
  ELSIF p_resource = 'Tenant' THEN
    SELECT array_agg(t.id::text) INTO foreign_ids FROM tenants t WHERE t.id = ANY (ids) AND t.id <> me;
  ELSE
    RAISE EXCEPTION 'unknown resource %', p_resource;
  END IF;
  IF foreign_ids IS NOT NULL THEN
    INSERT INTO audit_log (tenant_id, actor, action, resource, resource_id, request_id, detail)
      SELECT me, p_actor, 'cross_tenant_access_denied', p_resource, f, p_request_id, '{}'::jsonb
      FROM unnest(foreign_ids) f;
  END IF;
END $$;
GRANT SELECT ON pets, users TO tenancy_registry;
GRANT INSERT ON audit_log TO tenancy_registry;
ALTER FUNCTION audit_cross_tenant_probe(text, text[], text, text) OWNER TO tenancy_registry;
REVOKE ALL ON FUNCTION audit_cross_tenant_probe(text, text[], text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_cross_tenant_probe(text, text[], text, text) TO tenancy_app;

-- The registry role reads across tenants only inside those two functions.
CREATE POLICY registry_read ON pets FOR SELECT USING (current_user = 'tenancy_registry');
CREATE POLICY registry_read ON users FOR SELECT USING (current_user = 'tenancy_registry');
CREATE POLICY registry_audit ON audit_log FOR INSERT WITH CHECK (current_user = 'tenancy_registry' AND tenant_id = current_tenant_id());
