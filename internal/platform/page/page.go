// Package page is the one pagination of every list of /api/v1: query
// parameters limit and cursor, an opaque cursor naming the last item's sort
// key, the envelope {"items": [...], "next_cursor": "..."} and a Link header
// with rel="next". It knows no domain: a list gives its items in key order
// and a key per item.
package page

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/loket-kinderopvang/loket/internal/platform/web"
)

// Limits of one page.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// Key is an item's sort key: its parts compare one after the other as text,
// so times go in as TimeKey (fixed width) and the last part is unique.
type Key []string

// Compare orders keys part by part.
func (k Key) Compare(o Key) int {
	for i := 0; i < len(k) && i < len(o); i++ {
		if c := cmp.Compare(k[i], o[i]); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(k), len(o))
}

// String is the key as text (its parts joined), for logs and tests.
func (k Key) String() string { return strings.Join(k, "|") }

// TimeKey writes t so that text order is time order.
func TimeKey(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

// Params are a list request's limit and the key after which it goes on
// (nil: from the start).
type Params struct {
	Limit int
	After Key
}

// Encode makes the opaque cursor of a key (base64url of JSON, so a client
// cannot rely on its form).
func Encode(k Key) string {
	b, _ := json.Marshal(k) // a list of strings always encodes
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode reads a cursor Encode made.
func Decode(s string) (Key, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, false
	}
	var k Key
	if err := json.Unmarshal(b, &k); err != nil || len(k) == 0 {
		return nil, false
	}
	return k, true
}

// Parse reads limit and cursor from the query. A bad value is a field error
// (query parameter names as field paths); the caller adds its own and sends
// them with Problem.
func Parse(c *fiber.Ctx) (Params, []web.FieldError) {
	p := Params{Limit: DefaultLimit}
	var es []web.FieldError
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxLimit {
			es = append(es, web.FieldError{Field: "limit", Message: "must be a whole number from 1 to " + strconv.Itoa(MaxLimit)})
		} else {
			p.Limit = n
		}
	}
	if s := c.Query("cursor"); s != "" {
		k, ok := Decode(s)
		if !ok {
			es = append(es, web.FieldError{Field: "cursor", Message: "must be a next_cursor this list returned"})
		}
		p.After = k
	}
	return p, es
}

// Problem sends field errors of a list's query as a 400 problem.
func Problem(c *fiber.Ctx, es []web.FieldError) error {
	return web.SendProblem(c, web.Problem{Status: fiber.StatusBadRequest, Title: "Invalid query",
		Detail: "A query parameter is invalid; see errors.", Errors: es})
}

// Envelope is the body of every list.
type Envelope[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// Cut returns the page of items (sorted by key) after p.After, and the key
// of the page's last item when more follow.
func Cut[T any](items []T, key func(T) Key, p Params) ([]T, Key) {
	start := 0
	if p.After != nil {
		start, _ = slices.BinarySearchFunc(items, p.After, func(it T, k Key) int {
			if key(it).Compare(k) <= 0 {
				return -1
			}
			return 1
		})
	}
	items = items[start:]
	if len(items) <= p.Limit {
		return items, nil
	}
	items = items[:p.Limit]
	return items, key(items[len(items)-1])
}

// Sort orders items by key, for Cut.
func Sort[T any](items []T, key func(T) Key) {
	slices.SortStableFunc(items, func(a, b T) int { return key(a).Compare(key(b)) })
}

// Send writes a page: the envelope, and with a next page its cursor and a
// Link header to it (the same query with the new cursor).
func Send[T any](c *fiber.Ctx, items []T, next Key) error {
	if items == nil {
		items = []T{}
	}
	env := Envelope[T]{Items: items}
	if next != nil {
		cur := Encode(next)
		env.NextCursor = &cur
		q := url.Values{}
		for k, v := range c.Queries() {
			q.Set(k, v)
		}
		q.Set("cursor", cur)
		c.Set(fiber.HeaderLink, "<"+c.Path()+"?"+q.Encode()+`>; rel="next"`)
	}
	return c.JSON(env)
}

// List parses the query, cuts items (sorted here by key) and sends the
// page: the whole of a list handler whose items are all in memory.
func List[T any](c *fiber.Ctx, items []T, key func(T) Key) error {
	p, es := Parse(c)
	if es != nil {
		return Problem(c, es)
	}
	Sort(items, key)
	out, next := Cut(items, key, p)
	return Send(c, out, next)
}
