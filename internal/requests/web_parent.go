package requests

// The parent's pages: the request form at /{tenant}/aanvragen and the status
// page at /{tenant}/aanvraag/{token}. The form is a sequence of plain HTML
// forms (no JavaScript): each step posts everything typed so far, the earlier
// steps in hidden fields, and only the current step's fields are checked.
// The rules themselves stay in the Service; these handlers only map form
// fields to a Submission and errors back to fields.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/valyala/fasthttp"
	"golang.org/x/text/collate"
	"golang.org/x/text/language"

	"github.com/loket-kinderopvang/loket/internal/account"
	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/geo"
	"github.com/loket-kinderopvang/loket/internal/platform/validate"
	"github.com/loket-kinderopvang/loket/internal/platform/web"
	"github.com/loket-kinderopvang/loket/internal/tenant"
)

// ParentPages serves the request form and the status page.
type ParentPages struct {
	svc    *Service
	cat    *catalog.Store
	render *web.Renderer
	desks  *tenant.Handler
	// roundExplain, when set, tells why a request got what it got in the
	// latest published allocation round (package rounds).
	roundExplain func(ctx context.Context, id RequestID, lang string) (string, error)
}

// SetRoundExplainer shows allocation round explanations on the status page.
func (p *ParentPages) SetRoundExplainer(fn func(ctx context.Context, id RequestID, lang string) (string, error)) {
	p.roundExplain = fn
}

// NewParentPages returns the parent's pages; desks fills the desk parts of a page.
func NewParentPages(svc *Service, cat *catalog.Store, render *web.Renderer, desks *tenant.Handler) *ParentPages {
	return &ParentPages{svc: svc, cat: cat, render: render, desks: desks}
}

// Paths under /{tenant}.
const (
	PathRequestForm = "/aanvragen"
	PathPrivacy     = "/aanvragen/privacy"
	PathStatus      = "/aanvraag"
	// PathNewLink is where a parent who lost her status link asks for a
	// new one with her e-mail address.
	PathNewLink = "/aanvraag/nieuwe-link"
)

// Register adds the routes on the /:tenant group.
func (p *ParentPages) Register(desk fiber.Router) {
	desk.Get(PathRequestForm, p.formStart)
	desk.Post(PathRequestForm, p.formStep)
	desk.Get(PathPrivacy, p.privacy)
	// Before /aanvraag/:token, which would take "nieuwe-link" for a token.
	desk.Get(PathNewLink, p.newLinkForm)
	desk.Post(PathNewLink, p.newLink)
	desk.Get(PathStatus+"/:token", p.status)
	desk.Get(PathStatus+"/:token/aanvaarden", p.acceptPage)
	desk.Post(PathStatus+"/:token/nieuwe-link", p.renewLink)
	desk.Post(PathStatus+"/:token/aanvaarden", p.accept)
	desk.Post(PathStatus+"/:token/weigeren", p.decline)
	desk.Post(PathStatus+"/:token/contact", p.contact)
	desk.Get(PathStatus+"/:token/intrekken", p.withdrawConfirm)
	desk.Post(PathStatus+"/:token/intrekken", p.withdraw)
	desk.Get(PathAnswerLink+"/:token", p.answerLinkPage)
	desk.Post(PathAnswerLink+"/:token", p.answerLinkForm)
	p.registerFamilyData(desk)
}

// The steps of the form.
const (
	stepChild = iota + 1
	stepParents
	stepCare
	stepPreferences
	stepReason
	stepReview
)

var stepKeys = []string{"", "child", "parents", "care", "preferences", "reason", "review"}

// stepOf is the step a form field (or a field path of a validation error) belongs to.
func stepOf(field string) int {
	switch {
	case strings.HasPrefix(field, "child"):
		return stepChild
	case strings.HasPrefix(field, "parents"), field == "language", strings.HasPrefix(field, "address"):
		return stepParents
	case strings.HasPrefix(field, "care_plan"), field == "desired_start", field == "flexibility_weeks":
		return stepCare
	case strings.HasPrefix(field, "preferences"):
		return stepPreferences
	case field == "reason", field == "priority_claims", field == "sworn", field == "specific_care_need",
		field == "care_need_note", field == "urgent", field == "privacy_consent_version":
		return stepReason
	}
	return 0
}

// Form field names are the JSON paths of Submission, so that validation
// errors point at them directly. "sworn" is the sworn statement of the claims.
const (
	fieldSworn   = "sworn"
	fieldKey     = "key"    // idempotency key: a double submit stores one request
	fieldSubmit  = "submit" // problems of the send itself, shown on the review step
	maxFormPrefs = 10
)

// formState is what the parent typed so far.
type formState struct {
	vals url.Values
}

func (f formState) get(name string) string { return strings.TrimSpace(f.vals.Get(name)) }
func (f formState) on(name string) bool    { return f.vals.Get(name) != "" }

// submission maps the form to a Submission; prefIndex[i] is the select that
// holds the i-th preference (empty selects are skipped).
func (f formState) submission(lang string) (Submission, []int) {
	sub := Submission{
		Child: ChildInput{FirstName: f.get("child.first_name"), LastName: f.get("child.last_name"),
			BirthDate: f.get("child.birth_date"), ExpectedDate: f.get("child.expected_date"),
			NationalNumber: f.get("child.national_number")},
		Language:     f.get("language"),
		Address:      AddressInput{MunicipalityNIS: f.get("address.municipality_nis"), Neighbourhood: f.get("address.neighbourhood")},
		DesiredStart: f.get("desired_start"),
		CarePlan: CarePlanInput{Days: f.vals["care_plan.days"], DayPart: f.get("care_plan.day_part"),
			WiderHours: f.on("care_plan.wider_hours")},
		Reason:           f.get("reason"),
		PriorityClaims:   f.vals["priority_claims"],
		SpecificCareNeed: f.on("specific_care_need"),
		CareNeedNote:     f.get("care_need_note"),
		Urgent:           f.on("urgent"),
		PrivacyVersion:   f.get("privacy_consent_version"),
	}
	if sub.Language == "" {
		sub.Language = lang
	}
	if w := f.get("flexibility_weeks"); w != "" {
		n, err := strconv.Atoi(w)
		if err != nil {
			n = -1 // not a number: the service's range check reports it
		}
		sub.FlexibilityWeeks = n
	}
	for i := 0; i < MaxParents; i++ {
		pfx := fmt.Sprintf("parents[%d].", i)
		pi := ParentInput{FirstName: f.get(pfx + "first_name"), LastName: f.get(pfx + "last_name"),
			Email: f.get(pfx + "email"), Phone: f.get(pfx + "phone")}
		if i == 0 || pi != (ParentInput{}) {
			sub.Parents = append(sub.Parents, pi)
		}
	}
	var idx []int
	for i := 0; i < maxFormPrefs; i++ {
		if v := f.get(fmt.Sprintf("preferences[%d]", i)); v != "" {
			sub.Preferences = append(sub.Preferences, v)
			idx = append(idx, i)
		}
	}
	return sub, idx
}

// check validates the whole submission through the service and returns the
// errors of the given steps (all when none given), with field names of the form.
func (p *ParentPages) check(ctx context.Context, f formState, lang string, steps ...int) validate.Errors {
	sub, idx := f.submission(lang)
	es := p.svc.Validate(ctx, sub)
	if len(sub.PriorityClaims) > 0 && !f.on(fieldSworn) {
		es.Add(fieldSworn, "sworn", "confirm on your honour that the priority claims are true")
	}
	var out validate.Errors
	for _, e := range es {
		// Preference errors name the n-th chosen location; the form names the select.
		var n int
		if _, err := fmt.Sscanf(e.Field, "preferences[%d]", &n); err == nil && n < len(idx) {
			e.Field = fmt.Sprintf("preferences[%d]", idx[n])
		}
		if len(steps) == 0 || slices.Contains(steps, stepOf(e.Field)) {
			out = append(out, e)
		}
	}
	return out
}

func (p *ParentPages) desk(c *fiber.Ctx) (tenant.Tenant, error) {
	t, ok := tenant.FromRequest(c)
	if !ok {
		return t, web.ErrUnknownDesk
	}
	return t, nil
}

// formStart shows step 1; ?voorkeur=<location id> preselects a first preference.
func (p *ParentPages) formStart(c *fiber.Ctx) error {
	t, err := p.desk(c)
	if err != nil {
		return err
	}
	f := formState{vals: url.Values{}}
	f.vals.Set(fieldKey, randomKey())
	// ?voorkeur=<location id> (repeatable) preselects preferences: from a
	// location page or the chosen results of a search, whose child's birth
	// date (?geboren=) and start month (?start=YYYY-MM) come along too.
	n := 0
	for _, raw := range c.Context().QueryArgs().PeekMulti("voorkeur") {
		v := string(raw)
		if _, err := parseLocation(v); err == nil && n < maxFormPrefs && !slices.Contains(f.vals["pref"], v) {
			f.vals.Set(fmt.Sprintf("preferences[%d]", n), v)
			f.vals.Add("pref", v)
			n++
		}
	}
	delete(f.vals, "pref")
	if d := c.Query("geboren"); d != "" {
		if _, err := time.Parse("2006-01-02", d); err == nil {
			f.vals.Set("child.birth_date", d)
		}
	}
	if m := c.Query("start"); m != "" {
		if _, err := time.Parse("2006-01", m); err == nil {
			f.vals.Set("desired_start", m+"-01")
		}
	}
	return p.renderStep(c, t, f, stepChild, nil, fiber.StatusOK)
}

func randomKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// formFromArgs reads what the parent typed so far from the posted form:
// the fields of the steps and the idempotency key; everything else (the
// CSRF token, the buttons, unknown fields) is dropped, not carried along.
func formFromArgs(args *fasthttp.Args) formState {
	f := formState{vals: url.Values{}}
	args.VisitAll(func(k, v []byte) {
		key := string(k)
		if key == account.CSRFField || key == "step" || key == "action" {
			return
		}
		if stepOf(key) == 0 && key != fieldKey {
			return
		}
		f.vals.Add(key, string(v))
	})
	return f
}

// formStep handles every post of the form: back, next, go to a step from the
// review, or submit.
func (p *ParentPages) formStep(c *fiber.Ctx) error {
	t, err := p.desk(c)
	if err != nil {
		return err
	}
	f := formFromArgs(c.Request().PostArgs())
	if f.get(fieldKey) == "" {
		f.vals.Set(fieldKey, randomKey())
	}
	step, _ := strconv.Atoi(c.FormValue("step"))
	step = min(max(step, stepChild), stepReview)
	action := c.FormValue("action")
	if action == "default" {
		action = "next" // Enter in a field: the layout's hidden first button
	}
	ctx := c.UserContext()
	lang := web.LanguageOf(c)
	compactPreferences(f)
	switch {
	case action == "stay":
		// The language switch posts the form: show the same step, in the
		// new language, with everything typed so far.
		return p.renderStep(c, t, f, step, nil, fiber.StatusOK)
	case step == stepPreferences && editPreferences(f, action, strings.Clone(c.FormValue("add_location")), min(t.MaxPreferences, maxFormPrefs)):
		return p.renderStep(c, t, f, stepPreferences, nil, fiber.StatusOK)
	case action == "back":
		return p.renderStep(c, t, f, max(step-1, stepChild), nil, fiber.StatusOK)
	case strings.HasPrefix(action, "goto-"):
		to, _ := strconv.Atoi(strings.TrimPrefix(action, "goto-"))
		return p.renderStep(c, t, f, min(max(to, stepChild), stepReview), nil, fiber.StatusOK)
	case action == "submit" && step == stepReview:
		return p.submit(c, t, f)
	}
	if es := p.check(ctx, f, lang, step); len(es) > 0 {
		return p.renderStep(c, t, f, step, es, fiber.StatusUnprocessableEntity)
	}
	return p.renderStep(c, t, f, min(step+1, stepReview), nil, fiber.StatusOK)
}

// prefList is the chosen locations in rank order.
func (f formState) prefList() []string {
	var out []string
	for i := 0; i < maxFormPrefs; i++ {
		if v := f.get(fmt.Sprintf("preferences[%d]", i)); v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func (f formState) setPrefs(list []string) {
	for i := 0; i < maxFormPrefs; i++ {
		f.vals.Del(fmt.Sprintf("preferences[%d]", i))
	}
	for i, v := range list {
		f.vals.Set(fmt.Sprintf("preferences[%d]", i), v)
	}
}

// compactPreferences numbers the chosen locations 0, 1, 2… without gaps or doubles.
func compactPreferences(f formState) { f.setPrefs(f.prefList()) }

// editPreferences applies a button of the preferences step: add:<id>,
// add-other (the location chosen in the list of all), remove-<n>, up-<n>,
// down-<n>. It reports whether the action was one of these.
func editPreferences(f formState, action, other string, max int) bool {
	list := f.prefList()
	var n int
	switch {
	case strings.HasPrefix(action, "add:") || action == "add-other":
		id := strings.TrimPrefix(action, "add:")
		if action == "add-other" {
			id = other
		}
		if _, err := parseLocation(id); err == nil && !slices.Contains(list, id) && len(list) < max {
			list = append(list, id)
		}
	case scan(action, "remove-%d", &n):
		if n >= 0 && n < len(list) {
			list = slices.Delete(list, n, n+1)
		}
	case scan(action, "up-%d", &n):
		if n > 0 && n < len(list) {
			list[n-1], list[n] = list[n], list[n-1]
		}
	case scan(action, "down-%d", &n):
		if n >= 0 && n+1 < len(list) {
			list[n+1], list[n] = list[n], list[n+1]
		}
	default:
		return false
	}
	f.setPrefs(list)
	return true
}

func scan(s, format string, n *int) bool {
	_, err := fmt.Sscanf(s, format, n)
	return err == nil
}

func (p *ParentPages) submit(c *fiber.Ctx, t tenant.Tenant, f formState) error {
	ctx := c.UserContext()
	lang := web.LanguageOf(c)
	if es := p.check(ctx, f, lang); len(es) > 0 {
		first := stepReview
		for _, e := range es {
			first = min(first, max(stepOf(e.Field), stepChild))
		}
		var own validate.Errors
		for _, e := range es {
			if stepOf(e.Field) == first {
				own = append(own, e)
			}
		}
		return p.renderStep(c, t, f, first, own, fiber.StatusUnprocessableEntity)
	}
	sub, _ := f.submission(lang)
	if retry, err := p.svc.AllowAnonymous(ctx, c.IP()); err != nil {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(retry.Seconds())+1))
		var es validate.Errors
		es.Add(fieldSubmit, "too_many_registrations", "too many registrations from this address")
		return p.renderStep(c, t, f, stepReview, es, fiber.StatusTooManyRequests)
	}
	actor, key := Actor{Kind: ActorParent}, "web:"+f.get(fieldKey)
	req, statusURL, _, err := p.svc.Submit(ctx, sub, actor, key)
	for try := 0; try < 3 && errors.Is(err, ErrIdempotencyInFlight); try++ {
		// A double click: the first post is still being stored; answer
		// this one with its outcome.
		if err = p.svc.AwaitInFlight(ctx, actor, key); err == nil {
			req, statusURL, _, err = p.svc.Submit(ctx, sub, actor, key)
		}
	}
	if errors.Is(err, ErrIdempotencyMismatch) {
		// This form was sent before with other answers (the browser's back
		// button). Nothing of that request is shown; a new key makes the
		// next send a request of its own.
		f.vals.Set(fieldKey, randomKey())
		var es validate.Errors
		es.Add(fieldSubmit, "sent_before", "this form was sent before with other answers")
		return p.renderStep(c, t, f, stepReview, es, fiber.StatusConflict)
	}
	if es, ok := validate.As(err); ok {
		// A location may have closed between the review and the submit.
		return p.renderStep(c, t, f, stepPreferences, es, fiber.StatusUnprocessableEntity)
	}
	if err != nil {
		return fmt.Errorf("requests: submit from the parent form: %w", err)
	}
	tr := p.render.Translator(c)
	data := doneView{ChildFirstName: sub.Child.FirstName, StatusURL: statusURL, StatusPath: pathOf(statusURL),
		Email: sub.Parents[0].Email, RequestID: req.ID.String()}
	if cs, err := p.svc.Case(ctx, req.ID); err == nil {
		data.Summary = caseSummary(tr, cs)
	}
	privatePage(c)
	return p.render.Render(c, fiber.StatusOK, "request_done", p.desks.Page(c, t, tr.T("request.done.title"), data))
}

// privatePage keeps a page with a family's data or a status link out of
// shared caches and out of the Referer header of links on it.
func privatePage(c *fiber.Ctx) {
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set("Referrer-Policy", "no-referrer")
}

type doneView struct {
	ChildFirstName, StatusURL, StatusPath, Email, RequestID string
	Summary                                                 []summaryRow
}

// pathOf is the path of an absolute status link, so the page links to the
// host it is served on (the public URL may differ behind a proxy or in tests).
func pathOf(link string) string {
	if u, err := url.Parse(link); err == nil && u.Path != "" {
		return u.Path
	}
	return link
}

func (p *ParentPages) privacy(c *fiber.Ctx) error {
	t, err := p.desk(c)
	if err != nil {
		return err
	}
	tr := p.render.Translator(c)
	data := map[string]string{"Version": PrivacyVersion, "Back": "/" + t.Slug + PathRequestForm, "DeskEmail": t.Settings.Contact.Email}
	return p.render.Render(c, fiber.StatusOK, "request_privacy", p.desks.Page(c, t, tr.T("request.privacy.title"), data))
}

// --- form views ---------------------------------------------------------------

type stepView struct {
	Number  int
	Label   string
	Current bool
	Done    bool
}

type hiddenView struct{ Name, Value string }

type reviewRow struct{ Label, Value string }

type reviewSection struct {
	Step  int
	Title string
	Rows  []reviewRow
}

type formView struct {
	Action, CSRF, PrivacyURL string
	Step, StepCount          int
	StepTitle                string
	Steps                    []stepView
	Hidden                   []hiddenView
	Errors                   []web.ErrorLink
	Fields                   map[string]web.Field
	Groups                   map[string]web.Group
	Checks                   map[string]web.Choice
	Chosen, Suggestions      []prefChoice
	PrefsError               string
	Other                    web.Field
	CanAdd                   bool
	MaxPreferences           int
	Review                   []reviewSection
}

// fieldID is the HTML id of a form field ("parents[0].email" → "f-parents-0-email").
func fieldID(name string) string { return web.FieldID(name) }

func (p *ParentPages) renderStep(c *fiber.Ctx, t tenant.Tenant, f formState, step int, es validate.Errors, status int) error {
	tr := p.render.Translator(c)
	lang := tr.Lang()
	v := formView{Action: "/" + t.Slug + PathRequestForm, CSRF: account.CSRFToken(c), PrivacyURL: "/" + t.Slug + PathPrivacy,
		Step: step, StepCount: stepReview, StepTitle: tr.T("request.step." + stepKeys[step]),
		Fields: map[string]web.Field{}, Groups: map[string]web.Group{}, Checks: map[string]web.Choice{},
		MaxPreferences: min(t.MaxPreferences, maxFormPrefs)}
	for i := stepChild; i <= stepReview; i++ {
		v.Steps = append(v.Steps, stepView{Number: i, Label: tr.T("request.step." + stepKeys[i]), Current: i == step, Done: i < step})
	}
	// Everything not shown on this step travels along in hidden fields.
	for name, vals := range f.vals {
		if stepOf(name) == step && step != stepReview {
			continue
		}
		for _, val := range vals {
			v.Hidden = append(v.Hidden, hiddenView{Name: name, Value: val})
		}
	}
	slices.SortStableFunc(v.Hidden, func(a, b hiddenView) int { return strings.Compare(a.Name, b.Name) })

	errOf := map[string]string{}
	for _, e := range es {
		if _, dup := errOf[e.Field]; !dup {
			errOf[e.Field] = tr.T("requests.error." + e.Code)
		}
	}
	field := func(name, label, hint string) web.Field {
		fv := web.Field{ID: fieldID(name), Name: name, Label: tr.T(label), Value: f.get(name), Error: errOf[name]}
		if hint != "" {
			fv.Hint = tr.T(hint)
		}
		v.Fields[name] = fv
		return fv
	}
	sel := func(name, label, hint string, opts []web.Option) web.Field {
		fv := field(name, label, hint)
		cur := f.get(name)
		for i := range opts {
			opts[i].Selected = opts[i].Value == cur
		}
		fv.Options = opts
		v.Fields[name] = fv
		return fv
	}
	check := func(name, value, label string) web.Choice {
		cv := web.Choice{ID: fieldID(name), Name: name, Value: value, Label: tr.T(label), Checked: f.get(name) == value}
		v.Checks[name] = cv
		return cv
	}
	group := func(name, legend, hint string, items []web.Choice) {
		g := web.Group{ID: fieldID(name), Legend: tr.T(legend), Error: errOf[name], Items: items}
		if hint != "" {
			g.Hint = tr.T(hint)
		}
		v.Groups[name] = g
	}
	multi := func(name string, values []string, label func(string) string) []web.Choice {
		var out []web.Choice
		for _, val := range values {
			out = append(out, web.Choice{ID: fieldID(name) + "-" + val, Name: name, Value: val, Label: label(val),
				Checked: slices.Contains(f.vals[name], val)})
		}
		return out
	}
	radios := func(name string, values []string, label func(string) string) []web.Choice {
		out := multi(name, values, label)
		for i := range out {
			out[i].Checked = f.get(name) == out[i].Value
		}
		return out
	}

	switch step {
	case stepChild:
		field("child.first_name", "request.field.child_first_name", "")
		field("child.last_name", "request.field.child_last_name", "")
		fv := field("child.birth_date", "request.field.birth_date", "request.hint.date")
		fv.Type = "date"
		v.Fields["child.birth_date"] = fv
		fv = field("child.expected_date", "request.field.expected_date", "request.hint.expected_date")
		fv.Type = "date"
		v.Fields["child.expected_date"] = fv
		fv = field("child.national_number", "request.field.national_number", "request.hint.national_number")
		fv.InputMode = "numeric"
		v.Fields["child.national_number"] = fv
	case stepParents:
		for i := 0; i < MaxParents; i++ {
			pfx := fmt.Sprintf("parents[%d].", i)
			field(pfx+"first_name", "request.field.parent_first_name", "")
			field(pfx+"last_name", "request.field.parent_last_name", "")
			fv := field(pfx+"email", "request.field.email", "")
			fv.Type, fv.Autocomplete = "email", "email"
			if i > 0 {
				fv.Autocomplete = "off"
			}
			v.Fields[pfx+"email"] = fv
			fv = field(pfx+"phone", "request.field.phone", "")
			fv.Type, fv.Autocomplete = "tel", "tel"
			if i > 0 {
				fv.Autocomplete = "off"
			}
			v.Fields[pfx+"phone"] = fv
		}
		if f.get("language") == "" {
			f.vals.Set("language", lang)
		}
		sel("language", "request.field.language", "request.hint.language", web.LanguageOptions(nil, ""))
		// No default: a family names its own municipality, inside the
		// desk's area or anywhere in Flanders and Brussels.
		sel("address.municipality_nis", "request.field.municipality", "request.hint.municipality",
			append([]web.Option{{Value: "", Label: tr.T("request.choose_municipality")}}, MunicipalityOptions(t.Municipalities, tr)...))
		sel("address.neighbourhood", "request.field.neighbourhood", "request.hint.neighbourhood",
			neighbourhoodOptions(t, geo.NISCode(f.get("address.municipality_nis")), lang, tr.T("request.choose_none")))
	case stepCare:
		// A month picker without JavaScript: the coming 24 months in words;
		// care starts on the first of the month.
		cur := f.get("desired_start")
		opts := append([]web.Option{{Value: "", Label: tr.T("request.choose_month")}},
			tr.MonthsFrom(p.svc.opts.Clock.Now().AddDate(0, 1, 0), 24, cur)...)
		if cur != "" && !slices.ContainsFunc(opts, func(o web.Option) bool { return o.Value == cur }) {
			opts = append(opts, web.Option{Value: cur, Label: tr.DateString(cur), Selected: true})
		}
		fv := sel("desired_start", "request.field.desired_month", "request.hint.desired_month", opts)
		v.Fields["desired_start"] = fv
		fv = field("flexibility_weeks", "request.field.flexibility", "request.hint.flexibility")
		fv.InputMode = "numeric"
		v.Fields["flexibility_weeks"] = fv
		group("care_plan.days", "request.field.days", "", multi("care_plan.days", Weekdays, func(d string) string { return tr.T("request.day." + d) }))
		group("care_plan.day_part", "request.field.day_part", "", radios("care_plan.day_part", []string{string(DayWhole), string(DayHalf)},
			func(d string) string { return tr.T("request.day_part." + d) }))
		check("care_plan.wider_hours", "1", "request.field.wider_hours")
	case stepPreferences:
		if err := p.preferenceStep(c.UserContext(), t, f, tr, &v, errOf); err != nil {
			return err
		}
	case stepReason:
		group("reason", "request.field.reason", "", radios("reason", []string{string(ReasonWork), string(ReasonTraining), string(ReasonJobSearch), string(ReasonOther)},
			func(r string) string { return tr.T("request.reason." + r) }))
		var claims []string
		for _, cl := range Claims {
			claims = append(claims, string(cl))
		}
		group("priority_claims", "request.field.claims", "request.hint.claims", multi("priority_claims", claims, func(cl string) string { return tr.T("request.claim." + cl) }))
		check(fieldSworn, "1", "request.field.sworn")
		check("specific_care_need", "1", "request.field.specific_care_need")
		fv := field("care_need_note", "request.field.care_need_note", "request.hint.care_need_note")
		fv.Type = "textarea"
		v.Fields["care_need_note"] = fv
		check("urgent", "1", "request.field.urgent")
		check("privacy_consent_version", PrivacyVersion, "request.field.privacy")
	case stepReview:
		review, err := p.review(c.UserContext(), t, f, tr)
		if err != nil {
			return err
		}
		v.Review = review
	}
	// The summary links to the field, or the first input of a group.
	for _, e := range es {
		anchor := fieldID(e.Field)
		switch e.Field {
		case "parents":
			anchor = fieldID("parents[0].first_name")
		case "preferences":
			anchor = fieldID("preferences[0]")
		case "care_plan.days":
			anchor = fieldID("care_plan.days") + "-" + Weekdays[0]
		case "care_plan.day_part":
			anchor = fieldID("care_plan.day_part") + "-" + string(DayWhole)
		case "reason":
			anchor = fieldID("reason") + "-" + string(ReasonWork)
		case "priority_claims":
			anchor = fieldID("priority_claims") + "-" + string(Claims[0])
		}
		msg := tr.T("requests.error." + e.Code)
		var n int
		if _, err := fmt.Sscanf(e.Field, "preferences[%d]", &n); err == nil && n < len(v.Chosen) {
			msg = tr.T("request.field.preference", "N", n+1) + " (" + v.Chosen[n].Name + "): " + msg
		} else if e.Field == "preferences" {
			switch {
			case !v.CanAdd && len(v.Chosen) > 0:
				anchor = v.Chosen[0].ID
			case len(v.Suggestions) > 0:
				anchor = v.Suggestions[0].ID
			default:
				anchor = "f-add_location"
			}
		} else if fv, ok := v.Fields[e.Field]; ok {
			msg = fv.Label + ": " + msg
		} else if g, ok := v.Groups[e.Field]; ok {
			msg = g.Legend + ": " + msg
		} else if cv, ok := v.Checks[e.Field]; ok {
			msg = cv.Label + ": " + msg
		}
		v.Errors = append(v.Errors, web.ErrorLink{Anchor: anchor, Message: msg})
	}
	title := tr.T("request.form.title")
	if len(es) > 0 {
		title = tr.T("request.form.title_errors") + " " + title
	}
	page := p.desks.Page(c, t, title, pageData{View: v, CheckErrors: checkErrors(errOf)})
	page.FormID = "request-form" // the language switch posts the form, so nothing typed is lost
	privatePage(c)
	return p.render.Render(c, status, "request_form", page)
}

// pageData wraps the view with the errors of single checkboxes.
type pageData struct {
	View        formView
	CheckErrors map[string]string
}

func checkErrors(errOf map[string]string) map[string]string {
	out := map[string]string{}
	for _, name := range []string{fieldSworn, "privacy_consent_version", "care_plan.wider_hours", "specific_care_need", "urgent"} {
		if e := errOf[name]; e != "" {
			out[name] = e
		}
	}
	return out
}

// MunicipalityOptions lists every municipality of Flanders and Brussels:
// the desk's own first, then the others grouped by province (Brussels as its
// region), groups and names in alphabetical order of the reader's language.
func MunicipalityOptions(desk []geo.NISCode, tr web.Translator) []web.Option {
	var own, other []web.Option
	ownGroup := tr.T("request.municipality_group.desk")
	for _, m := range geo.Municipalities() {
		o := web.Option{Value: string(m.NIS), Label: m.Name(tr.Lang())}
		if slices.Contains(desk, m.NIS) {
			o.Group = ownGroup
			own = append(own, o)
		} else {
			o.Group = tr.T("geo.province." + string(m.Province()))
			other = append(other, o)
		}
	}
	coll := collate.New(language.Make(tr.Lang()))
	slices.SortFunc(own, func(a, b web.Option) int { return coll.CompareString(a.Label, b.Label) })
	slices.SortFunc(other, func(a, b web.Option) int {
		if c := coll.CompareString(a.Group, b.Group); c != 0 {
			return c
		}
		return coll.CompareString(a.Label, b.Label)
	})
	return append(own, other...)
}

// neighbourhoodOptions lists the neighbourhoods of the chosen municipality,
// or of the desk's municipalities when none is chosen.
func neighbourhoodOptions(t tenant.Tenant, chosen geo.NISCode, lang, none string) []web.Option {
	out := []web.Option{{Value: "", Label: none}}
	nis := []geo.NISCode{chosen}
	if chosen == "" {
		nis = t.Municipalities
	}
	for _, n := range nis {
		m, ok := geo.LookupMunicipality(n)
		if !ok {
			continue
		}
		for _, nb := range m.Neighbourhoods {
			out = append(out, web.Option{Value: nb, Label: nb})
		}
	}
	return out
}

// prefChoice is one location on the preferences step: chosen (with its
// rank) or suggested.
type prefChoice struct {
	ID, Value, Name, Place, Free, Error string
	Index, Number                       int
	First, Last                         bool
}

// preferenceStep fills the preferences step: the chosen locations in rank
// order, then the locations that fit the child's age, the start month and
// the care plan (free places first), then a list of all locations of the area.
func (p *ParentPages) preferenceStep(ctx context.Context, t tenant.Tenant, f formState, tr web.Translator, v *formView, errOf map[string]string) error {
	lang := tr.Lang()
	chosen := f.prefList()
	month := f.get("desired_start")
	if len(month) >= 7 {
		month = month[:7]
	}
	q := catalog.Query{Municipalities: p.area(t, f), AcceptsRequests: true, Sort: "name", PerPage: 100}
	if _, err := time.Parse("2006-01", month); err == nil {
		q.StartMonth = month
	}
	for _, name := range []string{"child.birth_date", "child.expected_date"} {
		if d, err := time.Parse("2006-01-02", f.get(name)); err == nil && q.StartMonth != "" {
			q.ChildBirth = &d
			break
		}
	}
	type fit struct {
		hit   catalog.Hit
		score int
	}
	var fits []fit
	free := map[string]string{}
	for page := 1; page <= 10; page++ {
		q.Page = page
		res, err := p.cat.Search(ctx, q)
		if err != nil {
			return fmt.Errorf("requests: locations that fit the request: %w", err)
		}
		for _, h := range res.Hits {
			score := 0
			if h.FreePlaces != nil {
				free[h.ID.String()] = freeText(tr, *h.FreePlaces, q.StartMonth)
				if *h.FreePlaces > 0 {
					score += 2
				}
			}
			if f.on("care_plan.wider_hours") && (h.EarlyHours || h.LateHours) {
				score++
			}
			fits = append(fits, fit{h, score})
		}
		if page >= res.Pages() {
			break
		}
	}
	slices.SortStableFunc(fits, func(a, b fit) int { return b.score - a.score })

	for i, id := range chosen {
		pc := prefChoice{ID: fmt.Sprintf("f-preferences-%d", i), Value: id, Index: i, Number: i + 1,
			First: i == 0, Last: i == len(chosen)-1, Free: free[id], Error: errOf[fmt.Sprintf("preferences[%d]", i)]}
		pc.Name = tr.T("request.unknown_location")
		if lid, err := parseLocation(id); err == nil {
			if d, err := p.cat.Get(ctx, lid, ""); err == nil {
				pc.Name, pc.Place = d.Name, municipalityName(d.MunicipalityNIS, lang)
			}
		}
		v.Chosen = append(v.Chosen, pc)
	}
	v.CanAdd = len(chosen) < v.MaxPreferences
	v.PrefsError = errOf["preferences"]
	for _, ft := range fits {
		id := ft.hit.ID.String()
		if slices.Contains(chosen, id) || len(v.Suggestions) == 8 {
			continue
		}
		v.Suggestions = append(v.Suggestions, prefChoice{ID: "f-suggest-" + id, Value: id, Name: ft.hit.Name,
			Place: municipalityName(ft.hit.MunicipalityNIS, lang), Free: free[id]})
	}
	opts, err := p.locationOptions(ctx, t, f, lang)
	if err != nil {
		return err
	}
	other := []web.Option{{Value: "", Label: tr.T("request.choose_location")}}
	for _, o := range opts {
		if !slices.Contains(chosen, o.Value) {
			other = append(other, o)
		}
	}
	v.Other = web.Field{ID: "f-add_location", Name: "add_location", Label: tr.T("request.field.other_location"),
		Hint: tr.T("request.hint.other_location"), Options: other}
	return nil
}

// area is where the form looks for locations: the desk's municipalities and
// their neighbours, and those around the family's own municipality.
func (p *ParentPages) area(t tenant.Tenant, f formState) []geo.NISCode {
	nis := slices.Clone(t.Municipalities)
	if own := geo.NISCode(f.get("address.municipality_nis")); own != "" && !slices.Contains(nis, own) {
		nis = append(nis, own)
	}
	return catalog.NearbyMunicipalities(nis, catalog.NearbyKm)
}

func municipalityName(nis geo.NISCode, lang string) string {
	if m, ok := geo.LookupMunicipality(nis); ok {
		return m.Name(lang)
	}
	return ""
}

// freeText says how many places are free in a month, in words.
func freeText(tr web.Translator, n int, month string) string {
	m := tr.Month(month)
	switch n {
	case 0:
		return tr.T("search.free.none", "Month", m)
	case 1:
		return tr.T("search.free.one", "Month", m)
	}
	return tr.T("search.free.other", "Count", n, "Month", m)
}

// locationOptions lists the locations that take requests in the desk's
// municipalities and their neighbours, plus any location already chosen
// (a parent may come from a search in a wider area).
func (p *ParentPages) locationOptions(ctx context.Context, t tenant.Tenant, f formState, lang string) ([]web.Option, error) {
	area := catalog.NearbyMunicipalities(t.Municipalities, catalog.NearbyKm)
	var out []web.Option
	seen := map[string]bool{}
	for page := 1; page <= 10; page++ {
		res, err := p.cat.Search(ctx, catalog.Query{Municipalities: area, AcceptsRequests: true, Sort: "name", Page: page, PerPage: 100})
		if err != nil {
			return nil, fmt.Errorf("requests: locations for the form: %w", err)
		}
		for _, h := range res.Hits {
			out = append(out, web.Option{Value: h.ID.String(), Label: locationLabel(h.Location, lang)})
			seen[h.ID.String()] = true
		}
		if page >= res.Pages() {
			break
		}
	}
	for i := 0; i < maxFormPrefs; i++ {
		v := f.get(fmt.Sprintf("preferences[%d]", i))
		if v == "" || seen[v] {
			continue
		}
		id, err := parseLocation(v)
		if err != nil {
			continue
		}
		if d, err := p.cat.Get(ctx, id, ""); err == nil && d.AcceptsRequests {
			out = append(out, web.Option{Value: v, Label: locationLabel(d.Location, lang)})
			seen[v] = true
		}
	}
	return out, nil
}

func parseLocation(s string) (catalog.LocationID, error) {
	u, err := uuid.Parse(s)
	return catalog.LocationID{UUID: u}, err
}

func locationLabel(l catalog.Location, lang string) string {
	if m, ok := geo.LookupMunicipality(l.MunicipalityNIS); ok {
		return l.Name + " (" + m.Name(lang) + ")"
	}
	return l.Name
}

// review lists everything typed, per step, in the page language.
func (p *ParentPages) review(ctx context.Context, t tenant.Tenant, f formState, tr web.Translator) ([]reviewSection, error) {
	lang := tr.Lang()
	yes := func(b bool) string {
		if b {
			return tr.T("request.yes")
		}
		return tr.T("request.no")
	}
	sub, _ := f.submission(lang)
	child := reviewSection{Step: stepChild, Title: tr.T("request.step.child"), Rows: []reviewRow{
		{tr.T("request.field.child_first_name"), sub.Child.FirstName},
		{tr.T("request.field.child_last_name"), sub.Child.LastName},
	}}
	if sub.Child.BirthDate != "" {
		child.Rows = append(child.Rows, reviewRow{tr.T("request.field.birth_date"), tr.DateString(sub.Child.BirthDate)})
	} else {
		child.Rows = append(child.Rows, reviewRow{tr.T("request.field.expected_date"), tr.DateString(sub.Child.ExpectedDate)})
	}
	if sub.Child.NationalNumber != "" {
		child.Rows = append(child.Rows, reviewRow{tr.T("request.field.national_number"), sub.Child.NationalNumber})
	}
	parents := reviewSection{Step: stepParents, Title: tr.T("request.step.parents")}
	for i, pi := range sub.Parents {
		parents.Rows = append(parents.Rows, reviewRow{tr.T("request.review.parent", "N", i+1),
			strings.TrimSpace(strings.Join([]string{pi.FirstName + " " + pi.LastName, pi.Email, pi.Phone}, " · "))})
	}
	parents.Rows = append(parents.Rows, reviewRow{tr.T("request.field.language"), web.LanguageName(sub.Language)})
	place := sub.Address.MunicipalityNIS
	if m, ok := geo.LookupMunicipality(geo.NISCode(place)); ok {
		place = m.Name(lang)
	}
	if sub.Address.Neighbourhood != "" {
		place += " – " + sub.Address.Neighbourhood
	}
	parents.Rows = append(parents.Rows, reviewRow{tr.T("request.field.municipality"), place})
	var days []string
	for _, d := range sub.CarePlan.Days {
		days = append(days, tr.T("request.day."+d))
	}
	care := reviewSection{Step: stepCare, Title: tr.T("request.step.care"), Rows: []reviewRow{
		{tr.T("request.field.desired_month"), tr.Month(sub.DesiredStart)},
		{tr.T("request.field.flexibility"), strconv.Itoa(sub.FlexibilityWeeks)},
		{tr.T("request.field.days"), strings.Join(days, ", ")},
		{tr.T("request.field.day_part"), tr.T("request.day_part." + sub.CarePlan.DayPart)},
		{tr.T("request.field.wider_hours"), yes(sub.CarePlan.WiderHours)},
	}}
	prefs := reviewSection{Step: stepPreferences, Title: tr.T("request.step.preferences")}
	for i, id := range sub.Preferences {
		name := id
		if lid, err := parseLocation(id); err == nil {
			if d, err := p.cat.Get(ctx, lid, ""); err == nil {
				name = locationLabel(d.Location, lang)
			}
		}
		prefs.Rows = append(prefs.Rows, reviewRow{tr.T("request.field.preference", "N", i+1), name})
	}
	var claims []string
	for _, cl := range sub.PriorityClaims {
		claims = append(claims, tr.T("request.claim."+cl))
	}
	if len(claims) == 0 {
		claims = []string{tr.T("request.none")}
	}
	reason := reviewSection{Step: stepReason, Title: tr.T("request.step.reason"), Rows: []reviewRow{
		{tr.T("request.field.reason"), tr.T("request.reason." + sub.Reason)},
		{tr.T("request.field.claims"), strings.Join(claims, ", ")},
		{tr.T("request.field.specific_care_need"), yes(sub.SpecificCareNeed)},
	}}
	if sub.CareNeedNote != "" {
		reason.Rows = append(reason.Rows, reviewRow{tr.T("request.field.care_need_note"), sub.CareNeedNote})
	}
	reason.Rows = append(reason.Rows, reviewRow{tr.T("request.field.urgent"), yes(sub.Urgent)},
		reviewRow{tr.T("request.review.privacy"), yes(sub.PrivacyVersion == PrivacyVersion)})
	return []reviewSection{child, parents, care, prefs, reason}, nil
}

// --- status page --------------------------------------------------------------

// statusRequest opens the token of the URL for the desk of the URL; any
// problem (forged, revoked, another desk's link) is a plain 404.
func (p *ParentPages) statusRequest(c *fiber.Ctx) (tenant.Tenant, *Case, error) {
	t, err := p.desk(c)
	if err != nil {
		return t, nil, err
	}
	ctx := c.UserContext()
	deskID, id, err := p.svc.OpenStatusToken(ctx, c.Params("token"))
	if errors.Is(err, ErrLinkExpired) {
		return t, nil, fiber.NewError(fiber.StatusGone, "this status link expired")
	}
	if errors.Is(err, ErrBadToken) || (err == nil && deskID != t.ID) {
		return t, nil, fiber.ErrNotFound
	}
	if err != nil {
		return t, nil, err
	}
	cs, err := p.svc.Case(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return t, nil, fiber.ErrNotFound
	}
	return t, cs, err
}

type prefView struct {
	Rank                         int
	Location, State, Reason      string
	Address, Phone, Provider     string // shown with an offer or a place
	Offered                      bool
	OfferStart, OfferDays, Until string
	Closed                       bool
}

type statusView struct {
	Base, CSRF             string
	ChildFirstName, Status string
	StatusKey              string
	Submitted              string
	Open                   bool
	Preferences            []prefView
	Notice, Problem        string
	Errors                 []web.ErrorLink
	Email, Phone           web.Field
	Language               web.Field
	WithdrawURL            string
	Confirm                bool
	PlacedAt, DesiredStart string
	PrivacyURL, DeskEmail  string
	DeskPhone              string
	Explain                string
	RoundExplain           string
	// Dialogs ask before accepting an offer (with JavaScript).
	Dialogs []web.Confirm
}

func (p *ParentPages) statusView(c *fiber.Ctx, t tenant.Tenant, cs *Case) statusView {
	tr := p.render.Translator(c)
	lang := tr.Lang()
	r := cs.Request
	base := "/" + t.Slug + PathStatus + "/" + c.Params("token")
	v := statusView{Base: base, CSRF: account.CSRFToken(c), ChildFirstName: cs.Child.FirstName,
		Status: tr.T("request.status." + string(r.Status)), Explain: tr.T("request.explain." + string(r.Status)), StatusKey: string(r.Status), Open: r.Status.Open(),
		WithdrawURL: base + "/intrekken", DesiredStart: tr.Date(r.DesiredStart),
		PrivacyURL: "/" + t.Slug + PathPrivacy, DeskEmail: t.Settings.Contact.Email, DeskPhone: t.Settings.Contact.Phone}
	if r.SubmittedAt != nil {
		v.Submitted = tr.Date(*r.SubmittedAt)
	}
	if p.roundExplain != nil {
		v.RoundExplain, _ = p.roundExplain(c.UserContext(), r.ID, lang)
	}
	for _, pr := range r.Preferences {
		pv := prefView{Rank: pr.Rank, Location: cs.Locations[pr.LocationID].Name,
			State: tr.T("request.pref." + string(pr.State)), Offered: pr.State == PreferenceOffered, Closed: !pr.State.Open()}
		if pv.Location == "" {
			pv.Location = tr.T("request.unknown_location")
		}
		if pr.NoPlaceReason != "" {
			pv.Reason = tr.T("request.noplace." + string(pr.NoPlaceReason))
		}
		if pr.State == PreferenceOffered || pr.State == PreferenceAccepted {
			// Where to go and whom to call: the location's address and
			// phone and its provider (public catalogue data).
			if d, err := p.cat.Get(c.UserContext(), catalog.LocationID{UUID: pr.LocationID}, ""); err == nil {
				pv.Address = strings.TrimSpace(d.Street + ", " + d.Postcode + " " + municipalityName(d.MunicipalityNIS, lang))
				pv.Phone, pv.Provider = d.Phone, d.Provider.Name
			}
		}
		if pr.OfferStart != nil {
			pv.OfferStart = tr.Date(*pr.OfferStart)
		}
		if pr.OfferDays != "" {
			var days []string
			for _, d := range strings.Split(pr.OfferDays, ",") {
				days = append(days, tr.T("request.day."+d))
			}
			pv.OfferDays = strings.Join(days, ", ")
		}
		if pr.OfferDeadline != nil {
			pv.Until = tr.DateTime(*pr.OfferDeadline)
		}
		v.Preferences = append(v.Preferences, pv)
	}
	slices.SortFunc(v.Preferences, func(a, b prefView) int { return a.Rank - b.Rank })
	v.Email = web.Field{ID: "f-contact-email", Name: "email", Label: tr.T("request.field.email"), Value: cs.Family.Email, Type: "email", Autocomplete: "email"}
	v.Phone = web.Field{ID: "f-contact-phone", Name: "phone", Label: tr.T("request.field.phone"), Value: cs.Family.Phone, Type: "tel", Autocomplete: "tel"}
	v.Language = web.Field{ID: "f-contact-language", Name: "language", Label: tr.T("request.field.language")}
	v.Language.Options = web.LanguageOptions(nil, cs.Family.Language)
	if n := c.Query("klaar"); n != "" && slices.Contains([]string{"accepted", "declined", "contact", "withdrawn"}, n) {
		v.Notice = tr.T("request.notice." + n)
	}
	return v
}

func (p *ParentPages) status(c *fiber.Ctx) error {
	t, cs, err := p.statusRequest(c)
	if err != nil {
		return err
	}
	return p.renderStatus(c, t, p.statusView(c, t, cs), fiber.StatusOK)
}

func (p *ParentPages) renderStatus(c *fiber.Ctx, t tenant.Tenant, v statusView, status int) error {
	tr := p.render.Translator(c)
	name := "request_status"
	title := tr.T("request.status.title")
	if v.Confirm {
		name, title = "request_withdraw", tr.T("request.withdraw.title")
	}
	if v.Problem != "" || len(v.Errors) > 0 {
		title = tr.T("request.form.title_errors") + " " + title
	}
	v.Dialogs = p.acceptDialogs(tr, v)
	// Status pages carry a secret in the URL: keep it out of caches and referrers.
	privatePage(c)
	return p.render.Render(c, status, name, p.desks.Page(c, t, title, v))
}

// answerOffer runs accept or decline and shows the outcome in plain words.
func (p *ParentPages) answerOffer(c *fiber.Ctx, accept bool) error {
	t, cs, err := p.statusRequest(c)
	if err != nil {
		return err
	}
	rank, err := strconv.Atoi(c.FormValue("rank"))
	if err != nil {
		return fiber.ErrBadRequest
	}
	ctx := c.UserContext()
	done := "declined"
	if accept {
		done = "accepted"
		err = p.svc.Accept(ctx, cs.Request.ID, rank, Actor{Kind: ActorParent})
	} else {
		err = p.svc.Decline(ctx, cs.Request.ID, rank, Actor{Kind: ActorParent})
	}
	if err == nil {
		return c.Redirect(p.statusBase(t, c)+"?klaar="+done, fiber.StatusSeeOther)
	}
	return p.showProblem(c, t, err)
}

// showProblem re-renders the status page with a clear message for the
// outcomes a parent can run into; other errors go to the error handler.
func (p *ParentPages) showProblem(c *fiber.Ctx, t tenant.Tenant, err error) error {
	tr := p.render.Translator(c)
	var key string
	switch {
	case errors.Is(err, ErrPlaceTaken):
		key = "request.problem.place_taken"
	case errors.Is(err, ErrDeadlinePassed):
		key = "request.problem.deadline_passed"
	case errors.Is(err, ErrTransition), errors.Is(err, ErrNotFound):
		key = "request.problem.not_possible"
	default:
		return err
	}
	_, cs, lerr := p.statusRequest(c)
	if lerr != nil {
		return lerr
	}
	v := p.statusView(c, t, cs)
	v.Problem = tr.T(key)
	return p.renderStatus(c, t, v, fiber.StatusConflict)
}

func (p *ParentPages) statusBase(t tenant.Tenant, c *fiber.Ctx) string {
	return "/" + t.Slug + PathStatus + "/" + c.Params("token")
}

// accept accepts only after the question (confirm=yes); a bare post, like
// one click on an old page, is sent to the question.
func (p *ParentPages) accept(c *fiber.Ctx) error {
	if c.FormValue("confirm") != "yes" {
		t, _ := tenant.FromRequest(c)
		return c.Redirect(p.statusBase(t, c)+"/aanvaarden?rank="+url.QueryEscape(c.FormValue("rank")), fiber.StatusSeeOther)
	}
	return p.answerOffer(c, true)
}

func (p *ParentPages) decline(c *fiber.Ctx) error { return p.answerOffer(c, false) }

func (p *ParentPages) contact(c *fiber.Ctx) error {
	t, cs, err := p.statusRequest(c)
	if err != nil {
		return err
	}
	ch := ContactChange{Email: strings.TrimSpace(c.FormValue("email")), Phone: strings.TrimSpace(c.FormValue("phone")),
		Language: c.FormValue("language")}
	err = p.svc.UpdateContact(c.UserContext(), cs.Request.ID, ch, Actor{Kind: ActorParent})
	if err == nil {
		return c.Redirect(p.statusBase(t, c)+"?klaar=contact", fiber.StatusSeeOther)
	}
	es, ok := validate.As(err)
	if !ok {
		return p.showProblem(c, t, err)
	}
	tr := p.render.Translator(c)
	v := p.statusView(c, t, cs)
	v.Email.Value, v.Phone.Value = ch.Email, ch.Phone
	for i := range v.Language.Options {
		v.Language.Options[i].Selected = v.Language.Options[i].Value == ch.Language
	}
	for _, e := range es {
		var fv *web.Field
		switch e.Field {
		case "email":
			fv = &v.Email
		case "phone":
			fv = &v.Phone
		case "language":
			fv = &v.Language
		default:
			continue
		}
		if fv.Error == "" {
			fv.Error = tr.T("requests.error." + e.Code)
			v.Errors = append(v.Errors, web.ErrorLink{Anchor: fv.ID, Message: fv.Label + ": " + fv.Error})
		}
	}
	return p.renderStatus(c, t, v, fiber.StatusUnprocessableEntity)
}

func (p *ParentPages) withdrawConfirm(c *fiber.Ctx) error {
	t, cs, err := p.statusRequest(c)
	if err != nil {
		return err
	}
	v := p.statusView(c, t, cs)
	v.Confirm = true
	return p.renderStatus(c, t, v, fiber.StatusOK)
}

func (p *ParentPages) withdraw(c *fiber.Ctx) error {
	t, cs, err := p.statusRequest(c)
	if err != nil {
		return err
	}
	if c.FormValue("confirm") != "yes" {
		return c.Redirect(p.statusBase(t, c)+"/intrekken", fiber.StatusSeeOther)
	}
	why := strings.TrimSpace(c.FormValue("why"))
	if len(why) > 500 {
		why = why[:500]
	}
	if why == "" {
		why = "withdrawn by the parent on the status page"
	}
	if err := p.svc.Withdraw(c.UserContext(), cs.Request.ID, why, Actor{Kind: ActorParent}); err != nil {
		return p.showProblem(c, t, err)
	}
	return c.Redirect(p.statusBase(t, c)+"?klaar=withdrawn", fiber.StatusSeeOther)
}

// --- a new status link ----------------------------------------------------------

type newLinkView struct {
	Action, CSRF         string
	Email                web.Field
	Errors               []web.ErrorLink
	Sent                 bool
	DeskEmail, DeskPhone string
}

func (p *ParentPages) newLinkView(c *fiber.Ctx, t tenant.Tenant) newLinkView {
	tr := p.render.Translator(c)
	return newLinkView{Action: "/" + t.Slug + PathNewLink, CSRF: account.CSRFToken(c),
		Email:     web.Field{ID: "f-newlink-email", Name: "email", Label: tr.T("request.field.email"), Type: "email", Autocomplete: "email"},
		DeskEmail: t.Settings.Contact.Email, DeskPhone: t.Settings.Contact.Phone}
}

func (p *ParentPages) renderNewLink(c *fiber.Ctx, t tenant.Tenant, v newLinkView, status int) error {
	tr := p.render.Translator(c)
	title := tr.T("request.newlink.title")
	if len(v.Errors) > 0 {
		title = tr.T("request.form.title_errors") + " " + title
	}
	privatePage(c)
	return p.render.Render(c, status, "request_newlink", p.desks.Page(c, t, title, v))
}

// newLinkForm asks for the e-mail address; ?verstuurd=1 shows that a link
// is on its way (after "send me a new link" on the status page).
func (p *ParentPages) newLinkForm(c *fiber.Ctx) error {
	t, err := p.desk(c)
	if err != nil {
		return err
	}
	v := p.newLinkView(c, t)
	v.Sent = c.Query("verstuurd") != ""
	return p.renderNewLink(c, t, v, fiber.StatusOK)
}

// newLink mails a new link for every request of this desk with the given
// address. The answer is the same whether the address is known or not.
// Attempts are limited per client address and per e-mail address, so nobody
// floods a mailbox or keeps revoking a family's links.
func (p *ParentPages) newLink(c *fiber.Ctx) error {
	t, err := p.desk(c)
	if err != nil {
		return err
	}
	tr := p.render.Translator(c)
	v := p.newLinkView(c, t)
	email := strings.TrimSpace(strings.Clone(c.FormValue("email")))
	v.Email.Value = email
	fail := func(msg string, status int) error {
		v.Email.Error = msg
		v.Errors = []web.ErrorLink{{Anchor: v.Email.ID, Message: v.Email.Label + ": " + msg}}
		return p.renderNewLink(c, t, v, status)
	}
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
		return fail(tr.T("requests.error.email"), fiber.StatusUnprocessableEntity)
	}
	ctx := c.UserContext()
	if retry, err := p.svc.AllowNewLink(ctx, c.IP(), email); err != nil {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(retry.Seconds())+1))
		return fail(tr.T("request.newlink.too_many"), fiber.StatusTooManyRequests)
	}
	if err := p.svc.MailNewLinks(ctx, email, Actor{Kind: ActorParent}); err != nil {
		return err
	}
	v.Sent = true
	return p.renderNewLink(c, t, v, fiber.StatusOK)
}

// renewLink is "send me a new link" on the status page: the link in the
// address bar stops working, the new one goes to the family's e-mail
// address (never onto this page: whoever holds a leaked link must not get
// the new one).
func (p *ParentPages) renewLink(c *fiber.Ctx) error {
	t, cs, err := p.statusRequest(c)
	if err != nil {
		return err
	}
	if retry, err := p.svc.AllowNewLink(c.UserContext(), c.IP(), cs.Family.Email); err != nil {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(retry.Seconds())+1))
		v := p.statusView(c, t, cs)
		v.Problem = p.render.Translator(c).T("request.newlink.too_many")
		return p.renderStatus(c, t, v, fiber.StatusTooManyRequests)
	}
	err = p.svc.RenewStatusLink(c.UserContext(), cs.Request.ID, Actor{Kind: ActorParent})
	if errors.Is(err, ErrNoEmail) {
		v := p.statusView(c, t, cs)
		v.Problem = p.render.Translator(c).T("request.newlink.no_email")
		return p.renderStatus(c, t, v, fiber.StatusConflict)
	}
	if err != nil {
		return p.showProblem(c, t, err)
	}
	return c.Redirect("/"+t.Slug+PathNewLink+"?verstuurd=1", fiber.StatusSeeOther)
}
