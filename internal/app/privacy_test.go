package app

// Issue 18: privacy by design. Every look at a family's data is logged
// (point 3).

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/loket-kinderopvang/loket/internal/access"
	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/crisis"
	"github.com/loket-kinderopvang/loket/internal/eventlog"
	"github.com/loket-kinderopvang/loket/internal/mail"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

// looksAt returns the access events of the family of request id in desk slug.
func looksAt(t *testing.T, a *App, slug, id string) []eventlog.Access {
	t.Helper()
	ctx := deskCtx(t, a, slug)
	cs, err := a.Requests.Case(ctx, requests.RequestID{UUID: uuid.MustParse(id)})
	if err != nil {
		t.Fatal(err)
	}
	looks, err := a.Requests.Looks(ctx, cs.Family.ID.UUID)
	if err != nil {
		t.Fatal(err)
	}
	return looks
}

// TestEveryLookIsLogged: each role's read of a family's page (desk worker
// and admin, partner, provider admin and staff in the inbox and on the
// answer page, the desk's worklist), and an API key's read of the inbox,
// writes exactly one access event naming who, which request and which
// agreement; the coordinator and the operator cannot read it; the desk's admin sees them on the
// request page; the application role cannot change or remove them.
func TestEveryLookIsLogged(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		w := newDemoWorld(t, tg)
		addRequestValues(t, w)
		own, shared := w.values[Own], w.values[Shared]
		id := own["request"]
		if n := len(looksAt(t, w.a, "leuven", id)); n != 0 {
			t.Fatalf("%d looks before anyone looked", n)
		}
		key, token, err := w.a.Access.CreateKey(context.Background(), access.NewKey{Provider: catalog.ProviderID{UUID: uuid.MustParse(own["provider"])},
			Name: "Eigen systeem", Actor: "test"})
		if err != nil {
			t.Fatal(err)
		}
		reads := []struct {
			name, actor, what string
			read              func() Resp
		}{
			{"desk worker", "desk:" + mustUserID(t, w.a, authz.DeskWorker), eventlog.LookCase,
				func() Resp { return w.browsers[authz.DeskWorker].Get("/leuven/loket/aanvragen/" + id) }},
			{"desk admin", "desk:" + mustUserID(t, w.a, authz.DeskAdmin), eventlog.LookCase,
				func() Resp { return w.browsers[authz.DeskAdmin].Get("/leuven/loket/aanvragen/" + id) }},
			{"desk worker, worklist", "desk:" + mustUserID(t, w.a, authz.DeskWorker), eventlog.LookWorklist,
				func() Resp { return w.browsers[authz.DeskWorker].Get("/leuven/loket") }},
			{"partner", "partner:" + mustUserID(t, w.a, authz.Partner), eventlog.LookCase,
				func() Resp { return w.browsers[authz.Partner].Get("/leuven/loket/aanvragen/" + id) }},
			{"provider staff, inbox", "provider:" + mustUserID(t, w.a, authz.ProviderStaff), eventlog.LookInbox,
				func() Resp {
					return w.browsers[authz.ProviderStaff].Get("/aanbieder/" + own["provider"] + "/aanvragen")
				}},
			{"provider admin, inbox", "provider:" + mustUserID(t, w.a, authz.ProviderAdmin), eventlog.LookInbox,
				func() Resp {
					return w.browsers[authz.ProviderAdmin].Get("/aanbieder/" + own["provider"] + "/aanvragen")
				}},
			{"provider staff, answer page", "provider:" + mustUserID(t, w.a, authz.ProviderStaff), eventlog.LookAnswer,
				func() Resp {
					return w.browsers[authz.ProviderStaff].Get("/aanbieder/" + own["provider"] + "/aanvragen/leuven/" + id + "/1")
				}},
			{"API key", "provider:" + key.Subject(), eventlog.LookAPIInbox,
				func() Resp {
					return w.browsers[Anonymous].Do("GET", "/api/v1/providers/"+own["provider"]+"/inbox", nil, "Authorization", "Bearer "+token)
				}},
		}
		for _, r := range reads {
			before := len(looksAt(t, w.a, "leuven", id))
			if res := r.read(); res.Status != 200 {
				t.Fatalf("%s: %d", r.name, res.Status)
			}
			looks := looksAt(t, w.a, "leuven", id)
			if len(looks) != before+1 {
				t.Errorf("%s: %d access events, want exactly one more than %d", r.name, len(looks), before)
				continue
			}
			l := looks[0]
			if l.Actor != r.actor || l.What != r.what || l.RequestID == nil || l.RequestID.String() != id || l.Agreement != "" {
				t.Errorf("%s: logged %+v, want actor %s, what %s, request %s", r.name, l, r.actor, r.what, id)
			}
		}

		// The region's coordinator and the platform's operator see
		// aggregates, never a family: their read of the page is refused and
		// logs nothing (were it allowed, it would have to log one look).
		for _, role := range []authz.Role{authz.RegionalCoordinator, authz.Operator} {
			before := len(looksAt(t, w.a, "leuven", id))
			res := w.browsers[role].Get("/leuven/loket/aanvragen/" + id)
			after := len(looksAt(t, w.a, "leuven", id))
			if (res.Status == 200 && after != before+1) || (res.Status != 200 && after != before) {
				t.Errorf("%s: status %d, %d looks after %d", role, res.Status, after, before)
			}
			if res.Status == 200 {
				t.Errorf("%s reads a family's page", role)
			}
		}

		// A crisis closure of a location in Leuven: the desk's list of
		// affected families is a look at each.
		inLeuven := locationIn(t, w.a, "leuven", true)
		affected := submitAt(t, w.a, "leuven", deskSub(t, w.a, "leuven", "Crisiskind", "Sluiting", "sluiting@ouders.example", inLeuven),
			requests.Actor{ID: "test", Kind: requests.ActorDesk}).ID.String()
		cl, err := w.a.Crisis.Declare(deskCtx(t, w.a, "leuven"), crisis.Declaration{LocationID: inLeuven,
			From: time.Now().AddDate(0, 0, 1).Format("2006-01-02"), Reason: "Waterschade"}, requests.Actor{Kind: requests.ActorSystem})
		if err != nil {
			t.Fatal(err)
		}
		before := len(looksAt(t, w.a, "leuven", affected))
		if res := w.browsers[authz.DeskWorker].Get(crisis.PathOf("leuven") + "/" + cl.ID.String()); res.Status != 200 {
			t.Fatalf("crisis page: %d", res.Status)
		}
		if looks := looksAt(t, w.a, "leuven", affected); len(looks) != before+1 || looks[0].What != eventlog.LookCrisis {
			t.Errorf("crisis page: %d looks, want %d, the newest a crisis list", len(looks), before+1)
		}

		// Through the demo agreement Leuven's worker reads a Turnhout request:
		// Turnhout's log names the agreement and Leuven. (The provider's
		// inbox above showed it too: it lists the demo location.)
		before = len(looksAt(t, w.a, DemoSharingFrom, shared["request"]))
		if res := w.browsers[authz.DeskWorker].Get("/" + DemoSharingFrom + "/loket/aanvragen/" + shared["request"]); res.Status != 200 {
			t.Fatalf("shared read: %d", res.Status)
		}
		if looks := looksAt(t, w.a, DemoSharingFrom, shared["request"]); len(looks) != before+1 || looks[0].Agreement == "" || looks[0].ViaDesk != "leuven" {
			t.Errorf("read through the agreement: %+v, want one look naming the agreement and Leuven", looks)
		}

		// The desk's admin sees who looked, by name; a worker does not.
		names, err := w.a.peopleNamed(context.Background(), []string{mustUserID(t, w.a, authz.DeskWorker)})
		if err != nil {
			t.Fatal(err)
		}
		page := w.browsers[authz.DeskAdmin].Get("/leuven/loket/aanvragen/" + id)
		i := strings.Index(page.Body, `id="looks"`)
		if page.Status != 200 || i < 0 || !strings.Contains(page.Body[i:], names[mustUserID(t, w.a, authz.DeskWorker)]) ||
			!strings.Contains(page.Body[i:], "de aanvraag opgehaald via het systeem van de opvang") {
			t.Errorf("the admin's request page must show who looked (%d)", page.Status)
		}
		if page := w.browsers[authz.DeskWorker].Get("/leuven/loket/aanvragen/" + id); strings.Contains(page.Body, `id="looks"`) {
			t.Error("a desk worker must not see who looked")
		}

		// The admin puts the family on legal hold; a worker may not.
		if res := w.browsers[authz.DeskWorker].Post("/leuven/loket/aanvragen/"+id+"/bewaren", url.Values{"hold": {"1"}}); res.Status != 404 {
			t.Errorf("a worker's legal hold: %d, want 404", res.Status)
		}
		if res := w.browsers[authz.DeskAdmin].Post("/leuven/loket/aanvragen/"+id+"/bewaren", url.Values{"hold": {"1"}}); res.Status != 303 {
			t.Errorf("the admin's legal hold: %d, want 303", res.Status)
		}
		if cs, err := w.a.Requests.Case(deskCtx(t, w.a, "leuven"), requests.RequestID{UUID: uuid.MustParse(id)}); err != nil || !cs.Family.LegalHold {
			t.Errorf("legal hold not set (%v)", err)
		}
		if page := w.browsers[authz.DeskAdmin].Get("/leuven/loket/aanvragen/" + id); !strings.Contains(page.Body, `id="hold-off"`) {
			t.Error("the admin's page must offer to lift the hold")
		}

		// Append-only for the application role.
		if tg.Dialect != db.Postgres {
			return
		}
		for _, stmt := range []string{"UPDATE access_log SET actor = 'iemand'", "DELETE FROM access_log"} {
			err := tenancy.NewStore(w.a.DB).Tx(deskCtx(t, w.a, "leuven"), func(ctx context.Context, tx *tenancy.Tx) error {
				_, err := tx.Unscoped().ExecContext(ctx, stmt)
				return err
			})
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
				t.Errorf("%s: err = %v, want permission denied (42501)", stmt, err)
			}
		}
	})
}

// TestFamilyExportHoldsEverything: from her status link a parent downloads
// every column of every table of family data for her family (the schema's,
// so a new column cannot be left out), sealed text opened, the looks at her
// family named by organisation, and nothing of another family; the readable
// page shows the same.
func TestFamilyExportHoldsEverything(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		w := newDemoWorld(t, tg)
		a := w.a
		loc := w.values[Own]["location"]
		sub := deskSub(t, a, "leuven", "Exportkind", "Inzage", "inzage@ouders.example", loc)
		sub.SpecificCareNeed, sub.CareNeedNote, sub.Note = true, "Draagt een hoorapparaat.", "Vader werkt in ploegen."
		sub.PriorityClaims = []string{"work_or_training"}
		r, statusURL, _, err := a.Requests.Submit(deskCtx(t, a, "leuven"), sub, requests.Actor{ID: "test", Kind: requests.ActorDesk}, "")
		if err != nil {
			t.Fatal(err)
		}
		other := submitAt(t, a, "leuven", deskSub(t, a, "leuven", "Anderkind", "Buurgezin", "buur@ouders.example", loc),
			requests.Actor{ID: "test", Kind: requests.ActorDesk})
		if res := w.browsers[authz.DeskWorker].Get("/leuven/loket/aanvragen/" + r.ID.String()); res.Status != 200 {
			t.Fatalf("desk page: %d", res.Status)
		}
		if res := w.browsers[authz.DeskWorker].Get("/leuven/loket/aanvragen/" + other.ID.String()); res.Status != 200 {
			t.Fatalf("desk page: %d", res.Status)
		}
		// Sealed reasons too: the event's and the family's.
		if err := a.Requests.RequestErasure(deskCtx(t, a, "leuven"), r.ID); err != nil {
			t.Fatal(err)
		}
		if err := a.Requests.KeepDespiteErasure(deskCtx(t, a, "leuven"), r.ID, "Bewaard voor een lopende procedure.",
			requests.Actor{ID: "test", Kind: requests.ActorDesk}); err != nil {
			t.Fatal(err)
		}
		path := statusURL[strings.Index(statusURL, "/leuven/"):]
		parent := NewBrowser(t, w.srv.App)
		res := parent.Get(path + "/gegevens.json")
		if res.Status != 200 || !strings.Contains(res.Header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("download: %d %s", res.Status, res.Header.Get("Content-Disposition"))
		}
		var got struct {
			Tables map[string][]map[string]any `json:"tables"`
			SeenBy []string                    `json:"seen_by"`
		}
		if err := json.Unmarshal([]byte(res.Body), &got); err != nil {
			t.Fatal(err)
		}
		// Every column of every table of family data, for every row.
		schema := map[string][]string{}
		for _, tc := range dbtest.Columns(t, a.DB) {
			table, col, _ := strings.Cut(tc, ".")
			schema[table] = append(schema[table], col)
		}
		for _, ft := range requests.FamilyTables {
			if len(schema[ft.Table]) == 0 {
				t.Errorf("%s: not a table of the schema", ft.Table)
			}
			for i, row := range got.Tables[ft.Table] {
				for _, col := range schema[ft.Table] {
					if _, ok := row[col]; !ok {
						t.Errorf("%s row %d: no %s", ft.Table, i, col)
					}
				}
			}
		}
		for table, want := range map[string]int{"families": 1, "parents": 1, "children": 1, "requests": 1, "preferences": 1,
			"request_claims": 1, "request_notes": 1} {
			if n := len(got.Tables[table]); n != want {
				t.Errorf("%s: %d rows, want %d", table, n, want)
			}
		}
		if len(got.Tables["events"]) == 0 || len(got.Tables["access_log"]) != 1 {
			t.Errorf("events %d, looks %d; want some and one", len(got.Tables["events"]), len(got.Tables["access_log"]))
		}
		// Values: in plain text, sealed text opened, nothing of the other family.
		for _, want := range []string{"Exportkind", "Inzage", "inzage@ouders.example", "Draagt een hoorapparaat.", "Vader werkt in ploegen.",
			"work_or_training", r.ID.String(), "Bewaard voor een lopende procedure."} {
			if !strings.Contains(res.Body, want) {
				t.Errorf("the download lacks %q", want)
			}
		}
		const kept = "Bewaard voor een lopende procedure."
		if fam := got.Tables["families"]; len(fam) != 1 || fam[0]["erasure_reason"] != kept {
			t.Errorf("the family's erasure reason must be opened in the download")
		}
		if !slices.ContainsFunc(got.Tables["events"], func(e map[string]any) bool { return e["reason"] == kept }) {
			t.Errorf("the event's reason must be opened in the download")
		}
		for _, never := range []string{"Anderkind", "Buurgezin", "buur@ouders.example", other.ID.String(), "sealed:"} {
			if strings.Contains(res.Body, never) {
				t.Errorf("the download holds %q", never)
			}
		}
		if len(got.SeenBy) != 1 || !strings.Contains(got.SeenBy[0], "Leuven") {
			t.Errorf("seen by: %v, want one look by the Leuven desk", got.SeenBy)
		}
		page := parent.Get(path + "/gegevens")
		for _, want := range []string{"Exportkind", "inzage@ouders.example", "Draagt een hoorapparaat.", "Vader werkt in ploegen.", `id="seen-by"`} {
			if page.Status != 200 || !strings.Contains(page.Body, want) {
				t.Errorf("readable page (%d) lacks %q", page.Status, want)
			}
		}
		if strings.Contains(page.Body, "Anderkind") {
			t.Error("the readable page shows another family")
		}
	})
}

// TestFamilyAsksForErasure: the parent asks (after a confirmation); the
// desk's admin sees it on the request page and either records the legal
// obligation that keeps the data (mailed to the parent in her language,
// with the reason) or erases the family at once: its open request is
// withdrawn first (the provider's system gets request.withdrawn), the
// desk's mail to it goes, and the parent is mailed in her language that it
// is done; a worker can do neither.
func TestFamilyAsksForErasure(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		w := newDemoWorld(t, tg)
		a, loc := w.a, w.values[Own]["location"]
		ask := func(name, lang string) (requests.RequestID, string) {
			t.Helper()
			sub := deskSub(t, a, "leuven", name, "Wisgezin", name+"@ouders.example", loc)
			sub.Language = lang
			r, statusURL, _, err := a.Requests.Submit(deskCtx(t, a, "leuven"), sub,
				requests.Actor{ID: "test", Kind: requests.ActorDesk}, "")
			if err != nil {
				t.Fatal(err)
			}
			path := statusURL[strings.Index(statusURL, "/leuven/"):]
			parent := NewBrowser(t, w.srv.App)
			if res := parent.Post(path+"/wissen", url.Values{}); res.Status != 303 {
				t.Fatalf("without confirmation: %d", res.Status)
			}
			if cs, _ := a.Requests.Case(deskCtx(t, a, "leuven"), r.ID); cs.Family.ErasureRequestedAt != nil {
				t.Fatal("asked without the confirmation")
			}
			if res := parent.Post(path+"/wissen", url.Values{"confirm": {"yes"}}); res.Status != 303 {
				t.Fatalf("ask: %d", res.Status)
			}
			if page := parent.Get(path + "/wissen"); !strings.Contains(page.Body, "Het loket behandelt uw vraag") {
				t.Errorf("the parent must see that she asked: %s", page.Body)
			}
			return r.ID, "/leuven/loket/aanvragen/" + r.ID.String()
		}
		kept, keptPage := ask("Bewaarkind", "en")
		admin, worker := w.browsers[authz.DeskAdmin], w.browsers[authz.DeskWorker]
		if page := admin.Get(keptPage); !strings.Contains(page.Body, `id="erasure"`) || !strings.Contains(page.Body, `id="erase-now"`) {
			t.Error("the admin must see the erasure request with its buttons")
		}
		if list := admin.Get("/leuven/loket"); !strings.Contains(list.Body, "Vraagt om gegevens te wissen") {
			t.Error("the worklist must flag the erasure request")
		}
		if res := worker.Post(keptPage+"/wissen", url.Values{}); res.Status != 404 {
			t.Errorf("a worker erases: %d, want 404", res.Status)
		}
		if res := admin.Post(keptPage+"/bewaren-wissen", url.Values{"reason": {"Een lopende procedure bij de rechtbank."}}); res.Status != 303 {
			t.Fatalf("keep: %d", res.Status)
		}
		mailsTo := func(to, kind string) []mail.DeskStored {
			t.Helper()
			var mails []mail.DeskStored
			err := tenancy.NewStore(a.DB).Tx(deskCtx(t, a, "leuven"), func(ctx context.Context, tx *tenancy.Tx) error {
				return tx.Select(&mails).Where("to_address = ?", to).Where("kind LIKE ?", kind).Scan(ctx)
			})
			if err != nil {
				t.Fatal(err)
			}
			return mails
		}
		if mails := mailsTo("Bewaarkind@ouders.example", "request.erasure%"); len(mails) != 1 || mails[0].Kind != "request.erasure_kept" ||
			mails[0].Subject != "Your request to erase your data" || !strings.Contains(mails[0].Text, "Een lopende procedure bij de rechtbank.") {
			t.Errorf("the outcome and reason must be mailed to the parent in English: %+v", mails)
		}
		if cs, err := a.Requests.Case(deskCtx(t, a, "leuven"), kept); err != nil || cs.Family.ErasureReason == "" {
			t.Errorf("kept family: %v", err)
		}

		// The provider's system listens for withdrawals.
		hook := httptest.NewServer(http.NotFoundHandler())
		defer hook.Close()
		if r := w.browsers[authz.ProviderAdmin].Post("/aanbieder/"+w.values[Own]["provider"]+"/webhooks",
			url.Values{"url": {hook.URL + "/loket"}, "events": {"request.withdrawn"}}); r.Status != http.StatusCreated {
			t.Fatalf("register a webhook: %d", r.Status)
		}
		erased, erasedPage := ask("Wiskind", "fr")
		if len(mailsTo("Wiskind@ouders.example", "%")) == 0 {
			t.Fatal("the desk mailed the family before the erasure (its confirmation)")
		}
		if res := admin.Post(erasedPage+"/wissen", url.Values{}); res.Status != 303 {
			t.Fatalf("erase: %d", res.Status)
		}
		eps, err := a.Webhooks.Endpoints(context.Background(), mustProvider(t, w.values[Own]["provider"]))
		if err != nil || len(eps) != 1 {
			t.Fatalf("endpoints: %v %d", err, len(eps))
		}
		ds, err := a.Webhooks.Deliveries(context.Background(), eps[0].ProviderID, eps[0].ID, 10)
		if err != nil || len(ds) != 1 || ds[0].EventType != "request.withdrawn" || ds[0].SubjectID != erased.UUID {
			t.Errorf("the provider's system must be told the open request was withdrawn: %v %+v", err, ds)
		}
		if mails := mailsTo("Wiskind@ouders.example", "%"); len(mails) != 1 || mails[0].Kind != "request.erasure_done" ||
			mails[0].Subject != "Vos données ont été effacées" || !strings.Contains(mails[0].Text, "Wiskind") {
			t.Errorf("the parent must be told in French that her data was erased, and no older mail kept: %+v", mails)
		}
		if _, err := a.Requests.Case(deskCtx(t, a, "leuven"), erased); !errors.Is(err, requests.ErrNotFound) {
			t.Errorf("the erased request is still there: %v", err)
		}
		if page := admin.Get(erasedPage); page.Status != 404 {
			t.Errorf("erased request page: %d", page.Status)
		}
	})
}
