package requests

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/eventlog"
	"github.com/loket-kinderopvang/loket/internal/platform/sealed"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
)

// ResealRole may rewrite the sealed column of the append-only event log
// (made by the reseal_role migration; PostgreSQL).
const ResealRole = "loket_reseal"

// sealedColumns are the columns behind sealed.Text fields: free text staff
// write about a family (its health or vulnerability, why a request ended,
// why the desk keeps data). Reseal rewrites them; docs/privacy.md lists
// them. role, if set, is the narrow role the rewrite needs.
var sealedColumns = []struct {
	table, column string
	model         func() any
	role          string
}{
	{"requests", "care_need_note", func() any { return &Request{} }, ""},
	{"request_notes", "body", func() any { return &Note{} }, ""},
	{"families", "erasure_reason", func() any { return &Family{} }, ""},
	{"events", "reason", func() any { return &eventlog.Event{} }, ResealRole},
}

// ResealBatch is how many rows one transaction of Reseal rewrites.
const ResealBatch = 200

// Reseal rewrites, for the desk in ctx, every sealed column value that is
// plain text (written before encryption) or sealed with a key other than the
// current one of kr, in transactions of batch rows. It returns how many
// values it rewrote. Old keys must still be in kr to open their values.
func (s *Store) Reseal(ctx context.Context, kr *sealed.Keyring, batch int) (int, error) {
	if batch <= 0 {
		batch = ResealBatch
	}
	total := 0
	for _, c := range sealedColumns {
		for {
			n, err := s.resealBatch(ctx, kr, c.table, c.column, c.model, c.role, batch)
			total += n
			if err != nil {
				return total, fmt.Errorf("requests: reseal %s.%s: %w", c.table, c.column, err)
			}
			if n < batch {
				break
			}
		}
	}
	return total, nil
}

func (s *Store) resealBatch(ctx context.Context, kr *sealed.Keyring, table, column string, model func() any, role string, batch int) (int, error) {
	n := 0
	err := s.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		// The raw stored strings, not sealed.Text: this is the one reader
		// that must see which key sealed a value.
		var rows []struct {
			ID    string `bun:"id"`
			Value string `bun:"value"`
		}
		err := tx.From(table, "t").ColumnExpr("t.id, t.? AS value", bun.Ident(column)).
			Where("t.? <> ''", bun.Ident(column)).Where("t.? NOT LIKE ?", bun.Ident(column), kr.CurrentPrefix()+"%").
			OrderExpr("t.id").Limit(int64(batch)).Scan(ctx, &rows)
		if err != nil {
			return err
		}
		if role != "" && len(rows) > 0 {
			if err := tx.AsRole(ctx, role); err != nil {
				return err
			}
		}
		for _, r := range rows {
			v, err := kr.Reseal(r.Value)
			if err != nil {
				return fmt.Errorf("row %s: %w", r.ID, err)
			}
			q, err := tx.Update(model())
			if err != nil {
				return err
			}
			if _, err := q.Set("? = ?", bun.Ident(column), v).Where("id = ?", r.ID).Exec(ctx); err != nil {
				return err
			}
		}
		n = len(rows)
		return nil
	})
	return n, err
}

// Reseal rewrites the desk's sealed text with kr's current key (see Store.Reseal).
func (s *Service) Reseal(ctx context.Context, kr *sealed.Keyring, batch int) (int, error) {
	return s.store.Reseal(ctx, kr, batch)
}
