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
