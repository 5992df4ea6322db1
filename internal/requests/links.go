package requests

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/loket-kinderopvang/loket/internal/eventlog"
	"github.com/loket-kinderopvang/loket/internal/platform/sealed"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
)

// Status links (/{desk}/aanvraag/{token}) carry the request, its desk and a
// link version, signed with HMAC. Three things end a link:
//
//   - the parent asks for a new one (on the status page, or by entering her
//     e-mail address when she lost it): the version goes up and the new link
//     is mailed to the family's address, never shown on the page;
//   - desk staff revoke the links on the request page (an event in the log),
//     optionally mailing the family a new one;
//   - the request ended (withdrawn, closed, placed, unanswered) more than
//     LinkExpiry ago (Options.LinkExpiry, default DefaultLinkExpiry).

// DefaultLinkExpiry is how long after a request ended its status links keep
// working: long enough to look back at an offer or a placement, short enough
// that an old mail does not open a family's data for years.
const DefaultLinkExpiry = 90 * 24 * time.Hour

// Errors of status links.
var (
	// ErrLinkExpired: the token is genuine but its request ended more than
	// the link expiry ago. It is also an ErrBadToken.
	ErrLinkExpired = fmt.Errorf("%w: the request ended too long ago", ErrBadToken)
	// ErrNoEmail: the family has no e-mail address to send a new link to.
	ErrNoEmail = errors.New("requests: the family has no e-mail address")
)

// tokenEncoding is strict: a token has exactly one spelling, so a token
// that verifies is the very token the service made.
var tokenEncoding = base64.RawURLEncoding.Strict()

const tokenPayload = 36 // request id, desk id, version

// makeToken signs the request id, desk id and link version with key.
func makeToken(key []byte, desk tenancy.ID, id RequestID, version int) string {
	payload := make([]byte, tokenPayload)
	copy(payload, id.UUID[:])
	copy(payload[16:], desk.UUID[:])
	binary.BigEndian.PutUint32(payload[32:], uint32(version))
	return signPayload(key, payload)
}

// signPayload is payload and its truncated HMAC under key, both base64.
func signPayload(key, payload []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(payload)
	return tokenEncoding.EncodeToString(payload) + "." + tokenEncoding.EncodeToString(m.Sum(nil)[:16])
}

// verifyPayload returns the n-byte payload of a token signPayload made with
// key; ok is false for anything forged, damaged or spelt otherwise.
func verifyPayload(key []byte, token string, n int) ([]byte, bool) {
	p, sig, found := strings.Cut(token, ".")
	if !found || len(p) != tokenEncoding.EncodedLen(n) || len(sig) != tokenEncoding.EncodedLen(16) {
		return nil, false
	}
	payload, err1 := tokenEncoding.DecodeString(p)
	mac, err2 := tokenEncoding.DecodeString(sig)
	if err1 != nil || err2 != nil || len(payload) != n {
		return nil, false
	}
	m := hmac.New(sha256.New, key)
	m.Write(payload)
	if !hmac.Equal(m.Sum(nil)[:16], mac) {
		return nil, false
	}
	return payload, true
}

// parseToken checks a token's signature with key and returns what it
// carries; ok is false for anything forged, damaged or not spelt as
// makeToken spells it.
func parseToken(key []byte, token string) (desk tenancy.ID, id RequestID, version int, ok bool) {
	payload, ok := verifyPayload(key, token, tokenPayload)
	if !ok {
		return desk, id, 0, false
	}
	copy(id.UUID[:], payload[:16])
	copy(desk.UUID[:], payload[16:32])
	return desk, id, int(binary.BigEndian.Uint32(payload[32:])), true
}

func (s *Service) linkExpiry() time.Duration {
	if s.opts.LinkExpiry > 0 {
		return s.opts.LinkExpiry
	}
	return DefaultLinkExpiry
}

// linkExpired reports whether r ended more than the link expiry before now.
func (s *Service) linkExpired(r *Request, now time.Time) bool {
	return !r.Status.Open() && r.StatusChangedAt != nil && now.Sub(*r.StatusChangedAt) > s.linkExpiry()
}

// RenewStatusLink is the parent's "send me a new link" on the status page:
// every earlier link stops working and the new one is mailed to the family's
// address (ErrNoEmail, and nothing changes, when it has none).
func (s *Service) RenewStatusLink(ctx context.Context, id RequestID, actor Actor) error {
	return s.renewLink(ctx, id, actor, "asked for by the parent", true)
}

// RevokeAndMail is desk staff's "revoke links": every earlier link stops
// working; with mail, the new one is mailed to the family (when it has an
// address). The event log records it.
func (s *Service) RevokeAndMail(ctx context.Context, id RequestID, mail bool, actor Actor) error {
	return s.renewLink(ctx, id, actor, "revoked by the desk", mail)
}

// renewLink bumps the link version of a request of the desk in ctx and, with
// mail, mails the new link. A request whose links expired is left alone.
func (s *Service) renewLink(ctx context.Context, id RequestID, actor Actor, why string, mail bool) error {
	desk, err := s.desk(ctx)
	if err != nil {
		return err
	}
	var notice *Notice
	err = s.change(ctx, id, actor, func(ctx context.Context, tx *tenancy.Tx, r *Request, now time.Time) (*eventlog.Event, error) {
		if mail && actor.Kind == ActorParent && s.linkExpired(r, now) {
			return nil, nil
		}
		var child Child
		if err := tx.Select(&child).Where("id = ?", r.ChildID).Scan(ctx); err != nil {
			return nil, fmt.Errorf("requests: child: %w", err)
		}
		var fam Family
		if err := tx.Select(&fam).Where("id = ?", child.FamilyID).Scan(ctx); err != nil {
			return nil, fmt.Errorf("requests: family: %w", err)
		}
		if mail && fam.Email == "" && actor.Kind == ActorParent {
			return nil, ErrNoEmail
		}
		r.StatusLinkVersion++
		if err := s.updateRequest(ctx, tx, r, "status_link_version"); err != nil {
			return nil, err
		}
		mailed := false
		if mail && fam.Email != "" {
			if notice, err = s.parentNotice(ctx, tx, desk, r, "status_link", nil); err != nil {
				return nil, err
			}
			mailed = true
		}
		return &eventlog.Event{Kind: "request.status_link_revoked", Reason: sealed.Text(why),
			Data: eventData(map[string]any{"version": r.StatusLinkVersion, "mailed": mailed})}, nil
	})
	if err == nil && notice != nil {
		s.notify(ctx, *notice)
	}
	return err
}

// MailNewLinks is "I lost my link": every request of the desk in ctx whose
// family has the e-mail address email (compared without case) gets a new
// link, mailed to that address; earlier links stop working. It tells
// nothing about whether the address is known: no error for an unknown one.
// Requests whose links expired are left out.
func (s *Service) MailNewLinks(ctx context.Context, email string, actor Actor) error {
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" {
		return nil
	}
	var found []Request
	err := s.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		return tx.Select(&found).Column("id").
			Where("child_id IN (SELECT c.id FROM children c JOIN families f ON f.tenant_id = c.tenant_id AND f.id = c.family_id "+
				"WHERE c.tenant_id = ? AND f.tenant_id = ? AND lower(f.email) = ?)", tx.Tenant(), tx.Tenant(), email).
			Scan(ctx)
	})
	if err != nil {
		return fmt.Errorf("requests: requests of an e-mail address: %w", err)
	}
	var errs []error
	for _, r := range found {
		if err := s.renewLink(ctx, r.ID, actor, "asked for by the parent with her e-mail address", true); err != nil && !errors.Is(err, ErrNoEmail) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
