package catalog

import (
	"github.com/gofiber/fiber/v2"

	"github.com/loket-kinderopvang/loket/internal/platform/web"
	"github.com/loket-kinderopvang/loket/internal/tenant"
)

// SearchHandler serves catalogue search: the public pages and the JSON API.
type SearchHandler struct {
	store  *Store
	desks  *tenant.Handler
	dir    *tenant.Directory
	render *web.Renderer
}

// NewSearchHandler returns the search handlers.
func NewSearchHandler(store *Store, dir *tenant.Directory, desks *tenant.Handler, render *web.Renderer) *SearchHandler {
	return &SearchHandler{store: store, dir: dir, desks: desks, render: render}
}

// RegisterAPI adds /api/v1/locations routes.
func (h *SearchHandler) RegisterAPI(api fiber.Router) {}

// RegisterDesk adds /{tenant}/opvang routes.
func (h *SearchHandler) RegisterDesk(desk fiber.Router) {}
