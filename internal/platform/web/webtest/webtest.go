// Package webtest sends requests to a Fiber app in tests, without a network.
package webtest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
)

// Response is what a test reads of an answer.
type Response struct {
	Status int
	Header http.Header
	Body   string
}

// Get requests path; headers are name/value pairs, "Host" sets the host.
func Get(t testing.TB, app *fiber.App, path string, headers ...string) Response {
	t.Helper()
	return Do(t, app, http.MethodGet, path, "", headers...)
}

// Do sends method to path with body (empty for none); headers as for Get.
func Do(t testing.TB, app *fiber.App, method, path, body string, headers ...string) Response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i] == "Host" {
			req.Host = headers[i+1]
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := app.Test(req, -1)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return Response{res.StatusCode, res.Header, string(b)}
}
