package crisis

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/allocation"
	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/eventlog"
	"github.com/loket-kinderopvang/loket/internal/geo"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/ids"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/platform/validate"
	"github.com/loket-kinderopvang/loket/internal/requests"
	"github.com/loket-kinderopvang/loket/internal/rounds"
	"github.com/loket-kinderopvang/loket/internal/tenant"
)

// Errors.
var (
	ErrNotFound = errors.New("crisis: no such closure")
	ErrEnded    = errors.New("crisis: the closure has ended")
	ErrNoRound  = errors.New("crisis: there is no dry run to publish yet")
)

// DefaultRadiusKm is how far from the closed location places are searched
// when the declaration does not say.
const DefaultRadiusKm = 15

// Options wire the service.
type Options struct {
	DB       *db.DB
	Tenants  *tenancy.Store
	Desks    requests.Desks
	Requests *requests.Service
	Rounds   *rounds.Service
	Catalog  *catalog.Store
	Clock    clock.Clock
	// Tiers are the usual priority tiers under the crisis tier.
	Tiers []string
	// Notify, if set, tells families, providers and the desk (mail.go).
	Notify Notifier
}

// Service handles closures.
type Service struct{ o Options }

// New returns the crisis service.
func New(o Options) *Service {
	if o.Tiers == nil {
		o.Tiers = rounds.DefaultPolicy.Tiers
	}
	return &Service{o: o}
}

// Declaration is what a person declares: which location, from when, until
// when (empty: open-ended), why, and whether the public may know.
type Declaration struct {
	LocationID string `json:"location_id"`
	From       string `json:"from"`
	Until      string `json:"until,omitempty"`
	Reason     string `json:"reason"`
	Public     bool   `json:"public"`
	RadiusKm   int    `json:"radius_km,omitempty"`
}

const dateLayout = "2006-01-02"

func (s *Service) check(d Declaration) (uuid.UUID, time.Time, *time.Time, validate.Errors) {
	var es validate.Errors
	loc, err := uuid.Parse(d.LocationID)
	if err != nil {
		es.Add("location_id", "location", "choose the location that closes")
	}
	from, err := time.Parse(dateLayout, d.From)
	if err != nil {
		es.Add("from", "date", "give the first day of the closure as 2027-01-31")
	}
	var until *time.Time
	if d.Until != "" {
		u, err := time.Parse(dateLayout, d.Until)
		switch {
		case err != nil:
			es.Add("until", "date", "give the last day as 2027-01-31, or leave it empty")
		case !from.IsZero() && u.Before(from):
			es.Add("until", "until_before_from", "the closure ends before it starts")
		default:
			until = &u
		}
	}
	reason := strings.TrimSpace(d.Reason)
	if reason == "" {
		es.Add("reason", "required", "say why the location closes")
	} else if utf8.RuneCountInString(reason) > 500 || !requests.Text(reason) {
		es.Add("reason", "text", "at most 500 characters of plain text")
	}
	if d.RadiusKm < 0 || d.RadiusKm > 50 {
		es.Add("radius_km", "radius", "between 1 and 50 km")
	}
	return loc, from, until, es
}

// Declare records a closure: the location stops showing free places, every
// affected family of every desk is found (a placed child gets a new urgent
// request; open offers and pending choices there end with a clear reason),
// and every desk with families, and the desks of the region, log it.
func (s *Service) Declare(ctx context.Context, d Declaration, actor requests.Actor) (*Closure, error) {
	locID, from, until, es := s.check(d)
	if len(es) > 0 {
		return nil, es
	}
	var loc catalog.Location
	if err := s.o.DB.NewSelect().Model(&loc).Where("id = ?", locID).Scan(ctx); errors.Is(err, sql.ErrNoRows) {
		es.Add("location_id", "location", "choose the location that closes")
		return nil, es
	} else if err != nil {
		return nil, fmt.Errorf("crisis: location: %w", err)
	}
	if n, err := s.o.DB.NewSelect().Model((*Closure)(nil)).Where("location_id = ? AND ended_at IS NULL", locID).Count(ctx); err != nil {
		return nil, fmt.Errorf("crisis: closures of the location: %w", err)
	} else if n > 0 {
		es.Add("location_id", "already_closed", "this location is already closed")
		return nil, es
	}
	m, _ := geo.LookupMunicipality(loc.MunicipalityNIS)
	radius := d.RadiusKm
	if radius == 0 {
		radius = DefaultRadiusKm
	}
	c := &Closure{ID: ids.New[closureKind](), LocationID: locID, RegionNIS: string(m.RegionNIS), FromDate: from, UntilDate: until,
		Reason: strings.TrimSpace(d.Reason), Public: d.Public, RadiusKm: radius, DeclaredBy: actor.String(),
		DeclaredAt: s.o.Clock.Now(), LocationName: loc.Name}
	if _, err := s.o.DB.NewInsert().Model(c).Exec(ctx); err != nil {
		return nil, fmt.Errorf("crisis: declare: %w", err)
	}
	s.o.Catalog.PlacesChanged(ctx, m.RegionNIS)
	if err := s.collect(ctx, c, actor); err != nil {
		return c, err
	}
	if s.o.Notify != nil {
		if err := s.askProviders(ctx, c, &loc); err != nil {
			return c, err
		}
	}
	return c, nil
}

// askProviders asks the providers of the open locations within the radius
// for emergency places, through the desk that covers the closed location.
func (s *Service) askProviders(ctx context.Context, c *Closure, closed *catalog.Location) error {
	var home *tenant.Tenant
	for _, d := range s.o.Desks.All() {
		if slices.Contains(d.Municipalities, closed.MunicipalityNIS) {
			home = &d
			break
		}
	}
	region, ok := geo.LookupRegion(geo.NISCode(c.RegionNIS))
	if home == nil || !ok {
		return nil
	}
	var near []catalog.Location
	if err := s.o.DB.NewSelect().Model(&near).Column("id", "lat", "lon", "email").
		Where("municipality_nis IN (?)", bun.In(region.Municipalities)).Where("id <> ?", c.LocationID).
		Where("email <> ''").Where(catalog.NotClosed("location.id")).Scan(ctx); err != nil {
		return fmt.Errorf("crisis: providers nearby: %w", err)
	}
	var emails []string
	for _, l := range near {
		if geo.DistanceKm(closed.Lat, closed.Lon, l.Lat, l.Lon) <= float64(c.RadiusKm) && !slices.Contains(emails, l.Email) {
			emails = append(emails, l.Email)
		}
	}
	s.o.Notify.AskProviders(tenancy.WithTenant(ctx, home.ID), *home, c, emails)
	return nil
}

// start is when an affected child needs care again: the first day of the
// closure, or today when that passed.
func (s *Service) start(c *Closure, desired time.Time) time.Time {
	t := c.FromDate
	if today := s.o.Clock.Now().Truncate(24 * time.Hour); today.After(t) {
		t = today
	}
	if desired.After(t) {
		t = desired
	}
	return t
}

// collect finds the affected families in every desk, each desk in its own
// transactions (a provider serves families of several desks).
func (s *Service) collect(ctx context.Context, c *Closure, actor requests.Actor) error {
	for _, d := range s.o.Desks.All() {
		dctx := tenancy.WithTenant(ctx, d.ID)
		var placed, open []requests.Request
		err := s.o.Tenants.Tx(dctx, func(ctx context.Context, tx *tenancy.Tx) error {
			if err := tx.Select(&placed).Where("status = ? AND placed_location_id = ?", requests.StatusPlaced, c.LocationID).
				OrderExpr("id").Scan(ctx); err != nil {
				return err
			}
			return tx.Select(&open).Where("status IN (?)", bun.In([]requests.Status{requests.StatusSubmitted, requests.StatusActive, requests.StatusOffered})).
				Where("id IN (SELECT p.request_id FROM preferences AS p WHERE p.tenant_id = ? AND p.location_id = ? AND p.state IN (?))",
					tx.Tenant(), c.LocationID, bun.In([]requests.PreferenceState{requests.PreferencePending, requests.PreferenceForwarded,
						requests.PreferenceWaitingList, requests.PreferenceOffered})).
				OrderExpr("id").Scan(ctx)
		})
		if err != nil {
			return fmt.Errorf("crisis: affected families of %s: %w", d.Slug, err)
		}
		now := s.o.Clock.Now()
		var fams []Family
		for _, r := range placed {
			n, err := s.o.Requests.Replace(dctx, r.ID, s.start(c, time.Time{}), actor)
			if err != nil {
				return fmt.Errorf("crisis: replace %s: %w", r.ID, err)
			}
			from := r.ID.UUID
			fams = append(fams, Family{ClosureID: c.ID, RequestID: n.ID, Cause: CausePlacement, FromRequest: &from, AddedAt: now})
		}
		for _, r := range open {
			cause := CausePreference
			if r.Status == requests.StatusOffered {
				cause = CauseOffer // settled below: was the offer the one there?
			}
			if _, err := s.o.Requests.CloseAtLocation(dctx, r.ID, c.LocationID, actor); err != nil {
				return fmt.Errorf("crisis: end choices at the location for %s: %w", r.ID, err)
			}
			fams = append(fams, Family{ClosureID: c.ID, RequestID: r.ID, Cause: cause, AddedAt: now})
		}
		inRegion := slices.ContainsFunc(d.Municipalities, func(n geo.NISCode) bool {
			m, _ := geo.LookupMunicipality(n)
			return string(m.RegionNIS) == c.RegionNIS
		})
		if len(fams) == 0 && !inRegion {
			continue
		}
		err = s.o.Tenants.Tx(dctx, func(ctx context.Context, tx *tenancy.Tx) error {
			if len(fams) > 0 {
				if err := tx.Insert(ctx, &fams); err != nil {
					return err
				}
			}
			return s.log(ctx, tx, c, "closure.declared", actor.String(), map[string]any{"families": len(fams),
				"location": c.LocationName, "from": c.FromDate.Format(dateLayout)})
		})
		if err != nil {
			return fmt.Errorf("crisis: record families of %s: %w", d.Slug, err)
		}
		if s.o.Notify != nil {
			s.o.Notify.Declared(dctx, d, c, fams)
		}
	}
	return nil
}

func (s *Service) log(ctx context.Context, tx *tenancy.Tx, c *Closure, kind, actor string, data map[string]any) error {
	b := mustJSON(data)
	return eventlog.Append(ctx, tx, &eventlog.Event{OccurredAt: s.o.Clock.Now(), Actor: actor, SubjectType: "closure",
		SubjectID: c.ID.UUID, Kind: kind, Data: b})
}

// Get reads a closure with its location's name.
func (s *Service) Get(ctx context.Context, id ID) (*Closure, error) {
	var c Closure
	err := s.o.DB.NewSelect().Model(&c).ColumnExpr("closure.*, l.name AS location_name").
		Join("JOIN locations AS l ON l.id = closure.location_id").Where("closure.id = ?", id).Scan(ctx, &c)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("crisis: get: %w", err)
	}
	return &c, nil
}

// List returns the closures of a region, in force first, newest first.
func (s *Service) List(ctx context.Context, regions []string) ([]Closure, error) {
	var cs []Closure
	if len(regions) == 0 {
		return nil, nil
	}
	err := s.o.DB.NewSelect().Model(&cs).ColumnExpr("closure.*, l.name AS location_name").
		Join("JOIN locations AS l ON l.id = closure.location_id").Where("closure.region_nis IN (?)", bun.In(regions)).
		OrderExpr("closure.ended_at IS NOT NULL, closure.declared_at DESC").Limit(100).Scan(ctx, &cs)
	if err != nil {
		return nil, fmt.Errorf("crisis: list: %w", err)
	}
	return cs, nil
}

// OutsideFamily is a family the provider knew from outside Loket, typed in
// quickly: it becomes an urgent request of the desk, marked with the closure.
type OutsideFamily struct {
	ChildFirstName  string   `json:"child_first_name"`
	ChildLastName   string   `json:"child_last_name"`
	BirthDate       string   `json:"birth_date"`
	ParentFirstName string   `json:"parent_first_name"`
	ParentLastName  string   `json:"parent_last_name"`
	Email           string   `json:"email"`
	Phone           string   `json:"phone"`
	Language        string   `json:"language"`
	MunicipalityNIS string   `json:"municipality_nis"`
	Days            []string `json:"days"`
	DayPart         string   `json:"day_part"`
	Start           string   `json:"start"`
}

// AddOutside registers an outside family at the desk in ctx: a request with
// the closed location as its only choice, ended at once with the closure's
// reason, so the re-placement proposes places nearby. Field errors come back
// as validate.Errors.
func (s *Service) AddOutside(ctx context.Context, id ID, f OutsideFamily, actor requests.Actor) (*requests.Request, error) {
	c, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if !c.InForce() {
		return nil, ErrEnded
	}
	if f.Language == "" {
		f.Language = "nl"
	}
	if f.DayPart == "" {
		f.DayPart = string(requests.DayWhole)
	}
	if f.Start == "" {
		f.Start = s.start(c, time.Time{}).Format(dateLayout)
	}
	sub := requests.Submission{
		Child:    requests.ChildInput{FirstName: f.ChildFirstName, LastName: f.ChildLastName, BirthDate: f.BirthDate},
		Parents:  []requests.ParentInput{{FirstName: f.ParentFirstName, LastName: f.ParentLastName, Email: f.Email, Phone: f.Phone}},
		Language: f.Language, Address: requests.AddressInput{MunicipalityNIS: f.MunicipalityNIS}, DesiredStart: f.Start,
		CarePlan: requests.CarePlanInput{Days: f.Days, DayPart: f.DayPart}, Preferences: []string{c.LocationID.String()},
		Reason: string(requests.ReasonWork), Urgent: true, PrivacyVersion: requests.PrivacyVersion, Channel: requests.ChannelForwarded,
	}
	r, _, _, err := s.o.Requests.Submit(ctx, sub, actor, "")
	if err != nil {
		return nil, err
	}
	if _, err := s.o.Requests.CloseAtLocation(ctx, r.ID, c.LocationID, actor); err != nil {
		return nil, err
	}
	err = s.o.Tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		fam := Family{ClosureID: c.ID, RequestID: r.ID, Cause: CauseOutside, AddedAt: s.o.Clock.Now()}
		if err := tx.Insert(ctx, &fam); err != nil {
			return err
		}
		return s.log(ctx, tx, c, "closure.family_added", actor.String(), map[string]any{"request_id": r.ID.String()})
	})
	if err != nil {
		return nil, fmt.Errorf("crisis: mark outside family: %w", err)
	}
	return r, nil
}

// EmergencyInput is a provider's announcement of emergency places.
type EmergencyInput struct {
	LocationID string `json:"location_id"`
	StartMonth string `json:"start_month"`
	AgeBand    string `json:"age_band"`
	Places     int    `json:"places"`
	Until      string `json:"until"`
}

// Announce records emergency places of a nearby location for the crisis:
// they are added to its free places (and taken back when the closure ends,
// as far as they are still free).
func (s *Service) Announce(ctx context.Context, id ID, in EmergencyInput, actor string) error {
	c, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	if !c.InForce() {
		return ErrEnded
	}
	var es validate.Errors
	loc, err := uuid.Parse(in.LocationID)
	if err != nil || loc == c.LocationID {
		es.Add("location_id", "location", "choose one of your locations that stays open")
	}
	if !catalog.ValidMonth(in.StartMonth) {
		es.Add("start_month", "month", "must look like 2027-01 (got %q)", in.StartMonth)
	}
	if !catalog.ValidBand(catalog.AgeBand(in.AgeBand)) {
		es.Add("age_band", "age_band", "the age band must be baby or toddler")
	}
	if in.Places < 1 || in.Places > 50 {
		es.Add("places", "places", "between 1 and 50 places")
	}
	until, err := time.Parse(dateLayout, in.Until)
	if err != nil || until.Before(c.FromDate) {
		es.Add("until", "date", "give the last day of the emergency places as 2027-01-31, after the closure starts")
	}
	if len(es) > 0 {
		return es
	}
	e := &Emergency{ClosureID: id, LocationID: loc, StartMonth: in.StartMonth, AgeBand: in.AgeBand, Places: in.Places,
		UntilDate: until, AnnouncedBy: actor, AnnouncedAt: s.o.Clock.Now()}
	free, err := catalog.FreePlacesTx(ctx, s.o.DB.DB, catalog.LocationID{UUID: loc}, in.StartMonth, catalog.AgeBand(in.AgeBand))
	if err != nil {
		return err
	}
	if _, err := s.o.DB.NewInsert().Model(e).On("CONFLICT (closure_id, location_id, start_month, age_band) DO UPDATE").
		Set("places = emergency.places + EXCLUDED.places, until_date = EXCLUDED.until_date").Exec(ctx); err != nil {
		return fmt.Errorf("crisis: announce: %w", err)
	}
	return s.o.Catalog.SetAvailability(ctx, actor, catalog.AvailabilityChange{LocationID: catalog.LocationID{UUID: loc},
		StartMonth: in.StartMonth, AgeBand: catalog.AgeBand(in.AgeBand), FreePlaces: free + in.Places})
}

// Emergencies lists the emergency places of a closure.
func (s *Service) Emergencies(ctx context.Context, id ID) ([]Emergency, error) {
	var es []Emergency
	if err := s.o.DB.NewSelect().Model(&es).Where("closure_id = ?", id).OrderExpr("start_month, location_id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("crisis: emergency places: %w", err)
	}
	return es, nil
}

// End ends the closure: the location reopens with its free places, unused
// emergency places are taken back, and every desk involved logs it.
func (s *Service) End(ctx context.Context, id ID, actor string) error {
	c, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	if !c.InForce() {
		return ErrEnded
	}
	now := s.o.Clock.Now()
	if _, err := s.o.DB.NewUpdate().Model((*Closure)(nil)).Set("ended_at = ?", now).Set("ended_by = ?", actor).
		Where("id = ? AND ended_at IS NULL", id).Exec(ctx); err != nil {
		return fmt.Errorf("crisis: end: %w", err)
	}
	ems, err := s.Emergencies(ctx, id)
	if err != nil {
		return err
	}
	for _, e := range ems {
		free, err := catalog.FreePlacesTx(ctx, s.o.DB.DB, catalog.LocationID{UUID: e.LocationID}, e.StartMonth, catalog.AgeBand(e.AgeBand))
		if err != nil {
			return err
		}
		if err := s.o.Catalog.SetAvailability(ctx, actor, catalog.AvailabilityChange{LocationID: catalog.LocationID{UUID: e.LocationID},
			StartMonth: e.StartMonth, AgeBand: catalog.AgeBand(e.AgeBand), FreePlaces: free - min(free, e.Places)}); err != nil {
			return err
		}
	}
	s.o.Catalog.PlacesChanged(ctx, geo.NISCode(c.RegionNIS))
	for _, d := range s.involved(c) {
		err := s.o.Tenants.Tx(tenancy.WithTenant(ctx, d.ID), func(ctx context.Context, tx *tenancy.Tx) error {
			return s.log(ctx, tx, c, "closure.ended", actor, map[string]any{"location": c.LocationName})
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// EndDue ends every closure whose last day has passed: the location reopens
// with its free places (the scheduler runs it daily). It returns how many.
func (s *Service) EndDue(ctx context.Context) (int, error) {
	today := s.o.Clock.Now().UTC().Truncate(24 * time.Hour)
	var due []Closure
	if err := s.o.DB.NewSelect().Model(&due).Column("id").Where("ended_at IS NULL AND until_date IS NOT NULL AND until_date < ?", today).
		Scan(ctx); err != nil {
		return 0, fmt.Errorf("crisis: closures due to end: %w", err)
	}
	for _, c := range due {
		if err := s.End(ctx, c.ID, "system:until"); err != nil && !errors.Is(err, ErrEnded) {
			return 0, err
		}
	}
	return len(due), nil
}

// involved are the desks with families of the closure or in its region
// (those that logged the declaration).
func (s *Service) involved(c *Closure) []tenant.Tenant {
	var out []tenant.Tenant
	for _, d := range s.o.Desks.All() {
		if slices.ContainsFunc(d.Municipalities, func(n geo.NISCode) bool {
			m, _ := geo.LookupMunicipality(n)
			return string(m.RegionNIS) == c.RegionNIS
		}) {
			out = append(out, d)
		}
	}
	return out
}

// deskFamilies are the desks with families of the closure, each with its
// affected request ids.
func (s *Service) deskFamilies(ctx context.Context, id ID) (map[tenancy.ID][]Family, error) {
	out := map[tenancy.ID][]Family{}
	for _, d := range s.o.Desks.All() {
		var fams []Family
		err := s.o.Tenants.Tx(tenancy.WithTenant(ctx, d.ID), func(ctx context.Context, tx *tenancy.Tx) error {
			return tx.Select(&fams).Where("closure_id = ?", id).OrderExpr("request_id").Scan(ctx)
		})
		if err != nil {
			return nil, fmt.Errorf("crisis: families of %s: %w", d.Slug, err)
		}
		if len(fams) > 0 {
			out[d.ID] = fams
		}
	}
	return out, nil
}

type needRow struct {
	ID           uuid.UUID  `bun:"id"`
	DesiredStart time.Time  `bun:"desired_start"`
	CareDays     string     `bun:"care_days"`
	DayPart      string     `bun:"day_part"`
	WiderHours   bool       `bun:"wider_hours"`
	BirthDate    *time.Time `bun:"birth_date"`
	Expected     *time.Time `bun:"expected_date"`
	Vulnerable   bool       `bun:"vulnerable"`
}

// DryRun re-places the affected children still without a place or an open
// proposal: candidates nearby within the region, the crisis tier on top of
// the usual rules, stored as a round of the desk in ctx (each desk of a
// family keeps its copy) for review. Nothing is proposed yet.
func (s *Service) DryRun(ctx context.Context, id ID, actor string) (*rounds.Round, error) {
	c, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if !c.InForce() {
		return nil, ErrEnded
	}
	var loc catalog.Location
	if err := s.o.DB.NewSelect().Model(&loc).Where("id = ?", c.LocationID).Scan(ctx); err != nil {
		return nil, fmt.Errorf("crisis: location: %w", err)
	}
	byDesk, err := s.deskFamilies(ctx, id)
	if err != nil {
		return nil, err
	}
	var needs []Need
	owner := map[uuid.UUID]tenancy.ID{}
	refused := map[string][]string{} // request → locations whose provider refused it
	held := map[string]int{}
	for _, d := range s.o.Desks.All() {
		h, err := s.o.Rounds.Held(tenancy.WithTenant(ctx, d.ID))
		if err != nil {
			return nil, err
		}
		for k, n := range h {
			held[k] += n
		}
		fams := byDesk[d.ID]
		if len(fams) == 0 {
			continue
		}
		var rows []needRow
		claims := map[uuid.UUID][]string{}
		err = s.o.Tenants.Tx(tenancy.WithTenant(ctx, d.ID), func(ctx context.Context, tx *tenancy.Tx) error {
			if err := tx.Select((*requests.Request)(nil)).
				ColumnExpr("request.id, request.desired_start, request.care_days, request.day_part, request.wider_hours, c.birth_date, c.expected_date, f.vulnerable").
				Join("JOIN children AS c ON c.tenant_id = request.tenant_id AND c.id = request.child_id").
				Join("JOIN families AS f ON f.tenant_id = c.tenant_id AND f.id = c.family_id").
				Where("request.status IN (?)", bun.In([]requests.Status{requests.StatusSubmitted, requests.StatusActive})).
				Where("request.id IN (SELECT cf.request_id FROM closure_families AS cf WHERE cf.tenant_id = ? AND cf.closure_id = ?)", tx.Tenant(), id).
				Where("NOT EXISTS (SELECT 1 FROM round_offers AS o WHERE o.tenant_id = request.tenant_id AND o.request_id = request.id AND o.state = ?)", rounds.OfferProposed).
				OrderExpr("request.id").Scan(ctx, &rows); err != nil {
				return err
			}
			var cs []requests.RequestClaim
			if err := tx.Select(&cs).Where("request_id IN (SELECT cf.request_id FROM closure_families AS cf WHERE cf.tenant_id = ? AND cf.closure_id = ?)", tx.Tenant(), id).
				Scan(ctx); err != nil {
				return err
			}
			for _, cl := range cs {
				claims[cl.RequestID.UUID] = append(claims[cl.RequestID.UUID], string(cl.Claim))
			}
			var offs []rounds.Offer
			if err := tx.Select(&offs).Where("state = ?", rounds.OfferRefused).
				Where("request_id IN (SELECT cf.request_id FROM closure_families AS cf WHERE cf.tenant_id = ? AND cf.closure_id = ?)", tx.Tenant(), id).
				Scan(ctx); err != nil {
				return err
			}
			for _, o := range offs {
				refused[o.RequestID.String()] = append(refused[o.RequestID.String()], o.LocationID.String())
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("crisis: affected children of %s: %w", d.Slug, err)
		}
		for _, r := range rows {
			born := r.BirthDate
			if born == nil {
				born = r.Expected
			}
			if born == nil {
				continue
			}
			n := Need{ID: r.ID.String(), Lat: loc.Lat, Lon: loc.Lon, Born: *born, Start: s.start(c, r.DesiredStart),
				HalfDays: r.DayPart == string(requests.DayHalf), WiderHours: r.WiderHours, Vulnerable: r.Vulnerable}
			if r.CareDays != "" {
				n.Days = strings.Split(r.CareDays, ",")
			}
			for _, cl := range claims[r.ID] {
				if cl != string(requests.ClaimSibling) { // a sibling claim holds at the closed location only
					n.Criteria = append(n.Criteria, cl)
				}
			}
			needs = append(needs, n)
			owner[r.ID] = d.ID
		}
	}
	sites, err := s.sites(ctx, c, needs, held)
	if err != nil {
		return nil, err
	}
	for i := range needs {
		needs[i].Refused = refused[needs[i].ID]
	}
	inst := Instance(needs, sites, float64(c.RadiusKm), s.o.Tiers, rounds.NewSeed())
	from, to := monthSpan(needs, c)
	r, err := s.o.Rounds.StoreDryRun(ctx, inst, owner, from, to, actor)
	if err != nil {
		return nil, err
	}
	if _, err := s.o.DB.NewUpdate().Model((*Closure)(nil)).Set("round_id = ?", r.ID.UUID).Where("id = ?", id).Exec(ctx); err != nil {
		return nil, fmt.Errorf("crisis: keep the dry run: %w", err)
	}
	return r, nil
}

func monthSpan(needs []Need, c *Closure) (string, string) {
	from := c.FromDate.Format("2006-01")
	to := from
	for i, n := range needs {
		m := n.Start.Format("2006-01")
		if i == 0 || m < from {
			from = m
		}
		if m > to {
			to = m
		}
	}
	return from, to
}

// sites reads the open locations of the closure's region that accept
// requests and have free places (usual and emergency, less what proposals and
// unanswered offers hold) in a month some child needs.
func (s *Service) sites(ctx context.Context, c *Closure, needs []Need, held map[string]int) ([]Site, error) {
	region, ok := geo.LookupRegion(geo.NISCode(c.RegionNIS))
	if !ok || len(needs) == 0 {
		return nil, nil
	}
	var months []string
	for _, n := range needs {
		if m := n.Start.Format("2006-01"); !slices.Contains(months, m) {
			months = append(months, m)
		}
	}
	var rows []struct {
		catalog.Location `bun:",extend"`
		StartMonth       string `bun:"start_month"`
		AgeBand          string `bun:"age_band"`
		FreePlaces       int    `bun:"free_places"`
	}
	err := s.o.DB.NewSelect().Model(&rows).ModelTableExpr("locations AS location").
		ColumnExpr("location.*, a.start_month, a.age_band, a.free_places").
		Join("JOIN availability AS a ON a.location_id = location.id").
		Where("location.municipality_nis IN (?)", bun.In(region.Municipalities)).
		Where("location.accepts_requests").
		Where("a.start_month IN (?) AND a.free_places > 0", bun.In(months)).
		Where(catalog.NotClosed("location.id")).
		OrderExpr("location.id").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("crisis: places nearby: %w", err)
	}
	var sites []Site
	for _, r := range rows {
		id := r.ID.String()
		if len(sites) == 0 || sites[len(sites)-1].ID != id {
			sites = append(sites, Site{ID: id, Name: r.Name, Lat: r.Lat, Lon: r.Lon, MinAgeMonths: r.MinAgeMonths,
				MaxAgeMonths: r.MaxAgeMonths, Hours: r.OpeningHours, EarlyHours: r.EarlyHours, LateHours: r.LateHours,
				Free: map[string]int{}})
		}
		free := r.FreePlaces - held[rounds.ProgrammeID(r.ID.UUID, r.StartMonth, r.AgeBand)]
		if free > 0 {
			sites[len(sites)-1].Free[r.StartMonth+"|"+r.AgeBand] = free
		}
	}
	return sites, nil
}

// PublishRound publishes a round of the rounds service when it is the dry
// run of a closure (rounds.Service.SetPublisher): the round page's publish
// button then does what the crisis page's does.
func (s *Service) PublishRound(ctx context.Context, round rounds.ID, actor string) (bool, int, error) {
	var cs []Closure
	if err := s.o.DB.NewSelect().Model(&cs).Column("id").Where("round_id = ?", round.UUID).Limit(1).Scan(ctx); err != nil {
		return true, 0, fmt.Errorf("crisis: closure of round %s: %w", round, err)
	}
	if len(cs) == 0 {
		return false, 0, nil
	}
	who := requests.Actor{Kind: requests.ActorDesk, ID: actor} // the round page names the desk worker by her id
	if kind, id, ok := strings.Cut(actor, ":"); ok {
		who = requests.Actor{Kind: requests.ActorKind(kind), ID: id}
	}
	n, err := s.Publish(ctx, cs[0].ID, who)
	return true, n, err
}

// Publish proposes the places of the closure's dry run: each place becomes a
// choice of the child's request (added on the desk's behalf) and a proposal
// to the provider, who confirms or refuses it as in any round; the parent
// then accepts. It returns the number of proposals.
func (s *Service) Publish(ctx context.Context, id ID, actor requests.Actor) (int, error) {
	c, err := s.Get(ctx, id)
	if err != nil {
		return 0, err
	}
	if c.RoundID == nil {
		return 0, ErrNoRound
	}
	round := rounds.ID{UUID: *c.RoundID}
	r, err := s.o.Rounds.Get(ctx, round)
	if err != nil {
		return 0, err
	}
	if r.Status != rounds.StatusDryRun {
		return 0, rounds.ErrPublished
	}
	var res allocation.Result
	if err := jsonUnmarshal(r.Result, &res); err != nil {
		return 0, fmt.Errorf("crisis: stored result: %w", err)
	}
	byDesk, err := s.deskFamilies(ctx, id)
	if err != nil {
		return 0, err
	}
	deskOf := map[string]tenancy.ID{}
	var desks []tenancy.ID
	for d, fams := range byDesk {
		desks = append(desks, d)
		for _, f := range fams {
			deskOf[f.RequestID.String()] = d
		}
	}
	slices.SortFunc(desks, func(a, b tenancy.ID) int { return strings.Compare(a.String(), b.String()) })
	for _, a := range res.Assignments {
		d, ok := deskOf[a.ChildID]
		if a.ProgrammeID == "" || !ok {
			continue
		}
		req, _ := uuid.Parse(a.ChildID)
		loc, _ := uuid.Parse(strings.SplitN(a.ProgrammeID, "|", 2)[0])
		if _, err := s.o.Requests.AddPreference(tenancy.WithTenant(ctx, d), requests.RequestID{UUID: req}, loc, actor); err != nil {
			if errors.Is(err, requests.ErrNotFound) {
				continue
			}
			return 0, fmt.Errorf("crisis: propose %s: %w", a.ChildID, err)
		}
	}
	n, err := s.o.Rounds.PublishDesks(ctx, round, desks, actor.String())
	if err != nil {
		return n, err
	}
	for _, d := range desks {
		err := s.o.Tenants.Tx(tenancy.WithTenant(ctx, d), func(ctx context.Context, tx *tenancy.Tx) error {
			return s.log(ctx, tx, c, "closure.published", actor.String(), map[string]any{"round_id": round.String()})
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
