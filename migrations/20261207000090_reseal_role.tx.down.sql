{{- if eq .Dialect "postgres"}}
REVOKE ALL ON events FROM loket_reseal
--bun:split
REVOKE ALL ON SCHEMA public FROM loket_reseal
{{- end}}
