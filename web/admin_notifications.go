package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/provider/digistore24"
	"github.com/vend-shop/vend/provider/generic"
	"github.com/vend-shop/vend/provider/paypal"
	"github.com/vend-shop/vend/provider/stripe"
	"github.com/vend-shop/vend/provider/websale"
	"github.com/vend-shop/vend/store"
)

// The notification log: every raw message a provider sent, with what vend
// concluded, and a replay that runs a stored message through its provider's
// flow again.

const notificationsPerPage = 50

// notificationProviders are the providers whose messages vend stores, in the
// order the filter offers them.
var notificationProviders = []string{paypal.Provider, digistore24.Provider, stripe.Provider, generic.Provider, websale.Provider}

var allVerdicts = []vend.Verdict{vend.VerdictApplied, vend.VerdictDuplicate, vend.VerdictRejected, vend.VerdictInvalid,
	vend.VerdictError, vend.VerdictIgnored, vend.VerdictReceived}

// ---- the list ----

type notificationsView struct {
	Query         url.Values
	Notifications []*vend.Notification
	Next          string // the next page's URL, or ""
	Providers     []string
	Verdicts      []vend.Verdict
}

func (s *Server) handleAdminNotifications(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	f, err := notificationFilter(r.URL.Query())
	if err != nil {
		s.Error(w, r, err)
		return
	}
	f.Limit = notificationsPerPage
	notes, err := viewOne(ctx, s.DB, func(tx store.Tx) ([]*vend.Notification, error) { return tx.FindNotifications(ctx, f) })
	if err != nil {
		s.Error(w, r, err)
		return
	}
	v := notificationsView{Query: r.URL.Query(), Notifications: notes, Providers: notificationProviders, Verdicts: allVerdicts}
	if len(notes) == notificationsPerPage {
		next := r.URL.Query()
		next.Set("before", strconv.FormatInt(notes[len(notes)-1].ID, 10))
		v.Next = "/admin/notifications?" + next.Encode()
	}
	s.renderAdmin(w, r, http.StatusOK, "admin-notifications", "Notifications", "notifications", v)
}

// notificationFilter reads the notification log's filters: provider, verdict,
// order (an order id) and before (a notification id, for the next page). Empty
// values filter nothing.
func notificationFilter(v url.Values) (store.NotificationFilter, error) {
	var f store.NotificationFilter
	if p := strings.TrimSpace(v.Get("provider")); p != "" {
		f.Provider = &p
	}
	if s := strings.TrimSpace(v.Get("verdict")); s != "" {
		verdict := vend.Verdict(s)
		if !slices.Contains(allVerdicts, verdict) {
			return f, vend.Errorf(vend.EINVALID, "verdict: one of %s.", joinVerdicts(allVerdicts))
		}
		f.Verdict = &verdict
	}
	if s := strings.TrimSpace(v.Get("order")); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id < 1 {
			return f, vend.Errorf(vend.EINVALID, "order: not an order id.")
		}
		f.OrderID = &id
	}
	if s := strings.TrimSpace(v.Get("before")); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id < 1 {
			return f, vend.Errorf(vend.EINVALID, "before: not a notification id.")
		}
		f.Before = id
	}
	return f, nil
}

func joinVerdicts(vs []vend.Verdict) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

// ---- one notification ----

type notificationView struct {
	N        *vend.Notification
	Headers  []headerLine // sorted by name
	Body     string       // the raw body as text; the template escapes it
	ReplayOf int64        // the notification this one replays, when the page follows a replay
}

type headerLine struct{ Name, Value string }

func (s *Server) handleAdminNotification(w http.ResponseWriter, r *http.Request) {
	n, err := findByPathID(s, r, "notification", store.Tx.FindNotificationByID)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	v := notificationView{N: n, Body: asText(n.Body)}
	for _, name := range slices.Sorted(maps.Keys(n.Headers)) {
		for _, value := range n.Headers[name] {
			v.Headers = append(v.Headers, headerLine{asText([]byte(name)), asText([]byte(value))})
		}
	}
	if of, err := strconv.ParseInt(r.URL.Query().Get("replay_of"), 10, 64); err == nil && of > 0 {
		v.ReplayOf = of
	}
	s.renderAdmin(w, r, http.StatusOK, "admin-notification", "Notification "+strconv.FormatInt(n.ID, 10), "notifications", v)
}

// asText returns stored bytes as text to show: bytes that are not UTF-8 (a
// windows-1252 IPN) become U+FFFD. Whoever shows it still escapes it.
func asText(b []byte) string { return strings.ToValidUTF8(string(b), "\uFFFD") }

// handleAdminReplay replays a notification and shows the replay.
func (s *Server) handleAdminReplay(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.Error(w, r, vend.Errorf(vend.ENOTFOUND, "No such notification."))
		return
	}
	actor, _ := adminActor(r.Context())
	n, err := s.Replay(r.Context(), id, actor)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/admin/notifications/%d?replay_of=%d", n.ID, id), http.StatusSeeOther)
}

// ---- replay ----

// Replay processes the stored notification id again, as if its provider had
// sent the very same bytes and headers now, through the same steps as the
// provider's endpoint: PayPal's message is verified again by the postback to
// PayPal; a signed provider's signature is checked again with the secret
// configured now, then normalized and applied; a WEBSALE link is decrypted and
// checked again. The replay is stored as a new notification (remote address
// "replay by <actor>"): history is never rewritten. Idempotency holds as for
// any message: an applied one replays as a duplicate, and one refused earlier
// (a product missing from the catalog, say) applies once the cause is fixed.
//
// Only the message's age is not judged again: a Stripe or Standard Webhooks
// signature whose timestamp is now too old counts as valid if the signature
// itself matches, and a WEBSALE link's age is not checked. The age guards
// against someone capturing a message and sending it again later; a replay is
// an administrator resending a message vend stored, on the audit trail, and
// the message's idempotency key keeps it from applying twice. A message whose
// signature does not match stays invalid.
//
// The audit entry (action "notification.replay", target the order the replay
// is about, else the replayed notification) is written after the replay, in a
// transaction of its own: the ledger's step commits the message with its
// effect, as it does for the provider's own requests.
func (s *Server) Replay(ctx context.Context, id int64, actor string) (*vend.Notification, error) {
	if actor == "" {
		return nil, fmt.Errorf("web: replay notification %d: no actor", id)
	}
	var orig *vend.Notification
	err := s.DB.View(ctx, func(tx store.Tx) error {
		var err error
		orig, err = tx.FindNotificationByID(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	n := &vend.Notification{Provider: orig.Provider, RemoteAddr: "replay by " + actor,
		Headers: cloneHeaders(orig.Headers), Body: bytes.Clone(orig.Body)}
	h := http.Header(n.Headers)
	log := s.Logger.With("provider", orig.Provider, "replay_of", id, "actor", actor)
	switch orig.Provider {
	case paypal.Provider:
		reason, status := refusal(h.Get("Content-Type"), n.Body, formType)
		if err := s.Ledger.Receive(ctx, n); err != nil {
			return nil, fmt.Errorf("web: replay notification %d: %w", id, err)
		}
		n.Reason = reason
		s.processPayPal(ctx, n, status, true)
	case digistore24.Provider, stripe.Provider, generic.Provider:
		p := s.signedProvider(orig.Provider)
		var status int
		n.Reason, status = refusal(h.Get("Content-Type"), n.Body, p.mediaType)
		s.processSigned(ctx, p, n, h, status, true)
	case websale.Provider:
		s.replayWebsale(ctx, n)
	default:
		return nil, vend.Errorf(vend.EINVALID, "Notifications of %q cannot be replayed.", orig.Provider)
	}
	if n.ID == 0 {
		return nil, fmt.Errorf("web: replay notification %d: the replay was not stored (see the log)", id)
	}
	log.Info("notification replayed", "notification", n.ID, "verdict", n.Verdict, "order", n.OrderID)
	target := vend.NotificationTarget(id)
	if n.OrderID != 0 {
		target = vend.OrderTarget(n.OrderID)
	}
	actx := context.WithoutCancel(ctx)
	err = s.DB.Update(actx, func(tx store.Tx) error {
		return store.RecordAudit(actx, tx, actor, "notification.replay", target, replaySummary(orig), replaySummary(n))
	})
	if err != nil {
		return n, fmt.Errorf("web: replay notification %d: replayed as %d, but: %w", id, n.ID, err)
	}
	return n, nil
}

// replaySummary is what the audit trail keeps of a replay's notifications: not
// the message, which the log has.
func replaySummary(n *vend.Notification) any {
	return struct {
		Notification int64        `json:"notification"`
		Verdict      vend.Verdict `json:"verdict"`
		Reason       string       `json:"reason,omitempty"`
		Changes      string       `json:"changes,omitempty"`
		OrderID      int64        `json:"order_id,omitempty"`
	}{n.ID, n.Verdict, n.Reason, n.Changes, n.OrderID}
}

// signedProvider returns the flow of a signed provider by its name.
func (s *Server) signedProvider(name string) signedProvider {
	switch name {
	case digistore24.Provider:
		return s.digistore24()
	case stripe.Provider:
		return s.stripe()
	}
	return s.generic()
}

// replayAge reports whether a signature check failed only because the
// signature is too old: the signature itself matched (Stripe's and Standard
// Webhooks' checks test the time only after the signature).
func replayAge(err error) bool {
	return errors.Is(err, stripe.ErrTooOld) || errors.Is(err, generic.ErrTooOld)
}

// replayWebsale replays a stored WEBSALE link (the raw query): decrypted and
// checked again (all but its age), then recorded like the link's first use.
// A link that no longer decrypts is stored as invalid, one the checks refuse
// as rejected.
func (s *Server) replayWebsale(ctx context.Context, n *vend.Notification) {
	ctx = context.WithoutCancel(ctx)
	conclude := func(v vend.Verdict, reason string) {
		n.Verdict, n.Reason = v, reason
		if err := s.Ledger.Receive(ctx, n); err != nil {
			s.Logger.Error("notification not stored", "provider", websale.Provider, "error", err)
		}
	}
	if s.Websale == nil {
		conclude(vend.VerdictError, "WEBSALE links are off: websale.password is not set")
		return
	}
	q, _ := url.ParseQuery(string(n.Body))
	link, err := s.Websale.Decoder.Decode(q.Get("dldata"))
	if err != nil {
		conclude(vend.VerdictInvalid, err.Error())
		return
	}
	if err := websale.Check(link, s.Websale.Config, link.Time); err != nil { // as of the link's own time: no age
		conclude(vend.VerdictRejected, err.Error())
		return
	}
	if _, err := s.Ledger.ReceiveApply(ctx, n, websale.Normalize(link, s.Websale.Config)); err != nil {
		// Stored with verdict error, unless even that failed (then n.ID is 0).
		s.Logger.Error("websale link not applied", "notification", n.ID, "error", err)
	}
}

func cloneHeaders(h map[string][]string) map[string][]string {
	if h == nil {
		return nil
	}
	out := make(map[string][]string, len(h))
	for k, v := range h {
		out[k] = slices.Clone(v)
	}
	return out
}
