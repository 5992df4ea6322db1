package rounds

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/loket-kinderopvang/loket/internal/platform/web"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

// The round page names children and places as desk staff know them (issue
// 20, point 3): a child by name and its request by desired start and date
// of asking, a place by location, month in words and age group in words;
// never an id or a programme key ("<location>|2027-03|baby").

// RequestLabels returns the labels of the round's requests (one query).
func (s *Service) RequestLabels(ctx context.Context, ids []requests.RequestID) (map[requests.RequestID]requests.Label, error) {
	return s.requests.Labels(ctx, ids)
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
