package app

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"time"

	"github.com/loket-kinderopvang/loket/internal/access"
	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/tenant"
)

// deskLookup lets the access service find desks in the tenant directory.
type deskLookup struct{ dir *tenant.Directory }

func (l deskLookup) DeskBySlug(slug string) (access.Desk, bool) {
	t, ok := l.dir.BySlug(slug)
	return access.Desk{ID: t.ID, Slug: t.Slug}, ok
}

func (l deskLookup) DeskByID(id tenancy.ID) (access.Desk, bool) {
	for _, t := range l.dir.All() {
		if t.ID == id {
			return access.Desk{ID: t.ID, Slug: t.Slug}, true
		}
	}
	return access.Desk{}, false
}

// GroupLocations puts every catalogue location into its provider's
// authorisation domain; run it after a catalogue seed or import.
func (a *App) GroupLocations(ctx context.Context) error { return a.Access.GroupLocations(ctx) }

// Demo sharing: Stadsregio Turnhout lets Leuven's staff read its requests
// that list a location in Leuven's area.
const (
	DemoSharingFrom = "stadsregio-turnhout"
	DemoSharingTo   = "leuven"
)

// DemoAPIKey is the demo provider's API key: derived from a fixed string, so
// the printed key keeps working across restarts. Demo mode only.
func DemoAPIKey() string {
	sum := sha256.Sum256([]byte("loket-demo-api-key"))
	return access.KeyPrefix + base64.RawURLEncoding.EncodeToString(sum[:])
}

// seedDemoAccess adds the demo sharing agreement and the demo API key; a
// second run writes nothing. It returns the key, to be printed.
func (a *App) seedDemoAccess(ctx context.Context) (string, error) {
	from, ok1 := a.Directory.BySlug(DemoSharingFrom)
	_, ok2 := a.Directory.BySlug(DemoSharingTo)
	if ok1 && ok2 {
		as, err := a.Access.Agreements(ctx, from.ID)
		if err != nil {
			return "", err
		}
		if len(as) == 0 {
			// Both desks' consent is recorded explicitly: Turnhout proposes
			// (its own data), Leuven accepts.
			if _, err := a.Access.SeedAgreement(ctx, from.ID, access.NewAgreement{
				Receiving: DemoSharingTo, Access: access.ReadRequestsInArea,
				StartsOn: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Format("2006-01-02"),
			}, "demo:"+DemoSharingFrom, "demo:"+DemoSharingTo); err != nil {
				return "", err
			}
		}
	}
	provider, _, err := a.Catalog.LargestProvider(ctx, catalog.DemoDossierPrefix)
	if err != nil {
		return "", err
	}
	key := DemoAPIKey()
	return key, a.Access.SeedKey(ctx, provider, "Demo-koppeling", key)
}

func (l deskLookup) AllDesks() []access.Desk {
	var out []access.Desk
	for _, t := range l.dir.All() {
		out = append(out, access.Desk{ID: t.ID, Slug: t.Slug})
	}
	return out
}
