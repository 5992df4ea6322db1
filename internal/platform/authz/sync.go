package authz

import (
	"context"
	"errors"
	"time"
)

// Reload loads the policy from the database now.
func (a *Authorizer) Reload(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.reloadLocked(ctx)
}

func (a *Authorizer) reloadLocked(ctx context.Context) error {
	start := time.Now()
	// Read the version before the rules: the rules are then at least that
	// new, and a change committed in between only causes one more reload.
	v, err := a.ad.Version(ctx)
	if err != nil {
		return err
	}
	st, err := loadState(ctx, a.ad, a.clock)
	if err != nil {
		return err
	}
	a.st.Store(st)
	a.loaded.Store(v)
	a.log.DebugContext(ctx, "authz: policy loaded", "version", v, "duration", time.Since(start))
	return nil
}

// Start follows policy changes made by other replicas until ctx ends or Stop
// is called: it subscribes to the cache channel (when there is a cache) and
// also reads the policy version every PollInterval, reloading when it
// changed. Pub/sub makes a change visible within milliseconds; polling bounds
// the delay by PollInterval when a message is lost or there is no Redis.
func (a *Authorizer) Start(ctx context.Context) error {
	a.startMu.Lock()
	defer a.startMu.Unlock()
	if a.done != nil {
		return errors.New("authz: already started")
	}
	ctx, a.cancel = context.WithCancel(ctx)
	a.done = make(chan struct{})
	// Subscribe before returning, so changes made after Start are announced.
	msgs, stop := a.subscribe(ctx)
	go a.run(ctx, msgs, stop)
	return nil
}

// Stop ends what Start began and waits for it.
func (a *Authorizer) Stop() {
	a.startMu.Lock()
	cancel, done := a.cancel, a.done
	a.startMu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}

func (a *Authorizer) subscribe(ctx context.Context) (<-chan []byte, func()) {
	if a.cache == nil {
		return nil, nil
	}
	msgs, stop, err := a.cache.Subscribe(ctx, a.channel)
	if err != nil {
		if ctx.Err() == nil {
			a.log.WarnContext(ctx, "authz: subscribe to policy changes failed; polling only for now", "error", err)
		}
		return nil, nil
	}
	return msgs, stop
}

func (a *Authorizer) run(ctx context.Context, msgs <-chan []byte, stop func()) {
	defer close(a.done)
	defer func() {
		if stop != nil {
			stop()
		}
	}()
	ticker := time.NewTicker(a.poll)
	defer ticker.Stop()
	var retry <-chan time.Time
	if a.cache != nil && msgs == nil {
		retry = time.After(resubscribeDelay)
	}
	failing := false
	check := func() {
		err := a.check(ctx)
		switch {
		case err != nil && !failing && ctx.Err() == nil:
			failing = true
			a.log.WarnContext(ctx, "authz: policy check failed; keeping the policy in memory", "error", err)
		case err == nil && failing:
			failing = false
			a.log.InfoContext(ctx, "authz: policy check works again")
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			check()
		case <-a.kick:
			check()
		case _, ok := <-msgs:
			if ok {
				ok = drain(msgs)
			}
			if !ok {
				// The subscription ended (the cache closed): poll, retry later.
				msgs, stop = nil, nil
				retry = time.After(resubscribeDelay)
			}
			check()
		case <-retry:
			retry = nil
			if msgs, stop = a.subscribe(ctx); msgs == nil {
				retry = time.After(resubscribeDelay)
			} else {
				// Changes announced while unsubscribed were lost: catch up.
				check()
			}
		}
	}
}

// drain empties msgs so a burst of changes causes one check; false when the
// channel is closed.
func drain(msgs <-chan []byte) bool {
	for {
		select {
		case _, ok := <-msgs:
			if !ok {
				return false
			}
		default:
			return true
		}
	}
}

// check reloads when the database holds another policy version.
func (a *Authorizer) check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := a.ad.Version(ctx)
	if err != nil {
		return err
	}
	if v == a.loaded.Load() {
		return nil
	}
	return a.Reload(ctx)
}
