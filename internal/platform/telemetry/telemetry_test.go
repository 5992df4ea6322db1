package telemetry_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/loket-kinderopvang/loket/internal/platform/telemetry"
	"github.com/loket-kinderopvang/loket/internal/platform/web"
	"github.com/loket-kinderopvang/loket/internal/platform/web/webtest"
)

// TestSpansReachTheCollector: with an endpoint, a request to the server
// becomes a span that is exported over OTLP/HTTP when tracing stops.
func TestSpansReachTheCollector(t *testing.T) {
	var posts, bytes atomic.Int64
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/traces" && r.Method == http.MethodPost {
			b, _ := io.ReadAll(r.Body)
			posts.Add(1)
			bytes.Add(int64(len(b)))
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer collector.Close()

	stop, err := telemetry.Setup(context.Background(), collector.URL, "test")
	if err != nil {
		t.Fatal(err)
	}
	srv := web.New(web.Options{Tracing: true})
	srv.App.Get("/hello", func(c *fiber.Ctx) error { return c.SendString("hi") })
	if res := webtest.Get(t, srv.App, "/hello"); res.Status != 200 {
		t.Fatalf("status %d", res.Status)
	}
	if err := stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if posts.Load() == 0 || bytes.Load() == 0 {
		t.Errorf("collector received %d posts (%d bytes), want the request's span", posts.Load(), bytes.Load())
	}
}

func TestOffWithoutEndpoint(t *testing.T) {
	stop, err := telemetry.Setup(context.Background(), "", "test")
	if err != nil || stop(context.Background()) != nil {
		t.Fatalf("empty endpoint: %v", err)
	}
	if _, err := telemetry.Setup(context.Background(), "collector:4318", "test"); err == nil {
		t.Error("an endpoint without scheme was accepted")
	}
}
