-- Usage metering (issue 3): events arrive through a Redis Stream and are written at least once; the
-- stream id makes the write idempotent, and per-minute and per-month aggregates are kept beside them
-- so quota status never scans raw events.
ALTER TABLE usage_events ADD COLUMN stream_id text;
CREATE UNIQUE INDEX usage_events_stream_id ON usage_events (tenant_id, stream_id);

CREATE TABLE usage_minute (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  minute timestamptz NOT NULL,
  cost bigint NOT NULL DEFAULT 0,
  operations integer NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, minute)
);

CREATE TABLE usage_month (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  month date NOT NULL,
  cost bigint NOT NULL DEFAULT 0,
  operations integer NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, month)
);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['usage_minute', 'usage_month'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id())', t);
  END LOOP;
END $$;
GRANT SELECT, INSERT, UPDATE ON usage_minute, usage_month TO tenancy_app;

-- Months already recorded before this migration keep counting.
INSERT INTO usage_month (tenant_id, month, cost, operations)
  SELECT tenant_id, (date_trunc('month', created_at AT TIME ZONE 'UTC'))::date, sum(actual_cost), count(*)
  FROM usage_events GROUP BY 1, 2;
INSERT INTO usage_minute (tenant_id, minute, cost, operations)
  SELECT tenant_id, date_trunc('minute', created_at), sum(actual_cost), count(*)
  FROM usage_events WHERE created_at > now() - interval '1 day' GROUP BY 1, 2;
