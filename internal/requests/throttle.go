package requests

import (
	"context"
	"errors"
	"net"
	"strings"
	"time"
)

// Anonymous registrations (the parent form, the API without an API key) are
// limited per client address, so nobody fills a desk's worklist with made-up
// families. Desk staff, partners and API keys are not limited: they are
// known. The count lives in the shared cache (Options.Throttle).
const (
	// AnonymousRegistrations is how many anonymous registrations one address
	// may make per AnonymousWindow: a family registers one or two children;
	// a shared address (a library, a family centre) a few more.
	AnonymousRegistrations = 10
	AnonymousWindow        = time.Hour
)

// ErrTooManyRegistrations means the address has used up its anonymous
// registrations for now.
var ErrTooManyRegistrations = errors.New("requests: too many registrations from this address; try again later")

// AllowAnonymous counts one anonymous registration from the client address
// addr. It returns ErrTooManyRegistrations, with how long to wait, once the
// address has had its share. When the cache fails the registration is let
// through (the cache is never the source of truth) and a warning logged.
func (s *Service) AllowAnonymous(ctx context.Context, addr string) (time.Duration, error) {
	if s.opts.Throttle == nil {
		return 0, nil
	}
	ok, retry, err := s.opts.Throttle.Take(ctx, clientNet(addr))
	if err != nil {
		s.opts.Log.WarnContext(ctx, "registration limit not checked", "err", err)
		return 0, nil
	}
	if !ok {
		return retry, ErrTooManyRegistrations
	}
	return 0, nil
}

// clientNet is the address a limit applies to: the IPv4 address, or the /64
// of an IPv6 address (one household usually holds a whole /64).
func clientNet(addr string) string {
	ip := net.ParseIP(addr)
	if ip == nil {
		return "unknown"
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String()
}

// AllowNewLink counts one "send me a new link" for the client address addr
// and the e-mail address email (hashed: cache keys must not show who asked).
// It shares the anonymous registrations' window and limit.
func (s *Service) AllowNewLink(ctx context.Context, addr, email string) (time.Duration, error) {
	if s.opts.Throttle == nil {
		return 0, nil
	}
	for _, key := range []string{"link-addr:" + clientNet(addr), "link-mail:" + hashHex(s.printKey, "link-mail", strings.ToLower(email))[:32]} {
		ok, retry, err := s.opts.Throttle.Take(ctx, key)
		if err != nil {
			s.opts.Log.WarnContext(ctx, "new link limit not checked", "err", err)
			return 0, nil
		}
		if !ok {
			return retry, ErrTooManyRegistrations
		}
	}
	return 0, nil
}
