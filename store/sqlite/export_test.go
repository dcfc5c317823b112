package sqlite

import (
	"context"
	"database/sql"
)

// Pragma reads a PRAGMA on one connection of the write pool, or of the read pool,
// as the store's own connections see it (some pragmas are per connection).
func (db *DB) Pragma(ctx context.Context, name string, read bool) (string, error) {
	pool := db.write
	if read {
		pool = db.read
	}
	var v sql.NullString
	err := pool.QueryRowContext(ctx, "PRAGMA "+name).Scan(&v)
	return v.String, err
}

// OnlyLog reports whether a batch of jobs, UpdateLog's where logs says so,
// leaves the generation alone.
func OnlyLog(logs ...bool) bool {
	batch := make([]*job, len(logs))
	for i, l := range logs {
		batch[i] = &job{log: l}
	}
	return onlyLog(batch)
}
