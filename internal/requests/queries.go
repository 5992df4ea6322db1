package requests

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/eventlog"
	"github.com/loket-kinderopvang/loket/internal/platform/sealed"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/tenant"
)

// Attention flags of the desk worklist.
const (
	FlagVulnerable = "vulnerable"
	FlagUrgent     = "urgent"
	FlagCareNeed   = "care_need"
	FlagOverdue    = "overdue"    // a provider's answer is late
	FlagStartNear  = "start_near" // start within StartNearDays and no offer yet
	FlagDuplicate  = "duplicate"
	FlagForwarded  = "forwarded" // a provider handed a preference to the desk
	FlagErasure    = "erasure"   // the parent asks to erase her data; the desk has not decided
)

// Flags lists every attention flag.
var Flags = []string{FlagVulnerable, FlagUrgent, FlagCareNeed, FlagOverdue, FlagStartNear, FlagDuplicate, FlagForwarded, FlagErasure}

// StartNearDays is how close a start date must be to need attention.
const StartNearDays = 30

// WorklistFilter selects requests for the desk worklist.
type WorklistFilter struct {
	Attention  string // one of Flags, or "" for any open request needing attention or not
	Status     Status // "" = every open status
	Query      string // part of the child's or family's name
	ReferredBy string // partners see only the families they referred
	Limit      int
}

// WorkItem is one row of the worklist.
type WorkItem struct {
	Request      Request
	ChildName    string
	FamilyName   string
	Vulnerable   bool
	Flags        []string
	NextDeadline *time.Time
}

type workRow struct {
	Request    `bun:",extend"`
	ChildFirst string     `bun:"child_first"`
	ChildLast  string     `bun:"child_last"`
	FamilyName string     `bun:"family_name"`
	Vulnerable bool       `bun:"family_vulnerable"`
	Overdue    bool       `bun:"overdue"`
	Forwarded  bool       `bun:"forwarded"`
	Erasure    bool       `bun:"erasure_asked"`
	HasOffer   bool       `bun:"has_offer"`
	NextDue    *time.Time `bun:"next_due"`
}

// Worklist lists the desk's requests with their attention flags, the ones
// needing attention first, then by desired start.
func (s *Service) Worklist(ctx context.Context, f WorklistFilter) ([]WorkItem, error) {
	now := s.opts.Clock.Now()
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 200
	}
	var rows []workRow
	err := s.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		// The table keeps its alias "request": tx.Select filters on ?TableAlias.tenant_id.
		q := tx.Select(&rows).ModelTableExpr("requests AS request").ColumnExpr("request.*").
			ColumnExpr("c.first_name AS child_first, c.last_name AS child_last, f.display_name AS family_name, f.vulnerable AS family_vulnerable").
			ColumnExpr("EXISTS (SELECT 1 FROM preferences p WHERE p.tenant_id = request.tenant_id AND p.request_id = request.id AND p.state = 'pending' AND p.answer_due < ?) AS overdue", now).
			ColumnExpr("EXISTS (SELECT 1 FROM preferences p WHERE p.tenant_id = request.tenant_id AND p.request_id = request.id AND p.state = 'forwarded') AS forwarded").
			ColumnExpr("(f.erasure_requested_at IS NOT NULL AND f.erasure_reason = '') AS erasure_asked").
			ColumnExpr("EXISTS (SELECT 1 FROM preferences p WHERE p.tenant_id = request.tenant_id AND p.request_id = request.id AND p.state IN ('offered', 'accepted')) AS has_offer").
			ColumnExpr("(SELECT min(p.answer_due) FROM preferences p WHERE p.tenant_id = request.tenant_id AND p.request_id = request.id AND p.state = 'pending') AS next_due").
			Join("JOIN children AS c ON c.tenant_id = request.tenant_id AND c.id = request.child_id").
			Join("JOIN families AS f ON f.tenant_id = c.tenant_id AND f.id = c.family_id")
		if f.Status != "" {
			q = q.Where("request.status = ?", f.Status)
		} else {
			q = q.Where("request.status IN (?)", bun.In([]Status{StatusSubmitted, StatusActive, StatusOffered}))
		}
		if f.ReferredBy != "" {
			q = q.Where("f.referred_by = ?", f.ReferredBy)
		}
		if qs := strings.ToLower(strings.TrimSpace(f.Query)); qs != "" {
			like := "%" + qs + "%"
			q = q.Where("(lower(c.first_name) LIKE ? OR lower(c.last_name) LIKE ? OR lower(f.display_name) LIKE ?)", like, like, like)
		}
		return q.OrderExpr("request.desired_start, request.submitted_at").Limit(int64(f.Limit * 4)).Scan(ctx)
	})
	if err != nil {
		return nil, fmt.Errorf("requests: worklist: %w", err)
	}
	near := now.AddDate(0, 0, StartNearDays)
	var out []WorkItem
	for _, r := range rows {
		it := WorkItem{Request: r.Request, ChildName: r.ChildFirst + " " + r.ChildLast, FamilyName: r.FamilyName,
			Vulnerable: r.Vulnerable, NextDeadline: r.NextDue}
		add := func(ok bool, flag string) {
			if ok {
				it.Flags = append(it.Flags, flag)
			}
		}
		add(r.Vulnerable, FlagVulnerable)
		add(r.Urgent, FlagUrgent)
		add(r.SpecificCareNeed, FlagCareNeed)
		add(r.Overdue, FlagOverdue)
		add(!r.HasOffer && r.DesiredStart.Before(near), FlagStartNear)
		add(r.DuplicateState == DuplicateSuspected || r.DuplicateState == DuplicateLikely, FlagDuplicate)
		add(r.Forwarded, FlagForwarded)
		add(r.Erasure, FlagErasure)
		if f.Attention != "" && !slices.Contains(it.Flags, f.Attention) {
			continue
		}
		out = append(out, it)
	}
	slices.SortStableFunc(out, func(a, b WorkItem) int { return len(b.Flags) - len(a.Flags) })
	if len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

// WorklistFor is Worklist as v may see it: a partner's families only; for
// an area reader the requests with a preference in her area, without names
// or personal flags. A viewer who may not see names or flags may not search
// or filter on them either (probing would reveal them).
func (s *Service) WorklistFor(ctx context.Context, f WorklistFilter, v Viewer) ([]WorkItem, error) {
	if v.Audience == AudiencePartner {
		f.ReferredBy = v.ReferredBy
		if f.ReferredBy == "" {
			return nil, nil
		}
	}
	if !v.Sees(FieldIdentity) {
		f.Query = ""
	}
	if (!v.Sees(FieldFlags) && (f.Attention == FlagVulnerable || f.Attention == FlagUrgent || f.Attention == FlagCareNeed)) ||
		(!v.Sees(FieldCrossDeskMatches) && f.Attention == FlagDuplicate) {
		f.Attention = ""
	}
	items, err := s.Worklist(ctx, f)
	if err != nil {
		return nil, err
	}
	if !v.Sees(FieldAllPreferences) {
		if items, err = s.inArea(ctx, items, v); err != nil {
			return nil, err
		}
	}
	for i := range items {
		items[i] = v.item(items[i])
	}
	return items, nil
}

// inArea keeps the items with a preference for a location in v's area.
func (s *Service) inArea(ctx context.Context, items []WorkItem, v Viewer) ([]WorkItem, error) {
	if len(items) == 0 {
		return items, nil
	}
	ids := make([]RequestID, len(items))
	for i, it := range items {
		ids[i] = it.Request.ID
	}
	var prefs []Preference
	var refs map[uuid.UUID]LocationRef
	err := s.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		if err := tx.Select(&prefs).Where("request_id IN (?)", bun.In(ids)).Scan(ctx); err != nil {
			return fmt.Errorf("requests: worklist preferences: %w", err)
		}
		var err error
		refs, err = locationRefs(ctx, tx.Unscoped(), prefs)
		return err
	})
	if err != nil {
		return nil, err
	}
	in := map[RequestID]bool{}
	for _, p := range prefs {
		if v.inArea(refs[p.LocationID].MunicipalityNIS) {
			in[p.RequestID] = true
		}
	}
	var out []WorkItem
	for _, it := range items {
		if in[it.Request.ID] {
			out = append(out, it)
		}
	}
	return out, nil
}

// --- provider inbox ---------------------------------------------------------

// InboxItem is what a provider sees of one preference for one of its
// locations: what it needs to answer, and no more (no national number, no
// desk notes, no vulnerability flag).
type InboxItem struct {
	DeskSlug         string
	DeskName         string
	DeskMode         string
	RequestID        RequestID
	Rank             int
	LocationID       uuid.UUID
	LocationName     string
	ChildFirstName   string
	AgeMonthsAtStart int
	DesiredStart     time.Time
	FlexibilityWeeks int
	Days             []string
	DayPart          DayPart
	WiderHours       bool
	SpecificCareNeed bool
	CareNeedNote     string
	ParentName       string
	ParentEmail      string
	ParentPhone      string
	Language         string
	State            PreferenceState
	AnswerDue        *time.Time
	Overdue          bool
	OfferStart       *time.Time
	OfferDeadline    *time.Time
}

type inboxRow struct {
	Preference       `bun:",extend"`
	DesiredStart     time.Time   `bun:"desired_start"`
	FlexibilityWeeks int         `bun:"flexibility_weeks"`
	CareDays         string      `bun:"care_days"`
	DayPart          DayPart     `bun:"day_part"`
	WiderHours       bool        `bun:"wider_hours"`
	SpecificCareNeed bool        `bun:"specific_care_need"`
	CareNeedNote     sealed.Text `bun:"care_need_note"`
	AgeMonths        int         `bun:"age_months"`
	ChildFirst       string      `bun:"child_first"`
	FamilyName       string      `bun:"family_name"`
	FamilyEmail      string      `bun:"family_email"`
	FamilyPhone      string      `bun:"family_phone"`
	Language         string      `bun:"language"`
	FamilyID         uuid.UUID   `bun:"family_id"`
}

// item is the row as an inbox line of desk.
func (r inboxRow) item(desk tenant.Tenant, names map[uuid.UUID]LocationRef, now time.Time) InboxItem {
	return InboxItem{DeskSlug: desk.Slug, DeskName: desk.Name, DeskMode: string(desk.Mode),
		RequestID: r.RequestID, Rank: r.Rank, LocationID: r.LocationID, LocationName: names[r.LocationID].Name,
		ChildFirstName: r.ChildFirst, AgeMonthsAtStart: r.AgeMonths, DesiredStart: r.DesiredStart,
		FlexibilityWeeks: r.FlexibilityWeeks, Days: Request{CareDays: r.CareDays}.Days(), DayPart: r.DayPart,
		WiderHours: r.WiderHours, SpecificCareNeed: r.SpecificCareNeed, CareNeedNote: r.CareNeedNote.String(),
		ParentName: r.FamilyName, ParentEmail: r.FamilyEmail, ParentPhone: r.FamilyPhone, Language: r.Language,
		State: r.State, AnswerDue: r.AnswerDue, Overdue: r.State == PreferencePending && r.AnswerDue != nil && r.AnswerDue.Before(now),
		OfferStart: r.OfferStart, OfferDeadline: r.OfferDeadline}
}

// InboxStates are the preference states a provider still has to act on.
var InboxStates = []PreferenceState{PreferencePending, PreferenceWaitingList, PreferenceOffered}

// Inbox lists the open preferences for the given locations of a provider, in
// every desk: parents may list a location of another desk. Reading another
// desk's requests this way is by design (the parent chose the location), and
// each read is written to that desk's access log: one event per request.
//
// look names the reader and the page (eventlog.LookInbox, LookAnswer,
// LookAPIInbox); only, when set, limits the read to that one request (the
// answer page), so the access log names only what was shown.
func (s *Service) Inbox(ctx context.Context, provider uuid.UUID, locations []uuid.UUID, look Look, only *RequestID) ([]InboxItem, error) {
	if len(locations) == 0 {
		return nil, nil
	}
	now := s.opts.Clock.Now()
	var names map[uuid.UUID]LocationRef
	var out []InboxItem
	for _, desk := range s.opts.Desks.All() {
		var rows []inboxRow
		dctx := tenancy.WithTenant(ctx, desk.ID)
		err := s.tenants.Tx(dctx, func(ctx context.Context, tx *tenancy.Tx) error {
			q := tx.Select(&rows).ColumnExpr("preference.*").
				ColumnExpr("r.desired_start, r.flexibility_weeks, r.care_days, r.day_part, r.wider_hours, r.specific_care_need, r.care_need_note, r.age_months").
				ColumnExpr("c.first_name AS child_first, f.display_name AS family_name, f.email AS family_email, f.phone AS family_phone, f.language, f.id AS family_id").
				Join("JOIN requests AS r ON r.tenant_id = preference.tenant_id AND r.id = preference.request_id").
				Join("JOIN children AS c ON c.tenant_id = r.tenant_id AND c.id = r.child_id").
				Join("JOIN families AS f ON f.tenant_id = c.tenant_id AND f.id = c.family_id").
				Where("preference.location_id IN (?)", bun.In(locations)).
				Where("preference.state IN (?)", bun.In(InboxStates)).
				Where("r.status IN (?)", bun.In([]Status{StatusSubmitted, StatusActive, StatusOffered}))
			if only != nil {
				q = q.Where("preference.request_id = ?", only.UUID)
			}
			err := q.Scan(ctx)
			if err != nil || len(rows) == 0 {
				return err
			}
			if names == nil {
				if names, err = locationRefs(ctx, tx.Unscoped(), prefsOf(locations)); err != nil {
					return err
				}
			}
			// One look per request shown (a request may appear with
			// several of the provider's locations).
			var looks []*eventlog.Access
			seen := map[RequestID]bool{}
			for _, r := range rows {
				if !seen[r.RequestID] {
					seen[r.RequestID] = true
					looks = append(looks, look.access(now, r.FamilyID, &r.RequestID.UUID))
				}
			}
			return eventlog.LogAccess(ctx, tx, looks)
		})
		if err != nil {
			return nil, fmt.Errorf("requests: inbox of desk %s: %w", desk.Slug, err)
		}
		for _, r := range rows {
			out = append(out, r.item(desk, names, now))
		}
	}
	slices.SortStableFunc(out, func(a, b InboxItem) int {
		switch {
		case a.AnswerDue == nil && b.AnswerDue == nil:
			return 0
		case a.AnswerDue == nil:
			return 1
		case b.AnswerDue == nil:
			return -1
		}
		return a.AnswerDue.Compare(*b.AnswerDue)
	})
	return out, nil
}

func prefsOf(locations []uuid.UUID) []Preference {
	ps := make([]Preference, len(locations))
	for i, l := range locations {
		ps[i].LocationID = l
	}
	return ps
}

// ProviderAnswer is a provider's answer from its inbox or its API: the
// preference must be for one of locations, else it does not exist for them.
func (s *Service) ProviderAnswer(ctx context.Context, deskSlug string, id RequestID, rank int, locations []uuid.UUID, a Answer, actor Actor) error {
	desk, ok := s.opts.Desks.BySlug(deskSlug)
	if !ok {
		return ErrNotFound
	}
	ctx = tenancy.WithTenant(ctx, desk.ID)
	r, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	p, err := r.preference(rank)
	if err != nil || !slices.Contains(locations, p.LocationID) {
		return ErrNotFound
	}
	return s.Answer(ctx, id, rank, a, actor)
}

// --- deadlines (called by the scheduler for every desk) ---------------------

// LapseOffers lets offers whose acceptance deadline passed lapse, and returns
// how many did.
func (s *Service) LapseOffers(ctx context.Context) (int, error) {
	desk, err := s.desk(ctx)
	if err != nil {
		return 0, err
	}
	now := s.opts.Clock.Now()
	refs, err := s.prefsWhere(ctx, "state = ? AND offer_deadline < ?", PreferenceOffered, now)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, ref := range refs {
		var notice *Notice
		err := s.change(ctx, ref.RequestID, Actor{Kind: ActorSystem}, func(ctx context.Context, tx *tenancy.Tx, r *Request, now time.Time) (*eventlog.Event, error) {
			p, err := r.preference(ref.Rank)
			if err != nil || p.State != PreferenceOffered || p.OfferDeadline == nil || !p.OfferDeadline.Before(now) {
				return nil, nil // changed meanwhile
			}
			p.State = PreferenceLapsed
			if err := s.updatePreference(ctx, tx, p, "state"); err != nil {
				return nil, err
			}
			n++
			// The parent hears that the place is gone; their other choices go on.
			if notice, err = s.parentNotice(ctx, tx, desk, r, "offer_lapsed", p); err != nil {
				return nil, err
			}
			return &eventlog.Event{Kind: "preference.lapsed", FromState: string(PreferenceOffered), ToState: string(PreferenceLapsed),
				Reason: "deadline passed", Data: eventData(map[string]any{"rank": ref.Rank})}, s.settle(ctx, tx, r, now)
		})
		if err != nil {
			return n, err
		}
		if notice != nil {
			s.notify(ctx, *notice)
		}
	}
	return n, nil
}

// MarkUnanswered ends open requests whose desired start passed without a
// place, without an open offer: this is the unmet demand the desk reports.
func (s *Service) MarkUnanswered(ctx context.Context) (int, error) {
	now := s.opts.Clock.Now()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	var ids []uuid.UUID
	err := s.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		return tx.Select((*Request)(nil)).Column("id").
			Where("status IN (?)", bun.In([]Status{StatusSubmitted, StatusActive})).
			Where("desired_start < ?", today).Scan(ctx, &ids)
	})
	if err != nil {
		return 0, fmt.Errorf("requests: unanswered: %w", err)
	}
	n := 0
	for _, id := range ids {
		// The family hears it too, with the desk to contact if they still need care.
		if err := s.end(ctx, RequestID{UUID: id}, StatusUnanswered, "start date passed without a place", Actor{Kind: ActorSystem}, "unanswered"); err != nil {
			if errors.Is(err, ErrTransition) {
				continue
			}
			return n, err
		}
		n++
	}
	return n, nil
}

// Due is a deadline a reminder is about.
type Due struct {
	RequestID    RequestID
	Rank         int
	LocationID   uuid.UUID
	LocationName string
	LocationMail string
	Deadline     time.Time
	Language     string
	ParentEmail  string
	StatusURL    string
}

// DueAnswers are pending preferences whose answer deadline falls within the
// coming `within`: the providers get a reminder.
func (s *Service) DueAnswers(ctx context.Context, within time.Duration) ([]Due, error) {
	now := s.opts.Clock.Now()
	return s.dues(ctx, "answer_due", "preference.state = ? AND preference.answer_due >= ? AND preference.answer_due < ?", PreferencePending, now, now.Add(within))
}

// DueOffers are open offers whose acceptance deadline falls within the
// coming `within`: the parents get a reminder.
func (s *Service) DueOffers(ctx context.Context, within time.Duration) ([]Due, error) {
	now := s.opts.Clock.Now()
	return s.dues(ctx, "offer_deadline", "preference.state = ? AND preference.offer_deadline >= ? AND preference.offer_deadline < ?", PreferenceOffered, now, now.Add(within))
}

type prefRef struct {
	RequestID RequestID `bun:"request_id"`
	Rank      int       `bun:"rank"`
}

func (s *Service) prefsWhere(ctx context.Context, where string, args ...any) ([]prefRef, error) {
	var refs []prefRef
	err := s.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		return tx.Select((*Preference)(nil)).Column("request_id", "rank").Where(where, args...).Scan(ctx, &refs)
	})
	if err != nil {
		return nil, fmt.Errorf("requests: preferences: %w", err)
	}
	return refs, nil
}

func (s *Service) dues(ctx context.Context, deadlineCol, where string, args ...any) ([]Due, error) {
	desk, err := s.desk(ctx)
	if err != nil {
		return nil, err
	}
	type row struct {
		Preference  `bun:",extend"`
		Language    string `bun:"language"`
		ParentEmail string `bun:"parent_email"`
		Version     int    `bun:"status_link_version"`
	}
	var rows []row
	var refs map[uuid.UUID]LocationRef
	err = s.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		err := tx.Select(&rows).ColumnExpr("preference.*, f.language, f.email AS parent_email, r.status_link_version").
			Join("JOIN requests AS r ON r.tenant_id = preference.tenant_id AND r.id = preference.request_id").
			Join("JOIN children AS c ON c.tenant_id = r.tenant_id AND c.id = r.child_id").
			Join("JOIN families AS f ON f.tenant_id = c.tenant_id AND f.id = c.family_id").
			Where(where, args...).
			Scan(ctx)
		if err != nil || len(rows) == 0 {
			return err
		}
		ps := make([]Preference, len(rows))
		for i, r := range rows {
			ps[i] = r.Preference
		}
		refs, err = locationRefs(ctx, tx.Unscoped(), ps)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("requests: due deadlines: %w", err)
	}
	out := make([]Due, 0, len(rows))
	for _, r := range rows {
		d := Due{RequestID: r.RequestID, Rank: r.Rank, LocationID: r.LocationID, LocationName: refs[r.LocationID].Name,
			LocationMail: refs[r.LocationID].Email, Language: r.Language, ParentEmail: r.ParentEmail}
		if deadlineCol == "answer_due" && r.AnswerDue != nil {
			d.Deadline = *r.AnswerDue
		} else if r.OfferDeadline != nil {
			d.Deadline = *r.OfferDeadline
		}
		d.StatusURL = s.StatusURL(desk.Slug, &Request{Owned: r.Owned, ID: r.RequestID, StatusLinkVersion: r.Version})
		out = append(out, d)
	}
	return out, nil
}
