DROP TABLE casbin_policy_version;
--bun:split
DROP TABLE casbin_rules;
