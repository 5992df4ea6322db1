package authz

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
)

// Scale of the benchmark policy: Flanders-sized.
const (
	benchDesks     = 300
	benchRegions   = 22
	benchProviders = 2000
	benchLocations = 6000 // three per provider
	benchGrants    = 150  // agreements, two permissions each
)

// seedScale stores a policy of 20,000 users: per desk 1 admin, 22 workers and
// 10 partners (9,900); per provider an admin and a staff member for all its
// locations (4,000); one staff member per location (6,000); 4 coordinators
// per region (88); 12 operators. Desk i is in region i%22 and shares
// requests:read and families:read with desk i+1's workers (first 150 desks).
func seedScale(b *testing.B, d *db.DB) {
	b.Helper()
	var lines [][]string
	g := func(v ...string) { lines = append(lines, append([]string{"g"}, v...)) }
	for i := range benchDesks {
		desk := Desk(fmt.Sprintf("d%03d", i))
		lines = append(lines, []string{"g2", desk, Region(fmt.Sprintf("r%02d", i%benchRegions))})
		g(fmt.Sprintf("da-%d", i), string(DeskAdmin), desk)
		for k := range 22 {
			g(fmt.Sprintf("dw-%d-%d", i, k), string(DeskWorker), desk)
		}
		for k := range 10 {
			g(fmt.Sprintf("pa-%d-%d", i, k), string(Partner), desk)
		}
	}
	for p := range benchProviders {
		prov := Provider(fmt.Sprintf("p%04d", p))
		g(fmt.Sprintf("pad-%d", p), string(ProviderAdmin), prov)
		g(fmt.Sprintf("ps-%d", p), string(ProviderStaff), prov)
	}
	for l := range benchLocations {
		loc := Location(fmt.Sprintf("l%04d", l))
		lines = append(lines, []string{"g2", loc, Provider(fmt.Sprintf("p%04d", l/3))})
		g(fmt.Sprintf("ls-%d", l), string(ProviderStaff), loc)
	}
	for r := range benchRegions {
		for k := range 4 {
			g(fmt.Sprintf("rc-%d-%d", r, k), string(RegionalCoordinator), Region(fmt.Sprintf("r%02d", r)))
		}
	}
	for k := range 12 {
		g(fmt.Sprintf("op-%d", k), string(Operator), Platform)
	}
	for i := range benchGrants {
		gr := Grant{Owner: Desk(fmt.Sprintf("d%03d", i)), Grantee: Desk(fmt.Sprintf("d%03d", i+1)), Role: DeskWorker,
			From: t0.AddDate(-1, 0, 0), Until: t0.AddDate(1, 0, 0), Agreement: fmt.Sprintf("agr-%d", i)}
		for _, p := range []Permission{RequestsRead, FamiliesRead} {
			gr.Permission = p
			rule, err := gr.rule()
			if err != nil {
				b.Fatal(err)
			}
			lines = append(lines, append([]string{"p2"}, rule...))
		}
	}
	if _, _, err := NewAdapter(d).apply(context.Background(), change{add: lines}); err != nil {
		b.Fatal(err)
	}
}

type benchCase struct {
	name, user, domain string
	perm               Permission
	want               bool
}

var benchCases = []benchCase{
	{"own-desk", "dw-5-3", "tenant:d005", RequestsRead, true},
	{"other-desk-denied", "dw-5-3", "tenant:d006", FamiliesWrite, false},
	{"shared-desk", "dw-120-3", "tenant:d119", FamiliesRead, true},
	{"region-aggregate", "rc-5-0", "tenant:d005", ReportsAggregate, true},
	{"region-denied", "rc-5-0", "tenant:d006", ReportsAggregate, false},
	{"location-staff", "ls-100", "location:l0100", AvailabilityWrite, true},
	{"location-staff-denied", "ls-100", "location:l0101", AvailabilityWrite, false},
	{"provider-admin-location", "pad-33", "location:l0100", AvailabilityWrite, true},
	{"partner", "pa-7-1", "tenant:d007", FamiliesRead, true},
	{"operator", "op-3", Platform, TenantsManage, true},
	{"unknown-user", "nobody", "tenant:d005", RequestsRead, false},
}

func benchAuthorizer(b *testing.B) *Authorizer {
	b.Helper()
	d := dbtest.Open(b, db.SQLite)
	seedScale(b, d)
	a := newAuthorizer(b, d, Options{Clock: clock.NewFixed(t0)})
	for _, c := range benchCases {
		if got, err := a.Allowed(c.user, c.domain, c.perm); err != nil || got != c.want {
			b.Fatalf("%s: got %v %v, want %v", c.name, got, err, c.want)
		}
	}
	return a
}

// BenchmarkCan: one check on the full-size policy (goal: well under 50 µs).
func BenchmarkCan(b *testing.B) {
	a := benchAuthorizer(b)
	for _, c := range benchCases {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := a.Can(c.user, c.domain, c.perm.Object(), c.perm.Action()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	// Casbin memoises g() between policy changes; cycling through all desk
	// workers shows the cost when the memo does not help.
	b.Run("own-desk-6600-users", func(b *testing.B) {
		i := 0
		for b.Loop() {
			desk := i % benchDesks
			user := fmt.Sprintf("dw-%d-%d", desk, (i/benchDesks)%22)
			if ok, err := a.Allowed(user, Desk(fmt.Sprintf("d%03d", desk)), RequestsRead); !ok || err != nil {
				b.Fatal(user, ok, err)
			}
			i++
		}
	})
	b.Run("mix-parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				c := benchCases[i%len(benchCases)]
				if _, err := a.Allowed(c.user, c.domain, c.perm); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	})
	b.Run("decide-shared", func(b *testing.B) {
		for b.Loop() {
			if _, err := a.Decide("dw-120-3", "tenant:d119", FamiliesRead); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("domains-where-coordinator", func(b *testing.B) {
		for b.Loop() {
			if _, err := a.DomainsWhere("rc-5-0", "reports", "aggregate"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkLoad: a full reload of the full-size policy, on both databases.
func BenchmarkLoad(b *testing.B) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		b.Run(string(dialect), func(b *testing.B) {
			d := dbtest.Open(b, dialect)
			seedScale(b, d)
			heapBefore := liveHeap()
			a := newAuthorizer(b, d, Options{})
			policyMB := float64(liveHeap()-heapBefore) / (1 << 20)
			ctx := context.Background()
			for b.Loop() {
				if err := a.Reload(ctx); err != nil {
					b.Fatal(err)
				}
			}
			runtime.KeepAlive(a)
			b.ReportMetric(policyMB, "policy-MB")
		})
	}
}

// liveHeap is the heap in use after a full collection.
func liveHeap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// BenchmarkWriteLocal: AssignRole on a replica that is current: one database
// transaction and an in-memory change, no reload.
func BenchmarkWriteLocal(b *testing.B) {
	d := dbtest.Open(b, db.SQLite)
	seedScale(b, d)
	a := newAuthorizer(b, d, Options{})
	ctx := context.Background()
	i := 0
	for b.Loop() {
		if err := a.AssignRole(ctx, fmt.Sprintf("new-%d", i), DeskWorker, "tenant:d001"); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkCanDuringReload: checks while another goroutine reloads the
// full-size policy over and over. A reload reads the database without
// blocking checks, then swaps the policy in and rebuilds the role links under
// the write lock; max-µs is how long one check may wait for that.
func BenchmarkCanDuringReload(b *testing.B) {
	a := benchAuthorizer(b)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	reloads := 0
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if err := a.Reload(ctx); err != nil && ctx.Err() == nil {
				panic(err)
			}
			reloads++
		}
	}()
	var worst time.Duration
	c := benchCases[0]
	for b.Loop() {
		start := time.Now()
		if _, err := a.Allowed(c.user, c.domain, c.perm); err != nil {
			b.Fatal(err)
		}
		worst = max(worst, time.Since(start))
	}
	cancel()
	<-done
	b.ReportMetric(float64(worst.Microseconds()), "max-µs")
	b.ReportMetric(float64(reloads), "reloads")
}
