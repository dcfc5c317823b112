package sqldb

import (
	"context"
	"fmt"

	"github.com/vend-shop/vend"
)

const releaseColumns = `id, product_id, version, notify, reset, renewal, actor, status, total, done, cursor, created_at, updated_at`

func scanRelease(row interface{ Scan(...any) error }) (*vend.Release, error) {
	var r vend.Release
	var created, updated int64
	if err := row.Scan(&r.ID, &r.ProductID, &r.Version, &r.Notify, &r.Reset, &r.Renewal, &r.Actor, &r.Status, &r.Total, &r.Done, &r.Cursor,
		&created, &updated); err != nil {
		return nil, err
	}
	r.CreatedAt, r.UpdatedAt = fromMS(created), fromMS(updated)
	return &r, nil
}

func (tx *Tx) CreateRelease(ctx context.Context, r *vend.Release) error {
	r.CreatedAt, r.UpdatedAt = tx.now, tx.now
	err := tx.queryRow(ctx, `
		INSERT INTO releases (product_id, version, notify, reset, renewal, actor, status, total, done, cursor, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id`,
		r.ProductID, r.Version, r.Notify, r.Reset, r.Renewal, r.Actor, r.Status, r.Total, r.Done, r.Cursor, ms(tx.now)).Scan(&r.ID)
	if err != nil {
		return fmt.Errorf("create release of %s: %w", r.ProductID, err)
	}
	return nil
}

func (tx *Tx) LockRelease(ctx context.Context, id int64) error {
	if !tx.postgres {
		return nil // SQLite: every write transaction already holds the one write lock
	}
	var got int64
	if err := tx.queryRow(ctx, `SELECT id FROM releases WHERE id = $1 FOR UPDATE`, id).Scan(&got); err != nil {
		return notFound(err, "release", id)
	}
	return nil
}

func (tx *Tx) FindRelease(ctx context.Context, id int64) (*vend.Release, error) {
	r, err := scanRelease(tx.queryRow(ctx, `SELECT `+releaseColumns+` FROM releases WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "release", id)
	}
	return r, nil
}

func (tx *Tx) FindReleases(ctx context.Context, runningOnly bool, n int) ([]*vend.Release, error) {
	q, args := `SELECT `+releaseColumns+` FROM releases`, []any{}
	if runningOnly {
		q, args = q+` WHERE status = $1`, append(args, vend.ReleaseRunning)
	}
	args = append(args, limit(n, 100))
	q += fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args))
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("find releases: %w", err)
	}
	defer rows.Close()
	var out []*vend.Release
	for rows.Next() {
		r, err := scanRelease(rows)
		if err != nil {
			return nil, fmt.Errorf("scan release: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (tx *Tx) UpdateRelease(ctx context.Context, r *vend.Release) error {
	r.UpdatedAt = tx.now
	res, err := tx.exec(ctx, `UPDATE releases SET status = $1, total = $2, done = $3, cursor = $4, updated_at = $5 WHERE id = $6`,
		r.Status, r.Total, r.Done, r.Cursor, ms(r.UpdatedAt), r.ID)
	return updated(res, err, "release", r.ID)
}

func (tx *Tx) FindActiveGrants(ctx context.Context, productID string, after int64, n int) ([]*vend.Grant, error) {
	rows, err := tx.query(ctx, `SELECT `+grantColumns+` FROM grants WHERE product_id = $1 AND state = $2 AND id > $3 ORDER BY id LIMIT $4`,
		productID, vend.GrantActive, after, limit(n, 100))
	if err != nil {
		return nil, fmt.Errorf("find active grants of %s: %w", productID, err)
	}
	defer rows.Close()
	var out []*vend.Grant
	for rows.Next() {
		g, err := scanGrant(rows)
		if err != nil {
			return nil, fmt.Errorf("scan grant: %w", err)
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

func (tx *Tx) CountActiveGrants(ctx context.Context, productID string) (int, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT count(*) FROM grants WHERE product_id = $1 AND state = $2`, productID, vend.GrantActive).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count active grants of %s: %w", productID, err)
	}
	return n, nil
}
