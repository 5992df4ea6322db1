package web

import (
	"bytes"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// ErrNULInput answers a request that carries a NUL character in its path,
// query, headers or form or JSON fields: no field needs one, and PostgreSQL
// cannot store one in text (the query would fail with a 500).
var ErrNULInput = &fiber.Error{Code: fiber.StatusBadRequest,
	Message: "The request contains a NUL character (%00 or \\u0000), which no field may hold."}

// rejectNUL refuses NUL characters once, for every route, before any handler
// reads the input. Uploaded files are not looked into (a spreadsheet holds
// NUL bytes); their cells are checked where they are read.
func rejectNUL(c *fiber.Ctx) error {
	if hasNUL(c) {
		return ErrNULInput
	}
	return c.Next()
}

func hasNUL(c *fiber.Ctx) bool {
	req := c.Request()
	if bytes.IndexByte(req.URI().Path(), 0) >= 0 || bytes.IndexByte(req.URI().PathOriginal(), 0) >= 0 {
		return true
	}
	found := false
	visit := func(k, v []byte) {
		found = found || bytes.IndexByte(k, 0) >= 0 || bytes.IndexByte(v, 0) >= 0
	}
	req.URI().QueryArgs().VisitAll(visit)
	req.Header.VisitAll(visit)
	if found {
		return true
	}
	ct := strings.ToLower(string(req.Header.ContentType()))
	switch {
	case strings.HasPrefix(ct, fiber.MIMEApplicationForm):
		req.PostArgs().VisitAll(visit)
	case strings.HasPrefix(ct, fiber.MIMEMultipartForm):
		if form, err := c.MultipartForm(); err == nil {
			for k, vs := range form.Value {
				visit([]byte(k), nil)
				for _, v := range vs {
					visit(nil, []byte(v))
				}
			}
		}
	case strings.Contains(ct, "json"):
		found = JSONHasNUL(req.Body())
	}
	return found
}

// JSONHasNUL reports whether a JSON document holds a NUL character: a raw
// NUL byte, or the escape \u0000 (not an escaped backslash followed by
// "u0000", which is plain text).
func JSONHasNUL(b []byte) bool {
	if bytes.IndexByte(b, 0) >= 0 {
		return true
	}
	for i := 0; ; {
		j := bytes.Index(b[i:], []byte(`u0000`))
		if j < 0 {
			return false
		}
		at := i + j
		// Count the backslashes in front: an odd number means the last one
		// starts the escape.
		n := 0
		for k := at - 1; k >= 0 && b[k] == '\\'; k-- {
			n++
		}
		if n%2 == 1 {
			return true
		}
		i = at + 1
	}
}
