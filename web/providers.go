package web

import (
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/intake"
)

// The providers' endpoints: each reads a bounded body, hands it to the intake
// and writes the answer the intake's outcome gets. The steps themselves, for
// every provider and replay, are in package intake.

// bodyTimeout is how long a request may take to send its body. Providers and
// browsers send small bodies at once; a client that stalls is cut off instead
// of holding its connection (and nothing else: the work starts only once the
// body is in).
const bodyTimeout = 10 * time.Second

// Refused links per client address. A WEBSALE link is AES without a MAC (in
// the CBC and ECB readings), so a buyer who changes bytes of their own link
// can, about once in a few thousand tries, make one that still parses, for
// another product of their order. Honest buyers never send a refused link more
// than a few times; this budget stretches the thousands of tries over months
// per address.
const (
	linkFailureEvery = 30 * time.Minute // one more refusal allowed per this
	linkFailureBurst = 10
)

// handleMessage receives a provider's message: the whole body first, within
// bodyTimeout and the provider's MaxBody, and only then a verification slot
// (for a provider that posts back) and the intake. The message is stored
// before it is answered; the answer follows the provider's rules
// (intake.Status).
func (s *Server) handleMessage(p vend.Provider) http.HandlerFunc {
	info := p.Info()
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(w, r, info.MaxBody)
		if err != nil {
			status := vend.HTTPStatus(err)
			if status == http.StatusRequestEntityTooLarge {
				s.Logger.Warn("notification too large", "provider", info.Name, "limit", info.MaxBody, "remote", r.RemoteAddr)
			} else {
				status = http.StatusBadRequest
			}
			writeReply(w, status, p.Answer(&vend.Outcome{Refusal: vend.RefusalEmpty, Reason: http.StatusText(status)}))
			return
		}
		if info.Postback {
			release, ok := s.postbackSlot(w, r)
			if !ok {
				return
			}
			defer release()
		}
		n := &vend.Notification{Provider: info.Name, RemoteAddr: r.RemoteAddr, Headers: safeHeaders(r.Header), Body: body}
		o := s.Intake.Receive(r.Context(), p, n)
		writeReply(w, intake.Status(p, o), p.Answer(o))
	}
}

// readBody reads a request's whole body, at most limit bytes (a larger one is
// an ETOOLARGE error), within bodyTimeout.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	// Not every connection supports a deadline (HTTP/2 before Go's support,
	// a test's recorder); the server's ReadTimeout still holds there.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(bodyTimeout))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	// Lifted once the body is in: the server keeps reading the connection to
	// notice a client that hangs up, and a deadline left there would end the
	// request's context while the work (a postback, say) still runs.
	_ = rc.SetReadDeadline(time.Time{})
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, vend.Errorf(vend.ETOOLARGE, "The request is too large: at most %d KiB.", limit>>10)
	} else if err != nil { // the client stalled or hung up
		return nil, vend.Errorf(vend.EINVALID, "The request's body did not arrive whole.")
	}
	return body, nil
}

// handleProbe answers the GET a provider sends when the seller saves its
// endpoint, as it answers an accepted message.
func handleProbe(p vend.Provider) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		writeReply(w, http.StatusOK, p.Answer(&vend.Outcome{Notification: &vend.Notification{}, Refusal: vend.RefusalNone}))
	}
}

// handleLink turns a buyer's link (WEBSALE's /websale?dldata=…, or the site's
// root with dldata) into the buyer's download page. Every refusal gives the
// buyer the same page and status, whatever went wrong.
func (s *Server) handleLink(p vend.Provider) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// Every link takes one of the address's refusals up front and gives it
		// back once it led to a grant: links sent at once cannot all slip
		// through on one.
		giveBack, ok := s.linkFailures.take(r.RemoteAddr, s.Now())
		if !ok {
			s.Logger.Warn("link refused: too many refused links from this address", "provider", p.Info().Name, "remote", r.RemoteAddr)
			s.refused("link")
			s.Error(w, r, vend.Errorf(vend.ENOTFOUND, "%s", p.Answer(&vend.Outcome{Refusal: vend.RefusalForged}).Body))
			return
		}
		n := &vend.Notification{Provider: p.Info().Name, RemoteAddr: r.RemoteAddr, Headers: safeHeaders(r.Header),
			Body: []byte(r.URL.RawQuery)}
		o := s.Intake.Link(r.Context(), p, n)
		switch o.Refusal {
		case vend.RefusalNone:
			giveBack()
			http.Redirect(w, r, s.pageURL(o.Grant), http.StatusSeeOther)
		case vend.RefusalUnconfigured: // links are off: not the buyer's refusal
			giveBack()
			s.Error(w, r, vend.Errorf(vend.ENOTFOUND, "%s", p.Answer(o).Body))
		case vend.RefusalFailed:
			s.Error(w, r, errors.New(o.Reason))
		default:
			s.Error(w, r, vend.Errorf(vend.ENOTFOUND, "%s", p.Answer(o).Body))
		}
	}
}

// linkProvider is the provider whose messages are buyers' links, or nil.
func (s *Server) linkProvider() vend.Provider {
	for _, p := range s.Intake.Providers {
		if p.Info().Link {
			return p
		}
	}
	return nil
}

func writeReply(w http.ResponseWriter, status int, r vend.Reply) {
	if r.ContentType != "" {
		w.Header().Set("Content-Type", r.ContentType)
	}
	w.WriteHeader(status)
	w.Write(r.Body)
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
