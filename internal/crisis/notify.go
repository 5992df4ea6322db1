package crisis

import (
	"context"

	"github.com/loket-kinderopvang/loket/internal/tenant"
)

// Notifier tells people about a closure: the families of a desk (in their
// language, a printable letter for those without e-mail), the providers
// nearby (a request for emergency places) and the desk.
type Notifier interface {
	Declared(ctx context.Context, desk tenant.Tenant, c *Closure, fams []Family)
	Published(ctx context.Context, c *Closure, proposals int)
}
