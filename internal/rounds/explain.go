package rounds

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/allocation"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/platform/web"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

// explainer renders the engine's explanations for parents and desk workers
// in their language, from the message catalogue: locations by name, months
// in words, age groups as the catalogue names them, and choices numbered as
// the parent ranked them.
type explainer struct {
	tr    web.Translator
	inst  *allocation.Instance
	names map[string]string // location ID -> name
	progs map[string]*allocation.Programme
	ranks map[requests.RequestID]map[string]int // parent's rank per location ID
}

func newExplainer(tr web.Translator, inst *allocation.Instance, ranks map[requests.RequestID]map[string]int) *explainer {
	x := &explainer{tr: tr, inst: inst, names: map[string]string{}, progs: map[string]*allocation.Programme{}, ranks: ranks}
	for _, l := range inst.Locations {
		x.names[l.ID] = l.Name
	}
	for i := range inst.Programmes {
		x.progs[inst.Programmes[i].ID] = &inst.Programmes[i]
	}
	return x
}

// place names a programme: "De Vlinder, baby's, from May 2027".
func (x *explainer) place(id string) string {
	p := x.progs[id]
	if p == nil {
		return ""
	}
	name := x.names[p.Location]
	if name == "" {
		name = x.tr.T("rounds.explain.unnamed")
	}
	return x.tr.T("rounds.explain.place", "Location", name, "Band", x.tr.T("rounds.band."+p.AgeBand), "Month", x.month(p.StartMonth))
}

func (x *explainer) month(ym string) string {
	y, m, ok := strings.Cut(ym, "-")
	n, err := strconv.Atoi(m)
	if !ok || err != nil {
		return ym
	}
	return x.tr.T("month."+strconv.Itoa(n)) + " " + y
}

// choice is the parent's own rank of a programme's location, or the
// engine's position when the request's ranking is unknown.
func (x *explainer) choice(req requests.RequestID, programme string, engine int) int {
	if p := x.progs[programme]; p != nil {
		if r, ok := x.ranks[req][p.Location]; ok {
			return r
		}
	}
	return engine
}

func (x *explainer) criterion(name string) string {
	return x.tr.T("rounds.criterion." + name)
}

// text renders one child's explanation.
func (x *explainer) text(req requests.RequestID, e allocation.Explanation) string {
	t := x.tr.T
	var parts []string
	switch {
	case e.ProgrammeID != "":
		parts = append(parts, t("rounds.explain.placed", "Place", x.place(e.ProgrammeID), "Choice", x.choice(req, e.ProgrammeID, e.Choice)))
		if e.Seat == allocation.SeatReserved && e.Vulnerable {
			parts = append(parts, t("rounds.explain.placed_reserved"))
		} else if e.Seat == allocation.SeatReserved {
			parts = append(parts, t("rounds.explain.placed_released"))
		}
	case len(e.NotReceived) == 0:
		parts = append(parts, t("rounds.explain.no_choices"))
	default:
		parts = append(parts, t("rounds.explain.none"))
	}
	if len(e.NotReceived) > 0 {
		if e.ProgrammeID != "" {
			parts = append(parts, t("rounds.explain.why_higher"))
		} else {
			parts = append(parts, t("rounds.explain.why_each"))
		}
	}
	var b strings.Builder
	b.WriteString(strings.Join(parts, " "))
	full := false
	for _, rf := range e.NotReceived {
		b.WriteString("\n\n")
		b.WriteString(t("rounds.explain.choice", "Choice", x.choice(req, rf.ProgrammeID, rf.Choice), "Place", x.place(rf.ProgrammeID)))
		b.WriteString(" ")
		b.WriteString(x.refusal(rf))
		full = full || rf.Reason == allocation.ReasonFull
	}
	if full {
		b.WriteString("\n\n")
		b.WriteString(t("rounds.explain.how"))
	}
	return b.String()
}

func (x *explainer) refusal(rf allocation.Refusal) string {
	t := x.tr.T
	switch rf.Reason {
	case allocation.ReasonNoCapacity:
		return t("rounds.explain.no_capacity")
	case allocation.ReasonNotEligible:
		labels := make([]string, len(rf.Missing))
		for k, c := range rf.Missing {
			labels[k] = "'" + x.criterion(c) + "'"
		}
		return t("rounds.explain.not_eligible", "Missing", x.join(labels))
	}
	parts := []string{t("rounds.explain.full")}
	if rf.Criterion == "" {
		parts = append(parts, t("rounds.explain.own_none", "Lottery", rf.Lottery))
	} else {
		parts = append(parts, t("rounds.explain.own_priority", "Criterion", x.criterion(rf.Criterion), "Lottery", rf.Lottery))
	}
	if co := rf.OpenCutoff; co != nil {
		parts = append(parts, x.cutoff(rf, co, "open"))
	}
	// Reserved seats are mentioned only where some were reserved.
	if co := rf.ReservedCutoff; co != nil && rf.Reserved > 0 {
		if rf.Reserved == 1 {
			parts = append(parts, t("rounds.explain.reserved_one"))
		} else {
			parts = append(parts, t("rounds.explain.reserved", "Count", rf.Reserved))
		}
		switch {
		case co.Vulnerable && !rf.Vulnerable && rf.Reserved == 1:
			parts = append(parts, t("rounds.explain.reserved_taken_one"))
		case co.Vulnerable && !rf.Vulnerable:
			parts = append(parts, t("rounds.explain.reserved_taken"))
		default:
			parts = append(parts, x.cutoff(rf, co, "reserved"))
		}
	}
	return strings.Join(parts, " ")
}

// cutoff describes the last child admitted to a seat group.
func (x *explainer) cutoff(rf allocation.Refusal, co *allocation.Cutoff, group string) string {
	if co.Tier < rf.Tier {
		// A better tier than the child's is never the last tier, so it has a criterion.
		return x.tr.T("rounds.explain.cutoff_more."+group, "Criterion", x.criterion(co.Criterion))
	}
	return x.tr.T("rounds.explain.cutoff_same."+group, "Lottery", co.Lottery)
}

// join lists items as "a", "a and b", "a, b and c" in the reader's language.
func (x *explainer) join(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " " + x.tr.T("rounds.explain.and") + " " + items[len(items)-1]
}

// explanations renders the explanations of a stored round for the given
// requests (all of the round's children when requests is nil).
func (s *Service) explanations(ctx context.Context, r *Round, lang string, only []requests.RequestID) (map[requests.RequestID]string, error) {
	inst, err := allocation.DecodeInstance(strings.NewReader(r.Instance))
	if err != nil {
		return nil, fmt.Errorf("rounds: explain: %w", err)
	}
	var res allocation.Result
	if err := jsonUnmarshal(r.Result, &res); err != nil {
		return nil, fmt.Errorf("rounds: explain: %w", err)
	}
	exps, err := allocation.Explain(inst, &res)
	if err != nil {
		return nil, fmt.Errorf("rounds: explain: %w", err)
	}
	want := map[requests.RequestID]bool{}
	for _, id := range only {
		want[id] = true
	}
	var ids []requests.RequestID
	for _, e := range exps {
		id, err := uuid.Parse(e.ChildID)
		if err != nil {
			continue
		}
		if rid := (requests.RequestID{UUID: id}); only == nil || want[rid] {
			ids = append(ids, rid)
		}
	}
	ranks, err := s.ranks(ctx, ids)
	if err != nil {
		return nil, err
	}
	x := newExplainer(s.messages.For(lang), inst, ranks)
	out := make(map[requests.RequestID]string, len(ids))
	for _, e := range exps {
		id, err := uuid.Parse(e.ChildID)
		if err != nil {
			continue
		}
		if rid := (requests.RequestID{UUID: id}); only == nil || want[rid] {
			out[rid] = x.text(rid, e)
		}
	}
	return out, nil
}

// ranks reads how the parents ranked their locations (every preference,
// also those answered since), for the requests of the desk in ctx.
func (s *Service) ranks(ctx context.Context, ids []requests.RequestID) (map[requests.RequestID]map[string]int, error) {
	out := map[requests.RequestID]map[string]int{}
	if len(ids) == 0 {
		return out, nil
	}
	var prefs []requests.Preference
	err := s.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		return tx.Select(&prefs).Where("request_id IN (?)", bun.In(ids)).Scan(ctx)
	})
	if err != nil {
		return nil, fmt.Errorf("rounds: read rankings: %w", err)
	}
	for _, p := range prefs {
		if out[p.RequestID] == nil {
			out[p.RequestID] = map[string]int{}
		}
		out[p.RequestID][p.LocationID.String()] = p.Rank
	}
	return out, nil
}
