DROP TABLE request_fingerprints
--bun:split
DROP INDEX preferences_open
--bun:split
DROP INDEX requests_submitted
--bun:split
DROP INDEX requests_idempotency
--bun:split
DROP TABLE request_notes
--bun:split
DROP TABLE request_claims
--bun:split
DROP TABLE parents
--bun:split
ALTER TABLE preferences DROP COLUMN responded_at
--bun:split
ALTER TABLE preferences DROP COLUMN offer_deadline
--bun:split
ALTER TABLE preferences DROP COLUMN offer_days
--bun:split
ALTER TABLE preferences DROP COLUMN offer_start
--bun:split
ALTER TABLE preferences DROP COLUMN no_place_reason
--bun:split
ALTER TABLE preferences DROP COLUMN answered_by
--bun:split
ALTER TABLE preferences DROP COLUMN answered_at
--bun:split
ALTER TABLE preferences DROP COLUMN answer_due
--bun:split
ALTER TABLE requests DROP COLUMN age_months
--bun:split
ALTER TABLE requests DROP COLUMN neighbourhood
--bun:split
ALTER TABLE requests DROP COLUMN municipality_nis
--bun:split
ALTER TABLE requests DROP COLUMN placed_location_id
--bun:split
ALTER TABLE requests DROP COLUMN placed_at
--bun:split
ALTER TABLE requests DROP COLUMN first_answer_at
--bun:split
ALTER TABLE requests DROP COLUMN status_changed_at
--bun:split
ALTER TABLE requests DROP COLUMN duplicate_of
--bun:split
ALTER TABLE requests DROP COLUMN duplicate_state
--bun:split
ALTER TABLE requests DROP COLUMN status_link_version
--bun:split
ALTER TABLE requests DROP COLUMN idempotency_key
--bun:split
ALTER TABLE requests DROP COLUMN privacy_version
--bun:split
ALTER TABLE requests DROP COLUMN urgent
--bun:split
ALTER TABLE requests DROP COLUMN care_need_note
--bun:split
ALTER TABLE requests DROP COLUMN specific_care_need
--bun:split
ALTER TABLE requests DROP COLUMN reason
--bun:split
ALTER TABLE requests DROP COLUMN wider_hours
--bun:split
ALTER TABLE requests DROP COLUMN day_part
--bun:split
ALTER TABLE requests DROP COLUMN care_days
--bun:split
ALTER TABLE requests DROP COLUMN flexibility_weeks
--bun:split
ALTER TABLE families DROP COLUMN referred_by
