package app

import (
	"context"
	"errors"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/loket-kinderopvang/loket/internal/access"
	"github.com/loket-kinderopvang/loket/internal/account"
	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/eventlog"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

// WorkRoutes are the staff pages of issue 20 in the authorisation table:
// every account has a home; free places belong to the provider's staff.
var WorkRoutes = []RouteCase{
	{Method: "GET", Path: "/werk", OK: 200, Platform: true, Allow: AllVariants(authz.Operator, authz.DeskAdmin, authz.DeskWorker,
		authz.Partner, authz.ProviderAdmin, authz.ProviderStaff, authz.RegionalCoordinator)},
	{Method: "GET", Path: "/aanbieder/{provider}/plaatsen/{location}", OK: 200, Allow: OwnOnly(authz.ProviderAdmin, authz.ProviderStaff)},
	{Method: "POST", Path: "/aanbieder/{provider}/plaatsen/{location}", Form: url.Values{"places-2000-01-baby": {"x"}}, OK: 303,
		Allow: OwnOnly(authz.ProviderAdmin, authz.ProviderStaff)},
}

// TestSignInLandsOnWorkHome: after signing in, every role lands on its home
// (/werk), not on the account page (issue 20, point 1).
func TestSignInLandsOnWorkHome(t *testing.T) {
	a, srv := newApp(t, dbtest.NewTarget(t, db.SQLite))
	if _, err := a.Seed(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, role := range MatrixRoles[:len(MatrixRoles)-1] {
		b := NewBrowser(t, srv.App)
		u, err := a.Users.Store().ByEmail(context.Background(), DemoEmails[role])
		if err != nil {
			t.Fatal(err)
		}
		r := b.Post(account.PathSignIn, url.Values{"email": {u.Email}, "password": {DemoPassword}})
		if r.Header.Get("Location") == account.PathSignInCode {
			code, _ := account.TOTPCode(u.TOTPSecret.String(), time.Now())
			r = b.Do(http.MethodPost, account.PathSignInCode, url.Values{"code": {code}, "csrf_token": {b.Token(account.PathSignInCode)}})
		}
		if got := r.Header.Get("Location"); r.Status != http.StatusSeeOther || got != "/werk" {
			t.Errorf("%s signs in to %d %q, want 303 /werk", role, r.Status, got)
		}
	}
}

// TestWorkHomePerRole: the home lists what each account may act for, with
// the numbers that need attention as links to the work, and no internal id
// in any text (ids only inside links).
func TestWorkHomePerRole(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		w := newDemoWorld(t, tg)
		ctx := context.Background()
		a := w.a
		// One Leuven request for a vulnerable family, still to be checked.
		desk := tenancy.WithTenant(ctx, leuvenID(t, a))
		_, loc, _ := a.Catalog.LargestProvider(ctx, catalog.DemoDossierPrefix)
		r, _, _, err := a.Requests.Submit(desk, deskSub(t, a, "leuven", "Vera", "Thuiswerk", "vera@ouders.example", loc.String()),
			requests.Actor{Kind: requests.ActorDesk, ID: "test"}, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Requests.SetVulnerable(desk, r.ID, true, requests.Actor{Kind: requests.ActorDesk, ID: "test"}); err != nil {
			t.Fatal(err)
		}
		home := func(role authz.Role) string {
			t.Helper()
			p := w.browsers[role].Get("/werk?lang=nl")
			if p.Status != 200 {
				t.Fatalf("%s: /werk %d", role, p.Status)
			}
			return p.Body
		}
		worker := home(authz.DeskWorker)
		for _, want := range []string{"Leuven", `href="/leuven/loket"`, `href="/leuven/loket?attention=vulnerable"`,
			`<span class="n">1</span> <span class="t">kwetsbare gezinnen wachten`, `<span class="n">1</span> <span class="t">nieuwe aanvragen`, `href="/leuven/loket/cijfers"`} {
			if !strings.Contains(worker, want) {
				t.Errorf("desk worker's home lacks %q", want)
			}
		}
		if strings.Contains(worker, `href="/leuven/beheer/medewerkers"`) {
			t.Error("a desk worker's home links to staff administration")
		}
		if !strings.Contains(home(authz.DeskAdmin), `href="/leuven/beheer/medewerkers"`) {
			t.Error("the desk admin's home has no link to the staff page")
		}
		// A partner sees the desk and her worklist, not the desk's numbers.
		if p := home(authz.Partner); !strings.Contains(p, `href="/leuven/loket"`) || strings.Contains(p, "kwetsbare gezinnen") {
			t.Errorf("partner's home:\n%s", p)
		}
		provider, _, _ := a.Catalog.LargestProvider(ctx, catalog.DemoDossierPrefix)
		staff := home(authz.ProviderStaff)
		for _, want := range []string{`href="/aanbieder/` + provider.String() + `/aanvragen"`,
			`href="/aanbieder/` + provider.String() + `/plaatsen/` + loc.String() + `"`, "wachten op uw antwoord"} {
			if !strings.Contains(staff, want) {
				t.Errorf("provider staff's home lacks %q", want)
			}
		}
		if strings.Contains(staff, "U beheert geen organisator") {
			t.Error("provider staff told they manage no provider")
		}
		if p := home(authz.RegionalCoordinator); !strings.Contains(p, `href="/regio/13000/cijfers"`) {
			t.Errorf("regional coordinator's home has no regional figures")
		}
		for _, role := range MatrixRoles[:len(MatrixRoles)-1] {
			if text := visibleText(home(role)); uuidRE.MatchString(text) {
				t.Errorf("%s's home shows an id: %q", role, uuidRE.FindString(text))
			}
		}
	})
}

// TestStaffMenu: every staff page carries one menu, its items following the
// account's permissions, with the sign-out form.
func TestStaffMenu(t *testing.T) {
	w := newDemoWorld(t)
	nav := func(role authz.Role, path string) string {
		t.Helper()
		p := w.browsers[role].Get(path)
		i := strings.Index(p.Body, `<nav class="staff-nav"`)
		if p.Status != 200 || i < 0 {
			t.Fatalf("%s %s: %d, menu at %d", role, path, p.Status, i)
		}
		return p.Body[i : i+strings.Index(p.Body[i:], "</nav>")]
	}
	worker := nav(authz.DeskWorker, "/leuven/loket?lang=nl")
	for _, want := range []string{`href="/werk" aria-current="page"`, `href="/leuven/loket/cijfers"`, `href="/account"`, `action="/afmelden"`} {
		if !strings.Contains(worker, want) {
			t.Errorf("worker's menu lacks %q:\n%s", want, worker)
		}
	}
	if strings.Contains(worker, "/beheer") {
		t.Errorf("worker's menu offers administration:\n%s", worker)
	}
	if admin := nav(authz.DeskAdmin, "/leuven/beheer/medewerkers?lang=nl"); !strings.Contains(admin, `href="/leuven/beheer/medewerkers" aria-current="page"`) {
		t.Errorf("desk admin's menu:\n%s", admin)
	}
	if region := nav(authz.RegionalCoordinator, "/werk"); !strings.Contains(region, `href="/regio/13000/cijfers"`) || strings.Contains(region, "rondes") {
		t.Errorf("coordinator's menu:\n%s", region)
	}
	if p := NewBrowser(t, w.srv.App).Get("/leuven"); strings.Contains(p.Body, "staff-nav") {
		t.Error("an anonymous visitor gets the staff menu")
	}
}

// TestFreePlacesGrid: a provider keeps a location's free places on the web
// (issue 20, point 2): one grid saved at once, each wrong cell named with
// its typed value kept, months and age groups in words, the reminder when
// figures are old, and copying last month forward.
func TestFreePlacesGrid(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		w := newDemoWorld(t, tg)
		ctx := context.Background()
		a := w.a
		provider, loc, _ := a.Catalog.LargestProvider(ctx, catalog.DemoDossierPrefix)
		path := "/aanbieder/" + provider.String() + "/plaatsen/" + loc.String()
		b := w.browsers[authz.ProviderStaff]
		now := time.Now()
		this := now.Format("2006-01")
		next := now.AddDate(0, 1, 0).Format("2006-01")
		for _, lang := range []string{"nl", "fr", "en"} {
			p := b.Get(path + "?lang=" + lang)
			if p.Status != 200 {
				t.Fatalf("%s: %d", lang, p.Status)
			}
			month := map[string]string{"nl": "december", "fr": "décembre", "en": "December"}
			band := map[string]string{"nl": "Peuters (18 maanden of ouder)", "fr": "Petits enfants (18 mois ou plus)", "en": "Toddlers (18 months or older)"}
			if !strings.Contains(p.Body, band[lang]) || (now.Month() == time.December && !strings.Contains(p.Body, month[lang])) {
				t.Errorf("%s grid without months or age groups in words", lang)
			}
			if text := visibleText(p.Body); uuidRE.MatchString(text) || strings.Contains(text, "|") {
				t.Errorf("%s grid shows an id or a key: %q", lang, text)
			}
		}
		// Old figures: the reminder.
		if err := a.Catalog.SetAvailability(ctx, "test", catalog.AvailabilityChange{LocationID: loc, StartMonth: now.AddDate(0, -1, 0).Format("2006-01"),
			AgeBand: catalog.Baby, FreePlaces: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.DB.NewUpdate().Model((*catalog.Availability)(nil)).Set("changed_at = ?", now.AddDate(0, -2, 0)).
			Where("location_id = ?", loc).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := a.DB.NewDelete().Model((*catalog.Availability)(nil)).Where("location_id = ? AND start_month >= ?", loc, this).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if p := b.Get(path + "?lang=nl"); !strings.Contains(p.Body, `id="places-reminder"`) {
			t.Error("no reminder for figures older than a month")
		}
		// Copy last month forward: this month's empty baby cell takes last month's 1.
		var before []catalog.AvailabilityEvent
		before, _ = a.Catalog.AvailabilityHistory(ctx, loc)
		p := b.Post(path+"?lang=nl", url.Values{"action": {"copy"}})
		if !strings.Contains(p.Body, `id="places-`+this+`-baby" name="places-`+this+`-baby" value="1"`) {
			t.Errorf("copy forward did not fill this month:\n%s", p.Body)
		}
		if after, _ := a.Catalog.AvailabilityHistory(ctx, loc); len(after) != len(before) {
			t.Error("copy forward saved figures")
		}
		// Two wrong cells and one right one: nothing saved, both errors linked, values kept.
		p = b.Post(path+"?lang=nl", url.Values{"action": {"save"}, "places-" + this + "-baby": {"twee"},
			"places-" + next + "-toddler": {"500"}, "places-" + next + "-baby": {"2"}})
		if p.Status != http.StatusUnprocessableEntity {
			t.Fatalf("wrong cells: %d", p.Status)
		}
		for _, want := range []string{`href="#places-` + this + `-baby"`, `href="#places-` + next + `-toddler"`,
			`value="twee"`, `value="500"`, `name="places-` + next + `-baby" value="2"`, `aria-describedby="err-places-` + this + `-baby"`} {
			if !strings.Contains(p.Body, want) {
				t.Errorf("after errors the page lacks %q", want)
			}
		}
		if after, _ := a.Catalog.AvailabilityHistory(ctx, loc); len(after) != len(before) {
			t.Error("a grid with errors saved some figures")
		}
		// All right: saved at once, one event per figure, back with a notice.
		p = b.Post(path+"?lang=nl", url.Values{"action": {"save"}, "places-" + this + "-baby": {"2"}, "places-" + next + "-toddler": {"1"}})
		if p.Status != http.StatusSeeOther {
			t.Fatalf("save: %d\n%s", p.Status, p.Body)
		}
		after, _ := a.Catalog.AvailabilityHistory(ctx, loc)
		if len(after) != len(before)+2 {
			t.Errorf("%d events after saving two figures, want %d", len(after), len(before)+2)
		}
		if p := b.Get(path + "?lang=nl&bewaard=1"); strings.Contains(p.Body, `id="places-reminder"`) || !strings.Contains(p.Body, "bewaard") {
			t.Error("after saving: still a reminder or no notice")
		}
	})
}

var (
	uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	tagRE  = regexp.MustCompile(`(?s)<[^>]*>`)
)

// visibleText is the text of a page a person reads: the body without tags
// (so without the ids inside links and form actions).
func visibleText(page string) string {
	if i := strings.Index(page, "<body"); i >= 0 {
		page = page[i:]
	}
	return html.UnescapeString(tagRE.ReplaceAllString(page, " "))
}

// TestProviderAnswerPage: the provider's answer asks only what each kind of
// answer needs, prefills an offer from the family's request, and after an
// error keeps every typed value with each error linked to its field (issue
// 20, point 9).
func TestProviderAnswerPage(t *testing.T) {
	w := newDemoWorld(t)
	ctx := context.Background()
	a := w.a
	provider, loc, _ := a.Catalog.LargestProvider(ctx, catalog.DemoDossierPrefix)
	desk := tenancy.WithTenant(ctx, leuvenID(t, a))
	sub := deskSub(t, a, "leuven", "Antwoordkind", "Vraagmans", "antwoord@ouders.example", loc.String())
	sub.CarePlan.Days = []string{"mon", "wed", "thu"}
	r, _, _, err := a.Requests.Submit(desk, sub, requests.Actor{Kind: requests.ActorDesk, ID: "test"}, "")
	if err != nil {
		t.Fatal(err)
	}
	b := w.browsers[authz.ProviderStaff]
	inbox := "/aanbieder/" + provider.String() + "/aanvragen"
	page := inbox + "/leuven/" + r.ID.String() + "/1"
	if p := b.Get(inbox + "?lang=nl"); !strings.Contains(p.Body, `href="`+page+`?antwoord=offer"`) {
		t.Fatalf("the inbox does not link to the answer page:\n%s", p.Body)
	}
	get := func(kind string) string {
		t.Helper()
		p := b.Get(page + "?lang=nl&antwoord=" + kind)
		if p.Status != 200 {
			t.Fatalf("answer page %s: %d", kind, p.Status)
		}
		return p.Body
	}
	for _, kind := range []string{"waiting_list", "no_place"} {
		if p := get(kind); strings.Contains(p, `name="offer_start"`) || strings.Contains(p, `name="offer_days"`) {
			t.Errorf("a %s answer asks for the offer's date or days", kind)
		}
	}
	if p := get("no_place"); !strings.Contains(p, `<select id="reason" name="reason"`) {
		t.Error("no place without the reason")
	}
	offer := get("offer")
	for _, want := range []string{`name="offer_start" value="` + sub.DesiredStart + `"`, `id="offer_days-mon" name="offer_days" value="mon" checked`,
		`id="offer_days-wed" name="offer_days" value="wed" checked`, `id="offer_days-thu" name="offer_days" value="thu" checked`} {
		if !strings.Contains(offer, want) {
			t.Errorf("the offer is not prefilled from the family's plan: no %q", want)
		}
	}
	if strings.Contains(offer, `value="tue" checked`) {
		t.Error("a day the family did not ask for is ticked")
	}
	// An offer with a date in the past and no days: both errors linked, values kept.
	past := time.Now().AddDate(0, 0, -3).Format("2006-01-02")
	p := b.Post(page+"?lang=nl", url.Values{"kind": {"offer"}, "offer_start": {past}})
	if p.Status != http.StatusUnprocessableEntity {
		t.Fatalf("bad offer: %d", p.Status)
	}
	for _, want := range []string{`href="#offer_start"`, `href="#offer_days-mon"`, `name="offer_start" value="` + past + `"`,
		`aria-describedby="hint-offer_start err-offer_start"`, `id="err-offer_days"`, `name="kind" value="offer"`} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("after the error the page lacks %q", want)
		}
	}
	if strings.Contains(p.Body, `value="mon" checked`) {
		t.Error("days the provider had unticked came back")
	}
	// A no-place answer without a reason keeps the choice and links the error.
	p = b.Post(page+"?lang=nl", url.Values{"kind": {"no_place"}})
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `href="#reason"`) || !strings.Contains(p.Body, `aria-describedby="err-reason"`) {
		t.Errorf("no place without a reason: %d", p.Status)
	}
}

// TestDangerousActionsAskFirst: accepting an offer, revoking an API key,
// removing a role and removing an operator never happen in one click: the
// bare post leads to a question (a page without JavaScript), and only its
// form acts (issue 20, point 8).
func TestDangerousActionsAskFirst(t *testing.T) {
	a, srv := newApp(t, dbtest.NewTarget(t, db.SQLite))
	ctx := context.Background()
	if _, err := a.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	t.Run("accept an offer", func(t *testing.T) {
		locs := parentLocations(t, a.Catalog, 3)
		b := NewBrowser(t, srv.App)
		path := registerByForm(t, b, locs)
		desk := tenancy.WithTenant(ctx, leuvenID(t, a))
		_, id, err := a.Requests.OpenStatusToken(desk, strings.TrimPrefix(path, "/leuven/aanvraag/"))
		if err != nil {
			t.Fatal(err)
		}
		offer(t, a, id, 2)
		status := b.Get(path)
		if !strings.Contains(status.Body, `<dialog class="confirm" id="confirm-accept-2"`) || !strings.Contains(status.Body, `data-confirm="confirm-accept-2"`) {
			t.Error("the status page has no dialog for the question")
		}
		csrf := hiddenFields(status.Body).Get("csrf_token")
		r := b.Do(http.MethodPost, path+"/aanvaarden", url.Values{"rank": {"2"}, "csrf_token": {csrf}})
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != path+"/aanvaarden?rank=2" {
			t.Fatalf("one click: %d %q", r.Status, r.Header.Get("Location"))
		}
		if req, _ := a.Requests.Get(desk, id); req.Status == requests.StatusPlaced {
			t.Fatal("one click accepted the offer")
		}
		q := b.Get(path + "/aanvaarden?rank=2&lang=nl")
		names := 0
		for _, n := range []string{"Zonnebloem A", "Zonnebloem B", "Zonnebloem C"} {
			if strings.Contains(q.Body, n) {
				names++
			}
		}
		if q.Status != 200 || !strings.Contains(q.Body, "Zeker dat u deze plaats aanvaardt?") || names != 3 {
			t.Fatalf("question: %d, %d location names (the offer and the two that close)\n%s", q.Status, names, q.Body)
		}
		r = b.Do(http.MethodPost, path+"/aanvaarden", url.Values{"rank": {"2"}, "confirm": {"yes"}, "csrf_token": {csrf}})
		if req, _ := a.Requests.Get(desk, id); r.Status != http.StatusSeeOther || req.Status != requests.StatusPlaced {
			t.Fatalf("confirmed accept: %d, status %s", r.Status, req.Status)
		}
	})
	t.Run("revoke an API key", func(t *testing.T) {
		admin := SignInDemo(t, a, srv.App, authz.ProviderAdmin)
		provider, _, _ := a.Catalog.LargestProvider(ctx, catalog.DemoDossierPrefix)
		keys, err := a.Access.Keys(ctx, provider)
		if err != nil || len(keys) == 0 {
			t.Fatalf("demo key: %v", err)
		}
		path := "/aanbieder/" + provider.String() + "/sleutels/" + keys[0].ID.String() + "/intrekken"
		if r := admin.Post(path, url.Values{}); r.Status != http.StatusSeeOther || r.Header.Get("Location") != path {
			t.Fatalf("one click: %d %q", r.Status, r.Header.Get("Location"))
		}
		if keys, _ := a.Access.Keys(ctx, provider); !keys[0].RevokedAt.IsZero() {
			t.Fatal("one click revoked the key")
		}
		if q := admin.Get(path + "?lang=nl"); q.Status != 200 || !strings.Contains(q.Body, "Sleutel Demo-koppeling intrekken?") {
			t.Fatalf("question: %d", q.Status)
		}
		if r := admin.Post(path, url.Values{"confirm": {"yes"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("confirmed: %d", r.Status)
		}
		if keys, _ := a.Access.Keys(ctx, provider); keys[0].RevokedAt.IsZero() {
			t.Fatal("the confirmed revocation did nothing")
		}
	})
	t.Run("remove a role", func(t *testing.T) {
		admin := SignInDemo(t, a, srv.App, authz.DeskAdmin)
		worker := mustUserID(t, a, authz.DeskWorker)
		path := "/leuven/beheer/medewerkers/" + worker + "/rollen"
		r := admin.Post(path, url.Values{"op": {"remove"}, "role": {"desk_worker"}})
		if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), path+"?op=remove&role=desk_worker") {
			t.Fatalf("one click: %d %q", r.Status, r.Header.Get("Location"))
		}
		if ok, _ := a.Authz.Allowed(worker, authz.Desk("leuven"), authz.RequestsRead); !ok {
			t.Fatal("one click removed the role")
		}
		if q := admin.Get(path + "?op=remove&role=desk_worker&lang=nl"); q.Status != 200 || !strings.Contains(q.Body, "Medewerker Leuven (demo)") {
			t.Fatalf("question: %d", q.Status)
		}
		if r := admin.Post(path, url.Values{"op": {"remove"}, "role": {"desk_worker"}, "confirm": {"yes"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("confirmed: %d", r.Status)
		}
		if ok, _ := a.Authz.Allowed(worker, authz.Desk("leuven"), authz.RequestsRead); ok {
			t.Fatal("the confirmed removal did nothing")
		}
	})
	t.Run("remove an operator", func(t *testing.T) {
		op := SignInDemo(t, a, srv.App, authz.Operator)
		if r := op.Post("/beheer/operators", url.Values{"email": {DemoEmails[authz.RegionalCoordinator]}}); r.Status != http.StatusSeeOther {
			t.Fatalf("add operator: %d", r.Status)
		}
		other := mustUserID(t, a, authz.RegionalCoordinator)
		page := op.Get("/beheer/operators?lang=nl")
		if !strings.Contains(page.Body, `<dialog class="confirm" id="confirm-operator-`+other+`"`) || !strings.Contains(page.Body, `data-confirm="confirm-operator-`+other+`"`) {
			t.Error("the operators page has no dialog for the question")
		}
		path := "/beheer/operators/" + other + "/verwijderen"
		if r := op.Post(path, url.Values{}); r.Status != http.StatusSeeOther || r.Header.Get("Location") != path {
			t.Fatalf("one click: %d %q", r.Status, r.Header.Get("Location"))
		}
		if ok, _ := a.Authz.Allowed(other, authz.Platform, authz.TenantsManage); !ok {
			t.Fatal("one click removed the operator")
		}
		if q := op.Get(path + "?lang=nl"); q.Status != 200 || !strings.Contains(q.Body, "weghalen als beheerder?") {
			t.Fatalf("question: %d\n%s", q.Status, q.Body)
		}
		if r := op.Post(path, url.Values{"confirm": {"yes"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("confirmed: %d", r.Status)
		}
		if ok, _ := a.Authz.Allowed(other, authz.Platform, authz.TenantsManage); ok {
			t.Fatal("the confirmed removal did nothing")
		}
		if r := op.Get("/beheer/operators/" + mustUserID(t, a, authz.Operator) + "/verwijderen"); r.Status != http.StatusNotFound {
			t.Errorf("an operator is asked to remove herself: %d", r.Status)
		}
	})
}

// TestLastDeskAdminKeepsHerRole: the desk's last admin cannot remove her own
// admin role, by the page or the service; with a second admin she can
// (issue 20, point 8).
func TestLastDeskAdminKeepsHerRole(t *testing.T) {
	a, srv := newApp(t, dbtest.NewTarget(t, db.SQLite))
	ctx := context.Background()
	if _, err := a.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	me := mustUserID(t, a, authz.DeskAdmin)
	if err := a.Access.RemoveDeskRole(ctx, "leuven", me, authz.DeskAdmin); !errors.Is(err, access.ErrLastAdmin) {
		t.Fatalf("service: %v, want ErrLastAdmin", err)
	}
	admin := SignInDemo(t, a, srv.App, authz.DeskAdmin)
	r := admin.Post("/leuven/beheer/medewerkers/"+me+"/rollen?lang=nl", url.Values{"op": {"remove"}, "role": {"desk_admin"}, "confirm": {"yes"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "laatste beheerder") || !strings.Contains(r.Body, `href="#staff-list"`) {
		t.Fatalf("last admin removes herself: %d", r.Status)
	}
	if ok, _ := a.Authz.Allowed(me, authz.Desk("leuven"), authz.StaffManage); !ok {
		t.Fatal("the last admin lost her role")
	}
	// With a second admin she may step down (after the question).
	if err := a.Authz.AssignRole(ctx, mustUserID(t, a, authz.DeskWorker), authz.DeskAdmin, authz.Desk("leuven")); err != nil {
		t.Fatal(err)
	}
	r = admin.Post("/leuven/beheer/medewerkers/"+me+"/rollen", url.Values{"op": {"remove"}, "role": {"desk_admin"}, "confirm": {"yes"}})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/werk" {
		t.Fatalf("stepping down with a second admin: %d %q", r.Status, r.Header.Get("Location"))
	}
	if ok, _ := a.Authz.Allowed(me, authz.Desk("leuven"), authz.StaffManage); ok {
		t.Fatal("the role is still there")
	}
}

// TestStaffPagesNameThings: the round page lists children by name and
// request, places by location, month and age group in words; a request's
// history says who (name and role) and what happened in a sentence; no id,
// no programme key, no event code on either page (issue 20, point 3).
func TestStaffPagesNameThings(t *testing.T) {
	w := newDemoWorld(t)
	ctx := context.Background()
	a := w.a
	desk := tenancy.WithTenant(ctx, leuvenID(t, a))
	provider, _, _ := a.Catalog.LargestProvider(ctx, catalog.DemoDossierPrefix)
	var own []catalog.Location
	if err := a.DB.NewSelect().Model(&own).Where("provider_id = ? AND accepts_requests AND max_age_months >= 12", provider).
		OrderExpr("name").Limit(1).Scan(ctx); err != nil || len(own) == 0 {
		t.Fatalf("no location of the demo provider: %v", err)
	}
	start := time.Now().AddDate(0, 2, 0)
	month := start.Format("2006-01")
	if err := a.Catalog.SetAvailability(ctx, "test", catalog.AvailabilityChange{LocationID: own[0].ID, StartMonth: month,
		AgeBand: catalog.Baby, FreePlaces: 1}); err != nil {
		t.Fatal(err)
	}
	worker := mustUserID(t, a, authz.DeskWorker)
	staff := mustUserID(t, a, authz.ProviderStaff)
	var ids []requests.RequestID
	for _, name := range []string{"Noor", "Nand"} {
		sub := deskSub(t, a, "leuven", name, "Naamtest", strings.ToLower(name)+"@ouders.example", own[0].ID.String())
		sub.DesiredStart = start.Format("2006-01-02")
		r, _, _, err := a.Requests.Submit(desk, sub, requests.Actor{Kind: requests.ActorDesk, ID: worker}, "")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	round, err := a.Rounds.DryRun(desk, month, month, "naamtest", worker)
	if err != nil {
		t.Fatal(err)
	}
	b := w.browsers[authz.DeskWorker]
	page := b.Get("/leuven/loket/rondes/" + round.ID.String() + "?lang=nl")
	text := visibleText(page.Body)
	for _, want := range []string{"Noor Naamtest", "Nand Naamtest", "aanvraag van ", own[0].Name} {
		if !strings.Contains(text, want) {
			t.Errorf("round page lacks %q", want)
		}
	}
	if uuidRE.MatchString(text) || strings.Contains(text, "|"+month+"|") {
		t.Errorf("round page shows an id or a programme key: %q", uuidRE.FindString(text))
	}
	// The page names the families: one look at each (#18).
	for _, id := range ids {
		looks := looksAt(t, a, "leuven", id.String())
		if len(looks) != 1 || looks[0].What != eventlog.LookRound || looks[0].Actor != "desk:"+worker {
			t.Errorf("the round page must log one look at %s: %+v", id, looks)
		}
	}
	// Published, the proposed place is on the provider's page, with the
	// child's name: one look at that family, by the provider.
	if n, err := a.Rounds.Publish(desk, round.ID, worker); err != nil || n != 1 {
		t.Fatalf("publish: %d offers (%v)", n, err)
	}
	// The provider's admin: her staff may work at other locations.
	if r := w.browsers[authz.ProviderAdmin].Get("/aanbieder/" + provider.String() + "/rondes"); r.Status != 200 ||
		!strings.Contains(r.Body, "Noor") && !strings.Contains(r.Body, "Nand") {
		t.Fatalf("provider's rounds page: %d, without the proposed child", r.Status)
	}
	proposed := 0
	for _, id := range ids {
		looks := looksAt(t, a, "leuven", id.String())
		if len(looks) == 2 && looks[0].What == eventlog.LookRound && looks[0].Actor == "provider:"+mustUserID(t, a, authz.ProviderAdmin) {
			proposed++
		}
	}
	if proposed != 1 {
		t.Errorf("the provider's page must log one look at the one family proposed, got %d", proposed)
	}
	// History: the worker registered, the provider's staff answered.
	if err := a.Requests.ProviderAnswer(ctx, "leuven", ids[0], 1, []uuid.UUID{own[0].ID.UUID},
		requests.Answer{Kind: requests.AnswerWaitingList}, requests.Actor{Kind: requests.ActorProvider, ID: staff}); err != nil {
		t.Fatal(err)
	}
	page = b.Get("/leuven/loket/aanvragen/" + ids[0].String() + "?lang=nl")
	i := strings.Index(page.Body, `<caption>Geschiedenis`)
	if i < 0 {
		i = strings.Index(page.Body, "deskwork.case.history")
	}
	history := visibleText(page.Body[max(i, 0):])
	for _, want := range []string{"Medewerker Leuven (demo) (", "Registreerde de aanvraag.", "Kinderbegeleider (demo) (",
		"Zette het kind op de wachtlijst van " + own[0].Name} {
		if !strings.Contains(history, want) {
			t.Errorf("history lacks %q:\n%s", want, history)
		}
	}
	for _, leak := range []string{"desk:", "provider:", "request.submitted", "preference.waiting_list", "→"} {
		if strings.Contains(history, leak) {
			t.Errorf("history shows %q", leak)
		}
	}
	if uuidRE.MatchString(history) {
		t.Errorf("history shows an id: %q", uuidRE.FindString(history))
	}
}
