package tenant

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/geo"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
)

// Tenant is a desk as stored. The tenants table is platform data (public),
// not tenant-owned: every visitor may see which desks exist.
type Tenant struct {
	bun.BaseModel `bun:"table:tenants"`

	ID                   tenancy.ID `bun:"id,pk,type:uuid"`
	Slug                 string     `bun:"slug,notnull"`
	Name                 string     `bun:"name,notnull"`
	Mode                 Mode       `bun:"mode,notnull"`
	MaxPreferences       int        `bun:"max_preferences,notnull"`
	ProviderResponseDays int        `bun:"provider_response_days,notnull"`
	OfferAcceptanceDays  int        `bun:"offer_acceptance_days,notnull"`
	Settings             Settings   `bun:"settings,type:jsonb,notnull"`
	SpecHash             string     `bun:"spec_hash,notnull"`
	CreatedAt            time.Time  `bun:"created_at,notnull"`
	UpdatedAt            time.Time  `bun:"updated_at,notnull"`

	Municipalities []geo.NISCode `bun:"-"`
}

// Settings is the rest of the desk's YAML.
type Settings struct {
	Names     map[string]string `json:"names,omitempty"`
	Languages []string          `json:"languages"`
	Contact   Contact           `json:"contact"`
	Branding  Branding          `json:"branding"`
	Hosts     []string          `json:"hosts,omitempty"`
	Retention Retention         `json:"retention,omitzero"`
}

// DisplayName is the desk's name in lang, Dutch when untranslated.
func (t Tenant) DisplayName(lang string) string {
	if n := t.Settings.Names[lang]; n != "" {
		return n
	}
	return t.Name
}

// Speaks reports whether the desk offers its pages in lang.
func (t Tenant) Speaks(lang string) bool { return slices.Contains(t.Settings.Languages, lang) }

// DefaultLanguage is the desk's first language.
func (t Tenant) DefaultLanguage() string {
	if len(t.Settings.Languages) > 0 {
		return t.Settings.Languages[0]
	}
	return "nl"
}

type tenantMunicipality struct {
	bun.BaseModel   `bun:"table:tenant_municipalities"`
	TenantID        tenancy.ID  `bun:"tenant_id,pk,type:uuid"`
	MunicipalityNIS geo.NISCode `bun:"municipality_nis,pk"`
}

// Store reads and writes desks.
type Store struct {
	db    *db.DB
	clock clock.Clock
}

// NewStore returns a desk store.
func NewStore(d *db.DB, c clock.Clock) *Store { return &Store{db: d, clock: c} }

// ErrNotFound means no desk has that slug.
var ErrNotFound = errors.New("tenant: not found")

// List returns every desk with its municipalities, by slug.
func (s *Store) List(ctx context.Context) ([]Tenant, error) {
	var ts []Tenant
	if err := s.db.NewSelect().Model(&ts).Order("slug").Scan(ctx); err != nil {
		return nil, fmt.Errorf("tenant: list: %w", err)
	}
	var links []tenantMunicipality
	if err := s.db.NewSelect().Model(&links).Order("municipality_nis").Scan(ctx); err != nil {
		return nil, fmt.Errorf("tenant: list municipalities: %w", err)
	}
	byID := make(map[tenancy.ID]*Tenant, len(ts))
	for i := range ts {
		byID[ts[i].ID] = &ts[i]
	}
	for _, l := range links {
		if t := byID[l.TenantID]; t != nil {
			t.Municipalities = append(t.Municipalities, l.MunicipalityNIS)
		}
	}
	return ts, nil
}

// SyncReport says what a sync did.
type SyncReport struct {
	Created, Updated, Unchanged []string
	// NotInDirectory are desks in the database whose file is gone. They are
	// kept: removing a desk with its families is a decision, not a side effect.
	NotInDirectory []string
	Reference      geo.SyncReport
}

// Changed reports whether the sync wrote anything.
func (r SyncReport) Changed() bool {
	return len(r.Created)+len(r.Updated) > 0 || r.Reference.Changed()
}

// Sync brings the reference data and the desks in line with specs in one
// transaction. Running it twice changes nothing the second time.
func (s *Store) Sync(ctx context.Context, specs []Spec) (SyncReport, error) {
	var rep SyncReport
	err := s.db.Transact(ctx, func(ctx context.Context, tx bun.Tx) error {
		rep = SyncReport{}
		var err error
		if rep.Reference, err = geo.Sync(ctx, tx); err != nil {
			return err
		}
		var existing []Tenant
		if err := tx.NewSelect().Model(&existing).Scan(ctx); err != nil {
			return fmt.Errorf("tenant: sync: read desks: %w", err)
		}
		bySlug := make(map[string]Tenant, len(existing))
		for _, t := range existing {
			bySlug[t.Slug] = t
		}
		now := s.clock.Now()
		type change struct {
			t   Tenant
			new bool
		}
		var changes []change
		seen := map[string]bool{}
		for _, sp := range specs {
			seen[sp.Slug] = true
			hash, err := specHash(sp)
			if err != nil {
				return err
			}
			old, found := bySlug[sp.Slug]
			if found && old.SpecHash == hash {
				rep.Unchanged = append(rep.Unchanged, sp.Slug)
				continue
			}
			t := fromSpec(sp, hash, now)
			if found {
				t.ID, t.CreatedAt = old.ID, old.CreatedAt
				rep.Updated = append(rep.Updated, sp.Slug)
			} else {
				t.ID = tenancy.NewID()
				rep.Created = append(rep.Created, sp.Slug)
			}
			changes = append(changes, change{t: t, new: !found})
		}
		// Free the municipalities of every changed desk first, so one can move
		// from one desk to another within the same sync.
		for _, c := range changes {
			if c.new {
				continue
			}
			if _, err := tx.NewDelete().Model((*tenantMunicipality)(nil)).Where("tenant_id = ?", c.t.ID).Exec(ctx); err != nil {
				return fmt.Errorf("tenant: sync %s: %w", c.t.Slug, err)
			}
		}
		for _, c := range changes {
			t := c.t
			if c.new {
				if _, err := tx.NewInsert().Model(&t).Exec(ctx); err != nil {
					return fmt.Errorf("tenant: sync: create %s: %w", t.Slug, err)
				}
			} else if _, err := tx.NewUpdate().Model(&t).WherePK().ExcludeColumn("created_at").Exec(ctx); err != nil {
				return fmt.Errorf("tenant: sync: update %s: %w", t.Slug, err)
			}
		}
		for _, c := range changes {
			links := make([]tenantMunicipality, len(c.t.Municipalities))
			for i, nis := range c.t.Municipalities {
				links[i] = tenantMunicipality{TenantID: c.t.ID, MunicipalityNIS: nis}
			}
			if len(links) == 0 {
				continue
			}
			if _, err := tx.NewInsert().Model(&links).Exec(ctx); err != nil {
				return fmt.Errorf("tenant: sync %s: municipalities: %w", c.t.Slug, err)
			}
		}
		for _, t := range existing {
			if !seen[t.Slug] {
				rep.NotInDirectory = append(rep.NotInDirectory, t.Slug)
			}
		}
		return nil
	})
	return rep, err
}

func fromSpec(sp Spec, hash string, now time.Time) Tenant {
	return Tenant{
		Slug:                 sp.Slug,
		Name:                 sp.Name,
		Mode:                 sp.Mode,
		MaxPreferences:       sp.MaxPreferences,
		ProviderResponseDays: sp.ProviderResponseDays,
		OfferAcceptanceDays:  sp.OfferAcceptanceDays,
		Settings: Settings{
			Names:     sp.Names,
			Languages: sp.Languages,
			Contact:   sp.Contact,
			Branding:  sp.Branding,
			Hosts:     sp.Hosts,
			Retention: sp.Retention,
		},
		SpecHash:       hash,
		CreatedAt:      now,
		UpdatedAt:      now,
		Municipalities: sp.Municipalities,
	}
}

// specHash fingerprints everything a spec says, so an unchanged file is
// recognised without comparing field by field.
func specHash(sp Spec) (string, error) {
	sp.File = ""
	b, err := json.Marshal(sp)
	if err != nil {
		return "", fmt.Errorf("tenant: hash %s: %w", sp.Slug, err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}
