DROP TABLE tenant_municipalities;
--bun:split
DROP TABLE tenants;
--bun:split
DROP TABLE neighbourhoods;
--bun:split
DROP TABLE municipalities;
--bun:split
DROP TABLE regions;
