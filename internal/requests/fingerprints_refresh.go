package requests

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
)

// fingerprintLegacy is the kind of the first "likely" rule: the child with
// the parent's e-mail AND phone in one digest (a request written once with
// and once without a phone number was not found; issue 20, point 10).
const fingerprintLegacy = "likely"

// RefreshFingerprints replaces the desk's fingerprints of the legacy likely
// rule by the current ones (the child with the parent's e-mail OR phone), so
// that requests registered before the rule changed are found by new
// registrations and in the case page's duplicate hints. The server runs it
// at start-up for every desk; a desk without legacy rows costs one query, so
// a second run changes nothing. It returns the number of requests refreshed.
func (s *Service) RefreshFingerprints(ctx context.Context) (int, error) {
	n := 0
	err := s.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		var old []Fingerprint
		if err := tx.Select(&old).Where("kind = ?", fingerprintLegacy).Scan(ctx); err != nil {
			return fmt.Errorf("requests: legacy fingerprints: %w", err)
		}
		if len(old) == 0 {
			return nil
		}
		since := map[uuid.UUID]Fingerprint{} // request → its oldest legacy row (keeps the order of registration)
		for _, fp := range old {
			if o, ok := since[fp.RequestID]; !ok || fp.CreatedAt.Before(o.CreatedAt) {
				since[fp.RequestID] = fp
			}
		}
		ids := make([]uuid.UUID, 0, len(since))
		for id := range since {
			ids = append(ids, id)
		}
		slices.SortFunc(ids, func(a, b uuid.UUID) int { return cmp.Compare(a.String(), b.String()) })

		var reqs []Request
		if err := tx.Select(&reqs).Column("id", "child_id").Where("id IN (?)", bun.In(ids)).Scan(ctx); err != nil {
			return fmt.Errorf("requests: refresh fingerprints: %w", err)
		}
		var childIDs []ChildID
		for _, r := range reqs {
			childIDs = append(childIDs, r.ChildID)
		}
		var children []Child
		var fams []Family
		var parents []Parent
		if len(childIDs) > 0 {
			if err := tx.Select(&children).Where("id IN (?)", bun.In(childIDs)).Scan(ctx); err != nil {
				return fmt.Errorf("requests: refresh fingerprints: %w", err)
			}
			var famIDs []FamilyID
			for _, c := range children {
				famIDs = append(famIDs, c.FamilyID)
			}
			if err := tx.Select(&fams).Where("id IN (?)", bun.In(famIDs)).Scan(ctx); err != nil {
				return fmt.Errorf("requests: refresh fingerprints: %w", err)
			}
			if err := tx.Select(&parents).Where("family_id IN (?)", bun.In(famIDs)).Order("family_id", "position").Scan(ctx); err != nil {
				return fmt.Errorf("requests: refresh fingerprints: %w", err)
			}
		}
		childOf := map[ChildID]Child{}
		for _, c := range children {
			childOf[c.ID] = c
		}
		famOf := map[FamilyID]Family{}
		for _, f := range fams {
			famOf[f.ID] = f
		}
		parentsOf := map[FamilyID][]Parent{}
		for _, p := range parents {
			parentsOf[p.FamilyID] = append(parentsOf[p.FamilyID], p)
		}

		// A request may already hold some current rows (written by a later
		// change); those are kept, not written twice.
		var have []Fingerprint
		if err := tx.Select(&have).Where("request_id IN (?) AND kind IN (?)", bun.In(ids), bun.In([]string{fingerprintEmail, fingerprintPhone})).
			Scan(ctx); err != nil {
			return fmt.Errorf("requests: refresh fingerprints: %w", err)
		}
		type key struct {
			kind, digest string
			req          uuid.UUID
		}
		seen := map[key]bool{}
		for _, fp := range have {
			seen[key{fp.Kind, fp.Digest, fp.RequestID}] = true
		}
		var prints []Fingerprint
		for _, r := range reqs {
			c, ok := childOf[r.ChildID]
			if !ok {
				continue
			}
			fam := famOf[c.FamilyID]
			for _, k := range s.likelyFingerprints(c.FirstName, c.LastName, c.BornOrExpected(), fam, parentsOf[c.FamilyID]) {
				if seen[key{k.kind, k.digest, r.ID.UUID}] {
					continue
				}
				seen[key{k.kind, k.digest, r.ID.UUID}] = true
				prints = append(prints, Fingerprint{Kind: k.kind, Digest: k.digest, RequestID: r.ID.UUID, CreatedAt: since[r.ID.UUID].CreatedAt})
			}
			n++
		}
		if _, err := tx.Delete((*Fingerprint)(nil)).Where("kind = ?", fingerprintLegacy).Exec(ctx); err != nil {
			return fmt.Errorf("requests: drop legacy fingerprints: %w", err)
		}
		if len(prints) > 0 {
			if err := tx.InsertAll(ctx, &prints); err != nil {
				return fmt.Errorf("requests: refresh fingerprints: %w", err)
			}
		}
		return nil
	})
	return n, err
}
