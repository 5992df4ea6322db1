package access

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/internal/platform/authz"
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
func (f fakeDesks) AllDesks() []Desk {
	var out []Desk
	for s, d := range f {
		out = append(out, Desk{ID: d, Slug: s})
	}
	return out
}

func TestNewAgreementChecks(t *testing.T) {
	a, b := tenancy.NewID(), tenancy.NewID()
	desks := fakeDesks{"a": a, "b": b}
	ok := NewAgreement{Receiving: "b", Access: SharedWaitingList, StartsOn: "2027-01-01", EndsOn: "2027-07-01"}
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
		_, _, _, fe := n.check(desks, a)
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
	a := Agreement{StartsAt: start, EndsAt: start.AddDate(0, 6, 0), Status: StatusActive}
	for at, want := range map[time.Time]bool{
		start.Add(-time.Second): false, start: true, start.AddDate(0, 6, 0).Add(-time.Second): true, start.AddDate(0, 6, 0): false,
	} {
		if a.Current(at) != want {
			t.Errorf("current at %s: want %v", at, want)
		}
	}
	a.RevokedAt, a.Status = start, StatusRevoked
	if a.Current(start.AddDate(0, 1, 0)) {
		t.Error("a revoked agreement is not current")
	}
	if len(SharedWaitingList.grants()) != 8 || len(ReadRequestsInArea.grants()) != 2 || Access("x").Valid() {
		t.Error("grants per access: workers and admins of the receiving desk")
	}
}

// TestAgreementOwnersNeedConsent: an agreement grants a desk's data only
// when that desk consented: nothing while proposed or ended; the granting
// desk's data after acceptance; the receiving desk's own data (reciprocal)
// only with its acceptance recorded.
func TestAgreementOwnersNeedConsent(t *testing.T) {
	g, r := tenancy.NewID(), tenancy.NewID()
	a := Agreement{GrantingTenantID: g, ReceivingTenantID: r, Reciprocal: true, CreatedBy: "user:g", Status: StatusProposed}
	if len(a.owners()) != 0 {
		t.Errorf("proposed: %v", a.owners())
	}
	a.Status = StatusActive // active without the receiving desk's acceptance (as migrated)
	if o := a.owners(); len(o) != 1 || o[0][0] != g {
		t.Errorf("without acceptance only the granting desk's data: %v", o)
	}
	a.AcceptedBy, a.AcceptedAt = "user:r", time.Now()
	if o := a.owners(); len(o) != 2 || o[1][0] != r || o[1][1] != g {
		t.Errorf("accepted reciprocal: %v", o)
	}
	for _, st := range []Status{StatusRefused, StatusWithdrawn, StatusRevoked} {
		a.Status = st
		if len(a.owners()) != 0 {
			t.Errorf("%s: %v", st, a.owners())
		}
	}
}

// TestWriteGrantRefusesAnotherDesksData: the one grant-writing path refuses
// a grant whose owner is not the consenting desk, even on an active
// agreement, before it reaches the policy (the service has no authorizer
// here: a write would panic).
func TestWriteGrantRefusesAnotherDesksData(t *testing.T) {
	g, r := tenancy.NewID(), tenancy.NewID()
	s := &Service{desks: fakeDesks{"geel": g, "leuven": r}}
	a := &Agreement{GrantingTenantID: g, ReceivingTenantID: r, Reciprocal: true, CreatedBy: "user:g", Status: StatusActive}
	a.ID = AgreementID{}
	leuven := Consent{desk: Desk{ID: r, Slug: "leuven"}, actor: "user:leuven-admin"}
	grant := authz.Grant{Owner: authz.Desk("geel"), Grantee: authz.Desk("leuven"), Role: authz.DeskWorker,
		Permission: authz.RequestsRead, Agreement: a.ID.String()}
	if err := s.writeGrant(context.Background(), a, leuven, grant); !errors.Is(err, ErrNoConsent) {
		t.Errorf("Leuven's consent on Geel's data: %v", err)
	}
	// Leuven's own data, but Leuven never accepted: refused too.
	grant.Owner, grant.Grantee = authz.Desk("leuven"), authz.Desk("geel")
	if err := s.writeGrant(context.Background(), a, leuven, grant); !errors.Is(err, ErrNoConsent) {
		t.Errorf("reciprocal grant without acceptance: %v", err)
	}
	if _, ok := s.storedConsent(a, r); ok {
		t.Error("no stored consent of the receiving desk before it accepted")
	}
}
