-- The yearly figures follow every duplicate link of a desk (unique
-- children): few requests have one, so a partial index finds them without
-- reading the desk's requests.
CREATE INDEX requests_duplicate_of ON requests (tenant_id, duplicate_of) WHERE duplicate_of IS NOT NULL
