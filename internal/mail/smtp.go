package mail

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// SMTP delivers mails through an SMTP relay with go-mail. It opens one
// connection per mail: Loket sends few mails, and a fresh client per send
// needs no locking.
type SMTP struct {
	host    string
	from    string
	opts    []gomail.Option
	timeout time.Duration
}

// NewSMTP reads the relay from rawURL and the sender address from from
// ("Loket <noreply@loket.example>"). URL forms:
//
//	smtp://user:password@relay.example:587   STARTTLS required (default port 587)
//	smtps://user:password@relay.example:465  TLS from the first byte (default port 465)
//	smtp://relay.example:25?tls=none         no TLS: only for a relay on the same host or network
//	smtp://relay.example?tls=opportunistic   STARTTLS when the relay offers it
//
// Errors never repeat the URL: it may hold a password.
func NewSMTP(rawURL, from string) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.New("mail: the SMTP URL is not a valid URL")
	}
	if u.Hostname() == "" {
		return nil, errors.New("mail: the SMTP URL has no host")
	}
	if _, err := mail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("mail: sender address %q: %w", from, err)
	}
	s := &SMTP{host: u.Hostname(), from: from, timeout: 30 * time.Second}
	port := 0
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
			return nil, fmt.Errorf("mail: SMTP port %q is not a port number", p)
		}
	}
	switch u.Scheme {
	case "smtps":
		if port == 0 {
			port = 465
		}
		s.opts = append(s.opts, gomail.WithSSL())
	case "smtp":
		policy := gomail.TLSMandatory
		switch tlsMode := u.Query().Get("tls"); tlsMode {
		case "", "starttls":
		case "opportunistic":
			policy = gomail.TLSOpportunistic
		case "none":
			policy = gomail.NoTLS
		default:
			return nil, fmt.Errorf("mail: SMTP tls=%q: use starttls, opportunistic or none", tlsMode)
		}
		if port == 0 {
			port = 587
			if policy == gomail.NoTLS {
				port = 25
			}
		}
		s.opts = append(s.opts, gomail.WithTLSPolicy(policy))
	default:
		return nil, fmt.Errorf("mail: SMTP URL scheme %q: use smtp or smtps", u.Scheme)
	}
	s.opts = append(s.opts, gomail.WithPort(port), gomail.WithTimeout(s.timeout))
	if user := u.User.Username(); user != "" {
		pass, _ := u.User.Password()
		s.opts = append(s.opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(user), gomail.WithPassword(pass))
	}
	return s, nil
}

// Send implements Sender.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	if err := m.Validate(); err != nil {
		return err
	}
	msg := gomail.NewMsg()
	if err := msg.From(s.from); err != nil {
		return fmt.Errorf("mail: sender: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return fmt.Errorf("mail: recipient: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	client, err := gomail.NewClient(s.host, s.opts...)
	if err != nil {
		return fmt.Errorf("mail: SMTP client: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("mail: send via %s: %w", s.host, err)
	}
	return nil
}
