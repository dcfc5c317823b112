package sqldb

import (
	"context"
	"fmt"
	"time"

	"github.com/vend-shop/vend"
)

const productColumns = `id, name, price, currency, download_limit, lifetime_seconds, archived, license_mode,
	license_activation_limit, license_length_seconds, license_key_format, license_low_stock, updates_for_seconds, renew_url,
	created_at, updated_at`

func scanProduct(row interface{ Scan(...any) error }) (*vend.Product, error) {
	var p vend.Product
	var lifetime, licenseLength, updatesFor, created, updated int64
	if err := row.Scan(&p.ID, &p.Name, &p.Price, &p.Currency, &p.DownloadLimit, &lifetime, &p.Archived, &p.License.Mode,
		&p.License.ActivationLimit, &licenseLength, &p.License.KeyFormat, &p.License.LowStock, &updatesFor, &p.RenewURL,
		&created, &updated); err != nil {
		return nil, err
	}
	p.Lifetime = time.Duration(lifetime) * time.Second
	p.License.Length = time.Duration(licenseLength) * time.Second
	p.UpdatesFor = time.Duration(updatesFor) * time.Second
	p.CreatedAt, p.UpdatedAt = fromMS(created), fromMS(updated)
	return &p, nil
}

func (tx *Tx) FindProductByID(ctx context.Context, id string) (*vend.Product, error) {
	p, err := tx.FindProductInfo(ctx, id)
	if err != nil {
		return nil, err
	}
	if p.Files, err = tx.findFiles(ctx, p.ID); err != nil {
		return nil, err
	}
	return p, nil
}

func (tx *Tx) FindProductInfo(ctx context.Context, id string) (*vend.Product, error) {
	p, err := scanProduct(tx.queryRow(ctx, `SELECT `+productColumns+` FROM products WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "product", id)
	}
	return p, nil
}

func (tx *Tx) FindProducts(ctx context.Context) ([]*vend.Product, error) {
	rows, err := tx.query(ctx, `SELECT `+productColumns+` FROM products ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("find products: %w", err)
	}
	defer rows.Close()
	var out []*vend.Product
	for rows.Next() {
		p, err := scanProduct(rows)
		if err != nil {
			return nil, fmt.Errorf("scan product: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find products: %w", err)
	}
	for _, p := range out {
		if p.Files, err = tx.findFiles(ctx, p.ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (tx *Tx) SaveProduct(ctx context.Context, p *vend.Product) error {
	if p.CreatedAt.IsZero() {
		p.CreatedAt = tx.now
	}
	p.UpdatedAt = tx.now
	_, err := tx.exec(ctx, `
		INSERT INTO products (`+productColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, price = excluded.price,
			currency = excluded.currency, download_limit = excluded.download_limit,
			lifetime_seconds = excluded.lifetime_seconds, license_mode = excluded.license_mode,
			license_activation_limit = excluded.license_activation_limit, license_length_seconds = excluded.license_length_seconds,
			license_key_format = excluded.license_key_format, license_low_stock = excluded.license_low_stock,
			updates_for_seconds = excluded.updates_for_seconds,
			renew_url = excluded.renew_url, updated_at = excluded.updated_at`,
		p.ID, p.Name, p.Price, p.Currency, p.DownloadLimit, int64(p.Lifetime/time.Second), p.Archived, p.License.Mode,
		licenseLimit(p.License.ActivationLimit), int64(p.License.Length/time.Second), p.License.KeyFormat, p.License.LowStock,
		int64(p.UpdatesFor/time.Second), p.RenewURL, ms(p.CreatedAt), ms(p.UpdatedAt))
	if err != nil {
		return fmt.Errorf("save product %s: %w", p.ID, err)
	}
	return nil
}

// licenseLimit stores a policy without a limit (licences off) as the
// default limit, 1, so turning licences on later starts from it.
func licenseLimit(n int) int {
	if n == 0 {
		return 1
	}
	return n
}

func (tx *Tx) SetProductArchived(ctx context.Context, id string, archived bool) error {
	var got string
	err := tx.queryRow(ctx, `UPDATE products SET archived = $1, updated_at = $2 WHERE id = $3 RETURNING id`, archived, ms(tx.now), id).Scan(&got)
	if err != nil {
		return notFound(err, "product", id)
	}
	return nil
}

const fileColumns = `id, product_id, name, blob_key, size, sha256, created_at, retired_at`

func scanFile(row interface{ Scan(...any) error }) (*vend.File, error) {
	var f vend.File
	var created, retired int64
	if err := row.Scan(&f.ID, &f.ProductID, &f.Name, &f.Key, &f.Size, &f.SHA256, &created, &retired); err != nil {
		return nil, err
	}
	f.CreatedAt, f.RetiredAt = fromMS(created), fromMS(retired)
	return &f, nil
}

func (tx *Tx) findFiles(ctx context.Context, productID string) ([]*vend.File, error) {
	return tx.queryFiles(ctx, "find files of "+productID, `WHERE product_id = $1 AND current ORDER BY position, id`, productID)
}

func (tx *Tx) FindFileVersions(ctx context.Context, productID string) ([]*vend.File, error) {
	return tx.queryFiles(ctx, "find file versions of "+productID, `WHERE product_id = $1 ORDER BY id DESC`, productID)
}

func (tx *Tx) FindFilesAt(ctx context.Context, productID string, at time.Time) ([]*vend.File, error) {
	return tx.queryFiles(ctx, "find files of "+productID+" at a time",
		`WHERE product_id = $1 AND created_at <= $2 AND (current OR retired_at > $2) ORDER BY position, id`, productID, ms(at))
}

// queryFiles scans the files a query's where and order clause selects.
func (tx *Tx) queryFiles(ctx context.Context, what, where string, args ...any) ([]*vend.File, error) {
	rows, err := tx.query(ctx, `SELECT `+fileColumns+` FROM files `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []*vend.File
	for rows.Next() {
		f, err := scanFile(rows)
		if err != nil {
			return nil, fmt.Errorf("scan file: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

func (tx *Tx) SetFiles(ctx context.Context, productID string, files []*vend.File) error {
	current, err := tx.findFiles(ctx, productID)
	if err != nil {
		return err
	}
	keep := map[int64]bool{}
	for pos, f := range files {
		f.ProductID = productID
		var match *vend.File
		for _, c := range current {
			if c.Name == f.Name && c.SHA256 == f.SHA256 && !keep[c.ID] {
				match = c
				break
			}
		}
		if match != nil {
			keep[match.ID] = true
			*f = *match
			if _, err := tx.exec(ctx, `UPDATE files SET position = $1 WHERE id = $2`, pos, f.ID); err != nil {
				return fmt.Errorf("reorder file %d: %w", f.ID, err)
			}
			continue
		}
		f.CreatedAt = tx.now
		err := tx.queryRow(ctx, `
			INSERT INTO files (product_id, name, blob_key, size, sha256, position, current, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
			productID, f.Name, f.Key, f.Size, f.SHA256, pos, true, ms(f.CreatedAt)).Scan(&f.ID)
		if err != nil {
			return fmt.Errorf("add file %s to %s: %w", f.Name, productID, err)
		}
		keep[f.ID] = true
	}
	for _, c := range current {
		if !keep[c.ID] {
			if _, err := tx.exec(ctx, `UPDATE files SET current = $1, retired_at = $2 WHERE id = $3`, false, ms(tx.now), c.ID); err != nil {
				return fmt.Errorf("retire file %d: %w", c.ID, err)
			}
		}
	}
	return nil
}

func (tx *Tx) FindFileByID(ctx context.Context, id int64) (*vend.File, error) {
	f, err := scanFile(tx.queryRow(ctx, `SELECT `+fileColumns+` FROM files WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "file", id)
	}
	return f, nil
}
