package app

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"

	"github.com/loket-kinderopvang/loket/internal/account"
	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
)

// DemoPassword is the password of every demo account. Demo accounts exist
// only when LOKET_DEMO is on; never in production.
const DemoPassword = "demo-loket-2026"

// DemoAccount is one invented account of the demo, with its role.
type DemoAccount struct {
	Email, Name string
	Role        authz.Role
	Domain      string
	// TOTPSecret is set for roles that need a second factor: add it to a
	// code app (or compute codes with oathtool --totp -b SECRET).
	TOTPSecret string
}

// demoAccounts lists one account per role, in the demo desks and providers.
func (a *App) demoAccounts(ctx context.Context) ([]DemoAccount, error) {
	provider, location, err := a.Catalog.LargestProvider(ctx, catalog.DemoDossierPrefix)
	if err != nil {
		return nil, fmt.Errorf("demo accounts: %w", err)
	}
	return demoAccountList(provider.String(), location.String()), nil
}

// demoAccountList is the demo accounts, with the demo provider and location
// that two of them work for.
func demoAccountList(provider, location string) []DemoAccount {
	const at = "@demo.loket.example"
	return []DemoAccount{
		{"beheerder" + at, "Beheerder Demo", authz.Operator, authz.Platform, ""},
		{"coordinator.leuven" + at, "Coördinator Leuven (demo)", authz.DeskAdmin, authz.Desk("leuven"), ""},
		{"medewerker.leuven" + at, "Medewerker Leuven (demo)", authz.DeskWorker, authz.Desk("leuven"), ""},
		{"medewerker.kempen" + at, "Medewerker Geel-Laakdal-Meerhout (demo)", authz.DeskWorker, authz.Desk("geel-laakdal-meerhout"), ""},
		{"medewerker.turnhout" + at, "Medewerker Stadsregio Turnhout (demo)", authz.DeskWorker, authz.Desk("stadsregio-turnhout"), ""},
		{"partner.leuven" + at, "Huis van het Kind (demo)", authz.Partner, authz.Desk("leuven"), ""},
		{"aanbieder.beheer" + at, "Organisator (demo)", authz.ProviderAdmin, authz.Provider(provider), ""},
		{"aanbieder.medewerker" + at, "Kinderbegeleider (demo)", authz.ProviderStaff, authz.Location(location), ""},
		{"regio.turnhout" + at, "Regio-coördinator Kempen (demo)", authz.RegionalCoordinator, authz.Region("13000"), ""},
	}
}

// SeedDemoAccounts creates the demo accounts with their roles; a second run
// changes nothing. It returns the accounts, to be printed at start.
func (a *App) SeedDemoAccounts(ctx context.Context) ([]DemoAccount, error) {
	accounts, err := a.demoAccounts(ctx)
	if err != nil {
		return nil, err
	}
	svc := a.Users
	var hash string // one argon2id hash for all: hashing is slow on purpose
	for i, d := range accounts {
		u, err := svc.Store().ByEmail(ctx, d.Email)
		if errors.Is(err, account.ErrNotFound) {
			if hash == "" {
				if hash, err = svc.Hasher().Hash(ctx, DemoPassword); err != nil {
					return nil, err
				}
			}
			u = &account.User{Email: d.Email, DisplayName: d.Name, PasswordHash: hash, TOTPRequired: authz.RequiresSecondFactor(d.Role)}
			err = svc.Store().Create(ctx, u)
		}
		if err != nil {
			return nil, fmt.Errorf("demo account %s: %w", d.Email, err)
		}
		if authz.RequiresSecondFactor(d.Role) {
			// A fixed secret per demo account, so the printed one keeps working.
			sum := sha256.Sum256([]byte("loket-demo-totp:" + d.Email))
			accounts[i].TOTPSecret = base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:20])
			if u.TOTPSecret.String() != accounts[i].TOTPSecret {
				if err := svc.Store().SetTOTPSecret(ctx, u.ID, accounts[i].TOTPSecret); err != nil {
					return nil, err
				}
			}
		}
		if err := a.Authz.AssignRole(ctx, u.ID.String(), d.Role, d.Domain); err != nil {
			return nil, fmt.Errorf("demo account %s: %w", d.Email, err)
		}
	}
	return accounts, nil
}
