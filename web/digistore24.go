package web

import (
	"context"
	"net/http"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/ledger"
	"github.com/vend-shop/vend/provider/digistore24"
	"github.com/vend-shop/vend/store"
)

// Digistore24 is the configuration of the Digistore24 IPN endpoint.
type Digistore24 struct {
	Passphrase string // the connection's IPN passphrase; "" refuses every IPN
	Config     digistore24.Config
	// AnswerLink puts the buyer's download link into the answer, which
	// Digistore24 shows on its thank-you page and receipt; ThankyouPage sends
	// the buyer to vend's download page instead of Digistore24's.
	AnswerLink, ThankyouPage bool
}

// digistore24 handles POST /ipn/digistore24. Digistore24 counts a message as
// delivered when the answer starts with the line OK; anything else is resent for
// ten days and shown to the seller, with the ERROR line as the reason.
func (s *Server) digistore24() signedProvider {
	var cfg Digistore24
	if s.Digistore24 != nil {
		cfg = *s.Digistore24
	}
	return signedProvider{
		name:      digistore24.Provider,
		mediaType: formType,
		verify: func(body []byte, _ http.Header) error {
			if cfg.Passphrase == "" {
				return noSecret("IPN passphrase", "digistore24.passphrase")
			}
			conv, err := digistore24.Verify(digistore24.ParseForm(body), cfg.Passphrase)
			if err == nil && conv != digistore24.OriginalKeys {
				// Genuine, but signed in a way few accounts use: worth a note.
				s.Logger.Info("digistore24 message signed with " + conv.String())
			}
			return err
		},
		normalize: func(body []byte, _ http.Header) (vend.Event, error) {
			// The event comes from the message as signed, not from its raw bytes.
			f := digistore24.ParseForm(body)
			conv, err := digistore24.Verify(f, cfg.Passphrase)
			if err != nil {
				return vend.Event{}, err
			}
			signed, err := f.Signed(conv)
			if err != nil {
				return vend.Event{}, err
			}
			return digistore24.Normalize(signed, cfg.Config)
		},
		answer: func(w http.ResponseWriter, r *http.Request, ev vend.Event, res *ledger.Result) {
			a := digistore24.Answer{}
			if ev.Kind == vend.EventPayment && (cfg.AnswerLink || cfg.ThankyouPage) {
				a = s.digistore24Answer(context.WithoutCancel(r.Context()), ev, cfg)
			}
			plainAnswer(w, http.StatusOK, a.Body())
		},
		refuse: func(w http.ResponseWriter, status int, reason string) {
			plainAnswer(w, status, digistore24.ErrorBody(reason))
		},
	}
}

// digistore24Answer shows the buyer's download link on Digistore24's pages, when
// the seller turned that on and the item's grant is active.
func (s *Server) digistore24Answer(ctx context.Context, ev vend.Event, cfg Digistore24) digistore24.Answer {
	var g *vend.Grant
	err := s.DB.View(ctx, func(tx store.Tx) error {
		var err error
		g, err = grantOf(ctx, tx, ev.Provider, ev.OrderRef, ev.ProductID)
		return err
	})
	if err != nil || g.State != vend.GrantActive {
		return digistore24.Answer{}
	}
	url := s.BaseURL + s.pageURL(g)
	a := digistore24.Answer{HideOn: []string{"invoice"}}
	if cfg.AnswerLink {
		a.Headline, a.DownloadURL = "Your download", url
	}
	if cfg.ThankyouPage {
		a.ThankyouURL = url
	}
	return a
}

// handleProbe answers the GET Digistore24 sends when a connection is saved.
func handleProbe(w http.ResponseWriter, _ *http.Request) {
	plainAnswer(w, http.StatusOK, digistore24.Answer{}.Body())
}
