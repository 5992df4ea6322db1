package requests

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/loket-kinderopvang/loket/internal/eventlog"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/web"
)

// A request's history as desk staff read it (issue 20, point 3): who (a
// person's name and role, never "desk:<uuid>") and what happened, in a
// sentence in the reader's language, never "request.activated submitted →
// active".

// People names accounts by their user ids (the account store); ids it does
// not know are left out.
type People func(ctx context.Context, userIDs []string) (map[string]string, error)

// historyKinds are the events with a sentence of their own; any other kind
// reads as "changed the request".
var historyKinds = []string{
	"request.submitted", "request.activated", "request.active", "request.offered", "request.placed", "request.withdrawn",
	"request.closed", "request.unanswered", "request.duplicate_kept", "request.duplicate_merged", "request.status_link_revoked",
	"preference.offered", "preference.waiting_list", "preference.no_place", "preference.forwarded", "preference.accepted",
	"preference.declined", "preference.lapsed", "preference.closed", "preference.pending",
	"preference.location_closed", "preference.added",
	"family.contact_changed", "family.vulnerable.true", "family.vulnerable.false",
	"family.legal_hold.true", "family.legal_hold.false", "family.erasure_requested", "family.erasure_refused",
}

// actorWords names who acted: a person's name and her role at this desk,
// or who the actor is when no person is behind it.
func (h *Web) actorWords(tr web.Translator, deskSlug, actor string, names map[string]string) string {
	kind, id, _ := strings.Cut(actor, ":")
	switch ActorKind(kind) {
	case ActorParent:
		return tr.T("work.who.parent")
	case ActorSystem:
		return tr.T("work.who.system")
	case ActorAPI:
		return tr.T("work.who.api")
	}
	name := names[id]
	if name == "" {
		if strings.HasPrefix(id, "apikey:") {
			return tr.T("work.who.provider_system")
		}
		return tr.T("work.who." + kindOrOther(kind))
	}
	if h.Authz != nil {
		roles := h.Authz.RolesFor(id)[authz.Desk(deskSlug)]
		for _, r := range []authz.Role{authz.DeskAdmin, authz.DeskWorker, authz.Partner} {
			if slices.Contains(roles, r) {
				return name + " (" + tr.T("access.role."+string(r)) + ")"
			}
		}
	}
	return name + " (" + tr.T("work.who."+kindOrOther(kind)) + ")"
}

func kindOrOther(kind string) string {
	switch ActorKind(kind) {
	case ActorDesk, ActorPartner, ActorProvider:
		return kind
	}
	return "other"
}

// actorIDs are the user ids behind actors ("desk:<id>", "provider:<id>").
func actorIDs(actors []string) []string {
	var out []string
	for _, a := range actors {
		if _, id, ok := strings.Cut(a, ":"); ok && id != "" && !strings.Contains(id, ":") && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// historyWhat is the sentence of one event.
func historyWhat(tr web.Translator, e eventlog.Event, locations map[uuid.UUID]LocationRef) string {
	kind := e.Kind
	if kind == "family.vulnerable" {
		kind += "." + e.ToState
	}
	if !slices.Contains(historyKinds, kind) {
		return tr.T("work.history.other")
	}
	var data struct {
		Rank     int    `json:"rank"`
		Location string `json:"location_id"`
	}
	_ = json.Unmarshal(e.Data, &data)
	loc := tr.T("work.history.a_location")
	if id, err := uuid.Parse(data.Location); err == nil && locations[id].Name != "" {
		loc = locations[id].Name
	}
	return tr.T("work.history."+kind, "Location", loc)
}

// historyWhy is the reason, in words when it is a known code.
func historyWhy(tr web.Translator, e eventlog.Event) string {
	why := e.Reason.String()
	if e.Kind == "preference.no_place" && why != "" {
		if s := tr.T("deskwork.noplace." + why); s != "deskwork.noplace."+why {
			return s
		}
	}
	return why
}
