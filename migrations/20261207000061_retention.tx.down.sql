{{- if eq .Dialect "postgres"}}
REVOKE ALL ON events, access_log FROM loket_retention
--bun:split
REVOKE ALL ON SCHEMA public FROM loket_retention
--bun:split
{{- end}}
DROP TABLE yearly_figures
--bun:split
ALTER TABLE families DROP COLUMN legal_hold
