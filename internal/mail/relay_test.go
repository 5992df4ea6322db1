package mail_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/mail"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/tenant/tenanttest"
)

// TestRelaySendsEachStoredMailOnce: mails stored in the outbox, platform
// mail and every desk's mail, go out over SMTP once and are marked sent;
// while the SMTP server is away, a mail is kept, with its error, and
// retried later.
func TestRelaySendsEachStoredMailOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clk := clock.NewFixed(time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC))
		o := mail.NewOutbox(d, clk)
		leuven, geel := deskContexts(t, d)
		quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

		// No SMTP server yet: the attempt fails and is retried later.
		down := freeAddr(t)
		smtpDown, err := mail.NewSMTP("smtp://"+down+"?tls=none", "Loket <noreply@loket.example>")
		if err != nil {
			t.Fatal(err)
		}
		if err := o.Send(ctx, mail.Message{To: "an@gezin.example", Subject: "Bevestiging", Text: "Uw aanvraag is ontvangen."}); err != nil {
			t.Fatal(err)
		}
		if n, err := mail.NewRelay(d, smtpDown, clk, quiet).Deliver(ctx); err != nil || n != 0 {
			t.Fatalf("delivery without a server: %d sent, %v", n, err)
		}
		stored, _ := o.List(ctx, "an@gezin.example", 1)
		if len(stored) != 1 || stored[0].SentAt != nil || stored[0].Attempts != 1 || stored[0].LastError == "" || stored[0].NextAttemptAt == nil {
			t.Fatalf("a failed mail keeps its error and a next attempt: %+v", stored)
		}

		srv := newSMTPSink(t)
		smtp, err := mail.NewSMTP("smtp://"+srv.addr+"?tls=none", "Loket <noreply@loket.example>")
		if err != nil {
			t.Fatal(err)
		}
		relay := mail.NewRelay(d, smtp, clk, quiet)
		if n, _ := relay.Deliver(ctx); n != 0 {
			t.Errorf("a mail was retried before its next attempt (%d sent)", n)
		}
		if err := o.Send(ctx, mail.Message{To: "bo@gezin.example", Subject: "Aanbod", Text: "Er is een plaats."}); err != nil {
			t.Fatal(err)
		}
		for to, desk := range map[string]context.Context{"cas@gezin.example": leuven, "dirk@gezin.example": geel} {
			if err := o.SendDesk(desk, mail.Message{To: to, Subject: "Bevestiging", Text: "Uw aanvraag is ontvangen.", Kind: "request.submitted"}); err != nil {
				t.Fatal(err)
			}
		}
		clk.Advance(time.Minute)
		if n, err := relay.Deliver(ctx); err != nil || n != 4 {
			t.Fatalf("after the retry time: %d sent, %v; want all four", n, err)
		}
		if n, _ := relay.Deliver(ctx); n != 0 {
			t.Errorf("%d mails sent twice", n)
		}
		got := srv.recipients()
		slices.Sort(got)
		if want := []string{"an@gezin.example", "bo@gezin.example", "cas@gezin.example", "dirk@gezin.example"}; !slices.Equal(got, want) {
			t.Errorf("the SMTP server received mail for %v, want %v", got, want)
		}
		all, _ := o.List(ctx, "", 10)
		for _, desk := range []context.Context{leuven, geel} {
			mine, err := o.DeskList(desk, "", 10)
			if err != nil || len(mine) != 1 {
				t.Fatalf("a desk's outbox: %+v (%v)", mine, err)
			}
			all = append(all, mail.Stored{Record: mine[0].Record})
		}
		for _, m := range all {
			if m.SentAt == nil || m.LastError != "" {
				t.Errorf("mail to %s: sent %v, error %q", m.To, m.SentAt, m.LastError)
			}
		}
	})
}

// deskContexts syncs the demo desks and returns contexts bound to two of them.
func deskContexts(t *testing.T, d *db.DB) (leuven, geel context.Context) {
	t.Helper()
	ctx := context.Background()
	dir := tenanttest.SyncDemo(t, d, clock.System{})
	a, _ := dir.BySlug("leuven")
	b, _ := dir.BySlug("geel-laakdal-meerhout")
	return tenancy.WithTenant(ctx, a.ID), tenancy.WithTenant(ctx, b.ID)
}

// TestRelaysOnReplicasSendEachMailOnce: three relays on one PostgreSQL
// outbox deliver 60 mails (platform mail and two desks' mail), each exactly
// once.
func TestRelaysOnReplicasSendEachMailOnce(t *testing.T) {
	d := dbtest.Open(t, db.Postgres)
	ctx := context.Background()
	o := mail.NewOutbox(d, clock.System{})
	leuven, geel := deskContexts(t, d)
	const n = 60
	for i := range n {
		m := mail.Message{To: fmt.Sprintf("ouder%d@gezin.example", i), Subject: "Bevestiging", Text: "Ontvangen."}
		var err error
		switch i % 3 {
		case 0:
			err = o.Send(ctx, m)
		case 1:
			err = o.SendDesk(leuven, m)
		case 2:
			err = o.SendDesk(geel, m)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	srv := newSMTPSink(t)
	var wg sync.WaitGroup
	for range 3 {
		smtp, err := mail.NewSMTP("smtp://"+srv.addr+"?tls=none", "Loket <noreply@loket.example>")
		if err != nil {
			t.Fatal(err)
		}
		relay := mail.NewRelay(d, smtp, clock.System{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		relay.Batch = 7
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if sent, err := relay.Deliver(ctx); err != nil || sent == 0 {
					if err != nil {
						t.Error(err)
					}
					return
				}
			}
		}()
	}
	wg.Wait()
	got := srv.recipients()
	seen := map[string]int{}
	for _, r := range got {
		seen[r]++
	}
	if len(got) != n || len(seen) != n {
		t.Errorf("%d mails to %d recipients delivered, want %d each once", len(got), len(seen), n)
	}
}

// smtpSink is a minimal SMTP server on localhost that takes any number of
// sessions and records what it was told and the recipient of every mail.
type smtpSink struct {
	addr string
	mu   sync.Mutex
	log  strings.Builder
	to   []string
}

func newSMTPSink(t *testing.T) *smtpSink {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	s := &smtpSink{addr: ln.Addr().String()}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go s.session(conn)
		}
	}()
	return s
}

func (s *smtpSink) session(conn net.Conn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	reply := func(line string) { _, _ = conn.Write([]byte(line + "\r\n")) }
	reply("220 sink ESMTP")
	var rcpt string
	inData := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		s.mu.Lock()
		s.log.WriteString(line)
		s.mu.Unlock()
		if inData {
			if line == ".\r\n" {
				inData = false
				s.mu.Lock()
				s.to = append(s.to, rcpt)
				s.mu.Unlock()
				reply("250 queued")
			}
			continue
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"):
			reply("250-sink")
			reply("250 8BITMIME")
		case strings.HasPrefix(cmd, "RCPT TO:"):
			rcpt = strings.Trim(strings.TrimSpace(line)[len("RCPT TO:"):], "<>")
			reply("250 ok")
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
}

// waitFor waits until n mails were accepted and returns the sessions' text.
func (s *smtpSink) waitFor(t *testing.T, n int) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); len(s.recipients()) < n; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the SMTP server received %d mails, want %d", len(s.recipients()), n)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

func (s *smtpSink) recipients() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.to...)
}

// freeAddr is a local address where nothing listens.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// TestRelayRoleIsNarrow: the relay's role reads every desk's mail and marks
// it sent, and can do nothing else: no family table, no mail body to change,
// no mail to add or delete. The application role gains nothing from being a
// member of it: without switching it reads no desk's mail.
func TestRelayRoleIsNarrow(t *testing.T) {
	d := dbtest.Open(t, db.Postgres)
	ctx := context.Background()
	o := mail.NewOutbox(d, clock.System{})
	leuven, geel := deskContexts(t, d)
	for i, desk := range []context.Context{leuven, geel} {
		if err := o.SendDesk(desk, mail.Message{To: fmt.Sprintf("ouder%d@gezin.example", i), Subject: "Bevestiging", Text: "Ontvangen."}); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := d.NewRaw("SELECT count(*) FROM desk_mail").Scan(ctx, &n); err != nil || n != 0 {
		t.Errorf("the application role without a desk reads %d desk mails (%v), want 0", n, err)
	}
	asRelay := func(query string) error {
		return d.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if _, err := tx.ExecContext(ctx, "SET LOCAL ROLE "+mail.RelayRole); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, query)
			return err
		})
	}
	err := d.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.ExecContext(ctx, "SET LOCAL ROLE "+mail.RelayRole); err != nil {
			return err
		}
		return tx.NewRaw("SELECT count(*) FROM desk_mail").Scan(ctx, &n)
	})
	if err != nil || n != 2 {
		t.Errorf("the relay reads %d desk mails (%v), want both desks'", n, err)
	}
	if err := asRelay("UPDATE desk_mail SET attempts = attempts + 1, next_attempt_at = now()"); err != nil {
		t.Errorf("the relay cannot mark its claim: %v", err)
	}
	for _, q := range []string{
		"SELECT count(*) FROM families",
		"SELECT count(*) FROM requests",
		"SELECT count(*) FROM users",
		"UPDATE desk_mail SET body_text = 'anders'",
		"UPDATE desk_mail SET to_address = 'indringer@gezin.example'",
		"DELETE FROM desk_mail",
		"INSERT INTO mail_outbox (id, created_at, to_address, subject, body_text) VALUES (gen_random_uuid(), now(), 'a@gezin.example', 'x', 'x')",
	} {
		var pgErr *pgconn.PgError
		if err := asRelay(q); !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			t.Errorf("as the relay, %s: err = %v, want permission denied (42501)", q, err)
		}
	}
}
