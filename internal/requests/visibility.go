package requests

import (
	"slices"
	"time"

	"github.com/loket-kinderopvang/loket/internal/geo"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
)

// Who sees which field of a request is decided here, once, for every page
// and answer that shows a desk's request to a person: the desk's own staff,
// a partner (for the families she referred), or another desk's staff
// through a sharing agreement. Handlers get a Viewer from the authorisation
// decision (ViewerOf) and ask the service for a request or worklist as that
// viewer (CaseFor, WorklistFor); what they receive holds only the fields the
// viewer may see, so a template cannot show more.

// Audience is the kind of viewer.
type Audience string

// The audiences.
const (
	// AudienceDesk: staff of the request's own desk. Everything.
	AudienceDesk Audience = "desk"
	// AudiencePartner: a partner (toeleider), for a family she referred.
	// Everything about that family and request (she registered it and
	// follows it up), but no duplicate hints: whether the same child has a
	// request elsewhere, in this desk or another, is desk business.
	AudiencePartner Audience = "partner"
	// AudienceSharedList: another desk's staff through a shared waiting
	// list: both desks work the one list together, so they see what the
	// desk sees (contact details to make offers, notes, flags), except hints
	// naming a third desk (national-number matches elsewhere).
	AudienceSharedList Audience = "shared_list"
	// AudienceAreaReader: another desk's staff through "read requests in
	// area": the request, its preferences for locations in her own area,
	// the child's age and the care plan. No names, no contact details or
	// address below the municipality, no notes, no flags, no reason or
	// priority claims, no duplicate hints, no history.
	AudienceAreaReader Audience = "area_reader"
)

// Field is a group of personal fields a viewer sees or not.
type Field string

// The fields.
const (
	FieldIdentity         Field = "identity"           // child's and family's names, parents' names
	FieldBirthDate        Field = "birth_date"         // exact birth or expected date (else the age in months)
	FieldContact          Field = "contact"            // e-mail, phone, neighbourhood, language
	FieldNotes            Field = "notes"              // the desk's internal notes
	FieldFlags            Field = "flags"              // vulnerable, urgent, specific care need and its note
	FieldCircumstances    Field = "circumstances"      // reason for care, priority claims
	FieldHistory          Field = "history"            // who did what, and why
	FieldDuplicates       Field = "duplicates"         // duplicate hints within the desk
	FieldCrossDeskMatches Field = "cross_desk_matches" // same national number or child at another desk
	FieldAllPreferences   Field = "all_preferences"    // preferences outside the viewer's area
)

// Fields lists every field, for tests and documentation.
var Fields = []Field{FieldIdentity, FieldBirthDate, FieldContact, FieldNotes, FieldFlags, FieldCircumstances,
	FieldHistory, FieldDuplicates, FieldCrossDeskMatches, FieldAllPreferences}

// visible is the rule: the fields each audience sees.
var visible = map[Audience][]Field{
	AudienceDesk: Fields,
	AudiencePartner: {FieldIdentity, FieldBirthDate, FieldContact, FieldNotes, FieldFlags, FieldCircumstances,
		FieldHistory, FieldAllPreferences},
	AudienceSharedList: {FieldIdentity, FieldBirthDate, FieldContact, FieldNotes, FieldFlags, FieldCircumstances,
		FieldHistory, FieldDuplicates, FieldAllPreferences},
	AudienceAreaReader: {},
}

// Viewer is who looks at a desk's requests.
type Viewer struct {
	Audience Audience
	// Area limits an area reader to requests, and preferences, for
	// locations in these municipalities (her own desk's).
	Area []geo.NISCode
	// ReferredBy limits a partner to the families she referred.
	ReferredBy string
}

// DeskViewer is the desk's own staff.
var DeskViewer = Viewer{Audience: AudienceDesk}

// ViewerOf turns the authorisation decision that let a person read a desk's
// requests into a Viewer. writes says whether the same person may also
// change them there (a shared waiting list rather than reading in area);
// area is her own desk's municipalities. Anything not recognised gets the
// narrowest view.
func ViewerOf(d authz.Decision, writes bool, area []geo.NISCode) Viewer {
	switch {
	case !d.Allowed:
		return Viewer{Audience: AudienceAreaReader}
	case d.ReferrerOnly:
		return Viewer{Audience: AudiencePartner, ReferredBy: d.User}
	case d.Agreement == "" && !d.CrossTenant():
		return DeskViewer
	case d.Agreement != "" && writes:
		return Viewer{Audience: AudienceSharedList}
	default:
		return Viewer{Audience: AudienceAreaReader, Area: area}
	}
}

// Sees reports whether v may see field f.
func (v Viewer) Sees(f Field) bool { return slices.Contains(visible[v.Audience], f) }

// inArea reports whether a location in municipality nis is in v's area.
func (v Viewer) inArea(nis string) bool { return slices.Contains(v.Area, geo.NISCode(nis)) }

// may reports whether v may see the request at all: a partner the families
// she referred; an area reader requests with a preference in her area.
func (v Viewer) may(cs *Case) bool {
	switch v.Audience {
	case AudiencePartner:
		return v.ReferredBy != "" && cs.Family.ReferredBy == v.ReferredBy
	case AudienceAreaReader:
		for _, p := range cs.Request.Preferences {
			if v.inArea(cs.Locations[p.LocationID].MunicipalityNIS) {
				return true
			}
		}
		return false
	}
	return true
}

// redact returns what v may see of cs (a copy; cs is not changed), with
// the child's age in months at now.
func (v Viewer) redact(cs *Case, now time.Time) *Case {
	out := *cs
	req := *cs.Request
	out.Request = &req
	out.Viewer = v
	out.AgeMonths = monthsBetween(cs.Child.BornOrExpected(), now)
	if !v.Sees(FieldIdentity) {
		out.Child.FirstName, out.Child.LastName, out.Family.DisplayName = "", "", ""
		out.Family.Parents = nil
	}
	if !v.Sees(FieldBirthDate) {
		out.Child.BirthDate, out.Child.ExpectedDate = nil, nil
	}
	if !v.Sees(FieldContact) {
		out.Family.Email, out.Family.Phone, out.Family.Neighbourhood, out.Family.Language = "", "", "", ""
		parents := make([]Parent, len(out.Family.Parents))
		for i, p := range out.Family.Parents {
			parents[i] = Parent{FirstName: p.FirstName, LastName: p.LastName}
		}
		out.Family.Parents = parents
	}
	if !v.Sees(FieldNotes) {
		out.Notes = nil
	}
	if !v.Sees(FieldFlags) {
		out.Family.Vulnerable, req.Urgent, req.SpecificCareNeed, req.CareNeedNote = false, false, false, ""
	}
	if !v.Sees(FieldCircumstances) {
		req.Reason, req.Claims = "", nil
	}
	if !v.Sees(FieldHistory) {
		out.History = nil
	}
	var dups []DuplicateHint
	for _, d := range cs.Duplicates {
		if (d.RequestID != nil && v.Sees(FieldDuplicates)) || (d.RequestID == nil && v.Sees(FieldCrossDeskMatches)) {
			dups = append(dups, d)
		}
	}
	out.Duplicates = dups
	// The request's duplicate state is itself a hint: without the matches
	// behind it (another desk's, for all but the desk itself) it goes too.
	if !v.Sees(FieldCrossDeskMatches) && (len(dups) == 0 || !v.Sees(FieldDuplicates)) {
		req.DuplicateState, req.DuplicateOf = DuplicateNone, nil
	}
	out.Child.NationalNumberHash = ""
	if !v.Sees(FieldAllPreferences) {
		var prefs []Preference
		for _, p := range cs.Request.Preferences {
			if v.inArea(cs.Locations[p.LocationID].MunicipalityNIS) {
				prefs = append(prefs, p)
			}
		}
		req.Preferences = prefs
	}
	return &out
}

// item returns what v may see of a worklist row, and whether v may see it.
func (v Viewer) item(it WorkItem) WorkItem {
	if !v.Sees(FieldIdentity) {
		it.ChildName, it.FamilyName = "", ""
	}
	if !v.Sees(FieldFlags) {
		it.Vulnerable = false
	}
	var flags []string
	for _, f := range it.Flags {
		switch {
		case (f == FlagVulnerable || f == FlagUrgent || f == FlagCareNeed) && !v.Sees(FieldFlags):
		case f == FlagErasure && v.Audience != AudienceDesk:
			// The desk's own decision: not for partners or other desks.
		case f == FlagDuplicate && !v.Sees(FieldCrossDeskMatches):
			// The row does not say where the match is: only the desk's own
			// staff, who may see matches at other desks, get the flag.
		default:
			flags = append(flags, f)
		}
	}
	it.Flags = flags
	return it
}

// monthsBetween is the age in whole months at now of a child born on born
// (negative before birth).
func monthsBetween(born, now time.Time) int {
	m := (now.Year()-born.Year())*12 + int(now.Month()-born.Month())
	if now.Day() < born.Day() {
		m--
	}
	return m
}
