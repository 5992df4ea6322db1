{{- if eq .Dialect "postgres"}}
DO $$
DECLARE
    p RECORD;
BEGIN
    FOR p IN SELECT schemaname, tablename FROM pg_policies WHERE policyname = 'tenant_isolation' LOOP
        EXECUTE format('ALTER POLICY tenant_isolation ON %I.%I'
            ' USING (tenant_id = NULLIF(current_setting(''app.tenant_id'', true), '''')::uuid)'
            ' WITH CHECK (tenant_id = NULLIF(current_setting(''app.tenant_id'', true), '''')::uuid)',
            p.schemaname, p.tablename);
    END LOOP;
END
$$
{{- else}}
SELECT 1
{{- end}}
