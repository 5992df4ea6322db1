{{- if eq .Dialect "postgres"}}
-- Issue 18, point 4: staff's free text in the event log (events.reason) is
-- sealed like notes. The reseal job rewrites values written before (plain
-- text) or under an older key; the log is append-only for the application
-- role, so the job works as this narrow role, which may change that one
-- column and nothing else. Row-level security still binds it to the desk.
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'loket_reseal') THEN
        CREATE ROLE loket_reseal NOLOGIN NOSUPERUSER NOBYPASSRLS;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$
--bun:split
GRANT USAGE ON SCHEMA public TO loket_reseal
--bun:split
GRANT SELECT, UPDATE (reason) ON events TO loket_reseal
{{- end}}
