package mail_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/internal/mail"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
)

func TestOutbox(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clk := clock.NewFixed(time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC))
		o := mail.NewOutbox(d, clk)
		var s mail.Sender = o
		if err := s.Send(ctx, mail.Message{To: "an@gezin.example", Subject: "Eerste", Text: "één", Kind: "test"}); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Minute)
		if err := s.Send(ctx, mail.Message{To: "Bo@Gezin.example", Subject: "Tweede", Text: "twee", HTML: "<p>twee</p>"}); err != nil {
			t.Fatal(err)
		}
		if err := s.Send(ctx, mail.Message{To: "geen adres", Subject: "x", Text: "x"}); err == nil {
			t.Error("a mail to a malformed address must be refused")
		}
		all, err := o.List(ctx, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 2 || all[0].Subject != "Tweede" || all[1].Subject != "Eerste" || all[1].Kind != "test" || all[0].HTML != "<p>twee</p>" {
			t.Fatalf("outbox, newest first: %+v", all)
		}
		if !all[1].CreatedAt.Equal(clk.Now().Add(-time.Minute)) {
			t.Errorf("created_at = %s", all[1].CreatedAt)
		}
		bo, err := o.List(ctx, "bo@gezin.example", 10)
		if err != nil || len(bo) != 1 || bo[0].Text != "twee" {
			t.Fatalf("outbox for one address (any case): %+v %v", bo, err)
		}
	})
}

func TestMessageValidate(t *testing.T) {
	ok := mail.Message{To: "a@loket.example", Subject: "Onderwerp", Text: "tekst"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, m := range map[string]mail.Message{
		"no recipient":      {Subject: "s", Text: "t"},
		"no subject":        {To: "a@loket.example", Text: "t"},
		"header injection":  {To: "a@loket.example", Subject: "s\r\nBcc: b@loket.example", Text: "t"},
		"no body":           {To: "a@loket.example", Subject: "s"},
		"two recipients in": {To: "a@loket.example, b@loket.example", Subject: "s", Text: "t"},
	} {
		if err := m.Validate(); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}

func TestNewSMTP(t *testing.T) {
	for _, good := range []string{
		"smtp://relay.example", "smtp://user:geheim@relay.example:2525", "smtps://relay.example",
		"smtp://relay.example?tls=none", "smtp://relay.example?tls=opportunistic",
	} {
		if _, err := mail.NewSMTP(good, "Loket <noreply@loket.example>"); err != nil {
			t.Errorf("%s: %v", good, err)
		}
	}
	for _, bad := range []string{
		"http://relay.example", "smtp://", "smtp://relay.example?tls=maybe", "smtp://relay.example:99999",
		"smtp://user:geheim@relay.example:x", "smtp://user:ge heim%zz@relay.example",
	} {
		_, err := mail.NewSMTP(bad, "noreply@loket.example")
		if err == nil {
			t.Errorf("%s: want an error", bad)
			continue
		}
		if strings.Contains(err.Error(), "geheim") {
			t.Errorf("%s: the error repeats the password: %v", bad, err)
		}
	}
	if _, err := mail.NewSMTP("smtp://relay.example", "geen adres"); err == nil {
		t.Error("a malformed sender address must be refused")
	}
}

// TestSMTPSend delivers a mail to a minimal SMTP server on localhost.
func TestSMTPSend(t *testing.T) {
	srv := newSMTPSink(t)
	s, err := mail.NewSMTP("smtp://"+srv.addr+"?tls=none", "Loket <noreply@loket.example>")
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(context.Background(), mail.Message{To: "ouder@gezin.example", Subject: "Nieuw wachtwoord", Text: "Klik op de link."})
	if err != nil {
		t.Fatal(err)
	}
	got := srv.waitFor(t, 1)
	for _, want := range []string{"MAIL FROM:<noreply@loket.example>", "RCPT TO:<ouder@gezin.example>", "Subject: Nieuw wachtwoord", "Klik op de link."} {
		if !strings.Contains(got, want) {
			t.Errorf("the SMTP session lacks %q:\n%s", want, got)
		}
	}
}
