package sqldb

import (
	"context"
	"fmt"

	"github.com/vend-shop/vend"
)

const grantColumns = `id, item_id, order_id, product_id, public_id, state, reason, download_limit, downloads_used, expires_at,
	updates_until, created_at, updated_at`

func scanGrant(row interface{ Scan(...any) error }) (*vend.Grant, error) {
	var g vend.Grant
	var expires, updatesUntil, created, updated int64
	if err := row.Scan(&g.ID, &g.ItemID, &g.OrderID, &g.ProductID, &g.PublicID, &g.State, &g.Reason, &g.DownloadLimit,
		&g.DownloadsUsed, &expires, &updatesUntil, &created, &updated); err != nil {
		return nil, err
	}
	g.ExpiresAt, g.UpdatesUntil, g.CreatedAt, g.UpdatedAt = fromMS(expires), fromMS(updatesUntil), fromMS(created), fromMS(updated)
	return &g, nil
}

func (tx *Tx) CreateGrant(ctx context.Context, g *vend.Grant) error {
	g.CreatedAt, g.UpdatedAt = tx.now, tx.now
	err := tx.queryRow(ctx, `
		INSERT INTO grants (item_id, order_id, product_id, public_id, state, reason, download_limit, downloads_used, expires_at,
			updates_until, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
		g.ItemID, g.OrderID, g.ProductID, g.PublicID, g.State, g.Reason, g.DownloadLimit, g.DownloadsUsed, ms(g.ExpiresAt),
		ms(g.UpdatesUntil), ms(g.CreatedAt), ms(g.UpdatedAt)).Scan(&g.ID)
	if err != nil {
		return fmt.Errorf("create grant for item %d: %w", g.ItemID, err)
	}
	return nil
}

func (tx *Tx) UpdateGrant(ctx context.Context, g *vend.Grant) error {
	g.UpdatedAt = tx.now
	res, err := tx.exec(ctx, `
		UPDATE grants SET state = $1, reason = $2, download_limit = $3, downloads_used = $4, expires_at = $5, updates_until = $6,
			updated_at = $7 WHERE id = $8`,
		g.State, g.Reason, g.DownloadLimit, g.DownloadsUsed, ms(g.ExpiresAt), ms(g.UpdatesUntil), ms(g.UpdatedAt), g.ID)
	return updated(res, err, "grant", g.ID)
}

func (tx *Tx) FindGrantByID(ctx context.Context, id int64) (*vend.Grant, error) {
	g, err := scanGrant(tx.queryRow(ctx, `SELECT `+grantColumns+` FROM grants WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "grant", id)
	}
	return g, nil
}

func (tx *Tx) FindGrantByPublicID(ctx context.Context, publicID string) (*vend.Grant, error) {
	g, err := scanGrant(tx.queryRow(ctx, `SELECT `+grantColumns+` FROM grants WHERE public_id = $1`, publicID))
	if err != nil {
		return nil, notFound(err, "download", "link")
	}
	return g, nil
}

func (tx *Tx) FindGrantsByOrder(ctx context.Context, orderID int64) ([]*vend.Grant, error) {
	rows, err := tx.query(ctx, `SELECT `+grantColumns+` FROM grants WHERE order_id = $1 ORDER BY id`, orderID)
	if err != nil {
		return nil, fmt.Errorf("find grants of order %d: %w", orderID, err)
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

func (tx *Tx) LockGrant(ctx context.Context, grantID int64) error {
	if !tx.postgres {
		return nil // SQLite: every write transaction already holds the one write lock
	}
	var id int64
	err := tx.queryRow(ctx, `SELECT id FROM grants WHERE id = $1 FOR UPDATE`, grantID).Scan(&id)
	if err != nil {
		return notFound(err, "grant", grantID)
	}
	return nil
}

func (tx *Tx) AddDownloadsUsed(ctx context.Context, grantID int64, delta int) error {
	res, err := tx.exec(ctx, `UPDATE grants SET downloads_used = CASE WHEN downloads_used + $1 < 0 THEN 0 ELSE downloads_used + $1 END, updated_at = $2 WHERE id = $3`,
		delta, ms(tx.now), grantID)
	return updated(res, err, "grant", grantID)
}
