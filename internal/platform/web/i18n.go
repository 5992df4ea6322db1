package web

import (
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
	"gopkg.in/yaml.v3"
)

// Languages Loket speaks, Dutch first.
var Languages = []Language{{Code: "nl", Label: "Nederlands"}, {Code: "fr", Label: "Français"}, {Code: "en", Label: "English"}}

// Language is a UI language and its name in itself. Href, set per request,
// switches to it while keeping the page's other query parameters (filters).
type Language struct{ Code, Label, Href string }

var matcher = language.NewMatcher([]language.Tag{language.Dutch, language.French, language.English})

// Catalog translates message ids.
type Catalog struct{ bundle *i18n.Bundle }

// LoadCatalog reads every locales/*.yaml file of fsys.
func LoadCatalog(fsys fs.FS) (*Catalog, error) {
	b := i18n.NewBundle(language.Dutch)
	b.RegisterUnmarshalFunc("yaml", yaml.Unmarshal)
	files, err := fs.Glob(fsys, "locales/*.yaml")
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, fmt.Errorf("web: read %s: %w", f, err)
		}
		if _, err := b.ParseMessageFileBytes(data, path.Base(f)); err != nil {
			return nil, fmt.Errorf("web: parse %s: %w", f, err)
		}
	}
	return &Catalog{bundle: b}, nil
}

// Messages merges every catalogue file of one language: locales/<lang>.yaml
// and the per-domain files locales/<domain>.<lang>.yaml (so that each domain
// package keeps its own messages). Tests use it to check completeness.
func Messages(fsys fs.FS, lang string) (map[string]string, error) {
	files, err := fs.Glob(fsys, "locales/*.yaml")
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, f := range files {
		base := strings.TrimSuffix(path.Base(f), ".yaml")
		if base != lang && !strings.HasSuffix(base, "."+lang) {
			continue
		}
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, fmt.Errorf("web: read %s: %w", f, err)
		}
		m := map[string]string{}
		if err := yaml.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("web: parse %s: %w", f, err)
		}
		for k, v := range m {
			if _, dup := out[k]; dup {
				return nil, fmt.Errorf("web: message %q defined twice for %s (again in %s)", k, lang, f)
			}
			out[k] = v
		}
	}
	return out, nil
}

// Translator translates into one language, falling back to Dutch.
type Translator struct {
	lang string
	loc  *i18n.Localizer
}

// For returns a translator for lang.
func (c *Catalog) For(lang string) Translator {
	return Translator{lang: lang, loc: i18n.NewLocalizer(c.bundle, lang, "nl")}
}

// Lang is the translator's language code.
func (t Translator) Lang() string { return t.lang }

// T translates id; args are key/value pairs for the template data. A missing
// id shows the id itself, which a test of the catalogues catches.
func (t Translator) T(id string, args ...any) string {
	var data map[string]any
	if len(args) > 1 {
		data = make(map[string]any, len(args)/2)
		for i := 0; i+1 < len(args); i += 2 {
			data[fmt.Sprint(args[i])] = args[i+1]
		}
	}
	s, err := t.loc.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data})
	if err != nil {
		return id
	}
	return s
}

const langCookie = "loket_lang"

// PickLanguage chooses the page language: ?lang= (remembered in a cookie),
// then the cookie, then the browser's Accept-Language, then fallback.
func PickLanguage(c *fiber.Ctx, allowed []string, fallback string) string {
	ok := func(l string) bool {
		for _, a := range allowed {
			if a == l {
				return true
			}
		}
		return false
	}
	if q := strings.ToLower(c.Query("lang")); q != "" && ok(q) {
		c.Cookie(&fiber.Cookie{Name: langCookie, Value: q, Path: "/", MaxAge: 365 * 24 * 3600, SameSite: "Lax", HTTPOnly: true})
		return q
	}
	if ck := c.Cookies(langCookie); ck != "" && ok(ck) {
		return ck
	}
	if tags, _, err := language.ParseAcceptLanguage(c.Get(fiber.HeaderAcceptLanguage)); err == nil && len(tags) > 0 {
		_, idx, conf := matcher.Match(tags...)
		if conf != language.No {
			if l := []string{"nl", "fr", "en"}[idx]; ok(l) {
				return l
			}
		}
	}
	return fallback
}
