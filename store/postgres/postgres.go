// Package postgres is vend's shared store: one PostgreSQL database that several
// vend instances use at once. It runs the same SQL as SQLite (store/sqldb) and its
// own migrations, under an advisory lock so instances starting together migrate
// once.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
	"github.com/vend-shop/vend/store/sqldb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is the PostgreSQL store.
type DB struct {
	URL string
	Now func() time.Time
	// ObserveCommit, when set, is told how long each write commit took (a
	// metric).
	ObserveCommit func(time.Duration)
	// MaxConns bounds the connection pool; DefaultMaxConns when zero.
	MaxConns int

	db *sql.DB
}

// DefaultMaxConns is the pool size of one instance.
const DefaultMaxConns = 32

var _ store.DB = (*DB)(nil)

// NewDB returns a DB for the postgres:// URL; call Open before use.
func NewDB(url string) *DB { return &DB{URL: url, Now: time.Now} }

// Open connects and runs the migrations.
func (db *DB) Open(ctx context.Context) error {
	var err error
	// pgx's errors quote what it made of the URL: the user, the host, the
	// database, which are pieces of the password when it was not encoded.
	if db.db, err = sql.Open("pgx", db.URL); err != nil {
		return fmt.Errorf("postgres: open: %w", vend.RedactError(err, db.URL))
	}
	n := db.MaxConns
	if n <= 0 {
		n = DefaultMaxConns
	}
	db.db.SetMaxOpenConns(n)
	db.db.SetMaxIdleConns(n)
	db.db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.db.PingContext(ctx); err != nil {
		db.db.Close()
		return fmt.Errorf("postgres: connect: %w", vend.RedactError(err, db.URL))
	}
	if err := db.Migrate(ctx); err != nil {
		db.db.Close()
		return err
	}
	return nil
}

// Migrate brings the schema up to date. Instances that start at once wait for
// each other on a session advisory lock, and the later ones find nothing to do.
func (db *DB) Migrate(ctx context.Context) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	// One lock per schema: deployments (and tests) in other schemas of the same
	// database migrate independently. Waiters retry every second, for up to 5 min.
	var schema string
	if err := db.db.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return fmt.Errorf("postgres: current schema: %w", err)
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(lockID(schema)), lock.WithLockTimeout(1, 300))
	if err != nil {
		return fmt.Errorf("postgres: migrations lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db.db, fsys, goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	return nil
}

// lockID derives the migration lock of a schema.
func lockID(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("vend/migrate/" + schema))
	return int64(h.Sum64() >> 1)
}

// Close closes the pool.
func (db *DB) Close() error {
	if db.db == nil {
		return nil
	}
	return db.db.Close()
}

// maxAttempts bounds how often Update runs fn when concurrent transactions
// conflict.
const maxAttempts = 5

// Update runs fn in one transaction. When it conflicts with a concurrent one — two
// instances creating the same order, a deadlock, a serialization failure — it is
// rolled back and run again, so fn must be safe to run more than once (every fn in
// vend computes from what it reads in the transaction).
func (db *DB) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	var err error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		if err = db.run(ctx, false, fn); err == nil || !retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt) * 5 * time.Millisecond):
		}
	}
	return err
}

// View runs fn in a read-only transaction that sees one snapshot, as SQLite's
// do: its statements agree with each other even when writes commit between
// them (the counters read a window's first day, then its rows). A read-only
// transaction at REPEATABLE READ never fails to serialize.
func (db *DB) View(ctx context.Context, fn func(tx store.Tx) error) error {
	return db.run(ctx, true, fn)
}

func (db *DB) run(ctx context.Context, readOnly bool, fn func(tx store.Tx) error) error {
	opts := &sql.TxOptions{ReadOnly: readOnly}
	if readOnly {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := db.db.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit; also when fn panics
	if err := fn(sqldb.NewTx(tx, db.Now(), nil).ForPostgres()); err != nil {
		return err
	}
	start := time.Now()
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("postgres: commit: %w", err)
	}
	if !readOnly && db.ObserveCommit != nil {
		db.ObserveCommit(time.Since(start))
	}
	return nil
}

// retryable reports whether err is a conflict with a concurrent transaction.
func retryable(err error) bool {
	var pg *pgconn.PgError
	if !errors.As(err, &pg) {
		return false
	}
	switch pg.Code {
	case "40001", // serialization_failure
		"40P01", // deadlock_detected
		"23505": // unique_violation: another instance created the same row first
		return true
	}
	return false
}
