package requests

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/loket-kinderopvang/loket/internal/account"
	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/eventlog"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/page"
	"github.com/loket-kinderopvang/loket/internal/platform/validate"
	"github.com/loket-kinderopvang/loket/internal/platform/web"
)

// PathProviderInbox is the provider inbox, a platform path (under /aanbieder,
// which access.PlatformPaths already keeps away from the desks).
const PathProviderInbox = "/aanbieder/:provider/aanvragen"

// providerScope is what one caller may see of one provider: the provider and
// the locations she answers for.
type providerScope struct {
	Provider  uuid.UUID
	Locations []uuid.UUID
}

const localScope = "requests.provider_scope"

// RegisterProvider adds the provider inbox pages; register before the
// /:tenant group.
func (h *Web) RegisterProvider(app fiber.Router) {
	read := h.scope(authz.RequestsRead, h.UserOf)
	write := h.scope(authz.RequestsWrite, h.UserOf)
	app.Get(PathProviderInbox, h.RequireUser, read, h.inbox)
	app.Get(PathProviderInbox+"/:desk/:request/:rank", h.RequireUser, write, h.answerPage)
	app.Post(PathProviderInbox+"/:desk/:request/:rank", h.RequireUser, write, h.answerForm)
}

// RegisterProviderAPI adds the providers' JSON API under /api/v1.
func (h *Web) RegisterProviderAPI(api fiber.Router) {
	read := h.scope(authz.RequestsRead, h.Principal)
	api.Get("/providers/:provider/inbox", h.APIAuth, read, h.apiInbox)
	api.Get("/providers/:provider/offers", h.APIAuth, read, h.apiOffers)
	api.Get("/providers/:provider/placements", h.APIAuth, read, h.apiPlacements)
	api.Get("/providers/:provider/withdrawals", h.APIAuth, read, h.apiWithdrawals)
	api.Post("/providers/:provider/answers", h.APIAuth, h.scope(authz.RequestsWrite, h.Principal), h.apiAnswer)
}

// scope authorises perm for the provider in the path: in the provider's
// domain (every location of the provider) or, for staff named for some
// locations only, in those locations. Anything else is 404, like a
// provider that does not exist.
func (h *Web) scope(perm authz.Permission, userOf func(*fiber.Ctx) (string, bool)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		user, ok := userOf(c)
		if !ok || user == "" {
			return fiber.ErrUnauthorized
		}
		user = strings.Clone(user)
		pid, err := uuid.Parse(c.Params("provider"))
		if err != nil {
			return fiber.ErrNotFound
		}
		var locs []catalog.Location
		if err := h.Catalog.NewSelect().Model(&locs).Column("id").Where("provider_id = ?", pid).Order("id").Scan(c.UserContext()); err != nil {
			return err
		}
		s := providerScope{Provider: pid}
		if ok, err := h.Authz.Allowed(user, authz.Provider(pid.String()), perm); err != nil {
			return err
		} else if ok {
			for _, l := range locs {
				s.Locations = append(s.Locations, l.ID.UUID)
			}
		} else {
			ds, err := h.Authz.DomainsWhere(user, perm.Object(), perm.Action())
			if err != nil {
				return err
			}
			mine := authz.IDs(ds, authz.KindLocation)
			for _, l := range locs {
				if slices.Contains(mine, l.ID.String()) {
					s.Locations = append(s.Locations, l.ID.UUID)
				}
			}
			if len(s.Locations) == 0 {
				return fiber.ErrNotFound
			}
		}
		c.Locals(localScope, s)
		return c.Next()
	}
}

// ProviderScope authorises perm for the provider in the path (see scope) for
// other packages' provider pages; ProviderScopeOf then names the provider and
// the locations the user may act for.
func (h *Web) ProviderScope(perm authz.Permission) fiber.Handler { return h.scope(perm, h.UserOf) }

// ProviderScopeOf returns what ProviderScope allowed.
func ProviderScopeOf(c *fiber.Ctx) (provider uuid.UUID, locations []uuid.UUID) {
	s := scopeOf(c)
	return s.Provider, s.Locations
}

func scopeOf(c *fiber.Ctx) providerScope {
	s, _ := c.Locals(localScope).(providerScope)
	return s
}

func (h *Web) providerActor(c *fiber.Ctx, userOf func(*fiber.Ctx) (string, bool)) Actor {
	id, _ := userOf(c)
	return Actor{ID: strings.Clone(id), Kind: ActorProvider}
}

// --- inbox page -------------------------------------------------------------

type inboxLine struct {
	Key, Action, Desk, Location, Child, Age, Start, Flex, Days, Part string
	Parent, Email, Phone, Language, State, Due, OfferStart           string
	CareNote                                                         string
	WiderHours, CareNeed, Overdue, Registry, Pending                 bool
	Error                                                            string
	Kinds                                                            []string // answers it can take
}

type inboxView struct {
	CSRF     string
	Rows     []inboxLine
	Reasons  []NoPlaceReason
	Weekdays []string
	Notice   string
}

func (h *Web) inboxRows(c *fiber.Ctx, items []InboxItem) []inboxLine {
	tr := h.Render.Translator(c)
	base := "/aanbieder/" + scopeOf(c).Provider.String() + "/aanvragen/"
	var rows []inboxLine
	for _, it := range items {
		var days []string
		for _, d := range it.Days {
			days = append(days, tr.T("deskwork.day."+d))
		}
		key := it.DeskSlug + "/" + it.RequestID.String() + "/" + strconv.Itoa(it.Rank)
		rows = append(rows, inboxLine{Key: key, Action: base + key, Desk: it.DeskName, Location: it.LocationName,
			Child: it.ChildFirstName, Age: strconv.Itoa(it.AgeMonthsAtStart), Start: it.DesiredStart.Format(dateLayout),
			Flex: strconv.Itoa(it.FlexibilityWeeks), Days: strings.Join(days, ", "), Part: string(it.DayPart),
			Parent: it.ParentName, Email: it.ParentEmail, Phone: it.ParentPhone, Language: tr.T("language." + it.Language), State: string(it.State),
			Due: day(it.AnswerDue), OfferStart: day(it.OfferStart), CareNote: it.CareNeedNote, WiderHours: it.WiderHours,
			CareNeed: it.SpecificCareNeed, Overdue: it.Overdue, Registry: it.DeskMode == "registry",
			Pending: it.State == PreferencePending || it.State == PreferenceWaitingList, Kinds: answerKinds(it.DeskMode == "registry")})
	}
	return rows
}

func (h *Web) renderInbox(c *fiber.Ctx, status int, errKey, errMsg string) error {
	web.SetLanguage(c, web.PickLanguage(c, []string{"nl", "fr", "en"}, "nl"))
	s := scopeOf(c)
	items, err := h.Service.Inbox(c.UserContext(), s.Provider, s.Locations, Look{Actor: h.providerActor(c, h.UserOf), What: eventlog.LookInbox, Organisation: authz.Provider(s.Provider.String())}, nil)
	if err != nil {
		return err
	}
	tr := h.Render.Translator(c)
	v := inboxView{CSRF: account.CSRFToken(c), Rows: h.inboxRows(c, items), Reasons: NoPlaceReasons, Weekdays: Weekdays}
	for i := range v.Rows {
		if v.Rows[i].Key == errKey {
			v.Rows[i].Error = errMsg
		}
	}
	if n := c.Query("gedaan"); n == "1" {
		v.Notice = tr.T("deskwork.inbox.answered")
	}
	title := tr.T("deskwork.inbox.title")
	if errMsg != "" {
		title = tr.T("deskwork.errors.prefix") + ": " + title
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return h.Render.Render(c, status, "provider_inbox", web.Page{Translator: tr, Title: title, Data: v})
}

func (h *Web) inbox(c *fiber.Ctx) error { return h.renderInbox(c, fiber.StatusOK, "", "") }

// answerOf reads an answer; a date that does not parse is a field error.
func answerOf(kind, start string, days []string, reason string) (Answer, validate.Errors) {
	a := Answer{Kind: AnswerKind(kind), OfferDays: days, Reason: NoPlaceReason(reason)}
	var es validate.Errors
	if a.Kind == AnswerOffer && start != "" {
		t, err := time.Parse(dateLayout, start)
		if err != nil {
			es.Add("offer_start", "date", "must be a date like 2027-03-01 (got %q)", start)
		}
		a.OfferStart = t
	}
	return a, es
}

func (h *Web) answerForm(c *fiber.Ctx) error {
	web.SetLanguage(c, web.PickLanguage(c, []string{"nl", "fr", "en"}, "nl"))
	desk, id, n, err := answerTarget(c)
	if err != nil {
		return err
	}
	typed := answerInput{Kind: fv(c, "kind"), Start: fv(c, "offer_start"), Days: fvs(c, "offer_days"), Reason: fv(c, "reason")}
	a, es := answerOf(typed.Kind, typed.Start, typed.Days, typed.Reason)
	if len(es) == 0 {
		err = h.answer(c, desk, id, n, a, h.UserOf)
		es, _ = validate.As(err)
	}
	switch {
	case len(es) > 0:
		// The answer page again, with every value as typed and each error
		// linked to its field.
		return h.renderAnswer(c, fiber.StatusUnprocessableEntity, desk, id, n, &typed, es)
	case errors.Is(err, ErrNotFound):
		return fiber.ErrNotFound
	case errors.Is(err, ErrTransition):
		return h.renderInbox(c, fiber.StatusConflict, desk+"/"+id.String()+"/"+strconv.Itoa(n), h.Render.Translator(c).T("deskwork.case.not_now"))
	case err != nil:
		return err
	}
	return c.Redirect("/aanbieder/"+scopeOf(c).Provider.String()+"/aanvragen?gedaan=1", fiber.StatusSeeOther)
}

func (h *Web) answer(c *fiber.Ctx, desk string, id RequestID, rank int, a Answer, userOf func(*fiber.Ctx) (string, bool)) error {
	return h.Service.ProviderAnswer(c.UserContext(), desk, id, rank, scopeOf(c).Locations, a, h.providerActor(c, userOf))
}

// --- JSON API ---------------------------------------------------------------

// InboxEntry is one line of GET /api/v1/providers/{provider}/inbox.
type InboxEntry struct {
	Desk             string     `json:"desk"`
	DeskName         string     `json:"desk_name"`
	DeskMode         string     `json:"desk_mode"`
	RequestID        string     `json:"request_id"`
	Rank             int        `json:"rank"`
	LocationID       string     `json:"location_id"`
	LocationName     string     `json:"location_name"`
	ChildFirstName   string     `json:"child_first_name"`
	AgeMonthsAtStart int        `json:"age_months_at_start"`
	DesiredStart     string     `json:"desired_start"`
	FlexibilityWeeks int        `json:"flexibility_weeks"`
	Days             []string   `json:"days"`
	DayPart          DayPart    `json:"day_part"`
	WiderHours       bool       `json:"wider_hours"`
	SpecificCareNeed bool       `json:"specific_care_need"`
	CareNeedNote     string     `json:"care_need_note"`
	ParentName       string     `json:"parent_name"`
	ParentEmail      string     `json:"parent_email"`
	ParentPhone      string     `json:"parent_phone"`
	Language         string     `json:"language"`
	State            string     `json:"state"`
	AnswerDue        *time.Time `json:"answer_due"`
	Overdue          bool       `json:"overdue"`
	UpdatedAt        time.Time  `json:"updated_at"`
}

// Pagination of the provider lists: the page package's limit and cursor,
// and updated_since.
func (h *Web) listQuery(c *fiber.Ctx) (ProviderQuery, bool, error) {
	p, es := page.Parse(c)
	q := ProviderQuery{After: p.After, Limit: p.Limit}
	if s := c.Query("updated_since"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			es = append(es, web.FieldError{Field: "updated_since", Message: "must be an RFC 3339 date-time like 2027-03-01T08:00:00Z"})
		}
		q.Since = t
	}
	if es != nil {
		return q, false, page.Problem(c, es)
	}
	return q, true, nil
}

// providerList answers one of the provider lists with entries made by line.
func providerList[T any](h *Web, c *fiber.Ctx, list ProviderList, what string, line func(ListItem) T) error {
	q, ok, err := h.listQuery(c)
	if !ok {
		return err
	}
	s := scopeOf(c)
	items, next, err := h.Service.ProviderItems(c.UserContext(), list, s.Locations,
		Look{Actor: h.providerActor(c, h.Principal), What: what, Organisation: authz.Provider(s.Provider.String())}, q)
	if errors.Is(err, ErrBadCursor) {
		return page.Problem(c, []web.FieldError{{Field: "cursor", Message: "must be a next_cursor this list returned"}})
	}
	if err != nil {
		return err
	}
	out := make([]T, 0, len(items))
	for _, it := range items {
		out = append(out, line(it))
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return page.Send(c, out, next)
}

func (h *Web) apiInbox(c *fiber.Ctx) error {
	return providerList(h, c, ListInbox, eventlog.LookAPIInbox, func(it ListItem) InboxEntry {
		return InboxEntry{Desk: it.DeskSlug, DeskName: it.DeskName, DeskMode: it.DeskMode, RequestID: it.RequestID.String(),
			Rank: it.Rank, LocationID: it.LocationID.String(), LocationName: it.LocationName, ChildFirstName: it.ChildFirstName,
			AgeMonthsAtStart: it.AgeMonthsAtStart, DesiredStart: it.DesiredStart.Format(dateLayout), FlexibilityWeeks: it.FlexibilityWeeks,
			Days: it.Days, DayPart: it.DayPart, WiderHours: it.WiderHours, SpecificCareNeed: it.SpecificCareNeed,
			CareNeedNote: it.CareNeedNote, ParentName: it.ParentName, ParentEmail: it.ParentEmail, ParentPhone: it.ParentPhone,
			Language: it.Language, State: string(it.State), AnswerDue: it.AnswerDue, Overdue: it.Overdue, UpdatedAt: it.UpdatedAt}
	})
}

// OfferEntry is one line of GET /api/v1/providers/{provider}/offers: an
// offer and its outcome.
type OfferEntry struct {
	Desk           string     `json:"desk"`
	RequestID      string     `json:"request_id"`
	Rank           int        `json:"rank"`
	LocationID     string     `json:"location_id"`
	ChildFirstName string     `json:"child_first_name"`
	Outcome        string     `json:"outcome"` // offered, accepted, declined, lapsed
	OfferedAt      *time.Time `json:"offered_at"`
	OfferStart     string     `json:"offer_start"`
	OfferDays      []string   `json:"offer_days"`
	OfferDeadline  *time.Time `json:"offer_deadline"`
	RespondedAt    *time.Time `json:"responded_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

// PlacementEntry is one line of GET /api/v1/providers/{provider}/placements:
// an accepted place.
type PlacementEntry struct {
	Desk           string     `json:"desk"`
	RequestID      string     `json:"request_id"`
	Rank           int        `json:"rank"`
	LocationID     string     `json:"location_id"`
	ChildFirstName string     `json:"child_first_name"`
	StartDate      string     `json:"start_date"`
	Days           []string   `json:"days"`
	DayPart        DayPart    `json:"day_part"`
	AcceptedAt     *time.Time `json:"accepted_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

// WithdrawalEntry is one line of GET /api/v1/providers/{provider}/withdrawals:
// a withdrawn request that had a preference for one of the locations.
type WithdrawalEntry struct {
	Desk        string     `json:"desk"`
	RequestID   string     `json:"request_id"`
	Rank        int        `json:"rank"`
	LocationID  string     `json:"location_id"`
	WithdrawnAt *time.Time `json:"withdrawn_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

func dayOrEmpty(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.Format(dateLayout)
}

func (h *Web) apiOffers(c *fiber.Ctx) error {
	return providerList(h, c, ListOffers, eventlog.LookAPIOffers, func(it ListItem) OfferEntry {
		return OfferEntry{Desk: it.DeskSlug, RequestID: it.RequestID.String(), Rank: it.Rank, LocationID: it.LocationID.String(),
			ChildFirstName: it.ChildFirstName, Outcome: string(it.State), OfferedAt: it.AnsweredAt, OfferStart: dayOrEmpty(it.OfferStart),
			OfferDays: it.OfferDays, OfferDeadline: it.OfferDeadline, RespondedAt: it.RespondedAt, UpdatedAt: it.UpdatedAt}
	})
}

func (h *Web) apiPlacements(c *fiber.Ctx) error {
	return providerList(h, c, ListPlacements, eventlog.LookAPIPlacements, func(it ListItem) PlacementEntry {
		return PlacementEntry{Desk: it.DeskSlug, RequestID: it.RequestID.String(), Rank: it.Rank, LocationID: it.LocationID.String(),
			ChildFirstName: it.ChildFirstName, StartDate: dayOrEmpty(it.OfferStart), Days: it.OfferDays, DayPart: it.DayPart,
			AcceptedAt: it.RespondedAt, UpdatedAt: it.UpdatedAt}
	})
}

func (h *Web) apiWithdrawals(c *fiber.Ctx) error {
	return providerList(h, c, ListWithdrawals, eventlog.LookAPIWithdrawals, func(it ListItem) WithdrawalEntry {
		return WithdrawalEntry{Desk: it.DeskSlug, RequestID: it.RequestID.String(), Rank: it.Rank, LocationID: it.LocationID.String(),
			WithdrawnAt: it.StatusChanged, UpdatedAt: it.UpdatedAt}
	})
}

// AnswerBody is the body of POST /api/v1/providers/{provider}/answers.
type AnswerBody struct {
	Desk       string   `json:"desk"`
	RequestID  string   `json:"request_id"`
	Rank       int      `json:"rank"`
	Kind       string   `json:"kind"`
	OfferStart string   `json:"offer_start"`
	OfferDays  []string `json:"offer_days"`
	Reason     string   `json:"reason"`
}

func (h *Web) apiAnswer(c *fiber.Ctx) error {
	// JSON only: a browser cannot send it cross-site without a CORS
	// preflight, so cookie callers need no CSRF token (as for availability).
	if mt, _, _ := mime.ParseMediaType(c.Get(fiber.HeaderContentType)); mt != fiber.MIMEApplicationJSON {
		return web.SendProblem(c, web.Problem{Status: fiber.StatusUnsupportedMediaType, Detail: "send application/json"})
	}
	var b AnswerBody
	dec := json.NewDecoder(bytes.NewReader(c.Body()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return web.SendProblem(c, web.Problem{Status: fiber.StatusUnprocessableEntity, Title: "Malformed JSON", Detail: err.Error(),
			Errors: []web.FieldError{{Field: "body", Message: "not a JSON answer object"}}})
	}
	var es validate.Errors
	id, err := uuid.Parse(b.RequestID)
	if err != nil {
		es.Add("request_id", "required", "must be the id of a request in your inbox")
	}
	if b.Desk == "" {
		es.Add("desk", "required", "is required")
	}
	if b.Rank < 1 {
		es.Add("rank", "required", "must be the preference's rank (1 or more)")
	}
	a, more := answerOf(b.Kind, b.OfferStart, b.OfferDays, b.Reason)
	es = append(es, more...)
	if len(es) > 0 {
		return web.SendProblem(c, es.Problem("The answer has invalid fields; nothing was changed."))
	}
	err = h.answer(c, b.Desk, RequestID{UUID: id}, b.Rank, a, h.Principal)
	if es, ok := validate.As(err); ok {
		return web.SendProblem(c, es.Problem("The answer has invalid fields; nothing was changed."))
	}
	switch {
	case errors.Is(err, ErrNotFound):
		return web.SendProblem(c, web.Problem{Status: fiber.StatusNotFound, Title: "Not in your inbox",
			Detail: "No preference of this request is for one of your locations."})
	case errors.Is(err, ErrTransition):
		return web.SendProblem(c, web.Problem{Status: fiber.StatusConflict, Title: "Already answered",
			Detail: "This preference cannot take this answer in its current state."})
	case err != nil:
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
