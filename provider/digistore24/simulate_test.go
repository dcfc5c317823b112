package digistore24

import (
	"regexp"
	"strings"
	"testing"

	"github.com/vend-shop/vend"
)

// sampleSim is the payment of protocols.md 2.10.
func sampleSim() Sim {
	return Sim{
		OrderID: "AB12CD34", ProductID: "512345", ProductName: `E-Book "Go Patterns"`, TxnID: "3999938",
		Amount: 4900, VAT: 782, Email: "kunde@example.de", FirstName: "Jörg", LastName: "Müller",
		Custom: "m:42;k:ebook", Test: true,
	}
}

// TestSim_Samples shows the simulator writes exactly what the PHP reference
// wrote: same fields, order, escaping and signature.
func TestSim_Samples(t *testing.T) {
	refund := sampleSim()
	refund.Event, refund.TxnID = "on_refund", "3999950"
	chargeback := sampleSim()
	chargeback.Event, chargeback.TxnID = "on_chargeback", "3999960"
	tests := []struct {
		sample string
		body   []byte
	}{
		{"connection-test.ipn", ConnectionTest(testPassphrase)},
		{"payment.ipn", sampleSim().Body(testPassphrase)},
		{"refund.ipn", refund.Body(testPassphrase)},
		{"chargeback.ipn", chargeback.Body(testPassphrase)},
	}
	for _, tt := range tests {
		t.Run(tt.sample, func(t *testing.T) {
			if want := readSample(t, tt.sample); string(tt.body) != string(want) {
				t.Fatalf("body\n got %s\nwant %s", tt.body, want)
			}
		})
	}
}

func TestSim_RoundTrip(t *testing.T) {
	joerg := vend.Buyer{Email: "kunde@example.de", Name: "Jörg Müller"}
	onlyEmail := vend.Buyer{Email: "kunde@example.de"}
	tests := []struct {
		event string
		edit  func(*Sim)
		want  vend.Event
	}{
		{"on_payment", nil, vend.Event{Kind: vend.EventPayment, TxnID: "3999938", Key: "on_payment:3999938", Custom: "m:42;k:ebook",
			Buyer: joerg, Language: "de", Total: 4900, Currency: "EUR",
			Items: []vend.EventItem{{ProductID: "ebook-go", Name: `E-Book "Go Patterns"`, Quantity: 2, Amount: 4900}}}},
		{"on_payment_subscription_signup", nil, vend.Event{Kind: vend.EventPayment, TxnID: "3999938", Key: "on_payment_subscription_signup:3999938",
			Custom: "m:42;k:ebook", Buyer: joerg, Language: "de", Total: 4900, Currency: "EUR",
			Items: []vend.EventItem{{ProductID: "ebook-go", Name: `E-Book "Go Patterns"`, Quantity: 2, Amount: 4900}}}},
		{"on_refund", func(s *Sim) { s.ParentTxnID = "3999938"; s.TxnID = "3999950" }, vend.Event{Kind: vend.EventRefund,
			TxnID: "3999950", ParentTxnID: "3999938", Key: "on_refund:3999950", Buyer: onlyEmail, Total: 4900, Currency: "EUR", Full: true}},
		{"on_chargeback", func(s *Sim) { s.TxnID = "3999960" }, vend.Event{Kind: vend.EventChargeback,
			TxnID: "3999960", Key: "on_chargeback:3999960", Buyer: onlyEmail, Total: 4900, Currency: "EUR"}},
		{"on_payment_missed", func(s *Sim) { s.StopReason = "card expired" }, vend.Event{Kind: vend.EventSuspend,
			TxnID: "3999938", Key: "on_payment_missed:3999938", Reason: "card expired", Buyer: onlyEmail}},
		{"on_rebill_resumed", nil, vend.Event{Kind: vend.EventResume, TxnID: "3999938", Key: "on_rebill_resumed:3999938", Buyer: onlyEmail}},
		{"last_paid_day", nil, vend.Event{Kind: vend.EventEnd, TxnID: "3999938", Key: "last_paid_day:3999938", Buyer: onlyEmail}},
		{"on_rebill_cancelled", nil, vend.Event{Kind: vend.EventIgnore, TxnID: "3999938", Key: "on_rebill_cancelled:3999938", Buyer: onlyEmail,
			Reason: "rebilling was cancelled: the paid period runs on until last_paid_day"}},
	}
	for _, tt := range tests {
		t.Run(tt.event, func(t *testing.T) {
			s := sampleSim()
			s.Event, s.Quantity, s.Language = tt.event, 2, "de"
			if tt.edit != nil {
				tt.edit(&s)
			}
			f := ParseForm(s.Body(testPassphrase))
			if c, err := Verify(f, testPassphrase); err != nil || c != OriginalKeys {
				t.Fatalf("Verify = %v, %v", c, err)
			}
			want := tt.want
			want.Provider, want.OrderRef, want.ProductID, want.RawStatus, want.Test = Provider, "AB12CD34", "ebook-go", tt.event, true
			checkEvent(t, mustNormalize(t, f, testConfig), want)
		})
	}
}

func TestSim_Defaults(t *testing.T) {
	f := ParseForm(Sim{ProductID: "1", Amount: 100}.Body("p"))
	if f.Get("event") != "on_payment" || f.Get("api_mode") != "live" || f.Get("currency") != "EUR" ||
		f.Get("quantity") != "1" || f.Get("billing_type") != "single_payment" || f.Get("ipn_version") != "1.6" {
		t.Errorf("defaults: %+v", f.Pairs)
	}
	if !regexp.MustCompile(`^[A-Z0-9]{8}$`).MatchString(f.Get("order_id")) || !regexp.MustCompile(`^[1-9][0-9]{7}$`).MatchString(f.Get("transaction_id")) {
		t.Errorf("ids: order %q, transaction %q", f.Get("order_id"), f.Get("transaction_id"))
	}
	ev := mustNormalize(t, f, Config{})
	if ev.Kind != vend.EventPayment || ev.Test || ev.Total != 100 {
		t.Errorf("event %+v", ev)
	}

	missed := ParseForm(Sim{Event: "on_payment_missed", OrderID: "O", ProductID: "1"}.Body("p"))
	if _, ok := missed.Lookup("transaction_id"); ok || missed.Get("billing_type") != "subscription" {
		t.Errorf("missed payment: %+v", missed.Pairs)
	}
	if ev := mustNormalize(t, missed, Config{}); ev.TxnID != ev.Key || ev.Kind != vend.EventSuspend {
		t.Errorf("missed payment event %+v", ev)
	}

	if got := ParseForm(Sim{}.Body("")).Get("sha_sign"); got != "" {
		t.Errorf("sha_sign %q without a passphrase", got)
	}
}

func TestSim_WithUpsells(t *testing.T) {
	main := sampleSim()
	main.OrderID, main.UpsellNo = "", 7
	sims := main.WithUpsells(SimItem{ProductID: "2", Name: "Two", Amount: 100, TxnID: "T2"}, SimItem{ProductID: "3", Amount: 200})
	if len(sims) != 3 {
		t.Fatalf("%d sims", len(sims))
	}
	for i, s := range sims {
		if s.OrderID == "" || s.OrderID != sims[0].OrderID || s.UpsellNo != i || s.Custom != main.Custom || s.Email != main.Email {
			t.Errorf("sim %d: %+v", i, s)
		}
		if i > 0 && s.VAT != 0 {
			t.Errorf("sim %d carries the main product's VAT", i)
		}
	}
	if sims[0].ProductID != "512345" || sims[1].ProductID != "2" || sims[1].TxnID != "T2" || sims[2].Amount != 200 || sims[2].TxnID != "" {
		t.Errorf("items: %+v", sims)
	}
}

func TestNewIDs(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		for _, id := range []string{NewOrderID(), NewTxnID()} {
			if seen[id] {
				t.Fatalf("duplicate id %q", id)
			}
			seen[id] = true
		}
	}
}

func FuzzSimBody(f *testing.F) {
	f.Add("on_payment", "m:a;t:b&x=1", "Jörg", "Müller", "s3cret", int64(4900), true)
	f.Add("on_refund", "a+b=c%", "\xff", "&amp;", "p", int64(-5), false)
	f.Add("connection_test", "", "", "", "TestPassphrase123", int64(0), true)
	f.Add("on_payment_missed", "\r\n", " ", "", "x", int64(1), false)
	f.Fuzz(func(t *testing.T, event, custom, first, last, passphrase string, cents int64, test bool) {
		s := sampleSim()
		s.Event, s.Custom, s.FirstName, s.LastName, s.Test = event, custom, first, last, test
		s.Amount = vend.Amount(cents % 1e12)
		f := ParseForm(s.Body(passphrase))
		c, err := Verify(f, passphrase)
		if passphrase == "" {
			if err == nil {
				t.Fatal("a message without passphrase verified")
			}
			return
		}
		if err != nil || c != OriginalKeys {
			t.Fatalf("own message: Verify = %v, %v", c, err)
		}
		ev, err := Normalize(f, Config{Sandbox: test})
		if err != nil {
			// Only an event name that is blank once cleaned is refused ("" is
			// on_payment in the simulator).
			if event == "" || strings.TrimSpace(clean(event)) != "" {
				t.Fatalf("Normalize: %v", err)
			}
			return
		}
		checkEventInvariants(t, ev, test)
		if ev.Kind == vend.EventPayment && (ev.Custom != clean(custom) || ev.Total != s.Amount.Abs() || ev.OrderRef != "AB12CD34") {
			t.Fatalf("payment came back as %+v", ev)
		}
	})
}
