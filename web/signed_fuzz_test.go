package web

import (
	"bytes"
	"net/http"
	"net/url"
	"testing"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/provider/digistore24"
)

// FuzzDigistore24IPN posts any form body, correctly signed, to the Digistore24
// endpoint: whatever it says, vend answers OK or a refusal, stores it exactly
// once byte for byte with a final verdict, and never fails inside.
func FuzzDigistore24IPN(f *testing.F) {
	for _, s := range []digistore24.Sim{
		{ProductID: "512345", Amount: 1995, Currency: "USD", Test: true},
		{Event: "on_refund", OrderID: "ORD1", ProductID: "512345", Amount: 1995, Currency: "USD", Test: true},
		{Event: "on_payment_missed", OrderID: "ORD1", ProductID: "512345", Test: true},
		{Event: "last_paid_day", OrderID: "ORD1", ProductID: "EBOOK-001", Test: true},
	} {
		f.Add(s.Body(""))
	}
	f.Add([]byte("event=on_payment&api_mode=test&order_id=A&product_id=AUDIO-002&amount=-1&currency=usd"))
	f.Add([]byte("event=connection_test&api_mode=live"))
	f.Add([]byte("&&&=%%;"))
	env := newTestEnv(f, func(s *Server) { s.IPNRate, s.IPNBurst = 1e9, 1e9 })
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > ds24MaxBody/2 {
			t.Skip()
		}
		env.tb = t
		form := digistore24.ParseForm(body)
		signed := append(bytes.Clone(body), "&sha_sign="+url.QueryEscape(digistore24.Sign(form.Pairs, ds24Passphrase, false))...)
		before := env.LastNotification()
		a := env.Post("/ipn/digistore24", formType, signed, nil)
		switch a.Status {
		case http.StatusOK, http.StatusUnauthorized, http.StatusUnprocessableEntity:
		default:
			t.Fatalf("answered %d %q", a.Status, a.Body)
		}
		n := env.LastNotification()
		if n == nil || before != nil && n.ID != before.ID+1 {
			t.Fatalf("not exactly one notification stored: before %v, after %v", before, n)
		}
		if !bytes.Equal(n.Body, signed) {
			t.Fatalf("stored body %q, want %q", n.Body, signed)
		}
		if n.Verdict == vend.VerdictReceived || n.Verdict == vend.VerdictError {
			t.Fatalf("answered %d but the notification is left %s", a.Status, n.Verdict)
		}
		if (a.Status == http.StatusOK) != (n.Verdict == vend.VerdictApplied || n.Verdict == vend.VerdictDuplicate || n.Verdict == vend.VerdictIgnored) {
			t.Fatalf("answered %d with verdict %s", a.Status, n.Verdict)
		}
	})
}
