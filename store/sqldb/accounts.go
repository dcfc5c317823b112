package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

const userColumns = `id, name, password_hash, created_at, updated_at, last_login_at`

func scanUser(row interface{ Scan(...any) error }) (*vend.User, error) {
	var u vend.User
	var created, updated, login int64
	if err := row.Scan(&u.ID, &u.Name, &u.PasswordHash, &created, &updated, &login); err != nil {
		return nil, err
	}
	u.CreatedAt, u.UpdatedAt, u.LastLoginAt = fromMS(created), fromMS(updated), fromMS(login)
	return &u, nil
}

func (tx *Tx) CreateUser(ctx context.Context, u *vend.User) error {
	u.CreatedAt, u.UpdatedAt = tx.now, tx.now
	err := tx.queryRow(ctx, `
		INSERT INTO users (name, password_hash, created_at, updated_at, last_login_at) VALUES ($1, $2, $3, $3, $4)
		ON CONFLICT (name) DO NOTHING RETURNING id`, u.Name, u.PasswordHash, ms(tx.now), ms(u.LastLoginAt)).Scan(&u.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return vend.Errorf(vend.ECONFLICT, "There is a user %q already.", u.Name)
	} else if err != nil {
		return fmt.Errorf("create user %s: %w", u.Name, err)
	}
	return nil
}

func (tx *Tx) UpdateUser(ctx context.Context, u *vend.User) error {
	u.UpdatedAt = tx.now
	res, err := tx.exec(ctx, `UPDATE users SET password_hash = $1, updated_at = $2, last_login_at = $3 WHERE id = $4`,
		u.PasswordHash, ms(u.UpdatedAt), ms(u.LastLoginAt), u.ID)
	return updated(res, err, "user", u.ID)
}

func (tx *Tx) FindUserByID(ctx context.Context, id int64) (*vend.User, error) {
	u, err := scanUser(tx.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "user", id)
	}
	return u, nil
}

func (tx *Tx) FindUserByName(ctx context.Context, name string) (*vend.User, error) {
	u, err := scanUser(tx.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE name = $1`, name))
	if err != nil {
		return nil, notFound(err, "user", name)
	}
	return u, nil
}

func (tx *Tx) FindUsers(ctx context.Context) ([]*vend.User, error) {
	rows, err := tx.query(ctx, `SELECT `+userColumns+` FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("find users: %w", err)
	}
	defer rows.Close()
	var out []*vend.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("scan user: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

func (tx *Tx) CreateAdminSession(ctx context.Context, s *vend.AdminSession) error {
	s.CreatedAt = tx.now
	_, err := tx.exec(ctx, `INSERT INTO admin_sessions (hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		s.Hash, s.UserID, ms(s.CreatedAt), ms(s.ExpiresAt))
	if err != nil {
		return fmt.Errorf("create admin session: %w", err)
	}
	return nil
}

func (tx *Tx) FindAdminSession(ctx context.Context, hash string) (*vend.AdminSession, error) {
	var s vend.AdminSession
	var created, expires int64
	err := tx.queryRow(ctx, `SELECT hash, user_id, created_at, expires_at FROM admin_sessions WHERE hash = $1 AND expires_at > $2`,
		hash, ms(tx.now)).Scan(&s.Hash, &s.UserID, &created, &expires)
	if err != nil {
		return nil, notFound(err, "session", "")
	}
	s.CreatedAt, s.ExpiresAt = fromMS(created), fromMS(expires)
	return &s, nil
}

func (tx *Tx) DeleteAdminSession(ctx context.Context, hash string) error {
	// Expired sessions go with it: nothing else ever removes them.
	if _, err := tx.exec(ctx, `DELETE FROM admin_sessions WHERE hash = $1 OR expires_at <= $2`, hash, ms(tx.now)); err != nil {
		return fmt.Errorf("delete admin session: %w", err)
	}
	return nil
}

func (tx *Tx) DeleteUser(ctx context.Context, id int64) error {
	for _, table := range []string{"admin_sessions", "api_tokens"} {
		if _, err := tx.exec(ctx, `DELETE FROM `+table+` WHERE user_id = $1`, id); err != nil {
			return fmt.Errorf("delete %s of user %d: %w", table, id, err)
		}
	}
	res, err := tx.exec(ctx, `DELETE FROM users WHERE id = $1`, id)
	return updated(res, err, "user", id)
}

func (tx *Tx) DeleteUserSessions(ctx context.Context, userID int64) error {
	if _, err := tx.exec(ctx, `DELETE FROM admin_sessions WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("delete sessions of user %d: %w", userID, err)
	}
	return nil
}

const tokenColumns = `id, name, user_id, hash, created_at, last_used_at`

func scanToken(row interface{ Scan(...any) error }) (*vend.APIToken, error) {
	var t vend.APIToken
	var created, used int64
	if err := row.Scan(&t.ID, &t.Name, &t.UserID, &t.Hash, &created, &used); err != nil {
		return nil, err
	}
	t.CreatedAt, t.LastUsedAt = fromMS(created), fromMS(used)
	return &t, nil
}

func (tx *Tx) CreateAPIToken(ctx context.Context, t *vend.APIToken) error {
	t.CreatedAt = tx.now
	err := tx.queryRow(ctx, `INSERT INTO api_tokens (name, user_id, hash, created_at, last_used_at) VALUES ($1, $2, $3, $4, 0) RETURNING id`,
		t.Name, t.UserID, t.Hash, ms(t.CreatedAt)).Scan(&t.ID)
	if err != nil {
		return fmt.Errorf("create API token %s: %w", t.Name, err)
	}
	return nil
}

func (tx *Tx) FindAPITokenByHash(ctx context.Context, hash string) (*vend.APIToken, error) {
	t, err := scanToken(tx.queryRow(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE hash = $1`, hash))
	if err != nil {
		return nil, notFound(err, "API token", "")
	}
	return t, nil
}

func (tx *Tx) FindAPITokens(ctx context.Context) ([]*vend.APIToken, error) {
	rows, err := tx.query(ctx, `SELECT `+tokenColumns+` FROM api_tokens ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("find API tokens: %w", err)
	}
	defer rows.Close()
	var out []*vend.APIToken
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("scan API token: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func (tx *Tx) DeleteAPIToken(ctx context.Context, id int64) error {
	res, err := tx.exec(ctx, `DELETE FROM api_tokens WHERE id = $1`, id)
	return updated(res, err, "API token", id)
}

func (tx *Tx) TouchAPIToken(ctx context.Context, id int64) error {
	res, err := tx.exec(ctx, `UPDATE api_tokens SET last_used_at = $1 WHERE id = $2`, ms(tx.now), id)
	return updated(res, err, "API token", id)
}

func (tx *Tx) CreateAuditEntry(ctx context.Context, e *vend.AuditEntry) error {
	e.At = tx.now
	err := tx.queryRow(ctx, `INSERT INTO audit (at, actor, action, target, before, after) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		ms(e.At), e.Actor, e.Action, e.Target, e.Before, e.After).Scan(&e.ID)
	if err != nil {
		return fmt.Errorf("create audit entry: %w", err)
	}
	return nil
}

func (tx *Tx) FindAuditEntries(ctx context.Context, f store.AuditFilter) ([]*vend.AuditEntry, error) {
	q, args := `SELECT id, at, actor, action, target, before, after FROM audit`, []any{}
	if f.Target != "" {
		q, args = q+` WHERE target = $1`, append(args, f.Target)
	}
	args = append(args, limit(f.Limit, 100))
	q += fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args))
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("find audit entries: %w", err)
	}
	defer rows.Close()
	var out []*vend.AuditEntry
	for rows.Next() {
		var e vend.AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &e.Before, &e.After); err != nil {
			return nil, fmt.Errorf("scan audit entry: %w", err)
		}
		e.At = fromMS(at)
		out = append(out, &e)
	}
	return out, rows.Err()
}
