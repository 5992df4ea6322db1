package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/ids"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
)

// ErrNotFound: no such agreement or key, or not one of this desk or provider
// (the same answer, so ids of others reveal nothing).
var ErrNotFound = errors.New("access: not found")

// Desk is what the service needs to know of a desk.
type Desk struct {
	ID   tenancy.ID
	Slug string
}

// Desks finds desks by id and slug (the tenant directory).
type Desks interface {
	DeskBySlug(slug string) (Desk, bool)
	DeskByID(id tenancy.ID) (Desk, bool)
	// AllDesks lists every desk (the start-up reconciliation of grants).
	AllDesks() []Desk
}

// Service holds the rules of agreements and keys.
type Service struct {
	db      *db.DB
	authz   *authz.Authorizer
	tenants *tenancy.Store
	desks   Desks
	clock   clock.Clock

	// lastUse remembers when a key's last_used_at was written, so a busy
	// key costs one UPDATE a minute, not one per request.
	lastUse sync.Map // APIKeyID -> time.Time
}

// NewService returns the access service.
func NewService(d *db.DB, az *authz.Authorizer, desks Desks, clk clock.Clock) *Service {
	return &Service{db: d, authz: az, tenants: tenancy.NewStore(d), desks: desks, clock: clk}
}

// Authz is the authorizer the service writes to.
func (s *Service) Authz() *authz.Authorizer { return s.authz }

// --- API keys ---

// KeyPrefix starts every API key, so leaked keys are recognisable.
const KeyPrefix = "lk_"

// NewKey is the create form of an API key.
type NewKey struct {
	Provider  catalog.ProviderID
	Name      string
	Locations []string // location ids of the provider; none = every location
	Actor     string
}

// CreateKey makes a key and returns it with its token, which is shown once.
// The key holds provider_staff in the provider, or in each named location.
func (s *Service) CreateKey(ctx context.Context, n NewKey) (*APIKey, string, error) {
	var fe FieldErrors
	name := strings.TrimSpace(n.Name)
	if name == "" || len(name) > 100 {
		fe = append(fe, FieldError{"name", "access.error.key_name"})
	}
	own, err := s.ProviderLocations(ctx, n.Provider)
	if err != nil {
		return nil, "", err
	}
	locs := slices.Compact(slices.Sorted(slices.Values(n.Locations)))
	for _, l := range locs {
		if !slices.ContainsFunc(own, func(o catalog.Location) bool { return o.ID.String() == l }) {
			fe = append(fe, FieldError{"locations", "access.error.locations"})
			break
		}
	}
	if fe != nil {
		return nil, "", fe
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, "", err
	}
	token := KeyPrefix + base64.RawURLEncoding.EncodeToString(raw)
	k := &APIKey{
		ID: ids.New[apiKeyKind](), ProviderID: n.Provider, Name: name, TokenHash: hashToken(token),
		Prefix: token[:len(KeyPrefix)+6], Locations: strings.Join(locs, ","), CreatedBy: n.Actor, CreatedAt: s.clock.Now(),
	}
	if _, err := s.db.NewInsert().Model(k).Exec(ctx); err != nil {
		return nil, "", fmt.Errorf("access: create key: %w", err)
	}
	if err := s.assignKey(ctx, k); err != nil {
		return nil, "", err
	}
	return k, token, nil
}

func (s *Service) assignKey(ctx context.Context, k *APIKey) error {
	if k.Locations == "" {
		return s.authz.AssignRole(ctx, k.Subject(), authz.ProviderStaff, authz.Provider(k.ProviderID.String()))
	}
	for _, l := range strings.Split(k.Locations, ",") {
		if err := s.authz.AssignRole(ctx, k.Subject(), authz.ProviderStaff, authz.Location(l)); err != nil {
			return err
		}
	}
	return nil
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Keys lists a provider's keys, newest first.
func (s *Service) Keys(ctx context.Context, provider catalog.ProviderID) ([]APIKey, error) {
	var out []APIKey
	if err := s.db.NewSelect().Model(&out).Where("provider_id = ?", provider).Order("created_at DESC", "id DESC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("access: list keys: %w", err)
	}
	return out, nil
}

// RevokeKey ends a key of provider; its roles go at once.
func (s *Service) RevokeKey(ctx context.Context, provider catalog.ProviderID, id APIKeyID) error {
	k := new(APIKey)
	err := s.db.NewSelect().Model(k).Where("id = ? AND provider_id = ?", id, provider).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("access: get key: %w", err)
	}
	if k.RevokedAt.IsZero() {
		if _, err := s.db.NewUpdate().Model(k).Set("revoked_at = ?", s.clock.Now()).WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("access: revoke key: %w", err)
		}
	}
	return s.authz.RemoveUser(ctx, k.Subject())
}

// Authenticate finds the live key of a token, and records its use at most
// once a minute per key and replica.
func (s *Service) Authenticate(ctx context.Context, token string) (*APIKey, bool, error) {
	if !strings.HasPrefix(token, KeyPrefix) || len(token) > 100 {
		return nil, false, nil
	}
	k := new(APIKey)
	err := s.db.NewSelect().Model(k).Where("token_hash = ?", hashToken(token)).Where("revoked_at IS NULL").Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("access: find key: %w", err)
	}
	now := s.clock.Now()
	if last, ok := s.lastUse.Load(k.ID); !ok || now.Sub(last.(time.Time)) >= time.Minute {
		s.lastUse.Store(k.ID, now)
		if _, err := s.db.NewUpdate().Model(k).Set("last_used_at = ?", now).WherePK().Exec(ctx); err != nil {
			return nil, false, fmt.Errorf("access: record key use: %w", err)
		}
		k.LastUsedAt = now
	}
	return k, true, nil
}

// --- providers ---

// Provider returns a provider by id, ErrNotFound when unknown.
func (s *Service) Provider(ctx context.Context, id catalog.ProviderID) (*catalog.Provider, error) {
	p := new(catalog.Provider)
	err := s.db.NewSelect().Model(p).Where("id = ?", id).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("access: get provider: %w", err)
	}
	return p, nil
}

// ProviderLocations lists a provider's locations by name.
func (s *Service) ProviderLocations(ctx context.Context, id catalog.ProviderID) ([]catalog.Location, error) {
	var out []catalog.Location
	if err := s.db.NewSelect().Model(&out).Column("id", "name", "municipality_nis", "provider_id").
		Where("provider_id = ?", id).Order("name", "id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("access: provider locations: %w", err)
	}
	return out, nil
}

// LocationProvider returns the provider of a location; ErrNotFound when the
// location is unknown.
func (s *Service) LocationProvider(ctx context.Context, id catalog.LocationID) (catalog.ProviderID, error) {
	var l catalog.Location
	err := s.db.NewSelect().Model(&l).Column("provider_id").Where("id = ?", id).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return catalog.ProviderID{}, ErrNotFound
	}
	if err != nil {
		return catalog.ProviderID{}, fmt.Errorf("access: location provider: %w", err)
	}
	return l.ProviderID, nil
}

// GroupLocations puts every location into its provider's domain (Casbin
// g2), so provider-wide roles reach each location, and takes a location out
// of a provider it no longer belongs to. Idempotent: a second run writes
// nothing. Call it after every catalogue seed or import.
func (s *Service) GroupLocations(ctx context.Context) error {
	var rows []struct {
		ID         uuid.UUID `bun:"id"`
		ProviderID uuid.UUID `bun:"provider_id"`
	}
	if err := s.db.NewSelect().TableExpr("locations").Column("id", "provider_id").Scan(ctx, &rows); err != nil {
		return fmt.Errorf("access: read locations: %w", err)
	}
	pairs := make([][2]string, 0, len(rows))
	for _, r := range rows {
		child, parent := authz.Location(r.ID.String()), authz.Provider(r.ProviderID.String())
		pairs = append(pairs, [2]string{child, parent})
		for _, old := range s.authz.Parents(child) {
			if old != parent {
				if err := s.authz.Ungroup(ctx, child, old); err != nil {
					return err
				}
			}
		}
	}
	return s.authz.GroupAll(ctx, pairs)
}

// ParseProviderID reads a provider id.
func ParseProviderID(s string) (catalog.ProviderID, error) {
	u, err := uuid.Parse(s)
	if err != nil {
		return catalog.ProviderID{}, err
	}
	return catalog.ProviderID{UUID: u}, nil
}

// SeedKey stores a key with a token chosen by the caller (the demo key,
// printed at start); a second run with the same token writes nothing.
func (s *Service) SeedKey(ctx context.Context, provider catalog.ProviderID, name, token string) error {
	n, err := s.db.NewSelect().Model((*APIKey)(nil)).Where("token_hash = ?", hashToken(token)).Count(ctx)
	if err != nil {
		return fmt.Errorf("access: seed key: %w", err)
	}
	if n > 0 {
		return nil
	}
	k := &APIKey{ID: ids.New[apiKeyKind](), ProviderID: provider, Name: name, TokenHash: hashToken(token),
		Prefix: token[:len(KeyPrefix)+6], CreatedBy: "demo", CreatedAt: s.clock.Now()}
	if _, err := s.db.NewInsert().Model(k).Exec(ctx); err != nil {
		return fmt.Errorf("access: seed key: %w", err)
	}
	return s.assignKey(ctx, k)
}
