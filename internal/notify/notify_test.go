package notify_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/internal/mail"
	"github.com/loket-kinderopvang/loket/internal/notify"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

type sent struct{ msgs []mail.Message }

func (s *sent) Send(_ context.Context, m mail.Message) error {
	if err := m.Validate(); err != nil {
		return err
	}
	s.msgs = append(s.msgs, m)
	return nil
}

// TestTemplatesForEveryKindAndLanguage: every kind renders in nl, fr and en
// with every field used, and the three languages differ.
func TestTemplatesForEveryKindAndLanguage(t *testing.T) {
	m := notify.New(&sent{}, "https://loket.example/")
	d := notify.Data{DeskName: "Loket Testgem", ChildFirstName: "Mila", LocationName: "Kinderdagverblijf Zonnetje",
		StatusURL: "https://loket.example/leuven/aanvraag/tok", InboxURL: m.InboxURL(), Deadline: "3 mei 2027 om 09:00"}
	for _, kind := range notify.Kinds {
		subjects := map[string]bool{}
		for _, lang := range notify.Languages {
			subject, text, err := m.Render(kind, lang, d)
			if err != nil {
				t.Errorf("%s/%s: %v", kind, lang, err)
				continue
			}
			if subject == "" || strings.ContainsAny(subject, "\r\n") || text == "" || strings.Contains(text+subject, "<no value>") {
				t.Errorf("%s/%s: subject %q, text %q", kind, lang, subject, text)
			}
			if !strings.Contains(text, d.DeskName) {
				t.Errorf("%s/%s: no desk name", kind, lang)
			}
			subjects[subject] = true
		}
		if len(subjects) != len(notify.Languages) {
			t.Errorf("%s: the languages share a subject: %v", kind, subjects)
		}
	}
	_, text, _ := m.Render("answer_reminder", "nl", d)
	if !strings.Contains(text, "https://loket.example/aanbieder") {
		t.Errorf("answer reminder without the inbox link:\n%s", text)
	}
	if _, _, err := m.Render("no_such_kind", "nl", d); err == nil {
		t.Error("unknown kind rendered")
	}
}

func TestNotifySendsInTheParentsLanguage(t *testing.T) {
	out := &sent{}
	m := notify.New(out, "https://loket.example")
	deadline := time.Date(2027, 1, 18, 8, 0, 0, 0, time.UTC)
	for _, lang := range []string{"fr", "xx"} {
		err := m.Notify(context.Background(), requests.Notice{Kind: "offer_made", Language: lang, To: "ouder@ouders.example",
			DeskName: "Loket", StatusURL: "https://loket.example/leuven/aanvraag/t", ChildFirstName: "Mila",
			LocationName: "Zonnetje", Deadline: &deadline})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(out.msgs) != 2 || out.msgs[0].Kind != "request.offer_made" {
		t.Fatalf("sent %+v", out.msgs)
	}
	// Belgian winter time is UTC+1.
	if fr := out.msgs[0].Text; !strings.Contains(fr, "Bonne nouvelle") || !strings.Contains(fr, "18 janvier 2027 à 09:00") {
		t.Errorf("French offer:\n%s", fr)
	}
	if nl := out.msgs[1].Text; !strings.Contains(nl, "18 januari 2027 om 09:00") {
		t.Errorf("unknown language should fall back to Dutch:\n%s", nl)
	}
}

// TestDutchMailsSayU: the Dutch mails address people with "u", like the
// site (issue 20, point 11), never with "je" or "jij".
func TestDutchMailsSayU(t *testing.T) {
	m := notify.New(&sent{}, "https://loket.example/")
	d := notify.Data{DeskName: "Loket Testgem", ChildFirstName: "Mila", LocationName: "Kinderdagverblijf Zonnetje",
		StatusURL: "https://loket.example/leuven/aanvraag/tok", InboxURL: m.InboxURL(), Deadline: "3 mei 2027 om 09:00"}
	informal := regexp.MustCompile(`(?i)\b(je|jij|jou|jouw|jullie)\b`)
	for _, kind := range notify.Kinds {
		subject, text, err := m.Render(kind, "nl", d)
		if err != nil {
			t.Fatal(err)
		}
		if w := informal.FindAllString(subject+"\n"+text, -1); len(w) > 0 {
			t.Errorf("%s: the Dutch mail says %q", kind, w)
		}
	}
}
