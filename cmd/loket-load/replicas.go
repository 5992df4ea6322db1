package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// replicas checks that two replicas (a and b, on one database and one Redis)
// behave as one: a session made on a works on b and through the proxy; a
// change of free places made on a is in b's next answer (cache invalidation);
// an API key created on a works on b, and revoked on a stops working on b
// (policy reload). It signs in as the demo provider admin.
func replicas(args []string) error {
	fs := flag.NewFlagSet("replicas", flag.ExitOnError)
	a := fs.String("a", "http://127.0.0.1:8081", "replica 1")
	b := fs.String("b", "http://127.0.0.1:8082", "replica 2")
	via := fs.String("via", "", "the proxy in front of both (optional)")
	email := fs.String("email", "aanbieder.beheer@demo.loket.example", "demo provider admin")
	password := fs.String("password", "demo-loket-2026", "demo password")
	within := fs.Duration("within", 2*time.Second, "how soon the other replica must agree")
	_ = fs.Parse(args)
	for _, u := range []string{*a, *b} {
		if err := loopback(u); err != nil {
			return err
		}
	}
	jar, _ := cookiejar.New(nil)
	// Both replicas are 127.0.0.1 on other ports: cookies for one host serve both.
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	csrfRe := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	page := func(u string) (int, string, error) {
		res, err := c.Get(u)
		if err != nil {
			return 0, "", err
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body), nil
	}
	post := func(u, formURL string, form url.Values) (*http.Response, string, error) {
		_, html, err := page(formURL)
		if err != nil {
			return nil, "", err
		}
		m := csrfRe.FindStringSubmatch(html)
		if m == nil {
			return nil, "", fmt.Errorf("no CSRF token on %s", formURL)
		}
		form.Set("csrf_token", m[1])
		res, err := c.PostForm(u, form)
		if err != nil {
			return nil, "", err
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res, string(body), nil
	}
	report := map[string]any{}

	// 1. Sessions.
	res, _, err := post(*a+"/aanmelden", *a+"/aanmelden", url.Values{"email": {*email}, "password": {*password}})
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusSeeOther && res.StatusCode != http.StatusFound {
		return fmt.Errorf("sign-in on replica 1 answered %d", res.StatusCode)
	}
	targets := []string{*b}
	if *via != "" {
		targets = append(targets, *via, *via)
	}
	for _, t := range targets {
		if code, _, err := page(t + "/account"); err != nil || code != http.StatusOK {
			return fmt.Errorf("session made on replica 1 refused at %s: %d %v", t, code, err)
		}
	}
	report["session_shared"] = true

	// 2. A new API key, created on replica 1, used on replica 2; then revoked.
	_, html, err := page(*a + "/aanbieder")
	if err != nil {
		return err
	}
	pm := regexp.MustCompile(`/aanbieder/([0-9a-f-]{36})/`).FindStringSubmatch(html)
	if pm == nil {
		return errors.New("the provider admin sees no provider")
	}
	keysURL := *a + "/aanbieder/" + pm[1] + "/sleutels"
	_, html, err = page(keysURL)
	if err != nil {
		return err
	}
	// The key form lists the provider's locations (to limit a key to some).
	lm := regexp.MustCompile(`name="locations" value="([0-9a-f-]{36})"`).FindStringSubmatch(html)
	if lm == nil {
		return errors.New("the key form lists no location of the provider")
	}
	loc := lm[1]
	_, html, err = post(keysURL, keysURL, url.Values{"name": {"Replica-test"}})
	if err != nil {
		return err
	}
	key := regexp.MustCompile(`lk_[A-Za-z0-9_-]{20,}`).FindString(html)
	if key == "" {
		return errors.New("no key shown after creating one")
	}
	month := time.Now().AddDate(0, 3, 0).Format("2006-01")
	free := 1 + int(time.Now().UnixNano()%5)
	// Warm both replicas' caches with the old answer first.
	_ = availabilityIs(*a, loc, month, -1)
	_ = availabilityIs(*b, loc, month, -1)
	start := time.Now()
	if err := until(*within, func() error { return putPlaces(*b, key, loc, month, free, http.StatusNoContent) }); err != nil {
		return fmt.Errorf("a key created on replica 1 does not work on replica 2: %w", err)
	}
	report["new_key_on_other_replica_ms"] = time.Since(start).Milliseconds()

	// 3. Cache invalidation: the change made on b is in a's answer.
	start = time.Now()
	if err := until(*within, func() error { return availabilityIs(*a, loc, month, free) }); err != nil {
		return fmt.Errorf("replica 1 still answers the old free places: %w", err)
	}
	report["cache_invalidated_ms"] = time.Since(start).Milliseconds()

	// 4. Revoke on a: b refuses the key.
	_, html, err = page(keysURL)
	if err != nil {
		return err
	}
	km := regexp.MustCompile(`action="(/aanbieder/[^"]+/sleutels/[^"/]+/intrekken)"`).FindAllStringSubmatch(html, -1)
	if len(km) == 0 {
		return errors.New("no revoke form")
	}
	for _, m := range km {
		if _, _, err := post(*a+m[1], keysURL, url.Values{}); err != nil {
			return err
		}
		if putPlaces(*b, key, loc, month, free, http.StatusUnauthorized) == nil {
			break // that was our key (the demo key may be listed too)
		}
	}
	start = time.Now()
	if err := until(*within, func() error { return putPlaces(*b, key, loc, month, free, http.StatusUnauthorized) }); err != nil {
		return fmt.Errorf("a key revoked on replica 1 still works on replica 2: %w", err)
	}
	report["revoked_key_refused_ms"] = time.Since(start).Milliseconds()
	out, _ := json.Marshal(report)
	fmt.Println(string(out))
	return nil
}

func until(within time.Duration, fn func() error) error {
	deadline := time.Now().Add(within)
	for {
		err := fn()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func putPlaces(base, key, loc, month string, free, want int) error {
	body := fmt.Sprintf(`[{"start_month":%q,"age_band":"baby","free_places":%d}]`, month, free)
	req, _ := http.NewRequest(http.MethodPut, base+"/api/v1/locations/"+loc+"/availability", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != want {
		b, _ := io.ReadAll(res.Body)
		return fmt.Errorf("PUT availability: %d, want %d: %s", res.StatusCode, want, b)
	}
	return nil
}

// availabilityIs reads the region answer (the cached one) of either demo
// region and checks the location's free places there.
func availabilityIs(base, loc, month string, free int) error {
	for _, region := range []string{"24000", "13000"} {
		res, err := http.Get(base + "/api/v1/availability?region=" + region + "&month=" + month + "&age_band=baby")
		if err != nil {
			return err
		}
		var ans struct {
			Municipalities []struct {
				Locations []struct {
					LocationID string `json:"location_id"`
					FreePlaces int    `json:"free_places"`
				} `json:"locations"`
			} `json:"municipalities"`
		}
		err = json.NewDecoder(res.Body).Decode(&ans)
		res.Body.Close()
		if err != nil {
			return err
		}
		for _, m := range ans.Municipalities {
			for _, l := range m.Locations {
				if l.LocationID == loc {
					if l.FreePlaces != free {
						return fmt.Errorf("location %s shows %d free places, want %d", loc, l.FreePlaces, free)
					}
					return nil
				}
			}
		}
	}
	return fmt.Errorf("location %s is in neither region's answer", loc)
}
