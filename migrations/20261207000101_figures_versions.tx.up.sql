-- Issue 14, point 7: a desk's yearly figures are computed once and kept
-- until the data they come from changes. Every change to those tables bumps
-- a version (triggers, so that no write path can forget it): scope is a
-- desk's id, or 'catalogue' for the names of locations and providers the
-- figures show. Counters only, no desk's data: a platform table, read by
-- the reports service.
CREATE TABLE figures_versions (
    scope   TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    -- The transaction that bumped last (PostgreSQL): one bump per
    -- transaction, however many rows it changes.
    last_tx BIGINT
)
{{- if eq .Dialect "postgres"}}
--bun:split
-- Deferred to the commit: the version row is locked only while the
-- transaction commits, after every other lock it takes, so two writers of
-- one desk cannot deadlock on it. SECURITY DEFINER: the writing role (the
-- application, the retention role) needs no right on figures_versions.
CREATE FUNCTION figures_bump() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
    s TEXT;
BEGIN
    IF TG_ARGV[0] = 'catalogue' THEN
        s := 'catalogue';
    ELSIF TG_OP = 'DELETE' THEN
        s := OLD.tenant_id::text;
    ELSE
        s := NEW.tenant_id::text;
    END IF;
    INSERT INTO figures_versions AS v (scope, version, last_tx) VALUES (s, 1, txid_current())
    ON CONFLICT (scope) DO UPDATE SET version = v.version + 1, last_tx = txid_current()
        WHERE v.last_tx IS DISTINCT FROM txid_current();
    RETURN NULL;
END $$
--bun:split
CREATE CONSTRAINT TRIGGER figures_requests AFTER INSERT OR UPDATE OR DELETE ON requests
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION figures_bump('desk')
--bun:split
CREATE CONSTRAINT TRIGGER figures_preferences AFTER INSERT OR UPDATE OR DELETE ON preferences
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION figures_bump('desk')
--bun:split
CREATE CONSTRAINT TRIGGER figures_request_claims AFTER INSERT OR UPDATE OR DELETE ON request_claims
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION figures_bump('desk')
--bun:split
CREATE CONSTRAINT TRIGGER figures_children AFTER INSERT OR UPDATE OR DELETE ON children
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION figures_bump('desk')
--bun:split
CREATE CONSTRAINT TRIGGER figures_families AFTER INSERT OR UPDATE OR DELETE ON families
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION figures_bump('desk')
--bun:split
CREATE CONSTRAINT TRIGGER figures_locations AFTER INSERT OR UPDATE OR DELETE ON locations
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION figures_bump('catalogue')
--bun:split
CREATE CONSTRAINT TRIGGER figures_providers AFTER INSERT OR UPDATE OR DELETE ON providers
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION figures_bump('catalogue')
{{- else}}
--bun:split
-- SQLite: one writer at a time, row triggers. Not INSERT OR IGNORE: the
-- conflict clause of the statement that fires a trigger (an upsert)
-- overrides the one inside it.
CREATE TRIGGER figures_requests_insert AFTER INSERT ON requests BEGIN
    INSERT INTO figures_versions (scope, version) SELECT NEW.tenant_id, 0
        WHERE NOT EXISTS (SELECT 1 FROM figures_versions WHERE scope = NEW.tenant_id);
    UPDATE figures_versions SET version = version + 1 WHERE scope = NEW.tenant_id;
END
--bun:split
CREATE TRIGGER figures_requests_update AFTER UPDATE ON requests BEGIN
    INSERT INTO figures_versions (scope, version) SELECT NEW.tenant_id, 0
        WHERE NOT EXISTS (SELECT 1 FROM figures_versions WHERE scope = NEW.tenant_id);
    UPDATE figures_versions SET version = version + 1 WHERE scope = NEW.tenant_id;
END
--bun:split
CREATE TRIGGER figures_requests_delete AFTER DELETE ON requests BEGIN
    INSERT INTO figures_versions (scope, version) SELECT OLD.tenant_id, 0
        WHERE NOT EXISTS (SELECT 1 FROM figures_versions WHERE scope = OLD.tenant_id);
    UPDATE figures_versions SET version = version + 1 WHERE scope = OLD.tenant_id;
END
--bun:split
CREATE TRIGGER figures_preferences_insert AFTER INSERT ON preferences BEGIN
    INSERT INTO figures_versions (scope, version) SELECT NEW.tenant_id, 0
        WHERE NOT EXISTS (SELECT 1 FROM figures_versions WHERE scope = NEW.tenant_id);
    UPDATE figures_versions SET version = version + 1 WHERE scope = NEW.tenant_id;
END
--bun:split
CREATE TRIGGER figures_preferences_update AFTER UPDATE ON preferences BEGIN
    INSERT INTO figures_versions (scope, version) SELECT NEW.tenant_id, 0
        WHERE NOT EXISTS (SELECT 1 FROM figures_versions WHERE scope = NEW.tenant_id);
    UPDATE figures_versions SET version = version + 1 WHERE scope = NEW.tenant_id;
END
--bun:split
CREATE TRIGGER figures_preferences_delete AFTER DELETE ON preferences BEGIN
    INSERT INTO figures_versions (scope, version) SELECT OLD.tenant_id, 0
        WHERE NOT EXISTS (SELECT 1 FROM figures_versions WHERE scope = OLD.tenant_id);
    UPDATE figures_versions SET version = version + 1 WHERE scope = OLD.tenant_id;
END
--bun:split
CREATE TRIGGER figures_request_claims_insert AFTER INSERT ON request_claims BEGIN
    INSERT INTO figures_versions (scope, version) SELECT NEW.tenant_id, 0
        WHERE NOT EXISTS (SELECT 1 FROM figures_versions WHERE scope = NEW.tenant_id);
    UPDATE figures_versions SET version = version + 1 WHERE scope = NEW.tenant_id;
END
--bun:split
CREATE TRIGGER figures_request_claims_update AFTER UPDATE ON request_claims BEGIN
    INSERT INTO figures_versions (scope, version) SELECT NEW.tenant_id, 0
        WHERE NOT EXISTS (SELECT 1 FROM figures_versions WHERE scope = NEW.tenant_id);
    UPDATE figures_versions SET version = version + 1 WHERE scope = NEW.tenant_id;
END
--bun:split
CREATE TRIGGER figures_request_claims_delete AFTER DELETE ON request_claims BEGIN
    INSERT INTO figures_versions (scope, version) SELECT OLD.tenant_id, 0
        WHERE NOT EXISTS (SELECT 1 FROM figures_versions WHERE scope = OLD.tenant_id);
    UPDATE figures_versions SET version = version + 1 WHERE scope = OLD.tenant_id;
END
--bun:split
CREATE TRIGGER figures_children_insert AFTER INSERT ON children BEGIN
    INSERT INTO figures_versions (scope, version) SELECT NEW.tenant_id, 0
        WHERE NOT EXISTS (SELECT 1 FROM figures_versions WHERE scope = NEW.tenant_id);
    UPDATE figures_versions SET version = version + 1 WHERE scope = NEW.tenant_id;
END
--bun:split
CREATE TRIGGER figures_children_update AFTER UPDATE ON children BEGIN
    INSERT INTO figures_versions (scope, version) SELECT NEW.tenant_id, 0
        WHERE NOT EXISTS (SELECT 1 FROM figures_versions WHERE scope = NEW.tenant_id);
    UPDATE figures_versions SET version = version + 1 WHERE scope = NEW.tenant_id;
END
--bun:split
CREATE TRIGGER figures_children_delete AFTER DELETE ON children BEGIN
    INSERT INTO figures_versions (scope, version) SELECT OLD.tenant_id, 0
        WHERE NOT EXISTS (SELECT 1 FROM figures_versions WHERE scope = OLD.tenant_id);
    UPDATE figures_versions SET version = version + 1 WHERE scope = OLD.tenant_id;
END
--bun:split
CREATE TRIGGER figures_families_insert AFTER INSERT ON families BEGIN
    INSERT INTO figures_versions (scope, version) SELECT NEW.tenant_id, 0
        WHERE NOT EXISTS (SELECT 1 FROM figures_versions WHERE scope = NEW.tenant_id);
    UPDATE figures_versions SET version = version + 1 WHERE scope = NEW.tenant_id;
END
--bun:split
CREATE TRIGGER figures_families_update AFTER UPDATE ON families BEGIN
    INSERT INTO figures_versions (scope, version) SELECT NEW.tenant_id, 0
        WHERE NOT EXISTS (SELECT 1 FROM figures_versions WHERE scope = NEW.tenant_id);
    UPDATE figures_versions SET version = version + 1 WHERE scope = NEW.tenant_id;
END
--bun:split
CREATE TRIGGER figures_families_delete AFTER DELETE ON families BEGIN
    INSERT INTO figures_versions (scope, version) SELECT OLD.tenant_id, 0
        WHERE NOT EXISTS (SELECT 1 FROM figures_versions WHERE scope = OLD.tenant_id);
    UPDATE figures_versions SET version = version + 1 WHERE scope = OLD.tenant_id;
END
--bun:split
CREATE TRIGGER figures_locations_insert AFTER INSERT ON locations BEGIN
    INSERT INTO figures_versions (scope, version) SELECT 'catalogue', 0
        WHERE NOT EXISTS (SELECT 1 FROM figures_versions WHERE scope = 'catalogue');
    UPDATE figures_versions SET version = version + 1 WHERE scope = 'catalogue';
END
--bun:split
CREATE TRIGGER figures_locations_update AFTER UPDATE ON locations BEGIN
    INSERT INTO figures_versions (scope, version) SELECT 'catalogue', 0
        WHERE NOT EXISTS (SELECT 1 FROM figures_versions WHERE scope = 'catalogue');
    UPDATE figures_versions SET version = version + 1 WHERE scope = 'catalogue';
END
--bun:split
CREATE TRIGGER figures_locations_delete AFTER DELETE ON locations BEGIN
    INSERT INTO figures_versions (scope, version) SELECT 'catalogue', 0
        WHERE NOT EXISTS (SELECT 1 FROM figures_versions WHERE scope = 'catalogue');
    UPDATE figures_versions SET version = version + 1 WHERE scope = 'catalogue';
END
--bun:split
CREATE TRIGGER figures_providers_insert AFTER INSERT ON providers BEGIN
    INSERT INTO figures_versions (scope, version) SELECT 'catalogue', 0
        WHERE NOT EXISTS (SELECT 1 FROM figures_versions WHERE scope = 'catalogue');
    UPDATE figures_versions SET version = version + 1 WHERE scope = 'catalogue';
END
--bun:split
CREATE TRIGGER figures_providers_update AFTER UPDATE ON providers BEGIN
    INSERT INTO figures_versions (scope, version) SELECT 'catalogue', 0
        WHERE NOT EXISTS (SELECT 1 FROM figures_versions WHERE scope = 'catalogue');
    UPDATE figures_versions SET version = version + 1 WHERE scope = 'catalogue';
END
--bun:split
CREATE TRIGGER figures_providers_delete AFTER DELETE ON providers BEGIN
    INSERT INTO figures_versions (scope, version) SELECT 'catalogue', 0
        WHERE NOT EXISTS (SELECT 1 FROM figures_versions WHERE scope = 'catalogue');
    UPDATE figures_versions SET version = version + 1 WHERE scope = 'catalogue';
END
{{- end}}
