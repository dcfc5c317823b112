package sqldb

import (
	"context"
	"fmt"
)

func (tx *Tx) FindSetting(ctx context.Context, name string) (string, error) {
	var v string
	if err := tx.queryRow(ctx, `SELECT value FROM settings WHERE name = $1`, name).Scan(&v); err != nil {
		return "", notFound(err, "setting", name)
	}
	return v, nil
}

func (tx *Tx) CreateSetting(ctx context.Context, name, value string) (bool, error) {
	res, err := tx.exec(ctx, `INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, value)
	if err != nil {
		return false, fmt.Errorf("create setting %s: %w", name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("create setting %s: %w", name, err)
	}
	return n == 1, nil
}

func (tx *Tx) PutSetting(ctx context.Context, name, value string) error {
	if _, err := tx.exec(ctx, `INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
		name, value); err != nil {
		return fmt.Errorf("put setting %s: %w", name, err)
	}
	return nil
}
