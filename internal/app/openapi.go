package app

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"

	"github.com/gofiber/fiber/v2"
)

// openAPI describes every /api/v1 route; a test compares its paths with the
// router's, so it cannot fall behind. The base document is openapi.json; each
// domain adds its paths and schemas in openapi/<domain>.json, merged here once.
var openAPI = mustMergeOpenAPI()

//go:embed openapi.json openapi/*.json
var openAPIFiles embed.FS

func mustMergeOpenAPI() []byte {
	b, err := mergeOpenAPI(openAPIFiles)
	if err != nil {
		panic(err)
	}
	return b
}

func mergeOpenAPI(fsys fs.FS) ([]byte, error) {
	base, err := readJSON(fsys, "openapi.json")
	if err != nil {
		return nil, err
	}
	parts, err := fs.Glob(fsys, "openapi/*.json")
	if err != nil {
		return nil, err
	}
	for _, p := range parts {
		part, err := readJSON(fsys, p)
		if err != nil {
			return nil, err
		}
		// x-webhooks: the requests Loket sends (OpenAPI 3.0 has no webhooks).
		for _, section := range []string{"paths", "x-webhooks"} {
			if err := mergeSection(base, part, p, section); err != nil {
				return nil, err
			}
		}
		baseComp, _ := base["components"].(map[string]any)
		partComp, _ := part["components"].(map[string]any)
		if baseComp == nil || partComp == nil {
			continue
		}
		for _, section := range []string{"schemas", "responses", "parameters", "securitySchemes"} {
			if err := mergeSection(baseComp, partComp, p, section); err != nil {
				return nil, err
			}
		}
	}
	return json.Marshal(base)
}

func readJSON(fsys fs.FS, name string) (map[string]any, error) {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("app: %s: %w", name, err)
	}
	return m, nil
}

// mergeSection copies part[key]'s entries into base[key]; a name defined twice
// is an error, so two domains cannot silently overwrite each other.
func mergeSection(base, part map[string]any, file, key string) error {
	from, _ := part[key].(map[string]any)
	if len(from) == 0 {
		return nil
	}
	to, _ := base[key].(map[string]any)
	if to == nil {
		to = map[string]any{}
		base[key] = to
	}
	for name, v := range from {
		if _, dup := to[name]; dup {
			return fmt.Errorf("app: %s: %s %q is already defined", file, key, name)
		}
		to[name] = v
	}
	return nil
}

// OpenAPIDocument returns the merged document served at /api/v1/openapi.json;
// indented for people and linters when indent is true.
func OpenAPIDocument(indent bool) []byte {
	if !indent {
		return bytes.Clone(openAPI)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, openAPI, "", "  "); err != nil {
		panic(err) // openAPI was produced by json.Marshal
	}
	out.WriteByte('\n')
	return out.Bytes()
}

func serveOpenAPI(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Send(openAPI)
}
