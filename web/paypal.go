package web

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/provider/paypal"
)

// handlePayPalIPN receives a PayPal IPN. The raw message is stored before anything
// else; the answer follows PayPal's rules: 200 with an empty body once the message
// is settled (applied, duplicate, forged or refused: a resend would change nothing),
// 500 when it could not be verified or stored now, so PayPal sends it again.
func (s *Server) handlePayPalIPN(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	n, status := s.receive(w, r, paypal.Provider, formType)
	if n == nil {
		w.WriteHeader(status)
		return
	}
	log := s.Logger.With("provider", paypal.Provider, "notification", n.ID)
	if status != 0 {
		s.conclude(w, r, n, vend.VerdictRejected, n.Reason, status)
		return
	}
	if err := s.PayPal.Verifier.Verify(ctx, n.Body); errors.Is(err, paypal.ErrInvalid) {
		log.Warn("ipn forged or altered: PayPal answered INVALID")
		s.conclude(w, r, n, vend.VerdictInvalid, "PayPal answered INVALID: it did not send this message", http.StatusOK)
		s.noteForgery(ctx, paypal.Provider)
		return
	} else if err != nil {
		log.Error("ipn not verified now; PayPal will resend", "error", err)
		s.conclude(w, r, n, vend.VerdictError, "verification failed: "+err.Error(), http.StatusInternalServerError)
		return
	}
	form, err := paypal.ParseForm(n.Body)
	if err != nil {
		log.Warn("ipn malformed", "error", err)
		s.conclude(w, r, n, vend.VerdictRejected, "malformed message: "+err.Error(), http.StatusOK)
		return
	}
	ev, err := paypal.Normalize(form, s.PayPal.Config)
	var rej *paypal.RejectError
	if errors.As(err, &rej) {
		log.Warn("ipn refused", "reason", rej.Reason)
		s.conclude(w, r, n, vend.VerdictRejected, rej.Reason, http.StatusOK)
		return
	} else if err != nil {
		s.conclude(w, r, n, vend.VerdictRejected, err.Error(), http.StatusOK)
		return
	}
	// The ledger step runs to its end even if PayPal hung up meanwhile: it is
	// one short transaction, and a resend then finds it done.
	res, err := s.Ledger.Apply(context.WithoutCancel(ctx), n, ev)
	if err != nil {
		log.Error("ipn not applied; PayPal will resend", "error", err)
		s.conclude(w, r, n, vend.VerdictError, "not applied: internal error; the resend applies it", http.StatusInternalServerError)
		return
	}
	switch res.Verdict {
	case vend.VerdictRejected:
		log.Warn("ipn refused", "key", ev.Key, "reason", res.Reason)
	default:
		log.Info("ipn "+string(res.Verdict), "key", ev.Key, "order", res.OrderID, "changes", strings.Join(res.Changes, "; "))
	}
	w.WriteHeader(http.StatusOK)
}

// Media types of provider bodies.
const (
	formType = "application/x-www-form-urlencoded"
	jsonType = "application/json"
)

// receive reads and stores a provider's request. It returns the stored
// notification and 0, or the notification and a 4xx status for a request that is
// stored but must be refused (another content type than mediaType, empty), or
// nil and a status when nothing could be stored.
func (s *Server) receive(w http.ResponseWriter, r *http.Request, provider, mediaType string) (*vend.Notification, int) {
	n, status := s.read(w, r, provider, mediaType)
	if n == nil {
		return nil, status
	}
	reason := n.Reason
	n.Reason = "" // stored as received; the caller concludes
	if err := s.Ledger.Receive(r.Context(), n); err != nil {
		s.Logger.Error("notification not stored", "provider", provider, "error", err)
		return nil, http.StatusInternalServerError
	}
	n.Reason = reason
	return n, status
}

// read reads a provider's request into a notification, not yet stored. It
// returns the notification and 0, or the notification, a reason and a 4xx status
// when it must be refused (another content type than mediaType, empty), or nil
// and a status when the body could not be read.
func (s *Server) read(w http.ResponseWriter, r *http.Request, provider, mediaType string) (*vend.Notification, int) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxNotificationBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		s.Logger.Warn("notification too large", "provider", provider, "limit", MaxNotificationBytes)
		return nil, http.StatusRequestEntityTooLarge
	} else if err != nil {
		return nil, http.StatusBadRequest
	}
	n := &vend.Notification{Provider: provider, RemoteAddr: r.RemoteAddr, Headers: safeHeaders(r.Header), Body: body}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, _ := mime.ParseMediaType(ct); mt != mediaType {
			n.Reason = "content type " + ct + " is not " + mediaType
			return n, http.StatusUnsupportedMediaType
		}
	}
	if len(body) == 0 {
		n.Reason = "empty body"
		return n, http.StatusBadRequest
	}
	return n, 0
}

// conclude records the verdict even when the sender has hung up (which is often
// why verification failed), so no stored message is left looking unexamined.
func (s *Server) conclude(w http.ResponseWriter, r *http.Request, n *vend.Notification, v vend.Verdict, reason string, status int) {
	if err := s.Ledger.Conclude(context.WithoutCancel(r.Context()), n, v, reason); err != nil {
		s.Logger.Error("notification verdict not stored", "notification", n.ID, "error", err)
		status = http.StatusInternalServerError
	}
	w.WriteHeader(status)
}

// safeHeaders keeps the request headers minus credentials, which must never sit
// in a log a seller may share.
func safeHeaders(h http.Header) map[string][]string {
	out := make(map[string][]string, len(h))
	for k, v := range h {
		switch http.CanonicalHeaderKey(k) {
		case "Authorization", "Cookie", "Proxy-Authorization":
			continue
		}
		out[k] = v
	}
	return out
}
