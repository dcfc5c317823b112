package web

import (
	"net/http"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/ledger"
	"github.com/vend-shop/vend/provider/generic"
)

// Generic is the configuration of the Standard Webhooks endpoint.
type Generic struct {
	Secret string // whsec_ + base64; "" refuses every message
	Config generic.Config
}

// generic handles POST /webhooks/generic: vend's own small JSON event format,
// signed the Standard Webhooks way, for any shop that can send a webhook. Any
// 2xx counts as delivered; senders resend the rest.
func (s *Server) generic() signedProvider {
	var cfg Generic
	if s.Generic != nil {
		cfg = *s.Generic
	}
	return signedProvider{
		name:      generic.Provider,
		mediaType: jsonType,
		verify: func(body []byte, h http.Header) error {
			if cfg.Secret == "" {
				return noSecret("secret", "generic.secret")
			}
			return generic.Verify(h, body, cfg.Secret, s.Now())
		},
		normalize: func(body []byte, h http.Header) (vend.Event, error) {
			return generic.Normalize(h.Get(generic.HeaderID), body, cfg.Config)
		},
		answer: func(w http.ResponseWriter, _ *http.Request, _ vend.Event, res *ledger.Result) {
			writeJSON(w, http.StatusOK, map[string]string{"received": string(res.Verdict)})
		},
		refuse: jsonRefusal,
	}
}
