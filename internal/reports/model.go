// Package reports computes the figures a desk and a region need for policy:
// yearly registration figures, unmet demand for the months ahead and, for a
// regional coordinator, every desk of a region side by side with demand that
// crosses municipal borders. Figures are aggregated in SQL (GROUP BY over the
// requests table and its indexes); no report loads every request into memory.
//
// Every figure and breakdown is defined once, in Definitions; the report page,
// the exports and the documentation show those texts, so each number can be
// traced to what was counted.
package reports

import (
	"fmt"
	"strings"
	"time"
)

// SmallCell is the threshold below which a count is suppressed in anything
// shown outside the desk: counts 1..SmallCell-1 become "<5".
const SmallCell = 5

// Definition says what one figure or breakdown counts.
type Definition struct {
	ID string
	// Label and Text per language (nl, fr, en).
	Label map[string]string
	Text  map[string]string
}

// LabelIn is the label in lang, Dutch when missing.
func (d Definition) LabelIn(lang string) string {
	if s := d.Label[lang]; s != "" {
		return s
	}
	return d.Label["nl"]
}

// TextIn is the definition in lang, Dutch when missing.
func (d Definition) TextIn(lang string) string {
	if s := d.Text[lang]; s != "" {
		return s
	}
	return d.Text["nl"]
}

func def(id, nlL, frL, enL, nlT, frT, enT string) Definition {
	return Definition{ID: id, Label: map[string]string{"nl": nlL, "fr": frL, "en": enL},
		Text: map[string]string{"nl": nlT, "fr": frT, "en": enT}}
}

// Definitions is the one place where the figures are defined. The base set of
// every yearly figure ("counted requests") is: requests of the desk submitted
// in the calendar year (submitted_at, UTC), excluding merged duplicates. The
// year follows submission, not the desired start, because a request belongs to
// the year in which the desk received it; the breakdown by month of desired
// start shows when the care is needed.
var Definitions = []Definition{
	def("requests", "Unieke aanvragen", "Demandes uniques", "Unique requests",
		"Aanvragen die in het jaar bij het loket binnenkwamen (datum van indienen), zonder samengevoegde dubbele aanvragen.",
		"Demandes reçues par le guichet pendant l'année (date d'introduction), sans les doublons fusionnés.",
		"Requests the desk received in the year (date submitted), without merged duplicates."),
	def("children", "Unieke kinderen", "Enfants uniques", "Unique children",
		"Aantal verschillende kinderen in de getelde aanvragen. Eén kind met twee aanvragen telt één keer, ook als de tweede aanvraag als dubbel werd herkend en apart behouden.",
		"Nombre d'enfants différents dans les demandes comptées. Un enfant avec deux demandes compte une fois, aussi quand la seconde a été reconnue comme doublon et gardée à part.",
		"Number of different children in the counted requests. A child with two requests counts once, also when the second was recognised as a duplicate and kept apart."),
	def("placed", "Geplaatst", "Placées", "Placed",
		"Getelde aanvragen waarvoor de ouder een aanbod aanvaardde (status geplaatst).",
		"Demandes comptées pour lesquelles le parent a accepté une offre (statut placé).",
		"Counted requests for which the parent accepted an offer (status placed)."),
	def("withdrawn", "Ingetrokken", "Retirées", "Withdrawn",
		"Getelde aanvragen die de ouder (of het loket voor de ouder) introk.",
		"Demandes comptées retirées par le parent (ou par le guichet pour lui).",
		"Counted requests the parent (or the desk for them) withdrew."),
	def("unanswered", "Onbeantwoord", "Sans réponse", "Unanswered",
		"Getelde aanvragen waarvan de gewenste startdatum voorbij is zonder plaats: de onvervulde vraag.",
		"Demandes comptées dont la date de début souhaitée est passée sans place : la demande non satisfaite.",
		"Counted requests whose desired start passed without a place: the unmet demand."),
	def("open", "Nog open", "Encore ouvertes", "Still open",
		"Getelde aanvragen die nog tot een plaats kunnen leiden (ingediend, actief of met een aanbod).",
		"Demandes comptées qui peuvent encore mener à une place (introduite, active ou avec une offre).",
		"Counted requests that can still lead to a place (submitted, active or offered)."),
	def("closed", "Afgesloten", "Clôturées", "Closed",
		"Getelde aanvragen die het loket afsloot om een andere reden (verhuisd, fout, …).",
		"Demandes comptées clôturées par le guichet pour une autre raison (déménagement, erreur, …).",
		"Counted requests the desk closed for another reason (moved away, mistake, …)."),
	def("answered", "Beantwoord", "Avec réponse", "Answered",
		"Getelde aanvragen met minstens één antwoord van een opvanglocatie (een aanbod, de wachtlijst of geen plaats).",
		"Demandes comptées avec au moins une réponse d'un lieu d'accueil (une offre, la liste d'attente ou pas de place).",
		"Counted requests with at least one answer from a location (an offer, the waiting list or no place)."),
	def("provider_received", "Ontvangen", "Reçues", "Received",
		"Getelde aanvragen met deze opvanglocatie bij de voorkeuren.",
		"Demandes comptées avec ce lieu d'accueil parmi les préférences.",
		"Counted requests with this location among their preferences."),
	def("provider_answered", "Beantwoord", "Avec réponse", "Answered",
		"Daarvan: de opvanglocatie gaf een antwoord (aanbod, wachtlijst of geen plaats).",
		"Parmi elles : le lieu d'accueil a répondu (offre, liste d'attente ou pas de place).",
		"Of those: the location gave an answer (offer, waiting list or no place)."),
	def("provider_in_time", "Op tijd beantwoord", "Réponse dans le délai", "Answered in time",
		"Daarvan: het antwoord kwam voor de termijn van het loket om te antwoorden (de vervaldag van de voorkeur, anders het aantal dagen dat het loket instelde na het indienen).",
		"Parmi elles : la réponse est arrivée dans le délai de réponse du guichet (l'échéance de la préférence, sinon le nombre de jours fixé par le guichet après l'introduction).",
		"Of those: the answer came within the desk's deadline to answer (the preference's due date, else the number of days the desk set after submission)."),
	def("provider_median", "Dagen tot antwoord (mediaan)", "Jours jusqu'à la réponse (médiane)", "Days to answer (median)",
		"Mediaan van de dagen tussen het indienen van de aanvraag en het antwoord van deze opvanglocatie.",
		"Médiane des jours entre l'introduction de la demande et la réponse de ce lieu d'accueil.",
		"Median of the days between submitting the request and this location's answer."),
	def("first_answer_median", "Dagen tot eerste antwoord (mediaan)", "Jours jusqu'à la première réponse (médiane)", "Days to first answer (median)",
		"Mediaan van de dagen tussen indienen en het eerste antwoord van een opvanglocatie, over de getelde aanvragen met een antwoord.",
		"Médiane des jours entre l'introduction et la première réponse d'un lieu d'accueil, sur les demandes comptées avec une réponse.",
		"Median of the days between submission and the first answer of a location, over the counted requests with an answer."),
	def("first_answer_p90", "Dagen tot eerste antwoord (90e percentiel)", "Jours jusqu'à la première réponse (90e percentile)", "Days to first answer (90th percentile)",
		"90 op de 100 getelde aanvragen met een antwoord kregen dat binnen dit aantal dagen (continu percentiel).",
		"90 demandes comptées sur 100 avec une réponse l'ont reçue dans ce nombre de jours (percentile continu).",
		"90 in 100 counted requests with an answer got it within this many days (continuous percentile)."),
	def("placement_median", "Dagen tot plaatsing (mediaan)", "Jours jusqu'au placement (médiane)", "Days to placement (median)",
		"Mediaan van de dagen tussen indienen en het aanvaarden van een plaats, over de geplaatste aanvragen.",
		"Médiane des jours entre l'introduction et l'acceptation d'une place, sur les demandes placées.",
		"Median of the days between submission and accepting a place, over the placed requests."),
	def("placement_p90", "Dagen tot plaatsing (90e percentiel)", "Jours jusqu'au placement (90e percentile)", "Days to placement (90th percentile)",
		"90 op de 100 geplaatste aanvragen waren binnen dit aantal dagen geplaatst (continu percentiel).",
		"90 demandes placées sur 100 l'étaient dans ce nombre de jours (percentile continu).",
		"90 in 100 placed requests were placed within this many days (continuous percentile)."),
	def("by_channel", "Per kanaal", "Par canal", "By channel",
		"Getelde aanvragen per kanaal waarlangs ze binnenkwamen (online, balie, telefoon, partner, doorgestuurd, API).",
		"Demandes comptées par canal d'arrivée (en ligne, guichet, téléphone, partenaire, transmise, API).",
		"Counted requests by the channel they came in by (online, counter, phone, partner, forwarded, API)."),
	def("by_age", "Per leeftijd bij gewenste start", "Par âge au début souhaité", "By age at desired start",
		"Leeftijd van het kind in maanden op de gewenste startdatum, in groepen; 'nog niet geboren' als het kind dan nog niet geboren is.",
		"Âge de l'enfant en mois à la date de début souhaitée, par groupes ; « pas encore né » si l'enfant n'est pas encore né.",
		"Age of the child in months at the desired start, in groups; 'not yet born' when the child is not born by then."),
	def("by_start_month", "Per maand van gewenste start", "Par mois de début souhaité", "By month of desired start",
		"Getelde aanvragen per kalendermaand van de gewenste startdatum.",
		"Demandes comptées par mois civil de la date de début souhaitée.",
		"Counted requests by calendar month of the desired start."),
	def("by_neighbourhood", "Per gemeente en wijk", "Par commune et quartier", "By municipality and neighbourhood",
		"Getelde aanvragen per woongemeente en wijk van het gezin bij het indienen.",
		"Demandes comptées par commune et quartier de résidence de la famille à l'introduction.",
		"Counted requests by the family's municipality and neighbourhood when submitted."),
	def("by_day_part", "Per soort opvang: hele of halve dagen", "Par type d'accueil : journées entières ou demi-journées", "By type of care: whole or half days",
		"Getelde aanvragen volgens het gevraagde opvangplan: hele dagen of halve dagen.",
		"Demandes comptées selon le plan d'accueil demandé : journées entières ou demi-journées.",
		"Counted requests by the care plan asked: whole days or half days."),
	def("by_days_per_week", "Per soort opvang: dagen per week", "Par type d'accueil : jours par semaine", "By type of care: days per week",
		"Getelde aanvragen volgens het aantal gevraagde opvangdagen per week.",
		"Demandes comptées selon le nombre de jours d'accueil demandés par semaine.",
		"Counted requests by the number of care days asked per week."),
	def("by_wider_hours", "Ruimere openingsuren", "Heures d'ouverture élargies", "Wider hours",
		"Getelde aanvragen die opvang vragen buiten 7 tot 18 uur of in het weekend.",
		"Demandes comptées qui demandent un accueil en dehors de 7 à 18 heures ou le week-end.",
		"Counted requests asking for care outside 7 to 18 hours or at the weekend."),
	def("by_care_need", "Specifieke zorgnood", "Besoin de soins spécifique", "Specific care need",
		"Getelde aanvragen voor een kind met een specifieke zorgnood.",
		"Demandes comptées pour un enfant avec un besoin de soins spécifique.",
		"Counted requests for a child with a specific care need."),
	def("by_priority", "Voorrangsgroepen", "Groupes prioritaires", "Priority groups",
		"Getelde aanvragen per voorrangsgrond die de ouder op erewoord verklaarde. Eén aanvraag kan in meer groepen vallen; 'geen' telt aanvragen zonder grond.",
		"Demandes comptées par motif de priorité déclaré sur l'honneur. Une demande peut relever de plusieurs groupes ; « aucun » compte les demandes sans motif.",
		"Counted requests by priority ground the parent declared on their honour. One request may fall in several groups; 'none' counts requests without a ground."),
	def("by_vulnerable", "Kwetsbare gezinnen", "Familles vulnérables", "Vulnerable families",
		"Getelde aanvragen van een gezin dat het loket als kwetsbaar aanduidde.",
		"Demandes comptées d'une famille que le guichet a signalée comme vulnérable.",
		"Counted requests of a family the desk marked as vulnerable."),
	def("by_reason", "Reden voor opvang", "Motif de l'accueil", "Reason for care",
		"Getelde aanvragen per reden voor opvang (werk, opleiding, werk zoeken, andere).",
		"Demandes comptées par motif de l'accueil (travail, formation, recherche d'emploi, autre).",
		"Counted requests by reason for care (work, training, job search, other)."),
	def("by_unmet_municipality", "Onvervulde vraag per gemeente", "Demande non satisfaite par commune", "Unmet demand by municipality",
		"Getelde aanvragen met status onbeantwoord (de gewenste start ging voorbij zonder plaats), per woongemeente van het gezin.",
		"Demandes comptées au statut sans réponse (le début souhaité est passé sans place), par commune de résidence de la famille.",
		"Counted requests with status unanswered (the desired start passed without a place), by the family's municipality."),
	def("unmet_per_births", "Onvervulde vraag per 100 geboorten", "Demande non satisfaite pour 100 naissances", "Unmet demand per 100 births",
		"Onvervulde vraag in de gemeente in het jaar, gedeeld door het aantal geboorten per jaar in die gemeente, maal 100. Het aantal geboorten is een referentiecijfer van het platform.",
		"Demande non satisfaite dans la commune pendant l'année, divisée par le nombre de naissances par an dans cette commune, fois 100. Le nombre de naissances est un chiffre de référence de la plateforme.",
		"Unmet demand in the municipality in the year, divided by the births per year in that municipality, times 100. The births are a reference figure of the platform."),
	def("ahead_requests", "Vraag zonder plaats", "Demandes sans place", "Requests without a place",
		"Open aanvragen (ingediend, actief of met een aanbod; zonder samengevoegde dubbels) met een gewenste start in die maand, per woongemeente en wijk.",
		"Demandes ouvertes (introduites, actives ou avec une offre ; sans doublons fusionnés) avec un début souhaité ce mois-là, par commune et quartier.",
		"Open requests (submitted, active or offered; without merged duplicates) with a desired start in that month, by municipality and neighbourhood."),
	def("ahead_free", "Gekende vrije plaatsen", "Places libres connues", "Free places known",
		"Vrije plaatsen die opvanglocaties in die gemeente en wijk voor die startmaand opgaven (alle leeftijdsgroepen samen).",
		"Places libres déclarées par les lieux d'accueil de cette commune et de ce quartier pour ce mois de début (toutes tranches d'âge).",
		"Free places the locations in that municipality and neighbourhood published for that start month (all age bands together)."),
	def("ahead_short", "Tekort", "Manque", "Shortage",
		"Vraag zonder plaats min gekende vrije plaatsen, als dat meer dan nul is.",
		"Demandes sans place moins places libres connues, si c'est plus que zéro.",
		"Requests without a place minus free places known, when more than zero."),
	def("cross_border", "Vraag over gemeentegrenzen", "Demande au-delà des limites communales", "Demand across municipal borders",
		"Getelde aanvragen van gezinnen uit gemeente X met minstens één voorkeur voor een opvanglocatie in een andere gemeente Y. Een aanvraag telt één keer per paar (X, Y).",
		"Demandes comptées de familles de la commune X avec au moins une préférence pour un lieu d'accueil dans une autre commune Y. Une demande compte une fois par paire (X, Y).",
		"Counted requests of families from municipality X with at least one preference for a location in another municipality Y. A request counts once per pair (X, Y)."),
	def("suppressed", "Kleine aantallen", "Petits nombres", "Small counts",
		"Buiten het loket tonen we aantallen van 1 tot 4 als '<5', zodat geen gezin herkenbaar is. Omdat zo'n aantal anders uit de totalen te berekenen is, verbergen we ook enkele andere aantallen, telkens de kleinste: die staan er als 'x'. Rijen onder die grens krijgt een regio-coördinator niet.",
		"En dehors du guichet, les nombres de 1 à 4 sont affichés « <5 », pour qu'aucune famille ne soit reconnaissable. Comme un tel nombre pourrait sinon être calculé à partir des totaux, quelques autres nombres, chaque fois les plus petits, sont aussi masqués : ils sont affichés « x ». Un coordinateur régional ne reçoit pas les lignes sous ce seuil.",
		"Outside the desk, counts of 1 to 4 are shown as '<5' so that no family can be recognised. Because such a count could otherwise be worked out from the totals, a few other counts, each time the smallest, are hidden too: they are shown as 'x'. A regional coordinator never receives rows below that threshold."),
}

// DefinitionOf returns the definition with id; it panics on an unknown id,
// which is a programming error caught by the tests.
func DefinitionOf(id string) Definition {
	for _, d := range Definitions {
		if d.ID == id {
			return d
		}
	}
	panic(fmt.Sprintf("reports: no definition %q", id))
}

// Count is a number that may be suppressed. Inside the desk Hidden is never
// set; outside it a count of 1..4 is withheld: N is zero and Hidden true.
type Count struct {
	N      int
	Hidden bool
	// Secondary marks a count hidden only so that a small one cannot be
	// worked out from the totals (it may be large).
	Secondary bool
}

// HiddenMark is how a count hidden by secondary suppression is shown.
const HiddenMark = "x"

// String shows the count, "<5" when withheld as small, "x" when withheld
// to protect a small one.
func (c Count) String() string {
	if c.Hidden && c.Secondary {
		return HiddenMark
	}
	if c.Hidden {
		return fmt.Sprintf("<%d", SmallCell)
	}
	return fmt.Sprint(c.N)
}

// suppress withholds a small count.
func suppress(n int) Count {
	if n > 0 && n < SmallCell {
		return Count{Hidden: true}
	}
	return Count{N: n}
}

// Days is a duration in days, or absent when nothing was measured.
type Days struct {
	Value float64
	Valid bool
}

// String shows the days with one decimal, "–" when absent.
func (d Days) String() string {
	if !d.Valid {
		return "–"
	}
	return fmt.Sprintf("%.1f", d.Value)
}

// In shows the days as people read them in lang: a decimal comma in Dutch
// and French (exports keep the point).
func (d Days) In(lang string) string {
	s := d.String()
	if langIndex(lang) < 2 {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// Row is one line of a breakdown: a key (a code such as "online" or
// "2027-03") and its count.
type Row struct {
	Key string
	// Sub is a second key where the breakdown has two levels (municipality and neighbourhood).
	Sub   string
	Count Count
}

// Breakdown is one breakdown of the counted requests.
type Breakdown struct {
	ID   string // a Definitions id
	Rows []Row
}

// Figures are the yearly figures of one desk, or of one municipality of it.
type Figures struct {
	Year            int
	MunicipalityNIS string // empty: the whole desk
	Requests        Count
	Children        Count
	Placed          Count
	Withdrawn       Count
	Unanswered      Count
	Open            Count
	Closed          Count
	// Answered is how many requests got a first answer: the requests the
	// first-answer percentiles are over (the placement percentiles are
	// over Placed).
	Answered          Count
	FirstAnswerMedian Days
	FirstAnswerP90    Days
	PlacementMedian   Days
	PlacementP90      Days
	Breakdowns        []Breakdown
}

// Breakdown returns the breakdown with id (empty when absent).
func (f Figures) Breakdown(id string) Breakdown {
	for _, b := range f.Breakdowns {
		if b.ID == id {
			return b
		}
	}
	return Breakdown{ID: id}
}

// CountOf returns the count of key in breakdown id (zero when absent).
func (f Figures) CountOf(id, key string) Count {
	for _, r := range f.Breakdown(id).Rows {
		if r.Key == key && r.Sub == "" {
			return r.Count
		}
	}
	return Count{}
}

// Headline lists the main counts in a fixed order with their definition ids.
func (f Figures) Headline() []struct {
	ID    string
	Count Count
} {
	return []struct {
		ID    string
		Count Count
	}{
		{"requests", f.Requests}, {"children", f.Children}, {"placed", f.Placed}, {"withdrawn", f.Withdrawn},
		{"unanswered", f.Unanswered}, {"open", f.Open}, {"closed", f.Closed}, {"answered", f.Answered},
	}
}

// Durations lists the percentiles in a fixed order with their definition ids.
func (f Figures) Durations() []struct {
	ID   string
	Days Days
} {
	return []struct {
		ID   string
		Days Days
	}{
		{"first_answer_median", f.FirstAnswerMedian}, {"first_answer_p90", f.FirstAnswerP90},
		{"placement_median", f.PlacementMedian}, {"placement_p90", f.PlacementP90},
	}
}

// MunicipalityFigures are the main counts of one municipality of the desk.
type MunicipalityFigures struct {
	NIS     string
	Figures Figures
}

// AheadRow is the demand and supply of one area and start month.
type AheadRow struct {
	Month           string // YYYY-MM
	MunicipalityNIS string
	Neighbourhood   string
	Requests        Count
	FreePlaces      int
	Shortage        int
}

// Ahead is the unmet demand of a desk for the next 12 months.
type Ahead struct {
	From   time.Time // first day of the first month
	Months []string  // YYYY-MM, 12 of them
	Rows   []AheadRow
	// Totals per month (all areas of the desk).
	Totals []AheadRow
}

// Responsiveness is how one location (or, with Location empty, one
// provider over all its locations) answered the desk's counted requests.
// Staff only: it names providers and is never part of a regional report.
type Responsiveness struct {
	Provider, Location string
	MunicipalityNIS    string
	Received           int
	Answered           int
	InTime             int
	Median             Days
}

// DeskReport is everything the desk's report page shows.
type DeskReport struct {
	// Providers is the responsiveness per provider and location, for the
	// desk's staff (ResponseDays is the desk's deadline to answer).
	Providers      []Responsiveness
	ResponseDays   int
	DeskSlug       string
	Year           int
	Desk           Figures
	Municipalities []MunicipalityFigures
	Ahead          Ahead
	// singleNIS is the one municipality of a desk that has one: the
	// Opgroeien export then repeats the desk's figures as that municipality.
	singleNIS string
}

// CrossBorder is demand from one municipality for locations in another.
type CrossBorder struct {
	FromNIS, ToNIS string
	Requests       Count
}

// RegionDesk is one desk's figures in a region, suppressed.
type RegionDesk struct {
	Slug    string
	Name    string
	Figures Figures
}

// MapArea is one municipality on the regional map.
type MapArea struct {
	NIS    string
	Births int // 0: no reference figure
	Unmet  Count
	// PerHundred is unmet demand per 100 births (absent when hidden or
	// without births).
	PerHundred Days
}

// RegionReport is what a regional coordinator sees: aggregates only, every
// count of 1..4 withheld, and no cross-border row under the threshold.
type RegionReport struct {
	RegionNIS string
	Year      int
	Desks     []RegionDesk
	Total     Figures
	Cross     []CrossBorder
	// HiddenPairs is how many municipality pairs had 1..4 requests and were left out.
	HiddenPairs int
	// Map is the unmet demand per municipality of the region (suppressed
	// as the rest), Outlines their shapes.
	Map      []MapArea
	Outlines []Outline
}
