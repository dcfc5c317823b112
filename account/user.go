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

// DeleteUser deletes the administrator name, with its browser sessions and API
// tokens, and records it in the audit trail. The last administrator is never
// deleted: without one, only the CLI (vend user add) could open the admin again.
func DeleteUser(ctx context.Context, tx store.Tx, name, actor string) (*vend.User, error) {
	u, err := tx.FindUserByName(ctx, name)
	if err != nil {
		return nil, err
	}
	users, err := tx.FindUsers(ctx)
	if err != nil {
		return nil, fmt.Errorf("account: delete user %s: %w", name, err)
	}
	if len(users) <= 1 {
		return nil, vend.Errorf(vend.ECONFLICT, "%s is the last administrator: add another one first.", u.Name)
	}
	tokens, err := tx.FindAPITokens(ctx)
	if err != nil {
		return nil, fmt.Errorf("account: delete user %s: %w", name, err)
	}
	var ended []string
	for _, t := range tokens {
		if t.UserID == u.ID {
			ended = append(ended, t.Name)
		}
	}
	if err := tx.DeleteUser(ctx, u.ID); err != nil {
		return nil, fmt.Errorf("account: delete user %s: %w", name, err)
	}
	before := map[string]any{"name": u.Name, "created_at": u.CreatedAt, "api_tokens": ended}
	return u, store.RecordAudit(ctx, tx, actor, "user.delete", vend.UserTarget(u.ID), before, nil)
}
