{{- if eq .Dialect "postgres"}}
DROP TRIGGER figures_requests ON requests
--bun:split
DROP TRIGGER figures_preferences ON preferences
--bun:split
DROP TRIGGER figures_request_claims ON request_claims
--bun:split
DROP TRIGGER figures_children ON children
--bun:split
DROP TRIGGER figures_families ON families
--bun:split
DROP TRIGGER figures_locations ON locations
--bun:split
DROP TRIGGER figures_providers ON providers
--bun:split
DROP FUNCTION figures_bump()
--bun:split
{{- else}}
DROP TRIGGER figures_requests_insert
--bun:split
DROP TRIGGER figures_requests_update
--bun:split
DROP TRIGGER figures_requests_delete
--bun:split
DROP TRIGGER figures_preferences_insert
--bun:split
DROP TRIGGER figures_preferences_update
--bun:split
DROP TRIGGER figures_preferences_delete
--bun:split
DROP TRIGGER figures_request_claims_insert
--bun:split
DROP TRIGGER figures_request_claims_update
--bun:split
DROP TRIGGER figures_request_claims_delete
--bun:split
DROP TRIGGER figures_children_insert
--bun:split
DROP TRIGGER figures_children_update
--bun:split
DROP TRIGGER figures_children_delete
--bun:split
DROP TRIGGER figures_families_insert
--bun:split
DROP TRIGGER figures_families_update
--bun:split
DROP TRIGGER figures_families_delete
--bun:split
DROP TRIGGER figures_locations_insert
--bun:split
DROP TRIGGER figures_locations_update
--bun:split
DROP TRIGGER figures_locations_delete
--bun:split
DROP TRIGGER figures_providers_insert
--bun:split
DROP TRIGGER figures_providers_update
--bun:split
DROP TRIGGER figures_providers_delete
--bun:split
{{- end}}
DROP TABLE figures_versions
