package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/url"
	"path"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// Renderer renders a page template inside the layout.
type Renderer struct {
	pages   map[string]*template.Template
	catalog *Catalog
}

// NewRenderer parses templates/layout.html with each other templates/*.html.
func NewRenderer(fsys fs.FS, catalog *Catalog) (*Renderer, error) {
	files, err := fs.Glob(fsys, "templates/*.html")
	if err != nil {
		return nil, err
	}
	r := &Renderer{pages: map[string]*template.Template{}, catalog: catalog}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" || name == "partials" {
			continue
		}
		t, err := template.New(name).Funcs(funcs).ParseFS(fsys, "templates/layout.html", "templates/partials.html", f)
		if err != nil {
			return nil, fmt.Errorf("web: parse template %s: %w", f, err)
		}
		r.pages[name] = t
	}
	return r, nil
}

// funcs are the helpers templates may call.
var funcs = template.FuncMap{
	// dict passes several values to a shared template: (dict "Title" "x" "Errors" .Errors).
	"dict": func(kv ...any) (map[string]any, error) {
		if len(kv)%2 != 0 {
			return nil, fmt.Errorf("web: dict needs key/value pairs")
		}
		m := make(map[string]any, len(kv)/2)
		for i := 0; i < len(kv); i += 2 {
			k, ok := kv[i].(string)
			if !ok {
				return nil, fmt.Errorf("web: dict key %v is not a string", kv[i])
			}
			m[k] = kv[i+1]
		}
		return m, nil
	},
}

// DeskView is what the layout shows of the desk a page belongs to.
type DeskView struct {
	Name, Path string
}

// Page is what every template receives.
type Page struct {
	Translator
	Title     string
	Desk      *DeskView
	Brand     template.CSS
	Languages []Language
	// Nav is the staff menu in the header; Render fills it from the
	// request (SetNav) when the handler leaves it empty.
	Nav *Nav
	// FormID, when set, names the page's form: the language switch then
	// posts that form (buttons with form= and formaction=), so that a
	// visitor who changes language mid-form keeps everything she typed.
	FormID string
	Data   any
}

// NavItem is one link of the staff menu: Key names its text in the message
// catalogues; Current marks the section the page belongs to.
type NavItem struct {
	Href, Key string
	Current   bool
}

// Nav is the staff menu shown on every page of a signed-in account: its
// links (computed from the account's permissions by whoever calls SetNav),
// and the sign-out form, which needs the CSRF token.
type Nav struct {
	Items   []NavItem
	SignOut string // the sign-out form's action
	CSRF    string
}

const localNav = "loket.nav"

// SetNav registers how to build the staff menu of this request; Render calls
// it once, while the handler still runs, so fn may read the request.
func SetNav(c *fiber.Ctx, fn func() *Nav) { c.Locals(localNav, fn) }

// Render writes page name with status.
func (r *Renderer) Render(c *fiber.Ctx, status int, name string, p Page) error {
	t, ok := r.pages[name]
	if !ok {
		return fmt.Errorf("web: no template %q", name)
	}
	if p.Translator.loc == nil {
		p.Translator = r.catalog.For(LanguageOf(c))
	}
	if p.Languages == nil {
		p.Languages = Languages
	}
	p.Languages = withSwitchLinks(c, p.Languages)
	if fn, ok := c.Locals(localNav).(func() *Nav); ok && p.Nav == nil && fn != nil {
		p.Nav = fn()
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	c.Status(status)
	c.Type("html", "utf-8")
	return c.Send(buf.Bytes())
}

// Translator returns the translator for the request's language.
func (r *Renderer) Translator(c *fiber.Ctx) Translator { return r.catalog.For(LanguageOf(c)) }

const localLang = "loket.lang"

// SetLanguage records the page language for this request.
func SetLanguage(c *fiber.Ctx, lang string) { c.Locals(localLang, lang) }

// LanguageOf is the page language chosen for this request (Dutch by default).
func LanguageOf(c *fiber.Ctx) string {
	if l, ok := c.Locals(localLang).(string); ok && l != "" {
		return l
	}
	return PickLanguage(c, []string{"nl", "fr", "en"}, "nl")
}

// withSwitchLinks sets each language's link to the current query with lang replaced.
func withSwitchLinks(c *fiber.Ctx, langs []Language) []Language {
	out := make([]Language, len(langs))
	for i, l := range langs {
		q := url.Values{}
		c.Request().URI().QueryArgs().VisitAll(func(k, v []byte) { q.Add(string(k), string(v)) })
		q.Set("lang", l.Code)
		l.Href = "?" + q.Encode()
		out[i] = l
	}
	return out
}
