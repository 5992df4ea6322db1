-- The request lifecycle: what a parent or the desk registers, what providers
-- answer, and the facts the yearly figures are computed from. Columns that
-- reports group by (municipality, neighbourhood, age at start) are copied onto
-- requests at submission, so a report reads one table and its indexes.
ALTER TABLE families ADD COLUMN referred_by TEXT NOT NULL DEFAULT '';
--bun:split
CREATE TABLE parents (
    tenant_id  UUID NOT NULL,
    family_id  UUID NOT NULL,
    position   INTEGER NOT NULL CHECK (position > 0),
    first_name TEXT NOT NULL,
    last_name  TEXT NOT NULL,
    email      TEXT NOT NULL DEFAULT '',
    phone      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, family_id, position),
    FOREIGN KEY (tenant_id, family_id) REFERENCES families (tenant_id, id) ON DELETE CASCADE
);
--bun:split
ALTER TABLE requests ADD COLUMN flexibility_weeks INTEGER NOT NULL DEFAULT 0;
--bun:split
-- care plan: days as "mon,tue,…", whole or half days, hours outside 7-18
ALTER TABLE requests ADD COLUMN care_days TEXT NOT NULL DEFAULT '';
--bun:split
ALTER TABLE requests ADD COLUMN day_part TEXT NOT NULL DEFAULT 'whole';
--bun:split
ALTER TABLE requests ADD COLUMN wider_hours BOOLEAN NOT NULL DEFAULT FALSE;
--bun:split
ALTER TABLE requests ADD COLUMN reason TEXT NOT NULL DEFAULT 'other';
--bun:split
ALTER TABLE requests ADD COLUMN specific_care_need BOOLEAN NOT NULL DEFAULT FALSE;
--bun:split
ALTER TABLE requests ADD COLUMN care_need_note TEXT NOT NULL DEFAULT '';
--bun:split
ALTER TABLE requests ADD COLUMN urgent BOOLEAN NOT NULL DEFAULT FALSE;
--bun:split
ALTER TABLE requests ADD COLUMN privacy_version TEXT NOT NULL DEFAULT '';
--bun:split
-- the API client's Idempotency-Key: a retried submission finds its request
ALTER TABLE requests ADD COLUMN idempotency_key TEXT;
--bun:split
-- bumped to revoke every status link sent so far
ALTER TABLE requests ADD COLUMN status_link_version INTEGER NOT NULL DEFAULT 1;
--bun:split
-- '' (none), suspected (same national number hash), likely (same name, birth
-- date and contact), kept (a worker decided it is another request), merged
ALTER TABLE requests ADD COLUMN duplicate_state TEXT NOT NULL DEFAULT '';
--bun:split
ALTER TABLE requests ADD COLUMN duplicate_of UUID;
--bun:split
ALTER TABLE requests ADD COLUMN status_changed_at TIMESTAMPTZ;
--bun:split
ALTER TABLE requests ADD COLUMN first_answer_at TIMESTAMPTZ;
--bun:split
ALTER TABLE requests ADD COLUMN placed_at TIMESTAMPTZ;
--bun:split
ALTER TABLE requests ADD COLUMN placed_location_id UUID;
--bun:split
ALTER TABLE requests ADD COLUMN municipality_nis TEXT;
--bun:split
ALTER TABLE requests ADD COLUMN neighbourhood TEXT NOT NULL DEFAULT '';
--bun:split
-- age in months at the desired start; negative for a child not yet born
ALTER TABLE requests ADD COLUMN age_months INTEGER NOT NULL DEFAULT 0;
--bun:split
CREATE UNIQUE INDEX requests_idempotency ON requests (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
--bun:split
CREATE INDEX requests_submitted ON requests (tenant_id, submitted_at);
--bun:split
-- priority claims made as a sworn statement (work, single_parent, …)
CREATE TABLE request_claims (
    tenant_id  UUID NOT NULL,
    request_id UUID NOT NULL,
    claim      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, request_id, claim),
    FOREIGN KEY (tenant_id, request_id) REFERENCES requests (tenant_id, id) ON DELETE CASCADE
);
--bun:split
CREATE TABLE request_notes (
    tenant_id  UUID NOT NULL,
    id         UUID NOT NULL,
    request_id UUID NOT NULL,
    author     TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, request_id) REFERENCES requests (tenant_id, id) ON DELETE CASCADE
);
--bun:split
CREATE INDEX request_notes_request ON request_notes (tenant_id, request_id, created_at);
--bun:split
ALTER TABLE preferences ADD COLUMN answer_due TIMESTAMPTZ;
--bun:split
ALTER TABLE preferences ADD COLUMN answered_at TIMESTAMPTZ;
--bun:split
ALTER TABLE preferences ADD COLUMN answered_by TEXT NOT NULL DEFAULT '';
--bun:split
ALTER TABLE preferences ADD COLUMN no_place_reason TEXT NOT NULL DEFAULT '';
--bun:split
ALTER TABLE preferences ADD COLUMN offer_start DATE;
--bun:split
ALTER TABLE preferences ADD COLUMN offer_days TEXT NOT NULL DEFAULT '';
--bun:split
ALTER TABLE preferences ADD COLUMN offer_deadline TIMESTAMPTZ;
--bun:split
ALTER TABLE preferences ADD COLUMN responded_at TIMESTAMPTZ;
--bun:split
CREATE INDEX preferences_open ON preferences (tenant_id, location_id, state, answer_due);
--bun:split
-- Keyed hashes that find the same child across every desk of the platform:
-- kind 'nn' is the national register number, 'likely' the child's name, birth
-- date and parent contact. Platform data on purpose (no row-level security):
-- it holds only keyed hashes, and a match shows a worker no more than which
-- desk holds the other request.
CREATE TABLE request_fingerprints (
    kind       TEXT NOT NULL,
    digest     TEXT NOT NULL,
    tenant_id  UUID NOT NULL REFERENCES tenants (id),
    request_id UUID NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (kind, digest, tenant_id, request_id)
);
{{.TenantOwned "parents" "request_claims" "request_notes"}}
