package reports

import (
	"strings"

	"github.com/loket-kinderopvang/loket/internal/geo"
)

// valueLabels name the keys of the breakdowns (nl, fr, en), next to the
// definitions, so the page and the exports use the same words.
var valueLabels = map[string][3]string{
	"channel.online":         {"online", "en ligne", "online"},
	"channel.counter":        {"balie", "guichet", "counter"},
	"channel.phone":          {"telefoon", "téléphone", "phone"},
	"channel.partner":        {"partner", "partenaire", "partner"},
	"channel.forwarded":      {"doorgestuurd door opvang", "transmise par l'accueil", "forwarded by a provider"},
	"channel.api":            {"API", "API", "API"},
	"age.unborn":             {"nog niet geboren", "pas encore né", "not yet born"},
	"age.0-5":                {"0 tot 5 maanden", "0 à 5 mois", "0 to 5 months"},
	"age.6-11":               {"6 tot 11 maanden", "6 à 11 mois", "6 to 11 months"},
	"age.12-17":              {"12 tot 17 maanden", "12 à 17 mois", "12 to 17 months"},
	"age.18-23":              {"18 tot 23 maanden", "18 à 23 mois", "18 to 23 months"},
	"age.24-35":              {"24 tot 35 maanden", "24 à 35 mois", "24 to 35 months"},
	"age.36+":                {"36 maanden of ouder", "36 mois ou plus", "36 months or older"},
	"part.whole":             {"hele dagen", "journées entières", "whole days"},
	"part.half":              {"halve dagen", "demi-journées", "half days"},
	"yes":                    {"ja", "oui", "yes"},
	"no":                     {"nee", "non", "no"},
	"claim.work_or_training": {"werk of opleiding", "travail ou formation", "work or training"},
	"claim.single_parent":    {"alleenstaande ouder", "parent isolé", "single parent"},
	"claim.low_income":       {"laag inkomen", "revenu faible", "low income"},
	"claim.foster_child":     {"pleegkind", "enfant placé en famille d'accueil", "foster child"},
	"claim.sibling":          {"broer of zus in de opvang", "frère ou sœur dans l'accueil", "sibling in the location"},
	"claim.none":             {"geen", "aucun", "none"},
	"reason.work":            {"werk", "travail", "work"},
	"reason.training":        {"opleiding", "formation", "training"},
	"reason.job_search":      {"werk zoeken", "recherche d'emploi", "job search"},
	"reason.other":           {"andere", "autre", "other"},
	"days.0":                 {"niet opgegeven", "non précisé", "not given"},
	"days.1":                 {"1 dag", "1 jour", "1 day"},
	"neighbourhood.unknown":  {"wijk onbekend", "quartier inconnu", "neighbourhood unknown"},
	"municipality.unknown":   {"gemeente onbekend", "commune inconnue", "municipality unknown"},
	"days.n":                 {"%s dagen", "%s jours", "%s days"},
	"unknown":                {"onbekend", "inconnu", "unknown"},
}

var prefixOf = map[string]string{
	"by_channel": "channel.", "by_age": "age.", "by_day_part": "part.", "by_wider_hours": "", "by_care_need": "",
	"by_vulnerable": "", "by_priority": "claim.", "by_reason": "reason.", "by_days_per_week": "days.",
}

func langIndex(lang string) int {
	switch {
	case strings.HasPrefix(lang, "fr"):
		return 1
	case strings.HasPrefix(lang, "en"):
		return 2
	}
	return 0
}

// ValueLabel names key of breakdown id in lang (the key itself when it has
// no name, such as a month "2027-03").
func ValueLabel(id, key, lang string) string {
	i := langIndex(lang)
	prefix, ok := prefixOf[id]
	if !ok {
		if id == "by_neighbourhood" || id == "by_unmet_municipality" {
			return MunicipalityName(key, lang)
		}
		return key
	}
	if key == unknownKey {
		return valueLabels["unknown"][i]
	}
	if l, ok := valueLabels[prefix+key]; ok {
		return l[i]
	}
	if id == "by_days_per_week" {
		return strings.Replace(valueLabels["days.n"][i], "%s", key, 1)
	}
	return key
}

// RowLabel names a row of a breakdown: for neighbourhoods "Geel – Bel".
func RowLabel(id string, r Row, lang string) string {
	if id != "by_neighbourhood" {
		return ValueLabel(id, r.Key, lang)
	}
	wijk := r.Sub
	if wijk == "" {
		wijk = valueLabels["neighbourhood.unknown"][langIndex(lang)]
	}
	return MunicipalityName(r.Key, lang) + " – " + wijk
}

// MunicipalityName is the name of a municipality by NIS code.
func MunicipalityName(nis, lang string) string {
	if m, ok := geo.LookupMunicipality(geo.NISCode(nis)); ok {
		return m.Name(lang)
	}
	if nis == "" {
		return valueLabels["municipality.unknown"][langIndex(lang)]
	}
	return nis
}

// RegionName is the name of a region (arrondissement) by NIS code.
func RegionName(nis, lang string) string {
	if r, ok := geo.LookupRegion(geo.NISCode(nis)); ok {
		return r.Name(lang)
	}
	return nis
}
