package sqldb

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

const endpointColumns = `id, url, description, events, secret, previous_secret, previous_until, disabled, disabled_reason, created_at, updated_at`

func scanEndpoint(row interface{ Scan(...any) error }) (*vend.WebhookEndpoint, error) {
	var e vend.WebhookEndpoint
	var events string
	var until, created, updated int64
	if err := row.Scan(&e.ID, &e.URL, &e.Description, &events, &e.Secret, &e.PreviousSecret, &until, &e.Disabled,
		&e.DisabledReason, &created, &updated); err != nil {
		return nil, err
	}
	for ev := range strings.SplitSeq(events, " ") {
		if ev != "" {
			e.Events = append(e.Events, vend.WebhookEvent(ev))
		}
	}
	e.PreviousUntil, e.CreatedAt, e.UpdatedAt = fromMS(until), fromMS(created), fromMS(updated)
	return &e, nil
}

func joinEvents(evs []vend.WebhookEvent) string {
	s := make([]string, len(evs))
	for i, e := range evs {
		s[i] = string(e)
	}
	return strings.Join(s, " ")
}

func (tx *Tx) CreateEndpoint(ctx context.Context, e *vend.WebhookEndpoint) error {
	e.CreatedAt, e.UpdatedAt = tx.now, tx.now
	err := tx.queryRow(ctx, `
		INSERT INTO webhook_endpoints (url, description, events, secret, previous_secret, previous_until, disabled, disabled_reason,
			created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id`,
		e.URL, e.Description, joinEvents(e.Events), e.Secret, e.PreviousSecret, ms(e.PreviousUntil), e.Disabled, e.DisabledReason,
		ms(tx.now)).Scan(&e.ID)
	if err != nil {
		return fmt.Errorf("create webhook endpoint: %w", err)
	}
	return nil
}

func (tx *Tx) UpdateEndpoint(ctx context.Context, e *vend.WebhookEndpoint) error {
	e.UpdatedAt = tx.now
	res, err := tx.exec(ctx, `
		UPDATE webhook_endpoints SET url = $1, description = $2, events = $3, secret = $4, previous_secret = $5, previous_until = $6,
			disabled = $7, disabled_reason = $8, updated_at = $9 WHERE id = $10`,
		e.URL, e.Description, joinEvents(e.Events), e.Secret, e.PreviousSecret, ms(e.PreviousUntil), e.Disabled, e.DisabledReason,
		ms(tx.now), e.ID)
	return updated(res, err, "webhook endpoint", e.ID)
}

func (tx *Tx) DeleteEndpoint(ctx context.Context, id int64) error {
	for _, q := range []string{
		`DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE endpoint_id = $1)`,
		`DELETE FROM webhook_deliveries WHERE endpoint_id = $1`,
	} {
		if _, err := tx.exec(ctx, q, id); err != nil {
			return fmt.Errorf("delete webhook endpoint %d: %w", id, err)
		}
	}
	res, err := tx.exec(ctx, `DELETE FROM webhook_endpoints WHERE id = $1`, id)
	return updated(res, err, "webhook endpoint", id)
}

func (tx *Tx) FindEndpoint(ctx context.Context, id int64) (*vend.WebhookEndpoint, error) {
	e, err := scanEndpoint(tx.queryRow(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "webhook endpoint", id)
	}
	return e, nil
}

func (tx *Tx) FindEndpoints(ctx context.Context) ([]*vend.WebhookEndpoint, error) {
	rows, err := tx.query(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("find webhook endpoints: %w", err)
	}
	defer rows.Close()
	var out []*vend.WebhookEndpoint
	for rows.Next() {
		e, err := scanEndpoint(rows)
		if err != nil {
			return nil, fmt.Errorf("scan webhook endpoint: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

const deliveryColumns = `d.id, d.endpoint_id, d.message_id, d.event, d.payload, d.status, d.attempts, d.next_attempt, d.last_status,
	d.last_error, d.created_at, d.delivered_at, d.first_attempt, d.claimed_until`

func scanDelivery(row interface{ Scan(...any) error }) (*vend.WebhookDelivery, error) {
	var d vend.WebhookDelivery
	var payload string
	var next, created, delivered, first, claimed int64
	if err := row.Scan(&d.ID, &d.EndpointID, &d.MessageID, &d.Event, &payload, &d.Status, &d.Attempts, &next, &d.LastStatus,
		&d.LastError, &created, &delivered, &first, &claimed); err != nil {
		return nil, err
	}
	d.Payload = []byte(payload)
	d.NextAttempt, d.CreatedAt, d.DeliveredAt = fromMS(next), fromMS(created), fromMS(delivered)
	d.FirstAttempt, d.ClaimedUntil = fromMS(first), fromMS(claimed)
	return &d, nil
}

func (tx *Tx) CreateDelivery(ctx context.Context, d *vend.WebhookDelivery) error {
	d.CreatedAt, d.NextAttempt, d.Status = tx.now, tx.now, vend.WebhookPending
	err := tx.queryRow(ctx, `
		INSERT INTO webhook_deliveries (endpoint_id, message_id, event, payload, status, attempts, next_attempt, claimed_until,
			first_attempt, last_status, last_error, created_at, delivered_at) VALUES ($1, $2, $3, $4, $5, 0, $6, 0, 0, 0, '', $6, 0) RETURNING id`,
		d.EndpointID, d.MessageID, d.Event, string(d.Payload), d.Status, ms(tx.now)).Scan(&d.ID)
	if err != nil {
		return fmt.Errorf("create webhook delivery: %w", err)
	}
	return nil
}

// headOfLine picks the deliveries of webhook_deliveries d that are due now
// ($2) and first in their endpoint's queue of pending ($1) ones, of enabled
// endpoints.
const headOfLine = `JOIN webhook_endpoints e ON e.id = d.endpoint_id
	WHERE d.status = $1 AND d.next_attempt <= $2 AND d.claimed_until <= $2 AND NOT e.disabled
		AND d.id = (SELECT min(h.id) FROM webhook_deliveries h WHERE h.endpoint_id = d.endpoint_id AND h.status = $1)`

func (tx *Tx) ClaimDeliveries(ctx context.Context, n int, lease time.Duration) ([]*vend.WebhookDelivery, error) {
	lock := ""
	if tx.postgres {
		lock = ` FOR UPDATE OF d SKIP LOCKED`
	}
	rows, err := tx.query(ctx, `
		SELECT `+deliveryColumns+` FROM webhook_deliveries d `+headOfLine+`
		ORDER BY d.id LIMIT $3`+lock, vend.WebhookPending, ms(tx.now), limit(n, 10))
	if err != nil {
		return nil, fmt.Errorf("claim webhook deliveries: %w", err)
	}
	var out []*vend.WebhookDelivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("scan webhook delivery: %w", err)
		}
		out = append(out, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	until := tx.now.Add(lease)
	for _, d := range out {
		if _, err := tx.exec(ctx, `UPDATE webhook_deliveries SET claimed_until = $1 WHERE id = $2`, ms(until), d.ID); err != nil {
			return nil, fmt.Errorf("claim webhook delivery %d: %w", d.ID, err)
		}
		d.ClaimedUntil = fromMS(ms(until))
	}
	return out, nil
}

func (tx *Tx) DeliveriesDue(ctx context.Context) (bool, error) {
	var due bool
	err := tx.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM webhook_deliveries d `+headOfLine+`)`, vend.WebhookPending, ms(tx.now)).Scan(&due)
	if err != nil {
		return false, fmt.Errorf("webhook deliveries due: %w", err)
	}
	return due, nil
}

func (tx *Tx) ReleaseDeliveries(ctx context.Context) (int, error) {
	res, err := tx.exec(ctx, `UPDATE webhook_deliveries SET claimed_until = 0 WHERE status = $1 AND claimed_until > 0`, vend.WebhookPending)
	if err != nil {
		return 0, fmt.Errorf("release webhook deliveries: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func (tx *Tx) UpdateDelivery(ctx context.Context, d *vend.WebhookDelivery) error {
	res, err := tx.exec(ctx, `
		UPDATE webhook_deliveries SET status = $1, attempts = $2, next_attempt = $3, last_status = $4, last_error = $5, delivered_at = $6,
			first_attempt = $7, claimed_until = 0 WHERE id = $8 AND claimed_until = $9`,
		d.Status, d.Attempts, ms(d.NextAttempt), d.LastStatus, d.LastError, ms(d.DeliveredAt), ms(d.FirstAttempt), d.ID, ms(d.ClaimedUntil))
	if err != nil {
		return fmt.Errorf("update webhook delivery %d: %w", d.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return vend.Errorf(vend.ECONFLICT, "Webhook delivery %d is gone or claimed by another worker.", d.ID)
	}
	d.ClaimedUntil = time.Time{}
	return nil
}

func (tx *Tx) FindDelivery(ctx context.Context, id int64) (*vend.WebhookDelivery, error) {
	d, err := scanDelivery(tx.queryRow(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries d WHERE d.id = $1`, id))
	if err != nil {
		return nil, notFound(err, "webhook delivery", id)
	}
	return d, nil
}

func (tx *Tx) FindDeliveries(ctx context.Context, f store.DeliveryFilter) ([]*vend.WebhookDelivery, error) {
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	var where []string
	if f.EndpointID != nil {
		where = append(where, "d.endpoint_id = "+arg(*f.EndpointID))
	}
	if f.Status != nil {
		where = append(where, "d.status = "+arg(string(*f.Status)))
	}
	if f.Before > 0 {
		where = append(where, "d.id < "+arg(f.Before))
	}
	q := `SELECT ` + deliveryColumns + ` FROM webhook_deliveries d`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY d.id DESC LIMIT ` + arg(limit(f.Limit, 100))
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("find webhook deliveries: %w", err)
	}
	defer rows.Close()
	var out []*vend.WebhookDelivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("scan webhook delivery: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

func (tx *Tx) CreateWebhookAttempt(ctx context.Context, a *vend.WebhookAttempt) error {
	err := tx.queryRow(ctx, `
		INSERT INTO webhook_attempts (delivery_id, at, request, status, response, duration_ms) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		a.DeliveryID, ms(a.At), a.Request, a.Status, a.Response, a.Duration.Milliseconds()).Scan(&a.ID)
	if err != nil {
		return fmt.Errorf("record webhook attempt of delivery %d: %w", a.DeliveryID, err)
	}
	return nil
}

func (tx *Tx) FindWebhookAttempts(ctx context.Context, deliveryID int64) ([]*vend.WebhookAttempt, error) {
	rows, err := tx.query(ctx, `SELECT id, delivery_id, at, request, status, response, duration_ms FROM webhook_attempts
		WHERE delivery_id = $1 ORDER BY id`, deliveryID)
	if err != nil {
		return nil, fmt.Errorf("find attempts of webhook delivery %d: %w", deliveryID, err)
	}
	defer rows.Close()
	var out []*vend.WebhookAttempt
	for rows.Next() {
		var a vend.WebhookAttempt
		var at, dur int64
		if err := rows.Scan(&a.ID, &a.DeliveryID, &at, &a.Request, &a.Status, &a.Response, &dur); err != nil {
			return nil, fmt.Errorf("scan webhook attempt: %w", err)
		}
		a.At, a.Duration = fromMS(at), time.Duration(dur)*time.Millisecond
		out = append(out, &a)
	}
	return out, rows.Err()
}
