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

// Status is where an agreement stands.
type Status string

// The statuses of an agreement. Only an active agreement has grants.
const (
	// StatusProposed: the granting desk's admin proposed it (her consent for
	// her own desk's data); the receiving desk has not answered.
	StatusProposed Status = "proposed"
	// StatusActive: an admin of the receiving desk accepted it.
	StatusActive Status = "active"
	// StatusRefused: an admin of the receiving desk refused it.
	StatusRefused Status = "refused"
	// StatusWithdrawn: the proposing desk took its proposal back.
	StatusWithdrawn Status = "withdrawn"
	// StatusRevoked: either desk ended the active agreement.
	StatusRevoked Status = "revoked"
)

// Agreement is a sharing agreement between two desks. It is platform data:
// both desks see it (see the migration).
//
// The granting desk proposes it: its admin consents for the granting desk's
// data (CreatedBy). The receiving desk's admin accepts (AcceptedBy): that is
// the receiving desk's consent, needed for any grant and in particular for
// the reciprocal grant on the receiving desk's own data.
type Agreement struct {
	bun.BaseModel `bun:"table:sharing_agreements"`

	ID                AgreementID `bun:"id,pk,type:uuid"`
	GrantingTenantID  tenancy.ID  `bun:"granting_tenant_id,notnull,type:uuid"`
	ReceivingTenantID tenancy.ID  `bun:"receiving_tenant_id,notnull,type:uuid"`
	Access            Access      `bun:"access,notnull"`
	StartsAt          time.Time   `bun:"starts_at,notnull"`
	EndsAt            time.Time   `bun:"ends_at,nullzero"`
	Reciprocal        bool        `bun:"reciprocal,notnull"`
	Status            Status      `bun:"status,notnull"`
	CreatedBy         string      `bun:"created_by,notnull"`
	CreatedAt         time.Time   `bun:"created_at,notnull"`
	AcceptedBy        string      `bun:"accepted_by,notnull"`
	AcceptedAt        time.Time   `bun:"accepted_at,nullzero"`
	// RevokedAt and RevokedBy: who ended it by hand (refused, withdrawn or
	// revoked).
	RevokedAt time.Time `bun:"revoked_at,nullzero"`
	RevokedBy string    `bun:"revoked_by,notnull"`
}

// Revoked reports whether the agreement was ended by hand (refused,
// withdrawn or revoked).
func (a *Agreement) Revoked() bool { return !a.RevokedAt.IsZero() }

// Pending reports whether the proposal waits for the receiving desk.
func (a *Agreement) Pending() bool { return a.Status == StatusProposed }

// Current reports whether the agreement gives access at t.
func (a *Agreement) Current(t time.Time) bool {
	return a.Status == StatusActive && !t.Before(a.StartsAt) && (a.EndsAt.IsZero() || t.Before(a.EndsAt))
}

// Involves reports whether desk is one of the two parties.
func (a *Agreement) Involves(desk tenancy.ID) bool {
	return a.GrantingTenantID == desk || a.ReceivingTenantID == desk
}

// consented reports whether desk gave its consent to share its own data
// under a: the granting desk by proposing, the receiving desk by accepting.
func (a *Agreement) consented(desk tenancy.ID) bool {
	switch desk {
	case a.GrantingTenantID:
		return a.CreatedBy != ""
	case a.ReceivingTenantID:
		return !a.AcceptedAt.IsZero() && a.AcceptedBy != ""
	}
	return false
}

// owners are the desks whose data a grants while it is active: the granting
// desk, and the receiving desk when reciprocal. Each must have consented.
func (a *Agreement) owners() [][2]tenancy.ID {
	if a.Status != StatusActive {
		return nil
	}
	var out [][2]tenancy.ID // owner, grantee
	// Active means accepted, except for agreements from before consent
	// existed (see the migration): their granting desk's own grant stands.
	if a.consented(a.GrantingTenantID) {
		out = append(out, [2]tenancy.ID{a.GrantingTenantID, a.ReceivingTenantID})
	}
	if a.Reciprocal && a.consented(a.ReceivingTenantID) {
		out = append(out, [2]tenancy.ID{a.ReceivingTenantID, a.GrantingTenantID})
	}
	return out
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
