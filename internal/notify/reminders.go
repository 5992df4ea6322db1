package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/loket-kinderopvang/loket/internal/jobs"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/requests"
	"github.com/loket-kinderopvang/loket/internal/tenant"
)

// Job kinds of the deadline work.
const (
	KindSweep  = "deadlines.sweep"
	KindRemind = "deadlines.remind"
)

// SweepEvery is how often the deadline sweep runs.
const SweepEvery = 15 * time.Minute

// Desks lists the desks the sweep visits.
type Desks interface {
	All() []tenant.Tenant
	BySlug(slug string) (tenant.Tenant, bool)
}

// Reminders lets offers lapse, marks requests unanswered and reminds
// providers and parents before their deadlines, for every desk.
type Reminders struct {
	Requests *requests.Service
	Desks    Desks
	Mailer   *Mailer
	Jobs     *jobs.Scheduler
	Log      *slog.Logger
	// Window is how long before a deadline the reminder goes out (48h).
	Window time.Duration
}

// Register puts the sweep (every quarter hour) and the reminder handler on
// the scheduler r.Jobs.
func (r *Reminders) Register() {
	if r.Window <= 0 {
		r.Window = 48 * time.Hour
	}
	if r.Log == nil {
		r.Log = slog.Default()
	}
	r.Jobs.Handle(KindSweep, r.Sweep)
	r.Jobs.Handle(KindRemind, r.Remind)
	r.Jobs.Every(KindSweep, SweepEvery)
}

// reminder is the payload of a reminder job: ids only. The addresses are
// read when the job runs, so the jobs table holds no personal data and a
// request answered meanwhile gets no reminder.
type reminder struct {
	About     string    `json:"about"` // answer | offer
	RequestID string    `json:"request_id"`
	Rank      int       `json:"rank"`
	Deadline  time.Time `json:"deadline"`
}

// Sweep runs the deadline rules of every desk and enqueues one reminder job
// per deadline; the job keys make each reminder go out once, however often
// the sweep runs. A failing desk does not stop the others.
func (r *Reminders) Sweep(ctx context.Context, _ *jobs.Job) error {
	var errs []error
	for _, desk := range r.Desks.All() {
		if err := r.sweepDesk(tenancy.WithTenant(ctx, desk.ID), desk); err != nil {
			errs = append(errs, fmt.Errorf("desk %s: %w", desk.Slug, err))
		}
	}
	return errors.Join(errs...)
}

func (r *Reminders) sweepDesk(ctx context.Context, desk tenant.Tenant) error {
	lapsed, err := r.Requests.LapseOffers(ctx)
	if err != nil {
		return err
	}
	unanswered, err := r.Requests.MarkUnanswered(ctx)
	if err != nil {
		return err
	}
	if lapsed+unanswered > 0 {
		r.Log.InfoContext(ctx, "deadlines passed", "desk", desk.Slug, "offers_lapsed", lapsed, "unanswered", unanswered)
	}
	for _, about := range []string{"answer", "offer"} {
		due, err := r.due(ctx, about)
		if err != nil {
			return err
		}
		for _, d := range due {
			p := reminder{About: about, RequestID: d.RequestID.String(), Rank: d.Rank, Deadline: d.Deadline.UTC()}
			key := fmt.Sprintf("%s:%d:%s:%s", p.RequestID, p.Rank, about, p.Deadline.Format(time.RFC3339))
			if _, err := r.Jobs.Enqueue(ctx, jobs.Spec{Kind: KindRemind, Key: key, Scope: desk.Slug, Payload: p}); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *Reminders) due(ctx context.Context, about string) ([]requests.Due, error) {
	if about == "answer" {
		return r.Requests.DueAnswers(ctx, r.Window)
	}
	return r.Requests.DueOffers(ctx, r.Window)
}

// Remind sends one reminder if its deadline is still open: to the location
// in the desk's language (answers), or to the parent in theirs (offers).
func (r *Reminders) Remind(ctx context.Context, j *jobs.Job) error {
	var p reminder
	if err := j.Decode(&p); err != nil {
		return err
	}
	desk, ok := r.Desks.BySlug(j.Scope)
	if !ok {
		return nil // the desk is gone: nothing to remind
	}
	ctx = tenancy.WithTenant(ctx, desk.ID)
	due, err := r.due(ctx, p.About)
	if err != nil {
		return err
	}
	for _, d := range due {
		if d.RequestID.String() != p.RequestID || d.Rank != p.Rank || !d.Deadline.Equal(p.Deadline) {
			continue
		}
		if p.About == "answer" {
			if d.LocationMail == "" {
				return nil
			}
			lang := desk.DefaultLanguage()
			return r.Mailer.Send(ctx, "answer_reminder", lang, d.LocationMail, Data{DeskName: desk.DisplayName(lang),
				LocationName: d.LocationName, InboxURL: r.Mailer.InboxURL(), Deadline: r.Mailer.FormatDeadline(d.Deadline, lang)})
		}
		if d.ParentEmail == "" {
			return nil
		}
		c, err := r.Requests.Case(ctx, d.RequestID)
		if err != nil {
			return err
		}
		return r.Mailer.Send(ctx, "offer_reminder", d.Language, d.ParentEmail, Data{DeskName: desk.DisplayName(d.Language),
			ChildFirstName: c.Child.FirstName, LocationName: d.LocationName, StatusURL: d.StatusURL,
			Deadline: r.Mailer.FormatDeadline(d.Deadline, d.Language)})
	}
	return nil // answered, accepted or past meanwhile
}
