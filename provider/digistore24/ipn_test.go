package digistore24

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/vend-shop/vend"
)

// testConfig matches the samples of protocols.md 2.10 (api_mode=test) and maps
// their product to a catalog id.
var testConfig = Config{Sandbox: true, Products: map[string]string{"512345": "ebook-go"}}

func checkEvent(t *testing.T, got, want vend.Event) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("event\n got %+v\nwant %+v", got, want)
	}
}

// checkReject asserts err is a *vend.RejectError whose reason contains want.
func checkReject(t *testing.T, err error, want string) {
	t.Helper()
	var rej *vend.RejectError
	if !errors.As(err, &rej) {
		t.Fatalf("err = %v, want a *vend.RejectError", err)
	}
	if !strings.Contains(rej.Reason, want) {
		t.Fatalf("reason %q does not contain %q", rej.Reason, want)
	}
}

// edit parses a sample and sets (or, with del, removes) fields. Normalize does
// not verify, so the signature need not match.
func edit(tb testing.TB, sample string, set map[string]string, del ...string) *Form {
	tb.Helper()
	f := ParseForm(readSample(tb, sample))
	out := &Form{}
	for _, p := range f.Pairs {
		if v, ok := set[p.Key]; ok {
			p.Value = v
			delete(set, p.Key)
		}
		if !contains(del, p.Key) {
			out.Pairs = append(out.Pairs, p)
		}
	}
	for k, v := range set {
		out.Pairs = append(out.Pairs, Pair{k, v})
	}
	return out
}

func withPairs(f *Form, pairs ...Pair) *Form {
	f.Pairs = append(f.Pairs, pairs...)
	return f
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func mustNormalize(t *testing.T, f *Form, cfg Config) vend.Event {
	t.Helper()
	ev, err := Normalize(f, cfg)
	if err != nil {
		t.Fatalf("Normalize: %v", err)
	}
	return ev
}

func TestNormalize_Samples(t *testing.T) {
	kunde := vend.Buyer{Email: "kunde@example.de"}
	base := vend.Event{
		Provider: Provider, OrderRef: "AB12CD34", ProductID: "ebook-go",
		Buyer: kunde, Total: 4900, Currency: "EUR", Test: true,
	}
	with := func(f func(*vend.Event)) vend.Event {
		ev := base
		f(&ev)
		return ev
	}
	tests := []struct {
		sample string
		want   vend.Event
	}{
		{"payment.ipn", with(func(ev *vend.Event) {
			ev.Kind, ev.TxnID, ev.Key, ev.RawStatus = vend.EventPayment, "3999938", "on_payment:3999938", "on_payment"
			ev.Custom, ev.Buyer.Name = "m:42;k:ebook", "Jörg Müller"
			ev.Items = []vend.EventItem{{ProductID: "ebook-go", Name: `E-Book "Go Patterns"`, Quantity: 1, Amount: 4900}}
		})},
		{"refund.ipn", with(func(ev *vend.Event) {
			ev.Kind, ev.TxnID, ev.Key, ev.RawStatus, ev.Full = vend.EventRefund, "3999950", "on_refund:3999950", "on_refund", true
		})},
		{"chargeback.ipn", with(func(ev *vend.Event) {
			ev.Kind, ev.TxnID, ev.Key, ev.RawStatus = vend.EventChargeback, "3999960", "on_chargeback:3999960", "on_chargeback"
		})},
	}
	for _, tt := range tests {
		t.Run(tt.sample, func(t *testing.T) {
			f := ParseForm(readSample(t, tt.sample))
			if _, err := Verify(f, testPassphrase); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			checkEvent(t, mustNormalize(t, f, testConfig), tt.want)
		})
	}
}

func TestNormalize_ConnectionTest(t *testing.T) {
	f := ParseForm(readSample(t, "connection-test.ipn"))
	if !IsConnectionTest(f) || IsConnectionTest(ParseForm(readSample(t, "payment.ipn"))) {
		t.Fatal("IsConnectionTest does not tell the connection test from a payment")
	}
	for _, sandbox := range []bool{true, false} {
		ev := mustNormalize(t, f, Config{Sandbox: sandbox})
		if ev.Kind != vend.EventIgnore || ev.RawStatus != "connection_test" || ev.Reason == "" {
			t.Errorf("sandbox %v: %+v", sandbox, ev)
		}
		if ev.TxnID == "" || ev.TxnID != ev.Key || !strings.HasPrefix(ev.Key, "connection_test:::") {
			t.Errorf("sandbox %v: TxnID %q Key %q", sandbox, ev.TxnID, ev.Key)
		}
	}
}

func TestNormalize_Kinds(t *testing.T) {
	tests := []struct {
		event  string
		kind   vend.EventKind
		reason string
	}{
		{"on_payment", vend.EventPayment, ""},
		{"on_payment_subscription_signup", vend.EventPayment, ""},
		{"on_refund", vend.EventRefund, ""},
		{"on_chargeback", vend.EventChargeback, ""},
		{"on_payment_missed", vend.EventSuspend, "card expired"},
		{"on_rebill_resumed", vend.EventResume, ""},
		{"last_paid_day", vend.EventEnd, ""},
		{"on_rebill_cancelled", vend.EventIgnore, "paid period runs on"},
		{"payment_denial", vend.EventIgnore, "nothing is granted"},
		{"on_affiliation", vend.EventIgnore, "affiliate"},
		{"eticket", vend.EventIgnore, "e-ticket"},
		{"custom_form", vend.EventIgnore, "form data"},
		{"on_something_new", vend.EventIgnore, `"on_something_new" is not one vend acts on`},
	}
	for _, tt := range tests {
		t.Run(tt.event, func(t *testing.T) {
			f := edit(t, "payment.ipn", map[string]string{"event": tt.event, "billing_stop_reason": "card expired"})
			ev := mustNormalize(t, f, testConfig)
			if ev.Kind != tt.kind || ev.RawStatus != tt.event || !strings.Contains(ev.Reason, tt.reason) {
				t.Fatalf("kind %s, raw %q, reason %q; want %s, %q", ev.Kind, ev.RawStatus, ev.Reason, tt.kind, tt.reason)
			}
			if tt.reason == "" && ev.Reason != "" {
				t.Fatalf("unexpected reason %q", ev.Reason)
			}
			if ev.Full != (tt.kind == vend.EventRefund) {
				t.Fatalf("Full = %v", ev.Full)
			}
			if (len(ev.Items) > 0) != (tt.kind == vend.EventPayment) {
				t.Fatalf("items %+v on %s", ev.Items, ev.Kind)
			}
			if ev.OrderRef != "AB12CD34" || ev.ProductID != "ebook-go" || ev.Key != tt.event+":3999938" || ev.TxnID != "3999938" {
				t.Fatalf("identity %+v", ev)
			}
		})
	}
}

func TestNormalize_Reject(t *testing.T) {
	tests := []struct {
		name string
		form *Form
		cfg  Config
		want string
	}{
		{"no event", edit(t, "payment.ipn", nil, "event"), testConfig, "names no event"},
		{"live message in sandbox mode", edit(t, "payment.ipn", map[string]string{"api_mode": "live"}), testConfig, `api_mode "live" is not test`},
		{"test message in live mode", edit(t, "payment.ipn", nil), Config{}, `api_mode "test" is not live`},
		{"sandbox mode needs api_mode=test", edit(t, "payment.ipn", nil, "api_mode"), testConfig, `api_mode "" is not test`},
		{"test payment method in live mode", edit(t, "payment.ipn", map[string]string{"api_mode": "live", "pay_method": "test"}), Config{}, "pay_method=test"},
		{"ignored event in the wrong mode", edit(t, "payment.ipn", map[string]string{"event": "on_affiliation"}), Config{}, "not live"},
		{"payment without order_id", edit(t, "payment.ipn", nil, "order_id"), testConfig, "on_payment without order_id"},
		{"refund without order_id", edit(t, "refund.ipn", map[string]string{"order_id": " "}), testConfig, "on_refund without order_id"},
		{"missed payment without product_id", edit(t, "payment.ipn", map[string]string{"event": "on_payment_missed"}, "product_id"), testConfig, "without product_id"},
		{"last_paid_day without product_id", edit(t, "payment.ipn", map[string]string{"event": "last_paid_day", "product_id": ""}), testConfig, "without product_id"},
		{"malformed amount", edit(t, "payment.ipn", map[string]string{"amount": "49,00"}), testConfig, `amount "49,00" is not an amount`},
		{"negative payment", edit(t, "payment.ipn", map[string]string{"amount": "-49.00"}), testConfig, "is not an amount"},
		{"no amount at all", edit(t, "payment.ipn", nil, "amount"), testConfig, `amount "" is not an amount`},
		{"malformed fallback amount", edit(t, "payment.ipn", map[string]string{"amount_brutto": "x"}, "amount"), testConfig, `amount_brutto "x"`},
		{"bad currency", edit(t, "payment.ipn", map[string]string{"currency": "EURO"}), testConfig, `currency "EURO" is not a currency code`},
		{"no currency", edit(t, "payment.ipn", nil, "currency"), testConfig, "is not a currency code"},
		{"zero quantity", edit(t, "payment.ipn", map[string]string{"quantity": "0"}), testConfig, `quantity "0"`},
		{"huge quantity", edit(t, "payment.ipn", map[string]string{"quantity": "10001"}), testConfig, `quantity "10001"`},
		{"non-numeric quantity", edit(t, "payment.ipn", map[string]string{"quantity": "1.5"}), testConfig, `quantity "1.5"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := Normalize(tt.form, tt.cfg)
			checkReject(t, err, tt.want)
			if !reflect.DeepEqual(ev, vend.Event{}) {
				t.Fatalf("a rejected message returned an event: %+v", ev)
			}
		})
	}
}

// checkerMessage is a message as Digistore24's published IPN checker
// (ds24-skills verify-ipn.mjs) signs and sends it: no api_mode, no
// transaction_id, a subscription, a buyer with umlauts.
func checkerMessage(event string, upper bool) *Form {
	pairs := []Pair{
		{"event", event}, {"order_id", "VR-1a2b3c4d"}, {"product_id", "999999"}, {"product_name", "Verify Run"},
		{"amount", "47.00"}, {"currency", "EUR"}, {"billing_type", "subscription"}, {"buyer_email", "verify@example.com"},
		{"buyer_first_name", "Jörg"}, {"buyer_last_name", "Müller"},
	}
	return withSignature(pairs, Sign(pairs, testPassphrase, upper))
}

// TestNormalize_WithoutAPIMode: Digistore24 treats api_mode as optional, and a
// message without it is live; its checker sends none. Every event of the
// checker's scenarios verifies and is accepted in live mode, and refused in
// sandbox mode, where only api_mode=test belongs.
func TestNormalize_WithoutAPIMode(t *testing.T) {
	for _, tt := range []struct {
		event string
		kind  vend.EventKind
	}{
		{"on_payment", vend.EventPayment},
		{"on_refund", vend.EventRefund},
		{"on_payment_missed", vend.EventSuspend},
		{"on_rebill_cancelled", vend.EventIgnore},
		{"last_paid_day", vend.EventEnd},
	} {
		for _, upper := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s upper=%v", tt.event, upper), func(t *testing.T) {
				f := checkerMessage(tt.event, upper)
				if _, err := Verify(f, testPassphrase); err != nil {
					t.Fatalf("Verify: %v", err)
				}
				ev := mustNormalize(t, f, Config{})
				if ev.Kind != tt.kind || ev.Test || ev.OrderRef != "VR-1a2b3c4d" || ev.ProductID != "999999" {
					t.Errorf("live mode: %+v", ev)
				}
				if tt.kind == vend.EventPayment && (ev.Total != 4700 || ev.Currency != "EUR" || ev.Buyer.Name != "Jörg Müller") {
					t.Errorf("payment: %+v", ev)
				}
				_, err := Normalize(f, Config{Sandbox: true})
				checkReject(t, err, `api_mode "" is not test`)
			})
		}
	}
	// Any api_mode but test is live too: only test is a test message.
	ev := mustNormalize(t, edit(t, "payment.ipn", map[string]string{"api_mode": "production"}), Config{})
	if ev.Test {
		t.Errorf("api_mode=production made a test event: %+v", ev)
	}
}

func TestNormalize_Fields(t *testing.T) {
	tests := []struct {
		name  string
		form  *Form
		cfg   Config
		check func(vend.Event) bool
	}{
		{"unmapped product passes through", edit(t, "payment.ipn", nil), Config{Sandbox: true},
			func(ev vend.Event) bool { return ev.ProductID == "512345" && ev.Items[0].ProductID == "512345" }},
		{"amount_brutto when amount is missing", edit(t, "payment.ipn", map[string]string{"amount_brutto": "12.50"}, "amount"), testConfig,
			func(ev vend.Event) bool { return ev.Total == 1250 && ev.Items[0].Amount == 1250 }},
		{"transaction_amount last", edit(t, "payment.ipn", map[string]string{"amount": "", "transaction_amount": "7"}), testConfig,
			func(ev vend.Event) bool { return ev.Total == 700 }},
		{"transaction_currency when currency is missing", edit(t, "payment.ipn", map[string]string{"transaction_currency": "chf"}, "currency"), testConfig,
			func(ev vend.Event) bool { return ev.Currency == "CHF" }},
		{"quantity counts, amount is the line", edit(t, "payment.ipn", map[string]string{"quantity": "3"}), testConfig,
			func(ev vend.Event) bool {
				return ev.Items[0].Quantity == 3 && ev.Items[0].Amount == 4900 && ev.Total == 4900
			}},
		{"missing quantity is one", edit(t, "payment.ipn", nil, "quantity"), testConfig,
			func(ev vend.Event) bool { return ev.Items[0].Quantity == 1 }},
		{"zero amount is a free payment", edit(t, "payment.ipn", map[string]string{"amount": "0.00"}), testConfig,
			func(ev vend.Event) bool { return ev.Kind == vend.EventPayment && ev.Total == 0 }},
		{"buyer_email before email", edit(t, "payment.ipn", map[string]string{"buyer_email": "b@example.de", "email": "e@example.de"}), testConfig,
			func(ev vend.Event) bool { return ev.Buyer.Email == "b@example.de" }},
		{"email when buyer_email is empty", edit(t, "payment.ipn", map[string]string{"buyer_email": ""}), testConfig,
			func(ev vend.Event) bool { return ev.Buyer.Email == "kunde@example.de" }},
		{"buyer names before address names", edit(t, "payment.ipn", map[string]string{"buyer_first_name": "Anna", "buyer_last_name": "Berg"}), testConfig,
			func(ev vend.Event) bool { return ev.Buyer.Name == "Anna Berg" }},
		{"a buyer last name alone is still the buyer's", edit(t, "payment.ipn", map[string]string{"buyer_last_name": "Berg"}), testConfig,
			func(ev vend.Event) bool { return ev.Buyer.Name == "Berg" }},
		{"one name alone", edit(t, "payment.ipn", map[string]string{"address_first_name": ""}), testConfig,
			func(ev vend.Event) bool { return ev.Buyer.Name == "Müller" }},
		{"buyer_language before language", edit(t, "payment.ipn", map[string]string{"buyer_language": "de", "language": "en"}), testConfig,
			func(ev vend.Event) bool { return ev.Language == "de" }},
		{"language", edit(t, "payment.ipn", map[string]string{"language": "en"}), testConfig,
			func(ev vend.Event) bool { return ev.Language == "en" }},
		{"parent_transaction_id", edit(t, "refund.ipn", map[string]string{"parent_transaction_id": "3999938"}), testConfig,
			func(ev vend.Event) bool { return ev.ParentTxnID == "3999938" }},
		{"negative refund amount counts by its size", edit(t, "refund.ipn", map[string]string{"amount": "-49.00"}), testConfig,
			func(ev vend.Event) bool { return ev.Total == 4900 && ev.Full }},
		{"malformed refund amount still ends access", edit(t, "refund.ipn", map[string]string{"amount": "n/a", "currency": "??"}), testConfig,
			func(ev vend.Event) bool {
				return ev.Kind == vend.EventRefund && ev.Full && ev.Total == 0 && ev.Currency == ""
			}},
		{"pay_method=test is a test", edit(t, "payment.ipn", map[string]string{"pay_method": "test"}), testConfig,
			func(ev vend.Event) bool { return ev.Test }},
		{"live payment", edit(t, "payment.ipn", map[string]string{"api_mode": "live", "pay_method": "creditcard"}), Config{},
			func(ev vend.Event) bool { return !ev.Test && ev.Kind == vend.EventPayment }},
		{"last duplicate wins", withPairs(edit(t, "payment.ipn", nil), Pair{"amount", "1.00"}), testConfig,
			func(ev vend.Event) bool { return ev.Total == 100 }},
		{"transaction_date and transaction_time are when it happened", edit(t, "payment.ipn", map[string]string{"transaction_date": "2026-08-18", "transaction_time": "08:41:48"}), testConfig,
			func(ev vend.Event) bool { return ev.At.Equal(time.Date(2026, 8, 18, 8, 41, 48, 0, time.UTC)) }},
		{"without a transaction time the ledger's clock decides", edit(t, "payment.ipn", map[string]string{"transaction_date": "2026-08-18"}), testConfig,
			func(ev vend.Event) bool { return ev.At.IsZero() }},
		{"custom keeps its spaces", edit(t, "payment.ipn", map[string]string{"custom": " m:1; t:2 "}), testConfig,
			func(ev vend.Event) bool { return ev.Custom == " m:1; t:2 " }},
		{"invalid UTF-8 and NUL are made storable", edit(t, "payment.ipn", map[string]string{"address_last_name": "M\xfcller\x00", "custom": "a\x00b"}), testConfig,
			func(ev vend.Event) bool { return ev.Buyer.Name == "Jörg M\uFFFDller" && ev.Custom == "ab" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if ev := mustNormalize(t, tt.form, tt.cfg); !tt.check(ev) {
				t.Fatalf("unexpected event %+v", ev)
			}
		})
	}
}

// resign signs f's pairs again, as Digistore24 would have signed them.
func resign(f *Form) *Form {
	return withSignature(f.Pairs, Sign(f.Pairs, testPassphrase, false))
}

func TestNormalize_Key(t *testing.T) {
	missed := func(extra map[string]string) *Form {
		set := map[string]string{"event": "on_payment_missed"}
		for k, v := range extra {
			set[k] = v
		}
		return resign(edit(t, "payment.ipn", set, "transaction_id"))
	}
	a := mustNormalize(t, missed(nil), testConfig)
	again := mustNormalize(t, missed(nil), testConfig)
	other := mustNormalize(t, missed(map[string]string{"billing_stop_reason": "x"}), testConfig)

	if !strings.HasPrefix(a.Key, "on_payment_missed:AB12CD34:512345:") || len(a.Key) != len("on_payment_missed:AB12CD34:512345:")+32 {
		t.Errorf("Key %q", a.Key)
	}
	if a.TxnID != a.Key {
		t.Errorf("TxnID %q, want the Key", a.TxnID)
	}
	if a.Key != again.Key {
		t.Errorf("identical messages have keys %q and %q", a.Key, again.Key)
	}
	if a.Key == other.Key {
		t.Errorf("different messages share key %q", a.Key)
	}
	// What the signature does not cover cannot make a new key: the order of
	// the fields, an added empty field, a lower-case signature.
	f := missed(nil)
	shuffled := &Form{Pairs: append([]Pair{f.Pairs[len(f.Pairs)-2], {"zzz", ""}}, f.Pairs...)}
	shuffled.Pairs[len(shuffled.Pairs)-1].Value = strings.ToLower(shuffled.Pairs[len(shuffled.Pairs)-1].Value)
	if got := mustNormalize(t, shuffled, testConfig); got.Key != a.Key {
		t.Errorf("the same signed content has keys %q and %q", got.Key, a.Key)
	}
	ab := mustNormalize(t, resign(&Form{Pairs: []Pair{{"event", "x"}, {"api_mode", "test"}, {"a", "bc"}}}), testConfig)
	abc := mustNormalize(t, resign(&Form{Pairs: []Pair{{"event", "x"}, {"api_mode", "test"}, {"ab", "c"}}}), testConfig)
	if ab.Key == abc.Key {
		t.Errorf("a=bc and ab=c share key %q", ab.Key)
	}
}

func TestForm_Signed(t *testing.T) {
	// The signed sample, with its transaction_id respelled as an HTML entity:
	// it still verifies (under the decoding convention), and the event it makes
	// is the original one, a duplicate, not a new payment.
	orig := ParseForm(readSample(t, "payment.ipn"))
	respelled := &Form{}
	for _, p := range orig.Pairs {
		if p.Key == "transaction_id" {
			p.Value = "&#51;" + p.Value[1:]
		}
		respelled.Pairs = append(respelled.Pairs, p)
	}
	conv, err := Verify(respelled, testPassphrase)
	if err != nil || conv != OriginalKeysHTMLDecoded {
		t.Fatalf("Verify: %v %v", conv, err)
	}
	signed, err := respelled.Signed(conv)
	if err != nil {
		t.Fatal(err)
	}
	want := mustNormalize(t, orig, testConfig)
	if got := mustNormalize(t, signed, testConfig); got.Key != want.Key || got.TxnID != want.TxnID || got.OrderRef != want.OrderRef {
		t.Errorf("respelled message: key %q txn %q order %q, want %q %q %q", got.Key, got.TxnID, got.OrderRef, want.Key, want.TxnID, want.OrderRef)
	}

	// Under upper-case keys, renaming a key changes nothing the signature
	// sees, and so nothing in the event; two spellings of one key are refused.
	upper := &Form{}
	for _, p := range orig.Pairs {
		if p.Key != "sha_sign" {
			upper.Pairs = append(upper.Pairs, p)
		}
	}
	upper = withSignature(upper.Pairs, Sign(upper.Pairs, testPassphrase, true))
	for i := range upper.Pairs {
		if upper.Pairs[i].Key == "transaction_id" {
			upper.Pairs[i].Key = "TRANSACTION_ID"
		}
	}
	conv, err = Verify(upper, testPassphrase)
	if err != nil || conv != UpperKeys {
		t.Fatalf("Verify upper: %v %v", conv, err)
	}
	signed, err = upper.Signed(conv)
	if err != nil {
		t.Fatal(err)
	}
	if got := mustNormalize(t, signed, testConfig); got.Key != want.Key {
		t.Errorf("renamed key: %q, want %q", got.Key, want.Key)
	}
	twice := &Form{Pairs: append(slices.Clone(upper.Pairs[:len(upper.Pairs)-1]), Pair{"Transaction_Id", "1"}, upper.Pairs[len(upper.Pairs)-1])}
	if _, err := twice.Signed(UpperKeys); err == nil {
		t.Error("two spellings of one key under upper-case keys were accepted")
	}
}

func TestNormalize_Captured(t *testing.T) {
	_, vectors := loadVectors(t)
	f := withSignature(pairsOf(vectors[8].Params), vectors[8].Expected)
	if c, err := Verify(f, testPassphrase); err != nil || c != OriginalKeys {
		t.Fatalf("Verify = %v, %v", c, err)
	}
	want := vend.Event{
		Provider: Provider, Kind: vend.EventPayment, OrderRef: "A1B2C3D4", TxnID: "3999938", ParentTxnID: "3999937",
		ProductID: "basic-monthly", Key: "on_payment:3999938", RawStatus: "on_payment",
		Custom:   "m:3f1a2b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b;t:Ab3xY9zQ71;p:basic_monthly;k:sub",
		Buyer:    vend.Buyer{Email: "kaeufer@example.de", Name: "Test Kauf"},
		Language: "de",
		Items:    []vend.EventItem{{ProductID: "basic-monthly", Name: "basic_monthly__de__dev", Quantity: 1, Amount: 4900}},
		Total:    4900, Currency: "EUR", Test: true,
		At: time.Date(2026, 8, 18, 8, 41, 48, 0, time.UTC), // transaction_date, transaction_time
	}
	checkEvent(t, mustNormalize(t, f, Config{Sandbox: true, Products: map[string]string{"512345": "basic-monthly"}}), want)
}

func TestNormalize_Upsells(t *testing.T) {
	main := Sim{OrderID: "UPS12345", ProductID: "100", ProductName: "Main", Amount: 4900, Email: "k@example.de", Test: true, Custom: "m:1"}
	sims := main.WithUpsells(
		SimItem{ProductID: "201", Name: "Upsell 1", Amount: 1900},
		SimItem{ProductID: "202", Name: "Upsell 2", Amount: 2900, Quantity: 2},
		SimItem{ProductID: "203", Name: "Upsell 3", Amount: 900},
	)
	if len(sims) != 4 {
		t.Fatalf("%d messages, want 4", len(sims))
	}
	keys := map[string]bool{}
	for i, s := range sims {
		f := ParseForm(s.Body(testPassphrase))
		if _, err := Verify(f, testPassphrase); err != nil {
			t.Fatalf("item %d: %v", i, err)
		}
		if got := f.Get("upsell_no"); got != string(rune('0'+i)) {
			t.Errorf("item %d: upsell_no %q", i, got)
		}
		ev := mustNormalize(t, f, Config{Sandbox: true})
		if ev.Kind != vend.EventPayment || ev.OrderRef != "UPS12345" || ev.Custom != "m:1" {
			t.Errorf("item %d: %+v", i, ev)
		}
		if len(ev.Items) != 1 || ev.Items[0].ProductID != ev.ProductID || ev.ProductID != s.ProductID {
			t.Errorf("item %d: product %q, items %+v", i, ev.ProductID, ev.Items)
		}
		keys[ev.Key] = true
	}
	if len(keys) != 4 {
		t.Errorf("items share idempotency keys: %v", keys)
	}
}

func FuzzNormalize(f *testing.F) {
	for _, name := range sampleNames {
		f.Add(readSample(f, name), true)
	}
	f.Add([]byte("event=on_payment_missed&api_mode=live&order_id=A&product_id=1"), false)
	f.Add([]byte("event=on_payment&api_mode=test&order_id=A&product_id=1&amount=1e3&quantity=-1"), true)
	f.Add([]byte("event=on_refund&api_mode=test&order_id=%FF&product_id=%00&amount=-0.5"), true)
	f.Fuzz(func(t *testing.T, body []byte, sandbox bool) {
		form := ParseForm(body)
		ev, err := Normalize(form, Config{Sandbox: sandbox, Products: map[string]string{"1": "one"}})
		if err != nil {
			var rej *vend.RejectError
			if !errors.As(err, &rej) || rej.Reason == "" {
				t.Fatalf("error is not a *vend.RejectError with a reason: %v", err)
			}
			return
		}
		checkEventInvariants(t, ev, sandbox)
		// Verify(Sign(x)) holds for anything Normalize accepts.
		signed := withSignature(form.Pairs, Sign(form.Pairs, testPassphrase, false))
		if c, err := Verify(signed, testPassphrase); err != nil || c != OriginalKeys {
			t.Fatalf("Verify(Sign(x)) = %v, %v", c, err)
		}
	})
}

// checkEventInvariants holds for every event Normalize accepts.
func checkEventInvariants(t *testing.T, ev vend.Event, sandbox bool) {
	t.Helper()
	if ev.Provider != Provider || ev.TxnID == "" || ev.Key == "" || !strings.HasPrefix(ev.Key, ev.RawStatus+":") {
		t.Fatalf("identity: %+v", ev)
	}
	if ev.RawStatus != "connection_test" && ev.Test != sandbox {
		t.Fatalf("Test = %v in sandbox mode %v", ev.Test, sandbox)
	}
	for _, s := range []string{ev.OrderRef, ev.TxnID, ev.ProductID, ev.Key, ev.Custom, ev.Buyer.Email, ev.Buyer.Name, ev.Language, ev.Reason, ev.RawStatus} {
		if !utf8.ValidString(s) || strings.Contains(s, "\x00") {
			t.Fatalf("unstorable string %q in %+v", s, ev)
		}
	}
	if ev.Kind == vend.EventIgnore {
		if ev.Reason == "" {
			t.Fatalf("ignored without a reason: %+v", ev)
		}
		return
	}
	if ev.OrderRef == "" || ev.ProductID == "" {
		t.Fatalf("%s without order or product: %+v", ev.Kind, ev)
	}
	if ev.Total < 0 {
		t.Fatalf("negative total %v", ev.Total)
	}
	if ev.Kind == vend.EventPayment {
		if len(ev.Items) != 1 || len(ev.Currency) != 3 || ev.Items[0].ProductID != ev.ProductID ||
			ev.Items[0].Quantity < 1 || ev.Items[0].Quantity > maxQuantity || ev.Items[0].Amount != ev.Total {
			t.Fatalf("payment: %+v", ev)
		}
	}
}
