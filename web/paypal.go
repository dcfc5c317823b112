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
	n, status := s.receive(w, r, paypal.Provider, formType)
	if n == nil {
		w.WriteHeader(status)
		return
	}
	w.WriteHeader(s.processPayPal(r.Context(), n, status, false))
}

// processPayPal settles a stored IPN: verified by the postback to PayPal
// (outside any transaction), normalized and applied, its verdict recorded. status
// is receive's refusal, or 0. It returns the status PayPal's answer gets and
// writes nothing, so a replay runs the very same steps. A replay (replay set)
// that PayPal calls INVALID is not counted as a forgery sent now.
func (s *Server) processPayPal(ctx context.Context, n *vend.Notification, status int, replay bool) int {
	log := s.Logger.With("provider", paypal.Provider, "notification", n.ID)
	if status != 0 {
		return s.conclude(ctx, n, vend.VerdictRejected, n.Reason, status)
	}
	if err := s.PayPal.Verifier.Verify(ctx, n.Body); errors.Is(err, paypal.ErrInvalid) {
		log.Warn("ipn forged or altered: PayPal answered INVALID")
		status := s.conclude(ctx, n, vend.VerdictInvalid, "PayPal answered INVALID: it did not send this message", http.StatusOK)
		if !replay {
			s.noteForgery(ctx, paypal.Provider)
		}
		return status
	} else if err != nil {
		log.Error("ipn not verified now; PayPal will resend", "error", err)
		return s.conclude(ctx, n, vend.VerdictError, "verification failed: "+err.Error(), http.StatusInternalServerError)
	}
	form, err := paypal.ParseForm(n.Body)
	if err != nil {
		log.Warn("ipn malformed", "error", err)
		return s.conclude(ctx, n, vend.VerdictRejected, "malformed message: "+err.Error(), http.StatusOK)
	}
	ev, err := paypal.Normalize(form, s.PayPal.Config)
	var rej *paypal.RejectError
	if errors.As(err, &rej) {
		log.Warn("ipn refused", "reason", rej.Reason)
		return s.conclude(ctx, n, vend.VerdictRejected, rej.Reason, http.StatusOK)
	} else if err != nil {
		return s.conclude(ctx, n, vend.VerdictRejected, err.Error(), http.StatusOK)
	}
	// The ledger step runs to its end even if PayPal hung up meanwhile: it is
	// one short transaction, and a resend then finds it done.
	res, err := s.Ledger.Apply(context.WithoutCancel(ctx), n, ev)
	if err != nil {
		log.Error("ipn not applied; PayPal will resend", "error", err)
		return s.conclude(ctx, n, vend.VerdictError, "not applied: internal error; the resend applies it", http.StatusInternalServerError)
	}
	switch res.Verdict {
	case vend.VerdictRejected:
		log.Warn("ipn refused", "key", ev.Key, "reason", res.Reason)
	default:
		log.Info("ipn "+string(res.Verdict), "key", ev.Key, "order", res.OrderID, "changes", strings.Join(res.Changes, "; "))
	}
	return http.StatusOK
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
	var status int
	n.Reason, status = refusal(r.Header.Get("Content-Type"), body, mediaType)
	return n, status
}

// refusal says why a message must be refused before anything else is looked
// at — another content type than mediaType, an empty body — and with which 4xx
// status; or "", 0.
func refusal(contentType string, body []byte, mediaType string) (string, int) {
	if contentType != "" {
		if mt, _, _ := mime.ParseMediaType(contentType); mt != mediaType {
			return "content type " + contentType + " is not " + mediaType, http.StatusUnsupportedMediaType
		}
	}
	if len(body) == 0 {
		return "empty body", http.StatusBadRequest
	}
	return "", 0
}

// conclude records the verdict even when the sender has hung up (which is often
// why verification failed), so no stored message is left looking unexamined. It
// returns status, or 500 if the verdict could not be stored.
func (s *Server) conclude(ctx context.Context, n *vend.Notification, v vend.Verdict, reason string, status int) int {
	if err := s.Ledger.Conclude(context.WithoutCancel(ctx), n, v, reason); err != nil {
		s.Logger.Error("notification verdict not stored", "notification", n.ID, "error", err)
		return http.StatusInternalServerError
	}
	return status
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
