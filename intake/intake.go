// Package intake runs every message of every payment provider through the
// same steps: store it, prove it genuine, turn it into an event, apply it to
// the ledger, and say what the sender is answered. A vend.Provider says how
// each step goes for one provider; the HTTP layer only reads a bounded body,
// calls Receive (or Link, for a buyer's link) and writes the answer. Replay
// runs a stored message through the very same steps again.
//
// Two orders of storing, both before any answer:
//   - a provider that verifies by a postback (PayPal) has the raw message
//     stored first, then verified, then its verdict or effect recorded: the
//     round trip may fail or hang, and the message must not be lost meanwhile;
//   - every other provider's message is verified at once, from its own bytes,
//     and stored once, with its verdict, or together with its effect in the
//     ledger's one commit.
package intake

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/ledger"
	"github.com/vend-shop/vend/store"
)

// Intake holds the registered providers and what their messages go to.
type Intake struct {
	Providers []vend.Provider // in the order lists show them
	Ledger    *ledger.Ledger
	DB        store.DB
	// PageURL makes the absolute URL of a grant's download page, for
	// PageAnswer providers; nil answers without it.
	PageURL func(g *vend.Grant) string
	Logger  *slog.Logger
	Now     func() time.Time
	// Metrics counts the messages that arrive (package metrics); nil
	// counts nothing.
	Metrics Metrics

	forgeries forgeryCounter
}

// New returns an Intake of providers.
func New(providers []vend.Provider, l *ledger.Ledger, db store.DB, pageURL func(*vend.Grant) string, logger *slog.Logger) *Intake {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Intake{Providers: providers, Ledger: l, DB: db, PageURL: pageURL, Logger: logger, Now: time.Now}
}

// Provider is the registered provider called name, or nil.
func (in *Intake) Provider(name string) vend.Provider {
	for _, p := range in.Providers {
		if p.Info().Name == name {
			return p
		}
	}
	return nil
}

// Names are the registered providers' names.
func (in *Intake) Names() []string {
	names := make([]string, len(in.Providers))
	for i, p := range in.Providers {
		names[i] = p.Info().Name
	}
	return names
}

// Receive runs a message that has just arrived (n not stored yet: provider,
// remote address, headers and body set) through its provider's steps and says
// what it came to. Once Receive returns, the message is stored, unless the
// outcome is Failed with n.ID 0.
func (in *Intake) Receive(ctx context.Context, p vend.Provider, n *vend.Notification) *vend.Outcome {
	start := time.Now()
	o := in.process(ctx, p, n, false)
	in.count(p, o, start)
	return o
}

// Metrics is what intake reports of each message that arrives: its
// provider, the verdict it came to ("failed" when none could be stored) and
// how long that took; and each time a provider that verifies by asking it
// back (PayPal) could not be asked.
type Metrics interface {
	Notification(provider, verdict string, d time.Duration)
	PostbackFailed(provider string)
}

// verdictOf names o's verdict for Metrics: the stored notification's, or,
// for a link that is not stored, its refusal's.
func verdictOf(o *vend.Outcome) string {
	if o.Notification != nil && o.Notification.Verdict != "" {
		return string(o.Notification.Verdict)
	}
	switch o.Refusal {
	case vend.RefusalNone:
		return string(vend.VerdictApplied)
	case vend.RefusalForged:
		return string(vend.VerdictInvalid)
	case vend.RefusalRejected:
		return string(vend.VerdictRejected)
	case vend.RefusalUnconfigured:
		return string(vend.VerdictError)
	}
	return "failed"
}

// count reports o to Metrics.
func (in *Intake) count(p vend.Provider, o *vend.Outcome, start time.Time) {
	if in.Metrics == nil {
		return
	}
	info := p.Info()
	verdict := verdictOf(o)
	in.Metrics.Notification(info.Name, verdict, time.Since(start))
	if info.Postback && o.Refusal == vend.RefusalFailed && o.Notification != nil && o.Notification.Verdict == vend.VerdictError {
		in.Metrics.PostbackFailed(info.Name)
	}
}

// Status is the HTTP status of the answer to o, by p's rules.
func Status(p vend.Provider, o *vend.Outcome) int {
	switch o.Refusal {
	case vend.RefusalNone:
		return http.StatusOK
	case vend.RefusalUnsupported:
		return http.StatusUnsupportedMediaType
	case vend.RefusalEmpty:
		return http.StatusBadRequest
	case vend.RefusalUnconfigured:
		// Our configuration, not the message: every provider resends, and the
		// resend applies once the secret is set.
		return http.StatusUnauthorized
	case vend.RefusalForged, vend.RefusalRejected:
		if p.Info().SettledOK {
			return http.StatusOK
		}
		// A refused message gets a 4xx status so the provider shows the
		// failure to the seller (Digistore24 mails it, Stripe lists it) and
		// resends it for days: after the seller fixes the cause (a product
		// missing from the catalog, the wrong mode), the resend applies it.
		if o.Refusal == vend.RefusalRejected {
			return http.StatusUnprocessableEntity
		}
		return http.StatusUnauthorized // forged or stale
	}
	return http.StatusInternalServerError // failed, or an outcome that said nothing
}

// message is one message on its way through process.
type message struct {
	p      vend.Provider
	info   vend.ProviderInfo
	n      *vend.Notification
	log    *slog.Logger
	stored bool // n is stored already (verdict received)
	replay bool
}

// process runs n through p's steps. With replay set, a signature that matches
// but is too old counts as verified, and a forged message is not counted as a
// forgery sent now.
func (in *Intake) process(ctx context.Context, p vend.Provider, n *vend.Notification, replay bool) *vend.Outcome {
	n.Measure()
	m := &message{p: p, info: p.Info(), n: n, replay: replay}
	m.log = in.Logger.With("provider", m.info.Name)
	refusal, reason := precheck(n, m.info.MediaType)
	if m.info.Postback {
		if err := in.Ledger.Receive(ctx, n); err != nil {
			m.log.Error("notification not stored", "error", err)
			return &vend.Outcome{Notification: n, Refusal: vend.RefusalFailed, Reason: "internal error"}
		}
		m.stored = true
		m.log = m.log.With("notification", n.ID)
	}
	if refusal != vend.RefusalNone {
		return in.settle(ctx, m, vend.VerdictRejected, refusal, reason)
	}
	err := p.Verify(ctx, n, in.Now())
	if replay && errors.Is(err, vend.ErrTooOld) {
		err = nil
	}
	switch {
	case errors.Is(err, vend.ErrUnconfigured):
		// Our configuration, not the message: stored as not verifiable yet,
		// and the provider's resend applies once the secret is set.
		m.log.Error("notification refused: " + err.Error())
		return in.settle(ctx, m, vend.VerdictError, vend.RefusalUnconfigured, err.Error())
	case errors.Is(err, vend.ErrUnverified):
		m.log.Error("notification not verified now; the provider will resend", "error", err)
		return in.settle(ctx, m, vend.VerdictError, vend.RefusalFailed, err.Error())
	case err != nil:
		m.log.Warn("notification forged or altered", "reason", err, "remote", n.RemoteAddr)
		if !replay {
			in.noteForgery(ctx, m.info.Name)
		}
		return in.settle(ctx, m, vend.VerdictInvalid, vend.RefusalForged, err.Error())
	}
	ev, err := p.Normalize(n)
	if err != nil {
		m.log.Warn("notification refused", "reason", err)
		o := in.settle(ctx, m, vend.VerdictRejected, vend.RefusalRejected, err.Error())
		in.noteRefused(ctx, m, o)
		return o
	}
	o := in.apply(ctx, m, ev)
	in.noteRefused(ctx, m, o)
	return o
}

// noteRefused tells the owner of a genuine message vend refused (o): a buyer
// may have paid, and only the seller can grant the purchase or fix the cause.
// A provider's resends carry the same body, so they make one notice. A
// replay is an administrator at work and makes none.
func (in *Intake) noteRefused(ctx context.Context, m *message, o *vend.Outcome) {
	if o.Refusal != vend.RefusalRejected || m.replay || m.n.ID == 0 {
		return
	}
	data := map[string]string{vend.MailDataProvider: m.info.Label, vend.MailDataReason: o.Reason,
		vend.MailDataNotification: strconv.FormatInt(m.n.ID, 10)}
	key := m.info.Name + "|" + m.n.SHA256
	if err := in.Ledger.NotifyOwner(context.WithoutCancel(ctx), vend.MailRefused, key, data); err != nil {
		m.log.Error("owner notice not queued", "error", err)
	}
}

// precheck refuses a message before anything else is looked at: another
// content type than mediaType, an empty body.
func precheck(n *vend.Notification, mediaType string) (vend.Refusal, string) {
	if ct := http.Header(n.Headers).Get("Content-Type"); ct != "" && mediaType != "" {
		if mt, _, _ := mime.ParseMediaType(ct); mt != mediaType {
			return vend.RefusalUnsupported, "content type " + ct + " is not " + mediaType
		}
	}
	if len(n.Body) == 0 {
		return vend.RefusalEmpty, "empty body"
	}
	return vend.RefusalNone, ""
}

// apply applies a verified message's event. The ledger step runs to its end
// even if the sender hung up meanwhile: it is one short transaction, and a
// resend then finds it done.
func (in *Intake) apply(ctx context.Context, m *message, ev vend.Event) *vend.Outcome {
	ctx = context.WithoutCancel(ctx)
	var res *ledger.Result
	var err error
	if m.stored {
		res, err = in.Ledger.Apply(ctx, m.n, ev)
	} else {
		res, err = in.Ledger.ReceiveApply(ctx, m.n, ev) // stored with verdict error if it fails
	}
	o := &vend.Outcome{Notification: m.n, Event: ev, Refusal: vend.RefusalNone}
	log := m.log.With("notification", m.n.ID)
	switch {
	case err != nil:
		log.Error("notification not applied; the provider will resend", "error", err)
		const reason = "not applied: internal error; the resend applies it"
		if m.stored {
			return in.settle(ctx, m, vend.VerdictError, vend.RefusalFailed, reason)
		}
		o.Refusal, o.Reason = vend.RefusalFailed, "internal error; the resend applies it"
	case res.Verdict == vend.VerdictRejected:
		log.Warn("notification refused", "key", ev.Key, "reason", res.Reason)
		o.Refusal, o.Reason = vend.RefusalRejected, res.Reason
	default:
		log.Info("notification "+string(res.Verdict), "key", ev.Key, "order", res.OrderID, "changes", strings.Join(res.Changes, "; "))
		if m.info.PageAnswer && ev.Kind == vend.EventPayment {
			o.PageURL, o.LicenseKeys = in.pageAnswer(ctx, ev)
		}
	}
	return o
}

// settle records the verdict of a message vend will not apply, even when the
// sender has hung up (which is often why verification failed), so no stored
// message is left looking unexamined. A verdict that cannot be stored makes
// the outcome Failed: the resend gets another chance. Of a message that was
// not verified (forged, unreadable, or vend has no secret to check it), only
// what the seller needs to see the refusal is kept (vend.Notification.Trim):
// unverified input must not fill the disk.
func (in *Intake) settle(ctx context.Context, m *message, v vend.Verdict, r vend.Refusal, reason string) *vend.Outcome {
	ctx = context.WithoutCancel(ctx)
	unverified := r == vend.RefusalForged || r == vend.RefusalUnsupported || r == vend.RefusalEmpty || r == vend.RefusalUnconfigured
	var err error
	switch {
	case m.stored && unverified:
		err = in.Ledger.ConcludeUnverified(ctx, m.n, v, reason)
	case m.stored:
		err = in.Ledger.Conclude(ctx, m.n, v, reason)
	default:
		if unverified {
			m.n.Trim()
		}
		m.n.Verdict, m.n.Reason = v, reason
		err = in.Ledger.Receive(ctx, m.n)
	}
	if err != nil {
		m.log.Error("notification verdict not stored", "error", err)
		return &vend.Outcome{Notification: m.n, Refusal: vend.RefusalFailed, Reason: "internal error"}
	}
	return &vend.Outcome{Notification: m.n, Refusal: r, Reason: reason}
}

// pageAnswer is the download page of the event's first item's grant, while
// it is active, and the grant's licence keys; else nothing.
func (in *Intake) pageAnswer(ctx context.Context, ev vend.Event) (string, []string) {
	if in.PageURL == nil {
		return "", nil
	}
	g, err := in.GrantOf(ctx, ev.Provider, ev.OrderRef, ev.ProductID)
	if err != nil || g.State != vend.GrantActive {
		return "", nil
	}
	var keys []string
	err = in.DB.View(ctx, func(tx store.Tx) error {
		ls, err := tx.FindLicenses(ctx, store.LicenseFilter{GrantID: &g.ID, Limit: vend.MaxKeysPerItem})
		for i := len(ls) - 1; i >= 0; i-- { // the first unit first
			keys = append(keys, ls[i].Key)
		}
		return err
	})
	if err != nil {
		in.Logger.ErrorContext(ctx, "licence keys for the answer", "error", err)
	}
	return in.PageURL(g), keys
}

// GrantOf finds the grant of one product of a provider's order.
func (in *Intake) GrantOf(ctx context.Context, provider, orderRef, productID string) (*vend.Grant, error) {
	var found *vend.Grant
	err := in.DB.View(ctx, func(tx store.Tx) error {
		o, err := tx.FindOrderByRef(ctx, provider, orderRef)
		if err != nil {
			return err
		}
		grants, err := tx.FindGrantsByOrder(ctx, o.ID)
		if err != nil {
			return err
		}
		for _, g := range grants {
			if g.ProductID == productID {
				found = g
				return nil
			}
		}
		return vend.Errorf(vend.ENOTFOUND, "order %s has no grant for %s", orderRef, productID)
	})
	if err != nil {
		return nil, fmt.Errorf("intake: grant of %s %s: %w", provider, orderRef, err)
	}
	return found, nil
}
