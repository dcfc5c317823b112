package paypal

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vend-shop/vend"
)

var testSecret = []byte("demo-secret-for-tests")

// demoAnswer posts body to a DemoVerifier as the Verifier would and returns the answer.
func demoAnswer(t *testing.T, d DemoVerifier, body []byte) string {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/cgi-bin/webscr", bytes.NewReader(body))
	rec := httptest.NewRecorder()
	d.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	return rec.Body.String()
}

func withPrefix(raw []byte) []byte {
	return append([]byte(validatePrefix), raw...)
}

// baseSim is a single-item test payment for sellerConfig.
func baseSim() Sim {
	return Sim{
		TxnID: "4TK12345AB6789012", ProductID: "EBOOK-001", ProductName: "E-Book Go Patterns",
		Amount: 1995, PayerEmail: "buyer@example.com", FirstName: "Jörg", LastName: "Müller",
		Receiver: "seller@example.com", ReceiverID: "S8XGHLYDW9T3S", Custom: "ord_7f3a9c", Test: true,
		Date: time.Date(2025, 3, 3, 18, 15, 2, 0, time.UTC),
	}
}

func TestSim_Body(t *testing.T) {
	joerg := vend.Buyer{Email: "buyer@example.com", Name: "Jörg Müller"}
	ebook := []vend.EventItem{{ProductID: "EBOOK-001", Name: "E-Book Go Patterns", Quantity: 1, Amount: 1995}}
	refundOf := func(status string) Sim {
		s := baseSim()
		s.TxnID, s.ParentTxnID, s.Status = "1RF00000GH0000002", "4TK12345AB6789012", status
		return s
	}
	cart := baseSim()
	cart.Items = []SimItem{
		{ProductID: "EBOOK-001", Name: "E-Book Go Patterns", Amount: 1995},
		{ProductID: "AUDIO-002", Name: "Audio Course", Quantity: 2, Amount: 1980},
	}
	cart.Amount = 0
	pending := baseSim()
	pending.Status = "Pending"
	unicodeName := baseSim()
	unicodeName.FirstName, unicodeName.LastName = "Zoë", "李 Li"

	base := vend.Event{
		Provider: "paypal", Kind: vend.EventPayment, TxnID: "4TK12345AB6789012", Key: "4TK12345AB6789012/Completed",
		RawStatus: "Completed", Custom: "ord_7f3a9c", Buyer: joerg, Items: ebook, Total: 1995, Currency: "USD",
		Test: true, At: pst("2025-03-03 10:15:02"),
	}
	reversal := func(kind vend.EventKind, status, reason string, total vend.Amount) vend.Event {
		ev := base
		ev.Kind, ev.TxnID, ev.ParentTxnID, ev.RawStatus, ev.Reason = kind, "1RF00000GH0000002", "4TK12345AB6789012", status, reason
		ev.Key, ev.Total = ev.TxnID+"/"+status, total
		ev.Items = []vend.EventItem{{ProductID: "EBOOK-001", Name: "E-Book Go Patterns", Quantity: 1, Amount: total}}
		return ev
	}
	with := func(f func(*vend.Event)) vend.Event {
		ev := base
		f(&ev)
		return ev
	}
	tests := []struct {
		name string
		sim  Sim
		want vend.Event
	}{
		{"single Completed", baseSim(), base},
		{"cart", cart, with(func(ev *vend.Event) {
			ev.Items = []vend.EventItem{ebook[0], {ProductID: "AUDIO-002", Name: "Audio Course", Quantity: 2, Amount: 1980}}
			ev.Total = 3975
		})},
		{"Pending eCheck", pending, with(func(ev *vend.Event) {
			ev.Kind, ev.RawStatus, ev.Reason, ev.Key = vend.EventPending, "Pending", "echeck", "4TK12345AB6789012/Pending"
		})},
		{"Refunded", refundOf("Refunded"), reversal(vend.EventRefund, "Refunded", "refund", -1995)},
		{"Reversed", refundOf("Reversed"), reversal(vend.EventChargeback, "Reversed", "chargeback", -1995)},
		{"Canceled_Reversal", refundOf("Canceled_Reversal"), reversal(vend.EventRestore, "Canceled_Reversal", "other", 1995)},
		{"names outside windows-1252", unicodeName, with(func(ev *vend.Event) { ev.Buyer.Name = "Zoë ? Li" })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := tt.sim.Body(testSecret)
			ev, err := Normalize(mustParse(t, body), sellerConfig)
			if err != nil {
				t.Fatalf("Normalize: %v\nbody %s", err, body)
			}
			checkEvent(t, ev, tt.want)
			if got := demoAnswer(t, DemoVerifier{Secret: testSecret}, withPrefix(body)); got != "VERIFIED" {
				t.Errorf("DemoVerifier = %s for\n%s", got, body)
			}
		})
	}
}

func TestSim_Body_Shape(t *testing.T) {
	keys := func(body []byte) string {
		var ks []string
		for _, p := range mustParse(t, body).Pairs {
			ks = append(ks, p.Key)
		}
		return strings.Join(ks, " ")
	}
	t.Run("single payment in P1's order", func(t *testing.T) {
		want := "mc_gross protection_eligibility payer_id tax payment_date payment_status charset first_name " +
			"mc_fee notify_version custom payer_status business quantity verify_sign payer_email txn_id " +
			"payment_type last_name receiver_email payment_fee receiver_id txn_type item_name mc_currency " +
			"item_number residence_country test_ipn handling_amount transaction_subject payment_gross shipping ipn_track_id"
		if got := keys(baseSim().Body(testSecret)); got != want {
			t.Errorf("keys\n got %s\nwant %s", got, want)
		}
	})
	t.Run("refund in P4's order", func(t *testing.T) {
		s := baseSim()
		s.Status, s.ParentTxnID = "Refunded", "PARENT"
		want := "mc_gross payer_id payment_date payment_status reason_code parent_txn_id charset first_name " +
			"mc_fee notify_version custom payer_status business verify_sign payer_email txn_id payment_type " +
			"last_name receiver_email payment_fee receiver_id item_name mc_currency item_number " +
			"residence_country test_ipn payment_gross ipn_track_id"
		if got := keys(s.Body(testSecret)); got != want {
			t.Errorf("keys\n got %s\nwant %s", got, want)
		}
	})

	body := string(baseSim().Body(testSecret))
	for _, want := range []string{
		"mc_gross=19.95&", "&payment_date=10%3A15%3A02+Mar+03%2C+2025+PST&", "&charset=windows-1252&",
		"&first_name=J%F6rg&", "&last_name=M%FCller&", "&mc_fee=0.88&", "&txn_type=web_accept&",
		"&receiver_email=seller%40example.com&",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	if !regexp.MustCompile(`&verify_sign=[A-Za-z0-9_-]{43}&payer_email=`).MatchString(body) {
		t.Errorf("verify_sign is not a base64url MAC before payer_email:\n%s", body)
	}
	if !regexp.MustCompile(`&ipn_track_id=[0-9a-f]{13}$`).MatchString(body) {
		t.Errorf("ipn_track_id missing or malformed:\n%s", body)
	}
	a, b := mustParse(t, []byte(body)).Get("ipn_track_id"), mustParse(t, baseSim().Body(testSecret)).Get("ipn_track_id")
	if a == b {
		t.Errorf("two messages share ipn_track_id %s", a)
	}

	t.Run("live message has no test_ipn", func(t *testing.T) {
		s := baseSim()
		s.Test = false
		if _, ok := mustParse(t, s.Body(testSecret)).Lookup("test_ipn"); ok {
			t.Error("test_ipn present")
		}
	})
	t.Run("reversal with negative amount given stays negative once", func(t *testing.T) {
		s := baseSim()
		s.Status, s.ParentTxnID, s.Amount = "Reversed", "P", -1995
		if got := mustParse(t, s.Body(testSecret)).Get("mc_gross"); got != "-19.95" {
			t.Errorf("mc_gross = %s", got)
		}
	})
	t.Run("defaults", func(t *testing.T) {
		f := mustParse(t, Sim{ProductID: "X", Amount: 100}.Body(testSecret))
		if f.Get("payment_status") != "Completed" || len(f.Get("txn_id")) != 17 || f.Get("mc_currency") != "USD" {
			t.Errorf("defaults: %q", f.Pairs)
		}
		if parsePaymentDate(f.Get("payment_date")).IsZero() {
			t.Errorf("payment_date %q does not parse", f.Get("payment_date"))
		}
	})
}

func TestDemoVerifier_ServeHTTP(t *testing.T) {
	body := baseSim().Body(testSecret)
	d := DemoVerifier{Secret: testSecret}

	t.Run("OK", func(t *testing.T) {
		if got := demoAnswer(t, d, withPrefix(body)); got != "VERIFIED" {
			t.Fatalf("answer %s", got)
		}
	})
	t.Run("every single flipped byte is INVALID", func(t *testing.T) {
		for i := range body {
			for _, mask := range []byte{0x01, 0x20, 0x80} {
				flipped := bytes.Clone(body)
				flipped[i] ^= mask
				if got := demoAnswer(t, d, withPrefix(flipped)); got != "INVALID" {
					t.Fatalf("byte %d ^ %#x (%q): answer %s", i, mask, body[i], got)
				}
			}
		}
	})

	dup := bytes.Replace(body, []byte("&payer_email="), []byte("&verify_sign=x&payer_email="), 1)
	noSign := regexp.MustCompile(`&verify_sign=[^&]*`).ReplaceAll(body, nil)
	tests := []struct {
		name string
		d    DemoVerifier
		body []byte
	}{
		{"different secret", DemoVerifier{Secret: []byte("other")}, withPrefix(body)},
		{"empty secret fails closed", DemoVerifier{}, withPrefix(body)},
		{"signed with an empty secret", DemoVerifier{}, withPrefix(baseSim().Body(nil))},
		{"no cmd prefix", d, body},
		{"cmd appended instead of prefixed", d, append(bytes.Clone(body), "&cmd=_notify-validate"...)},
		{"second verify_sign", d, withPrefix(dup)},
		{"no verify_sign", d, withPrefix(noSign)},
		{"truncated", d, withPrefix(body[:len(body)-1])},
		{"extra pair", d, withPrefix(append(bytes.Clone(body), "&x=1"...))},
		{"empty", d, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := demoAnswer(t, tt.d, tt.body); got != "INVALID" {
				t.Fatalf("answer %s", got)
			}
		})
	}

	t.Run("GET is not allowed", func(t *testing.T) {
		rec := httptest.NewRecorder()
		d.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		if rec.Code != http.StatusMethodNotAllowed {
			t.Fatalf("status %d", rec.Code)
		}
	})
}

// TestSim_EndToEnd runs the demo path: simulator → Verifier → DemoVerifier → Normalize.
func TestSim_EndToEnd(t *testing.T) {
	srv := httptest.NewServer(DemoVerifier{Secret: testSecret})
	defer srv.Close()
	v := &Verifier{URL: srv.URL, Client: srv.Client()}
	body := baseSim().Body(testSecret)

	if err := v.Verify(context.Background(), body); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if _, err := Normalize(mustParse(t, body), sellerConfig); err != nil {
		t.Fatalf("Normalize: %v", err)
	}
	forged := bytes.Replace(body, []byte("mc_gross=19.95"), []byte("mc_gross=0.01"), 1)
	if err := v.Verify(context.Background(), forged); err != ErrInvalid {
		t.Fatalf("Verify(forged) = %v, want ErrInvalid", err)
	}
}

func TestNewTxnID(t *testing.T) {
	valid := regexp.MustCompile(`^[A-Z0-9]{17}$`)
	seen := map[string]bool{}
	for range 100 {
		id := NewTxnID()
		if !valid.MatchString(id) {
			t.Fatalf("id %q", id)
		}
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id] = true
	}
}

func TestPacificTime(t *testing.T) {
	tests := []struct {
		utc  time.Time
		want string
	}{
		{time.Date(2025, 3, 9, 9, 59, 59, 0, time.UTC), "01:59:59 Mar 09, 2025 PST"},
		{time.Date(2025, 3, 9, 10, 0, 0, 0, time.UTC), "03:00:00 Mar 09, 2025 PDT"},
		{time.Date(2025, 11, 2, 8, 59, 59, 0, time.UTC), "01:59:59 Nov 02, 2025 PDT"},
		{time.Date(2025, 11, 2, 9, 0, 0, 0, time.UTC), "01:00:00 Nov 02, 2025 PST"},
		{time.Date(2026, 1, 1, 5, 0, 0, 0, time.UTC), "21:00:00 Dec 31, 2025 PST"},
		{time.Date(2009, 1, 14, 4, 12, 59, 0, time.UTC), "20:12:59 Jan 13, 2009 PST"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			got := formatPaymentDate(tt.utc)
			if got != tt.want {
				t.Fatalf("formatPaymentDate = %s, want %s", got, tt.want)
			}
			if back := parsePaymentDate(got); !back.Equal(tt.utc) {
				t.Errorf("parsePaymentDate(%s) = %v, want %v", got, back, tt.utc)
			}
		})
	}
}

func FuzzSimBody(f *testing.F) {
	f.Add("ord_1", "Jörg", "Müller", int64(1995), "Completed")
	f.Add("m:a;t:b&x=1", "李", "", int64(1), "Refunded")
	f.Add("", " ", "%zz", int64(-5), "Pending")
	f.Fuzz(func(t *testing.T, custom, first, last string, cents int64, status string) {
		s := baseSim()
		s.Custom, s.FirstName, s.LastName, s.Status, s.ParentTxnID = custom, first, last, status, "PARENT"
		s.Amount = vend.Amount(cents % 1e12)
		body := s.Body(testSecret)
		if got := demoAnswer(t, DemoVerifier{Secret: testSecret}, withPrefix(body)); got != "VERIFIED" {
			t.Fatalf("own message not VERIFIED:\n%s", body)
		}
		form := mustParse(t, body)
		if got, want := form.Get("custom"), windows1252Lossy(t, custom); got != want {
			t.Fatalf("custom %q came back as %q", want, got)
		}
		ev, err := Normalize(form, sellerConfig)
		if err != nil {
			if _, ok := err.(*vend.RejectError); !ok {
				t.Fatalf("Normalize: %v", err)
			}
			return
		}
		checkEventInvariants(t, ev, true)
	})
}

// windows1252Lossy is what a string looks like after a windows-1252 round trip.
func windows1252Lossy(t *testing.T, s string) string {
	t.Helper()
	body, err := (&Form{Pairs: []Pair{{"v", s}}}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	return mustParse(t, body).Get("v")
}
