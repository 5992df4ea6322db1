package mail_test

import (
	"bufio"
	"context"
	"net"
	"strings"
	"sync"
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
	srv := newFakeSMTP(t)
	s, err := mail.NewSMTP("smtp://"+srv.addr+"?tls=none", "Loket <noreply@loket.example>")
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(context.Background(), mail.Message{To: "ouder@gezin.example", Subject: "Nieuw wachtwoord", Text: "Klik op de link."})
	if err != nil {
		t.Fatal(err)
	}
	got := srv.wait(t)
	for _, want := range []string{"MAIL FROM:<noreply@loket.example>", "RCPT TO:<ouder@gezin.example>", "Subject: Nieuw wachtwoord", "Klik op de link."} {
		if !strings.Contains(got, want) {
			t.Errorf("the SMTP session lacks %q:\n%s", want, got)
		}
	}
}

type fakeSMTP struct {
	addr string
	mu   sync.Mutex
	log  strings.Builder
	done chan struct{}
}

func newFakeSMTP(t *testing.T) *fakeSMTP {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	f := &fakeSMTP{addr: ln.Addr().String(), done: make(chan struct{})}
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		defer close(f.done)
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(conn)
		reply := func(s string) { _, _ = conn.Write([]byte(s + "\r\n")) }
		reply("220 fake ESMTP")
		inData := false
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			f.mu.Lock()
			f.log.WriteString(line)
			f.mu.Unlock()
			if inData {
				if line == ".\r\n" {
					inData = false
					reply("250 queued")
				}
				continue
			}
			cmd := strings.ToUpper(strings.TrimSpace(line))
			switch {
			case strings.HasPrefix(cmd, "EHLO"):
				reply("250-fake")
				reply("250 8BITMIME")
			case strings.HasPrefix(cmd, "DATA"):
				inData = true
				reply("354 go on")
			case strings.HasPrefix(cmd, "QUIT"):
				reply("221 bye")
				return
			default:
				reply("250 ok")
			}
		}
	}()
	return f
}

func (f *fakeSMTP) wait(t *testing.T) string {
	select {
	case <-f.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the SMTP session did not end")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.log.String()
}
