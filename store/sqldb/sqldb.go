// Package sqldb implements store.Tx over database/sql with SQL that both SQLite
// (modernc, which binds $1… like PostgreSQL) and PostgreSQL accept. The dialect
// packages open the database, run their migrations and wrap each *sql.Tx with NewTx.
package sqldb

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
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

// ---- products ----

const productColumns = `id, name, price, currency, download_limit, lifetime_seconds, created_at, updated_at`

func scanProduct(row interface{ Scan(...any) error }) (*vend.Product, error) {
	var p vend.Product
	var lifetime, created, updated int64
	if err := row.Scan(&p.ID, &p.Name, &p.Price, &p.Currency, &p.DownloadLimit, &lifetime, &created, &updated); err != nil {
		return nil, err
	}
	p.Lifetime = time.Duration(lifetime) * time.Second
	p.CreatedAt, p.UpdatedAt = fromMS(created), fromMS(updated)
	return &p, nil
}

func (tx *Tx) FindProductByID(ctx context.Context, id string) (*vend.Product, error) {
	p, err := scanProduct(tx.queryRow(ctx, `SELECT `+productColumns+` FROM products WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "product", id)
	}
	if p.Files, err = tx.findFiles(ctx, p.ID); err != nil {
		return nil, err
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
		INSERT INTO products (`+productColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, price = excluded.price,
			currency = excluded.currency, download_limit = excluded.download_limit,
			lifetime_seconds = excluded.lifetime_seconds, updated_at = excluded.updated_at`,
		p.ID, p.Name, p.Price, p.Currency, p.DownloadLimit, int64(p.Lifetime/time.Second), ms(p.CreatedAt), ms(p.UpdatedAt))
	if err != nil {
		return fmt.Errorf("save product %s: %w", p.ID, err)
	}
	return nil
}

const fileColumns = `id, product_id, name, blob_key, size, sha256, created_at`

func scanFile(row interface{ Scan(...any) error }) (*vend.File, error) {
	var f vend.File
	var created int64
	if err := row.Scan(&f.ID, &f.ProductID, &f.Name, &f.Key, &f.Size, &f.SHA256, &created); err != nil {
		return nil, err
	}
	f.CreatedAt = fromMS(created)
	return &f, nil
}

func (tx *Tx) findFiles(ctx context.Context, productID string) ([]*vend.File, error) {
	rows, err := tx.query(ctx, `SELECT `+fileColumns+` FROM files WHERE product_id = $1 AND current ORDER BY position, id`, productID)
	if err != nil {
		return nil, fmt.Errorf("find files of %s: %w", productID, err)
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

func (tx *Tx) FindFileVersions(ctx context.Context, productID string) ([]*vend.File, error) {
	rows, err := tx.query(ctx, `SELECT `+fileColumns+` FROM files WHERE product_id = $1 ORDER BY id DESC`, productID)
	if err != nil {
		return nil, fmt.Errorf("find file versions of %s: %w", productID, err)
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
			if _, err := tx.exec(ctx, `UPDATE files SET current = $1 WHERE id = $2`, false, c.ID); err != nil {
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

// ---- notifications ----

const notificationColumns = `id, provider, received_at, remote_addr, headers, body, verdict, reason, changes, idem_key, order_id`

func scanNotification(row interface{ Scan(...any) error }) (*vend.Notification, error) {
	var n vend.Notification
	var received int64
	var headers string
	var orderID sql.NullInt64
	if err := row.Scan(&n.ID, &n.Provider, &received, &n.RemoteAddr, &headers, &n.Body, &n.Verdict, &n.Reason, &n.Changes, &n.Key, &orderID); err != nil {
		return nil, err
	}
	n.ReceivedAt = fromMS(received)
	n.OrderID = orderID.Int64
	var err error
	if n.Headers, err = decodeHeaders(headers); err != nil {
		return nil, fmt.Errorf("notification %d headers: %w", n.ID, err)
	}
	return &n, nil
}

// headersBase64 tags the second form of the headers column; see encodeHeaders.
const headersBase64 = "base64"

// encodeHeaders writes headers as JSON text. HTTP header bytes need not be UTF-8
// (obs-text), and JSON would turn such bytes into U+FFFD, so a set with any key or
// value that is not valid UTF-8, or holds a NUL (which PostgreSQL text and jsonb
// refuse), is written as ["base64", {key: [value, …]}] with every key and value
// base64-encoded. Everything else stays a plain, readable JSON object.
func encodeHeaders(h map[string][]string) (string, error) {
	plain := true
	for k, vs := range h {
		plain = plain && textSafe(k)
		for _, v := range vs {
			plain = plain && textSafe(v)
		}
	}
	var v any = h
	if !plain {
		enc := make(map[string][]string, len(h))
		for k, vs := range h {
			ev := make([]string, len(vs))
			for i, v := range vs {
				ev[i] = base64.StdEncoding.EncodeToString([]byte(v))
			}
			enc[base64.StdEncoding.EncodeToString([]byte(k))] = ev
		}
		v = []any{headersBase64, enc}
	}
	b, err := json.Marshal(v)
	return string(b), err
}

func textSafe(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// decodeHeaders reads either form encodeHeaders writes.
func decodeHeaders(s string) (map[string][]string, error) {
	if !strings.HasPrefix(strings.TrimSpace(s), "[") {
		var h map[string][]string
		err := json.Unmarshal([]byte(s), &h)
		return h, err
	}
	var tagged []json.RawMessage
	if err := json.Unmarshal([]byte(s), &tagged); err != nil {
		return nil, err
	}
	var tag string
	if len(tagged) != 2 || json.Unmarshal(tagged[0], &tag) != nil || tag != headersBase64 {
		return nil, fmt.Errorf("unknown headers encoding")
	}
	var enc map[string][]string
	if err := json.Unmarshal(tagged[1], &enc); err != nil {
		return nil, err
	}
	h := make(map[string][]string, len(enc))
	for k, vs := range enc {
		key, err := base64.StdEncoding.DecodeString(k)
		if err != nil {
			return nil, err
		}
		dv := make([]string, len(vs))
		for i, v := range vs {
			b, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				return nil, err
			}
			dv[i] = string(b)
		}
		h[string(key)] = dv
	}
	return h, nil
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

func (tx *Tx) CreateNotification(ctx context.Context, n *vend.Notification) error {
	if n.ReceivedAt.IsZero() {
		n.ReceivedAt = tx.now
	}
	if n.Verdict == "" {
		n.Verdict = vend.VerdictReceived
	}
	headers, err := encodeHeaders(n.Headers)
	if err != nil {
		return fmt.Errorf("encode headers: %w", err)
	}
	body := n.Body
	if body == nil {
		body = []byte{}
	}
	err = tx.queryRow(ctx, `
		INSERT INTO notifications (provider, received_at, remote_addr, headers, body, verdict, reason, changes, idem_key, order_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
		n.Provider, ms(n.ReceivedAt), n.RemoteAddr, headers, body, n.Verdict, n.Reason, n.Changes, n.Key, nullID(n.OrderID)).Scan(&n.ID)
	if err != nil {
		return fmt.Errorf("create notification: %w", err)
	}
	return nil
}

func (tx *Tx) UpdateNotification(ctx context.Context, n *vend.Notification) error {
	res, err := tx.exec(ctx, `
		UPDATE notifications SET verdict = $1, reason = $2, changes = $3, idem_key = $4, order_id = $5 WHERE id = $6`,
		n.Verdict, n.Reason, n.Changes, n.Key, nullID(n.OrderID), n.ID)
	return updated(res, err, "notification", n.ID)
}

func (tx *Tx) FindNotificationByID(ctx context.Context, id int64) (*vend.Notification, error) {
	n, err := scanNotification(tx.queryRow(ctx, `SELECT `+notificationColumns+` FROM notifications WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "notification", id)
	}
	return n, nil
}

func (tx *Tx) FindNotifications(ctx context.Context, f store.NotificationFilter) ([]*vend.Notification, error) {
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	var where []string
	if f.OrderID != nil {
		where = append(where, "order_id = "+arg(*f.OrderID))
	}
	if f.Provider != nil {
		where = append(where, "provider = "+arg(*f.Provider))
	}
	if f.Verdict != nil {
		where = append(where, "verdict = "+arg(string(*f.Verdict)))
	}
	if f.Before > 0 {
		where = append(where, "id < "+arg(f.Before))
	}
	q := `SELECT ` + notificationColumns + ` FROM notifications`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY id DESC LIMIT ` + arg(limit(f.Limit, 100))
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("find notifications: %w", err)
	}
	defer rows.Close()
	var out []*vend.Notification
	for rows.Next() {
		n, err := scanNotification(rows)
		if err != nil {
			return nil, fmt.Errorf("scan notification: %w", err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

func (tx *Tx) ClaimKey(ctx context.Context, provider, key string, notificationID int64) (bool, error) {
	res, err := tx.exec(ctx, `
		INSERT INTO applied_keys (provider, idem_key, notification_id, applied_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (provider, idem_key) DO NOTHING`, provider, key, notificationID, ms(tx.now))
	if err != nil {
		return false, fmt.Errorf("claim %s %s: %w", provider, key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("claim %s %s: %w", provider, key, err)
	}
	return n == 1, nil
}

// ---- settings ----

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
