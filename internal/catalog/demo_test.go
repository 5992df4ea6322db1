package catalog_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/geo"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/tenant"
	"github.com/loket-kinderopvang/loket/tenants"
)

var demoNow = time.Date(2026, 11, 28, 9, 30, 0, 0, time.UTC)

// demoStore is a catalogue store on d with the reference data synced.
func demoStore(t testing.TB, d *db.DB) *catalog.Store {
	t.Helper()
	if _, err := geo.Sync(context.Background(), d.DB); err != nil {
		t.Fatal(err)
	}
	return catalog.NewStore(d, clock.NewFixed(demoNow))
}

// demoCounts counts the catalogue's rows, to prove a run wrote nothing.
func demoCounts(t *testing.T, d *db.DB) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, table := range []string{"providers", "locations", "availability", "availability_events"} {
		n, err := d.NewSelect().Table(table).Count(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		out[table] = int(n)
	}
	return out
}

// deskOf maps each municipality to its demo desk.
func deskOf(t *testing.T) map[geo.NISCode]string {
	t.Helper()
	specs, err := tenant.LoadDir(tenants.Demo)
	if err != nil {
		t.Fatal(err)
	}
	out := map[geo.NISCode]string{}
	for _, sp := range specs {
		for _, m := range sp.Municipalities {
			out[geo.NISCode(m)] = sp.Slug
		}
	}
	return out
}

func TestSeedDemo(t *testing.T) {
	ctx := context.Background()
	var fingerprint []string // the same catalogue on both databases
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		st := demoStore(t, d)
		rep, err := catalog.SeedDemo(ctx, st, demoNow)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Locations < 200 || rep.Providers < 50 || rep.Availability < 1000 || rep.Existing != 0 {
			t.Fatalf("first seed: %+v", rep)
		}

		var locs []catalog.Location
		if err := d.NewSelect().Model(&locs).Order("dossier_number").Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if len(locs) != rep.Locations {
			t.Fatalf("%d locations stored, report says %d", len(locs), rep.Locations)
		}
		var providers []catalog.Provider
		if err := d.NewSelect().Model(&providers).Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if len(providers) != rep.Providers {
			t.Fatalf("%d providers stored, report says %d", len(providers), rep.Providers)
		}
		for _, p := range providers {
			if err := p.Validate(); err != nil || p.KBONumber == "" {
				t.Errorf("provider %q (KBO %q): %v", p.Name, p.KBONumber, err)
			}
		}

		perMuni := map[geo.NISCode]int{}
		perCare := map[catalog.CareType]int{}
		perTier := map[catalog.SubsidyTier]int{}
		desks := deskOf(t)
		providerDesks := map[catalog.ProviderID]map[string]bool{}
		providerMunis := map[catalog.ProviderID]map[geo.NISCode]bool{}
		var print []string
		for _, l := range locs {
			if err := l.Validate(); err != nil {
				t.Errorf("%s %q: %v", l.DossierNumber, l.Name, err)
			}
			perMuni[l.MunicipalityNIS]++
			perCare[l.CareType]++
			perTier[l.SubsidyTier]++
			if providerDesks[l.ProviderID] == nil {
				providerDesks[l.ProviderID], providerMunis[l.ProviderID] = map[string]bool{}, map[geo.NISCode]bool{}
			}
			providerDesks[l.ProviderID][desks[l.MunicipalityNIS]] = true
			providerMunis[l.ProviderID][l.MunicipalityNIS] = true

			m, _ := geo.LookupMunicipality(l.MunicipalityNIS)
			if km := geo.DistanceKm(m.Lat, m.Lon, l.Lat, l.Lon); km > 3.6 {
				t.Errorf("%s is %.1f km from the centre of %s", l.DossierNumber, km, m.NameNL)
			}
			if !slices.Contains(m.Neighbourhoods, l.Neighbourhood) {
				t.Errorf("%s: neighbourhood %q is not one of %s", l.DossierNumber, l.Neighbourhood, m.NameNL)
			}
			if pc, ok := geo.LookupPostcode(l.Postcode); !ok || pc.MunicipalityNIS != l.MunicipalityNIS {
				t.Errorf("%s: postcode %q is not one of %s", l.DossierNumber, l.Postcode, m.NameNL)
			}
			if !strings.HasSuffix(l.Email, ".example") || (l.Website != "" && !strings.HasSuffix(l.Website, ".example")) {
				t.Errorf("%s: contact %q %q is not invented (.example)", l.DossierNumber, l.Email, l.Website)
			}
			if !strings.HasPrefix(l.DossierNumber, catalog.DemoDossierPrefix) || l.Phone != "" {
				t.Errorf("%s: dossier or phone %q", l.DossierNumber, l.Phone)
			}
			print = append(print, fmt.Sprintf("%s|%s|%s|%d|%s|%.5f", l.DossierNumber, l.Name, l.SubsidyTier, l.LicensedPlaces, l.Street, l.Lat))
		}
		if fingerprint == nil {
			fingerprint = print
		} else if !slices.Equal(fingerprint, print) {
			t.Error("the demo catalogue differs between the databases; it must be deterministic")
		}

		if len(perMuni) != 13 {
			t.Errorf("locations in %d municipalities, want the 13 demo municipalities", len(perMuni))
		}
		for nis, atLeast := range map[geo.NISCode]int{"24062": 50, "13040": 35, "13008": 25} {
			if perMuni[nis] < atLeast {
				t.Errorf("%s has %d locations, want at least %d", nis, perMuni[nis], atLeast)
			}
		}
		for nis, n := range perMuni {
			if n < 8 {
				t.Errorf("%s has only %d locations", nis, n)
			}
		}
		if share := float64(perCare[catalog.Gezinsopvang]) / float64(len(locs)); share < 0.45 || share > 0.65 {
			t.Errorf("gezinsopvang is %.0f%% of the demo, want about 55%%", share*100)
		}
		for _, tier := range catalog.Tiers {
			if perTier[tier] == 0 {
				t.Errorf("no location in tier %s", tier)
			}
		}
		if perTier[catalog.TierT2A]+perTier[catalog.TierT2B] < len(locs)/2 {
			t.Errorf("tiers %v: most locations should be T2A or T2B", perTier)
		}
		var chain bool
		for id, ds := range providerDesks {
			chain = chain || (len(ds) >= 2 && len(providerMunis[id]) >= 2)
		}
		if !chain {
			t.Error("no provider runs locations in municipalities of different desks")
		}
		if n := len(providerDesks); n <= 100 || n >= len(locs) {
			t.Errorf("%d providers with locations for %d locations: want many single-location providers and some with many", n, len(locs))
		}

		var avail []catalog.Availability
		if err := d.NewSelect().Model(&avail).Scan(ctx); err != nil {
			t.Fatal(err)
		}
		licensed := map[catalog.LocationID]int{}
		for _, l := range locs {
			licensed[l.ID] = l.LicensedPlaces
		}
		free, zero := 0, 0
		months := map[string]bool{}
		for _, a := range avail {
			months[a.StartMonth] = true
			if a.FreePlaces > 0 {
				free++
			} else {
				zero++
			}
			if a.FreePlaces > licensed[a.LocationID] || a.ChangedBy != catalog.DemoActor {
				t.Errorf("availability %+v: more than %d licensed places, or not by the demo", a, licensed[a.LocationID])
			}
		}
		if free == 0 || zero < 4*free {
			t.Errorf("%d entries with free places, %d without: want some, and mostly none", free, zero)
		}
		if len(months) != 12 || !months["2026-11"] || !months["2027-10"] || months["2027-11"] {
			t.Errorf("months %v: want 2026-11 to 2027-10", months)
		}
		counts := demoCounts(t, d)
		if counts["availability"] != rep.Availability || counts["availability_events"] != rep.Availability {
			t.Errorf("counts %v, report %+v: every entry needs its event", counts, rep)
		}
		hist, err := st.AvailabilityHistory(ctx, avail[0].LocationID)
		if err != nil || len(hist) == 0 || hist[0].FromPlaces != nil || hist[0].ChangedBy != catalog.DemoActor {
			t.Errorf("history %+v, %v", hist, err)
		}

		// A second run writes nothing.
		again, err := catalog.SeedDemo(ctx, st, demoNow)
		if err != nil {
			t.Fatal(err)
		}
		if again.Changed() || again.Existing != rep.Locations {
			t.Errorf("second seed: %+v", again)
		}
		if c := demoCounts(t, d); fmt.Sprint(c) != fmt.Sprint(counts) {
			t.Errorf("second seed changed the counts: %v → %v", counts, c)
		}

		// A change made in the demo survives a restart.
		cell := avail[0]
		changed := (cell.FreePlaces + 1) % 2
		if err := st.SetAvailability(ctx, "aanbieder", catalog.AvailabilityChange{LocationID: cell.LocationID,
			StartMonth: cell.StartMonth, AgeBand: cell.AgeBand, FreePlaces: changed}); err != nil {
			t.Fatal(err)
		}
		if again, err = catalog.SeedDemo(ctx, st, demoNow); err != nil || again.Changed() {
			t.Errorf("seed after a change: %+v, %v", again, err)
		}
		got, err := st.Get(ctx, cell.LocationID, cell.StartMonth)
		if err != nil || len(got.Availability) == 0 {
			t.Fatal(got, err)
		}
		for _, a := range got.Availability {
			if a.StartMonth == cell.StartMonth && a.AgeBand == cell.AgeBand && a.FreePlaces != changed {
				t.Errorf("the seed overwrote a change: %d, want %d", a.FreePlaces, changed)
			}
		}

		// A month later only the new month is added.
		later, err := catalog.SeedDemo(ctx, st, demoNow.AddDate(0, 1, 0))
		if err != nil {
			t.Fatal(err)
		}
		if later.Locations != 0 || later.Providers != 0 || later.Availability == 0 || later.Availability > 2*rep.Locations {
			t.Errorf("seed a month later: %+v", later)
		}
		n, err := d.NewSelect().Model((*catalog.Availability)(nil)).Where("start_month = ?", "2027-11").Count(ctx)
		if err != nil || int(n) != later.Availability {
			t.Errorf("%d entries for 2027-11, report %+v (%v)", n, later, err)
		}
	})
}

func TestSearchDemo(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		st := demoStore(t, d)
		if _, err := catalog.SeedDemo(ctx, st, demoNow); err != nil {
			t.Fatal(err)
		}
		res, err := st.Search(ctx, catalog.Query{Municipalities: []geo.NISCode{"13008"}, CareType: catalog.Groepsopvang,
			StartMonth: "2027-09", PerPage: 100})
		if err != nil {
			t.Fatal(err)
		}
		if res.Total < 5 || len(res.Hits) != res.Total {
			t.Fatalf("group care in Geel: %d hits", res.Total)
		}
		for _, h := range res.Hits {
			if h.MunicipalityNIS != "13008" || h.CareType != catalog.Groepsopvang || h.FreePlaces == nil {
				t.Errorf("hit %s %s %s, free %v", h.Name, h.MunicipalityNIS, h.CareType, h.FreePlaces)
			}
		}

		pc, _ := geo.LookupPostcode("3001")
		near, err := st.Search(ctx, catalog.Query{Near: &pc.Point, WithinKm: 2, Sort: "distance", PerPage: 100})
		if err != nil {
			t.Fatal(err)
		}
		if near.Total < 5 {
			t.Fatalf("within 2 km of Heverlee: %d hits", near.Total)
		}
		for i, h := range near.Hits {
			if h.MunicipalityNIS != "24062" || *h.DistanceKm > 2 || (i > 0 && *h.DistanceKm < *near.Hits[i-1].DistanceKm) {
				t.Errorf("hit %d %s in %s at %.2f km", i, h.Name, h.MunicipalityNIS, *h.DistanceKm)
			}
		}

		birth := time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC)
		free, err := st.Search(ctx, catalog.Query{Municipalities: []geo.NISCode{"24062"}, ChildBirth: &birth,
			StartMonth: "2027-09", HasFreePlaces: true, PerPage: 100})
		if err != nil {
			t.Fatal(err)
		}
		if free.Total == 0 || free.Total >= totalIn(t, st, "24062") {
			t.Fatalf("free places for a baby in Leuven in September: %d hits, want some but not all", free.Total)
		}
		for _, h := range free.Hits {
			if *h.FreePlaces <= 0 || h.MinAgeMonths > 7 {
				t.Errorf("hit %s: %d free places, from %d months", h.Name, *h.FreePlaces, h.MinAgeMonths)
			}
		}
	})
}

func totalIn(t *testing.T, st *catalog.Store, nis geo.NISCode) int {
	t.Helper()
	res, err := st.Search(context.Background(), catalog.Query{Municipalities: []geo.NISCode{nis}})
	if err != nil {
		t.Fatal(err)
	}
	return res.Total
}

func TestSeedScaled(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		st := demoStore(t, d)
		if _, err := catalog.SeedScaled(ctx, st, demoNow, 0); err == nil {
			t.Error("0 locations accepted")
		}
		rep, err := catalog.SeedScaled(ctx, st, demoNow, 600)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Locations != 600 || rep.PerRegion["13000"] != 27 || rep.PerRegion["24000"] != 573 || rep.Availability != 600*24 {
			t.Fatalf("scaled seed: %+v", rep)
		}
		region, _ := geo.LookupRegion("13000")
		inRegion, err := d.NewSelect().Model((*catalog.Location)(nil)).Where("municipality_nis IN (?)", bun.In(region.Municipalities)).Count(ctx)
		if err != nil || inRegion != 27 {
			t.Errorf("%d locations stored in region 13000, want 27 (%v)", inRegion, err)
		}
		var locs []catalog.Location
		if err := d.NewSelect().Model(&locs).Scan(ctx); err != nil {
			t.Fatal(err)
		}
		var multi int
		perProvider := map[catalog.ProviderID]int{}
		for _, l := range locs {
			if err := l.Validate(); err != nil {
				t.Errorf("%s: %v", l.DossierNumber, err)
			}
			if perProvider[l.ProviderID]++; perProvider[l.ProviderID] == 2 {
				multi++
			}
		}
		if multi < 4 {
			t.Errorf("%d providers with several locations", multi)
		}
		counts := demoCounts(t, d)
		if counts["availability"] != 600*24 || counts["availability_events"] != 600*24 {
			t.Errorf("counts %v: want 12 months × 2 bands per location, each with its event", counts)
		}
		again, err := catalog.SeedScaled(ctx, st, demoNow, 600)
		if err != nil || again.Changed() || again.Existing != 600 {
			t.Errorf("second scaled seed: %+v, %v", again, err)
		}
		if c := demoCounts(t, d); fmt.Sprint(c) != fmt.Sprint(counts) {
			t.Errorf("second scaled seed changed the counts: %v → %v", counts, c)
		}
	})
}

// BenchmarkSeedScaled6000 measures the load-test data set on both databases:
//
//	go test ./internal/catalog/ -run '^$' -bench SeedScaled -benchtime 1x
func BenchmarkSeedScaled6000(b *testing.B) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		b.Run(string(dialect), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				st := demoStore(b, dbtest.Open(b, dialect))
				b.StartTimer()
				rep, err := catalog.SeedScaled(context.Background(), st, demoNow, 6000)
				if err != nil || rep.Locations != 6000 {
					b.Fatal(rep, err)
				}
			}
		})
	}
}
