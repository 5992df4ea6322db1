package allocation

import (
	"fmt"
	"strings"
)

// Reason says why a child did not get a programme it ranked higher.
type Reason string

// Reasons.
const (
	// ReasonFull: every seat the child could take went to children with
	// higher precedence; see the cut-offs.
	ReasonFull Reason = "full"
	// ReasonNotEligible: the child lacks a criterion the location requires.
	ReasonNotEligible Reason = "not_eligible"
	// ReasonNoCapacity: the programme had no places this round.
	ReasonNoCapacity Reason = "no_capacity"
)

// Explanation tells one child's outcome and, for every programme ranked
// above the one received (all of them without a place), why not.
type Explanation struct {
	ChildID     string    `json:"child_id"`
	ProgrammeID string    `json:"programme_id,omitempty"`
	Choice      int       `json:"choice"`
	Seat        SeatType  `json:"seat,omitempty"`
	Vulnerable  bool      `json:"vulnerable,omitempty"`
	NotReceived []Refusal `json:"not_received"`
	TextNL      string    `json:"text_nl"`
	TextEN      string    `json:"text_en"`

	names *displayNames
}

// Refusal explains one programme the child did not get.
type Refusal struct {
	ProgrammeID string `json:"programme_id"`
	Choice      int    `json:"choice"`
	Reason      Reason `json:"reason"`
	// The child's own precedence there (for ReasonFull): tier index, its
	// criterion (empty for the last tier) and lottery number.
	Tier      int    `json:"tier"`
	Criterion string `json:"criterion,omitempty"`
	Lottery   int    `json:"lottery,omitempty"`
	// Vulnerable children could also take reserved seats.
	Vulnerable     bool    `json:"vulnerable,omitempty"`
	OpenCutoff     *Cutoff `json:"open_cutoff,omitempty"`
	ReservedCutoff *Cutoff `json:"reserved_cutoff,omitempty"`
	Reserved       int     `json:"reserved,omitempty"`
	// Missing lists the required criteria the child lacks (ReasonNotEligible).
	Missing []string `json:"missing,omitempty"`
}

// displayNames resolves IDs and criteria to texts for parents.
type displayNames struct {
	programme map[string]string
	labels    map[string]Label
}

func (d *displayNames) prog(id string) string {
	if d != nil && d.programme[id] != "" {
		return d.programme[id]
	}
	return id
}

func (d *displayNames) criterion(name string, dutch bool) string {
	if d != nil {
		if l, ok := d.labels[name]; ok {
			if dutch && l.NL != "" {
				return l.NL
			}
			if !dutch && l.EN != "" {
				return l.EN
			}
		}
	}
	return name
}

// Explain derives an explanation for every child from an instance and its
// result. It needs no engine state: the cut-offs are part of the result and
// precedence is recomputed from the documented rules.
func Explain(inst *Instance, res *Result) ([]Explanation, error) {
	m, err := newRefModel(inst, res)
	if err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	return m.explain(nil)
}

// explain explains the children at the given positions, or every child
// for nil.
func (m *refModel) explain(which []int) ([]Explanation, error) {
	inst, res := m.inst, m.res
	if len(res.Assignments) != len(inst.Children) || len(res.Fill) != len(inst.Programmes) {
		return nil, fmt.Errorf("explain: result does not match instance (%d assignments, %d fill entries)", len(res.Assignments), len(res.Fill))
	}
	names := &displayNames{programme: make(map[string]string, len(inst.Programmes)), labels: inst.Labels}
	for _, p := range inst.Programmes {
		name := p.Name
		if name == "" {
			name = p.ID
		}
		names.programme[p.ID] = name
	}
	n := len(which)
	if which == nil {
		n = len(inst.Children)
	}
	out := make([]Explanation, n)
	for k := range n {
		i := k
		if which != nil {
			i = which[k]
		}
		e, err := m.explainChild(i, names)
		if err != nil {
			return nil, fmt.Errorf("explain: %w", err)
		}
		out[k] = e
	}
	return out, nil
}

func (m *refModel) explainChild(i int, names *displayNames) (Explanation, error) {
	ch := &m.inst.Children[i]
	as := m.res.Assignments[i]
	e := Explanation{ChildID: ch.ID, ProgrammeID: as.ProgrammeID, Choice: int(as.Choice), Seat: as.Seat,
		Vulnerable: ch.Vulnerable, NotReceived: []Refusal{}, names: names}
	above := len(ch.Preferences)
	if as.Choice > 0 {
		above = int(as.Choice) - 1
	}
	for k := 0; k < above && k < len(ch.Preferences); k++ {
		pid := ch.Preferences[k]
		p := m.progIndex[pid]
		prog := &m.inst.Programmes[p]
		l := m.progLoc[p]
		rf := Refusal{ProgrammeID: pid, Choice: k + 1}
		switch {
		case prog.Capacity == 0:
			rf.Reason = ReasonNoCapacity
		case !m.eligible(i, l):
			rf.Reason = ReasonNotEligible
			rf.Missing = m.missing(i, l)
		default:
			fill := &m.res.Fill[p]
			if fill.Filled < fill.Capacity {
				return e, fmt.Errorf("child %s was not admitted to %s although it has empty seats: the result is inconsistent", ch.ID, pid)
			}
			key := m.baseKey(i, l)
			rf.Reason = ReasonFull
			rf.Tier, rf.Criterion, rf.Lottery = key.tier, m.tierName(l, key.tier), key.lottery
			rf.Vulnerable = ch.Vulnerable
			rf.OpenCutoff, rf.ReservedCutoff, rf.Reserved = fill.OpenCutoff, fill.ReservedCutoff, fill.Reserved
		}
		e.NotReceived = append(e.NotReceived, rf)
	}
	e.TextNL, e.TextEN = e.Dutch(), e.English()
	return e, nil
}

// Dutch renders the explanation in plain Dutch (level B1) for parents.
func (e Explanation) Dutch() string {
	var b strings.Builder
	d := e.names
	switch {
	case e.ProgrammeID != "":
		fmt.Fprintf(&b, "Uw kind krijgt een plaats in %s. Dat was uw %de keuze.", d.prog(e.ProgrammeID), e.Choice)
		if e.Seat == SeatReserved && e.Vulnerable {
			b.WriteString(" Het is een plaats die voorbehouden is voor kinderen in een kwetsbare situatie.")
		} else if e.Seat == SeatReserved {
			b.WriteString(" Die plaats was eerst voorbehouden voor kinderen in een kwetsbare situatie, maar zij hadden ze niet nodig.")
		}
	case len(e.NotReceived) == 0:
		b.WriteString("Uw kind krijgt in deze ronde geen plaats. U gaf geen opvang op.")
	default:
		b.WriteString("Uw kind krijgt in deze ronde geen plaats.")
	}
	if len(e.NotReceived) > 0 {
		if e.ProgrammeID != "" {
			b.WriteString(" Hieronder leest u waarom uw kind geen plaats kreeg in de opvang die u hoger zette.")
		} else {
			b.WriteString(" Hieronder leest u waarom, voor elke keuze.")
		}
	}
	full := false
	for _, rf := range e.NotReceived {
		fmt.Fprintf(&b, "\n\n%de keuze, %s: ", rf.Choice, d.prog(rf.ProgrammeID))
		b.WriteString(rf.dutch(d))
		full = full || rf.Reason == ReasonFull
	}
	if full {
		b.WriteString("\n\nZo werkt de verdeling: kinderen met meer voorrang zijn eerst aan de beurt. " +
			"Bij gelijke voorrang beslist het lotnummer: een lager nummer is eerder aan de beurt.")
	}
	return b.String()
}

func (rf Refusal) dutch(d *displayNames) string {
	var b strings.Builder
	switch rf.Reason {
	case ReasonNoCapacity:
		b.WriteString("Deze opvang had in deze ronde geen vrije plaatsen.")
	case ReasonNotEligible:
		labels := make([]string, len(rf.Missing))
		for k, c := range rf.Missing {
			labels[k] = "'" + d.criterion(c, true) + "'"
		}
		fmt.Fprintf(&b, "Uw kind kon hier geen plaats krijgen. Deze opvang is alleen voor kinderen met: %s. Dat is voor uw kind niet zo.", joinList(labels, "en"))
	case ReasonFull:
		b.WriteString("Alle plaatsen zijn bezet. ")
		if rf.Criterion == "" {
			fmt.Fprintf(&b, "Uw kind had hier geen voorrang en had lotnummer %d.", rf.Lottery)
		} else {
			fmt.Fprintf(&b, "Uw kind had hier voorrang als '%s' en had lotnummer %d.", d.criterion(rf.Criterion, true), rf.Lottery)
		}
		if co := rf.OpenCutoff; co != nil {
			b.WriteString(" ")
			b.WriteString(rf.cutoffDutch(d, co, "De gewone plaatsen"))
		}
		if co := rf.ReservedCutoff; co != nil {
			if rf.Reserved == 1 {
				b.WriteString(" Er was ook 1 plaats voorbehouden voor kinderen in een kwetsbare situatie.")
			} else {
				fmt.Fprintf(&b, " Er waren ook %d plaatsen voorbehouden voor kinderen in een kwetsbare situatie.", rf.Reserved)
			}
			if co.Vulnerable && !rf.Vulnerable && rf.Reserved == 1 {
				b.WriteString(" Die ging naar zo'n kind.")
			} else if co.Vulnerable && !rf.Vulnerable {
				b.WriteString(" Die gingen naar zulke kinderen.")
			} else {
				b.WriteString(" ")
				b.WriteString(rf.cutoffDutch(d, co, "Ook die"))
			}
		}
	}
	return b.String()
}

func (rf Refusal) cutoffDutch(d *displayNames, co *Cutoff, seats string) string {
	if co.Tier < rf.Tier {
		// A better tier than the child's is never the last tier, so it has a criterion.
		return fmt.Sprintf("%s gingen naar kinderen met meer voorrang. Het laatste kind dat er een plaats kreeg, had voorrang als '%s'.",
			seats, d.criterion(co.Criterion, true))
	}
	return fmt.Sprintf("%s gingen naar kinderen met minstens evenveel voorrang. Het laatste kind dat er een plaats kreeg, had dezelfde voorrang als uw kind en lotnummer %d.", seats, co.Lottery)
}

// English renders the explanation in plain English.
func (e Explanation) English() string {
	var b strings.Builder
	d := e.names
	switch {
	case e.ProgrammeID != "":
		fmt.Fprintf(&b, "Your child gets a place at %s. This was your choice number %d.", d.prog(e.ProgrammeID), e.Choice)
		if e.Seat == SeatReserved && e.Vulnerable {
			b.WriteString(" It is one of the places reserved for children in a vulnerable situation.")
		} else if e.Seat == SeatReserved {
			b.WriteString(" This place was first reserved for children in a vulnerable situation, but they did not need it.")
		}
	case len(e.NotReceived) == 0:
		b.WriteString("Your child gets no place in this round. You did not list any childcare.")
	default:
		b.WriteString("Your child gets no place in this round.")
	}
	if len(e.NotReceived) > 0 {
		if e.ProgrammeID != "" {
			b.WriteString(" Below you can read why your child did not get a place you ranked higher.")
		} else {
			b.WriteString(" Below you can read why, for each choice.")
		}
	}
	full := false
	for _, rf := range e.NotReceived {
		fmt.Fprintf(&b, "\n\nChoice %d, %s: ", rf.Choice, d.prog(rf.ProgrammeID))
		b.WriteString(rf.english(d))
		full = full || rf.Reason == ReasonFull
	}
	if full {
		b.WriteString("\n\nHow places are shared: children with more priority go first. " +
			"With equal priority the lottery number decides: a lower number goes first.")
	}
	return b.String()
}

func (rf Refusal) english(d *displayNames) string {
	var b strings.Builder
	switch rf.Reason {
	case ReasonNoCapacity:
		b.WriteString("This childcare had no places in this round.")
	case ReasonNotEligible:
		labels := make([]string, len(rf.Missing))
		for k, c := range rf.Missing {
			labels[k] = "'" + d.criterion(c, false) + "'"
		}
		fmt.Fprintf(&b, "Your child could not get a place here. This childcare only takes children with: %s. That does not apply to your child.", joinList(labels, "and"))
	case ReasonFull:
		b.WriteString("All places are taken. ")
		if rf.Criterion == "" {
			fmt.Fprintf(&b, "Your child had no priority here and had lottery number %d.", rf.Lottery)
		} else {
			fmt.Fprintf(&b, "Your child had priority as '%s' here and had lottery number %d.", d.criterion(rf.Criterion, false), rf.Lottery)
		}
		if co := rf.OpenCutoff; co != nil {
			b.WriteString(" ")
			b.WriteString(rf.cutoffEnglish(d, co, "The regular places"))
		}
		if co := rf.ReservedCutoff; co != nil {
			if rf.Reserved == 1 {
				b.WriteString(" There was also 1 place reserved for children in a vulnerable situation.")
			} else {
				fmt.Fprintf(&b, " There were also %d places reserved for children in a vulnerable situation.", rf.Reserved)
			}
			if co.Vulnerable && !rf.Vulnerable && rf.Reserved == 1 {
				b.WriteString(" It went to such a child.")
			} else if co.Vulnerable && !rf.Vulnerable {
				b.WriteString(" They went to such children.")
			} else {
				b.WriteString(" ")
				b.WriteString(rf.cutoffEnglish(d, co, "Those too"))
			}
		}
	}
	return b.String()
}

func (rf Refusal) cutoffEnglish(d *displayNames, co *Cutoff, seats string) string {
	if co.Tier < rf.Tier {
		return fmt.Sprintf("%s went to children with more priority. The last child to get a place there had priority as '%s'.",
			seats, d.criterion(co.Criterion, false))
	}
	return fmt.Sprintf("%s went to children with at least as much priority. The last child to get a place there had the same priority as your child and lottery number %d.", seats, co.Lottery)
}

// joinList joins "a", "a en b", "a, b en c".
func joinList(items []string, and string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " " + and + " " + items[len(items)-1]
}
