package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// licenseColumns read a key with its active instances counted.
const licenseColumns = `l.id, l.grant_id, l.order_id, l.item_id, l.product_id, l.unit, l.license_key, l.activation_limit, l.disabled,
	l.expires_at, l.created_at, l.updated_at,
	(SELECT count(*) FROM license_instances i WHERE i.license_id = l.id AND i.deactivated_at = 0)`

func scanLicense(row interface{ Scan(...any) error }) (*vend.License, error) {
	var l vend.License
	var expires, created, updated int64
	if err := row.Scan(&l.ID, &l.GrantID, &l.OrderID, &l.ItemID, &l.ProductID, &l.Unit, &l.Key, &l.ActivationLimit, &l.Disabled,
		&expires, &created, &updated, &l.Activations); err != nil {
		return nil, err
	}
	l.ExpiresAt, l.CreatedAt, l.UpdatedAt = fromMS(expires), fromMS(created), fromMS(updated)
	return &l, nil
}

func (tx *Tx) CreateLicense(ctx context.Context, l *vend.License, keyHash string) error {
	l.CreatedAt, l.UpdatedAt = tx.now, tx.now
	err := tx.queryRow(ctx, `
		INSERT INTO licenses (grant_id, order_id, item_id, product_id, unit, license_key, key_hash, activation_limit, disabled,
			expires_at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING RETURNING id`,
		l.GrantID, l.OrderID, l.ItemID, l.ProductID, l.Unit, l.Key, keyHash, l.ActivationLimit, l.Disabled, ms(l.ExpiresAt),
		ms(l.CreatedAt), ms(l.UpdatedAt)).Scan(&l.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return vend.Errorf(vend.ECONFLICT, "Item %d has its key %d already, or the key is taken.", l.ItemID, l.Unit+1)
	} else if err != nil {
		return fmt.Errorf("create licence for item %d: %w", l.ItemID, err)
	}
	return nil
}

func (tx *Tx) UpdateLicense(ctx context.Context, l *vend.License) error {
	l.UpdatedAt = tx.now
	res, err := tx.exec(ctx, `UPDATE licenses SET disabled = $1, activation_limit = $2, expires_at = $3, updated_at = $4 WHERE id = $5`,
		l.Disabled, l.ActivationLimit, ms(l.ExpiresAt), ms(l.UpdatedAt), l.ID)
	return updated(res, err, "licence", l.ID)
}

func (tx *Tx) FindLicenseByHash(ctx context.Context, keyHash string) (*vend.License, error) {
	l, err := scanLicense(tx.queryRow(ctx, `SELECT `+licenseColumns+` FROM licenses l WHERE l.key_hash = $1`, keyHash))
	if err != nil {
		return nil, notFound(err, "licence", "key")
	}
	return l, nil
}

func (tx *Tx) FindLicenseByID(ctx context.Context, id int64) (*vend.License, error) {
	l, err := scanLicense(tx.queryRow(ctx, `SELECT `+licenseColumns+` FROM licenses l WHERE l.id = $1`, id))
	if err != nil {
		return nil, notFound(err, "licence", id)
	}
	return l, nil
}

func (tx *Tx) FindLicenses(ctx context.Context, f store.LicenseFilter) ([]*vend.License, error) {
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	var where []string
	if f.OrderID != nil {
		where = append(where, "l.order_id = "+arg(*f.OrderID))
	}
	if f.GrantID != nil {
		where = append(where, "l.grant_id = "+arg(*f.GrantID))
	}
	if f.ProductID != nil {
		where = append(where, "l.product_id = "+arg(*f.ProductID))
	}
	if f.Before > 0 {
		where = append(where, "l.id < "+arg(f.Before))
	}
	q := `SELECT ` + licenseColumns + ` FROM licenses l`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY l.id DESC LIMIT ` + arg(limit(f.Limit, 100))
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("find licences: %w", err)
	}
	defer rows.Close()
	var out []*vend.License
	for rows.Next() {
		l, err := scanLicense(rows)
		if err != nil {
			return nil, fmt.Errorf("scan licence: %w", err)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

func (tx *Tx) LockLicense(ctx context.Context, id int64) error {
	if !tx.postgres {
		return nil // SQLite: every write transaction already holds the one write lock
	}
	var got int64
	if err := tx.queryRow(ctx, `SELECT id FROM licenses WHERE id = $1 FOR UPDATE`, id).Scan(&got); err != nil {
		return notFound(err, "licence", id)
	}
	return nil
}

const instanceColumns = `id, license_id, instance_id, name, ip, created_at, deactivated_at`

func (tx *Tx) CreateInstance(ctx context.Context, in *vend.LicenseInstance) error {
	in.CreatedAt = tx.now
	err := tx.queryRow(ctx, `
		INSERT INTO license_instances (license_id, instance_id, name, ip, created_at, deactivated_at)
		VALUES ($1, $2, $3, $4, $5, 0) RETURNING id`,
		in.LicenseID, in.InstanceID, in.Name, in.IP, ms(in.CreatedAt)).Scan(&in.ID)
	if err != nil {
		return fmt.Errorf("create instance of licence %d: %w", in.LicenseID, err)
	}
	return nil
}

func (tx *Tx) FindInstances(ctx context.Context, licenseID int64, all bool) ([]*vend.LicenseInstance, error) {
	q := `SELECT ` + instanceColumns + ` FROM license_instances WHERE license_id = $1`
	if !all {
		q += ` AND deactivated_at = 0`
	}
	rows, err := tx.query(ctx, q+` ORDER BY id`, licenseID)
	if err != nil {
		return nil, fmt.Errorf("find instances of licence %d: %w", licenseID, err)
	}
	defer rows.Close()
	var out []*vend.LicenseInstance
	for rows.Next() {
		var in vend.LicenseInstance
		var created, deactivated int64
		if err := rows.Scan(&in.ID, &in.LicenseID, &in.InstanceID, &in.Name, &in.IP, &created, &deactivated); err != nil {
			return nil, fmt.Errorf("scan instance: %w", err)
		}
		in.CreatedAt, in.DeactivatedAt = fromMS(created), fromMS(deactivated)
		out = append(out, &in)
	}
	return out, rows.Err()
}

func (tx *Tx) DeactivateInstance(ctx context.Context, licenseID int64, instanceID string) error {
	res, err := tx.exec(ctx, `UPDATE license_instances SET deactivated_at = $1 WHERE license_id = $2 AND instance_id = $3 AND deactivated_at = 0`,
		ms(tx.now), licenseID, instanceID)
	if err != nil {
		return fmt.Errorf("deactivate instance of licence %d: %w", licenseID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("deactivate instance of licence %d: %w", licenseID, err)
	} else if n == 0 {
		return vend.Errorf(vend.ENOTFOUND, "No active instance %q of this licence key.", instanceID)
	}
	return nil
}

func (tx *Tx) AddPoolKeys(ctx context.Context, productID string, keys []string) (int, error) {
	added := 0
	for _, key := range keys {
		norm, ok := vend.NormalizeKey(key)
		if !ok {
			return added, vend.Errorf(vend.EINVALID, "%q is not a licence key.", key)
		}
		hash := vend.KeyHash(norm)
		var issued int
		if err := tx.queryRow(ctx, `SELECT count(*) FROM licenses WHERE key_hash = $1`, hash).Scan(&issued); err != nil {
			return added, fmt.Errorf("add keys to %s: %w", productID, err)
		}
		if issued > 0 {
			continue
		}
		res, err := tx.exec(ctx, `INSERT INTO license_pool (product_id, license_key, key_hash, created_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT DO NOTHING`, productID, key, hash, ms(tx.now))
		if err != nil {
			return added, fmt.Errorf("add keys to %s: %w", productID, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return added, err
		} else if n > 0 {
			added++
		}
	}
	return added, nil
}

func (tx *Tx) ClaimPoolKey(ctx context.Context, productID string) (string, error) {
	// PostgreSQL: another instance's claim in flight is skipped, not waited
	// for; SQLite has one writer at a time anyway.
	lock := ""
	if tx.postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	var key string
	err := tx.queryRow(ctx, `DELETE FROM license_pool WHERE id = (SELECT id FROM license_pool WHERE product_id = $1
		ORDER BY id LIMIT 1`+lock+`) RETURNING license_key`, productID).Scan(&key)
	if errors.Is(err, sql.ErrNoRows) {
		return "", vend.Errorf(vend.ENOTFOUND, "No unused licence keys of %s.", productID)
	} else if err != nil {
		return "", fmt.Errorf("claim a key of %s: %w", productID, err)
	}
	return key, nil
}

func (tx *Tx) CountPoolKeys(ctx context.Context, productID string) (int, error) {
	var n int
	if err := tx.queryRow(ctx, `SELECT count(*) FROM license_pool WHERE product_id = $1`, productID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count keys of %s: %w", productID, err)
	}
	return n, nil
}

func (tx *Tx) SetWaiting(ctx context.Context, g *vend.Grant, n int) error {
	var err error
	if n <= 0 {
		_, err = tx.exec(ctx, `DELETE FROM license_waits WHERE item_id = $1`, g.ItemID)
	} else {
		_, err = tx.exec(ctx, `INSERT INTO license_waits (item_id, grant_id, product_id, waiting, created_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (item_id) DO UPDATE SET waiting = excluded.waiting`, g.ItemID, g.ID, g.ProductID, n, ms(tx.now))
	}
	if err != nil {
		return fmt.Errorf("keys waiting for item %d: %w", g.ItemID, err)
	}
	return nil
}

func (tx *Tx) KeysWaiting(ctx context.Context, itemID int64) (int, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT waiting FROM license_waits WHERE item_id = $1`, itemID).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("keys waiting for item %d: %w", itemID, err)
	}
	return n, nil
}

func (tx *Tx) FindWaitingItems(ctx context.Context, productID string, n int) ([]store.WaitingItem, error) {
	args := []any{vend.GrantActive}
	where := ""
	if productID != "" {
		args = append(args, productID)
		where = " AND w.product_id = $2"
	}
	args = append(args, limit(n, 100))
	rows, err := tx.query(ctx, `
		SELECT i.id, i.order_id, i.product_id, i.quantity, g.id, w.waiting, (SELECT count(*) FROM licenses l WHERE l.item_id = i.id)
		FROM license_waits w
		JOIN items i ON i.id = w.item_id
		JOIN grants g ON g.id = w.grant_id AND g.state = $1
		WHERE TRUE`+where+`
		ORDER BY w.item_id LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("find items waiting for keys: %w", err)
	}
	defer rows.Close()
	var out []store.WaitingItem
	for rows.Next() {
		w := store.WaitingItem{Item: &vend.Item{}, Grant: &vend.Grant{}}
		if err := rows.Scan(&w.Item.ID, &w.Item.OrderID, &w.Item.ProductID, &w.Item.Quantity, &w.Grant.ID, &w.Waiting, &w.Have); err != nil {
			return nil, fmt.Errorf("scan waiting item: %w", err)
		}
		w.Grant.ItemID, w.Grant.OrderID, w.Grant.ProductID = w.Item.ID, w.Item.OrderID, w.Item.ProductID
		out = append(out, w)
	}
	return out, rows.Err()
}
