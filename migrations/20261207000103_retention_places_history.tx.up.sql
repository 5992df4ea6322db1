{{- if eq .Dialect "postgres"}}
-- Issue 18, point 1: the history of free-places changes names who made each
-- change (an account id); it goes after two years. The table is append-only
-- for the application role, so the purge deletes as its narrow role.
GRANT SELECT, DELETE ON availability_events TO loket_retention
{{- end}}
