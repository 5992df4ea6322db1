package requests

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
)

// Label names a request as desk staff know it: the child and when the
// family asked, never its id (issue 20, point 3).
type Label struct {
	ChildName    string
	DesiredStart time.Time
	SubmittedAt  time.Time
}

// Labels returns the labels of the desk's requests with these ids, in one
// query through the tenant store (the desk is in ctx).
func (s *Service) Labels(ctx context.Context, ids []RequestID) (map[RequestID]Label, error) {
	out := make(map[RequestID]Label, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		ID           RequestID `bun:"id"`
		First        string    `bun:"first_name"`
		Last         string    `bun:"last_name"`
		DesiredStart time.Time `bun:"desired_start"`
		SubmittedAt  time.Time `bun:"submitted_at"`
	}
	err := s.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		return tx.Select((*Request)(nil)).ModelTableExpr("requests AS request").
			ColumnExpr("request.id, c.first_name, c.last_name, request.desired_start, request.submitted_at").
			Join("JOIN children AS c ON c.tenant_id = request.tenant_id AND c.id = request.child_id").
			Where("request.id IN (?)", bun.In(ids)).Scan(ctx, &rows)
	})
	if err != nil {
		return nil, fmt.Errorf("requests: labels: %w", err)
	}
	for _, r := range rows {
		out[r.ID] = Label{ChildName: r.First + " " + r.Last, DesiredStart: r.DesiredStart, SubmittedAt: r.SubmittedAt}
	}
	return out, nil
}
