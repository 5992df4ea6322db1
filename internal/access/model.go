// Package access manages who may reach what beyond a single role: sharing
// agreements between desks (as rows and as Casbin grants), desk and provider
// staff, provider API keys and the API key middleware. Deciding a request
// stays with package authz; this package writes the policy it reads.
package access

import (
	"time"

	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/ids"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
)

type agreementKind struct{}
type apiKeyKind struct{}

// AgreementID identifies a sharing agreement; it is also the agreement
// reference of its Casbin grants.
type AgreementID = ids.ID[agreementKind]

// APIKeyID identifies an API key.
type APIKeyID = ids.ID[apiKeyKind]

// ParseAgreementID reads an agreement id.
func ParseAgreementID(s string) (AgreementID, error) { return ids.Parse[agreementKind](s) }

// ParseAPIKeyID reads an API key id.
func ParseAPIKeyID(s string) (APIKeyID, error) { return ids.Parse[apiKeyKind](s) }

// Access is a named access one desk grants another.
type Access string

// The named accesses.
const (
	// ReadRequestsInArea: the receiving desk's workers and admins may read the
	// granting desk's requests. The request queries must further limit this
	// to requests that list a location in the receiving desk's area
	// (Decision.Agreement names the agreement; AgreementByID gives Access).
	ReadRequestsInArea Access = "read_requests_in_area"
	// SharedWaitingList: both desks work on one waiting list: the receiving
	// desk's workers and admins read and write the granting desk's requests
	// and families. Usually reciprocal.
	SharedWaitingList Access = "shared_waiting_list"
)

// Accesses lists the named accesses, in the order the form offers them.
var Accesses = []Access{ReadRequestsInArea, SharedWaitingList}

// grants are the (role, permission) pairs an access gives the receiving desk.
func (a Access) grants() [][2]string {
	var perms []authz.Permission
	switch a {
	case ReadRequestsInArea:
		perms = []authz.Permission{authz.RequestsRead}
	case SharedWaitingList:
		perms = []authz.Permission{authz.RequestsRead, authz.RequestsWrite, authz.FamiliesRead, authz.FamiliesWrite}
	}
	var out [][2]string
	for _, role := range []authz.Role{authz.DeskWorker, authz.DeskAdmin} {
		for _, p := range perms {
			out = append(out, [2]string{string(role), string(p)})
		}
	}
	return out
}

// Valid reports whether a is a known access.
func (a Access) Valid() bool { return len(a.grants()) > 0 }

// Agreement is a sharing agreement between two desks. It is platform data:
// both desks see it (see the migration).
type Agreement struct {
	bun.BaseModel `bun:"table:sharing_agreements"`

	ID                AgreementID `bun:"id,pk,type:uuid"`
	GrantingTenantID  tenancy.ID  `bun:"granting_tenant_id,notnull,type:uuid"`
	ReceivingTenantID tenancy.ID  `bun:"receiving_tenant_id,notnull,type:uuid"`
	Access            Access      `bun:"access,notnull"`
	StartsAt          time.Time   `bun:"starts_at,notnull"`
	EndsAt            time.Time   `bun:"ends_at,nullzero"`
	Reciprocal        bool        `bun:"reciprocal,notnull"`
	CreatedBy         string      `bun:"created_by,notnull"`
	CreatedAt         time.Time   `bun:"created_at,notnull"`
	RevokedAt         time.Time   `bun:"revoked_at,nullzero"`
	RevokedBy         string      `bun:"revoked_by,notnull"`
}

// Revoked reports whether the agreement was ended by hand.
func (a *Agreement) Revoked() bool { return !a.RevokedAt.IsZero() }

// Current reports whether the agreement gives access at t.
func (a *Agreement) Current(t time.Time) bool {
	return !a.Revoked() && !t.Before(a.StartsAt) && (a.EndsAt.IsZero() || t.Before(a.EndsAt))
}

// Involves reports whether desk is one of the two parties.
func (a *Agreement) Involves(desk tenancy.ID) bool {
	return a.GrantingTenantID == desk || a.ReceivingTenantID == desk
}

// APIKey is a provider's key for its own systems. Only the SHA-256 of the
// token is kept.
type APIKey struct {
	bun.BaseModel `bun:"table:api_keys"`

	ID         APIKeyID           `bun:"id,pk,type:uuid"`
	ProviderID catalog.ProviderID `bun:"provider_id,notnull,type:uuid"`
	Name       string             `bun:"name,notnull"`
	TokenHash  string             `bun:"token_hash,notnull"`
	Prefix     string             `bun:"prefix,notnull"`
	Locations  string             `bun:"locations,notnull"` // comma-separated; "" = all
	CreatedBy  string             `bun:"created_by,notnull"`
	CreatedAt  time.Time          `bun:"created_at,notnull"`
	LastUsedAt time.Time          `bun:"last_used_at,nullzero"`
	RevokedAt  time.Time          `bun:"revoked_at,nullzero"`
}

// Subject is the key's Casbin subject: a key holds provider_staff in its
// provider (or its locations) like a person would, so it passes the same
// checks.
func (k *APIKey) Subject() string { return KeySubject(k.ID) }

// KeySubject is the Casbin subject of key id.
func KeySubject(id APIKeyID) string { return "apikey:" + id.String() }

// FieldError is a wrong form field; Key is a message id in the locales.
type FieldError struct{ Field, Key string }

// FieldErrors are every wrong field of a form.
type FieldErrors []FieldError

func (fe FieldErrors) Error() string {
	s := "access: invalid input:"
	for _, e := range fe {
		s += " " + e.Field + "=" + e.Key
	}
	return s
}
