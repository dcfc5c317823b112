package sqldb

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

const mailColumns = `id, mail_key, kind, recipient, language, order_id, data, status, attempts, next_attempt, last_error, created_at, sent_at, message_id`

func scanMail(row interface{ Scan(...any) error }) (*vend.Mail, error) {
	var m vend.Mail
	var orderID sql.NullInt64
	var data string
	var next, created, sent int64
	if err := row.Scan(&m.ID, &m.Key, &m.Kind, &m.To, &m.Language, &orderID, &data, &m.Status, &m.Attempts, &next,
		&m.LastError, &created, &sent, &m.MessageID); err != nil {
		return nil, err
	}
	m.OrderID = orderID.Int64
	if data != "" && data != "{}" {
		if err := json.Unmarshal([]byte(data), &m.Data); err != nil {
			return nil, fmt.Errorf("mail %d data: %w", m.ID, err)
		}
	}
	m.NextAttempt, m.CreatedAt, m.SentAt = fromMS(next), fromMS(created), fromMS(sent)
	return &m, nil
}

func (tx *Tx) EnqueueMail(ctx context.Context, m *vend.Mail) (bool, error) {
	data, err := json.Marshal(m.Data)
	if err != nil {
		return false, fmt.Errorf("encode mail data: %w", err)
	}
	if m.Data == nil {
		data = []byte("{}")
	}
	m.Status, m.CreatedAt = vend.MailQueued, tx.now
	if m.NextAttempt.IsZero() {
		m.NextAttempt = tx.now
	}
	err = tx.queryRow(ctx, `
		INSERT INTO outbox (mail_key, kind, recipient, language, order_id, data, status, attempts, next_attempt, last_error, created_at, sent_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, '', $9, 0)
		ON CONFLICT (mail_key) DO NOTHING RETURNING id`,
		m.Key, m.Kind, m.To, m.Language, nullID(m.OrderID), string(data), m.Status, ms(m.NextAttempt), ms(m.CreatedAt)).Scan(&m.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("enqueue mail %s: %w", m.Key, err)
	}
	return true, nil
}

func (tx *Tx) ClaimMails(ctx context.Context, n int, lease time.Duration) ([]*vend.Mail, error) {
	lock := ""
	if tx.postgres {
		lock = " FOR UPDATE SKIP LOCKED" // another instance's worker skips what this one took
	}
	rows, err := tx.query(ctx, `
		UPDATE outbox SET next_attempt = $1
		WHERE id IN (SELECT id FROM outbox WHERE status = $2 AND next_attempt <= $3 ORDER BY next_attempt, id LIMIT $4`+lock+`)
		RETURNING `+mailColumns, ms(tx.now.Add(lease)), vend.MailQueued, ms(tx.now), limit(n, 100))
	if err != nil {
		return nil, fmt.Errorf("claim mail: %w", err)
	}
	out, err := scanMails(rows)
	slices.SortFunc(out, func(a, b *vend.Mail) int { return cmp.Compare(a.ID, b.ID) })
	return out, err
}

func scanMails(rows interface {
	Next() bool
	Scan(...any) error
	Err() error
	Close() error
}) ([]*vend.Mail, error) {
	defer rows.Close()
	var out []*vend.Mail
	for rows.Next() {
		m, err := scanMail(rows)
		if err != nil {
			return nil, fmt.Errorf("scan mail: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

func (tx *Tx) ReleaseMails(ctx context.Context) (int, error) {
	res, err := tx.exec(ctx, `UPDATE outbox SET next_attempt = $1 WHERE status = $2 AND next_attempt > $1`, ms(tx.now), vend.MailQueued)
	if err != nil {
		return 0, fmt.Errorf("release mail: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func (tx *Tx) UpdateMail(ctx context.Context, m *vend.Mail) error {
	res, err := tx.exec(ctx, `
		UPDATE outbox SET status = $1, attempts = $2, next_attempt = $3, last_error = $4, sent_at = $5, message_id = $6 WHERE id = $7`,
		m.Status, m.Attempts, ms(m.NextAttempt), m.LastError, ms(m.SentAt), m.MessageID, m.ID)
	return updated(res, err, "mail", m.ID)
}

func (tx *Tx) FindMailByID(ctx context.Context, id int64) (*vend.Mail, error) {
	m, err := scanMail(tx.queryRow(ctx, `SELECT `+mailColumns+` FROM outbox WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "mail", id)
	}
	return m, nil
}

func (tx *Tx) FindMails(ctx context.Context, f store.MailFilter) ([]*vend.Mail, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.Status != nil {
		add("status = $%d", *f.Status)
	}
	if f.OrderID != nil {
		add("order_id = $%d", *f.OrderID)
	}
	if f.To != nil {
		add("lower(recipient) = $%d", strings.ToLower(*f.To))
	}
	if !f.Since.IsZero() {
		add("created_at >= $%d", ms(f.Since))
	}
	q := `SELECT ` + mailColumns + ` FROM outbox`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, limit(f.Limit, 100))
	q += fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args))
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("find mail: %w", err)
	}
	return scanMails(rows)
}

func (tx *Tx) OutboxDepth(ctx context.Context) (int, time.Time, error) {
	var n int
	var oldest sql.NullInt64
	if err := tx.queryRow(ctx, `SELECT count(*), min(created_at) FROM outbox WHERE status = $1`, vend.MailQueued).Scan(&n, &oldest); err != nil {
		return 0, time.Time{}, fmt.Errorf("outbox depth: %w", err)
	}
	return n, fromMS(oldest.Int64), nil
}
