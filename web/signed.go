package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/ledger"
)

// signedProvider is a provider whose messages vend verifies itself, by a
// signature over the stored bytes (Digistore24, Stripe, Standard Webhooks),
// so one flow serves them all: store raw, verify, normalize, apply, answer.
type signedProvider struct {
	name      string
	mediaType string
	// verify checks the signature; its error says why, for the log and the sender.
	verify func(body []byte, h http.Header) error
	// normalize maps a verified message to an event; every error is a refusal
	// of a genuine message (wrong mode, a field missing).
	normalize func(body []byte, h http.Header) (vend.Event, error)
	// answer writes the success answer (200) for a settled message.
	answer func(w http.ResponseWriter, r *http.Request, ev vend.Event, res *ledger.Result)
	// refuse writes a failure answer with a status of 400 or more.
	refuse func(w http.ResponseWriter, status int, reason string)
}

// errNoSecret is what verify returns while the provider's secret is not set:
// every message is refused (fail closed).
var errNoSecret = errors.New("nothing can be verified")

// noSecret says which setting is missing.
func noSecret(what, key string) error {
	return fmt.Errorf("no %s is configured (%s), so %w", what, key, errNoSecret)
}

// Answers of the signed providers. A refused message gets a 4xx status so the
// provider shows the failure to the seller (Digistore24 mails it, Stripe lists
// it) and resends it for days: after the seller fixes the cause (a product
// missing from the catalog, the wrong mode), the resend applies it.
const (
	statusForged   = http.StatusUnauthorized        // signature missing, wrong, stale or no secret configured
	statusRejected = http.StatusUnprocessableEntity // genuine, but vend will not act on it
)

// handleSigned runs a signed provider's message through the ledger. The
// signature is checked before anything is stored, so a message is stored once,
// with its verdict, and a genuine one together with its effect: one commit per
// message. Nothing is answered before that commit.
func (s *Server) handleSigned(p signedProvider) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n, status := s.read(w, r, p.name, p.mediaType)
		if n == nil {
			p.refuse(w, status, http.StatusText(status))
			return
		}
		out := s.processSigned(r.Context(), p, n, r.Header, status, false)
		if out.status != http.StatusOK {
			p.refuse(w, out.status, out.reason)
			return
		}
		p.answer(w, r, out.ev, out.res)
	}
}

// signedOutcome is what a signed provider's message came to: the status of the
// answer, with the reason of a refusal (400 or more), or for a 200 the event and
// what the ledger did with it.
type signedOutcome struct {
	status int
	reason string
	ev     vend.Event
	res    *ledger.Result
}

// processSigned runs a message read from a signed provider (n, not stored yet,
// with h its request's headers and status read's refusal or 0) through verify,
// normalize and the ledger, and stores it with its verdict. It writes nothing,
// so a replay runs the very same steps. With replay set, a signature that
// matches but is too old counts as verified (see replayAge), and a forged
// message is not counted as a forgery sent now.
func (s *Server) processSigned(ctx context.Context, p signedProvider, n *vend.Notification, h http.Header, status int, replay bool) signedOutcome {
	log := s.Logger.With("provider", p.name)
	if status != 0 {
		return s.storeRefused(ctx, p, n, vend.VerdictRejected, n.Reason, status)
	}
	err := p.verify(n.Body, h)
	if replay && replayAge(err) {
		err = nil
	}
	if errors.Is(err, errNoSecret) {
		// Our configuration, not the message: stored as not verifiable yet, and
		// the provider's resend applies once the secret is set.
		log.Error("notification refused: " + err.Error())
		return s.storeRefused(ctx, p, n, vend.VerdictError, err.Error(), statusForged)
	} else if err != nil {
		log.Warn("notification forged or altered", "reason", err, "remote", n.RemoteAddr)
		out := s.storeRefused(ctx, p, n, vend.VerdictInvalid, err.Error(), statusForged)
		if !replay {
			s.noteForgery(ctx, p.name)
		}
		return out
	}
	ev, err := p.normalize(n.Body, h)
	if err != nil {
		log.Warn("notification refused", "reason", err)
		return s.storeRefused(ctx, p, n, vend.VerdictRejected, err.Error(), statusRejected)
	}
	// The ledger step runs to its end even if the sender hung up meanwhile:
	// it is one short transaction, and a resend then finds it done.
	res, err := s.Ledger.ReceiveApply(context.WithoutCancel(ctx), n, ev)
	log = log.With("notification", n.ID)
	if err != nil {
		log.Error("notification not applied; the provider will resend", "error", err)
		return signedOutcome{status: http.StatusInternalServerError, reason: "internal error; the resend applies it"}
	}
	if res.Verdict == vend.VerdictRejected {
		log.Warn("notification refused", "key", ev.Key, "reason", res.Reason)
		return signedOutcome{status: statusRejected, reason: res.Reason}
	}
	log.Info("notification "+string(res.Verdict), "key", ev.Key, "order", res.OrderID, "changes", strings.Join(res.Changes, "; "))
	return signedOutcome{status: http.StatusOK, ev: ev, res: res}
}

// storeRefused stores a refused message with its verdict and returns the refusal.
func (s *Server) storeRefused(ctx context.Context, p signedProvider, n *vend.Notification, v vend.Verdict, reason string, status int) signedOutcome {
	n.Verdict, n.Reason = v, reason
	if err := s.Ledger.Receive(context.WithoutCancel(ctx), n); err != nil {
		s.Logger.Error("notification not stored", "provider", p.name, "error", err)
		status, reason = http.StatusInternalServerError, "internal error"
	}
	return signedOutcome{status: status, reason: reason}
}

// plainAnswer writes a short text answer, text as given.
func plainAnswer(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	w.Write([]byte(text))
}

// jsonRefusal answers a webhook sender that refused a message, without echoing
// anything it sent.
func jsonRefusal(w http.ResponseWriter, status int, reason string) {
	writeJSON(w, status, map[string]string{"error": reason})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
