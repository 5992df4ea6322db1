package browsertest_test

import (
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/gofiber/fiber/v2"

	"github.com/loket-kinderopvang/loket/internal/platform/browsertest"
)

func TestMain(m *testing.M) { browsertest.Main(m) }

const good = `<!DOCTYPE html><html lang="nl"><head><title>Goed</title></head><body><main><h1>Goed</h1>
<form><label for="n">Naam</label><input id="n" name="n"><button type="submit">Verstuur</button></form></main></body></html>`

// bad has an image without text and a button without a name: critical for axe.
const bad = `<!DOCTYPE html><html lang="nl"><head><title>Slecht</title></head><body><main><h1>Slecht</h1>
<img src="/x.png"><button type="button"></button><input name="q"></main></body></html>`

func TestA11yFindsViolations(t *testing.T) {
	app := fiber.New()
	app.Get("/good", func(c *fiber.Ctx) error { c.Type("html"); return c.SendString(good) })
	app.Get("/bad", func(c *fiber.Ctx) error { c.Type("html"); return c.SendString(bad) })
	base := browsertest.Serve(t, app)
	ctx := browsertest.Tab(t)

	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/good")); err != nil {
		t.Fatal(err)
	}
	browsertest.CheckA11y(t, ctx)

	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/bad")); err != nil {
		t.Fatal(err)
	}
	vs, err := browsertest.A11y(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]string{}
	for _, v := range vs {
		found[v.ID] = v.Impact
	}
	for _, id := range []string{"image-alt", "button-name", "label"} {
		if found[id] != "critical" {
			t.Errorf("axe did not report %s as critical: %v", id, found)
		}
	}
}

func TestNoScriptTab(t *testing.T) {
	app := fiber.New()
	app.Get("/", func(c *fiber.Ctx) error {
		c.Type("html")
		return c.SendString(`<!DOCTYPE html><html lang="en"><head><title>x</title></head><body><p id="p">static</p>
<script>document.getElementById("p").textContent = "scripted"</script></body></html>`)
	})
	base := browsertest.Serve(t, app)
	ctx := browsertest.NoScriptTab(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/")); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("p")))
	if err != nil {
		t.Fatal(err)
	}
	if text != "static" {
		t.Fatalf("JavaScript ran in a no-script tab: %q", text)
	}
}
