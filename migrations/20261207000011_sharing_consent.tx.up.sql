-- Sharing agreements need the consent of every desk whose data they share
-- (issue 13). One desk's admin proposes (consenting for her own desk's data);
-- an admin of the other desk accepts or refuses. Grants exist only while the
-- agreement is active, and a grant on the receiving desk's data (reciprocal)
-- only after that desk accepted.
--
-- status: proposed, active, refused, withdrawn, revoked. revoked_at and
-- revoked_by now say who ended the agreement by hand (refused, withdrawn or
-- revoked); accepted_at and accepted_by record the receiving desk's consent.
ALTER TABLE sharing_agreements ADD COLUMN status TEXT NOT NULL DEFAULT 'proposed'
--bun:split
ALTER TABLE sharing_agreements ADD COLUMN accepted_at TIMESTAMPTZ
--bun:split
ALTER TABLE sharing_agreements ADD COLUMN accepted_by TEXT NOT NULL DEFAULT ''
--bun:split
-- Existing agreements were written by the granting desk alone: its consent
-- for its own data stands, so they stay active one way. The receiving desk
-- never consented to the reciprocal part, so it is dropped here and its
-- grants are removed by the start-up reconciliation (access.Reconcile),
-- which also writes that step to both desks' event logs.
UPDATE sharing_agreements SET status = CASE WHEN revoked_at IS NULL THEN 'active' ELSE 'revoked' END, reciprocal = FALSE
--bun:split
CREATE INDEX sharing_agreements_status ON sharing_agreements (status)
