package sealed

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// ResealColumn rewrites, in a platform table (no desk's rows) with an id
// column, every value of column that is plain (stored before sealing) or
// sealed with a key other than kr's current one, in transactions of batch
// rows. It returns how many values it rewrote. Desk tables go through their
// tenant store instead (requests.Store.Reseal).
func ResealColumn(ctx context.Context, d *bun.DB, kr *Keyring, table, column string, batch int) (int, error) {
	if batch <= 0 {
		return 0, fmt.Errorf("sealed: reseal %s.%s: batch %d", table, column, batch)
	}
	total := 0
	for {
		n := 0
		err := d.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			// The raw stored strings, not Text: this reader must see which key sealed a value.
			var rows []struct {
				ID    string `bun:"id"`
				Value string `bun:"value"`
			}
			err := tx.NewSelect().Table(table).ColumnExpr("id, ? AS value", bun.Ident(column)).
				Where("? <> '' AND ? NOT LIKE ?", bun.Ident(column), bun.Ident(column), kr.CurrentPrefix()+"%").
				OrderExpr("id").Limit(int64(batch)).Scan(ctx, &rows)
			if err != nil {
				return err
			}
			for _, r := range rows {
				v, err := kr.Reseal(r.Value)
				if err != nil {
					return fmt.Errorf("%s %s: %w", table, r.ID, err)
				}
				if _, err := tx.NewUpdate().Table(table).Set("? = ?", bun.Ident(column), v).Where("id = ?", r.ID).Exec(ctx); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		total += n
		if err != nil {
			return total, fmt.Errorf("sealed: reseal %s.%s: %w", table, column, err)
		}
		if n < batch {
			return total, nil
		}
	}
}
