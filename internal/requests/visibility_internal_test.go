package requests

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/loket-kinderopvang/loket/internal/eventlog"
	"github.com/loket-kinderopvang/loket/internal/geo"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
)

// plantedCase has a distinctive value in every personal field, two
// preferences (one in area 24062, one outside), a duplicate in this desk and
// a national-number match at another desk.
func plantedCase() *Case {
	born := time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)
	in, out := uuid.New(), uuid.New()
	other := RequestID{UUID: uuid.New()}
	return &Case{
		Request: &Request{Reason: ReasonWork, Claims: []Claim{"single_parent"}, Urgent: true, SpecificCareNeed: true,
			CareNeedNote: "Zorgnoot-Q7", DuplicateState: DuplicateSuspected, DayPart: "whole",
			Preferences: []Preference{{Rank: 1, LocationID: out}, {Rank: 2, LocationID: in}}},
		Child: Child{FirstName: "Kindnaam-Q7", LastName: "Achternaam-Q7", BirthDate: &born, NationalNumberHash: "hash-Q7"},
		Family: Family{DisplayName: "Gezin-Q7", Email: "ouder-q7@invented.example", Phone: "0499 77 77 77", Language: "nl",
			Neighbourhood: "Wijk-Q7", Vulnerable: true, ReferredBy: "partner-1",
			Parents: []Parent{{FirstName: "Ouder-Q7", LastName: "Achternaam-Q7", Email: "ouder-q7@invented.example", Phone: "0499 77 77 77"}}},
		Notes:      []Note{{Body: "Notitie-Q7"}},
		History:    []eventlog.Event{{Actor: "user:q7", Reason: "Reden-Q7"}},
		Duplicates: []DuplicateHint{{Kind: "national_number", RequestID: &other}, {Kind: "national_number", DeskName: "Ander loket"}},
		Locations:  map[uuid.UUID]LocationRef{in: {MunicipalityNIS: "24062"}, out: {MunicipalityNIS: "13008"}},
	}
}

// seen lists which fields of a redacted case still hold their planted value.
func seen(cs *Case) map[Field]bool {
	return map[Field]bool{
		FieldIdentity:         cs.Child.FirstName != "" || cs.Family.DisplayName != "" || len(cs.Family.Parents) > 0 && cs.Family.Parents[0].FirstName != "",
		FieldBirthDate:        cs.Child.BirthDate != nil,
		FieldContact:          cs.Family.Email != "" || cs.Family.Phone != "" || cs.Family.Neighbourhood != "" || len(cs.Family.Parents) > 0 && cs.Family.Parents[0].Email != "",
		FieldNotes:            len(cs.Notes) > 0,
		FieldFlags:            cs.Family.Vulnerable || cs.Request.Urgent || cs.Request.CareNeedNote != "",
		FieldCircumstances:    cs.Request.Reason != "" || len(cs.Request.Claims) > 0,
		FieldHistory:          len(cs.History) > 0,
		FieldDuplicates:       len(cs.Duplicates) > 0 && cs.Duplicates[0].RequestID != nil,
		FieldCrossDeskMatches: len(cs.Duplicates) > 0 && cs.Duplicates[len(cs.Duplicates)-1].DeskName != "",
		FieldAllPreferences:   len(cs.Request.Preferences) == 2,
	}
}

// TestVisibilityFieldByField (issue 13, points 3 and 9): the rule, field by
// field, per audience. The table restates docs/security.md; a change to the
// rule must change both.
func TestVisibilityFieldByField(t *testing.T) {
	all := map[Field]bool{}
	for _, f := range Fields {
		all[f] = true
	}
	want := map[Audience]map[Field]bool{
		AudienceDesk: all,
		AudiencePartner: {FieldIdentity: true, FieldBirthDate: true, FieldContact: true, FieldNotes: true, FieldFlags: true,
			FieldCircumstances: true, FieldHistory: true, FieldAllPreferences: true},
		AudienceSharedList: {FieldIdentity: true, FieldBirthDate: true, FieldContact: true, FieldNotes: true, FieldFlags: true,
			FieldCircumstances: true, FieldHistory: true, FieldDuplicates: true, FieldAllPreferences: true},
		AudienceAreaReader: {},
	}
	now := time.Date(2027, 1, 20, 0, 0, 0, 0, time.UTC)
	for aud, fields := range want {
		v := Viewer{Audience: aud, Area: []geo.NISCode{"24062"}, ReferredBy: "partner-1"}
		cs := plantedCase()
		got := seen(v.redact(cs, now))
		for _, f := range Fields {
			if got[f] != fields[f] {
				t.Errorf("%s sees %s: %v, want %v", aud, f, got[f], fields[f])
			}
		}
		red := v.redact(cs, now)
		if red.Child.NationalNumberHash != "" {
			t.Errorf("%s: the national-number hash must never leave the service", aud)
		}
		if red.AgeMonths != 10 {
			t.Errorf("%s: age %d months, want 10", aud, red.AgeMonths)
		}
		if len(red.Request.Preferences) == 0 || red.Request.Preferences[len(red.Request.Preferences)-1].Rank != 2 {
			t.Errorf("%s: the preference in the area must stay", aud)
		}
		if again := seen(cs); !again[FieldNotes] || !again[FieldContact] {
			t.Errorf("%s: redacting must not change the service's own case", aud)
		}
	}
}

// TestViewerMay: a partner sees only families she referred; an area reader
// only requests with a preference in her area.
func TestViewerMay(t *testing.T) {
	cs := plantedCase()
	for _, c := range []struct {
		v    Viewer
		want bool
	}{
		{DeskViewer, true},
		{Viewer{Audience: AudiencePartner, ReferredBy: "partner-1"}, true},
		{Viewer{Audience: AudiencePartner, ReferredBy: "partner-2"}, false},
		{Viewer{Audience: AudiencePartner}, false},
		{Viewer{Audience: AudienceSharedList}, true},
		{Viewer{Audience: AudienceAreaReader, Area: []geo.NISCode{"24062"}}, true},
		{Viewer{Audience: AudienceAreaReader, Area: []geo.NISCode{"11002"}}, false},
		{Viewer{Audience: AudienceAreaReader}, false},
	} {
		if got := c.v.may(cs); got != c.want {
			t.Errorf("%+v may see: %v, want %v", c.v, got, c.want)
		}
	}
}

// TestViewerOf: the audience follows the authorisation decision; anything
// unexpected gets the narrowest view.
func TestViewerOf(t *testing.T) {
	desk := authz.Desk("geel")
	for _, c := range []struct {
		name   string
		d      authz.Decision
		writes bool
		want   Audience
	}{
		{"own staff", authz.Decision{Allowed: true, Domain: desk, Via: desk, Role: authz.DeskWorker}, true, AudienceDesk},
		{"partner", authz.Decision{Allowed: true, Domain: desk, Via: desk, Role: authz.Partner, ReferrerOnly: true, User: "p"}, true, AudiencePartner},
		{"shared list", authz.Decision{Allowed: true, Domain: desk, Via: authz.Desk("leuven"), Agreement: "a"}, true, AudienceSharedList},
		{"read in area", authz.Decision{Allowed: true, Domain: desk, Via: authz.Desk("leuven"), Agreement: "a"}, false, AudienceAreaReader},
		{"refused", authz.Decision{}, true, AudienceAreaReader},
		{"region without agreement", authz.Decision{Allowed: true, Domain: desk, Via: authz.Region("13000")}, true, AudienceAreaReader},
	} {
		if got := ViewerOf(c.d, c.writes, nil).Audience; got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	if v := ViewerOf(authz.Decision{Allowed: true, ReferrerOnly: true, User: "p", Domain: desk, Via: desk}, true, nil); v.ReferredBy != "p" {
		t.Errorf("a partner viewer is limited to her families: %+v", v)
	}
}

// TestWorklistItemHidesPersonalFlags: an area reader's worklist row has no
// names and no personal flags, and keeps the workflow flags.
func TestWorklistItemHidesPersonalFlags(t *testing.T) {
	it := WorkItem{ChildName: "Kindnaam-Q7", FamilyName: "Gezin-Q7", Vulnerable: true,
		Flags: []string{FlagVulnerable, FlagUrgent, FlagCareNeed, FlagOverdue, FlagDuplicate, FlagStartNear}}
	got := Viewer{Audience: AudienceAreaReader}.item(it)
	if got.ChildName != "" || got.FamilyName != "" || got.Vulnerable {
		t.Errorf("names or flag left: %+v", got)
	}
	if len(got.Flags) != 2 || got.Flags[0] != FlagOverdue || got.Flags[1] != FlagStartNear {
		t.Errorf("flags: %v", got.Flags)
	}
	if p := (Viewer{Audience: AudiencePartner}).item(it); len(p.Flags) != 5 || p.ChildName == "" || slices.Contains(p.Flags, FlagDuplicate) {
		t.Errorf("partner row: %+v", p)
	}
}

// TestDuplicateStateFollowsTheHints: a request suspected only because of a
// match at another desk shows no duplicate state to a shared-list worker
// (the state would reveal the match); with a match in the desk it does.
func TestDuplicateStateFollowsTheHints(t *testing.T) {
	now := time.Date(2027, 1, 20, 0, 0, 0, 0, time.UTC)
	cs := plantedCase()
	cs.Duplicates = cs.Duplicates[1:] // only the other desk's match
	shared := Viewer{Audience: AudienceSharedList}
	if got := shared.redact(cs, now); got.Request.DuplicateState != DuplicateNone || len(got.Duplicates) != 0 {
		t.Errorf("shared list, match elsewhere only: state %q, hints %v", got.Request.DuplicateState, got.Duplicates)
	}
	if got := DeskViewer.redact(cs, now); got.Request.DuplicateState != DuplicateSuspected || len(got.Duplicates) != 1 {
		t.Errorf("own desk: state %q, hints %v", got.Request.DuplicateState, got.Duplicates)
	}
	if got := shared.redact(plantedCase(), now); got.Request.DuplicateState != DuplicateSuspected || len(got.Duplicates) != 1 ||
		got.Duplicates[0].RequestID == nil {
		t.Errorf("shared list, match in the desk: state %q, hints %v", got.Request.DuplicateState, got.Duplicates)
	}
}
