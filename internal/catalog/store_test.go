package catalog_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/geo"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
)

// validLocation is a location that passes every rule; tests break one rule.
func validLocation() catalog.Location {
	return catalog.Location{
		DossierNumber: "TEST-0001", Name: "Kinderdagverblijf De Testboom", Street: "Speelpleinstraat 1",
		Postcode: "2440", MunicipalityNIS: "13008", Lat: 51.16, Lon: 4.99,
		CareType: catalog.Groepsopvang, SubsidyTier: catalog.TierT2A, PriceType: catalog.IncomeRelated,
		LicensedPlaces: 18, MinAgeMonths: 0, MaxAgeMonths: 36,
		OpeningHours:    catalog.WeekHours{{Open: "07:00", Close: "18:30"}},
		AcceptsRequests: true, Languages: []string{"nl"}, Email: "info@testboom.example",
	}
}

func TestLocationRules(t *testing.T) {
	if err := (&catalog.Location{}).Validate(); err == nil {
		t.Fatal("an empty location must be refused")
	}
	ok := validLocation()
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid location refused: %v", err)
	}
	cases := map[string]struct {
		change func(*catalog.Location)
		field  string
	}{
		"gezinsopvang over 8":  {func(l *catalog.Location) { l.CareType, l.LicensedPlaces = catalog.Gezinsopvang, 9 }, "places"},
		"groepsopvang under 9": {func(l *catalog.Location) { l.LicensedPlaces = 5 }, "places"},
		"no places":            {func(l *catalog.Location) { l.LicensedPlaces = 0 }, "places"},
		"unknown type":         {func(l *catalog.Location) { l.CareType = "kinderclub" }, "type"},
		"unknown tier":         {func(l *catalog.Location) { l.SubsidyTier = "T4" }, "subsidy_tier"},
		"price type mismatch":  {func(l *catalog.Location) { l.PriceType = catalog.FreePrice }, "price_type"},
		"unknown municipality": {func(l *catalog.Location) { l.MunicipalityNIS = "99999" }, "municipality"},
		"outside Belgium":      {func(l *catalog.Location) { l.Lat = 48.85 }, "coordinates"},
		"bad postcode":         {func(l *catalog.Location) { l.Postcode = "244" }, "postcode"},
		"age range reversed":   {func(l *catalog.Location) { l.MinAgeMonths, l.MaxAgeMonths = 30, 12 }, "age_range"},
		"closing before open":  {func(l *catalog.Location) { l.OpeningHours[0] = catalog.DayHours{Open: "18:00", Close: "07:00"} }, "opening_hours.maandag"},
		"bad e-mail":           {func(l *catalog.Location) { l.Email = "niet-een-adres" }, "email"},
		"no name":              {func(l *catalog.Location) { l.Name = " " }, "name"},
		"no dossier number":    {func(l *catalog.Location) { l.DossierNumber = "" }, "dossier_number"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			l := validLocation()
			tc.change(&l)
			var ves catalog.ValidationErrors
			if err := l.Validate(); !errors.As(err, &ves) {
				t.Fatalf("want ValidationErrors, got %v", err)
			}
			found := false
			for _, fe := range ves {
				found = found || fe.Field == tc.field
			}
			if !found {
				t.Errorf("no error on field %s: %v", tc.field, ves)
			}
		})
	}
	// A gezinsopvang of 8 is fine.
	g := validLocation()
	g.CareType, g.LicensedPlaces = catalog.Gezinsopvang, 8
	if err := g.Validate(); err != nil {
		t.Errorf("gezinsopvang with 8 places refused: %v", err)
	}
}

func TestTierPriceAndKBO(t *testing.T) {
	want := map[catalog.SubsidyTier]catalog.PriceType{
		catalog.TierT0: catalog.FreePrice, catalog.TierT1: catalog.FreePrice,
		catalog.TierT2A: catalog.IncomeRelated, catalog.TierT2B: catalog.IncomeRelated, catalog.TierT3: catalog.IncomeRelated,
	}
	for tier, pt := range want {
		if tier.PriceType() != pt {
			t.Errorf("%s → %s, want %s", tier, tier.PriceType(), pt)
		}
	}
	// 0123456749: 97 - (01234567 mod 97) = 49.
	if !catalog.ValidKBO("0123456749") || catalog.ValidKBO("0123456748") || catalog.ValidKBO("2123456749") || catalog.ValidKBO("12345") {
		t.Error("KBO check digits wrong")
	}
	if got := catalog.NormalizeKBO("BE 0123.456.749"); got != "0123456749" {
		t.Errorf("normalize: %q", got)
	}
	if catalog.BandForAge(17) != catalog.Baby || catalog.BandForAge(18) != catalog.Toddler {
		t.Error("age bands")
	}
	birth := time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC)
	if got := catalog.AgeInMonths(birth, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)); got != 9 {
		t.Errorf("age at start: %d, want 9", got)
	}
}

func TestAvailabilityChangesAreEvents(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		seedReference(t, d)
		clk := clock.NewFixed(time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC))
		s := catalog.NewStore(d, clk)
		var changed []geo.NISCode
		s.OnAvailabilityChange(func(_ context.Context, r geo.NISCode) { changed = append(changed, r) })

		p := catalog.Provider{Name: "vzw Testopvang", KBONumber: "0123456749"}
		if err := s.SaveProvider(ctx, &p); err != nil {
			t.Fatal(err)
		}
		l := validLocation()
		l.ProviderID = p.ID
		if err := s.SaveLocation(ctx, &l); err != nil {
			t.Fatal(err)
		}
		again := l
		again.ID = catalog.LocationID{}
		again.Name = "Kinderdagverblijf De Testboom (nieuw)"
		if err := s.SaveLocation(ctx, &again); err != nil {
			t.Fatal(err)
		}
		if again.ID != l.ID {
			t.Errorf("saving by dossier number created a second location")
		}

		set := func(n int) error {
			return s.SetAvailability(ctx, "provider:test", catalog.AvailabilityChange{LocationID: l.ID, StartMonth: "2027-01", AgeBand: catalog.Baby, FreePlaces: n})
		}
		if err := set(3); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Hour)
		if err := set(1); err != nil {
			t.Fatal(err)
		}
		if err := set(1); err != nil { // no change, no event
			t.Fatal(err)
		}
		evs, err := s.AvailabilityHistory(ctx, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 2 || evs[0].FromPlaces != nil || evs[0].ToPlaces != 3 || *evs[1].FromPlaces != 3 || evs[1].ToPlaces != 1 || evs[1].ChangedBy != "provider:test" {
			t.Errorf("events: %+v", evs)
		}
		if len(changed) != 2 || changed[0] != "13000" {
			t.Errorf("region notifications: %v", changed)
		}
		det, err := s.Get(ctx, l.ID, "")
		if err != nil || len(det.Availability) != 1 || det.Availability[0].FreePlaces != 1 || det.Provider.Name != "vzw Testopvang" || det.Name != again.Name {
			t.Errorf("detail: %+v %v", det, err)
		}

		// More free places than licensed, a negative number, a bad month: refused.
		for _, bad := range []catalog.AvailabilityChange{
			{LocationID: l.ID, StartMonth: "2027-01", AgeBand: catalog.Baby, FreePlaces: 19},
			{LocationID: l.ID, StartMonth: "2027-01", AgeBand: catalog.Baby, FreePlaces: -1},
			{LocationID: l.ID, StartMonth: "2027-13", AgeBand: catalog.Baby, FreePlaces: 1},
			{LocationID: l.ID, StartMonth: "2027-01", AgeBand: "teen", FreePlaces: 1},
		} {
			var ves catalog.ValidationErrors
			if err := s.SetAvailability(ctx, "provider:test", bad); !errors.As(err, &ves) {
				t.Errorf("%+v: want a validation error, got %v", bad, err)
			}
		}
		if _, err := s.Get(ctx, catalog.LocationID{}, ""); !errors.Is(err, catalog.ErrNotFound) {
			t.Errorf("unknown location: %v", err)
		}

		rows, err := s.RegionAvailability(ctx, "13000", "2027-01", "")
		if err != nil || len(rows) != 1 || rows[0].FreePlaces != 1 || !strings.Contains(rows[0].Name, "Testboom") {
			t.Errorf("region availability: %+v %v", rows, err)
		}
		if rows, _ := s.RegionAvailability(ctx, "24000", "2027-01", ""); len(rows) != 0 {
			t.Errorf("another region sees this location: %+v", rows)
		}
	})
}

// seedReference writes the municipalities the locations point at.
func seedReference(t *testing.T, d *db.DB) {
	t.Helper()
	if _, err := geo.Sync(context.Background(), d.DB); err != nil {
		t.Fatal(err)
	}
}
