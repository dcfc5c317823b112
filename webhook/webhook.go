// Package webhook sends the seller's outgoing webhooks: the deliveries the
// ledger, delivery and license write in the transaction of each change
// (store.EnqueueWebhooks) go out signed per Standard Webhooks, in order per
// endpoint, retried with backoff for RetryFor, each attempt logged. An
// endpoint whose delivery fails for the whole retry time is disabled and its
// owner told. Two instances on one PostgreSQL never send a delivery at the
// same time (store.ClaimDeliveries). It also holds the seller's operations on
// endpoints (admin.go).
package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// Defaults of a Dispatcher's zero fields.
const (
	DefaultRetryFor = 72 * time.Hour
	DefaultTimeout  = 15 * time.Second
	DefaultLease    = time.Minute
	DefaultPoll     = time.Second
	DefaultBatch    = 20
)

// backoff is the wait after each failed attempt (Standard Webhooks' usual
// schedule); after the last, every 10 hours until RetryFor ends.
var backoff = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour}

// Dispatcher sends due deliveries.
type Dispatcher struct {
	DB store.DB
	// Client sends the requests; nil: one with DefaultTimeout that follows
	// no redirect and, unless AllowPrivate, connects to public addresses
	// only.
	Client *http.Client
	// AllowPrivate lets endpoints be on this machine or a private network
	// (webhooks.allow_private_networks). Off, an endpoint that resolves to a
	// loopback, private, link-local or unspecified address is refused at
	// connect time, so an admin account cannot be made to probe the
	// seller's internal network.
	AllowPrivate bool
	// RetryFor is how long a delivery is retried after its first attempt.
	RetryFor time.Duration
	// Lease is how long a claim outlasts the sends of its batch (each up to
	// DefaultTimeout): a worker that died lets go after it.
	Lease time.Duration
	Poll  time.Duration // how often Run looks for due deliveries
	Batch int
	// Backoff is the wait after each failed attempt, the last one repeated;
	// nil: 5s, 5m, 30m, 2h, 5h, then every 10h.
	Backoff []time.Duration
	// Disabled is told of an endpoint disabled after a delivery failed for
	// RetryFor, in the transaction that disables it (vend serve queues a
	// mail to the owner there, so the notice is never lost); nil tells no one.
	Disabled func(ctx context.Context, tx store.Tx, e *vend.WebhookEndpoint, reason string) error
	// ReleaseAtStart makes Run first end every claim, also those a crashed
	// process held: only for a store no other instance uses (SQLite).
	ReleaseAtStart bool
	Logger         *slog.Logger
	Now            func() time.Time

	kick       chan struct{}
	kickOnce   sync.Once
	clientOnce sync.Once
	httpClient *http.Client
}

// Kick wakes Run, which then looks for due deliveries at once.
func (d *Dispatcher) Kick() {
	select {
	case d.kicks() <- struct{}{}:
	default:
	}
}

func (d *Dispatcher) kicks() chan struct{} {
	d.kickOnce.Do(func() { d.kick = make(chan struct{}, 1) })
	return d.kick
}

// Run sends due deliveries until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) {
	if d.ReleaseAtStart {
		err := d.DB.Update(ctx, func(tx store.Tx) error { _, err := tx.ReleaseDeliveries(ctx); return err })
		if err != nil {
			d.logger().Error("webhooks: release claims", "error", err)
		}
	}
	kick := d.kicks()
	t := time.NewTicker(d.or(d.Poll, DefaultPoll))
	defer t.Stop()
	for {
		if _, err := d.RunOnce(ctx); err != nil && ctx.Err() == nil {
			d.logger().Error("webhooks: send", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-kick:
		}
	}
}

// RunOnce sends what is due now, batch after batch, and returns how many
// deliveries it completed.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	done := 0
	for ctx.Err() == nil {
		var due bool
		err := d.DB.View(ctx, func(tx store.Tx) error {
			var err error
			due, err = tx.DeliveriesDue(ctx)
			return err
		})
		if err != nil || !due {
			return done, err
		}
		// The claim covers sending the whole batch, one after another.
		batch := d.orInt(d.Batch, DefaultBatch)
		lease := d.or(d.Lease, DefaultLease) + time.Duration(batch)*DefaultTimeout
		var claimed []*vend.WebhookDelivery
		err = d.DB.Update(ctx, func(tx store.Tx) error {
			var err error
			claimed, err = tx.ClaimDeliveries(ctx, batch, lease)
			return err
		})
		if err != nil {
			return done, fmt.Errorf("webhook: claim: %w", err)
		}
		if len(claimed) == 0 {
			return done, nil
		}
		progress := false
		for _, del := range claimed {
			ok, err := d.deliver(ctx, del)
			if err != nil {
				return done, err
			}
			if ok {
				done++
				progress = true
			}
		}
		if !progress {
			return done, nil // every one failed: their retries come later
		}
	}
	return done, ctx.Err()
}

// deliver sends one claimed delivery and records the attempt and its
// outcome. It reports whether the delivery went through.
func (d *Dispatcher) deliver(ctx context.Context, del *vend.WebhookDelivery) (bool, error) {
	var e *vend.WebhookEndpoint
	err := d.DB.View(ctx, func(tx store.Tx) error {
		var err error
		e, err = tx.FindEndpoint(ctx, del.EndpointID)
		return err
	})
	if vend.ErrorCode(err) == vend.ENOTFOUND {
		return false, nil // deleted since the claim, with its deliveries
	} else if err != nil {
		return false, fmt.Errorf("webhook: endpoint of delivery %d: %w", del.ID, err)
	}
	if e.Disabled {
		return false, nil // turned off since the claim: it waits, as its others do
	}
	now := d.now()
	attempt := d.send(ctx, e, del, now)
	if ctx.Err() != nil {
		// Shutting down: the claim runs out and the delivery is sent again,
		// with the same webhook-id.
		return false, ctx.Err()
	}
	del.Attempts++
	if del.FirstAttempt.IsZero() {
		del.FirstAttempt = now
	}
	deadline := del.FirstAttempt.Add(d.or(d.RetryFor, DefaultRetryFor))
	ok := attempt.Status >= 200 && attempt.Status < 300
	var disable string
	switch {
	case ok:
		del.Status, del.DeliveredAt, del.LastError = vend.WebhookDelivered, now, ""
	case !now.Before(deadline):
		del.Status = vend.WebhookFailed
		disable = fmt.Sprintf("delivery %d (%s) failed for %s; the last answer: %s", del.ID, del.Event,
			d.or(d.RetryFor, DefaultRetryFor), firstLine(attempt.Response))
	default:
		del.NextAttempt = now.Add(d.wait(del.Attempts))
		if del.NextAttempt.After(deadline) {
			del.NextAttempt = deadline // one last try when the retry time ends
		}
	}
	del.LastStatus = attempt.Status
	if !ok {
		del.LastError = attempt.Response
	}
	// The bookkeeping runs even if ctx ends now: a sent delivery must be marked.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err = d.DB.Update(rctx, func(tx store.Tx) error {
		if err := tx.CreateWebhookAttempt(rctx, attempt); err != nil {
			return err
		}
		if err := tx.UpdateDelivery(rctx, del); err != nil {
			return err
		}
		if disable == "" {
			return nil
		}
		cur, err := tx.FindEndpoint(rctx, e.ID)
		if err != nil {
			return err
		}
		cur.Disabled, cur.DisabledReason = true, disable
		if err := tx.UpdateEndpoint(rctx, cur); err != nil {
			return err
		}
		if d.Disabled == nil {
			return nil
		}
		return d.Disabled(rctx, tx, cur, disable)
	})
	if vend.ErrorCode(err) == vend.ECONFLICT {
		// Another worker holds it now (this one's claim ran out): what it
		// records stands, and the receiver dedups by webhook-id.
		d.logger().Warn("webhook claim lost; the other worker records the delivery", "delivery", del.ID)
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("webhook: record delivery %d: %w", del.ID, err)
	}
	log := d.logger().With("endpoint", e.ID, "delivery", del.ID, "event", del.Event, "attempts", del.Attempts)
	switch {
	case ok:
		log.Info("webhook delivered", "status", attempt.Status)
	case disable != "":
		log.Error("webhook failed for good; endpoint disabled", "reason", disable)
	default:
		log.Warn("webhook attempt failed", "status", attempt.Status, "error", attempt.Response, "next", del.NextAttempt)
	}
	return ok, nil
}

// wait is the backoff after the n-th failed attempt.
func (d *Dispatcher) wait(n int) time.Duration {
	b := d.Backoff
	if len(b) == 0 {
		b = backoff
	}
	return b[min(max(n-1, 0), len(b)-1)]
}

// maxResponse is how much of an answer an attempt keeps.
const maxResponse = 2048

// send POSTs the delivery, signed with the endpoint's secret (and the
// previous one during a rotation), and returns the attempt as logged.
func (d *Dispatcher) send(ctx context.Context, e *vend.WebhookEndpoint, del *vend.WebhookDelivery, now time.Time) *vend.WebhookAttempt {
	a := &vend.WebhookAttempt{DeliveryID: del.ID, At: now}
	sigs, err := Signatures(e, del.MessageID, now, del.Payload, now)
	if err != nil {
		a.Response = "cannot sign: " + err.Error()
		return a
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, bytes.NewReader(del.Payload))
	if err != nil {
		a.Response = "bad URL: " + err.Error()
		return a
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "vend-webhooks/1")
	h.Set("webhook-id", del.MessageID)
	h.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	h.Set("webhook-signature", sigs)
	a.Request = fmt.Sprintf("POST %s\nwebhook-id: %s\nwebhook-timestamp: %d\nwebhook-signature: %s\n\n%s",
		e.URL, del.MessageID, now.Unix(), shorten(sigs), del.Payload)
	start := time.Now()
	resp, err := d.client().Do(req)
	a.Duration = time.Since(start)
	if err != nil {
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) {
			err = ue.Unwrap() // the URL is in the attempt already
		}
		a.Response = "no answer: " + err.Error()
		return a
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // let the connection be reused
	a.Status = resp.StatusCode
	a.Response = fmt.Sprintf("%d %s\n%s", resp.StatusCode, http.StatusText(resp.StatusCode), body)
	return a
}

// firstLine is the start of an answer, for a one-line reason.
func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "") + "…"
	}
	return s
}

// shorten keeps the start of each signature, for the log.
func shorten(sigs string) string {
	var out []string
	for _, s := range strings.Fields(sigs) {
		if len(s) > 12 {
			s = s[:12] + "…"
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func (d *Dispatcher) client() *http.Client {
	if d.Client != nil {
		return d.Client
	}
	d.clientOnce.Do(func() {
		dialer := &net.Dialer{Timeout: DefaultTimeout}
		if !d.AllowPrivate {
			dialer.Control = publicOnly
		}
		t := http.DefaultTransport.(*http.Transport).Clone()
		// No proxy: the address checked must be the endpoint's own.
		t.Proxy, t.DialContext = nil, dialer.DialContext
		d.httpClient = &http.Client{Timeout: DefaultTimeout, Transport: t,
			// A redirect is an answer like any other not-2xx: the seller
			// fixes the URL rather than vend following it elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	})
	return d.httpClient
}

// publicOnly refuses a connection to an address of this machine or of a
// private network; it runs after DNS resolution, on the address dialled.
func publicOnly(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return err
	}
	ip = ip.Unmap()
	if !ip.IsGlobalUnicast() || ip.IsPrivate() || slices.ContainsFunc(notPublic, func(p netip.Prefix) bool { return p.Contains(ip) }) {
		return fmt.Errorf("%s is a private address; set webhooks.allow_private_networks to send there", ip)
	}
	return nil
}

// notPublic are the ranges IsGlobalUnicast and IsPrivate let through that
// still lead inside a network: carrier-grade NAT (cloud metadata services
// live there too), benchmarking, reserved, NAT64 and site-local addresses.
var notPublic = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("fec0::/10"),
}

func (d *Dispatcher) now() time.Time {
	if d.Now == nil {
		return time.Now()
	}
	return d.Now()
}

func (d *Dispatcher) logger() *slog.Logger {
	if d.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Logger
}

func (d *Dispatcher) or(v, def time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	return def
}

func (d *Dispatcher) orInt(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}
