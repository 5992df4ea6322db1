package requests

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
)

// Answers by e-mail (issue 17): a provider that chose to answer by e-mail
// gets, with each new request for one of its locations, signed links to a
// short page without account. A link names one preference (request and
// rank) of one desk and its answer deadline; it works once (only while the
// preference waits for an answer) and until that deadline.

// Errors of an answer link.
var (
	ErrAnswerLinkExpired = errors.New("requests: the answer deadline of this link has passed")
	ErrAnswerLinkUsed    = errors.New("requests: this request was answered already")
)

const answerPayload = 16 + 16 + 4 + 8 // request, desk, rank, deadline

// AnswerLinkToken signs a link to answer preference rank of request id of
// desk until due.
func (s *Service) AnswerLinkToken(desk tenancy.ID, id RequestID, rank int, due time.Time) string {
	p := make([]byte, answerPayload)
	copy(p, id.UUID[:])
	copy(p[16:], desk.UUID[:])
	binary.BigEndian.PutUint32(p[32:], uint32(rank))
	binary.BigEndian.PutUint64(p[36:], uint64(due.Unix()))
	return signPayload(s.answerKey, p)
}

// AnswerLinkCase is what the answer page shows: where, what the family
// asked (to prefill an offer), and until when.
type AnswerLinkCase struct {
	Desk         tenancy.ID
	RequestID    RequestID
	Rank         int
	LocationID   uuid.UUID
	LocationName string
	DesiredStart time.Time
	CareDays     []string
	Due          time.Time
}

// AnswerLink checks token, opened at desk, and returns its case:
// ErrBadToken for a forged or damaged link or another desk's,
// ErrAnswerLinkExpired after its deadline, ErrAnswerLinkUsed once the
// preference was answered.
func (s *Service) AnswerLink(ctx context.Context, desk tenancy.ID, token string) (*AnswerLinkCase, error) {
	p, ok := verifyPayload(s.answerKey, token, answerPayload)
	if !ok {
		return nil, ErrBadToken
	}
	c := &AnswerLinkCase{Rank: int(binary.BigEndian.Uint32(p[32:])), Due: time.Unix(int64(binary.BigEndian.Uint64(p[36:])), 0).UTC()}
	copy(c.RequestID.UUID[:], p[:16])
	copy(c.Desk.UUID[:], p[16:32])
	if c.Desk != desk {
		return nil, ErrBadToken
	}
	if !s.opts.Clock.Now().Before(c.Due) {
		return nil, ErrAnswerLinkExpired
	}
	err := s.tenants.Tx(tenancy.WithTenant(ctx, c.Desk), func(ctx context.Context, tx *tenancy.Tx) error {
		r, err := s.store.load(ctx, tx, c.RequestID, false)
		if err != nil {
			return err
		}
		pref, err := r.preference(c.Rank)
		if err != nil {
			return err
		}
		if pref.State != PreferencePending {
			return ErrAnswerLinkUsed
		}
		c.LocationID, c.DesiredStart = pref.LocationID, r.DesiredStart
		if r.CareDays != "" {
			c.CareDays = strings.Split(r.CareDays, ",")
		}
		c.LocationName, err = s.locationName(ctx, tx, pref.LocationID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// AnswerByLink records a's answer through token: the same answer, rules and
// event as in the inbox, by the location's provider "by e-mail".
func (s *Service) AnswerByLink(ctx context.Context, desk tenancy.ID, token string, a Answer) error {
	c, err := s.AnswerLink(ctx, desk, token)
	if err != nil {
		return err
	}
	if a.Kind == AnswerForward {
		return fmt.Errorf("%w: forwarding is done in the inbox", ErrTransition)
	}
	// The preference is locked in Answer; a second use that raced this one
	// finds it answered there (a changed answer needs the inbox).
	actor := Actor{Kind: ActorProvider, ID: "mail:" + c.LocationID.String()}
	return s.answer(tenancy.WithTenant(ctx, c.Desk), c.RequestID, c.Rank, a, actor, true)
}

// locationName reads a location's name from the catalogue.
func (s *Service) locationName(ctx context.Context, tx *tenancy.Tx, id uuid.UUID) (string, error) {
	var name string
	// The catalogue is platform data: a location's name (TestAnswerByEmail).
	err := tx.Unscoped().NewSelect().Table("locations").Column("name").Where("id = ?", id).Scan(ctx, &name)
	return name, err
}

// answerMails tells the locations of a new request whose provider answers
// by e-mail, in the transaction of the registration: a mail with the links.
func (s *Service) answerMails(ctx context.Context, tx *tenancy.Tx, evs []RequestEvent) error {
	var ids []RequestID
	for _, ev := range evs {
		if ev.Kind == "request.submitted" || ev.Kind == "preference.added" {
			ids = append(ids, ev.RequestID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	var prefs []Preference
	if err := tx.Select(&prefs).Where("request_id IN (?)", bun.In(ids)).Where("state = ?", PreferencePending).Scan(ctx); err != nil {
		return fmt.Errorf("requests: answer mails: %w", err)
	}
	var locs []struct {
		ID    uuid.UUID `bun:"id"`
		Name  string    `bun:"name"`
		Email string    `bun:"email"`
	}
	var locIDs []uuid.UUID
	for _, p := range prefs {
		locIDs = append(locIDs, p.LocationID)
	}
	if len(locIDs) == 0 {
		return nil
	}
	// The catalogue is platform data: which chosen locations answer by
	// e-mail, and where (TestAnswerByEmail).
	if err := tx.Unscoped().NewSelect().TableExpr("locations AS l").Column("l.id", "l.name", "l.email").
		Join("JOIN providers AS p ON p.id = l.provider_id").Where("p.answer_by_email").Where("l.email <> ''").
		Where("l.id IN (?)", bun.In(locIDs)).Scan(ctx, &locs); err != nil {
		return fmt.Errorf("requests: answer mails: %w", err)
	}
	if len(locs) == 0 {
		return nil
	}
	desk, err := s.desk(ctx)
	if err != nil {
		return err
	}
	lang := desk.DefaultLanguage()
	var ns []Notice
	for _, p := range prefs {
		for _, l := range locs {
			if l.ID != p.LocationID || p.AnswerDue == nil || (len(evs) > 0 && !s.isNew(evs, p)) {
				continue
			}
			due := *p.AnswerDue
			ns = append(ns, Notice{Kind: "answer_request", Language: lang, To: l.Email, DeskName: desk.DisplayName(lang),
				LocationName: l.Name, Deadline: &due,
				AnswerURL: strings.TrimRight(s.opts.PublicURL, "/") + "/" + desk.Slug + "/antwoord/" + s.AnswerLinkToken(desk.ID, p.RequestID, p.Rank, due)})
		}
	}
	_, err = s.storeNotices(ctx, tx, ns)
	return err
}

// isNew reports whether p is what evs announce: every preference of a new
// request, only the added one otherwise.
func (s *Service) isNew(evs []RequestEvent, p Preference) bool {
	for _, ev := range evs {
		if ev.RequestID != p.RequestID {
			continue
		}
		if ev.Kind == "request.submitted" {
			return true
		}
		for _, l := range ev.Locations {
			if l == p.LocationID {
				return true
			}
		}
	}
	return false
}

// sinks tells every sink in turn.
type sinks []EventSink

func (ss sinks) RequestEventsTx(ctx context.Context, tx *tenancy.Tx, evs []RequestEvent) error {
	for _, s := range ss {
		if s != nil {
			if err := s.RequestEventsTx(ctx, tx, evs); err != nil {
				return err
			}
		}
	}
	return nil
}

// sinkFunc is a function as an EventSink.
type sinkFunc func(ctx context.Context, tx *tenancy.Tx, evs []RequestEvent) error

func (f sinkFunc) RequestEventsTx(ctx context.Context, tx *tenancy.Tx, evs []RequestEvent) error {
	return f(ctx, tx, evs)
}
