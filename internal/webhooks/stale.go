package webhooks

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
)

// staleNotice records that a location's stale period was told (platform
// data: one row per location, the period it was told for).
type staleNotice struct {
	bun.BaseModel `bun:"table:places_stale_notices"`

	LocationID uuid.UUID  `bun:"location_id,pk,type:uuid"`
	LastChange *time.Time `bun:"last_change"`
	NotifiedAt time.Time  `bun:"notified_at,notnull"`
}

type staleCandidate struct {
	LocationID uuid.UUID  `bun:"location_id"`
	TenantID   tenancy.ID `bun:"tenant_id"`
	Last       *time.Time `bun:"last"`
	Told       bool       `bun:"told"`
	ToldFor    *time.Time `bun:"told_for"`
}

// NotifyStalePlaces enqueues one places.stale event per location whose free
// places did not change for longer than after (or were never entered), to
// the endpoints of its provider that subscribed to it, once per stale
// period. It returns how many locations were told.
//
// A location's places are platform data, but a delivery is desk data: it
// is written in the desk whose area holds the location's municipality (a
// municipality belongs to one desk), in that desk's transaction, with the
// notice that marks the period told. Locations outside every desk's area
// are not told. Only locations of providers with such an endpoint are read.
func (s *Service) NotifyStalePlaces(ctx context.Context, after time.Duration) (int, error) {
	now := s.clock.Now()
	var cs []staleCandidate
	err := s.db.NewSelect().TableExpr("locations AS l").
		ColumnExpr("l.id AS location_id, tm.tenant_id").
		ColumnExpr("(SELECT max(a.changed_at) FROM availability AS a WHERE a.location_id = l.id) AS last").
		ColumnExpr("n.location_id IS NOT NULL AS told, n.last_change AS told_for").
		Join("JOIN tenant_municipalities AS tm ON tm.municipality_nis = l.municipality_nis").
		Join("LEFT JOIN places_stale_notices AS n ON n.location_id = l.id").
		Where("l.provider_id IN (SELECT provider_id FROM webhook_endpoints WHERE paused_at IS NULL AND events LIKE ?)", "%"+PlacesStale+"%").
		OrderExpr("tm.tenant_id, l.id").Scan(ctx, &cs)
	if err != nil {
		return 0, fmt.Errorf("webhooks: stale places: %w", err)
	}
	byDesk := map[tenancy.ID][]staleCandidate{}
	var desks []tenancy.ID
	for _, c := range cs {
		if c.Last != nil && now.Sub(*c.Last) <= after {
			continue // fresh
		}
		if c.Told && sameInstant(c.ToldFor, c.Last) {
			continue // this period was told
		}
		if byDesk[c.TenantID] == nil {
			desks = append(desks, c.TenantID)
		}
		byDesk[c.TenantID] = append(byDesk[c.TenantID], c)
	}
	told := 0
	store := tenancy.NewStore(s.db)
	for _, desk := range desks {
		stale := byDesk[desk]
		err := store.Tx(tenancy.WithTenant(ctx, desk), func(ctx context.Context, tx *tenancy.Tx) error {
			var evs []Event
			var notices []*staleNotice
			for _, c := range stale {
				data := map[string]any{"location_id": c.LocationID.String(), "stale_after_days": int(after / (24 * time.Hour))}
				if c.Last != nil {
					data["last_change"] = c.Last.UTC().Format(time.RFC3339)
				}
				evs = append(evs, Event{Type: PlacesStale, SubjectID: c.LocationID, Locations: []uuid.UUID{c.LocationID}, Data: data})
				notices = append(notices, &staleNotice{LocationID: c.LocationID, LastChange: c.Last, NotifiedAt: now})
			}
			if err := EnqueueTx(ctx, tx, now, evs); err != nil {
				return err
			}
			// The notice is platform data, written in the desk's transaction
			// so that it commits with the deliveries or not at all.
			_, err := tx.Unscoped().NewInsert().Model(&notices).
				On("CONFLICT (location_id) DO UPDATE").Set("last_change = EXCLUDED.last_change, notified_at = EXCLUDED.notified_at").Exec(ctx)
			return err
		})
		if err != nil {
			return told, fmt.Errorf("webhooks: stale places of desk %s: %w", desk, err)
		}
		told += len(stale)
	}
	return told, nil
}

func sameInstant(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}
