package requests

import (
	"context"
)

// SubmitBatch registers subs (with their idempotency keys) in one batch,
// the way the writer groups registrations under load, and answers each like
// Submit. spoil may change a registration's family before the write, to make
// one registration fail inside the batch.
func SubmitBatch(s *Service, ctx context.Context, subs []Submission, keys []string, spoil func(i int, fam *Family)) ([]*Request, []bool, []error) {
	desk, err := s.desk(ctx)
	if err != nil {
		panic(err)
	}
	var regs []*registration
	for i, sub := range subs {
		ck, es := s.shape(ctx, sub, false)
		if len(es) > 0 {
			panic(es)
		}
		key, print := s.idempotency(Actor{Kind: ActorParent}, keys[i], sub)
		reg := s.newRegistration(ctx, desk, sub, ck, Actor{Kind: ActorParent}, key, print)
		if spoil != nil {
			spoil(i, reg.rows.fam)
		}
		regs = append(regs, reg)
	}
	s.storeBatch(ctx, regs)
	reqs, replayed, errs := make([]*Request, len(regs)), make([]bool, len(regs)), make([]error, len(regs))
	for i, reg := range regs {
		reqs[i], _, replayed[i], errs[i] = s.outcome(ctx, desk, reg)
	}
	return reqs, replayed, errs
}
