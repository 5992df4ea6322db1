package rounds

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/loket-kinderopvang/loket/internal/eventlog"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/platform/web"
	"github.com/loket-kinderopvang/loket/internal/requests"
	"github.com/loket-kinderopvang/loket/internal/tenant"
)

// The round page names children and places as desk staff know them (issue
// 20, point 3): a child by name and its request by desired start and date
// of asking, a place by location, month in words and age group in words;
// never an id or a programme key ("<location>|2027-03|baby").

// RequestLabels returns the labels of the round's requests (one query).
func (s *Service) RequestLabels(ctx context.Context, ids []requests.RequestID) (map[requests.RequestID]requests.Label, error) {
	return s.requests.Labels(ctx, ids)
}

// SeenOnPage writes one look per request a desk page of a round shows
// (names of many families at once), in one insert.
func (s *Service) SeenOnPage(ctx context.Context, user string, ids []requests.RequestID) error {
	return s.requests.LookedAt(ctx, requests.Look{Actor: requests.Actor{Kind: requests.ActorDesk, ID: user}, What: eventlog.LookRound}, ids)
}

// ProposalsSeen is Proposals for the provider's page, which names the
// children: each is one look, written to its desk's access log (one
// insert per desk).
func (s *Service) ProposalsSeen(ctx context.Context, desks []tenant.Tenant, locations []uuid.UUID, actor requests.Actor, organisation string) ([]Proposal, error) {
	props, err := s.Proposals(ctx, desks, locations)
	if err != nil {
		return nil, err
	}
	for _, d := range desks {
		var ids []requests.RequestID
		for _, p := range props {
			if p.DeskSlug == d.Slug {
				ids = append(ids, p.RequestID)
			}
		}
		look := requests.Look{Actor: actor, What: eventlog.LookRound, Organisation: organisation}
		if err := s.requests.LookedAt(tenancy.WithTenant(ctx, d.ID), look, ids); err != nil {
			return nil, err
		}
	}
	return props, nil
}

// monthWords is "maart 2027" for "2027-03" in the reader's language.
func monthWords(tr web.Translator, month string) string {
	t, err := time.Parse("2006-01", month)
	if err != nil {
		return month
	}
	return tr.T("month."+strconv.Itoa(int(t.Month()))) + " " + strconv.Itoa(t.Year())
}

// dayWords is "3 december 2026" in the reader's language.
func dayWords(tr web.Translator, t time.Time) string {
	return strconv.Itoa(t.Day()) + " " + monthWords(tr, t.Format("2006-01"))
}

// bandWords is the age group in words.
func bandWords(tr web.Translator, band string) string { return tr.T("location.band." + band) }

// programmeWords is a place as people say it: "De Kabouters, maart 2027,
// baby's (jonger dan 18 maanden)".
func programmeWords(tr web.Translator, names map[uuid.UUID]string, programme string) string {
	parts := strings.Split(programme, "|")
	if len(parts) != 3 {
		return programme
	}
	loc, err := uuid.Parse(parts[0])
	if err != nil {
		return programme
	}
	name := names[loc]
	if name == "" {
		name = tr.T("work.round.unknown_location")
	}
	return name + ", " + monthWords(tr, parts[1]) + ", " + bandWords(tr, parts[2])
}

// readable replaces every programme key in an explanation by its words.
func readable(tr web.Translator, names map[uuid.UUID]string, programmes []string, text string) string {
	for _, p := range programmes {
		if strings.Contains(text, p) {
			text = strings.ReplaceAll(text, p, programmeWords(tr, names, p))
		}
	}
	return text
}

// requestWords describes a request: "aanvraag van 3 december 2026, start
// maart 2027".
func requestWords(tr web.Translator, l requests.Label) string {
	return tr.T("work.round.request", "Asked", dayWords(tr, l.SubmittedAt), "Start", monthWords(tr, l.DesiredStart.Format("2006-01")))
}
