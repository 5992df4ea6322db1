package catalog

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/loket-kinderopvang/loket/internal/geo"
	"github.com/loket-kinderopvang/loket/internal/platform/web"
	"github.com/loket-kinderopvang/loket/internal/tenant"
)

// SearchHandler serves catalogue search: the public pages and the JSON API.
type SearchHandler struct {
	store  *Store
	desks  *tenant.Handler
	dir    *tenant.Directory
	render *web.Renderer
	// mapTiles is the tile URL template of the map shown with JavaScript.
	mapTiles string
}

// NewSearchHandler returns the search handlers.
func NewSearchHandler(store *Store, dir *tenant.Directory, desks *tenant.Handler, render *web.Renderer, opts ...SearchOption) *SearchHandler {
	h := &SearchHandler{store: store, dir: dir, desks: desks, render: render}
	for _, o := range opts {
		o(h)
	}
	return h
}

// SearchOption configures the search pages.
type SearchOption func(*SearchHandler)

// WithMapTiles shows, with JavaScript, a real map with tiles from this URL
// template ({z}/{x}/{y}) on the search and location pages; without it (or
// without JavaScript) the drawn SVG map stays.
func WithMapTiles(urlTemplate string) SearchOption {
	return func(h *SearchHandler) { h.mapTiles = urlTemplate }
}

// RegisterAPI adds /api/v1/locations routes.
func (h *SearchHandler) RegisterAPI(api fiber.Router) {
	api.Get("/locations", h.apiList)
	api.Get("/locations/:id", h.apiGet)
}

// RegisterDesk adds /{tenant}/opvang routes.
func (h *SearchHandler) RegisterDesk(desk fiber.Router) {
	desk.Get("/opvang", h.page)
	desk.Get("/opvang/:location", h.detail)
}

// Search areas a desk page offers. Searching across municipal borders is
// normal: a parent often works or has family in the next municipality.
const (
	AreaDesk   = "desk"   // the desk's own municipalities (the default)
	AreaNearby = "nearby" // plus the neighbouring municipalities
	AreaRegion = "region" // the whole region (arrondissement) of the desk
	AreaAll    = "all"    // everywhere
)

// NearbyKm is how far the centre of a municipality may lie from the centre of
// one of the desk's municipalities to count as neighbouring. The reference
// data has centre points, not borders, so this approximates adjacency.
const NearbyKm = 12.0

// AvailabilityMonths is how many start months the detail shows.
const AvailabilityMonths = 12

// SearchForm is a search as the visitor typed it, to show it again (also
// when it has errors).
type SearchForm struct {
	Area           string
	Municipalities []string
	Regions        []string
	Postcode       string
	Lat, Lon       string
	WithinKm       string
	Type           string
	PriceType      string
	BirthDate      string
	StartMonth     string
	Early, Late    bool
	Weekend        bool
	Inclusive      bool
	Occasional     bool
	AcceptsReqs    bool
	FreePlaces     bool
	Sort           string
	PerPage        string
}

// ParseSearch reads a catalogue search from query parameters: the one parser
// of the public pages and the JSON API. desk is the desk whose page is
// searched (nil for the API): without an explicit municipality or region its
// area applies (see [AreaDesk]). Bad input gives ValidationErrors whose fields
// are the parameter names.
func ParseSearch(v url.Values, desk *tenant.Tenant) (Query, SearchForm, error) {
	var c checker
	get := func(k string) string { return strings.TrimSpace(v.Get(k)) }
	f := SearchForm{
		Area: get("area"), Postcode: get("postcode"), Lat: get("lat"), Lon: get("lon"),
		WithinKm: get("within_km"), Type: get("type"), PriceType: get("price_type"),
		BirthDate: get("birth_date"), StartMonth: get("start_month"), Sort: get("sort"), PerPage: get("per_page"),
	}
	q := Query{CareType: CareType(f.Type), PriceType: PriceType(f.PriceType), StartMonth: f.StartMonth, Sort: f.Sort}

	// Area: explicit municipalities and regions, else the desk's choice.
	seen := map[geo.NISCode]bool{}
	addMuni := func(n geo.NISCode) {
		if !seen[n] {
			seen[n] = true
			q.Municipalities = append(q.Municipalities, n)
		}
	}
	for _, m := range v["municipality"] {
		if m = strings.TrimSpace(m); m == "" {
			continue
		}
		f.Municipalities = append(f.Municipalities, m)
		if _, ok := geo.LookupMunicipality(geo.NISCode(m)); !ok {
			c.add("municipality", "municipality", "unknown municipality %q (a five-digit NIS code)", m)
			continue
		}
		addMuni(geo.NISCode(m))
	}
	for _, r := range v["region"] {
		if r = strings.TrimSpace(r); r == "" {
			continue
		}
		f.Regions = append(f.Regions, r)
		reg, ok := geo.LookupRegion(geo.NISCode(r))
		if !ok {
			c.add("region", "region", "unknown region %q (a five-digit NIS code)", r)
			continue
		}
		for _, m := range reg.Municipalities {
			addMuni(m)
		}
	}

	// A point: a postcode, or coordinates.
	switch {
	case f.Postcode != "" && (f.Lat != "" || f.Lon != ""):
		c.add("postcode", "near_both", "give a postcode or coordinates (lat, lon), not both")
	case f.Postcode != "":
		if !postcodePat.MatchString(f.Postcode) {
			c.add("postcode", "postcode", "a postcode has four digits (got %q)", f.Postcode)
		} else if pc, ok := geo.LookupPostcode(f.Postcode); !ok {
			c.add("postcode", "postcode_unknown", "unknown postcode %q", f.Postcode)
		} else {
			p := pc.Point
			q.Near = &p
		}
	case f.Lat != "" || f.Lon != "":
		lat, err1 := strconv.ParseFloat(f.Lat, 64)
		lon, err2 := strconv.ParseFloat(f.Lon, 64)
		if err1 != nil || err2 != nil || lat < 49.4 || lat > 51.6 || lon < 2.5 || lon > 6.5 {
			c.add("lat", "coordinates", "lat and lon must both be given, as decimal degrees in Belgium (got %q, %q)", f.Lat, f.Lon)
		} else {
			q.Near = &geo.Point{Lat: lat, Lon: lon}
		}
	}
	if f.WithinKm != "" {
		km, err := strconv.ParseFloat(strings.Replace(f.WithinKm, ",", ".", 1), 64)
		if err != nil || math.IsNaN(km) {
			c.add("within_km", "number", "the distance must be a number of kilometres (got %q)", f.WithinKm)
		} else {
			q.WithinKm = km
		}
	}

	if desk != nil && len(f.Municipalities) == 0 && len(f.Regions) == 0 {
		if f.Area == "" {
			// A distance is an area of its own; otherwise the desk's municipalities.
			f.Area = AreaDesk
			if q.WithinKm > 0 {
				f.Area = AreaAll
			}
		}
		area, ok := DeskArea(*desk, f.Area)
		if !ok {
			c.add("area", "area", "the area must be desk, nearby, region or all (got %q)", f.Area)
		}
		q.Municipalities = area
	}

	if f.BirthDate != "" {
		b, err := time.Parse("2006-01-02", f.BirthDate)
		if err != nil {
			c.add("birth_date", "date", "the birth date must look like 2026-09-30 (got %q)", f.BirthDate)
		} else {
			q.ChildBirth = &b
			if ValidMonth(f.StartMonth) && f.StartMonth < b.Format("2006-01") {
				c.add("start_month", "birth_after_start", "the start month %s is before the birth date", f.StartMonth)
			}
		}
	}

	for _, b := range []struct {
		name string
		dst  *bool
		qdst *bool
	}{
		{"early", &f.Early, &q.EarlyHours}, {"late", &f.Late, &q.LateHours}, {"weekend", &f.Weekend, &q.Weekend},
		{"inclusive", &f.Inclusive, &q.InclusiveCare}, {"occasional", &f.Occasional, &q.OccasionalCare},
		{"accepts_requests", &f.AcceptsReqs, &q.AcceptsRequests}, {"free_places", &f.FreePlaces, &q.HasFreePlaces},
	} {
		on, ok := parseBool(get(b.name))
		if !ok {
			c.add(b.name, "boolean", "%s must be true or false (got %q)", b.name, get(b.name))
		}
		*b.dst, *b.qdst = on, on
	}

	if p := get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 10000 {
			c.add("page", "page", "the page must be a whole number from 1 (got %q)", p)
		} else {
			q.Page = n
		}
	}
	if f.PerPage != "" {
		n, err := strconv.Atoi(f.PerPage)
		if err != nil || n < 1 || n > 100 {
			c.add("per_page", "per_page", "per_page must be a whole number from 1 to 100 (got %q)", f.PerPage)
		} else {
			q.PerPage = n
		}
	}

	// The rules on the whole query live in Normalize; rename its fields to
	// the parameters a client sends.
	var ves ValidationErrors
	if err := q.Normalize(); errors.As(err, &ves) {
		for _, e := range ves {
			if e.Field == "near" {
				e.Field = "postcode"
			}
			c.errs = append(c.errs, e)
		}
	} else if err != nil {
		return q, f, err
	}
	return q, f, dedupe(c.errs)
}

// dedupe drops repeated field+code pairs (two rules may need the same input).
func dedupe(es ValidationErrors) error {
	if len(es) == 0 {
		return nil
	}
	out := es[:0:0]
	for _, e := range es {
		if !slices.ContainsFunc(out, func(o FieldError) bool { return o.Field == e.Field && o.Code == e.Code }) {
			out = append(out, e)
		}
	}
	return out
}

func parseBool(s string) (on, ok bool) {
	switch strings.ToLower(s) {
	case "", "0", "false", "off", "no", "nee":
		return false, true
	case "1", "true", "on", "yes", "ja":
		return true, true
	}
	return false, false
}

// DeskArea returns the municipalities of a desk's search area (nil for
// everywhere); false when area is unknown.
func DeskArea(t tenant.Tenant, area string) ([]geo.NISCode, bool) {
	switch area {
	case AreaDesk:
		return slices.Clone(t.Municipalities), true
	case AreaNearby:
		return NearbyMunicipalities(t.Municipalities, NearbyKm), true
	case AreaRegion:
		var out []geo.NISCode
		for _, r := range deskRegions(t) {
			out = append(out, r.Municipalities...)
		}
		return out, true
	case AreaAll:
		return nil, true
	}
	return slices.Clone(t.Municipalities), false
}

// NearbyMunicipalities returns base plus every municipality whose centre lies
// within km of the centre of one in base, sorted by NIS code.
func NearbyMunicipalities(base []geo.NISCode, km float64) []geo.NISCode {
	var centres []geo.Municipality
	for _, n := range base {
		if m, ok := geo.LookupMunicipality(n); ok {
			centres = append(centres, m)
		}
	}
	var out []geo.NISCode
	for _, m := range geo.Municipalities() {
		near := slices.Contains(base, m.NIS)
		for _, c := range centres {
			near = near || geo.DistanceKm(c.Lat, c.Lon, m.Lat, m.Lon) <= km
		}
		if near {
			out = append(out, m.NIS)
		}
	}
	return out
}

// deskRegions are the regions of a desk's municipalities.
func deskRegions(t tenant.Tenant) []geo.Region {
	var out []geo.Region
	for _, n := range t.Municipalities {
		m, ok := geo.LookupMunicipality(n)
		if !ok || slices.ContainsFunc(out, func(r geo.Region) bool { return r.NIS == m.RegionNIS }) {
			continue
		}
		if r, ok := geo.LookupRegion(m.RegionNIS); ok {
			out = append(out, r)
		}
	}
	return out
}

// queryValues copies the request's query parameters (repeated ones kept).
func queryValues(c *fiber.Ctx) url.Values {
	v := url.Values{}
	c.Context().QueryArgs().VisitAll(func(k, val []byte) { v.Add(string(k), string(val)) })
	return v
}

// --- JSON API ---

// APILocation is a location in the JSON API.
type APILocation struct {
	ID              LocationID          `json:"id"`
	DossierNumber   string              `json:"dossier_number"`
	Name            string              `json:"name"`
	Provider        APIProvider         `json:"provider"`
	Address         APIAddress          `json:"address"`
	Municipality    APIMunicipality     `json:"municipality"`
	Coordinates     APICoordinates      `json:"coordinates"`
	Type            CareType            `json:"type"`
	SubsidyTier     SubsidyTier         `json:"subsidy_tier"`
	PriceType       PriceType           `json:"price_type"`
	LicensedPlaces  int                 `json:"licensed_places"`
	MinAgeMonths    int                 `json:"min_age_months"`
	MaxAgeMonths    int                 `json:"max_age_months"`
	OpeningHours    map[string]DayHours `json:"opening_hours"`
	EarlyHours      bool                `json:"early_hours"`
	LateHours       bool                `json:"late_hours"`
	Weekend         bool                `json:"weekend"`
	InclusiveCare   bool                `json:"inclusive_care"`
	OccasionalCare  bool                `json:"occasional_care"`
	AcceptsRequests bool                `json:"accepts_requests"`
	Languages       []string            `json:"languages"`
	Contact         APILocationContact  `json:"contact"`
	// DistanceKm is set when the search has a point (postcode or lat/lon).
	DistanceKm *float64 `json:"distance_km,omitempty"`
	// FreePlaces is set when the search has a start month: the free places
	// then, for the child's age band when a birth date is given.
	FreePlaces *int `json:"free_places,omitempty"`
}

// APIProvider names a location's provider.
type APIProvider struct {
	ID   ProviderID `json:"id"`
	Name string     `json:"name"`
}

// APIAddress is a location's address.
type APIAddress struct {
	Street        string `json:"street"`
	Postcode      string `json:"postcode"`
	Neighbourhood string `json:"neighbourhood,omitempty"`
}

// APIMunicipality is the municipality of a location.
type APIMunicipality struct {
	NIS    geo.NISCode `json:"nis_code"`
	NameNL string      `json:"name_nl"`
	NameFR string      `json:"name_fr"`
}

// APICoordinates is a WGS84 position.
type APICoordinates struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// APILocationContact is how to reach a location.
type APILocationContact struct {
	Email   string `json:"email,omitempty"`
	Phone   string `json:"phone,omitempty"`
	Website string `json:"website,omitempty"`
}

// APILocationList is one page of search results.
type APILocationList struct {
	Locations []APILocation `json:"locations"`
	Total     int           `json:"total"`
	Page      int           `json:"page"`
	PerPage   int           `json:"per_page"`
}

// APIAvailability is the free places of one start month and age band.
type APIAvailability struct {
	StartMonth string    `json:"start_month"`
	AgeBand    AgeBand   `json:"age_band"`
	FreePlaces int       `json:"free_places"`
	ChangedAt  time.Time `json:"changed_at"`
}

// APILocationDetail is one location with its free places.
type APILocationDetail struct {
	APILocation
	Availability []APIAvailability `json:"availability"`
}

// apiWeekdays are the opening-hours keys, Monday first.
var apiWeekdays = [7]string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}

func toAPILocation(l Location, p Provider) APILocation {
	a := APILocation{
		ID: l.ID, DossierNumber: l.DossierNumber, Name: l.Name,
		Provider:    APIProvider{ID: p.ID, Name: p.Name},
		Address:     APIAddress{Street: l.Street, Postcode: l.Postcode, Neighbourhood: l.Neighbourhood},
		Coordinates: APICoordinates{Lat: l.Lat, Lon: l.Lon},
		Type:        l.CareType, SubsidyTier: l.SubsidyTier, PriceType: l.PriceType, LicensedPlaces: l.LicensedPlaces,
		MinAgeMonths: l.MinAgeMonths, MaxAgeMonths: l.MaxAgeMonths, OpeningHours: map[string]DayHours{},
		EarlyHours: l.EarlyHours, LateHours: l.LateHours, Weekend: l.Weekend,
		InclusiveCare: l.InclusiveCare, OccasionalCare: l.OccasionalCare, AcceptsRequests: l.AcceptsRequests,
		Languages: l.Languages, Contact: APILocationContact{Email: l.Email, Phone: l.Phone, Website: l.Website},
	}
	if a.Languages == nil {
		a.Languages = []string{}
	}
	a.Municipality.NIS = l.MunicipalityNIS
	if m, ok := geo.LookupMunicipality(l.MunicipalityNIS); ok {
		a.Municipality.NameNL, a.Municipality.NameFR = m.NameNL, m.NameFR
	}
	for i, d := range l.OpeningHours {
		if d.Open != "" {
			a.OpeningHours[apiWeekdays[i]] = d
		}
	}
	return a
}

func (h *SearchHandler) apiList(c *fiber.Ctx) error {
	q, _, err := ParseSearch(queryValues(c), nil)
	if err != nil {
		return sendValidation(c, err)
	}
	res, err := h.store.Search(c.UserContext(), q)
	if err != nil {
		return sendValidation(c, err)
	}
	out := APILocationList{Locations: make([]APILocation, len(res.Hits)), Total: res.Total, Page: res.Page, PerPage: res.PerPage}
	for i, hit := range res.Hits {
		a := toAPILocation(hit.Location, hit.Provider)
		if hit.DistanceKm != nil {
			d := math.Round(*hit.DistanceKm*100) / 100
			a.DistanceKm = &d
		}
		a.FreePlaces = hit.FreePlaces
		out.Locations[i] = a
	}
	return c.JSON(out)
}

func (h *SearchHandler) apiGet(c *fiber.Ctx) error {
	d, err := h.getLocation(c, c.Params("id"))
	if errors.Is(err, ErrNotFound) {
		return web.SendProblem(c, web.Problem{Status: fiber.StatusNotFound, Title: "Unknown location",
			Detail: "No childcare location has the id " + c.Params("id") + "."})
	}
	if err != nil {
		return err
	}
	out := APILocationDetail{APILocation: toAPILocation(d.Location, d.Provider), Availability: []APIAvailability{}}
	for _, a := range d.Availability {
		out.Availability = append(out.Availability, APIAvailability{StartMonth: a.StartMonth, AgeBand: a.AgeBand, FreePlaces: a.FreePlaces, ChangedAt: a.ChangedAt})
	}
	return c.JSON(out)
}

// getLocation reads a location with its free places for the coming
// AvailabilityMonths; ErrNotFound also for an id that is no UUID.
func (h *SearchHandler) getLocation(c *fiber.Ctx, raw string) (LocationDetail, error) {
	id, err := ParseLocationID(raw)
	if err != nil {
		return LocationDetail{}, ErrNotFound
	}
	months := nextMonths(h.store.clock.Now(), AvailabilityMonths)
	d, err := h.store.Get(c.UserContext(), id, months[0])
	if err != nil {
		return d, err
	}
	d.Availability = slices.DeleteFunc(d.Availability, func(a Availability) bool { return a.StartMonth > months[len(months)-1] })
	return d, nil
}

// nextMonths returns n "YYYY-MM" months from now's month on.
func nextMonths(now time.Time, n int) []string {
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	out := make([]string, n)
	for i := range out {
		out[i] = first.AddDate(0, i, 0).Format("2006-01")
	}
	return out
}

// sendValidation answers ValidationErrors with a 400 problem document.
func sendValidation(c *fiber.Ctx, err error) error {
	var ves ValidationErrors
	if !errors.As(err, &ves) {
		return err
	}
	p := web.Problem{Status: fiber.StatusBadRequest, Title: "Invalid search", Detail: "One or more parameters are not valid; see errors."}
	for _, e := range ves {
		p.Errors = append(p.Errors, web.FieldError{Field: e.Field, Message: e.Message})
	}
	return web.SendProblem(c, p)
}

// --- Public pages ---

type hitView struct {
	N                                                  int
	ID                                                 string
	AcceptsRequests                                    bool
	Name, URL, Provider, Type, PriceType, Municipality string
	Distance, Free                                     string
	Badges                                             []string
}

type mapPoint struct {
	X, Y  string
	N     int
	Label string
	URL   string
}

type mapView struct {
	Width, Height                          int
	Points                                 []mapPoint
	Labels                                 []mapPoint // municipality names, for orientation only
	Origin                                 *mapPoint
	ScaleX, ScaleWidth, ScaleY, ScaleLabel string
}

type pageLink struct {
	N       int
	URL     string
	Current bool
	Gap     bool
}

type searchView struct {
	Action string
	// Apply is the request form; ApplyBirth and ApplyStart carry the
	// search's child and month into it.
	Apply, ApplyBirth, ApplyStart string
	Fields                        map[string]web.Field
	AreaOptions                   []web.Field
	Checks                        []web.Field
	Errors                        []web.ErrorLink
	Searched                      bool
	Count                         string
	Hits                          []hitView
	Start                         int
	Map                           *mapView
	Pages                         []pageLink
	Prev, Next                    string
	// LiveMap is the real map shown with JavaScript: every result, not
	// only this page's (nil without tiles).
	LiveMap *liveMap
}

// liveMap is what /static/map.js draws with Leaflet.
type liveMap struct {
	Tiles   string
	Markers []mapMarker
}

type mapMarker struct {
	Lat  float64 `json:"lat"`
	Lon  float64 `json:"lon"`
	Name string  `json:"name"`
	URL  string  `json:"url,omitempty"`
}

// fieldAnchors is the input each parameter's error links to.
var fieldAnchors = map[string]string{
	"area": "f-area-desk", "municipality": "f-municipality", "region": "f-area-desk",
	"postcode": "f-postcode", "lat": "f-postcode", "lon": "f-postcode", "within_km": "f-within_km",
	"type": "f-type", "price_type": "f-price_type", "birth_date": "f-birth_date", "start_month": "f-start_month",
	"early": "f-early", "late": "f-late", "weekend": "f-weekend", "inclusive": "f-inclusive",
	"occasional": "f-occasional", "accepts_requests": "f-accepts_requests", "free_places": "f-free_places",
	"sort": "f-sort", "page": "results", "per_page": "results",
}

// formFields are the parameters in the order of the search form.
var formFields = []string{"area", "region", "municipality", "postcode", "lat", "lon", "within_km", "birth_date", "start_month",
	"type", "price_type", "free_places", "accepts_requests", "early", "late", "weekend", "inclusive", "occasional", "sort", "page", "per_page"}

func fieldOrder(field string) int {
	if i := slices.Index(formFields, field); i >= 0 {
		return i
	}
	return len(formFields)
}

// translateError is a field error in the visitor's language: the message of
// validation.<code>, or the English message when there is none.
func translateError(tr web.Translator, e FieldError) string {
	id := "validation." + e.Code
	if s := tr.T(id); s != id {
		return s
	}
	return e.Message
}

func (h *SearchHandler) page(c *fiber.Ctx) error {
	t, ok := tenant.FromRequest(c)
	if !ok {
		return fiber.ErrNotFound
	}
	tr := h.render.Translator(c)
	v := queryValues(c)
	q, form, err := ParseSearch(v, &t)
	errs := map[string]string{}
	view := searchView{Action: "/" + t.Slug + "/opvang", Apply: "/" + t.Slug + "/aanvragen"}
	status := fiber.StatusOK
	var ves ValidationErrors
	switch {
	case errors.As(err, &ves):
		status = fiber.StatusBadRequest
		// The summary lists the errors in the order of the form.
		slices.SortStableFunc(ves, func(a, b FieldError) int {
			return cmp.Compare(fieldOrder(a.Field), fieldOrder(b.Field))
		})
		for _, e := range ves {
			msg := translateError(tr, e)
			if errs[e.Field] == "" {
				errs[e.Field] = msg
			}
			anchor := fieldAnchors[e.Field]
			if anchor == "" {
				anchor = "search"
			}
			view.Errors = append(view.Errors, web.ErrorLink{Anchor: anchor, Message: msg})
		}
	case err != nil:
		return err
	}
	h.fillForm(&view, t, tr, form, errs)
	if q.ChildBirth != nil {
		view.ApplyBirth = q.ChildBirth.Format("2006-01-02")
	}
	view.ApplyStart = q.StartMonth

	title := tr.T("search.title")
	if len(view.Errors) == 0 {
		res, err := h.store.Search(c.UserContext(), q)
		if err != nil {
			return fmt.Errorf("search page: %w", err)
		}
		view.Searched = true
		if res.Total == 1 {
			view.Count = tr.T("search.count.one")
		} else {
			view.Count = tr.T("search.count.other", "Count", res.Total)
		}
		title = view.Count + " · " + title
		view.Start = (res.Page-1)*res.PerPage + 1
		// A location page links back to this search, filters and page kept.
		back := url.Values{"zoek": {v.Encode()}}.Encode()
		for i, hit := range res.Hits {
			hv := hitToView(tr, t, q, hit, view.Start+i)
			hv.URL += "?" + back
			view.Hits = append(view.Hits, hv)
		}
		view.Map = plotMap(tr, res.Hits, view.Hits, q.Near)
		if h.mapTiles != "" && res.Total > 0 {
			lm, err := h.liveMap(c, t, q, back)
			if err != nil {
				return err
			}
			view.LiveMap = lm
		}
		view.Pages, view.Prev, view.Next = pagination(view.Action, v, res.Page, res.Pages())
	} else {
		title = tr.T("search.title.errors") + " · " + title
	}
	return h.render.Render(c, status, "search", h.desks.Page(c, t, title, view))
}

// liveMap collects every result of the search (all pages, at most 2,000)
// for the real map.
func (h *SearchHandler) liveMap(c *fiber.Ctx, t tenant.Tenant, q Query, back string) (*liveMap, error) {
	lm := &liveMap{Tiles: h.mapTiles}
	all := q
	all.PerPage = 100
	for page := 1; page <= 20; page++ {
		all.Page = page
		res, err := h.store.Search(c.UserContext(), all)
		if err != nil {
			return nil, fmt.Errorf("search page: every result for the map: %w", err)
		}
		for _, hit := range res.Hits {
			if hit.Lat == 0 && hit.Lon == 0 {
				continue
			}
			lm.Markers = append(lm.Markers, mapMarker{Lat: hit.Lat, Lon: hit.Lon, Name: hit.Name,
				URL: "/" + t.Slug + "/opvang/" + hit.ID.String() + "?" + back})
		}
		if page >= res.Pages() {
			break
		}
	}
	return lm, nil
}

// fillForm prepares the form controls with what the visitor typed.
func (h *SearchHandler) fillForm(view *searchView, t tenant.Tenant, tr web.Translator, f SearchForm, errs map[string]string) {
	field := func(name, value string) web.Field {
		return web.Field{ID: "f-" + name, Name: name, Label: tr.T("search.field." + name), Value: value, Error: errs[name]}
	}
	fs := map[string]web.Field{}
	for name, value := range map[string]string{
		"postcode": f.Postcode, "within_km": f.WithinKm, "birth_date": f.BirthDate, "start_month": f.StartMonth,
	} {
		fv := field(name, value)
		fv.Hint = tr.T("search.hint." + name)
		fs[name] = fv
	}
	pc := fs["postcode"]
	pc.InputMode, pc.Autocomplete = "numeric", "postal-code"
	if pc.Error == "" {
		pc.Error = errs["lat"]
	}
	fs["postcode"] = pc
	km := fs["within_km"]
	km.InputMode = "decimal"
	fs["within_km"] = km
	bd := fs["birth_date"]
	bd.Type = "date" // a date picker where the browser has one; text otherwise
	fs["birth_date"] = bd
	// The start month: the coming months in words, without JavaScript (a
	// month from a link outside that range stays chosen).
	sm := fs["start_month"]
	sm.Options = append([]web.Option{{Value: "", Label: tr.T("search.option.any_month"), Selected: f.StartMonth == ""}},
		tr.MonthOptions(h.store.clock.Now(), 24, f.StartMonth)...)
	fs["start_month"] = sm

	// One municipality: those of the desk's regions and its neighbours.
	muni := field("municipality", "")
	muni.Hint = tr.T("search.hint.municipality")
	muni.Options = []web.Option{{Value: "", Label: tr.T("search.option.no_choice")}}
	choices := NearbyMunicipalities(t.Municipalities, NearbyKm)
	for _, r := range deskRegions(t) {
		choices = append(choices, r.Municipalities...)
	}
	var ms []geo.Municipality
	for _, n := range choices {
		if m, ok := geo.LookupMunicipality(n); ok && !slices.ContainsFunc(ms, func(o geo.Municipality) bool { return o.NIS == n }) {
			ms = append(ms, m)
		}
	}
	slices.SortFunc(ms, func(a, b geo.Municipality) int { return strings.Compare(a.Name(tr.Lang()), b.Name(tr.Lang())) })
	for _, m := range ms {
		muni.Options = append(muni.Options, web.Option{Value: string(m.NIS), Label: m.Name(tr.Lang()), Selected: slices.Contains(f.Municipalities, string(m.NIS))})
	}
	fs["municipality"] = muni

	selectField := func(name, value string, values ...string) {
		fv := field(name, value)
		for _, val := range values {
			label := tr.T("search.option.any")
			if val != "" {
				label = tr.T("search.option." + val)
			}
			fv.Options = append(fv.Options, web.Option{Value: val, Label: label, Selected: val == value})
		}
		fs[name] = fv
	}
	selectField("type", f.Type, "", string(Gezinsopvang), string(Groepsopvang))
	selectField("price_type", f.PriceType, "", string(IncomeRelated), string(FreePrice))
	sort := f.Sort
	if sort == "" {
		sort = "name"
	}
	selectField("sort", sort, "name", "distance")
	view.Fields = fs

	var regionNames []string
	for _, r := range deskRegions(t) {
		regionNames = append(regionNames, r.Name(tr.Lang()))
	}
	for _, a := range []string{AreaDesk, AreaNearby, AreaRegion, AreaAll} {
		fv := web.Field{ID: "f-area-" + a, Name: "area", Value: a, Checked: f.Area == a && len(f.Municipalities) == 0,
			Label: tr.T("search.area."+a, "Region", strings.Join(regionNames, ", ")), Error: errs["area"]}
		view.AreaOptions = append(view.AreaOptions, fv)
	}
	for _, b := range []struct {
		name string
		on   bool
	}{
		{"free_places", f.FreePlaces}, {"accepts_requests", f.AcceptsReqs}, {"early", f.Early}, {"late", f.Late},
		{"weekend", f.Weekend}, {"inclusive", f.Inclusive}, {"occasional", f.Occasional},
	} {
		fv := field(b.name, "1")
		fv.Checked = b.on
		view.Checks = append(view.Checks, fv)
	}
}

func hitToView(tr web.Translator, t tenant.Tenant, q Query, hit Hit, n int) hitView {
	v := hitView{
		N: n, ID: hit.ID.String(), AcceptsRequests: hit.AcceptsRequests,
		Name: hit.Name, URL: "/" + t.Slug + "/opvang/" + hit.ID.String(), Provider: hit.Provider.Name,
		Type: tr.T("search.option." + string(hit.CareType)), PriceType: tr.T("search.option." + string(hit.PriceType)),
	}
	if m, ok := geo.LookupMunicipality(hit.MunicipalityNIS); ok {
		v.Municipality = m.Name(tr.Lang())
	}
	if hit.DistanceKm != nil {
		v.Distance = tr.T("search.distance", "Km", formatKm(*hit.DistanceKm, tr.Lang()))
	}
	if hit.FreePlaces != nil {
		month := monthLabel(tr, q.StartMonth)
		switch *hit.FreePlaces {
		case 0:
			v.Free = tr.T("search.free.none", "Month", month)
		case 1:
			v.Free = tr.T("search.free.one", "Month", month)
		default:
			v.Free = tr.T("search.free.other", "Count", *hit.FreePlaces, "Month", month)
		}
	}
	for _, b := range []struct {
		on  bool
		key string
	}{
		{hit.EarlyHours, "early"}, {hit.LateHours, "late"}, {hit.Weekend, "weekend"},
		{hit.InclusiveCare, "inclusive"}, {hit.OccasionalCare, "occasional"}, {!hit.AcceptsRequests, "no_requests"},
	} {
		if b.on {
			v.Badges = append(v.Badges, tr.T("search.badge."+b.key))
		}
	}
	return v
}

// formatKm writes a distance with one decimal, with a decimal comma in Dutch
// and French.
func formatKm(km float64, lang string) string {
	s := strconv.FormatFloat(km, 'f', 1, 64)
	if lang != "en" {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// monthLabel is "januari 2027" for "2027-01" in the visitor's language.
func monthLabel(tr web.Translator, month string) string {
	t, err := time.Parse("2006-01", month)
	if err != nil {
		return month
	}
	return tr.T("month."+strconv.Itoa(int(t.Month()))) + " " + strconv.Itoa(t.Year())
}

// Map size in SVG units.
const (
	mapWidth  = 640
	mapHeight = 400
	mapPad    = 28
)

// plotMap places the page's hits (and the search point) on a plain SVG map
// fitted to their bounding box: no tiles, no external host. Longitude is
// scaled by the cosine of the latitude so distances look right.
func plotMap(tr web.Translator, hits []Hit, views []hitView, near *geo.Point) *mapView {
	if len(hits) == 0 {
		return nil
	}
	pts := make([]geo.Point, 0, len(hits)+1)
	for _, h := range hits {
		pts = append(pts, geo.Point{Lat: h.Lat, Lon: h.Lon})
	}
	if near != nil {
		pts = append(pts, *near)
	}
	minLat, maxLat, minLon, maxLon := pts[0].Lat, pts[0].Lat, pts[0].Lon, pts[0].Lon
	for _, p := range pts {
		minLat, maxLat = min(minLat, p.Lat), max(maxLat, p.Lat)
		minLon, maxLon = min(minLon, p.Lon), max(maxLon, p.Lon)
	}
	midLat := (minLat + maxLat) / 2
	kmLon := 111.32 * math.Cos(midLat*math.Pi/180)
	const kmLat = 110.57
	// At least 2 km across, so one point (or a few close ones) sits in the middle.
	wKm, hKm := max((maxLon-minLon)*kmLon, 2), max((maxLat-minLat)*kmLat, 2)
	scale := min((mapWidth-2*mapPad)/wKm, (mapHeight-2*mapPad)/hKm) // SVG units per km
	cx, cy := (minLon+maxLon)/2, (minLat+maxLat)/2
	project := func(p geo.Point) (float64, float64) {
		return mapWidth/2 + (p.Lon-cx)*kmLon*scale, mapHeight/2 - (p.Lat-cy)*kmLat*scale
	}
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', 1, 64) }
	m := &mapView{Width: mapWidth, Height: mapHeight}
	seen := map[geo.NISCode]bool{}
	for i, h := range hits {
		x, y := project(geo.Point{Lat: h.Lat, Lon: h.Lon})
		m.Points = append(m.Points, mapPoint{X: f(x), Y: f(y), N: views[i].N, Label: views[i].MapLabel(), URL: views[i].URL})
		if mu, ok := geo.LookupMunicipality(h.MunicipalityNIS); ok && !seen[mu.NIS] {
			seen[mu.NIS] = true
			lx, ly := project(geo.Point{Lat: mu.Lat, Lon: mu.Lon})
			ly += 26 // under the point, so the number stays readable
			if lx >= 30 && lx <= mapWidth-30 && ly <= mapHeight-24 {
				m.Labels = append(m.Labels, mapPoint{X: f(lx), Y: f(ly), Label: mu.Name(tr.Lang())})
			}
		}
	}
	if near != nil {
		x, y := project(*near)
		m.Origin = &mapPoint{X: f(x), Y: f(y), Label: tr.T("search.map.origin")}
	}
	// A scale bar of a round length, about a fifth of the width.
	bar := 0.5
	for _, l := range []float64{1, 2, 5, 10, 20, 50, 100} {
		if l*scale <= mapWidth/5 {
			bar = l
		}
	}
	m.ScaleX, m.ScaleY, m.ScaleWidth = f(mapPad), f(mapHeight-12), f(bar*scale)
	m.ScaleLabel = strings.TrimSuffix(strings.TrimSuffix(formatKm(bar, tr.Lang()), "0"), ",")
	m.ScaleLabel = strings.TrimSuffix(m.ScaleLabel, ".") + " km"
	return m
}

// MapLabel names a map point: its number and the location's name.
func (v hitView) MapLabel() string { return strconv.Itoa(v.N) + ". " + v.Name }

// pagination builds page links that keep every filter.
func pagination(path string, v url.Values, page, pages int) (links []pageLink, prev, next string) {
	if pages <= 1 {
		return nil, "", ""
	}
	keep := url.Values{}
	for k, vals := range v {
		if k == "page" || k == "lang" {
			continue
		}
		for _, x := range vals {
			if strings.TrimSpace(x) != "" {
				keep.Add(k, x)
			}
		}
	}
	link := func(n int) string {
		keep.Set("page", strconv.Itoa(n))
		return path + "?" + keep.Encode()
	}
	for n := 1; n <= pages; n++ {
		if n == 1 || n == pages || (n >= page-2 && n <= page+2) {
			links = append(links, pageLink{N: n, URL: link(n), Current: n == page})
		} else if len(links) > 0 && !links[len(links)-1].Gap {
			links = append(links, pageLink{Gap: true})
		}
	}
	if page > 1 {
		prev = link(min(page-1, pages))
	}
	if page < pages {
		next = link(page + 1)
	}
	return links, prev, next
}

// --- Detail page ---

type dayView struct{ Day, Hours string }

type monthRow struct {
	Month string
	Cells []string // per age band
}

type detailView struct {
	Name, Provider, Street, Place, Neighbourhood string
	Type, TypeText, Tier, Price, Places, Ages    string
	Languages, Requests                          string
	Hours                                        []dayView
	Extras                                       []dayView // label and yes/no in words
	Email, Phone, Website                        string
	Bands                                        []string
	Months                                       []monthRow
	Back                                         string
	// Apply links to the desk's request form with this location preselected,
	// when the location takes requests.
	Apply string
	// LiveMap shows the location on a small real map with JavaScript.
	LiveMap *liveMap
}

func (h *SearchHandler) detail(c *fiber.Ctx) error {
	t, ok := tenant.FromRequest(c)
	if !ok {
		return fiber.ErrNotFound
	}
	tr := h.render.Translator(c)
	d, err := h.getLocation(c, c.Params("location"))
	if errors.Is(err, ErrNotFound) {
		return h.render.Render(c, fiber.StatusNotFound, "error", h.desks.Page(c, t, tr.T("location.notfound.title"), map[string]string{
			"Heading": tr.T("location.notfound.title"), "Message": tr.T("location.notfound.text"), "RequestID": web.RequestID(c),
		}))
	}
	if err != nil {
		return fmt.Errorf("location page: %w", err)
	}
	lang := tr.Lang()
	l := d.Location
	v := detailView{
		Name: l.Name, Provider: d.Provider.Name, Street: l.Street, Neighbourhood: l.Neighbourhood,
		Type: tr.T("search.option." + string(l.CareType)), TypeText: tr.T("location.type." + string(l.CareType)),
		Tier:   tr.T("location.tier."+strings.ToLower(string(l.SubsidyTier)), "Tier", l.SubsidyTier),
		Price:  tr.T("location.price." + string(l.PriceType)),
		Places: tr.T("location.places.value", "Count", l.LicensedPlaces),
		Ages:   tr.T("location.ages.value", "Min", l.MinAgeMonths, "Max", l.MaxAgeMonths),
		Email:  l.Email, Phone: l.Phone, Website: l.Website,
		Back: "/" + t.Slug + "/opvang",
	}
	// Back to the search the parent came from, with its filters (?zoek=).
	if z := c.Query("zoek"); z != "" {
		if prev, err := url.ParseQuery(z); err == nil {
			v.Back += "?" + prev.Encode()
		}
	}
	if l.AcceptsRequests {
		v.Apply = "/" + t.Slug + "/aanvragen?voorkeur=" + l.ID.String()
	}
	if h.mapTiles != "" && (l.Lat != 0 || l.Lon != 0) {
		v.LiveMap = &liveMap{Tiles: h.mapTiles, Markers: []mapMarker{{Lat: l.Lat, Lon: l.Lon, Name: l.Name}}}
	}
	v.Place = l.Postcode
	if m, ok := geo.LookupMunicipality(l.MunicipalityNIS); ok {
		v.Place = strings.TrimSpace(l.Postcode + " " + m.Name(lang))
	}
	var langs []string
	for _, code := range l.Languages {
		name := tr.T("language." + code)
		if name == "language."+code {
			name = code // a language without a message keeps its code
		}
		langs = append(langs, name)
	}
	v.Languages = strings.Join(langs, ", ")
	v.Requests = tr.T("location.requests.yes")
	if !l.AcceptsRequests {
		v.Requests = tr.T("location.requests.no")
	}
	for i, day := range l.OpeningHours {
		hours := tr.T("location.closed")
		if day.Open != "" {
			hours = tr.T("location.hours.value", "Open", day.Open, "Close", day.Close)
		}
		v.Hours = append(v.Hours, dayView{Day: tr.T("weekday." + strconv.Itoa(i+1)), Hours: hours})
	}
	yesNo := func(b bool) string {
		if b {
			return tr.T("location.yes")
		}
		return tr.T("location.no")
	}
	for _, x := range []struct {
		key string
		on  bool
	}{
		{"early", l.EarlyHours}, {"late", l.LateHours}, {"weekend", l.Weekend},
		{"inclusive", l.InclusiveCare}, {"occasional", l.OccasionalCare},
	} {
		v.Extras = append(v.Extras, dayView{Day: tr.T("location.extra." + x.key), Hours: yesNo(x.on)})
	}
	for _, b := range AgeBands {
		v.Bands = append(v.Bands, tr.T("location.band."+string(b)))
	}
	free := map[string]int{}
	for _, a := range d.Availability {
		free[a.StartMonth+"/"+string(a.AgeBand)] = a.FreePlaces
	}
	for _, month := range nextMonths(h.store.clock.Now(), AvailabilityMonths) {
		row := monthRow{Month: monthLabel(tr, month)}
		for _, b := range AgeBands {
			cell := tr.T("location.unknown")
			if n, ok := free[month+"/"+string(b)]; ok {
				cell = strconv.Itoa(n)
			}
			row.Cells = append(row.Cells, cell)
		}
		v.Months = append(v.Months, row)
	}
	return h.render.Render(c, fiber.StatusOK, "location", h.desks.Page(c, t, l.Name, v))
}
