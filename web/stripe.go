package web

import (
	"net/http"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/ledger"
	"github.com/vend-shop/vend/provider/stripe"
)

// Stripe is the configuration of the Stripe webhook endpoint.
type Stripe struct {
	Secret string // the endpoint's signing secret; "" refuses every event
	Config stripe.Config
}

// stripe handles POST /webhooks/stripe. Stripe counts any 2xx as delivered and
// resends anything else for three days.
func (s *Server) stripe() signedProvider {
	var cfg Stripe
	if s.Stripe != nil {
		cfg = *s.Stripe
	}
	return signedProvider{
		name:      stripe.Provider,
		mediaType: jsonType,
		verify: func(body []byte, h http.Header) error {
			if cfg.Secret == "" {
				return noSecret("signing secret", "stripe.secret")
			}
			return stripe.VerifySignature(h.Get("Stripe-Signature"), body, cfg.Secret, s.Now())
		},
		normalize: func(body []byte, _ http.Header) (vend.Event, error) { return stripe.Normalize(body, cfg.Config) },
		answer: func(w http.ResponseWriter, _ *http.Request, _ vend.Event, res *ledger.Result) {
			writeJSON(w, http.StatusOK, map[string]string{"received": string(res.Verdict)})
		},
		refuse: jsonRefusal,
	}
}
