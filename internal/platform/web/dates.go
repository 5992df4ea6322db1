package web

import (
	"slices"
	"strconv"
	"time"
	_ "time/tzdata" // moments are shown in Belgian time on any host
)

// Dates and months are written out for people ("3 maart 2027", "mars
// 2027"), never as 2027-03-03 or 2027-03: the month names come from the
// catalogues (month.1 … month.12).

// Month is a month in words with its year, from "YYYY-MM" (or a date
// "YYYY-MM-DD"); anything else is returned as it is.
func (t Translator) Month(month string) string {
	if len(month) > 7 {
		month = month[:7]
	}
	m, err := time.Parse("2006-01", month)
	if err != nil {
		return month
	}
	return t.T("month."+strconv.Itoa(int(m.Month()))) + " " + strconv.Itoa(m.Year())
}

// Date is a day written out: "3 maart 2027" (en: "3 March 2027").
func (t Translator) Date(d time.Time) string {
	return strconv.Itoa(d.Day()) + " " + t.T("month."+strconv.Itoa(int(d.Month()))) + " " + strconv.Itoa(d.Year())
}

// brussels is the desks' time zone: a moment (a deadline, a note's time) is
// read by people in Belgium, whatever zone the server or database uses.
var brussels = func() *time.Location {
	l, err := time.LoadLocation("Europe/Brussels")
	if err != nil {
		panic("web: time zone Europe/Brussels: " + err.Error()) // embedded by time/tzdata
	}
	return l
}()

// DateTime is a moment written out in Belgian time: "3 maart 2027, 14:05".
func (t Translator) DateTime(d time.Time) string {
	d = d.In(brussels)
	return t.Date(d) + ", " + d.Format("15:04")
}

// DateString writes out a "YYYY-MM-DD" date; anything else is returned as it is.
func (t Translator) DateString(s string) string {
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		return s
	}
	return t.Date(d)
}

// MonthsFrom lists n months from the month of from on, as options of a
// month picker whose values are the first day of each month ("2027-03-01").
func (t Translator) MonthsFrom(from time.Time, n int, selected string) []Option {
	return t.months(from, n, selected, "2006-01-02")
}

// MonthOptions lists n months from the month of from on, as options whose
// values are the months themselves ("2027-03"). A valid selected month
// outside that range comes first, so that a chosen value is never lost.
func (t Translator) MonthOptions(from time.Time, n int, selected string) []Option {
	out := t.months(from, n, selected, "2006-01")
	if _, err := time.Parse("2006-01", selected); err == nil && !slices.ContainsFunc(out, func(o Option) bool { return o.Selected }) {
		out = append([]Option{{Value: selected, Label: t.Month(selected), Selected: true}}, out...)
	}
	return out
}

func (t Translator) months(from time.Time, n int, selected, layout string) []Option {
	first := time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, time.UTC)
	out := make([]Option, 0, n)
	for i := range n {
		v := first.AddDate(0, i, 0).Format(layout)
		out = append(out, Option{Value: v, Label: t.Month(v), Selected: v == selected})
	}
	return out
}
