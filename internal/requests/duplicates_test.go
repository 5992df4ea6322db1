package requests_test

import (
	"context"
	"testing"

	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

func TestNormalisePhone(t *testing.T) {
	for _, in := range []string{"0470 12 34 56", "+32 470 12 34 56", "0032470123456", "0470/12.34.56", "+32 (0)470 12 34 56"} {
		if got := requests.NormalisePhone(in); got != "+32470123456" {
			t.Errorf("NormalisePhone(%q) = %q", in, got)
		}
	}
	if got := requests.NormalisePhone("014 12 34 56"); got != "+3214123456" {
		t.Errorf("landline: %q", got)
	}
}

// TestLikelyDuplicatesOneChildFourWays: issue 20, point 10. One parent asks
// four times for one child: once with a phone number, once without, once
// as 0470 12 34 56 and once as +32 470 12 34 56. Every later request is a
// likely duplicate of an earlier one, in the same desk and across desks;
// the same child with another parent's contact is not.
func TestLikelyDuplicatesOneChildFourWays(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		variant := func(email, phone string) requests.Submission {
			s := f.submission("Noor", f.locs[0])
			s.Parents[0].Email, s.Parents[0].Phone = email, phone
			return s
		}
		const mail = "noor.ouder@ouders.example"
		cases := []struct {
			name  string
			desk  context.Context
			sub   requests.Submission
			state string
		}{
			{"with a phone number", f.leuven, variant(mail, "0470123456"), requests.DuplicateNone},
			{"without a phone number", f.leuven, variant(mail, ""), requests.DuplicateLikely},
			{"0470 12 34 56 without e-mail", f.leuven, variant("", "0470 12 34 56"), requests.DuplicateLikely},
			{"+32 470 12 34 56, e-mail in capitals", f.leuven, variant("Noor.Ouder@ouders.example", "+32 470 12 34 56"), requests.DuplicateLikely},
			// Across desks, each way again.
			{"another desk, e-mail only", f.geel, variant(mail, ""), requests.DuplicateLikely},
			{"another desk, 0032 phone only", f.geel, variant("", "0032470123456"), requests.DuplicateLikely},
			// Same child, another family's contact: not a duplicate.
			{"another parent", f.leuven, variant("iemand@anders.example", "0499 99 99 99"), requests.DuplicateNone},
		}
		var first *requests.Request
		for _, c := range cases {
			r := f.submit(t, c.desk, c.sub)
			got, err := f.svc.Get(c.desk, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.DuplicateState != c.state {
				t.Errorf("%s: duplicate state %q, want %q", c.name, got.DuplicateState, c.state)
			}
			if first == nil {
				first = r
				continue
			}
			// In the same desk the worker is pointed at the earlier request;
			// another desk's request is never named by its id.
			if c.state == requests.DuplicateLikely && c.desk == f.leuven && (got.DuplicateOf == nil || *got.DuplicateOf != first.ID) {
				t.Errorf("%s: duplicate of %v, want %s", c.name, got.DuplicateOf, first.ID)
			}
			if c.desk == f.geel && got.DuplicateOf != nil {
				t.Errorf("%s: names a request of another desk", c.name)
			}
		}
	})
}

// TestRefreshLegacyFingerprints: requests registered under the first likely
// rule (e-mail AND phone in one digest) are not found by the e-mail OR phone
// rule until their fingerprints are recomputed; RefreshFingerprints does
// that once, and a second run changes nothing.
func TestRefreshLegacyFingerprints(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		variant := func(email, phone string) requests.Submission {
			s := f.submission("Wout", f.locs[0])
			s.Parents[0].Email, s.Parents[0].Phone = email, phone
			return s
		}
		old := f.submit(t, f.leuven, variant("wout.ouder@ouders.example", "0470 55 66 77"))
		// As written before the rule changed: one legacy row, no current ones.
		leuven, _ := f.dir.BySlug("leuven")
		if _, err := d.NewDelete().Table("request_fingerprints").Where("request_id = ? AND kind <> 'nn'", old.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := d.NewInsert().Model(&map[string]any{"kind": "likely", "digest": "0123abcd", "tenant_id": leuven.ID,
			"request_id": old.ID, "created_at": day0}).TableExpr("request_fingerprints").Exec(ctx); err != nil {
			t.Fatal(err)
		}
		state := func(r *requests.Request) *requests.Request {
			got, err := f.svc.Get(f.leuven, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		if got := state(f.submit(t, f.leuven, variant("", "+32 470 55 66 77"))); got.DuplicateState != requests.DuplicateNone {
			t.Fatalf("before the refresh the legacy request cannot be found, yet got %q", got.DuplicateState)
		}

		n, err := f.svc.RefreshFingerprints(f.leuven)
		if err != nil || n != 1 {
			t.Fatalf("refresh: %d requests, %v; want 1", n, err)
		}
		if n, err := f.svc.RefreshFingerprints(f.leuven); err != nil || n != 0 {
			t.Fatalf("second refresh: %d requests, %v; want 0", n, err)
		}
		if n, err := f.svc.RefreshFingerprints(f.geel); err != nil || n != 0 {
			t.Fatalf("another desk: %d requests, %v; want 0", n, err)
		}
		legacy, err := d.NewSelect().Table("request_fingerprints").Where("kind = 'likely'").Count(ctx)
		if err != nil || legacy != 0 {
			t.Fatalf("%d legacy rows left, %v", legacy, err)
		}
		// Now the old request is found by e-mail alone, and named first.
		got := state(f.submit(t, f.leuven, variant("Wout.Ouder@ouders.example", "")))
		if got.DuplicateState != requests.DuplicateLikely || got.DuplicateOf == nil || *got.DuplicateOf != old.ID {
			t.Errorf("after the refresh: state %q, duplicate of %v; want likely, of %s", got.DuplicateState, got.DuplicateOf, old.ID)
		}
		// Across desks too, by phone.
		if got := f.submit(t, f.geel, variant("", "0032470556677")); func() string { r, _ := f.svc.Get(f.geel, got.ID); return r.DuplicateState }() != requests.DuplicateLikely {
			t.Errorf("another desk does not find the refreshed request")
		}
	})
}
