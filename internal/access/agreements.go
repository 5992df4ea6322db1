package access

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/eventlog"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/ids"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
)

// Sharing agreements need the consent of every desk whose data they share.
// One desk's admin proposes (her consent for her own desk's data); an admin
// of the other desk accepts (her consent, needed before anything is granted
// and for the reciprocal grant on her own desk's data) or refuses. Either
// side ends an active agreement; the proposer may withdraw a proposal. Both
// desks' event logs record every step.
//
// The class of bug "a desk admin grants another desk's data" is closed in
// one place: writeGrant is the only code that writes an agreement grant, and
// it takes the Consent of the grant's owner desk. A Consent comes from
// AdminConsent (a person holding desk_admin in that desk itself, never
// through a grant) or from the consents stored on the agreement row.

var (
	// ErrNoConsent: the person is not an admin of the desk she acts for.
	ErrNoConsent = errors.New("access: no admin of this desk")
	// ErrState: the agreement is not in a state that allows this step (an
	// answered proposal, an ended agreement, the wrong side).
	ErrState = errors.New("access: not possible in this state")
)

// Consent is a desk admin's word for her own desk: the desk whose data may
// be shared and who gave it. Its fields are unexported so that only this
// package makes one (AdminConsent, or from an agreement's stored consents).
type Consent struct {
	desk  Desk
	actor string
}

// Desk is the desk that consents.
func (c Consent) Desk() Desk { return c.desk }

// Actor is who consented, as written in the event log ("user:<id>").
func (c Consent) Actor() string { return c.actor }

// AdminConsent returns the consent of user (an account id) for desk: she
// must hold desk_admin in that desk itself. A role reached through a sharing
// grant or a region never counts, so no agreement can be the key to
// another one.
func (s *Service) AdminConsent(user string, desk tenancy.ID) (Consent, error) {
	d, ok := s.desks.DeskByID(desk)
	if !ok || user == "" {
		return Consent{}, ErrNoConsent
	}
	if !slices.Contains(s.authz.RolesFor(user)[authz.Desk(d.Slug)], authz.DeskAdmin) {
		return Consent{}, ErrNoConsent
	}
	return Consent{desk: d, actor: "user:" + user}, nil
}

// storedConsent is the consent desk gave for a, as recorded on the row.
func (s *Service) storedConsent(a *Agreement, desk tenancy.ID) (Consent, bool) {
	if !a.consented(desk) {
		return Consent{}, false
	}
	d, ok := s.desks.DeskByID(desk)
	if !ok {
		return Consent{}, false
	}
	by := a.CreatedBy
	if desk == a.ReceivingTenantID {
		by = a.AcceptedBy
	}
	return Consent{desk: d, actor: by}, true
}

// NewAgreement is the proposal form. The granting desk is the desk of the
// consent it is proposed with.
type NewAgreement struct {
	Receiving  string // desk slug
	Access     Access
	StartsOn   string // YYYY-MM-DD
	EndsOn     string // YYYY-MM-DD or ""
	Reciprocal bool
}

const dateLayout = "2006-01-02"

func (n NewAgreement) check(desks Desks, granting tenancy.ID) (Desk, time.Time, time.Time, FieldErrors) {
	var fe FieldErrors
	recv, ok := desks.DeskBySlug(strings.TrimSpace(n.Receiving))
	switch {
	case strings.TrimSpace(n.Receiving) == "":
		fe = append(fe, FieldError{"receiving", "access.error.receiving_empty"})
	case !ok:
		fe = append(fe, FieldError{"receiving", "access.error.receiving_unknown"})
	case recv.ID == granting:
		fe = append(fe, FieldError{"receiving", "access.error.receiving_self"})
	}
	if !n.Access.Valid() {
		fe = append(fe, FieldError{"access", "access.error.access"})
	}
	start, err := time.Parse(dateLayout, strings.TrimSpace(n.StartsOn))
	if err != nil {
		fe = append(fe, FieldError{"starts_on", "access.error.date"})
	}
	var end time.Time
	if e := strings.TrimSpace(n.EndsOn); e != "" {
		if end, err = time.Parse(dateLayout, e); err != nil {
			fe = append(fe, FieldError{"ends_on", "access.error.date"})
		} else if !start.IsZero() && !end.After(start) {
			fe = append(fe, FieldError{"ends_on", "access.error.end_before_start"})
		}
	}
	return recv, start, end, fe
}

// Propose stores a proposal of c's desk to share its data with another desk
// (and, if reciprocal, to ask for the same back). Nothing is granted until
// an admin of the other desk accepts. Wrong input is FieldErrors.
func (s *Service) Propose(ctx context.Context, c Consent, n NewAgreement) (*Agreement, error) {
	recv, start, end, fe := n.check(s.desks, c.desk.ID)
	if fe != nil {
		return nil, fe
	}
	a := &Agreement{
		ID: ids.New[agreementKind](), GrantingTenantID: c.desk.ID, ReceivingTenantID: recv.ID, Access: n.Access,
		StartsAt: start, EndsAt: end, Reciprocal: n.Reciprocal, Status: StatusProposed, CreatedBy: c.actor, CreatedAt: s.clock.Now(),
	}
	if _, err := s.db.NewInsert().Model(a).Exec(ctx); err != nil {
		return nil, fmt.Errorf("access: propose agreement: %w", err)
	}
	if err := s.logBoth(ctx, a, "sharing.proposed", "", string(StatusProposed), c.actor); err != nil {
		return nil, err
	}
	return a, nil
}

// Accept is the receiving desk's consent: the agreement becomes active and
// its grants are written (the granting desk's data under the proposer's
// consent; the receiving desk's own data, if reciprocal, under c).
func (s *Service) Accept(ctx context.Context, c Consent, id AgreementID) (*Agreement, error) {
	a, err := s.Agreement(ctx, c.desk.ID, id)
	if err != nil {
		return nil, err
	}
	if a.ReceivingTenantID != c.desk.ID {
		return nil, ErrState // a desk cannot accept its own proposal
	}
	now := s.clock.Now()
	// Check every grant against its consent before the answer is stored: a
	// stored acceptance is a consent Reconcile trusts later.
	accepted := *a
	accepted.Status, accepted.AcceptedAt, accepted.AcceptedBy = StatusActive, now, c.actor
	gs, cs := s.expectedGrants(&accepted, &c)
	for i, g := range gs {
		if err := covers(&accepted, cs[i], g); err != nil {
			return nil, err
		}
	}
	if err := s.step(ctx, a, StatusProposed, StatusActive, func(q *bun.UpdateQuery) *bun.UpdateQuery {
		return q.Set("accepted_at = ?", now).Set("accepted_by = ?", c.actor)
	}); err != nil {
		return nil, err
	}
	a.Status, a.AcceptedAt, a.AcceptedBy = StatusActive, now, c.actor
	if err := s.writeGrants(ctx, a, &c); err != nil {
		return nil, err
	}
	return a, s.logBoth(ctx, a, "sharing.accepted", string(StatusProposed), string(StatusActive), c.actor)
}

// Refuse is the receiving desk's no to a proposal.
func (s *Service) Refuse(ctx context.Context, c Consent, id AgreementID) error {
	return s.end(ctx, c, id, StatusProposed, StatusRefused, "sharing.refused", func(a *Agreement) bool {
		return a.ReceivingTenantID == c.desk.ID
	})
}

// Withdraw takes back a proposal of c's desk that was not answered yet.
func (s *Service) Withdraw(ctx context.Context, c Consent, id AgreementID) error {
	return s.end(ctx, c, id, StatusProposed, StatusWithdrawn, "sharing.withdrawn", func(a *Agreement) bool {
		return a.GrantingTenantID == c.desk.ID
	})
}

// Revoke ends an active agreement at once: either party may (ending a share
// never exposes anything). Its grants go, and both logs record it.
func (s *Service) Revoke(ctx context.Context, c Consent, id AgreementID) error {
	return s.end(ctx, c, id, StatusActive, StatusRevoked, "sharing.revoked", func(a *Agreement) bool { return true })
}

// End is the one "stop" button of the sharing page: it withdraws the desk's
// own proposal, refuses another desk's, or revokes an active agreement.
func (s *Service) End(ctx context.Context, c Consent, id AgreementID) error {
	a, err := s.Agreement(ctx, c.desk.ID, id)
	if err != nil {
		return err
	}
	switch {
	case a.Pending() && a.GrantingTenantID == c.desk.ID:
		return s.Withdraw(ctx, c, id)
	case a.Pending():
		return s.Refuse(ctx, c, id)
	default:
		return s.Revoke(ctx, c, id)
	}
}

func (s *Service) end(ctx context.Context, c Consent, id AgreementID, from, to Status, kind string, side func(*Agreement) bool) error {
	a, err := s.Agreement(ctx, c.desk.ID, id)
	if err != nil {
		return err
	}
	if !side(a) {
		return ErrState
	}
	now := s.clock.Now()
	if err := s.step(ctx, a, from, to, func(q *bun.UpdateQuery) *bun.UpdateQuery {
		return q.Set("revoked_at = ?", now).Set("revoked_by = ?", c.actor)
	}); err != nil {
		return err
	}
	a.Status, a.RevokedAt, a.RevokedBy = to, now, c.actor
	// Remove grants whatever the state: a crash between the two writes must
	// not leave grants behind (Reconcile also catches it at start).
	if err := s.authz.Revoke(ctx, a.ID.String()); err != nil {
		return err
	}
	return s.logBoth(ctx, a, kind, string(from), string(to), c.actor)
}

// step moves a from one status to the next, only if it is still in from (two
// admins answering at once: one wins, the other gets ErrState).
func (s *Service) step(ctx context.Context, a *Agreement, from, to Status, set func(*bun.UpdateQuery) *bun.UpdateQuery) error {
	q := s.db.NewUpdate().Model((*Agreement)(nil)).Set("status = ?", to).Where("id = ? AND status = ?", a.ID, from)
	res, err := set(q).Exec(ctx)
	if err != nil {
		return fmt.Errorf("access: agreement %s → %s: %w", from, to, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n != 1 {
		return ErrState
	}
	return nil
}

// expectedGrants are the grants an agreement should have now: one per
// (role, permission) of its access for every owner desk that consented,
// each with the consent it is written under: answer (the receiving desk's
// admin accepting now) for the receiving desk's data, else the consent
// stored on the row. The owner comes from the agreement, never from the
// consent, so that writeGrant can compare the two.
func (s *Service) expectedGrants(a *Agreement, answer *Consent) ([]authz.Grant, []Consent) {
	var out []authz.Grant
	var consents []Consent
	for _, pair := range a.owners() {
		c, ok := s.storedConsent(a, pair[0])
		if answer != nil && pair[0] == a.ReceivingTenantID {
			c, ok = *answer, true
		}
		owner, ok2 := s.desks.DeskByID(pair[0])
		grantee, ok3 := s.desks.DeskByID(pair[1])
		if !ok || !ok2 || !ok3 {
			continue
		}
		for _, rp := range a.Access.grants() {
			out = append(out, authz.Grant{
				Owner: authz.Desk(owner.Slug), Grantee: authz.Desk(grantee.Slug),
				Role: authz.Role(rp[0]), Permission: authz.Permission(rp[1]),
				From: a.StartsAt, Until: a.EndsAt, Agreement: a.ID.String(),
			})
			consents = append(consents, c)
		}
	}
	return out, consents
}

// writeGrants writes the grants of an active agreement, each under its
// owner's consent. Grants are idempotent, so a retry completes the set.
func (s *Service) writeGrants(ctx context.Context, a *Agreement, answer *Consent) error {
	gs, cs := s.expectedGrants(a, answer)
	for i, g := range gs {
		if err := s.writeGrant(ctx, a, cs[i], g); err != nil {
			return err
		}
	}
	return nil
}

// writeGrant is the only code that writes an agreement grant. It refuses a
// grant whose owner is not the consenting desk, or whose agreement does not
// record that desk's consent.
func (s *Service) writeGrant(ctx context.Context, a *Agreement, c Consent, g authz.Grant) error {
	if err := covers(a, c, g); err != nil {
		return err
	}
	if err := s.authz.Grant(ctx, g); err != nil {
		return fmt.Errorf("access: grant of agreement %s: %w", a.ID, err)
	}
	return nil
}

// covers reports (as ErrNoConsent) a grant that c does not cover.
func covers(a *Agreement, c Consent, g authz.Grant) error {
	if c.desk.Slug == "" || g.Owner != authz.Desk(c.desk.Slug) {
		return fmt.Errorf("%w: grant on %s under the consent of %q", ErrNoConsent, g.Owner, c.desk.Slug)
	}
	if a.Status != StatusActive || !a.consented(c.desk.ID) || g.Agreement != a.ID.String() {
		return fmt.Errorf("%w: agreement %s (%s) has no consent of %s", ErrNoConsent, a.ID, a.Status, c.desk.Slug)
	}
	return nil
}

func (s *Service) logBoth(ctx context.Context, a *Agreement, kind, from, to, actor string) error {
	grant, _ := s.desks.DeskByID(a.GrantingTenantID)
	recv, _ := s.desks.DeskByID(a.ReceivingTenantID)
	data, err := json.Marshal(map[string]any{
		"granting": grant.Slug, "receiving": recv.Slug, "access": a.Access, "reciprocal": a.Reciprocal,
		"starts_at": a.StartsAt, "ends_at": a.EndsAt,
	})
	if err != nil {
		return err
	}
	for _, desk := range []tenancy.ID{a.GrantingTenantID, a.ReceivingTenantID} {
		err := s.tenants.Tx(tenancy.WithTenant(ctx, desk), func(ctx context.Context, tx *tenancy.Tx) error {
			return eventlog.Append(ctx, tx, &eventlog.Event{
				OccurredAt: s.clock.Now(), Actor: actor, SubjectType: "sharing_agreement", SubjectID: a.ID.UUID,
				Kind: kind, FromState: from, ToState: to, Data: data,
			})
		})
		if err != nil {
			return fmt.Errorf("access: log %s: %w", kind, err)
		}
	}
	return nil
}

// Agreements lists the agreements in which desk is a party, newest first.
func (s *Service) Agreements(ctx context.Context, desk tenancy.ID) ([]Agreement, error) {
	var out []Agreement
	err := s.db.NewSelect().Model(&out).
		WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("granting_tenant_id = ?", desk).WhereOr("receiving_tenant_id = ?", desk)
		}).Order("created_at DESC", "id DESC").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("access: list agreements: %w", err)
	}
	return out, nil
}

// Agreement returns agreement id if desk is a party; ErrNotFound otherwise.
func (s *Service) Agreement(ctx context.Context, desk tenancy.ID, id AgreementID) (*Agreement, error) {
	a := new(Agreement)
	err := s.db.NewSelect().Model(a).Where("id = ?", id).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !a.Involves(desk)) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("access: get agreement: %w", err)
	}
	return a, nil
}

// SeedAgreement stores an agreement that both desks' admins agreed outside
// Loket (the demo; tests), recording both consents explicitly: proposedBy
// for the granting desk, acceptedBy for the receiving desk. It is not
// reachable from any route.
func (s *Service) SeedAgreement(ctx context.Context, granting tenancy.ID, n NewAgreement, proposedBy, acceptedBy string) (*Agreement, error) {
	g, ok := s.desks.DeskByID(granting)
	if !ok || proposedBy == "" || acceptedBy == "" {
		return nil, fmt.Errorf("%w: seeding needs both desks' consent", ErrNoConsent)
	}
	a, err := s.Propose(ctx, Consent{desk: g, actor: proposedBy}, n)
	if err != nil {
		return nil, err
	}
	r, _ := s.desks.DeskByID(a.ReceivingTenantID)
	return s.Accept(ctx, Consent{desk: r, actor: acceptedBy}, a.ID)
}

// Reconcile makes the grants in the policy match the agreements: an
// agreement's grants must be exactly those its consents allow (none unless
// active; the receiving desk's data only after it accepted). It removes
// grants without consent (such as reciprocal grants written before consent
// existed), restores missing ones (a crash between the row and the policy
// write), drops grants of unknown agreements, and logs each repair in both
// desks' event logs. Run it at start; a second run changes nothing.
func (s *Service) Reconcile(ctx context.Context) (int, error) {
	var all []Agreement
	if err := s.db.NewSelect().Model(&all).Scan(ctx); err != nil {
		return 0, fmt.Errorf("access: reconcile: %w", err)
	}
	byID := map[string]*Agreement{}
	for i := range all {
		byID[all[i].ID.String()] = &all[i]
	}
	key := func(g authz.Grant) string {
		return fmt.Sprintf("%s|%s|%s|%s|%d|%d", g.Owner, g.Grantee, g.Role, g.Permission, g.From.Unix(), g.Until.Unix())
	}
	actual := map[string]map[string]bool{} // agreement -> grant keys
	for _, d := range s.desks.AllDesks() {
		gs, err := s.authz.Grants(authz.Desk(d.Slug))
		if err != nil {
			return 0, err
		}
		for _, g := range gs {
			if g.Owner != authz.Desk(d.Slug) {
				continue
			}
			if actual[g.Agreement] == nil {
				actual[g.Agreement] = map[string]bool{}
			}
			actual[g.Agreement][key(g)] = true
		}
	}
	repaired := 0
	for ref := range actual {
		if byID[ref] == nil {
			if err := s.authz.Revoke(ctx, ref); err != nil {
				return repaired, err
			}
			repaired++
		}
	}
	for _, a := range byID {
		want, _ := s.expectedGrants(a, nil)
		same := len(want) == len(actual[a.ID.String()])
		for _, g := range want {
			same = same && actual[a.ID.String()][key(g)]
		}
		if same {
			continue
		}
		if err := s.authz.Revoke(ctx, a.ID.String()); err != nil {
			return repaired, err
		}
		if err := s.writeGrants(ctx, a, nil); err != nil {
			return repaired, err
		}
		if err := s.logBoth(ctx, a, "sharing.repaired", string(a.Status), string(a.Status), "system:reconcile"); err != nil {
			return repaired, err
		}
		repaired++
	}
	return repaired, nil
}
