package account

import (
	"context"
	"fmt"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// NewUser checks an administrator's name and password and returns the user to
// create, with the password hashed. Hashing takes 64 MiB and tens of
// milliseconds, so it happens here, before the transaction that creates the
// user (CreateUser), not in it.
func NewUser(name, password string) (*vend.User, error) {
	if err := vend.ValidateUserName(name); err != nil {
		return nil, err
	}
	if err := vend.ValidatePassword(password); err != nil {
		return nil, err
	}
	hash, err := vend.HashPassword(password)
	if err != nil {
		return nil, fmt.Errorf("account: hash the password of %s: %w", name, err)
	}
	return &vend.User{Name: name, PasswordHash: hash}, nil
}

// CreateUser stores u, made by NewUser, and records in the audit trail that
// actor ("cli", "setup") created it, in tx, so the two commit together.
func CreateUser(ctx context.Context, tx store.Tx, u *vend.User, actor string) error {
	if err := tx.CreateUser(ctx, u); err != nil {
		return fmt.Errorf("account: create user %s: %w", u.Name, err)
	}
	return store.RecordAudit(ctx, tx, actor, "user.create", vend.UserTarget(u.ID), nil, u)
}
