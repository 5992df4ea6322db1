package authz

import (
	"context"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// CrossTenantLogger records access to a desk from outside it: through a
// sharing grant (agreement set) or a region (agreement empty). fromDomain is
// where the user holds the role that allowed it, toDomain the desk reached.
// The composition root connects it to the event log.
type CrossTenantLogger interface {
	LogCrossTenant(ctx context.Context, user, fromDomain, toDomain, action, agreement string) error
}

const localDecision = "authz.decision"

// Require is the middleware of a route that needs object:action. userOf names
// the signed-in user (false: nobody signed in, 401); domainOf names the
// domain the route works in (its error is returned as is, e.g. 404 for an
// unknown desk). A refusal is 403 on platform routes and 404 everywhere else,
// so a desk's routes do not reveal what exists. Access that crosses into a
// desk is recorded with the CrossTenantLogger first, and refused when there
// is none or it fails. The handler finds the Decision with DecisionOf.
//
// An object:action outside the vocabulary panics: it is a programming error,
// caught when the route is registered.
func (a *Authorizer) Require(object, action string, domainOf func(*fiber.Ctx) (string, error), userOf func(*fiber.Ctx) (string, bool)) fiber.Handler {
	perm, ok := PermissionOf(object, action)
	if !ok {
		panic(fmt.Sprintf("authz: Require(%q, %q): not in the vocabulary", object, action))
	}
	return func(c *fiber.Ctx) error {
		user, ok := userOf(c)
		if !ok || user == "" {
			return fiber.ErrUnauthorized
		}
		domain, err := domainOf(c)
		if err != nil {
			return err
		}
		// Fiber's strings may point into a buffer reused by the next request;
		// the decision and the cross-tenant log may outlive this one.
		user, domain = strings.Clone(user), strings.Clone(domain)
		d, err := a.Decide(user, domain, perm)
		if err != nil {
			return err
		}
		if !d.Allowed {
			return refusal(domain)
		}
		if d.CrossTenant() {
			l := a.cross.Load()
			if l == nil {
				a.log.ErrorContext(c.UserContext(), "authz: cross-tenant access refused: no CrossTenantLogger configured",
					"domain", domain, "via", d.Via, "permission", perm)
				return refusal(domain)
			}
			if err := (*l).LogCrossTenant(c.UserContext(), user, d.Via, domain, string(perm), d.Agreement); err != nil {
				return fmt.Errorf("authz: log cross-tenant access to %s: %w", domain, err)
			}
		}
		c.Locals(localDecision, d)
		return c.Next()
	}
}

func refusal(domain string) error {
	if domain == Platform {
		return fiber.ErrForbidden
	}
	return fiber.ErrNotFound
}

// DecisionOf returns the Decision that Require stored for this request.
func DecisionOf(c *fiber.Ctx) (Decision, bool) {
	d, ok := c.Locals(localDecision).(Decision)
	return d, ok
}
