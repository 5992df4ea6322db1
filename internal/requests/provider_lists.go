package requests

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/eventlog"
	"github.com/loket-kinderopvang/loket/internal/platform/page"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
)

// ProviderList is one of the lists a provider's system reads (issue 17).
// Each is a list of preferences for the provider's locations, across desks,
// in the order of when they last changed, so that a system can poll for
// changes with a cursor or updated_since.
type ProviderList string

// The lists.
const (
	// ListInbox: preferences waiting for the provider (InboxStates) of open requests.
	ListInbox ProviderList = "inbox"
	// ListOffers: the provider's offers and their outcome.
	ListOffers ProviderList = "offers"
	// ListPlacements: offers the parent accepted.
	ListPlacements ProviderList = "placements"
	// ListWithdrawals: requests withdrawn that had a preference for one of
	// the provider's locations; ordered by the request's last change.
	ListWithdrawals ProviderList = "withdrawals"
)

// ErrBadCursor is a cursor that is no key of a provider list.
var ErrBadCursor = errors.New("requests: not a cursor of this list")

// OfferOutcomes are the states of a preference that was offered.
var OfferOutcomes = []PreferenceState{PreferenceOffered, PreferenceAccepted, PreferenceDeclined, PreferenceLapsed}

// ProviderQuery asks for one page of a list.
type ProviderQuery struct {
	Since time.Time // zero: from the start; else changed at or after Since
	After page.Key  // the key of the last item of the page before (nil: first page)
	Limit int
}

// ListItem is one line of a provider list: an inbox line, plus when it
// last changed and the outcome's dates.
type ListItem struct {
	InboxItem
	UpdatedAt     time.Time
	AnsweredAt    *time.Time
	RespondedAt   *time.Time
	OfferDays     []string
	RequestStatus Status
	StatusChanged *time.Time // for a withdrawal: when the request was withdrawn

	family uuid.UUID
}

// Key is the item's page key: when it changed, then a unique tail.
func (it ListItem) Key() page.Key {
	return page.Key{page.TimeKey(it.UpdatedAt), it.DeskSlug, it.RequestID.String(), fmt.Sprintf("%04d", it.Rank)}
}

type listRow struct {
	inboxRow        `bun:",extend"`
	SortAt          time.Time  `bun:"sort_at"`
	Status          Status     `bun:"request_status"`
	StatusChangedAt *time.Time `bun:"request_status_changed_at"`
}

// ProviderItems returns a page of list for the provider's locations (the
// ones the caller may act for), with the key of its last item when more
// follow. Every request shown is logged as a look (look), in its desk.
func (s *Service) ProviderItems(ctx context.Context, list ProviderList, locations []uuid.UUID, look Look, q ProviderQuery) ([]ListItem, page.Key, error) {
	if len(locations) == 0 {
		return nil, nil, nil
	}
	var after struct {
		at   time.Time
		desk string
		id   string
		rank int
	}
	if q.After != nil {
		if len(q.After) != 4 {
			return nil, nil, ErrBadCursor
		}
		t, err := time.Parse("2006-01-02T15:04:05.000000000Z", q.After[0])
		rank, err2 := strconv.Atoi(q.After[3])
		if _, err3 := uuid.Parse(q.After[2]); err != nil || err2 != nil || err3 != nil {
			return nil, nil, ErrBadCursor
		}
		after.at, after.desk, after.id, after.rank = t, q.After[1], q.After[2], rank
	}
	sortCol := "preference.updated_at"
	if list == ListWithdrawals {
		sortCol = "r.updated_at"
	}
	now := s.opts.Clock.Now()
	var names map[uuid.UUID]LocationRef
	var out []ListItem
	for _, desk := range s.opts.Desks.All() {
		var rows []listRow
		err := s.tenants.Tx(tenancy.WithTenant(ctx, desk.ID), func(ctx context.Context, tx *tenancy.Tx) error {
			qq := tx.Select(&rows).ColumnExpr("preference.*").
				ColumnExpr("r.desired_start, r.flexibility_weeks, r.care_days, r.day_part, r.wider_hours, r.specific_care_need, r.care_need_note, r.age_months").
				ColumnExpr("r.status AS request_status, r.status_changed_at AS request_status_changed_at").
				ColumnExpr(sortCol+" AS sort_at").
				ColumnExpr("c.first_name AS child_first, f.display_name AS family_name, f.email AS family_email, f.phone AS family_phone, f.language, f.id AS family_id").
				Join("JOIN requests AS r ON r.tenant_id = preference.tenant_id AND r.id = preference.request_id").
				Join("JOIN children AS c ON c.tenant_id = r.tenant_id AND c.id = r.child_id").
				Join("JOIN families AS f ON f.tenant_id = c.tenant_id AND f.id = c.family_id").
				Where("preference.location_id IN (?)", bun.In(locations))
			switch list {
			case ListInbox:
				qq = qq.Where("preference.state IN (?)", bun.In(InboxStates)).
					Where("r.status IN (?)", bun.In([]Status{StatusSubmitted, StatusActive, StatusOffered}))
			case ListOffers:
				qq = qq.Where("preference.state IN (?)", bun.In(OfferOutcomes))
			case ListPlacements:
				qq = qq.Where("preference.state = ?", PreferenceAccepted)
			case ListWithdrawals:
				qq = qq.Where("r.status = ?", StatusWithdrawn)
			default:
				return fmt.Errorf("requests: no list %q", list)
			}
			if !q.Since.IsZero() {
				qq = qq.Where(sortCol+" >= ?", q.Since)
			}
			if q.After != nil {
				// Only what follows the cursor's key in this desk.
				switch {
				case desk.Slug < after.desk:
					qq = qq.Where(sortCol+" > ?", after.at)
				case desk.Slug > after.desk:
					qq = qq.Where(sortCol+" >= ?", after.at)
				default:
					qq = qq.WhereGroup(" AND ", func(g *bun.SelectQuery) *bun.SelectQuery {
						return g.Where(sortCol+" > ?", after.at).
							WhereOr(sortCol+" = ? AND preference.request_id > ?", after.at, after.id).
							WhereOr(sortCol+" = ? AND preference.request_id = ? AND preference.rank > ?", after.at, after.id, after.rank)
					})
				}
			}
			// One more than a page tells whether more follow.
			err := qq.OrderExpr(sortCol).OrderExpr("preference.request_id, preference.rank").Limit(int64(q.Limit + 1)).Scan(ctx)
			if err != nil || len(rows) == 0 || names != nil {
				return err
			}
			names, err = locationRefs(ctx, tx.Unscoped(), prefsOf(locations))
			return err
		})
		if err != nil {
			return nil, nil, fmt.Errorf("requests: %s of desk %s: %w", list, desk.Slug, err)
		}
		for _, r := range rows {
			it := ListItem{InboxItem: r.item(desk, names, now),
				UpdatedAt: r.SortAt.UTC(), AnsweredAt: r.AnsweredAt, RespondedAt: r.RespondedAt, RequestStatus: r.Status,
				StatusChanged: r.StatusChangedAt, family: r.FamilyID}
			if r.OfferDays != "" {
				it.OfferDays = Request{CareDays: r.OfferDays}.Days()
			}
			out = append(out, it)
		}
	}
	page.Sort(out, ListItem.Key)
	out, next := page.Cut(out, ListItem.Key, page.Params{Limit: q.Limit})
	if err := s.logLooks(ctx, out, look, now); err != nil {
		return nil, nil, err
	}
	return out, next, nil
}

// logLooks logs one look per request shown, in the request's desk (only
// the page returned: what was read and dropped past the limit was not
// shown to anyone).
func (s *Service) logLooks(ctx context.Context, items []ListItem, look Look, now time.Time) error {
	byDesk := map[string][]*eventlog.Access{}
	seen := map[string]bool{}
	for _, it := range items {
		k := it.DeskSlug + "/" + it.RequestID.String()
		if seen[k] {
			continue
		}
		seen[k] = true
		byDesk[it.DeskSlug] = append(byDesk[it.DeskSlug], look.access(now, it.family, &it.RequestID.UUID))
	}
	for slug, looks := range byDesk {
		desk, ok := s.opts.Desks.BySlug(slug)
		if !ok {
			continue
		}
		err := s.tenants.Tx(tenancy.WithTenant(ctx, desk.ID), func(ctx context.Context, tx *tenancy.Tx) error {
			return eventlog.LogAccess(ctx, tx, looks)
		})
		if err != nil {
			return fmt.Errorf("requests: log looks of desk %s: %w", slug, err)
		}
	}
	return nil
}
