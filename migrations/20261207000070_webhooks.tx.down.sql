{{- if eq .Dialect "postgres"}}
REVOKE ALL ON webhook_endpoints FROM loket_webhook_relay
--bun:split
REVOKE ALL ON SCHEMA public FROM loket_webhook_relay
--bun:split
{{- end}}
DROP TABLE webhook_deliveries
--bun:split
DROP TABLE webhook_endpoints
