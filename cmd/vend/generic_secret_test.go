package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/config"
	"github.com/vend-shop/vend/provider/generic"
)

// TestGenericSecret_WithAndWithoutPrefix loads the Standard Webhooks reference
// vector's secret (protocols.md 4.2, from the reference libraries' tests) as
// generic.secret both with and without its whsec_ prefix, as the reference
// libraries accept it, and checks the registered provider verifies the
// vector's message with either.
func TestGenericSecret_WithAndWithoutPrefix(t *testing.T) {
	t.Parallel()
	const (
		secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		id     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
		ts     = "1614265330"
		body   = `{"test": 2432232314}`
		sig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	)
	for _, s := range []string{secret, strings.TrimPrefix(secret, "whsec_")} {
		t.Run(s, func(t *testing.T) {
			t.Parallel()
			env := []string{"VEND_GENERIC_SECRET=" + s}
			if _, errOut, code := runMain(t, env, "config", "check"); code != 0 {
				t.Fatalf("vend config check: exit %d: %s", code, errOut)
			}
			cfg, err := config.Load("", env)
			if err != nil {
				t.Fatal(err)
			}
			p := registered(t, cfg, generic.Provider)
			h := http.Header{}
			h.Set(generic.HeaderID, id)
			h.Set(generic.HeaderTimestamp, ts)
			h.Set(generic.HeaderSignature, sig)
			n := &vend.Notification{Provider: generic.Provider, Headers: h, Body: []byte(body)}
			if err := p.Verify(context.Background(), n, time.Unix(1614265330, 0)); err != nil {
				t.Errorf("the reference vector is refused: %v", err)
			}
			n.Body = []byte(`{"test": 2432232315}`)
			if err := p.Verify(context.Background(), n, time.Unix(1614265330, 0)); err == nil {
				t.Error("an altered body is accepted")
			}
		})
	}
}

// registered is the provider called name of the registry built from cfg.
func registered(tb testing.TB, cfg config.Config, name string) vend.Provider {
	tb.Helper()
	ps, err := providers(cfg, nil)
	if err != nil {
		tb.Fatal(err)
	}
	for _, p := range ps {
		if p.Info().Name == name {
			return p
		}
	}
	tb.Fatalf("no provider %s is registered", name)
	return nil
}
