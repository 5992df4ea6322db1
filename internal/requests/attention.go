package requests

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
)

// DeskAttention counts what a desk's staff should look at today: the
// numbers on the staff home (/werk), each one a filter of the worklist.
type DeskAttention struct {
	Open int // open requests (submitted, active, offered)
	// ToCheck are registered requests the desk has not checked yet, plus
	// suspected duplicates and preferences a provider handed back.
	ToCheck int
	// Overdue are open requests with a provider's answer past its deadline.
	Overdue int
	// VulnerableWaiting are vulnerable families with an open request and no
	// offer yet.
	VulnerableWaiting int
	// OpenOffers are requests with an offer the parent has not answered.
	OpenOffers int
}

// DeskAttention counts the desk's attention numbers in one query through
// the tenant store (the desk is in ctx).
func (s *Service) DeskAttention(ctx context.Context) (DeskAttention, error) {
	now := s.opts.Clock.Now()
	var out DeskAttention
	err := s.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		// CASE sums instead of FILTER: the same SQL on SQLite and PostgreSQL.
		return tx.Select((*Request)(nil)).ModelTableExpr("requests AS request").
			ColumnExpr("count(*) AS open").
			ColumnExpr("coalesce(sum(CASE WHEN request.status = 'submitted' OR request.duplicate_state IN (?) OR EXISTS ("+
				"SELECT 1 FROM preferences p WHERE p.tenant_id = request.tenant_id AND p.request_id = request.id AND p.state = 'forwarded')"+
				" THEN 1 ELSE 0 END), 0) AS to_check", bun.In([]string{DuplicateSuspected, DuplicateLikely})).
			ColumnExpr("coalesce(sum(CASE WHEN EXISTS (SELECT 1 FROM preferences p WHERE p.tenant_id = request.tenant_id AND "+
				"p.request_id = request.id AND p.state = 'pending' AND p.answer_due < ?) THEN 1 ELSE 0 END), 0) AS overdue", now).
			ColumnExpr("coalesce(sum(CASE WHEN f.vulnerable AND request.status <> 'offered' THEN 1 ELSE 0 END), 0) AS vulnerable_waiting").
			ColumnExpr("coalesce(sum(CASE WHEN request.status = 'offered' THEN 1 ELSE 0 END), 0) AS open_offers").
			Join("JOIN children AS c ON c.tenant_id = request.tenant_id AND c.id = request.child_id").
			Join("JOIN families AS f ON f.tenant_id = c.tenant_id AND f.id = c.family_id").
			Where("request.status IN (?)", bun.In([]Status{StatusSubmitted, StatusActive, StatusOffered})).
			Scan(ctx, &out.Open, &out.ToCheck, &out.Overdue, &out.VulnerableWaiting, &out.OpenOffers)
	})
	if err != nil {
		return out, fmt.Errorf("requests: desk attention: %w", err)
	}
	return out, nil
}

// ProviderAttention counts a provider's open work in its inbox: the
// numbers on the staff home. Only counts leave each desk, no family data, so
// unlike Inbox nothing is written to the desks' event logs.
type ProviderAttention struct {
	ToAnswer   int // preferences waiting for the provider's answer
	Overdue    int // of which past the answer deadline
	OpenOffers int // offers the parent has not answered yet
}

// ProviderAttention counts the open preferences for these locations in every
// desk (parents may list a location of another desk), one tenant-bound
// query per desk.
func (s *Service) ProviderAttention(ctx context.Context, locations []uuid.UUID) (ProviderAttention, error) {
	var out ProviderAttention
	if len(locations) == 0 {
		return out, nil
	}
	now := s.opts.Clock.Now()
	for _, desk := range s.opts.Desks.All() {
		var n ProviderAttention
		err := s.tenants.Tx(tenancy.WithTenant(ctx, desk.ID), func(ctx context.Context, tx *tenancy.Tx) error {
			return tx.Select((*Preference)(nil)).
				ColumnExpr("coalesce(sum(CASE WHEN preference.state IN ('pending', 'waiting_list') THEN 1 ELSE 0 END), 0)").
				ColumnExpr("coalesce(sum(CASE WHEN preference.state = 'pending' AND preference.answer_due < ? THEN 1 ELSE 0 END), 0)", now).
				ColumnExpr("coalesce(sum(CASE WHEN preference.state = 'offered' THEN 1 ELSE 0 END), 0)").
				Join("JOIN requests AS r ON r.tenant_id = preference.tenant_id AND r.id = preference.request_id").
				Where("preference.location_id IN (?)", bun.In(locations)).
				Where("preference.state IN (?)", bun.In(InboxStates)).
				Where("r.status IN (?)", bun.In([]Status{StatusSubmitted, StatusActive, StatusOffered})).
				Scan(ctx, &n.ToAnswer, &n.Overdue, &n.OpenOffers)
		})
		if err != nil {
			return out, fmt.Errorf("requests: provider attention in desk %s: %w", desk.Slug, err)
		}
		out.ToAnswer += n.ToAnswer
		out.Overdue += n.Overdue
		out.OpenOffers += n.OpenOffers
	}
	return out, nil
}
