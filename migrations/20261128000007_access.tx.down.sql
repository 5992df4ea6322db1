DROP TABLE api_keys;
--bun:split
DROP TABLE sharing_agreements;
