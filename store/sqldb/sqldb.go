// Package sqldb implements store.Tx over database/sql with SQL that both SQLite
// (modernc, which binds $1… like PostgreSQL) and PostgreSQL accept. The dialect
// packages open the database, run their migrations and wrap each *sql.Tx with NewTx.
//
// Each noun of store.Tx has a file of its own, named like its conformance tests
// in store/storetest (products.go, order.go, grant.go, downloads.go, …); this
// file holds only what they share: the Tx, its statements, scanning of times and
// the mapping of errors.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// Tx wraps a *sql.Tx. Its Now is fixed when it begins.
type Tx struct {
	tx       *sql.Tx
	now      time.Time
	stmts    *Stmts
	noCancel bool
	postgres bool
}

var _ store.Tx = (*Tx)(nil)

// NewTx wraps tx; now is the transaction's time. stmts, if not nil, must belong
// to the *sql.DB that began tx.
func NewTx(tx *sql.Tx, now time.Time, stmts *Stmts) *Tx {
	return &Tx{tx: tx, now: now.UTC().Truncate(time.Millisecond), stmts: stmts}
}

// Stmts caches the prepared statements of one *sql.DB. For SQLite, parsing a
// statement costs more than running a point query on it; database/sql keeps each
// statement prepared once per connection, and a transaction reuses it. The set of
// statement texts is fixed (limits are parameters), so the cache stays small.
//
// A statement is prepared after the transaction that first wanted it has ended:
// preparing needs a connection, and SQLite's write pool has exactly one, which
// that transaction holds.
type Stmts struct {
	db     *sql.DB
	m      sync.Map // query text → *sql.Stmt
	wanted sync.Map // query text → struct{}: to prepare once a connection is free
}

// NewStmts returns an empty cache for db.
func NewStmts(db *sql.DB) *Stmts { return &Stmts{db: db} }

// Prepare prepares the statements transactions asked for. Call it after a
// transaction on the cache's database has ended.
func (c *Stmts) Prepare(ctx context.Context) {
	if c == nil {
		return
	}
	c.wanted.Range(func(k, _ any) bool {
		c.wanted.Delete(k)
		query := k.(string)
		if _, ok := c.m.Load(query); ok {
			return true
		}
		st, err := c.db.PrepareContext(ctx, query)
		if err != nil {
			return true // the query itself reports the error when it runs
		}
		if _, loaded := c.m.LoadOrStore(query, st); loaded {
			st.Close()
		}
		return true
	})
}

// Close closes every cached statement.
func (c *Stmts) Close() {
	c.m.Range(func(_, v any) bool {
		v.(*sql.Stmt).Close()
		return true
	})
}

// stmt returns the transaction's handle of the cached statement for query, or nil
// (the caller then runs the query unprepared) if it is not prepared yet.
func (tx *Tx) stmt(ctx context.Context, query string) *sql.Stmt {
	if tx.stmts == nil {
		return nil
	}
	v, ok := tx.stmts.m.Load(query)
	if !ok {
		tx.stmts.wanted.Store(query, struct{}{})
		return nil
	}
	return tx.tx.StmtContext(ctx, v.(*sql.Stmt))
}

// textArgs makes every string argument valid UTF-8 without NUL. Requests carry
// bytes of every kind (a User-Agent with 0xFF, a txn_id of "%00"); PostgreSQL
// refuses such text outright, which would fail a whole batch of the download log
// over one header. Stored text is for people; a lookup with such a value finds
// nothing either way.
func textArgs(args []any) {
	for i, a := range args {
		if s, ok := a.(string); ok && (!utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0) {
			args[i] = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
		}
	}
}

func (tx *Tx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = tx.context(ctx)
	textArgs(args)
	if st := tx.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return tx.tx.QueryContext(ctx, query, args...)
}

func (tx *Tx) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	ctx = tx.context(ctx)
	textArgs(args)
	if st := tx.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return tx.tx.QueryRowContext(ctx, query, args...)
}

func (tx *Tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx = tx.context(ctx)
	textArgs(args)
	if st := tx.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.tx.ExecContext(ctx, query, args...)
}

// ForPostgres marks the transaction as PostgreSQL's, for the few statements whose
// text differs (row locks).
func (tx *Tx) ForPostgres() *Tx {
	tx.postgres = true
	return tx
}

// WithoutCancel makes the transaction's statements ignore the cancellation of the
// contexts they are given. SQLite answers a cancelled statement by rolling back the
// whole transaction, which a transaction shared by several callers cannot afford.
func (tx *Tx) WithoutCancel() *Tx {
	tx.noCancel = true
	return tx
}

func (tx *Tx) context(ctx context.Context) context.Context {
	if tx.noCancel {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// Now returns the time fixed at the start of the transaction.
func (tx *Tx) Now() time.Time { return tx.now }

// Times are stored as Unix milliseconds; 0 is the zero time ("never").
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// notFound turns sql.ErrNoRows into a vend ENOTFOUND error so it never leaks upward.
func notFound(err error, what string, id any) error {
	if errors.Is(err, sql.ErrNoRows) {
		return vend.Errorf(vend.ENOTFOUND, "No such %s: %v.", what, id)
	}
	return fmt.Errorf("find %s %v: %w", what, id, err)
}

func limit(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}

// updated turns an UPDATE that matched no row into an ENOTFOUND error, so a change
// to a missing row is never silently dropped.
func updated(res sql.Result, err error, what string, id int64) error {
	if err != nil {
		return fmt.Errorf("update %s %d: %w", what, id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("update %s %d: %w", what, id, err)
	}
	if n == 0 {
		return vend.Errorf(vend.ENOTFOUND, "No such %s: %d.", what, id)
	}
	return nil
}

func nullID(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: id != 0} }
