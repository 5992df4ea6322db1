package db_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
)

type bulkParent struct {
	bun.BaseModel `bun:"table:bulk_parents"`

	ID       uuid.UUID       `bun:"id,pk,type:uuid"`
	Name     string          `bun:"name,notnull"`
	Nick     string          `bun:"nick,nullzero"`
	Size     int             `bun:"size,notnull"`
	Open     bool            `bun:"open,notnull"`
	At       time.Time       `bun:"at,notnull"`
	Due      *time.Time      `bun:"due"`
	Day      *time.Time      `bun:"day,type:date"`
	Data     json.RawMessage `bun:"data,type:jsonb,nullzero"`
	Category string          `bun:"category,nullzero"` // NULL in every row: the default applies
}

type bulkChild struct {
	bun.BaseModel `bun:"table:bulk_children"`

	ParentID uuid.UUID `bun:"parent_id,pk,type:uuid"`
	Rank     int       `bun:"rank,pk"`
}

// TestInsertManyKeepsEveryValue inserts parents and their children in one
// call (one statement on PostgreSQL) and reads every value back: NULLs,
// dates, JSON, text with quotes, a default for a column no row sets; the
// children's foreign key holds although both tables are written together.
func TestInsertManyKeepsEveryValue(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		ctx := context.Background()
		d := tg.Owner(t)
		for _, q := range []string{
			`CREATE TABLE bulk_parents (id UUID PRIMARY KEY, name TEXT NOT NULL, nick TEXT, size INTEGER NOT NULL,
				open BOOLEAN NOT NULL, at TIMESTAMPTZ NOT NULL, due TIMESTAMPTZ, day DATE, data JSONB,
				category TEXT NOT NULL DEFAULT 'general')`,
			`CREATE TABLE bulk_children (parent_id UUID NOT NULL REFERENCES bulk_parents (id), rank INTEGER NOT NULL,
				PRIMARY KEY (parent_id, rank))`,
		} {
			if _, err := d.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		at := time.Date(2027, 3, 4, 5, 6, 7, 890000000, time.UTC)
		day := time.Date(2027, 9, 1, 0, 0, 0, 0, time.UTC)
		parents := []*bulkParent{
			{ID: uuid.New(), Name: `Kinderdagverblijf "De Bij" 't Hof`, Nick: "bij", Size: 18, Open: true, At: at, Due: &at, Day: &day, Data: json.RawMessage(`{"a":[1,2]}`)},
			{ID: uuid.New(), Name: "Onthaalouder", Size: 4, At: at},
			{ID: uuid.New(), Name: "Ééntje", Size: 0, At: at.Add(time.Hour)},
		}
		children := []bulkChild{{ParentID: parents[0].ID, Rank: 1}, {ParentID: parents[0].ID, Rank: 2}, {ParentID: parents[2].ID, Rank: 1}}
		err := d.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return db.InsertMany(ctx, tx, &parents, &children, &[]bulkChild{})
		})
		if err != nil {
			t.Fatal(err)
		}
		var got []bulkParent
		if err := d.NewSelect().Model(&got).Order("size DESC").Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 {
			t.Fatalf("%d parents stored", len(got))
		}
		p := got[0]
		if p.ID != parents[0].ID || p.Name != parents[0].Name || p.Nick != "bij" || p.Size != 18 || !p.Open ||
			!p.At.Equal(at) || p.Due == nil || !p.Due.Equal(at) || p.Day == nil || p.Day.Format(time.DateOnly) != "2027-09-01" {
			t.Errorf("first parent: %+v", p)
		}
		var data map[string][]int
		if err := json.Unmarshal(p.Data, &data); err != nil || len(data["a"]) != 2 {
			t.Errorf("JSON: %s (%v)", p.Data, err)
		}
		if q := got[1]; q.Nick != "" || q.Due != nil || q.Day != nil || q.Data != nil || q.Open {
			t.Errorf("NULLs: %+v", q)
		}
		var categories []string
		if err := d.NewSelect().Table("bulk_parents").Column("category").Scan(ctx, &categories); err != nil || len(categories) != 3 || categories[0] != "general" {
			t.Errorf("a column no row sets takes its default: %v (%v)", categories, err)
		}
		n, err := d.NewSelect().Table("bulk_children").Count(ctx)
		if err != nil || n != 3 {
			t.Errorf("%d children (%v)", n, err)
		}
		// A child without its parent breaks the foreign key: nothing is stored.
		err = d.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return db.InsertMany(ctx, tx, &[]bulkChild{{ParentID: parents[1].ID, Rank: 1}, {ParentID: uuid.New(), Rank: 1}})
		})
		if err == nil {
			t.Error("a child of no parent was stored")
		}
		if n, _ := d.NewSelect().Table("bulk_children").Count(ctx); n != 3 {
			t.Errorf("%d children after the failed insert, want 3", n)
		}
	})
}
