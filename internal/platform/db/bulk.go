package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/schema"
)

// InsertMany inserts every row of every slice in sets (each a pointer to a
// slice of bun models, or of pointers to them) with one statement.
//
// On PostgreSQL the values travel as one array parameter per column, and the
// statement text does not depend on the number of rows:
//
//	WITH t1 AS (INSERT INTO a (x, y) SELECT * FROM unnest($1::uuid[], $2::varchar[]))
//	INSERT INTO b (z) SELECT * FROM unnest($3::bigint[])
//
// The server prepares it once per connection and never parses the values,
// where bun's multi-row insert writes every value into new SQL text that is
// parsed and planned each time; and a dozen tables cost one round trip, not a
// dozen. Foreign keys between the sets hold: PostgreSQL checks them when the
// whole statement is done. A nil pointer or a zero `nullzero` field is NULL;
// a column that is NULL in every row is left out, so its default applies.
// SQLite takes bun's insert, one statement per set, leaving out the same
// columns.
func InsertMany(ctx context.Context, idb bun.IDB, sets ...any) error {
	exec := rawExecer(idb)
	pg := idb.Dialect().Name() == dialect.PG && exec != nil
	var inserts []string
	var tables []string
	args := []any{pgx.QueryExecModeCacheStatement}
	for _, rows := range sets {
		v := reflect.Indirect(reflect.ValueOf(rows))
		if v.Kind() != reflect.Slice {
			return fmt.Errorf("db: InsertMany needs pointers to slices, not %T", rows)
		}
		if v.Len() == 0 {
			continue
		}
		typ := v.Type().Elem()
		if typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		table := idb.Dialect().Tables().Get(typ)
		cols := make([][]any, len(table.Fields))
		for i := range v.Len() {
			strct := reflect.Indirect(v.Index(i))
			for j, f := range table.Fields {
				val, err := columnValue(f, strct)
				if err != nil {
					return fmt.Errorf("db: insert into %s: %w", table.Name, err)
				}
				cols[j] = append(cols[j], val)
			}
		}
		if !pg {
			var unset []string
			for j, f := range table.Fields {
				if allNil(cols[j]) {
					unset = append(unset, f.Name)
				}
			}
			if _, err := idb.NewInsert().Model(rows).ExcludeColumn(unset...).Exec(ctx); err != nil {
				return fmt.Errorf("db: insert into %s: %w", table.Name, err)
			}
			continue
		}
		var names, arrays []string
		for j, f := range table.Fields {
			if allNil(cols[j]) {
				continue
			}
			if f.CreateTableSQLType == "" {
				return fmt.Errorf("db: insert into %s: no SQL type for %s", table.Name, f.Name)
			}
			args = append(args, typedArray(cols[j], f.CreateTableSQLType))
			names = append(names, string(f.SQLName))
			arrays = append(arrays, "$"+strconv.Itoa(len(args)-1)+"::"+f.CreateTableSQLType+"[]")
		}
		inserts = append(inserts, "INSERT INTO "+string(table.SQLName)+" ("+strings.Join(names, ", ")+
			") SELECT * FROM unnest("+strings.Join(arrays, ", ")+")")
		tables = append(tables, table.Name)
	}
	if len(inserts) == 0 {
		return nil
	}
	var q strings.Builder
	for i, ins := range inserts[:len(inserts)-1] {
		if i == 0 {
			q.WriteString("WITH ")
		} else {
			q.WriteString(", ")
		}
		q.WriteString("t" + strconv.Itoa(i) + " AS (" + ins + ")")
	}
	if len(inserts) > 1 {
		q.WriteString(" ")
	}
	q.WriteString(inserts[len(inserts)-1])
	if _, err := exec.ExecContext(ctx, q.String(), args...); err != nil {
		return fmt.Errorf("db: insert into %s: %w", strings.Join(tables, ", "), err)
	}
	return nil
}

// rawExecer is the database/sql handle under bun: bun would write the
// arguments into the SQL text, and the point here is to send them apart.
func rawExecer(idb bun.IDB) interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
} {
	switch h := idb.(type) {
	case bun.Tx:
		return h.Tx
	case *bun.Tx:
		return h.Tx
	case *bun.DB:
		return h.DB
	}
	return nil
}

// columnValue is a field's value as a plain driver value (string, int64,
// float64, bool, time.Time, []byte) or nil for NULL.
func columnValue(f *schema.Field, strct reflect.Value) (any, error) {
	fv := f.Value(strct)
	if (f.IsPtr && fv.IsNil()) || (f.NullZero && f.IsZero != nil && f.IsZero(fv)) {
		return nil, nil
	}
	if valuer, ok := fv.Interface().(driver.Valuer); ok {
		return valuer.Value()
	}
	for fv.Kind() == reflect.Pointer {
		fv = fv.Elem()
	}
	switch fv.Kind() {
	case reflect.String:
		return fv.String(), nil
	case reflect.Bool:
		return fv.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return fv.Int(), nil
	case reflect.Uint8, reflect.Uint16, reflect.Uint32:
		return int64(fv.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return fv.Float(), nil
	case reflect.Slice:
		if fv.Type().Elem().Kind() == reflect.Uint8 {
			if fv.IsNil() {
				return nil, nil
			}
			return fv.Bytes(), nil
		}
	}
	if t, ok := fv.Interface().(time.Time); ok {
		return t, nil
	}
	return fv.Interface(), nil
}

// typedArray turns a column of plain values into a slice of one element
// type (pointers, nil for NULL), so pgx plans the encoding once per column
// instead of once per value, and sends it in binary.
func typedArray(vs []any, sqlType string) any {
	var kind any
	for _, v := range vs {
		if v == nil {
			continue
		}
		if kind == nil {
			kind = v
		}
		if reflect.TypeOf(v) != reflect.TypeOf(kind) {
			return vs
		}
	}
	switch kind.(type) {
	case string:
		if sqlType == "uuid" {
			return uuids(vs)
		}
		return pointers[string](vs)
	case int64:
		return pointers[int64](vs)
	case float64:
		return pointers[float64](vs)
	case bool:
		return pointers[bool](vs)
	case time.Time:
		return pointers[time.Time](vs)
	case []byte:
		out := make([][]byte, len(vs))
		for i, v := range vs {
			if v != nil {
				out[i] = v.([]byte)
			}
		}
		return out
	}
	return vs
}

// uuids parses text UUIDs: pgx sends strings to a uuid[] only as text,
// which the server then parses value by value.
func uuids(vs []any) any {
	out := make([]pgtype.UUID, len(vs))
	for i, v := range vs {
		if v == nil {
			continue
		}
		id, err := uuid.Parse(v.(string))
		if err != nil {
			return pointers[string](vs) // let the server say what is wrong
		}
		out[i] = pgtype.UUID{Bytes: id, Valid: true}
	}
	return out
}

func pointers[T any](vs []any) []*T {
	out := make([]*T, len(vs))
	for i, v := range vs {
		if v != nil {
			t := v.(T)
			out[i] = &t
		}
	}
	return out
}

func allNil(vs []any) bool {
	for _, v := range vs {
		if v != nil {
			return false
		}
	}
	return true
}
