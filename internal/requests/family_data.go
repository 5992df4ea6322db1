package requests

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/eventlog"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
)

// FamilyData is everything a desk holds about one family (GDPR art. 15 and
// 20): every row of every table of family data, column by column under the
// names of the register in docs/privacy.md, sealed text opened, and the
// looks at the family from the access log. The parent downloads it from her
// status page.
type FamilyData struct {
	Desk        string    `json:"desk"`
	GeneratedAt time.Time `json:"generated_at"`
	// Tables holds the rows by table name; each row maps column to value.
	Tables map[string][]map[string]any `json:"tables"`
	// Looks are the access events (who looked, when, what, through which
	// agreement), also under Tables["access_log"].
	Looks []eventlog.Access `json:"-"`
	// Family, Children and Requests are typed, for the readable page.
	Family   Family           `json:"-"`
	Children []Child          `json:"-"`
	Requests []Request        `json:"-"`
	History  []eventlog.Event `json:"-"`
}

// FamilyTables are the tables of family data the export reads, with how a
// row belongs to the family ("family", "request" or "mail"). The
// platform-wide duplicate fingerprints (keyed hashes nobody reads) are not
// desk data and not exported.
var FamilyTables = []struct{ Table, By string }{
	{"families", "family"}, {"parents", "family"}, {"children", "family"}, {"requests", "child"},
	{"preferences", "request"}, {"request_claims", "request"}, {"request_notes", "request"},
	{"closure_families", "request"}, {"round_offers", "request"}, {"round_children", "request"},
	{"events", "event"}, {"access_log", "family"}, {"desk_mail", "mail"},
}

// FamilyDataOf reads everything about the family of request id (in the desk
// of ctx).
func (s *Service) FamilyDataOf(ctx context.Context, id RequestID) (*FamilyData, error) {
	out := &FamilyData{GeneratedAt: s.opts.Clock.Now(), Tables: map[string][]map[string]any{}}
	err := s.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		r, err := s.store.load(ctx, tx, id, false)
		if err != nil {
			return err
		}
		var child Child
		if err := tx.Select(&child).Where("id = ?", r.ChildID).Scan(ctx); err != nil {
			return fmt.Errorf("requests: family data: child: %w", err)
		}
		fam := child.FamilyID.UUID
		if err := tx.Select(&out.Family).Where("id = ?", fam).Scan(ctx); err != nil {
			return fmt.Errorf("requests: family data: family: %w", err)
		}
		if err := tx.Select(&out.Family.Parents).Where("family_id = ?", fam).Order("position").Scan(ctx); err != nil {
			return err
		}
		if err := tx.Select(&out.Children).Where("family_id = ?", fam).Order("created_at").Scan(ctx); err != nil {
			return err
		}
		childIDs := make([]uuid.UUID, len(out.Children))
		for i, c := range out.Children {
			childIDs[i] = c.ID.UUID
		}
		var reqIDs []uuid.UUID
		if err := tx.Select((*Request)(nil)).Column("id").Where("child_id IN (?)", bun.In(childIDs)).Order("created_at").Scan(ctx, &reqIDs); err != nil {
			return err
		}
		for _, rid := range reqIDs {
			req, err := s.store.load(ctx, tx, RequestID{UUID: rid}, false)
			if err != nil {
				return err
			}
			out.Requests = append(out.Requests, *req)
			h, err := eventlog.ForSubject(ctx, tx, "request", rid)
			if err != nil {
				return err
			}
			out.History = append(out.History, h...)
		}
		if out.Looks, err = eventlog.AccessTo(ctx, tx, fam); err != nil {
			return err
		}
		mails := []string{}
		if out.Family.Email != "" {
			mails = append(mails, out.Family.Email)
		}
		for _, p := range out.Family.Parents {
			if p.Email != "" {
				mails = append(mails, p.Email)
			}
		}
		for _, t := range FamilyTables {
			q := tx.From(t.Table, "t")
			switch t.By {
			case "family":
				col := "family_id"
				if t.Table == "families" {
					col = "id"
				}
				q = q.Where("t."+col+" = ?", fam)
			case "child":
				q = q.Where("t.child_id IN (?)", bun.In(childIDs))
			case "request":
				q = q.Where("t.request_id IN (?)", bun.In(reqIDs))
			case "event":
				q = q.Where("t.subject_type = 'request'").Where("t.subject_id IN (?)", bun.In(reqIDs))
			case "mail":
				if len(mails) == 0 {
					out.Tables[t.Table] = []map[string]any{}
					continue
				}
				q = q.Where("t.to_address IN (?)", bun.In(mails))
			}
			rows := []map[string]any{}
			if err := q.ColumnExpr("t.*").Scan(ctx, &rows); err != nil {
				return fmt.Errorf("requests: family data: %s: %w", t.Table, err)
			}
			for _, row := range rows {
				for col, v := range row {
					v = plainValue(v, col == "data")
					if text, ok := v.(string); ok && isSealed(t.Table, col) && text != "" {
						opened, err := s.opts.DataKeys.Open(text)
						if err != nil {
							return fmt.Errorf("requests: family data: open %s.%s: %w", t.Table, col, err)
						}
						v = opened
					}
					row[col] = v
				}
			}
			out.Tables[t.Table] = rows
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// plainValue turns what the drivers scan into JSON-friendly values: text
// for bytes (UUIDs on PostgreSQL), and for a JSON column its value.
func plainValue(v any, isJSON bool) any {
	switch x := v.(type) {
	case []byte:
		if len(x) == 16 {
			if u, err := uuid.FromBytes(x); err == nil {
				return u.String()
			}
		}
		return plainValue(string(x), isJSON)
	case [16]byte:
		return uuid.UUID(x).String()
	case string:
		var j any
		if isJSON && json.Unmarshal([]byte(x), &j) == nil {
			return j
		}
		return x
	}
	return v
}

// isSealed reports whether table.column is one of sealedColumns.
func isSealed(table, column string) bool {
	for _, c := range sealedColumns {
		if c.table == table && c.column == column {
			return true
		}
	}
	return false
}
