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
