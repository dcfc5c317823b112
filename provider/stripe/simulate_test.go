package stripe

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vend-shop/vend"
)

const simSecret = "whsec_sim_secret_for_tests"

var simNow = time.Date(2025, 3, 3, 18, 15, 2, 0, time.UTC)

func baseSim() Sim {
	return Sim{
		EventID: "evt_sim", SessionID: "cs_test_sim", PaymentIntent: "pi_sim", ChargeID: "ch_sim", DisputeID: "dp_sim",
		Items: []SimItem{{ProductID: "ebook", Amount: 1995}}, Email: "buyer@example.com", Name: "Jörg Müller",
	}
}

// TestSim_RoundTrip: every simulated event verifies and normalizes to what it
// describes.
func TestSim_RoundTrip(t *testing.T) {
	joerg := vend.Buyer{Email: "buyer@example.com", Name: "Jörg Müller"}
	ebook := []vend.EventItem{{ProductID: "ebook", Quantity: 1, Amount: 1995}}
	payment := vend.Event{
		Provider: Provider, Kind: vend.EventPayment, OrderRef: "pi_sim", TxnID: "pi_sim", Key: "evt_sim",
		RawStatus: "checkout.session.completed/paid", Buyer: joerg, Items: ebook, Total: 1995, Currency: "USD", Test: true, At: simNow,
	}
	later := vend.Event{Provider: Provider, OrderRef: "pi_sim", ParentTxnID: "pi_sim", Key: "evt_sim", Buyer: joerg, Currency: "USD", Test: true, At: simNow}
	sim := func(f func(*Sim)) Sim {
		s := baseSim()
		f(&s)
		return s
	}
	event := func(base vend.Event, f func(*vend.Event)) vend.Event {
		f(&base)
		return base
	}
	tests := []struct {
		name string
		sim  Sim
		cfg  Config
		want vend.Event
	}{
		{"checkout paid", baseSim(), sandbox, payment},
		{"checkout live", sim(func(s *Sim) { s.Live = true }), Config{}, event(payment, func(ev *vend.Event) { ev.Test = false })},
		{"checkout unpaid", sim(func(s *Sim) { s.PaymentStatus = "unpaid" }), sandbox, event(payment, func(ev *vend.Event) {
			ev.Kind, ev.RawStatus, ev.Reason = vend.EventPending, "checkout.session.completed/unpaid", "awaiting asynchronous payment"
		})},
		{"async payment succeeded", sim(func(s *Sim) { s.Type = TypeCheckoutAsyncSucceeded }), sandbox, event(payment, func(ev *vend.Event) {
			ev.RawStatus = TypeCheckoutAsyncSucceeded
		})},
		{"async payment failed", sim(func(s *Sim) { s.Type = TypeCheckoutAsyncFailed }), sandbox, event(payment, func(ev *vend.Event) {
			ev.Kind, ev.RawStatus, ev.Reason = vend.EventFailed, TypeCheckoutAsyncFailed, "asynchronous payment failed"
		})},
		{"several products in yen", sim(func(s *Sim) {
			s.Currency = "jpy"
			s.Items = []SimItem{{ProductID: "ebook", Amount: 50000}, {ProductID: "audio", Quantity: 2, Amount: 100000}}
		}), sandbox, event(payment, func(ev *vend.Event) {
			ev.Currency, ev.Total = "JPY", 150000
			ev.Items = []vend.EventItem{{ProductID: "ebook", Quantity: 1, Amount: 50000}, {ProductID: "audio", Quantity: 2, Amount: 100000}}
		})},
		{"product by client_reference_id", sim(func(s *Sim) { s.Items, s.Amount, s.ClientReferenceID = nil, 1995, "ebook" }), sandbox, payment},
		{"refund full", sim(func(s *Sim) { s.Type = TypeChargeRefunded }), sandbox, event(later, func(ev *vend.Event) {
			ev.Kind, ev.TxnID, ev.RawStatus, ev.Total, ev.Full = vend.EventRefund, "pi_sim:refund", TypeChargeRefunded, 1995, true
		})},
		{"refund partial", sim(func(s *Sim) { s.Type, s.Refunded = TypeChargeRefunded, 500 }), sandbox, event(later, func(ev *vend.Event) {
			ev.Kind, ev.TxnID, ev.RawStatus, ev.Total = vend.EventRefund, "pi_sim:refund", TypeChargeRefunded, 500
		})},
		{"dispute created", sim(func(s *Sim) { s.Type = TypeDisputeCreated }), sandbox, event(later, func(ev *vend.Event) {
			ev.Kind, ev.TxnID, ev.RawStatus, ev.Reason, ev.Total, ev.Buyer = vend.EventChargeback, "dp_sim", TypeDisputeCreated, "fraudulent", 1995, vend.Buyer{}
		})},
		{"dispute won", sim(func(s *Sim) { s.Type = TypeDisputeClosed }), sandbox, event(later, func(ev *vend.Event) {
			ev.Kind, ev.TxnID, ev.RawStatus, ev.Reason, ev.Total, ev.Buyer = vend.EventRestore, "dp_sim:won", TypeDisputeClosed+"/won", "fraudulent", 1995, vend.Buyer{}
		})},
		{"dispute lost", sim(func(s *Sim) { s.Type, s.DisputeStatus = TypeDisputeClosed, "lost" }), sandbox, event(later, func(ev *vend.Event) {
			ev.Kind, ev.TxnID, ev.RawStatus, ev.Reason, ev.Buyer, ev.Currency = vend.EventIgnore, "dp_sim:lost", TypeDisputeClosed+"/lost", "fraudulent", vend.Buyer{}, ""
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, header, err := tt.sim.Signed(simSecret, simNow)
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifySignature(header, body, simSecret, simNow.Add(time.Minute)); err != nil {
				t.Fatalf("VerifySignature: %v", err)
			}
			got, err := Normalize(body, tt.cfg)
			if err != nil {
				t.Fatalf("Normalize: %v\n%s", err, body)
			}
			checkEvent(t, got, tt.want)
		})
	}
}

func TestSim_Body_Defaults(t *testing.T) {
	s := Sim{Items: []SimItem{{ProductID: "ebook", Amount: 1995}}}
	body, err := s.Body()
	if err != nil {
		t.Fatal(err)
	}
	ev, err := Normalize(body, sandbox)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Kind != vend.EventPayment || ev.Currency != "USD" || ev.Total != 1995 {
		t.Errorf("defaults: %+v", ev)
	}
	if !regexp.MustCompile(`^evt_[A-Za-z0-9]{24}$`).MatchString(ev.Key) || !strings.HasPrefix(ev.OrderRef, "pi_") {
		t.Errorf("ids: Key %q, OrderRef %q", ev.Key, ev.OrderRef)
	}
	if time.Since(ev.At) > time.Minute {
		t.Errorf("At = %v, want about now", ev.At)
	}
	other, _ := s.Body()
	if string(other) == string(body) {
		t.Error("two simulated events share their ids")
	}
}

func TestSim_Errors(t *testing.T) {
	tests := []struct {
		name string
		sim  Sim
		want string
	}{
		{"unknown type", Sim{Type: "invoice.paid"}, `cannot simulate event type "invoice.paid"`},
		{"yen fraction", Sim{Currency: "JPY", Amount: 1995}, "no minor unit"},
		{"negative amount", Sim{Type: TypeChargeRefunded, Amount: -5}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.sim.Body()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	if _, _, err := baseSim().Signed("", simNow); !errors.Is(err, ErrNoSecret) {
		t.Errorf("Signed without a secret: err = %v, want ErrNoSecret", err)
	}
}

func TestNewID(t *testing.T) {
	re := regexp.MustCompile(`^pi_[A-Za-z0-9]{24}$`)
	seen := map[string]bool{}
	for range 100 {
		id := NewID("pi")
		if !re.MatchString(id) || seen[id] {
			t.Fatalf("NewID = %q (seen before: %v)", id, seen[id])
		}
		seen[id] = true
	}
}

func TestAmountConversion(t *testing.T) {
	tests := []struct {
		cur   string
		minor int64
		want  vend.Amount
		major string
	}{
		{"USD", 1995, 1995, "19.95"},
		{"JPY", 500, 50000, "500"},
		{"KRW", 1, 100, "1"},
		{"XOF", 0, 0, "0"},
		{"KWD", 5120, 512, "5.120"},
		{"BHD", 10, 1, "0.010"},
		{"ISK", 50000, 50000, "500.00"},
		{"HUF", 199, 199, "1.99"},
	}
	for _, tt := range tests {
		t.Run(tt.cur, func(t *testing.T) {
			got, err := fromMinor(tt.minor, tt.cur)
			if err != nil || got != tt.want {
				t.Fatalf("fromMinor(%d) = %d, %v; want %d", tt.minor, got, err, tt.want)
			}
			if back, err := toMinor(got, tt.cur); err != nil || back != tt.minor {
				t.Fatalf("toMinor(%d) = %d, %v; want %d", got, back, err, tt.minor)
			}
			if s := formatMajor(got, tt.cur); s != tt.major {
				t.Fatalf("formatMajor = %q, want %q", s, tt.major)
			}
			if a, err := parseMajor(tt.major, tt.cur); err != nil || a != tt.want {
				t.Fatalf("parseMajor(%q) = %d, %v; want %d", tt.major, a, err, tt.want)
			}
		})
	}
}
