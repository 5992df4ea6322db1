package allocation

import (
	"fmt"
	"strings"
)

// Text renders a stored explanation for a parent in lang (nl, fr or en),
// naming each programme with prog (a location, a month and an age group in
// the reader's words, never its id) and each criterion with crit.
func (e Explanation) Text(lang string, prog, crit func(string) string) string {
	e.names = &displayNames{progFn: prog, critFn: crit}
	switch lang {
	case "fr":
		return e.French()
	case "en":
		return e.English()
	}
	return e.Dutch()
}

// French renders the explanation in plain French.
func (e Explanation) French() string {
	var b strings.Builder
	d := e.names
	switch {
	case e.ProgrammeID != "":
		fmt.Fprintf(&b, "Votre enfant reçoit une place à %s. C'était votre choix numéro %d.", d.prog(e.ProgrammeID), e.Choice)
		if e.Seat == SeatReserved && e.Vulnerable {
			b.WriteString(" C'est une des places réservées aux enfants en situation de vulnérabilité.")
		} else if e.Seat == SeatReserved {
			b.WriteString(" Cette place était d'abord réservée aux enfants en situation de vulnérabilité, mais ils n'en avaient pas besoin.")
		}
	case len(e.NotReceived) == 0:
		b.WriteString("Votre enfant ne reçoit pas de place dans ce tour. Vous n'avez choisi aucun lieu d'accueil.")
	default:
		b.WriteString("Votre enfant ne reçoit pas de place dans ce tour.")
	}
	if len(e.NotReceived) > 0 {
		if e.ProgrammeID != "" {
			b.WriteString(" Vous lisez ci-dessous pourquoi votre enfant n'a pas reçu de place dans un lieu que vous aviez mis plus haut.")
		} else {
			b.WriteString(" Vous lisez ci-dessous pourquoi, pour chaque choix.")
		}
	}
	full := false
	for _, rf := range e.NotReceived {
		fmt.Fprintf(&b, "\n\nChoix %d, %s : ", rf.Choice, d.prog(rf.ProgrammeID))
		b.WriteString(rf.french(d))
		full = full || rf.Reason == ReasonFull
	}
	if full {
		b.WriteString("\n\nComment les places sont réparties : les enfants avec plus de priorité passent d'abord. " +
			"À priorité égale, le numéro de tirage décide : un numéro plus bas passe d'abord.")
	}
	return b.String()
}

func (rf Refusal) french(d *displayNames) string {
	var b strings.Builder
	switch rf.Reason {
	case ReasonNoCapacity:
		b.WriteString("Ce lieu d'accueil n'avait pas de places dans ce tour.")
	case ReasonNotEligible:
		labels := make([]string, len(rf.Missing))
		for k, c := range rf.Missing {
			labels[k] = "« " + d.criterion(c, false) + " »"
		}
		fmt.Fprintf(&b, "Votre enfant ne pouvait pas recevoir de place ici. Ce lieu n'accueille que des enfants avec : %s. Ce n'est pas le cas de votre enfant.", joinList(labels, "et"))
	case ReasonFull:
		b.WriteString("Toutes les places sont prises. ")
		if rf.Criterion == "" {
			fmt.Fprintf(&b, "Votre enfant n'avait pas de priorité ici et avait le numéro de tirage %d.", rf.Lottery)
		} else {
			fmt.Fprintf(&b, "Votre enfant avait ici la priorité « %s » et le numéro de tirage %d.", d.criterion(rf.Criterion, false), rf.Lottery)
		}
		if co := rf.OpenCutoff; co != nil {
			b.WriteString(" ")
			b.WriteString(rf.cutoffFrench(d, co, "Les places ordinaires"))
		}
		if co := rf.ReservedCutoff; co != nil {
			if rf.Reserved == 1 {
				b.WriteString(" Il y avait aussi 1 place réservée aux enfants en situation de vulnérabilité.")
			} else {
				fmt.Fprintf(&b, " Il y avait aussi %d places réservées aux enfants en situation de vulnérabilité.", rf.Reserved)
			}
			if co.Vulnerable && !rf.Vulnerable && rf.Reserved == 1 {
				b.WriteString(" Elle est allée à un tel enfant.")
			} else if co.Vulnerable && !rf.Vulnerable {
				b.WriteString(" Elles sont allées à de tels enfants.")
			} else {
				b.WriteString(" ")
				b.WriteString(rf.cutoffFrench(d, co, "Celles-ci aussi"))
			}
		}
	}
	return b.String()
}

func (rf Refusal) cutoffFrench(d *displayNames, co *Cutoff, seats string) string {
	if co.Tier < rf.Tier {
		return fmt.Sprintf("%s sont allées à des enfants avec plus de priorité. Le dernier enfant qui y a reçu une place avait la priorité « %s ».",
			seats, d.criterion(co.Criterion, false))
	}
	return fmt.Sprintf("%s sont allées à des enfants avec au moins autant de priorité. Le dernier enfant qui y a reçu une place avait la même priorité que votre enfant et le numéro de tirage %d.", seats, co.Lottery)
}
