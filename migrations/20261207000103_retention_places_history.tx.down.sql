{{- if eq .Dialect "postgres"}}
REVOKE SELECT, DELETE ON availability_events FROM loket_retention
{{- end}}
