package tenant

import (
	"context"
	"strings"
	"sync"

	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
)

// Directory is an in-memory snapshot of the desks, for routing every request
// without a database round trip. Desks change rarely (a sync); the snapshot is
// reloaded after a sync and periodically, so every replica catches up.
type Directory struct {
	store *Store

	mu     sync.RWMutex
	all    []Tenant
	bySlug map[string]*Tenant
	byHost map[string]*Tenant
}

// NewDirectory returns an empty directory over store; call Reload.
func NewDirectory(store *Store) *Directory {
	return &Directory{store: store, bySlug: map[string]*Tenant{}, byHost: map[string]*Tenant{}}
}

// Reload reads every desk again.
func (d *Directory) Reload(ctx context.Context) error {
	ts, err := d.store.List(ctx)
	if err != nil {
		return err
	}
	bySlug := make(map[string]*Tenant, len(ts))
	byHost := map[string]*Tenant{}
	for i := range ts {
		bySlug[ts[i].Slug] = &ts[i]
		for _, h := range ts[i].Settings.Hosts {
			byHost[strings.ToLower(h)] = &ts[i]
		}
	}
	d.mu.Lock()
	d.all, d.bySlug, d.byHost = ts, bySlug, byHost
	d.mu.Unlock()
	return nil
}

// All returns every desk, by slug.
func (d *Directory) All() []Tenant {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.all
}

// BySlug finds a desk by its slug.
func (d *Directory) BySlug(slug string) (Tenant, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	t, ok := d.bySlug[slug]
	if !ok {
		return Tenant{}, false
	}
	return *t, true
}

// ByHost finds the desk served on its own host name.
func (d *Directory) ByHost(host string) (Tenant, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	t, ok := d.byHost[strings.ToLower(host)]
	if !ok {
		return Tenant{}, false
	}
	return *t, true
}

// ByID finds a desk by its id.
func (d *Directory) ByID(id tenancy.ID) (Tenant, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	for i := range d.all {
		if d.all[i].ID == id {
			return d.all[i], true
		}
	}
	return Tenant{}, false
}
