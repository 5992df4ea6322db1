// Package browsertest drives a real Chromium (Debian's /usr/bin/chromium)
// through chromedp for end-to-end and accessibility tests. One browser runs
// per test binary (package); each test gets its own tab. A missing Chromium
// skips the test loudly, or fails it with LOKET_TEST_STRICT=1.
//
// Use it from a package's tests like this:
//
//	func TestMain(m *testing.M) { browsertest.Main(m) }
//
//	func TestX(t *testing.T) {
//		base := browsertest.Serve(t, srv.App)
//		ctx := browsertest.Tab(t)
//		chromedp.Run(ctx, chromedp.Navigate(base+"/leuven/aanvragen"))
//		browsertest.CheckA11y(t, ctx)
//	}
package browsertest

import (
	"context"
	_ "embed"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/gofiber/fiber/v2"

	"github.com/loket-kinderopvang/loket/internal/platform/testenv"
)

// axeSource is axe-core from npm (see testdata/axe-core/VERSION and LICENSE).
//
//go:embed testdata/axe-core/axe.min.js
var axeSource string

// TabTimeout bounds everything one tab does, so a hanging page fails the
// test instead of the whole run.
const TabTimeout = 90 * time.Second

var shared struct {
	sync.Mutex
	browser context.Context
	cancel  func()
	err     error
	started bool
}

// chromiumPath prefers Debian's Chromium, then whatever testenv finds.
func chromiumPath(t testing.TB) string {
	if p := os.Getenv("LOKET_TEST_CHROMIUM"); p != "" {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	return testenv.Chromium(t)
}

// browser starts the package's Chromium on first use.
func browser(t testing.TB) context.Context {
	t.Helper()
	path := chromiumPath(t)
	shared.Lock()
	defer shared.Unlock()
	if !shared.started {
		shared.started = true
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.Flag("headless", true),
			chromedp.NoSandbox, // containers and CI run as root
			chromedp.DisableGPU,
			chromedp.Flag("disable-dev-shm-usage", true),
			chromedp.WindowSize(1280, 1024),
		)
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancelBrowser := chromedp.NewContext(alloc)
		// The first run starts the browser process; it must have no timeout,
		// which would stop the browser with it.
		if err := chromedp.Do(ctx); err != nil {
			shared.err = err
		}
		shared.browser = ctx
		shared.cancel = func() { cancelBrowser(); cancelAlloc() }
	}
	if shared.err != nil {
		testenv.Missing(t, "Chromium", "it did not start: "+shared.err.Error())
	}
	return shared.browser
}

// Main runs the package's tests and stops the shared browser afterwards.
func Main(m *testing.M) {
	code := m.Run()
	Close()
	os.Exit(code)
}

// Close stops the shared browser (Main calls it).
func Close() {
	shared.Lock()
	defer shared.Unlock()
	if shared.cancel != nil {
		shared.cancel()
	}
	shared.started, shared.browser, shared.cancel, shared.err = false, nil, nil, nil
}

// Tab opens a new tab of the package's browser, closed when the test ends.
// Each tab has its own browser context (cookies, storage), like a separate
// person: a parent, a provider and a desk worker can be signed in at once.
func Tab(t testing.TB) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(browser(t), chromedp.WithNewBrowserContext())
	if err := chromedp.Do(tab); err != nil { // opens the tab, without a timeout (see chromedp.Run)
		cancel()
		t.Fatalf("open a tab: %v", err)
	}
	ctx, cancelTimeout := context.WithTimeout(tab, TabTimeout)
	t.Cleanup(func() { cancelTimeout(); cancel() })
	return ctx
}

// NoScriptTab is a tab with JavaScript switched off, to prove that pages
// work without it. (CheckA11y needs JavaScript; use a Tab for it.)
func NoScriptTab(t testing.TB) context.Context {
	t.Helper()
	ctx := Tab(t)
	off := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	})
	if err := chromedp.Do(ctx, off); err != nil {
		t.Fatalf("disable JavaScript: %v", err)
	}
	return ctx
}

// Serve serves app over real HTTP on 127.0.0.1 (a free port) until the test
// ends, and returns its base URL ("http://127.0.0.1:port").
func Serve(t testing.TB, app *fiber.App) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Listener(ln) }()
	t.Cleanup(func() {
		// Chromium keeps idle connections open; do not wait long for them.
		_ = app.ShutdownWithTimeout(time.Second)
		// A test that ends at once (skipped: no Chromium) may shut down before
		// the server has started serving; closing the listener stops it then.
		_ = ln.Close()
		<-done
	})
	return "http://" + ln.Addr().String()
}

// Violation is one axe-core rule a page breaks.
type Violation struct {
	ID      string `json:"id"`
	Impact  string `json:"impact"`
	Help    string `json:"help"`
	HelpURL string `json:"helpUrl"`
	Nodes   []struct {
		Target []any  `json:"target"`
		HTML   string `json:"html"`
	} `json:"nodes"`
}

// Blocking are the axe impacts that fail a test.
var Blocking = []string{"serious", "critical"}

// A11y injects axe-core into the page of ctx and returns every violation.
func A11y(ctx context.Context) ([]Violation, error) {
	// Injected and run in one evaluation, so a navigation cannot come between.
	run := axeSource + `;
	axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v =>
		({id: v.id, impact: v.impact || "", help: v.help, helpUrl: v.helpUrl,
		  nodes: v.nodes.map(n => ({target: n.target, html: n.html}))})))`
	out, err := chromedp.Run(ctx, chromedp.Evaluate[[]Violation](run, chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, fmt.Errorf("browsertest: run axe-core (JavaScript must be on in this tab): %w", err)
	}
	return out, nil
}

// CheckA11y fails the test for every serious or critical axe-core violation
// of the page shown in ctx; minor and moderate ones are logged.
func CheckA11y(t testing.TB, ctx context.Context) {
	t.Helper()
	vs, err := A11y(ctx)
	if err != nil {
		t.Fatal(err)
	}
	url, _ := chromedp.Run(ctx, chromedp.Location())
	t.Logf("axe-core checked %s: %d rules broken", url, len(vs))
	for _, v := range vs {
		var nodes []string
		for i, n := range v.Nodes {
			if i == 5 {
				nodes = append(nodes, fmt.Sprintf("… and %d more", len(v.Nodes)-5))
				break
			}
			nodes = append(nodes, fmt.Sprintf("%v %s", n.Target, n.HTML))
		}
		msg := fmt.Sprintf("axe %s (%s) on %s: %s\n  %s\n  %s", v.ID, v.Impact, url, v.Help, v.HelpURL, strings.Join(nodes, "\n  "))
		blocking := false
		for _, b := range Blocking {
			blocking = blocking || v.Impact == b
		}
		if blocking {
			t.Error(msg)
		} else {
			t.Log(msg)
		}
	}
}
