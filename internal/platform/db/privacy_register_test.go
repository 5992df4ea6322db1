package db_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
)

// personalPatterns are column-name words that suggest personal data: a
// column whose name contains one of them as a word (split on '_') needs a
// row in docs/privacy.md. Keep the list growing, never shrinking.
var personalPatterns = []string{
	"name", "birth", "email", "mail", "phone", "address", "national", "note", "notes", "text", "description",
	"postcode", "street", "body", "author", "actor", "by", "user", "reason", "subject", "token", "secret",
	"password", "lat", "lon", "digest", "payload", "data", "instance", "result", "audit", "ip", "child",
	"family", "parent", "vulnerable", "care", "health", "comment", "remark", "why",
}

// personalTables hold family or account data: every column of them needs a
// row, whatever its name. A new table of family data belongs here.
var personalTables = []string{
	"families", "children", "parents", "requests", "request_claims", "request_notes", "preferences",
	"request_fingerprints", "events", "round_children", "round_offers", "rounds", "desk_mail", "mail_outbox",
	"users", "password_reset_tokens", "totp_used_codes", "closure_families", "access_log",
}

var registerRow = regexp.MustCompile("(?m)^\\| `([a-z0-9_]+\\.[a-z0-9_]+)` \\|")

// registerEntries reads the table.column of every row of docs/privacy.md's
// tables (the register and the "looked at, not personal" list).
func registerEntries(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../../docs/privacy.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range registerRow.FindAllStringSubmatch(string(b), -1) {
		out = append(out, m[1])
	}
	return out
}

// looksPersonal reports whether table.column needs a register row.
func looksPersonal(column string) bool {
	table, name, _ := strings.Cut(column, ".")
	if slices.Contains(personalTables, table) {
		return true
	}
	for _, word := range strings.Split(name, "_") {
		if slices.Contains(personalPatterns, word) {
			return true
		}
	}
	return false
}

// checkRegister returns the schema's personal-looking columns without a
// register row, the rows naming no column of the schema, and rows given twice.
func checkRegister(schema, register []string) (missing, unknown, twice []string) {
	seen := map[string]bool{}
	for _, r := range register {
		if seen[r] {
			twice = append(twice, r)
		}
		seen[r] = true
		if !slices.Contains(schema, r) {
			unknown = append(unknown, r)
		}
	}
	for _, c := range schema {
		if looksPersonal(c) && !seen[c] {
			missing = append(missing, c)
		}
	}
	return missing, unknown, twice
}

// TestPrivacyRegisterCoversSchema: every personal-looking column of the
// migrated schema (both databases) has a row in docs/privacy.md, and every
// row names a real column.
func TestPrivacyRegisterCoversSchema(t *testing.T) {
	register := registerEntries(t)
	if len(register) < 100 {
		t.Fatalf("read only %d register rows from docs/privacy.md", len(register))
	}
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		missing, unknown, twice := checkRegister(columns(t, dbtest.Open(t, tg.Dialect)), register)
		for _, c := range missing {
			t.Errorf("%s looks personal but has no row in docs/privacy.md (purpose, legal basis, who sees it, retention, purged in)", c)
		}
		for _, c := range unknown {
			t.Errorf("docs/privacy.md names %s, which is not a column of the schema", c)
		}
		for _, c := range twice {
			t.Errorf("docs/privacy.md names %s twice", c)
		}
	})
}

// TestPrivacyRegisterChecker: the check fails for a new personal column
// without a row (by its name, or by its table), for a row without a column,
// and passes for a new column that is neither.
func TestPrivacyRegisterChecker(t *testing.T) {
	schema := []string{"families.id", "families.email", "locations.id", "locations.phone", "tenants.slug"}
	register := []string{"families.id", "families.email", "locations.phone"}
	if m, u, tw := checkRegister(schema, register); len(m)+len(u)+len(tw) != 0 {
		t.Fatalf("a covered schema: %v %v %v", m, u, tw)
	}
	grown := append(slices.Clone(schema), "families.favourite_toy", "locations.contact_person_name", "tenants.max_rounds")
	m, _, _ := checkRegister(grown, register)
	if !slices.Equal(m, []string{"families.favourite_toy", "locations.contact_person_name"}) {
		t.Errorf("new columns without rows: got %v", m)
	}
	_, u, tw := checkRegister(schema, append(slices.Clone(register), "families.shoe_size", "families.email"))
	if !slices.Equal(u, []string{"families.shoe_size"}) || !slices.Equal(tw, []string{"families.email"}) {
		t.Errorf("rows without a column: %v, twice: %v", u, tw)
	}
}

// TestPrivacyRegisterFailsOnScratchColumn: a column added to a migrated
// database (as a new migration would) is caught against the real register.
func TestPrivacyRegisterFailsOnScratchColumn(t *testing.T) {
	d := dbtest.Open(t, db.SQLite)
	if _, err := d.ExecContext(t.Context(), "ALTER TABLE children ADD COLUMN allergy_description TEXT"); err != nil {
		t.Fatal(err)
	}
	missing, _, _ := checkRegister(columns(t, d), registerEntries(t))
	if !slices.Equal(missing, []string{"children.allergy_description"}) {
		t.Errorf("the scratch column must be the one missing row, got %v", missing)
	}
}
