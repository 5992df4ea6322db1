package requests

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"github.com/loket-kinderopvang/loket/internal/platform/sealed"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
)

// The fuzz targets below run their seed corpus with every `go test`; run
// one longer with `go test ./internal/requests -run '^$' -fuzz FuzzName`.

var fuzzNow = time.Date(2027, 1, 11, 9, 0, 0, 0, time.UTC)

// FuzzParentForm decodes any posted body as the parent request form. It
// never panics; it keeps only the form's own fields; the submission has one
// or two parents, trimmed values, and preferences that name their select in
// order; and every validation error names a field the form shows on a step.
func FuzzParentForm(f *testing.F) {
	f.Add("child.first_name=Mila&child.last_name=Testkind&child.birth_date=2026-10-01&parents%5B0%5D.first_name=Ann" +
		"&parents%5B0%5D.last_name=Testouder&parents%5B0%5D.email=ann%40ouders.example&language=nl&address.municipality_nis=24062" +
		"&desired_start=2027-03-01&flexibility_weeks=4&care_plan.days=mon&care_plan.days=tue&care_plan.day_part=whole" +
		"&preferences%5B0%5D=" + uuid.NewString() + "&reason=work&privacy_consent_version=2026-01&key=abc&csrf_token=x&step=6&action=submit")
	f.Add("preferences%5B3%5D=x&preferences%5B1%5D=" + uuid.NewString() + "&preferences%5B1%5D=y&flexibility_weeks=-3")
	f.Add("parents%5B1%5D.email=b%40c.example&parents%5B5%5D.first_name=x&unknown=1&child.first_name=%0D%0ABcc%3A+x")
	f.Add("flexibility_weeks=99999999999999999999&care_plan.days=sun&care_plan.days=sun&priority_claims=nope")
	f.Add("child.first_name=%E2%80%A8&care_need_note=%00&&&=&%ZZ")
	f.Fuzz(func(t *testing.T, body string) {
		var args fasthttp.Args
		args.Parse(body)
		form := formFromArgs(&args)
		for k := range form.vals {
			if stepOf(k) == 0 && k != fieldKey {
				t.Fatalf("field %q carried along", k)
			}
		}
		sub, idx := form.submission("nl")
		if n := len(sub.Parents); n < 1 || n > MaxParents {
			t.Fatalf("%d parents", n)
		}
		if len(idx) != len(sub.Preferences) || !slices.IsSorted(idx) {
			t.Fatalf("preference selects %v for %v", idx, sub.Preferences)
		}
		for i, n := range idx {
			if n < 0 || n >= maxFormPrefs || (i > 0 && idx[i-1] == n) {
				t.Fatalf("preference selects %v", idx)
			}
		}
		for _, v := range append([]string{sub.Child.FirstName, sub.Child.LastName, sub.DesiredStart, sub.Reason, sub.Language}, sub.Preferences...) {
			if v != strings.TrimSpace(v) {
				t.Fatalf("untrimmed value %q", v)
			}
		}
		_, es := validateShape(sub, 5, fuzzNow, false)
		for _, e := range es {
			if stepOf(e.Field) == 0 {
				t.Fatalf("error on %q, a field no step shows (%s)", e.Field, e.Message)
			}
		}
	})
}

// FuzzSubmissionJSON decodes any body as an API registration and validates
// it. It never panics; desk-only fields never survive decoding; a valid
// submission has names fit for mail headers, a start date and at most the
// desk's number of distinct locations; and its fingerprint does not depend
// on how the JSON was spelt (encoded again, it fingerprints the same).
func FuzzSubmissionJSON(f *testing.F) {
	loc := uuid.NewString()
	valid := `{"child":{"first_name":"Noor","last_name":"Testkind","birth_date":"2026-10-01"},
		"parents":[{"first_name":"An","last_name":"Testouder","email":"an@ouders.example","phone":"0470 00 00 00"}],
		"language":"nl","address":{"municipality_nis":"24062","neighbourhood":""},"desired_start":"2027-03-01","flexibility_weeks":4,
		"care_plan":{"days":["mon","tue"],"day_part":"whole","wider_hours":false},"preferences":["` + loc + `"],"reason":"work",
		"priority_claims":["work_or_training"],"specific_care_need":false,"urgent":false,"privacy_consent_version":"2026-01"}`
	f.Add(valid)
	f.Add(strings.Replace(valid, `"Noor"`, `"No\r\nor"`, 1))
	f.Add(strings.Replace(valid, `"Noor"`, `"No\u0000or"`, 1))
	f.Add(strings.Replace(valid, `"urgent":false`, `"urgent":false,"channel":"counter","vulnerable":true,"note":"x"`, 1))
	f.Add(`{}`)
	f.Add(`{"parents":[{},{},{}],"preferences":["` + loc + `","` + loc + `"],"flexibility_weeks":1e3}`)
	f.Add(`{"child":{"first_name":"\ud800"}} {}`)
	f.Add(`[`)
	svc, err := NewService(nil, Options{HashKey: []byte("a-fuzz-key-of-enough-length-0123456789"), DataKeys: sealed.MustRandom("fuzz-")})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		sub, err := DecodeSubmission([]byte(body))
		if err != nil {
			return
		}
		if sub.Channel != "" || sub.Vulnerable || sub.Note != "" || sub.ReferredBy != "" {
			t.Fatalf("desk-only fields survived decoding: %+v", sub)
		}
		ck, es := validateShape(sub, 5, fuzzNow, false)
		if len(es) == 0 {
			for _, n := range []string{sub.Child.FirstName, sub.Child.LastName, sub.Parents[0].FirstName, sub.Parents[0].LastName} {
				if !SingleLine(n) || strings.TrimSpace(n) == "" {
					t.Fatalf("valid submission with name %q", n)
				}
			}
			if ck.start == nil || len(ck.locations) != len(sub.Preferences) || len(ck.locations) > 5 {
				t.Fatalf("valid submission: start %v, locations %v of %v", ck.start, ck.locations, sub.Preferences)
			}
		}
		again, err := json.Marshal(sub)
		if err != nil {
			t.Fatal(err)
		}
		sub2, err := DecodeSubmission(again)
		if err != nil {
			t.Fatalf("a decoded submission does not decode again: %v\n%s", err, again)
		}
		if svc.fingerprint(sub) != svc.fingerprint(sub2) {
			t.Fatalf("fingerprint depends on the spelling:\n%s\n%s", body, again)
		}
	})
}

// FuzzStatusToken parses any text as a status token. It never panics, and
// a token that verifies is exactly the token made from what it carries (one
// spelling per link: nothing but the key can make a valid one).
func FuzzStatusToken(f *testing.F) {
	key := []byte("a-fuzz-key-of-enough-length-0123456789")
	good := makeToken(key, tenancy.NewID(), RequestID{UUID: uuid.New()}, 3)
	f.Add(good)
	f.Add(good[:len(good)-1] + "B")
	f.Add(strings.Replace(good, ".", "..", 1))
	f.Add(good + "=")
	f.Add("")
	f.Add(".")
	f.Add("nonsense")
	f.Fuzz(func(t *testing.T, token string) {
		desk, id, version, ok := parseToken(key, token)
		if !ok {
			return
		}
		if again := makeToken(key, desk, id, version); again != token {
			t.Fatalf("token %q verifies but is spelt %q by the service", token, again)
		}
		if _, _, _, ok := parseToken([]byte("another-key-of-enough-length-0123456789"), token); ok {
			t.Fatal("a token verifies under another key")
		}
	})
}

// FuzzStatusTokenRoundTrip: every request, desk and version make a token
// that parses back to the same values.
func FuzzStatusTokenRoundTrip(f *testing.F) {
	f.Add(uuid.New().String(), uuid.New().String(), uint32(1))
	f.Add(uuid.Nil.String(), uuid.Max.String(), uint32(1<<31))
	key := []byte("a-fuzz-key-of-enough-length-0123456789")
	f.Fuzz(func(t *testing.T, a, b string, version uint32) {
		idu, err1 := uuid.Parse(a)
		desku, err2 := uuid.Parse(b)
		if err1 != nil || err2 != nil || version > 1<<31-1 {
			return
		}
		id, desk := RequestID{UUID: idu}, tenancy.ID{UUID: desku}
		d, i, v, ok := parseToken(key, makeToken(key, desk, id, int(version)))
		if !ok || d != desk || i != id || v != int(version) {
			t.Fatalf("round trip of %v %v %d: %v %v %d %v", desk, id, version, d, i, v, ok)
		}
	})
}
