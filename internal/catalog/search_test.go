package catalog_test

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/geo"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/tenant"
)

// searchNow is the fixed "today" of the search tests: the detail page shows
// December 2026 to November 2027.
var searchNow = time.Date(2026, 12, 10, 9, 0, 0, 0, time.UTC)

// Names of the search fixture's locations (all invented).
const (
	fxZon   = "Groepsopvang De Zon"  // Geel, groep, T2A, early, inclusive
	fxMaan  = "Gezinsopvang De Maan" // Geel, gezin, T1, late, weekend, occasional, no requests
	fxSter  = "Kinderhuis De Ster"   // Laakdal, groep, T3, 12–48 months
	fxWolk  = "Onthaal De Wolk"      // Turnhout, gezin, T0, 0–24 months
	fxRegen = "Peutertuin De Regen"  // Leuven, groep, T2B
)

// seedSearchCatalogue writes five locations in four municipalities and their
// free places for January 2027; it returns their ids by name.
func seedSearchCatalogue(t *testing.T, s *catalog.Store) map[string]catalog.LocationID {
	t.Helper()
	ctx := context.Background()
	p1 := catalog.Provider{Name: "vzw Zonnige Kinderjaren", KBONumber: "0123456749"}
	p2 := catalog.Provider{Name: "Onthaalouder Testmans"}
	for _, p := range []*catalog.Provider{&p1, &p2} {
		if err := s.SaveProvider(ctx, p); err != nil {
			t.Fatalf("save provider: %v", err)
		}
	}
	week := catalog.WeekHours{{Open: "07:00", Close: "18:00"}, {Open: "07:00", Close: "18:00"}, {Open: "07:00", Close: "18:00"},
		{Open: "07:00", Close: "18:00"}, {Open: "07:00", Close: "17:00"}}
	base := func(dossier, name string, p catalog.Provider, nis geo.NISCode, postcode string, lat, lon float64, ct catalog.CareType, tier catalog.SubsidyTier, places int) *catalog.Location {
		return &catalog.Location{
			DossierNumber: dossier, Name: name, ProviderID: p.ID, Street: "Teststraat 1", Postcode: postcode,
			MunicipalityNIS: nis, Lat: lat, Lon: lon, CareType: ct, SubsidyTier: tier, LicensedPlaces: places,
			MinAgeMonths: 0, MaxAgeMonths: 36, OpeningHours: week, AcceptsRequests: true, Languages: []string{"nl"},
			Email: "info@" + dossier + ".example", Phone: "+32 14 00 00 99", Website: "https://" + dossier + ".example",
		}
	}
	locs := []*catalog.Location{
		base("srch-zon", fxZon, p1, "13008", "2440", 51.1620, 4.9900, catalog.Groepsopvang, catalog.TierT2A, 18),
		base("srch-maan", fxMaan, p2, "13008", "2440", 51.1700, 5.0000, catalog.Gezinsopvang, catalog.TierT1, 8),
		base("srch-ster", fxSter, p1, "13053", "2430", 51.0835, 5.0010, catalog.Groepsopvang, catalog.TierT3, 24),
		base("srch-wolk", fxWolk, p2, "13040", "2300", 51.3225, 4.9447, catalog.Gezinsopvang, catalog.TierT0, 6),
		base("srch-regen", fxRegen, p1, "24062", "3000", 50.8798, 4.7005, catalog.Groepsopvang, catalog.TierT2B, 30),
	}
	locs[0].EarlyHours, locs[0].InclusiveCare = true, true
	locs[1].LateHours, locs[1].Weekend, locs[1].OccasionalCare, locs[1].AcceptsRequests = true, true, true, false
	locs[2].MinAgeMonths, locs[2].MaxAgeMonths = 12, 48
	locs[3].MaxAgeMonths = 24
	ids := map[string]catalog.LocationID{}
	for _, l := range locs {
		if err := s.SaveLocation(ctx, l); err != nil {
			t.Fatalf("save %s: %v", l.Name, err)
		}
		ids[l.Name] = l.ID
	}
	const jan = "2027-01"
	if err := s.SetAvailability(ctx, "test",
		catalog.AvailabilityChange{LocationID: ids[fxZon], StartMonth: jan, AgeBand: catalog.Baby, FreePlaces: 2},
		catalog.AvailabilityChange{LocationID: ids[fxZon], StartMonth: jan, AgeBand: catalog.Toddler, FreePlaces: 0},
		catalog.AvailabilityChange{LocationID: ids[fxMaan], StartMonth: jan, AgeBand: catalog.Baby, FreePlaces: 0},
		catalog.AvailabilityChange{LocationID: ids[fxMaan], StartMonth: jan, AgeBand: catalog.Toddler, FreePlaces: 1},
		catalog.AvailabilityChange{LocationID: ids[fxSter], StartMonth: jan, AgeBand: catalog.Toddler, FreePlaces: 3},
		catalog.AvailabilityChange{LocationID: ids[fxRegen], StartMonth: jan, AgeBand: catalog.Baby, FreePlaces: 0},
		// Outside the detail page's twelve months: must not show.
		catalog.AvailabilityChange{LocationID: ids[fxZon], StartMonth: "2028-03", AgeBand: catalog.Baby, FreePlaces: 5},
	); err != nil {
		t.Fatalf("set availability: %v", err)
	}
	return ids
}

func newSearchStore(t *testing.T, d *db.DB) *catalog.Store {
	t.Helper()
	if _, err := geo.Sync(context.Background(), d.DB); err != nil {
		t.Fatal(err)
	}
	return catalog.NewStore(d, clock.NewFixed(searchNow))
}

func searchHitNames(r catalog.Result) []string {
	out := make([]string, len(r.Hits))
	for i, h := range r.Hits {
		out[i] = h.Name
	}
	return out
}

func postcodePoint(postcode string) *geo.Point {
	pc, ok := geo.LookupPostcode(postcode)
	if !ok {
		panic("no postcode " + postcode)
	}
	p := pc.Point
	return &p
}

func searchDate(s string) *time.Time {
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return &d
}

// TestSearchFilters: every filter keeps what fits and drops what does not,
// on both databases.
func TestSearchFilters(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSearchStore(t, d)
		seedSearchCatalogue(t, s)
		ctx := context.Background()
		cases := []struct {
			name string
			q    catalog.Query
			want []string // the hits, in name order unless the query sorts by distance
		}{
			{"no filter", catalog.Query{}, []string{fxMaan, fxZon, fxSter, fxWolk, fxRegen}},
			{"municipality Geel", catalog.Query{Municipalities: []geo.NISCode{"13008"}}, []string{fxMaan, fxZon}},
			{"municipalities Laakdal and Leuven", catalog.Query{Municipalities: []geo.NISCode{"13053", "24062"}}, []string{fxSter, fxRegen}},
			{"region Turnhout", catalog.Query{Municipalities: searchRegion(t, "13000")}, []string{fxMaan, fxZon, fxSter, fxWolk}},
			{"region Leuven", catalog.Query{Municipalities: searchRegion(t, "24000")}, []string{fxRegen}},
			{"within 15 km of Laakdal crosses into Geel", catalog.Query{Near: postcodePoint("2430"), WithinKm: 15}, []string{fxMaan, fxZon, fxSter}},
			{"within 3 km of Laakdal", catalog.Query{Near: postcodePoint("2430"), WithinKm: 3}, []string{fxSter}},
			{"gezinsopvang", catalog.Query{CareType: catalog.Gezinsopvang}, []string{fxMaan, fxWolk}},
			{"groepsopvang", catalog.Query{CareType: catalog.Groepsopvang}, []string{fxZon, fxSter, fxRegen}},
			{"income-related price", catalog.Query{PriceType: catalog.IncomeRelated}, []string{fxZon, fxSter, fxRegen}},
			{"free price", catalog.Query{PriceType: catalog.FreePrice}, []string{fxMaan, fxWolk}},
			{"baby of 6 months at the start", catalog.Query{ChildBirth: searchDate("2026-06-15"), StartMonth: "2027-01"}, []string{fxMaan, fxZon, fxWolk, fxRegen}},
			{"toddler of 31 months at the start", catalog.Query{ChildBirth: searchDate("2024-06-01"), StartMonth: "2027-01"}, []string{fxMaan, fxZon, fxSter, fxRegen}},
			{"free places in January", catalog.Query{StartMonth: "2027-01", HasFreePlaces: true}, []string{fxMaan, fxZon, fxSter}},
			{"free places in January for a baby", catalog.Query{ChildBirth: searchDate("2026-06-15"), StartMonth: "2027-01", HasFreePlaces: true}, []string{fxZon}},
			{"free places in February", catalog.Query{StartMonth: "2027-02", HasFreePlaces: true}, []string{}},
			{"early", catalog.Query{EarlyHours: true}, []string{fxZon}},
			{"late", catalog.Query{LateHours: true}, []string{fxMaan}},
			{"weekend", catalog.Query{Weekend: true}, []string{fxMaan}},
			{"inclusive", catalog.Query{InclusiveCare: true}, []string{fxZon}},
			{"occasional", catalog.Query{OccasionalCare: true}, []string{fxMaan}},
			{"accepts requests", catalog.Query{AcceptsRequests: true}, []string{fxZon, fxSter, fxWolk, fxRegen}},
			{"late and inclusive", catalog.Query{LateHours: true, InclusiveCare: true}, []string{}},
			{"sort by distance from Laakdal", catalog.Query{Near: postcodePoint("2430"), Sort: "distance"}, []string{fxSter, fxZon, fxMaan, fxWolk, fxRegen}},
			{"sort by name near Laakdal", catalog.Query{Near: postcodePoint("2430"), Sort: "name"}, []string{fxMaan, fxZon, fxSter, fxWolk, fxRegen}},
			{"page 2 of 2 per page", catalog.Query{Page: 2, PerPage: 2}, []string{fxSter, fxWolk}},
			{"page 3 of 2 per page", catalog.Query{Page: 3, PerPage: 2}, []string{fxRegen}},
			{"page beyond the end", catalog.Query{Page: 9, PerPage: 2}, []string{}},
		}
		for _, tc := range cases {
			res, err := s.Search(ctx, tc.q)
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
				continue
			}
			got := searchHitNames(res)
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
			}
			// Every excluded location is really left out of the total too.
			if tc.q.PerPage == 0 && res.Total != len(tc.want) {
				t.Errorf("%s: total %d, want %d", tc.name, res.Total, len(tc.want))
			}
		}

		// Pagination counts the whole result.
		res, _ := s.Search(ctx, catalog.Query{Page: 2, PerPage: 2})
		if res.Total != 5 || res.Pages() != 3 {
			t.Errorf("total %d pages %d, want 5 and 3", res.Total, res.Pages())
		}

		// Hits carry their distance, free places and provider.
		res, err := s.Search(ctx, catalog.Query{Near: postcodePoint("2430"), WithinKm: 15, StartMonth: "2027-01", Sort: "distance"})
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range res.Hits {
			if h.DistanceKm == nil || *h.DistanceKm > 15 || h.FreePlaces == nil || h.Provider.Name == "" {
				t.Fatalf("hit %s lacks distance, free places or provider: %+v", h.Name, h)
			}
		}
		if h := res.Hits[0]; h.Name != fxSter || *h.DistanceKm > 1 || *h.FreePlaces != 3 {
			t.Errorf("nearest hit: %s %.2f km %d free", h.Name, *h.DistanceKm, *h.FreePlaces)
		}
		if d := *res.Hits[1].DistanceKm; res.Hits[1].Name != fxZon || d < 8 || d > 10 {
			t.Errorf("Geel is about 9 km from Laakdal, got %s at %.2f km", res.Hits[1].Name, d)
		}
		for _, h := range res.Hits {
			if h.Name == fxZon && *h.FreePlaces != 2 {
				t.Errorf("%s: free places over both bands = %d, want 2", fxZon, *h.FreePlaces)
			}
		}
		res, _ = s.Search(ctx, catalog.Query{ChildBirth: searchDate("2024-06-01"), StartMonth: "2027-01", Municipalities: []geo.NISCode{"13008"}})
		for _, h := range res.Hits {
			want := map[string]int{fxZon: 0, fxMaan: 1}[h.Name]
			if h.FreePlaces == nil || *h.FreePlaces != want {
				t.Errorf("toddler band free places of %s: %v, want %d", h.Name, h.FreePlaces, want)
			}
		}
	})
}

func searchRegion(t *testing.T, nis geo.NISCode) []geo.NISCode {
	t.Helper()
	r, ok := geo.LookupRegion(nis)
	if !ok {
		t.Fatalf("no region %s", nis)
	}
	return r.Municipalities
}

func searchFieldCodes(err error) map[string]string {
	var ves catalog.ValidationErrors
	if !errors.As(err, &ves) {
		return nil
	}
	out := map[string]string{}
	for _, e := range ves {
		out[e.Field] = e.Code
	}
	return out
}

// TestParseSearch: the one parser of page and API turns parameters into a
// query, and bad input into errors on the parameter that was wrong.
func TestParseSearch(t *testing.T) {
	q, f, err := catalog.ParseSearch(url.Values{
		"municipality": {"13008", "13053"}, "region": {"24000"}, "postcode": {"2430"}, "within_km": {"7,5"},
		"type": {"groepsopvang"}, "price_type": {"inkomenstarief"}, "birth_date": {"2026-06-15"}, "start_month": {"2027-01"},
		"early": {"1"}, "late": {"true"}, "weekend": {"on"}, "inclusive": {"1"}, "occasional": {"1"},
		"accepts_requests": {"1"}, "free_places": {"1"}, "sort": {"distance"}, "page": {"2"}, "per_page": {"50"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantMunis := append([]geo.NISCode{"13008", "13053"}, searchRegion(t, "24000")...)
	if !slices.Equal(q.Municipalities, wantMunis) || q.Near == nil || q.Near.Lat != postcodePoint("2430").Lat || q.WithinKm != 7.5 ||
		q.CareType != catalog.Groepsopvang || q.PriceType != catalog.IncomeRelated || q.ChildBirth == nil || q.StartMonth != "2027-01" ||
		!q.EarlyHours || !q.LateHours || !q.Weekend || !q.InclusiveCare || !q.OccasionalCare || !q.AcceptsRequests || !q.HasFreePlaces ||
		q.Sort != "distance" || q.Page != 2 || q.PerPage != 50 {
		t.Errorf("parsed query: %+v", q)
	}
	if f.WithinKm != "7,5" || !f.Weekend {
		t.Errorf("form must keep what was typed: %+v", f)
	}

	q, _, err = catalog.ParseSearch(url.Values{"lat": {"51.1"}, "lon": {"4.99"}}, nil)
	if err != nil || q.Near == nil || q.Near.Lon != 4.99 || q.Municipalities != nil {
		t.Errorf("coordinates: %+v %v", q, err)
	}

	bad := []struct {
		v     url.Values
		field string
		code  string
	}{
		{url.Values{"municipality": {"99999"}}, "municipality", "municipality"},
		{url.Values{"region": {"13008"}}, "region", "region"},
		{url.Values{"postcode": {"24"}}, "postcode", "postcode"},
		{url.Values{"postcode": {"9999"}}, "postcode", "postcode_unknown"},
		{url.Values{"postcode": {"2440"}, "lat": {"51"}}, "postcode", "near_both"},
		{url.Values{"lat": {"48"}, "lon": {"4"}}, "lat", "coordinates"},
		{url.Values{"lat": {"51"}}, "lat", "coordinates"},
		{url.Values{"within_km": {"ver"}}, "within_km", "number"},
		{url.Values{"within_km": {"5"}}, "postcode", "near_needed"},
		{url.Values{"postcode": {"2440"}, "within_km": {"500"}}, "within_km", "distance"},
		{url.Values{"type": {"kinderclub"}}, "type", "care_type"},
		{url.Values{"price_type": {"gratis"}}, "price_type", "price_type_value"},
		{url.Values{"birth_date": {"30/09/2026"}, "start_month": {"2027-01"}}, "birth_date", "date"},
		{url.Values{"birth_date": {"2026-09-30"}}, "start_month", "month_needed"},
		{url.Values{"birth_date": {"2027-05-01"}, "start_month": {"2027-01"}}, "start_month", "birth_after_start"},
		{url.Values{"start_month": {"januari"}}, "start_month", "month"},
		{url.Values{"free_places": {"1"}}, "start_month", "month_needed"},
		{url.Values{"weekend": {"misschien"}}, "weekend", "boolean"},
		{url.Values{"sort": {"distance"}}, "sort", "near_needed"},
		{url.Values{"sort": {"price"}}, "sort", "sort"},
		{url.Values{"page": {"0"}}, "page", "page"},
		{url.Values{"per_page": {"500"}}, "per_page", "per_page"},
	}
	for _, tc := range bad {
		_, _, err := catalog.ParseSearch(tc.v, nil)
		if got := searchFieldCodes(err); got[tc.field] != tc.code {
			t.Errorf("%v: want %s on %s, got %v (%v)", tc.v, tc.code, tc.field, got, err)
		}
	}
	// Several mistakes are all reported at once.
	_, _, err = catalog.ParseSearch(url.Values{"type": {"x"}, "postcode": {"1"}, "page": {"-1"}}, nil)
	if got := searchFieldCodes(err); len(got) != 3 {
		t.Errorf("want three field errors, got %v", got)
	}
}

// TestDeskArea: a desk page searches the desk's municipalities unless the
// visitor widens the area; a distance or an explicit municipality wins.
func TestDeskArea(t *testing.T) {
	desk := tenant.Tenant{Slug: "geel-laakdal-meerhout", Municipalities: []geo.NISCode{"13008", "13053", "13021"}}
	cases := []struct {
		v    url.Values
		want []geo.NISCode
	}{
		{url.Values{}, []geo.NISCode{"13008", "13053", "13021"}},
		{url.Values{"area": {"desk"}}, []geo.NISCode{"13008", "13053", "13021"}},
		// Kasterlee's centre lies about 9 km from Geel's, Diest's about 9 km
		// from Laakdal's; Turnhout's 18 km from Geel's.
		{url.Values{"area": {"nearby"}}, []geo.NISCode{"13003", "13008", "13011", "13013", "13017", "13021", "13025", "13029", "13049", "13053", "24020", "24134", "71071"}},
		{url.Values{"area": {"region"}}, searchRegion(t, "13000")},
		{url.Values{"area": {"all"}}, nil},
		{url.Values{"postcode": {"2430"}, "within_km": {"15"}}, nil},
		{url.Values{"postcode": {"2430"}, "within_km": {"15"}, "area": {"desk"}}, []geo.NISCode{"13008", "13053", "13021"}},
		{url.Values{"municipality": {"13040"}}, []geo.NISCode{"13040"}},
		{url.Values{"municipality": {"13040"}, "area": {"desk"}}, []geo.NISCode{"13040"}},
	}
	for _, tc := range cases {
		q, _, err := catalog.ParseSearch(tc.v, &desk)
		if err != nil {
			t.Errorf("%v: %v", tc.v, err)
			continue
		}
		if !slices.Equal(q.Municipalities, tc.want) {
			t.Errorf("%v: area %v, want %v", tc.v, q.Municipalities, tc.want)
		}
	}
	if _, _, err := catalog.ParseSearch(url.Values{"area": {"mars"}}, &desk); searchFieldCodes(err)["area"] != "area" {
		t.Errorf("unknown area: %v", err)
	}
	if _, f, _ := catalog.ParseSearch(url.Values{"postcode": {"2430"}, "within_km": {"15"}}, &desk); f.Area != catalog.AreaAll {
		t.Errorf("a distance search shows area %q, want all", f.Area)
	}
}

// BenchmarkSearch measures searches over a catalogue of Flemish size (6,000
// locations, spread over the reference municipalities), on SQLite and
// PostgreSQL: a desk's area with free places in a month, a postcode within
// 10 km sorted by distance, and the whole catalogue's first page.
func BenchmarkSearch(b *testing.B) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		b.Run(string(dialect), func(b *testing.B) {
			d := dbtest.Open(b, dialect)
			ctx := context.Background()
			if _, err := geo.Sync(ctx, d.DB); err != nil {
				b.Fatal(err)
			}
			s := catalog.NewStore(d, clock.NewFixed(searchNow))
			p := catalog.Provider{Name: "vzw Benchmark"}
			if err := s.SaveProvider(ctx, &p); err != nil {
				b.Fatal(err)
			}
			munis := geo.Municipalities()
			var changes []catalog.AvailabilityChange
			for i := range 6000 {
				m := munis[i%len(munis)]
				l := catalog.Location{
					DossierNumber: "bench-" + strconv.Itoa(i), Name: "Opvang " + strconv.Itoa(i*7919%6000), ProviderID: p.ID,
					MunicipalityNIS: m.NIS, Lat: m.Lat + float64(i%41-20)/1000, Lon: m.Lon + float64(i%37-18)/1000,
					CareType: catalog.Groepsopvang, SubsidyTier: catalog.Tiers[i%len(catalog.Tiers)], LicensedPlaces: 18,
					MaxAgeMonths: 36, AcceptsRequests: i%3 != 0, EarlyHours: i%5 == 0, Languages: []string{"nl"},
				}
				if err := s.SaveLocation(ctx, &l); err != nil {
					b.Fatal(err)
				}
				changes = append(changes, catalog.AvailabilityChange{LocationID: l.ID, StartMonth: "2027-01", AgeBand: catalog.Baby, FreePlaces: i % 3})
			}
			if err := s.SetAvailability(ctx, "bench", changes...); err != nil {
				b.Fatal(err)
			}
			birth := searchDate("2026-06-01")
			queries := map[string]catalog.Query{
				"desk area, free places":     {Municipalities: []geo.NISCode{"13008", "13053", "13021"}, ChildBirth: birth, StartMonth: "2027-01", HasFreePlaces: true},
				"postcode 10 km by distance": {Near: postcodePoint("2440"), WithinKm: 10, Sort: "distance", StartMonth: "2027-01"},
				"everything, first page":     {},
			}
			for name, q := range queries {
				b.Run(name, func(b *testing.B) {
					for b.Loop() {
						if _, err := s.Search(ctx, q); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}
