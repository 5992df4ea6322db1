package access

import (
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
)

type fakeDesks map[string]tenancy.ID

func (f fakeDesks) DeskBySlug(s string) (Desk, bool) {
	id, ok := f[s]
	return Desk{ID: id, Slug: s}, ok
}
func (f fakeDesks) DeskByID(id tenancy.ID) (Desk, bool) {
	for s, d := range f {
		if d == id {
			return Desk{ID: d, Slug: s}, true
		}
	}
	return Desk{}, false
}

func TestNewAgreementChecks(t *testing.T) {
	a, b := tenancy.NewID(), tenancy.NewID()
	desks := fakeDesks{"a": a, "b": b}
	ok := NewAgreement{Granting: a, Receiving: "b", Access: SharedWaitingList, StartsOn: "2027-01-01", EndsOn: "2027-07-01"}
	cases := []struct {
		name  string
		edit  func(*NewAgreement)
		field string
		key   string
	}{
		{"valid", func(*NewAgreement) {}, "", ""},
		{"no receiving desk", func(n *NewAgreement) { n.Receiving = "" }, "receiving", "access.error.receiving_empty"},
		{"unknown desk", func(n *NewAgreement) { n.Receiving = "c" }, "receiving", "access.error.receiving_unknown"},
		{"itself", func(n *NewAgreement) { n.Receiving = "a" }, "receiving", "access.error.receiving_self"},
		{"unknown access", func(n *NewAgreement) { n.Access = "everything" }, "access", "access.error.access"},
		{"bad start", func(n *NewAgreement) { n.StartsOn = "1/1/2027" }, "starts_on", "access.error.date"},
		{"bad end", func(n *NewAgreement) { n.EndsOn = "morgen" }, "ends_on", "access.error.date"},
		{"end before start", func(n *NewAgreement) { n.EndsOn = "2026-12-31" }, "ends_on", "access.error.end_before_start"},
		{"end on start", func(n *NewAgreement) { n.EndsOn = "2027-01-01" }, "ends_on", "access.error.end_before_start"},
	}
	for _, c := range cases {
		n := ok
		c.edit(&n)
		_, _, _, fe := n.check(desks)
		if c.field == "" {
			if fe != nil {
				t.Errorf("%s: %v", c.name, fe)
			}
			continue
		}
		if len(fe) != 1 || fe[0].Field != c.field || fe[0].Key != c.key {
			t.Errorf("%s: got %v, want %s=%s", c.name, fe, c.field, c.key)
		}
	}
}

func TestAgreementCurrent(t *testing.T) {
	start := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	a := Agreement{StartsAt: start, EndsAt: start.AddDate(0, 6, 0)}
	for at, want := range map[time.Time]bool{
		start.Add(-time.Second): false, start: true, start.AddDate(0, 6, 0).Add(-time.Second): true, start.AddDate(0, 6, 0): false,
	} {
		if a.Current(at) != want {
			t.Errorf("current at %s: want %v", at, want)
		}
	}
	a.RevokedAt = start
	if a.Current(start.AddDate(0, 1, 0)) {
		t.Error("a revoked agreement is not current")
	}
	if len(SharedWaitingList.grants()) != 8 || len(ReadRequestsInArea.grants()) != 2 || Access("x").Valid() {
		t.Error("grants per access: workers and admins of the receiving desk")
	}
}
