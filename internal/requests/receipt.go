package requests

import (
	"context"
	"crypto/rand"

	"fmt"
	"strings"

	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
)

// Short codes: eight characters of Crockford's base32 (no I, L, O or U, so
// nothing is misread on the phone), 40 random bits, shown as "K7QM-4TXA".
const shortAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

func newShortCode() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = shortAlphabet[int(b[i])%len(shortAlphabet)]
	}
	return string(b)
}

// FormatShortCode writes a code in two groups of four.
func FormatShortCode(code string) string {
	if len(code) != 8 {
		return code
	}
	return code[:4] + "-" + code[4:]
}

// NormaliseShortCode reads a code as a person types or says it: any case,
// with spaces or dashes, O for 0 and I or L for 1.
func NormaliseShortCode(s string) string {
	r := strings.NewReplacer("-", "", " ", "", "O", "0", "I", "1", "L", "1")
	return r.Replace(strings.ToUpper(strings.TrimSpace(s)))
}

// ShortCode returns the request's short code, giving it one the first time.
func (s *Service) ShortCode(ctx context.Context, id RequestID) (string, error) {
	var code string
	err := s.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		r, err := s.store.load(ctx, tx, id, false)
		if err != nil {
			return err
		}
		if r.ShortCode == "" {
			r.ShortCode = newShortCode()
			if err := s.updateRequest(ctx, tx, r, "short_code"); err != nil {
				return err
			}
		}
		code = r.ShortCode
		return nil
	})
	return code, err
}

// FindByShortCode is the request of the desk in ctx with that code
// (ErrNotFound when none).
func (s *Service) FindByShortCode(ctx context.Context, code string) (RequestID, error) {
	code = NormaliseShortCode(code)
	var id RequestID
	if len(code) != 8 {
		return id, ErrNotFound
	}
	var rs []Request
	err := s.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		return tx.Select(&rs).Column("id").Where("short_code = ?", code).Limit(2).Scan(ctx)
	})
	if err != nil {
		return id, fmt.Errorf("requests: find by short code: %w", err)
	}
	if len(rs) != 1 {
		return id, ErrNotFound
	}
	return rs[0].ID, nil
}
