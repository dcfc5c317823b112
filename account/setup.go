package account

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// SetupLinkLifetime is how long the first-user setup link printed by vend
// serve works.
const SetupLinkLifetime = 24 * time.Hour

// The settings of the setup: one per unexpired link, and the marker that the
// first user was set up.
const (
	setupSettingPrefix = "admin_setup:" // + sha256 of the token → expiry (Unix ms)
	setupDoneSetting   = "admin_setup_done"
)

// ErrSetupLink refuses a setup link that does not (or no longer) work.
var ErrSetupLink = vend.Errorf(vend.EFORBIDDEN, "This setup link does not work: it was used already, it has expired, "+
	"or there is an administrator already. Sign in, or create a user with vend user add NAME "+
	"(while there is no user, a restart of vend serve prints a new link).")

// SetupToken makes the one-time token of the setup link (/admin/setup?token=…)
// that creates the first administrator, if there is none yet; else it returns
// "". Only the token's hash is stored, with its expiry (SetupLinkLifetime).
// Every call makes a new token, and every unexpired one works, but only once
// and only while there is no user: creating the first user also stores a
// marker (admin_setup_done) that no second setup can get past, also when two
// run at once on two instances.
func SetupToken(ctx context.Context, db store.DB) (string, error) {
	token := NewToken()
	made := false
	err := db.Update(ctx, func(tx store.Tx) error {
		if open, err := setupOpen(ctx, tx); err != nil || !open {
			return err
		}
		expires := strconv.FormatInt(tx.Now().Add(SetupLinkLifetime).UnixMilli(), 10)
		var err error
		made, err = tx.CreateSetting(ctx, setupSettingPrefix+TokenHash(token), expires)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("account: setup token: %w", err)
	}
	if !made {
		return "", nil
	}
	return token, nil
}

// CheckSetupToken returns ErrSetupLink unless token is the token of an
// unexpired setup link and the setup is open.
func CheckSetupToken(ctx context.Context, db store.DB, token string) error {
	return db.View(ctx, func(tx store.Tx) error { return checkSetupToken(ctx, tx, token) })
}

// Setup creates u, made by NewUser, as the first administrator with the setup
// link's token, and uses the link up.
func Setup(ctx context.Context, db store.DB, token string, u *vend.User) error {
	return db.Update(ctx, func(tx store.Tx) error {
		if err := checkSetupToken(ctx, tx, token); err != nil {
			return err
		}
		// The marker makes this the only setup ever: a second one, here or on
		// another instance at the same moment, finds it (or waits for it).
		if ok, err := tx.CreateSetting(ctx, setupDoneSetting, tx.Now().UTC().Format(time.RFC3339)); err != nil {
			return fmt.Errorf("account: setup: %w", err)
		} else if !ok {
			return ErrSetupLink
		}
		return CreateUser(ctx, tx, u, "setup")
	})
}

// setupOpen reports whether the first user can still be set up: there is no
// user, and no setup has happened.
func setupOpen(ctx context.Context, tx store.Tx) (bool, error) {
	users, err := tx.FindUsers(ctx)
	if err != nil || len(users) > 0 {
		return false, err
	}
	_, err = tx.FindSetting(ctx, setupDoneSetting)
	if vend.ErrorCode(err) == vend.ENOTFOUND {
		return true, nil
	}
	return false, err
}

func checkSetupToken(ctx context.Context, tx store.Tx, token string) error {
	if token == "" {
		return ErrSetupLink
	}
	v, err := tx.FindSetting(ctx, setupSettingPrefix+TokenHash(token))
	if vend.ErrorCode(err) == vend.ENOTFOUND {
		return ErrSetupLink
	} else if err != nil {
		return err
	}
	expires, err := strconv.ParseInt(v, 10, 64)
	if err != nil || !tx.Now().Before(time.UnixMilli(expires)) {
		return ErrSetupLink
	}
	if open, err := setupOpen(ctx, tx); err != nil {
		return err
	} else if !open {
		return ErrSetupLink
	}
	return nil
}
