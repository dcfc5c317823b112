package mailer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// Defaults for the Worker's zero fields.
const (
	DefaultRetryFor   = 72 * time.Hour
	DefaultBackoff    = 30 * time.Second
	DefaultMaxBackoff = time.Hour
	DefaultPoll       = 5 * time.Second
	DefaultBatch      = 10
	// DefaultLease is how long a claimed message stays hidden from other workers.
	// It must outlast sending a batch (with an SMTP server that lets every
	// command time out: Batch × DefaultSMTPTimeout); a worker that dies holding
	// a message lets it go after the lease, and the message is sent again (with
	// the same Message-ID).
	DefaultLease = 15 * time.Minute
)

// Log attribute keys.
const (
	logKeyMail     = "mail_id"
	logKeyKind     = "kind"
	logKeyTo       = "to"
	logKeyAttempts = "attempts"
	logKeyNext     = "next_attempt"
	logKeyError    = "error"
	logKeyReason   = "reason"
)

// Worker sends the outbox. Fields left zero take the Default values; DB, Sender,
// Templates and PageURL are required.
type Worker struct {
	DB        store.DB
	Sender    Sender
	Templates *Templates
	// PageURL returns the signed download page URL of the grant with the given
	// public id. A path ("/d/…") is joined to BaseURL.
	PageURL func(publicID string) string
	// From is the sender: "Shop <shop@example.com>", or a bare address, which
	// gets ShopName as its display name.
	From     string
	ShopName string // in subjects and the sender's name; default: BaseURL's host
	BaseURL  string // the shop's public URL, e.g. "https://shop.example.com"

	RetryFor   time.Duration // give up this long after the message was enqueued
	Backoff    time.Duration // the wait after the first failed attempt, doubled after each
	MaxBackoff time.Duration // the longest wait between attempts
	Poll       time.Duration // how often Run looks for due messages without a Kick
	Batch      int           // messages claimed at once
	Lease      time.Duration
	// RetryAtStart makes every queued message due when Run starts, including
	// those a crashed process had claimed. Only for a store no other worker
	// uses at the same time (SQLite): with several instances, another one may
	// be sending a claimed message right now.
	RetryAtStart bool
	Logger       *slog.Logger
	Now          func() time.Time
	// Metrics counts attempts (package metrics); nil counts nothing.
	Metrics Metrics

	kickOnce sync.Once
	kick     chan struct{}
}

// errSkip says there is nothing to send any more; the message is marked skipped.
type errSkip struct{ reason string }

func (e *errSkip) Error() string { return e.reason }

func (w *Worker) kicks() chan struct{} {
	w.kickOnce.Do(func() { w.kick = make(chan struct{}, 1) })
	return w.kick
}

// Kick wakes Run at once, e.g. right after a commit that enqueued mail, so a
// receipt leaves within milliseconds instead of at the next poll. It never blocks.
func (w *Worker) Kick() {
	select {
	case w.kicks() <- struct{}{}:
	default:
	}
}

// Run sends due messages until ctx ends, waking on Kick and every Poll. Errors
// of the store are logged and retried at the next wake; Run returns nil when ctx
// ends.
func (w *Worker) Run(ctx context.Context) error {
	poll := w.Poll
	if poll <= 0 {
		poll = DefaultPoll
	}
	if w.RetryAtStart {
		w.release(ctx)
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-w.kicks():
		case <-timer.C:
		}
		if _, err := w.RunOnce(ctx); err != nil && ctx.Err() == nil {
			w.logger().ErrorContext(ctx, "mail outbox", logKeyError, err)
		}
		timer.Reset(poll)
	}
}

// release makes every queued message due now: after a crash, a message the
// dead process had claimed would otherwise wait out its lease.
func (w *Worker) release(ctx context.Context) {
	var n int
	err := w.DB.Update(ctx, func(tx store.Tx) error {
		var err error
		n, err = tx.ReleaseMails(ctx)
		return err
	})
	if err != nil {
		w.logger().ErrorContext(ctx, "mail outbox: release at start", logKeyError, err)
	} else if n > 0 {
		w.logger().InfoContext(ctx, "mail outbox: retrying queued messages at start", "count", n)
	}
}

// RunOnce sends every message that is due now, batch by batch, and returns how
// many went out. A message that cannot be sent is recorded as such (retry,
// failed or skipped) and is not an error; the error is the store's or ctx's.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	switch {
	case w.DB == nil, w.Sender == nil, w.Templates == nil, w.PageURL == nil:
		return 0, errors.New("mailer: the worker needs DB, Sender, Templates and PageURL")
	}
	batch := w.Batch
	if batch <= 0 {
		batch = DefaultBatch
	}
	lease := w.Lease
	if lease <= 0 {
		lease = DefaultLease
	}
	sent := 0
	for {
		var claimed []*vend.Mail
		err := w.DB.Update(ctx, func(tx store.Tx) error {
			var err error
			claimed, err = tx.ClaimMails(ctx, batch, lease)
			return err
		})
		if err != nil {
			return sent, fmt.Errorf("mailer: claim: %w", err)
		}
		for _, m := range claimed {
			ok, err := w.deliver(ctx, m)
			if err != nil {
				return sent, err
			}
			if ok {
				sent++
			}
		}
		if len(claimed) < batch {
			return sent, nil
		}
	}
}

// Metrics is what the worker reports of each attempt: the message's kind
// and its outcome, "sent", "skipped", "retry" or "failed".
type Metrics interface {
	MailAttempt(kind vend.MailKind, outcome string)
}

// deliver renders and sends one claimed message and records the outcome. It
// reports whether the message went out; its error is the store's or ctx's.
func (w *Worker) deliver(ctx context.Context, m *vend.Mail) (bool, error) {
	msg, err := w.render(ctx, m)
	if err == nil {
		err = w.Sender.Send(ctx, msg)
	}
	if err != nil && ctx.Err() != nil {
		// Shutting down: leave the message claimed; it is due again after the
		// lease, and a copy the server took meanwhile has the same Message-ID.
		return false, ctx.Err()
	}
	// The bookkeeping runs even if ctx ends now: a sent message must be marked.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	now := w.now()
	m.Attempts++
	log := w.logger().With(logKeyMail, m.ID, logKeyKind, m.Kind, logKeyTo, m.To, logKeyAttempts, m.Attempts)
	var skip *errSkip
	var se *SendError
	switch {
	case err == nil:
		m.Status, m.SentAt, m.LastError, m.MessageID = vend.MailSent, now, "", msg.MessageID
		log.InfoContext(ctx, "mail sent")
	case errors.As(err, &skip):
		m.Status, m.LastError = vend.MailSkipped, skip.reason
		log.InfoContext(ctx, "mail skipped", logKeyReason, skip.reason)
	case errors.As(err, &se) && se.Permanent:
		m.Status, m.LastError = vend.MailFailed, lastError(err)
		log.ErrorContext(ctx, "mail failed: refused for good", logKeyError, m.LastError)
	default:
		m.LastError = lastError(err)
		deadline := m.CreatedAt.Add(w.retryFor())
		if !now.Before(deadline) {
			m.Status = vend.MailFailed
			log.ErrorContext(ctx, "mail failed: gave up retrying", logKeyError, m.LastError)
			break
		}
		m.NextAttempt = now.Add(w.backoff(m.Attempts))
		if m.NextAttempt.After(deadline) {
			m.NextAttempt = deadline // one last try when the retry time ends
		}
		log.WarnContext(ctx, "mail attempt failed", logKeyError, m.LastError, logKeyNext, m.NextAttempt)
	}
	if err := w.DB.Update(rctx, func(tx store.Tx) error { return tx.UpdateMail(rctx, m) }); err != nil {
		return false, fmt.Errorf("mailer: record mail %d: %w", m.ID, err)
	}
	if w.Metrics != nil {
		outcome := string(m.Status)
		if m.Status == vend.MailQueued {
			outcome = "retry"
		}
		w.Metrics.MailAttempt(m.Kind, outcome)
	}
	return m.Status == vend.MailSent, nil
}

// render reads what m needs from the ledger and renders it. Errors are a
// *errSkip, a *SendError (permanent: retrying cannot help), or anything else
// (retried).
func (w *Worker) render(ctx context.Context, m *vend.Mail) (*Message, error) {
	var v View
	err := w.DB.View(ctx, func(tx store.Tx) error {
		var err error
		v, err = w.view(ctx, tx, m)
		return err
	})
	if err != nil {
		return nil, err
	}
	msg, err := w.Templates.Render(m.Kind, m.Language, v)
	if err != nil {
		if vend.ErrorCode(err) == vend.EINVALID { // an unknown kind stays unknown
			return nil, &SendError{Permanent: true, Msg: vend.ErrorMessage(err)}
		}
		return nil, err
	}
	msg.From, msg.To, msg.Date = w.from(), m.To, w.now()
	msg.MessageID = messageID(m.Key, w.From, w.BaseURL)
	return msg, nil
}

// from is the From header: From as configured, with the shop's name as its
// display name when From is a bare address, so that a buyer's mailbox lists
// the shop rather than an address. A display name the seller wrote wins.
func (w *Worker) from() string {
	a, err := mail.ParseAddress(w.From)
	if err != nil || a.Name != "" || w.ShopName == "" {
		return w.From
	}
	a.Name = w.ShopName
	return a.String()
}

// messageID derives a Message-ID from the outbox key: the same message always
// gets the same id, so a copy sent again after a crash can be recognized.
func messageID(key, from, baseURL string) string {
	sum := sha256.Sum256([]byte("vend/mail\x00" + key))
	domain := "vend.invalid"
	if a, err := mail.ParseAddress(from); err == nil && strings.Contains(a.Address, "@") {
		domain = a.Address[strings.LastIndex(a.Address, "@")+1:]
	} else if u, err := url.Parse(baseURL); err == nil && u.Hostname() != "" {
		domain = u.Hostname()
	}
	return hex.EncodeToString(sum[:16]) + "@" + domain
}

// lastError is the sentence kept in the outbox: a SendError's own (free of
// secrets), or the error's text, shortened.
func lastError(err error) string {
	var se *SendError
	s := err.Error()
	if errors.As(err, &se) {
		s = se.Msg
	} else if code := vend.ErrorCode(err); code != vend.EINTERNAL {
		s = vend.ErrorMessage(err)
	}
	if len(s) > 500 {
		s = strings.ToValidUTF8(s[:500], "") + "…"
	}
	return s
}

// backoff is the wait after the attempts-th failed attempt: Backoff, doubled
// after each further failure, at most MaxBackoff.
func (w *Worker) backoff(attempts int) time.Duration {
	base, ceil := w.Backoff, w.MaxBackoff
	if base <= 0 {
		base = DefaultBackoff
	}
	if ceil <= 0 {
		ceil = DefaultMaxBackoff
	}
	d := base
	for i := 1; i < attempts && d < ceil; i++ {
		d *= 2
	}
	return min(d, ceil)
}

func (w *Worker) retryFor() time.Duration {
	if w.RetryFor <= 0 {
		return DefaultRetryFor
	}
	return w.RetryFor
}

func (w *Worker) now() time.Time {
	if w.Now == nil {
		return time.Now()
	}
	return w.Now()
}

func (w *Worker) logger() *slog.Logger {
	if w.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return w.Logger
}

// Requeue makes a queued or failed message due now, for `vend mail retry`: a
// failed one gets one more attempt (and fails again at once if that attempt
// fails, its retry time being over). A sent or skipped message is left alone.
func (w *Worker) Requeue(ctx context.Context, id int64) error {
	return w.DB.Update(ctx, func(tx store.Tx) error {
		m, err := tx.FindMailByID(ctx, id)
		if err != nil {
			return err
		}
		if m.Status != vend.MailQueued && m.Status != vend.MailFailed {
			return vend.Errorf(vend.ECONFLICT, "Mail %d is %s; only queued or failed mail can be retried.", id, m.Status)
		}
		m.Status, m.NextAttempt = vend.MailQueued, tx.Now()
		return tx.UpdateMail(ctx, m)
	})
}
