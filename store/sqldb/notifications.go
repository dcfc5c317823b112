package sqldb

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

const notificationColumns = `id, provider, received_at, remote_addr, headers, body, body_size, body_sha256, verdict, reason, changes, idem_key, order_id, dismissed`

func scanNotification(row interface{ Scan(...any) error }) (*vend.Notification, error) {
	var n vend.Notification
	var received int64
	var headers string
	var orderID sql.NullInt64
	if err := row.Scan(&n.ID, &n.Provider, &received, &n.RemoteAddr, &headers, &n.Body, &n.Size, &n.SHA256, &n.Verdict, &n.Reason, &n.Changes, &n.Key, &orderID, &n.Dismissed); err != nil {
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
	if n.SHA256 == "" {
		n.Measure()
	}
	// A zero id is NULL: the database picks one.
	err = tx.queryRow(ctx, `
		INSERT INTO notifications (id, provider, received_at, remote_addr, headers, body, body_size, body_sha256, verdict, reason, changes, idem_key, order_id)
		VALUES (COALESCE($1, `+tx.nextNotificationID()+`), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
		nullID(n.ID), n.Provider, ms(n.ReceivedAt), n.RemoteAddr, headers, body, n.Size, n.SHA256, n.Verdict, n.Reason, n.Changes, n.Key, nullID(n.OrderID)).Scan(&n.ID)
	if err != nil {
		return fmt.Errorf("create notification: %w", err)
	}
	return nil
}

func (tx *Tx) NextNotificationID(ctx context.Context) (int64, error) {
	var id int64
	if err := tx.queryRow(ctx, `SELECT `+tx.nextNotificationID()).Scan(&id); err != nil {
		return 0, fmt.Errorf("next notification id: %w", err)
	}
	return id, nil
}

// nextNotificationID is the SQL of a new notification's id. SQLite's is the
// one its insert would pick (the largest rowid's next); the one writer, and
// the write transaction around both, keep it free until the insert.
// PostgreSQL's is the identity column's sequence, named as migration 00001
// made it: pg_get_serial_sequence would find it by the column, at 20 µs a call.
func (tx *Tx) nextNotificationID() string {
	if tx.postgres {
		return `nextval('notifications_id_seq')`
	}
	return `(SELECT COALESCE(MAX(id), 0) + 1 FROM notifications)`
}

func (tx *Tx) UpdateNotification(ctx context.Context, n *vend.Notification) error {
	res, err := tx.exec(ctx, `
		UPDATE notifications SET verdict = $1, reason = $2, changes = $3, idem_key = $4, order_id = $5, dismissed = $6 WHERE id = $7`,
		n.Verdict, n.Reason, n.Changes, n.Key, nullID(n.OrderID), n.Dismissed, n.ID)
	return updated(res, err, "notification", n.ID)
}

func (tx *Tx) TrimNotification(ctx context.Context, n *vend.Notification) error {
	headers, err := encodeHeaders(n.Headers)
	if err != nil {
		return fmt.Errorf("encode headers: %w", err)
	}
	res, err := tx.exec(ctx, `UPDATE notifications SET headers = $1, body = $2, body_size = $3, body_sha256 = $4 WHERE id = $5`,
		headers, n.Body, n.Size, n.SHA256, n.ID)
	return updated(res, err, "notification", n.ID)
}

func (tx *Tx) DeleteRefusedNotifications(ctx context.Context, before time.Time, max int) (int, error) {
	res, err := tx.exec(ctx, `
		DELETE FROM notifications WHERE id IN (
			SELECT id FROM notifications
			WHERE verdict IN ($1, $2, $3) AND received_at < $4 AND order_id IS NULL
			LIMIT $5)`,
		vend.VerdictInvalid, vend.VerdictRejected, vend.VerdictError, ms(before), max)
	if err != nil {
		return 0, fmt.Errorf("delete refused notifications: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete refused notifications: %w", err)
	}
	return int(n), nil
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
	if f.Unsettled {
		where = append(where, "order_id IS NULL AND NOT dismissed")
	}
	if !f.Since.IsZero() {
		where = append(where, "received_at >= "+arg(ms(f.Since)))
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
