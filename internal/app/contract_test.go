package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/oapi-codegen/runtime/types"

	"github.com/loket-kinderopvang/loket/internal/app/apiclient"
	"github.com/loket-kinderopvang/loket/internal/app/apiclient/apigen"
	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/idempotency"
	"github.com/loket-kinderopvang/loket/internal/platform/testenv"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

// The contract tests: the OpenAPI document served at /api/v1/openapi.json is
// what the server does. Every call goes through the client generated from
// the document (package apiclient), and every answer is validated against
// the document's schema for its operation and status.

// contractOp is one operation of the document, with a pattern of its path.
type contractOp struct {
	id, method, path string
	re               *regexp.Regexp
	item             *openapi3.PathItem
	op               *openapi3.Operation
}

// contractDoer is the generated client's transport: it hands each request
// to the app in process and checks the response against the document.
type contractDoer struct {
	t   *testing.T
	app *fiber.App
	doc *openapi3.T
	ops []contractOp

	mu         sync.Mutex
	last       string // operationId of the last call
	lastBody   []byte
	lastHeader http.Header
	seen       map[string]map[int]bool // operationId → statuses answered
}

func loadContract(t *testing.T) (*openapi3.T, []contractOp) {
	t.Helper()
	ctx := context.Background()
	doc, err := openapi3.NewLoader().LoadFromData(OpenAPIDocument(false))
	if err != nil {
		t.Fatalf("load the OpenAPI document: %v", err)
	}
	// Also checks every example against its schema.
	if err := doc.Validate(ctx); err != nil {
		t.Fatalf("the OpenAPI document is not valid: %v", err)
	}
	param := regexp.MustCompile(`\\\{[^}]+\\\}`)
	var ops []contractOp
	for path, item := range doc.Paths.Map() {
		re := regexp.MustCompile("^" + param.ReplaceAllString(regexp.QuoteMeta(path), "[^/]+") + "$")
		for method, op := range item.Operations() {
			ops = append(ops, contractOp{id: op.OperationID, method: method, path: path, re: re, item: item, op: op})
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].id < ops[j].id })
	return doc, ops
}

// newContractDoer is a transport for the generated client that serves
// from app in process and validates every answer against the document.
func newContractDoer(t *testing.T, app *fiber.App) *contractDoer {
	t.Helper()
	doc, ops := loadContract(t)
	return &contractDoer{t: t, app: app, doc: doc, ops: ops, seen: map[string]map[int]bool{}}
}

// client is a generated client through d; with auth, every call carries it
// as a bearer token (an API key).
func (d *contractDoer) client(auth string) *apiclient.ClientWithResponses {
	d.t.Helper()
	opts := []apiclient.ClientOption{apiclient.WithHTTPClient(d)}
	if auth != "" {
		opts = append(opts, apiclient.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
			req.Header.Set("Authorization", "Bearer "+auth)
			return nil
		}))
	}
	c, err := apiclient.NewClientWithResponses("http://loket.test", opts...)
	if err != nil {
		d.t.Fatal(err)
	}
	return c
}

// sessionClient is a generated client through d whose calls carry the
// session cookies of b, a signed-in browser (the "session" scheme).
func (d *contractDoer) sessionClient(b *Browser) *apiclient.ClientWithResponses {
	d.t.Helper()
	c, err := apiclient.NewClientWithResponses("http://loket.test", apiclient.WithHTTPClient(d),
		apiclient.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
			for _, c := range b.cookies {
				req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
			}
			return nil
		}))
	if err != nil {
		d.t.Fatal(err)
	}
	return c
}

func (d *contractDoer) route(method, path string) *contractOp {
	for i, o := range d.ops {
		if o.method == method && o.re.MatchString(path) {
			return &d.ops[i]
		}
	}
	return nil
}

func (d *contractDoer) Do(req *http.Request) (*http.Response, error) {
	res, err := d.app.Test(req, -1)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	op := d.route(req.Method, req.URL.Path)
	if op == nil {
		d.t.Errorf("%s %s: no operation of the document", req.Method, req.URL.Path)
		return res, nil
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req,
			Route: &routers.Route{Spec: d.doc, Path: op.path, PathItem: op.item, Method: op.method, Operation: op.op}},
		Status: res.StatusCode, Header: res.Header,
		// A status the document does not list is an error too, and so is
		// a malformed uuid, date, e-mail address or URI.
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true,
			SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.EnableFormatValidation(),
				openapi3.WithStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC9562)),
				openapi3.WithStringFormatValidator("email", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForEmail)),
				openapi3.WithStringFormatValidator("uri", uriFormat{})}},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(req.Context(), in); err != nil {
		d.t.Errorf("%s (%s %s) answered %d, which does not match the document: %v\nbody: %.600s", op.id, req.Method, req.URL.RequestURI(), res.StatusCode, err, body)
	} else if extra := undocumentedFields(op.op, res, body); len(extra) > 0 {
		d.t.Errorf("%s (%s %s) answered %d with fields the document does not describe: %v", op.id, req.Method, req.URL.RequestURI(), res.StatusCode, extra)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.last, d.lastBody, d.lastHeader = op.id, body, res.Header
	if d.seen[op.id] == nil {
		d.seen[op.id] = map[int]bool{}
	}
	d.seen[op.id][res.StatusCode] = true
	return res, nil
}

// uriFormat is the "uri" format: absolute, with a scheme.
type uriFormat struct{}

func (uriFormat) Validate(v string) error {
	if u, err := url.Parse(v); err != nil || u.Scheme == "" {
		return fmt.Errorf("not an absolute URI: %q", v)
	}
	return nil
}

// undocumentedFields lists the fields of a JSON answer that its schema does
// not describe. kin-openapi lets unknown properties pass; this catches a
// field the code added without the document.
func undocumentedFields(op *openapi3.Operation, res *http.Response, body []byte) []string {
	r := op.Responses.Status(res.StatusCode)
	mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if r == nil || r.Value == nil || len(body) == 0 || !strings.HasSuffix(mt, "json") {
		return nil
	}
	media := r.Value.Content.Get(mt)
	var v any
	if media == nil || media.Schema == nil || json.Unmarshal(body, &v) != nil {
		return nil
	}
	return undocumented(media.Schema.Value, v, "")
}

func undocumented(s *openapi3.Schema, v any, at string) []string {
	if s == nil {
		return nil
	}
	var out []string
	switch v := v.(type) {
	case map[string]any:
		props := map[string]*openapi3.Schema{}
		var extra *openapi3.Schema // the schema of additionalProperties
		open := false
		var collect func(s *openapi3.Schema)
		collect = func(s *openapi3.Schema) {
			for n, p := range s.Properties {
				props[n] = p.Value
			}
			if ap := s.AdditionalProperties; ap.Schema != nil {
				extra = ap.Schema.Value
			} else if ap.Has != nil && *ap.Has {
				open = true
			}
			for _, sub := range s.AllOf {
				collect(sub.Value)
			}
		}
		collect(s)
		// An object schema without properties is free-form.
		open = open || (len(props) == 0 && extra == nil)
		for k, fv := range v {
			switch p, ok := props[k]; {
			case ok:
				out = append(out, undocumented(p, fv, at+"."+k)...)
			case extra != nil:
				out = append(out, undocumented(extra, fv, at+"."+k)...)
			case !open:
				out = append(out, at+"."+k)
			}
		}
	case []any:
		if s.Items != nil {
			for i, it := range v {
				out = append(out, undocumented(s.Items.Value, it, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	}
	sort.Strings(out)
	return out
}

// contractEnv is what the cases share: clients and the ids they need or
// leave behind for later cases.
type contractEnv struct {
	t *testing.T
	w *demoWorld
	// pub sends no credentials, key the demo provider's API key, badKey a
	// key that does not exist, staff the session of the provider's admin.
	pub, key, badKey, staff *apiclient.ClientWithResponses

	provider, otherProvider          uuid.UUID
	location, location2, otherLoc    uuid.UUID
	unknown                          uuid.UUID
	hook                             string // a webhook receiver
	etag                             string
	request, closure, endpoint, sent uuid.UUID
	endpoint2                        uuid.UUID // registered with an Idempotency-Key
	// offered is a request the provider offers a place for (its rank 1);
	// settled: it was accepted and another request withdrawn.
	offered *requests.Request
	settled bool
	doer    *contractDoer
}

// contractResult is every generated response type.
type contractResult interface{ StatusCode() int }

// contractCase is one call: the operation it must reach and the status it
// must get. Cases run in order, so a case may use what an earlier one left
// in the env (a created request, endpoint, closure).
type contractCase struct {
	op   string
	want int
	call func(ctx context.Context, e *contractEnv) (contractResult, error)
}

func monthAhead(offset int) string { return time.Now().AddDate(0, offset, 0).Format("2006-01") }

func ref[T any](v T) *T { return &v }

// owned picks the id an operation works on: the demo provider's own one,
// or another provider's.
type owned func(e *contractEnv, own bool) uuid.UUID

func ownProvider(e *contractEnv, own bool) uuid.UUID {
	if own {
		return e.provider
	}
	return e.otherProvider
}

func ownLocation(e *contractEnv, own bool) uuid.UUID {
	if own {
		return e.location
	}
	return e.otherLoc
}

// guarded is the cases every operation on a provider's or a location's data
// has: the demo provider's key on its own id gets ok; no credentials and an
// unknown key get 401; the key on another provider's id gets 404. call
// makes the call with client c on id; it may keep what it creates in e.
func guarded(op string, ok int, on owned, call func(ctx context.Context, e *contractEnv, c *apiclient.ClientWithResponses, id uuid.UUID) (contractResult, error)) []contractCase {
	return []contractCase{
		{op, ok, func(ctx context.Context, e *contractEnv) (contractResult, error) {
			return call(ctx, e, e.key, on(e, true))
		}},
		{op, 401, func(ctx context.Context, e *contractEnv) (contractResult, error) {
			return call(ctx, e, e.pub, on(e, true))
		}},
		{op, 401, func(ctx context.Context, e *contractEnv) (contractResult, error) {
			return call(ctx, e, e.badKey, on(e, true))
		}},
		{op, 404, func(ctx context.Context, e *contractEnv) (contractResult, error) {
			return call(ctx, e, e.key, on(e, false))
		}},
	}
}

// guardedRead is guarded for a read, also by the provider's admin signed in
// (the session scheme).
func guardedRead(op string, on owned, call func(ctx context.Context, e *contractEnv, c *apiclient.ClientWithResponses, id uuid.UUID) (contractResult, error)) []contractCase {
	return append(guarded(op, 200, on, call),
		contractCase{op, 200, func(ctx context.Context, e *contractEnv) (contractResult, error) {
			return call(ctx, e, e.staff, on(e, true))
		}})
}

// nonEmpty is guardedRead for a list of the provider's that must hold an
// item for its own id, so that the document's item schema is checked too;
// count tells the items of a 200.
func nonEmpty[R contractResult](op string, count func(R) int, call func(ctx context.Context, e *contractEnv, c *apiclient.ClientWithResponses, id uuid.UUID) (R, error)) []contractCase {
	return guardedRead(op, ownProvider, func(ctx context.Context, e *contractEnv, c *apiclient.ClientWithResponses, id uuid.UUID) (contractResult, error) {
		r, err := call(ctx, e, c, id)
		if err != nil {
			return nil, err
		}
		if id == e.provider && r.StatusCode() == http.StatusOK && count(r) == 0 {
			e.t.Errorf("%s: no item to check against the document", op)
		}
		return r, nil
	})
}

// writeCall makes a write with the demo provider's key: variant 0 or 1 of
// its body, with the Idempotency-Key key (none when empty) and editors.
type writeCall func(ctx context.Context, e *contractEnv, key string, variant int, edit ...apiclient.RequestEditorFn) (contractResult, error)

// idempotent is the Idempotency-Key cases of a write: the first call with a
// key gets ok, its retry gets the same answer again (Idempotent-Replayed),
// the key with another body is 422, and a key whose first request still
// runs (claimed as the middleware does) is 409.
func idempotent(op string, ok int, call writeCall) []contractCase {
	key, busy := "contract-"+uuid.NewString(), "contract-"+uuid.NewString()
	replayed := func(e *contractEnv, want bool) {
		if got := e.doer.lastHeader.Get("Idempotent-Replayed") == "true"; got != want {
			e.t.Errorf("%s: Idempotent-Replayed %v, want %v", op, got, want)
		}
	}
	return []contractCase{
		{op, ok, func(ctx context.Context, e *contractEnv) (contractResult, error) {
			r, err := call(ctx, e, key, 0)
			if err == nil {
				replayed(e, false)
			}
			return r, err
		}},
		{op, ok, func(ctx context.Context, e *contractEnv) (contractResult, error) {
			r, err := call(ctx, e, key, 0)
			if err == nil {
				replayed(e, true)
			}
			return r, err
		}},
		{op, 422, func(ctx context.Context, e *contractEnv) (contractResult, error) {
			r, err := call(ctx, e, key, 1)
			if err == nil && !bytes.Contains(e.doer.lastBody, []byte(`"field":"Idempotency-Key"`)) {
				e.t.Errorf("%s: a reused key's 422 names no field Idempotency-Key: %s", op, e.doer.lastBody)
			}
			return r, err
		}},
		{op, 409, func(ctx context.Context, e *contractEnv) (contractResult, error) {
			return call(ctx, e, busy, 0, e.running(busy))
		}},
	}
}

// running is a request editor that claims key for the request it edits, as
// a first request with the key that has not finished yet would have.
func (e *contractEnv) running(key string) apiclient.RequestEditorFn {
	return func(ctx context.Context, req *http.Request) error {
		var body []byte
		if req.Body != nil {
			var err error
			if body, err = io.ReadAll(req.Body); err != nil {
				return err
			}
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
		now := e.w.a.Clock.Now()
		_, err := e.w.a.Idempotency.DB.NewInsert().Model(&idempotency.Record{
			Caller: idempotencyCallerOf(req.Header.Get("Authorization"), ""), Key: key,
			Fingerprint: idempotency.Fingerprint(req.Method, req.URL.Path+"?"+req.URL.RawQuery, body),
			CreatedAt:   now, ExpiresAt: now.Add(idempotency.TTL)}).Exec(ctx)
		return err
	}
}

// idemKey is the Idempotency-Key parameter: nil without a key.
func idemKey(key string) *apiclient.IdempotencyKey {
	if key == "" {
		return nil
	}
	return &key
}

// pageCall lists with the demo provider's key, limit and cursor.
type pageCall func(ctx context.Context, e *contractEnv, limit *int, cursor *string) (contractResult, error)

// paged is the cases of a list: a bad limit and a bad cursor are 400
// problems at their field. With two, a first page of one item has a
// next_cursor and a Link to it, and the cursor gets the next page.
func paged(op string, two bool, call pageCall) []contractCase {
	bad := func(field string, limit *int, cursor *string) contractCase {
		return contractCase{op, 400, func(ctx context.Context, e *contractEnv) (contractResult, error) {
			r, err := call(ctx, e, limit, cursor)
			if err == nil && !bytes.Contains(e.doer.lastBody, []byte(`"field":"`+field+`"`)) {
				e.t.Errorf("%s: the 400 names no field %s: %s", op, field, e.doer.lastBody)
			}
			return r, err
		}}
	}
	cs := []contractCase{bad("limit", ref(0), nil), bad("cursor", nil, ref("xyz"))}
	if !two {
		return cs
	}
	var next string
	return append(cs, contractCase{op, 200, func(ctx context.Context, e *contractEnv) (contractResult, error) {
		r, err := call(ctx, e, ref(1), nil)
		if err != nil {
			return r, err
		}
		var env struct {
			Items      []json.RawMessage `json:"items"`
			NextCursor *string           `json:"next_cursor"`
		}
		if json.Unmarshal(e.doer.lastBody, &env) != nil || len(env.Items) != 1 || env.NextCursor == nil {
			e.t.Errorf("%s?limit=1: want one item and a next_cursor: %s", op, e.doer.lastBody)
			return r, err
		}
		next = *env.NextCursor
		if link := e.doer.lastHeader.Get("Link"); !strings.Contains(link, `rel="next"`) || !strings.Contains(link, url.QueryEscape(next)) {
			e.t.Errorf("%s?limit=1: Link %q does not lead to the next page", op, link)
		}
		return r, err
	}}, contractCase{op, 200, func(ctx context.Context, e *contractEnv) (contractResult, error) {
		first := e.doer.lastBody
		r, err := call(ctx, e, ref(1), &next)
		if err == nil && bytes.Equal(first, e.doer.lastBody) {
			e.t.Errorf("%s: the next page is the first again", op)
		}
		return r, err
	}})
}

// contractCases: at least one success per operation of the document, and an
// error case for every operation that documents a 4xx answer; an operation
// without them fails TestContractEveryOperation. They run in this order, so
// a case may use what an earlier one left in the env. To add an operation:
// a guardedRead/guarded line for a provider's or location's data, or
// contractCase{operationId, status, func(ctx, e) { return e.key.XWithResponse(ctx, …) }}.
func contractCases() []contractCase {
	var cs []contractCase
	add := func(more ...contractCase) { cs = append(cs, more...) }
	type env = contractEnv
	type client = apiclient.ClientWithResponses
	lines := func(n int) apiclient.PutLocationAvailabilityJSONRequestBody {
		return apiclient.PutLocationAvailabilityJSONRequestBody{{StartMonth: monthAhead(2), AgeBand: apiclient.AvailabilityLineAgeBandBaby, FreePlaces: n}}
	}
	providerLines := func(loc uuid.UUID, n int) apiclient.PutProviderAvailabilityJSONRequestBody {
		return apiclient.PutProviderAvailabilityJSONRequestBody{{LocationId: loc, StartMonth: monthAhead(2), AgeBand: apiclient.ProviderAvailabilityLineAgeBandBaby, FreePlaces: n}}
	}
	submission := func(e *env) io.Reader { return strings.NewReader(submissionJSON(e.t, e.location.String())) }

	// Meta, desks, the catalogue: public.
	add(contractCase{"getOpenAPI", 200, func(ctx context.Context, e *env) (contractResult, error) { return e.pub.GetOpenAPIWithResponse(ctx) }},
		contractCase{"listTenants", 200, func(ctx context.Context, e *env) (contractResult, error) {
			return e.pub.ListTenantsWithResponse(ctx, nil)
		}},
	)
	add(paged("listTenants", true, func(ctx context.Context, e *env, limit *int, cursor *string) (contractResult, error) {
		return e.pub.ListTenantsWithResponse(ctx, &apiclient.ListTenantsParams{Limit: limit, Cursor: cursor})
	})...)
	add(contractCase{"getTenant", 200, func(ctx context.Context, e *env) (contractResult, error) {
		return e.pub.GetTenantWithResponse(ctx, "leuven")
	}},
		contractCase{"getTenant", 404, func(ctx context.Context, e *env) (contractResult, error) {
			return e.pub.GetTenantWithResponse(ctx, "bestaat-niet")
		}},
		contractCase{"getRegionAvailability", 200, func(ctx context.Context, e *env) (contractResult, error) {
			r, err := e.pub.GetRegionAvailabilityWithResponse(ctx, &apiclient.GetRegionAvailabilityParams{Region: "24000", Month: monthAhead(2)})
			if err == nil {
				e.etag = r.HTTPResponse.Header.Get("ETag")
			}
			return r, err
		}},
		contractCase{"getRegionAvailability", 304, func(ctx context.Context, e *env) (contractResult, error) {
			return e.pub.GetRegionAvailabilityWithResponse(ctx, &apiclient.GetRegionAvailabilityParams{Region: "24000", Month: monthAhead(2)},
				func(_ context.Context, req *http.Request) error { req.Header.Set("If-None-Match", e.etag); return nil })
		}},
		contractCase{"getRegionAvailability", 400, func(ctx context.Context, e *env) (contractResult, error) {
			return e.pub.GetRegionAvailabilityWithResponse(ctx, &apiclient.GetRegionAvailabilityParams{Region: "24000", Month: "2027-13"})
		}},
		contractCase{"getRegionAvailability", 404, func(ctx context.Context, e *env) (contractResult, error) {
			return e.pub.GetRegionAvailabilityWithResponse(ctx, &apiclient.GetRegionAvailabilityParams{Region: "99000", Month: monthAhead(2)})
		}},
		contractCase{"searchLocations", 200, func(ctx context.Context, e *env) (contractResult, error) {
			return e.pub.SearchLocationsWithResponse(ctx, &apiclient.SearchLocationsParams{Region: &[]string{"24000"},
				Postcode: ref("3000"), WithinKm: ref[float32](15), StartMonth: ref(monthAhead(2)), Sort: ref(apiclient.SearchLocationsParamsSortDistance)})
		}},
		contractCase{"searchLocations", 400, func(ctx context.Context, e *env) (contractResult, error) {
			return e.pub.SearchLocationsWithResponse(ctx, &apiclient.SearchLocationsParams{Postcode: ref("abcd")})
		}},
		contractCase{"getLocation", 200, func(ctx context.Context, e *env) (contractResult, error) {
			return e.pub.GetLocationWithResponse(ctx, e.location)
		}},
		contractCase{"getLocation", 404, func(ctx context.Context, e *env) (contractResult, error) {
			return e.pub.GetLocationWithResponse(ctx, e.unknown)
		}},
	)

	// Free places, by a provider's system.
	add(guardedRead("listProviderLocations", ownProvider, func(ctx context.Context, _ *env, c *client, id uuid.UUID) (contractResult, error) {
		return c.ListProviderLocationsWithResponse(ctx, id, nil)
	})...)
	add(paged("listProviderLocations", true, func(ctx context.Context, e *env, limit *int, cursor *string) (contractResult, error) {
		return e.key.ListProviderLocationsWithResponse(ctx, e.provider, &apiclient.ListProviderLocationsParams{Limit: limit, Cursor: cursor})
	})...)
	add(guarded("putLocationAvailability", 204, ownLocation, func(ctx context.Context, _ *env, c *client, id uuid.UUID) (contractResult, error) {
		return c.PutLocationAvailabilityWithResponse(ctx, id, nil, lines(3))
	})...)
	add(contractCase{"putLocationAvailability", 415, func(ctx context.Context, e *env) (contractResult, error) {
		return e.key.PutLocationAvailabilityWithBodyWithResponse(ctx, e.location, nil, "text/plain", strings.NewReader("3"))
	}}, contractCase{"putLocationAvailability", 422, func(ctx context.Context, e *env) (contractResult, error) {
		return e.key.PutLocationAvailabilityWithResponse(ctx, e.location, nil, apiclient.PutLocationAvailabilityJSONRequestBody{
			{StartMonth: "2027-13", AgeBand: apiclient.AvailabilityLineAgeBandBaby, FreePlaces: 3}})
	}})
	add(idempotent("putLocationAvailability", 204, func(ctx context.Context, e *env, key string, v int, edit ...apiclient.RequestEditorFn) (contractResult, error) {
		return e.key.PutLocationAvailabilityWithResponse(ctx, e.location, &apiclient.PutLocationAvailabilityParams{IdempotencyKey: idemKey(key)}, lines(3+v), edit...)
	})...)
	add(guarded("putProviderAvailability", 204, ownProvider, func(ctx context.Context, e *env, c *client, id uuid.UUID) (contractResult, error) {
		return c.PutProviderAvailabilityWithResponse(ctx, id, nil, append(providerLines(e.location, 2), providerLines(e.location2, 1)...))
	})...)
	add(contractCase{"putProviderAvailability", 415, func(ctx context.Context, e *env) (contractResult, error) {
		return e.key.PutProviderAvailabilityWithBodyWithResponse(ctx, e.provider, nil, "text/csv", strings.NewReader("a;b"))
	}}, contractCase{"putProviderAvailability", 422, func(ctx context.Context, e *env) (contractResult, error) {
		return e.key.PutProviderAvailabilityWithResponse(ctx, e.provider, nil, providerLines(e.otherLoc, 2))
	}})
	add(idempotent("putProviderAvailability", 204, func(ctx context.Context, e *env, key string, v int, edit ...apiclient.RequestEditorFn) (contractResult, error) {
		return e.key.PutProviderAvailabilityWithResponse(ctx, e.provider, &apiclient.PutProviderAvailabilityParams{IdempotencyKey: idemKey(key)},
			providerLines(e.location2, 1+v), edit...)
	})...)
	add(guardedRead("getProviderAvailability", ownProvider, func(ctx context.Context, _ *env, c *client, id uuid.UUID) (contractResult, error) {
		return c.GetProviderAvailabilityWithResponse(ctx, id, nil)
	})...)
	add(paged("getProviderAvailability", true, func(ctx context.Context, e *env, limit *int, cursor *string) (contractResult, error) {
		return e.key.GetProviderAvailabilityWithResponse(ctx, e.provider, &apiclient.GetProviderAvailabilityParams{Limit: limit, Cursor: cursor})
	})...)
	add(contractCase{"getProviderAvailability", 400, func(ctx context.Context, e *env) (contractResult, error) {
		return e.key.GetProviderAvailabilityWithResponse(ctx, e.provider, &apiclient.GetProviderAvailabilityParams{FromMonth: ref("2027-13")})
	}})

	// Webhooks, registered before the request below so that it is delivered.
	add(guarded("createWebhookEndpoint", 201, ownProvider, func(ctx context.Context, e *env, c *client, id uuid.UUID) (contractResult, error) {
		r, err := c.CreateWebhookEndpointWithResponse(ctx, id, nil, apiclient.WebhookEndpointNew{Url: e.hook,
			Events: []apiclient.WebhookEvent{apiclient.WebhookEventRequestCreated, apiclient.WebhookEventRequestWithdrawn,
				apiclient.WebhookEventPlacesStale}})
		if err == nil && r.JSON201 != nil {
			e.endpoint = r.JSON201.Id
		}
		return r, err
	})...)
	add(idempotent("createWebhookEndpoint", 201, func(ctx context.Context, e *env, key string, v int, edit ...apiclient.RequestEditorFn) (contractResult, error) {
		r, err := e.key.CreateWebhookEndpointWithResponse(ctx, e.provider, &apiclient.CreateWebhookEndpointParams{IdempotencyKey: idemKey(key)},
			apiclient.WebhookEndpointNew{Url: e.hook + []string{"/tweede", "/derde"}[v],
				Events: []apiclient.WebhookEvent{apiclient.WebhookEventClosureConcerned}}, edit...)
		if err == nil && r.JSON201 != nil {
			e.endpoint2 = r.JSON201.Id
		}
		return r, err
	})...)
	add(contractCase{"createWebhookEndpoint", 422, func(ctx context.Context, e *env) (contractResult, error) {
		return e.key.CreateWebhookEndpointWithResponse(ctx, e.provider, nil, apiclient.WebhookEndpointNew{Url: "ftp://opvang.example/h",
			Events: []apiclient.WebhookEvent{"onbekend"}})
	}})
	add(guardedRead("listWebhookEndpoints", ownProvider, func(ctx context.Context, _ *env, c *client, id uuid.UUID) (contractResult, error) {
		return c.ListWebhookEndpointsWithResponse(ctx, id, nil)
	})...)
	add(paged("listWebhookEndpoints", false, func(ctx context.Context, e *env, limit *int, cursor *string) (contractResult, error) {
		return e.key.ListWebhookEndpointsWithResponse(ctx, e.provider, &apiclient.ListWebhookEndpointsParams{Limit: limit, Cursor: cursor})
	})...)

	// A family's request, by a partner's system or anyone.
	add(contractCase{"createRequest", 201, func(ctx context.Context, e *env) (contractResult, error) {
		r, err := e.pub.CreateRequestWithBodyWithResponse(ctx, "leuven", &apiclient.CreateRequestParams{IdempotencyKey: ref(uuid.NewString())},
			"application/json", submission(e))
		if err == nil && r.JSON201 != nil {
			e.request = r.JSON201.Id
		}
		return r, err
	}})
	// A registration keeps its key with the request (requests.idempotency):
	// the middleware's claim does not hold it, its own in-flight 409 is
	// requests' TestIdempotencyKeyInFlight. So the first three cases only.
	add(idempotent("createRequest", 201, func(ctx context.Context, e *env, key string, v int, edit ...apiclient.RequestEditorFn) (contractResult, error) {
		body := submissionJSON(e.t, []string{e.location.String(), e.location2.String()}[v])
		return e.pub.CreateRequestWithBodyWithResponse(ctx, "leuven", &apiclient.CreateRequestParams{IdempotencyKey: idemKey(key)},
			"application/json", strings.NewReader(body), edit...)
	})[:3]...)
	add(contractCase{"createRequest", 400, func(ctx context.Context, e *env) (contractResult, error) {
		return e.pub.CreateRequestWithBodyWithResponse(ctx, "leuven", nil, "application/json", strings.NewReader(`{"child":`))
	}}, contractCase{"createRequest", 401, func(ctx context.Context, e *env) (contractResult, error) {
		return e.badKey.CreateRequestWithBodyWithResponse(ctx, "leuven", nil, "application/json", submission(e))
	}}, contractCase{"createRequest", 404, func(ctx context.Context, e *env) (contractResult, error) {
		return e.key.CreateRequestWithBodyWithResponse(ctx, "bestaat-niet", nil, "application/json", submission(e))
	}}, contractCase{"createRequest", 422, func(ctx context.Context, e *env) (contractResult, error) {
		return e.key.CreateRequestWithResponse(ctx, "leuven", nil, apiclient.RequestSubmission{Language: "nl", Reason: "work",
			Parents: []struct {
				Email     *string `json:"email,omitempty"`
				FirstName *string `json:"first_name,omitempty"`
				LastName  *string `json:"last_name,omitempty"`
				Phone     *string `json:"phone,omitempty"`
			}{{FirstName: ref("An")}}, Preferences: []uuid.UUID{e.unknown}, PrivacyConsentVersion: "2026-01"})
	}})

	// The provider's inbox and answers.
	add(guardedRead("getProviderInbox", ownProvider, func(ctx context.Context, _ *env, c *client, id uuid.UUID) (contractResult, error) {
		return c.GetProviderInboxWithResponse(ctx, id, nil)
	})...)
	add(paged("getProviderInbox", false, func(ctx context.Context, e *env, limit *int, cursor *string) (contractResult, error) {
		return e.key.GetProviderInboxWithResponse(ctx, e.provider, &apiclient.GetProviderInboxParams{Limit: limit, Cursor: cursor})
	})...)
	answer := func(e *env, kind apiclient.ProviderAnswerKind, reason apiclient.ProviderAnswerReason) apiclient.ProviderAnswer {
		a := apiclient.ProviderAnswer{Desk: "leuven", RequestId: e.request, Rank: 1, Kind: kind}
		if reason != "" {
			a.Reason = &reason
		}
		return a
	}
	add(guarded("postProviderAnswer", 204, ownProvider, func(ctx context.Context, e *env, c *client, id uuid.UUID) (contractResult, error) {
		return c.PostProviderAnswerWithResponse(ctx, id, nil, answer(e, apiclient.ProviderAnswerKindNoPlace, apiclient.ProviderAnswerReasonFull))
	})...)
	add(contractCase{"postProviderAnswer", 404, func(ctx context.Context, e *env) (contractResult, error) {
		a := answer(e, apiclient.ProviderAnswerKindWaitingList, "")
		a.RequestId = e.unknown
		return e.key.PostProviderAnswerWithResponse(ctx, e.provider, nil, a)
	}}, contractCase{"postProviderAnswer", 409, func(ctx context.Context, e *env) (contractResult, error) {
		return e.key.PostProviderAnswerWithResponse(ctx, e.provider, nil, answer(e, apiclient.ProviderAnswerKindWaitingList, ""))
	}}, contractCase{"postProviderAnswer", 415, func(ctx context.Context, e *env) (contractResult, error) {
		return e.key.PostProviderAnswerWithBodyWithResponse(ctx, e.provider, nil, "application/x-www-form-urlencoded", strings.NewReader("kind=offer"))
	}}, contractCase{"postProviderAnswer", 422, func(ctx context.Context, e *env) (contractResult, error) {
		return e.key.PostProviderAnswerWithResponse(ctx, e.provider, nil, answer(e, apiclient.ProviderAnswerKindNoPlace, "moon"))
	}})

	// An offer for another request (with free places in its month), sent
	// again with its Idempotency-Key; then the parent accepts it and a third
	// request is withdrawn, so that the provider's offers, placements and
	// withdrawals have an item each to check against the document.
	add(idempotent("postProviderAnswer", 204, func(ctx context.Context, e *env, key string, v int, edit ...apiclient.RequestEditorFn) (contractResult, error) {
		lid, _ := catalog.ParseLocationID(e.location.String())
		if e.offered == nil {
			e.offered, _ = submitParent(e.t, e.w.a, "Aanbod", lid)
			for _, band := range catalog.AgeBands {
				if err := e.w.a.Catalog.SetAvailability(ctx, "test", catalog.AvailabilityChange{LocationID: lid,
					StartMonth: e.offered.DesiredStart.Format("2006-01"), AgeBand: band, FreePlaces: 2}); err != nil {
					return nil, err
				}
			}
		}
		days := []apiclient.ProviderAnswerOfferDays{apiclient.ProviderAnswerOfferDaysMon, apiclient.ProviderAnswerOfferDaysTue}[:2-v]
		return e.key.PostProviderAnswerWithResponse(ctx, e.provider, &apiclient.PostProviderAnswerParams{IdempotencyKey: idemKey(key)},
			apiclient.ProviderAnswer{Desk: "leuven", RequestId: e.offered.ID.UUID, Rank: 1, Kind: apiclient.ProviderAnswerKindOffer,
				OfferStart: &types.Date{Time: e.offered.DesiredStart}, OfferDays: &days}, edit...)
	})...)
	settle := func(e *env) error {
		if e.settled {
			return nil
		}
		e.settled = true
		ctx := deskCtx(e.t, e.w.a, "leuven")
		if err := e.w.a.Requests.Accept(ctx, e.offered.ID, 1, requests.Actor{Kind: requests.ActorParent}); err != nil {
			return err
		}
		lid, _ := catalog.ParseLocationID(e.location.String())
		gone, _ := submitParent(e.t, e.w.a, "Ingetrokken", lid)
		return e.w.a.Requests.Withdraw(ctx, gone.ID, "verhuisd", requests.Actor{Kind: requests.ActorParent})
	}
	add(nonEmpty("listProviderOffers", func(r *apiclient.ListProviderOffersResponse) int { return len(r.JSON200.Items) },
		func(ctx context.Context, e *env, c *client, id uuid.UUID) (*apiclient.ListProviderOffersResponse, error) {
			if err := settle(e); err != nil {
				return nil, err
			}
			return c.ListProviderOffersWithResponse(ctx, id, nil)
		})...)
	add(paged("listProviderOffers", false, func(ctx context.Context, e *env, limit *int, cursor *string) (contractResult, error) {
		return e.key.ListProviderOffersWithResponse(ctx, e.provider, &apiclient.ListProviderOffersParams{Limit: limit, Cursor: cursor})
	})...)
	add(nonEmpty("listProviderPlacements", func(r *apiclient.ListProviderPlacementsResponse) int { return len(r.JSON200.Items) },
		func(ctx context.Context, _ *env, c *client, id uuid.UUID) (*apiclient.ListProviderPlacementsResponse, error) {
			return c.ListProviderPlacementsWithResponse(ctx, id, nil)
		})...)
	add(paged("listProviderPlacements", false, func(ctx context.Context, e *env, limit *int, cursor *string) (contractResult, error) {
		return e.key.ListProviderPlacementsWithResponse(ctx, e.provider, &apiclient.ListProviderPlacementsParams{Limit: limit, Cursor: cursor})
	})...)
	add(nonEmpty("listProviderWithdrawals", func(r *apiclient.ListProviderWithdrawalsResponse) int { return len(r.JSON200.Items) },
		func(ctx context.Context, e *env, c *client, id uuid.UUID) (*apiclient.ListProviderWithdrawalsResponse, error) {
			since := e.w.a.Clock.Now().Add(-time.Hour)
			return c.ListProviderWithdrawalsWithResponse(ctx, id, &apiclient.ListProviderWithdrawalsParams{UpdatedSince: &since})
		})...)
	add(paged("listProviderWithdrawals", false, func(ctx context.Context, e *env, limit *int, cursor *string) (contractResult, error) {
		return e.key.ListProviderWithdrawalsWithResponse(ctx, e.provider, &apiclient.ListProviderWithdrawalsParams{Limit: limit, Cursor: cursor})
	})...)

	// The delivery log of the request's webhook (checkContract delivers first).
	add(guardedRead("listWebhookDeliveries", ownProvider, func(ctx context.Context, e *env, c *client, id uuid.UUID) (contractResult, error) {
		r, err := c.ListWebhookDeliveriesWithResponse(ctx, id, e.endpoint, nil)
		if err == nil && r.JSON200 != nil && len(r.JSON200.Items) > 0 {
			e.sent = r.JSON200.Items[0].Id
		}
		return r, err
	})...)
	add(guarded("resendWebhookDelivery", 202, ownProvider, func(ctx context.Context, e *env, c *client, id uuid.UUID) (contractResult, error) {
		return c.ResendWebhookDeliveryWithResponse(ctx, id, e.endpoint, e.sent, nil)
	})...)
	add(paged("listWebhookDeliveries", false, func(ctx context.Context, e *env, limit *int, cursor *string) (contractResult, error) {
		return e.key.ListWebhookDeliveriesWithResponse(ctx, e.provider, e.endpoint, &apiclient.ListWebhookDeliveriesParams{Limit: limit, Cursor: cursor})
	})...)
	add(idempotent("resendWebhookDelivery", 202, func(ctx context.Context, e *env, key string, v int, edit ...apiclient.RequestEditorFn) (contractResult, error) {
		// The other request: another delivery (its path is part of the key's request).
		delivery := e.sent
		if v == 1 {
			delivery = e.unknown
		}
		return e.key.ResendWebhookDeliveryWithResponse(ctx, e.provider, e.endpoint, delivery, &apiclient.ResendWebhookDeliveryParams{IdempotencyKey: idemKey(key)}, edit...)
	})...)
	add(contractCase{"resendWebhookDelivery", 404, func(ctx context.Context, e *env) (contractResult, error) {
		return e.key.ResendWebhookDeliveryWithResponse(ctx, e.provider, e.endpoint, e.unknown, nil)
	}})

	// Crisis: a closure at one location, emergency places at another of
	// the same provider.
	add(guarded("declareClosure", 201, ownLocation, func(ctx context.Context, e *env, c *client, id uuid.UUID) (contractResult, error) {
		r, err := c.DeclareClosureWithResponse(ctx, id, nil, apiclient.ClosureDeclaration{From: dayAhead(1), Reason: "Waterschade", Public: ref(true)})
		if err == nil && r.JSON201 != nil {
			e.closure = r.JSON201.Id
		}
		return r, err
	})...)
	add(contractCase{"declareClosure", 415, func(ctx context.Context, e *env) (contractResult, error) {
		return e.key.DeclareClosureWithBodyWithResponse(ctx, e.location2, nil, "text/plain", strings.NewReader("dicht"))
	}}, contractCase{"declareClosure", 422, func(ctx context.Context, e *env) (contractResult, error) {
		return e.key.DeclareClosureWithResponse(ctx, e.location2, nil, apiclient.ClosureDeclaration{From: dayAhead(1)})
	}})
	add(guardedRead("getClosureBoard", ownLocation, func(ctx context.Context, _ *env, c *client, id uuid.UUID) (contractResult, error) {
		return c.GetClosureBoardWithResponse(ctx, id)
	})...)
	emergency := func(e *env, closure uuid.UUID, places int) apiclient.EmergencyPlaces {
		return apiclient.EmergencyPlaces{ClosureId: closure, StartMonth: monthAhead(1), AgeBand: apiclient.EmergencyPlacesAgeBandBaby, Places: places, Until: dayAhead(180)}
	}
	add(guarded("announceEmergencyPlaces", 204, func(e *env, own bool) uuid.UUID {
		if own {
			return e.location2
		}
		return e.otherLoc
	}, func(ctx context.Context, e *env, c *client, id uuid.UUID) (contractResult, error) {
		return c.AnnounceEmergencyPlacesWithResponse(ctx, id, nil, emergency(e, e.closure, 2))
	})...)
	add(contractCase{"announceEmergencyPlaces", 404, func(ctx context.Context, e *env) (contractResult, error) {
		return e.key.AnnounceEmergencyPlacesWithResponse(ctx, e.location2, nil, emergency(e, e.unknown, 2))
	}}, contractCase{"announceEmergencyPlaces", 415, func(ctx context.Context, e *env) (contractResult, error) {
		return e.key.AnnounceEmergencyPlacesWithBodyWithResponse(ctx, e.location2, nil, "text/plain", strings.NewReader("2"))
	}}, contractCase{"announceEmergencyPlaces", 422, func(ctx context.Context, e *env) (contractResult, error) {
		return e.key.AnnounceEmergencyPlacesWithResponse(ctx, e.location2, nil, emergency(e, e.closure, 0))
	}})

	add(idempotent("announceEmergencyPlaces", 204, func(ctx context.Context, e *env, key string, v int, edit ...apiclient.RequestEditorFn) (contractResult, error) {
		return e.key.AnnounceEmergencyPlacesWithResponse(ctx, e.location2, &apiclient.AnnounceEmergencyPlacesParams{IdempotencyKey: idemKey(key)},
			emergency(e, e.closure, 1+v), edit...)
	})...)
	// The second location closes too, once for the key and its retry.
	add(idempotent("declareClosure", 201, func(ctx context.Context, e *env, key string, v int, edit ...apiclient.RequestEditorFn) (contractResult, error) {
		return e.key.DeclareClosureWithResponse(ctx, e.location2, &apiclient.DeclareClosureParams{IdempotencyKey: idemKey(key)},
			apiclient.ClosureDeclaration{From: dayAhead(30 + v), Reason: "Verbouwing"}, edit...)
	})...)
	add(contractCase{"getClosureBoard", 200, func(ctx context.Context, e *env) (contractResult, error) {
		// Closures are platform data (families of several desks go there).
		n, err := e.w.a.DB.NewSelect().Table("closures").Where("location_id = ?", e.location2).Count(ctx)
		if err != nil {
			return nil, err
		}
		if n != 1 {
			e.t.Errorf("the closure of the second location, sent twice with one key, made %d closures, want 1", n)
		}
		return e.key.GetClosureBoardWithResponse(ctx, e.location2)
	}})
	add(idempotent("deleteWebhookEndpoint", 204, func(ctx context.Context, e *env, key string, v int, edit ...apiclient.RequestEditorFn) (contractResult, error) {
		return e.key.DeleteWebhookEndpointWithResponse(ctx, e.provider, []uuid.UUID{e.endpoint2, e.endpoint}[v],
			&apiclient.DeleteWebhookEndpointParams{IdempotencyKey: idemKey(key)}, edit...)
	})...)

	// Last: the endpoint goes (not while a request with the same key runs).
	add(contractCase{"deleteWebhookEndpoint", 409, func(ctx context.Context, e *env) (contractResult, error) {
		key := "contract-" + uuid.NewString()
		return e.key.DeleteWebhookEndpointWithResponse(ctx, e.provider, e.endpoint, &apiclient.DeleteWebhookEndpointParams{IdempotencyKey: &key}, e.running(key))
	}})
	add(guarded("deleteWebhookEndpoint", 204, ownProvider, func(ctx context.Context, e *env, c *client, id uuid.UUID) (contractResult, error) {
		return c.DeleteWebhookEndpointWithResponse(ctx, id, e.endpoint, nil)
	})...)
	return cs
}

func dayAhead(offset int) types.Date { return types.Date{Time: time.Now().AddDate(0, 0, offset)} }

// TestContractEveryOperation calls every operation of the OpenAPI document
// through the generated client against the real app (demo desks,
// the demo provider's API key), on SQLite and PostgreSQL: each answer must match the document's
// schema for its status, each case must get its status, and every
// operation needs a success case and, when it documents a 4xx answer, an
// error case. The webhook a request triggers must match WebhookPayload.
func TestContractEveryOperation(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) { checkContract(t, newDemoWorld(t, tg)) })
}

func checkContract(t *testing.T, w *demoWorld) {
	ctx := context.Background()
	doer := newContractDoer(t, w.srv.App)

	payload := doer.doc.Components.Schemas["WebhookPayload"].Value
	var hookMu sync.Mutex
	var hooks int
	kinds := map[string]bool{}
	hook := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var v any
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &v); err != nil {
			t.Errorf("webhook body: %v", err)
		} else if err := payload.VisitJSON(v, openapi3.EnableFormatValidation()); err != nil {
			t.Errorf("the webhook body does not match WebhookPayload: %v\n%s", err, body)
		} else if extra := undocumented(payload, v, ""); len(extra) > 0 {
			t.Errorf("the webhook body has fields WebhookPayload does not describe: %v", extra)
		}
		for _, h := range []string{"webhook-id", "webhook-timestamp", "webhook-signature"} {
			if r.Header.Get(h) == "" {
				t.Errorf("webhook without the %s header", h)
			}
		}
		hookMu.Lock()
		hooks++
		if m, ok := v.(map[string]any); ok {
			kinds[fmt.Sprint(m["type"])] = true
		}
		hookMu.Unlock()
		rw.WriteHeader(http.StatusNoContent)
	}))
	defer hook.Close()

	e := &contractEnv{t: t, w: w, pub: doer.client(""), key: doer.client(DemoAPIKey()), badKey: doer.client("lk_bestaatniet"),
		staff:    doer.sessionClient(w.browsers[authz.ProviderAdmin]),
		provider: uuid.MustParse(w.values[Own]["provider"]), otherProvider: uuid.MustParse(w.values[Other]["provider"]),
		location: uuid.MustParse(w.values[Own]["location"]), otherLoc: uuid.MustParse(w.values[Other]["location"]),
		unknown: uuid.MustParse("01939a4e-0000-7000-8000-00000000dead"), hook: hook.URL + "/loket", doer: doer}
	locs, err := e.key.ListProviderLocationsWithResponse(ctx, e.provider, nil)
	if err != nil || locs.JSON200 == nil {
		t.Fatalf("the demo provider's locations: %v", err)
	}
	for _, l := range locs.JSON200.Items {
		if l.Id != e.location {
			e.location2 = l.Id
			break
		}
	}
	if e.location2 == uuid.Nil {
		t.Fatal("the demo provider needs two locations")
	}

	replayed := map[string]bool{} // operations that answered a retry from the stored answer
	for i, c := range contractCases() {
		if c.op == "listWebhookDeliveries" && c.want == 200 {
			// The request of createRequest is in the outbox, and places of
			// the provider's that are all stale after 0 days: send them.
			if _, err := w.a.Webhooks.NotifyStalePlaces(ctx, 0); err != nil {
				t.Fatalf("stale places: %v", err)
			}
			if _, err := w.a.WebhookRelay.Deliver(ctx); err != nil {
				t.Fatalf("deliver webhooks: %v", err)
			}
		}
		res, err := c.call(ctx, e)
		if err != nil {
			t.Fatalf("case %d (%s %d): %v", i, c.op, c.want, err)
		}
		if doer.lastHeader.Get("Idempotent-Replayed") == "true" {
			replayed[c.op] = true
		}
		if doer.last != c.op {
			t.Errorf("case %d reached %s, want %s", i, doer.last, c.op)
		}
		if got := res.StatusCode(); got != c.want {
			t.Errorf("case %d: %s answered %d, want %d %.400s", i, c.op, got, c.want, doer.lastBody)
		}
	}
	hookMu.Lock()
	for _, kind := range []string{"request.created", "request.withdrawn", "places.stale"} {
		if !kinds[kind] {
			t.Errorf("no %s webhook reached the receiver: its WebhookPayload was not checked (%d came)", kind, hooks)
		}
	}
	hookMu.Unlock()

	for _, o := range doer.ops {
		var ok, failed bool
		for s := range doer.seen[o.id] {
			ok = ok || s < 400
			failed = failed || s >= 400
		}
		documentsError := false
		for code := range o.op.Responses.Map() {
			documentsError = documentsError || strings.HasPrefix(code, "4")
		}
		if !ok {
			t.Errorf("operation %s (%s %s) has no success case in contractCases", o.id, o.method, o.path)
		}
		if o.method != http.MethodGet && !replayed[o.id] {
			t.Errorf("operation %s (%s %s) is a write, but no retry with its Idempotency-Key was answered from the stored answer (add idempotent cases)", o.id, o.method, o.path)
		}
		if documentsError && !failed {
			t.Errorf("operation %s (%s %s) documents 4xx answers but has no error case in contractCases", o.id, o.method, o.path)
		}
	}
}

// TestContractDocumentRules: what Redocly's rules do not check and Loket
// wants of every operation: an operationId, a tag, explicit security, an
// example for each required parameter, a problem document for each error.
func TestContractDocumentRules(t *testing.T) {
	doc, ops := loadContract(t)
	raw := map[string]any{}
	if err := json.Unmarshal(OpenAPIDocument(false), &raw); err != nil {
		t.Fatal(err)
	}
	paths := raw["paths"].(map[string]any)
	for _, o := range ops {
		name := o.method + " " + o.path
		if o.id == "" {
			t.Errorf("%s has no operationId", name)
		}
		if len(o.op.Tags) == 0 {
			t.Errorf("%s has no tag", name)
		}
		// Absent security is nil, "security": [] an empty list: only the
		// raw document tells them apart.
		if _, ok := paths[o.path].(map[string]any)[strings.ToLower(o.method)].(map[string]any)["security"]; !ok {
			t.Errorf("%s has no explicit security (public operations say \"security\": [])", name)
		}
		needsCredentials := o.op.Security != nil && len(*o.op.Security) > 0
		for _, req := range derefSecurity(o.op.Security) {
			needsCredentials = needsCredentials && len(req) > 0
		}
		if needsCredentials && o.op.Responses.Status(http.StatusUnauthorized) == nil {
			t.Errorf("%s needs credentials but documents no 401 answer", name)
		}
		for _, p := range append(openapi3.Parameters{}, append(o.item.Parameters, o.op.Parameters...)...) {
			if p.Value.Required && p.Value.Example == nil && len(p.Value.Examples) == 0 {
				t.Errorf("%s: the required parameter %s has no example", name, p.Value.Name)
			}
		}
		// Redocly's operation-4xx-response, with its one true exception:
		// the document itself answers every caller (redocly.yaml turns the
		// rule off, so that lint stays free of warnings).
		has4xx := false
		for code := range o.op.Responses.Map() {
			has4xx = has4xx || code[0] == '4'
		}
		if !has4xx && o.id != "getOpenAPI" {
			t.Errorf("%s documents no 4xx answer", name)
		}
		for code, r := range o.op.Responses.Map() {
			if code[0] != '4' && code[0] != '5' {
				continue
			}
			if mt := r.Value.Content.Get("application/problem+json"); mt == nil || mt.Schema == nil || mt.Schema.Ref != "#/components/schemas/Problem" {
				t.Errorf("%s: the %s answer is not a problem document", name, code)
			}
		}
	}
	if doc.Info.Contact == nil || len(doc.Servers) == 0 || len(doc.Tags) == 0 {
		t.Error("the document needs info.contact, servers and tags")
	}
}

func derefSecurity(s *openapi3.SecurityRequirements) openapi3.SecurityRequirements {
	if s == nil {
		return nil
	}
	return *s
}

// TestAPIClientIsGenerated: the committed client is what oapi-codegen makes
// of the current document, so a change of the document without
// `go generate ./internal/app/apiclient` fails here.
func TestAPIClientIsGenerated(t *testing.T) {
	want, err := apigen.Generate(OpenAPIDocument(false))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("apiclient/client.gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("internal/app/apiclient/client.gen.go is not generated from the current OpenAPI document (%d bytes, fresh %d): run go generate ./internal/app/apiclient", len(got), len(want))
	}
}

// TestOpenAPIRedoclyLint lints the merged document with Redocly CLI's
// recommended rules and the stricter ones of redocly.yaml: no errors allowed.
// .ci/run installs the CLI; without it the test skips (fails when strict).
func TestOpenAPIRedoclyLint(t *testing.T) {
	redocly := testenv.Redocly(t)
	doc := filepath.Join(t.TempDir(), "openapi.json")
	if err := os.WriteFile(doc, OpenAPIDocument(true), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, redocly, "lint", "--config", "../../redocly.yaml", "--format", "stylish", doc)
	cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("redocly lint: %v\n%s", err, out)
	}
	// Clean means no warnings either: a rule that does not fit Loket is
	// turned off in redocly.yaml with its reason, not left to warn.
	if regexp.MustCompile(`(?m)^\s*\d+:\d+\s+warning\s`).Match(out) {
		t.Errorf("redocly lint warns:\n%s", out)
	}
	t.Logf("redocly lint:\n%s", out)
}
