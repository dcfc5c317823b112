package stripe

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vend-shop/vend"
)

// The files in testdata/ are synthetic events in the shape of Stripe's (API
// version 2025-03-31.basil), with more fields than vend reads.

var sandbox = Config{Sandbox: true}

const (
	samplePI     = "pi_3OAbCdEfGhIjKlMn0aBcDeFg"
	sampleCharge = "ch_3OAbCdEfGhIjKlMn0aBcDeFg"
	sampleDP     = "dp_1OAbCdEfGhIjKlMnDispute0"
	sampleCS     = "cs_test_a1b2c3d4e5f6g7h8i9j0kLmNoPqRsTuVwXyZ0123456789abcdefABCD"
)

func readSample(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func sampleNames(tb testing.TB) []string {
	tb.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(names) == 0 {
		tb.Fatalf("no samples: %v", err)
	}
	for i := range names {
		names[i] = filepath.Base(names[i])
	}
	return names
}

func checkEvent(t *testing.T, got, want vend.Event) {
	t.Helper()
	if !got.At.Equal(want.At) {
		t.Errorf("At = %v, want %v", got.At, want.At)
	}
	got.At, want.At = time.Time{}, time.Time{}
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

func TestNormalize_Samples(t *testing.T) {
	joerg := vend.Buyer{Email: "buyer@example.com", Name: "Jörg Müller"}
	at := func(unix int64) time.Time { return time.Unix(unix, 0) }
	sepa := vend.Event{
		Provider: Provider, OrderRef: samplePI, TxnID: samplePI, Custom: "ord_7f3a9c", Buyer: joerg,
		Items: []vend.EventItem{
			{ProductID: "ebook", Quantity: 1, Amount: 1900},
			{ProductID: "audio-course", Quantity: 2, Amount: 3000},
		},
		Total: 4900, Currency: "EUR", Test: true, At: at(1700259200),
	}
	with := func(ev vend.Event, f func(*vend.Event)) vend.Event {
		f(&ev)
		return ev
	}
	refund := vend.Event{
		Provider: Provider, Kind: vend.EventRefund, OrderRef: samplePI, TxnID: samplePI + ":refund", ParentTxnID: samplePI,
		RawStatus: "charge.refunded", Buyer: joerg, Currency: "USD", Test: true,
	}
	dispute := vend.Event{
		Provider: Provider, OrderRef: samplePI, ParentTxnID: samplePI, Reason: "fraudulent",
		Total: 1995, Currency: "USD", Test: true, At: at(1702000000),
	}
	tests := []struct {
		file string
		cfg  Config
		want vend.Event
	}{
		{"checkout-session-completed.json", sandbox, vend.Event{
			Provider: Provider, Kind: vend.EventPayment, OrderRef: samplePI, TxnID: samplePI, Key: "evt_1OAbCdEfGhIjKlMnCheckout",
			RawStatus: "checkout.session.completed/paid", Custom: "ord_7f3a9c", Buyer: joerg, Language: "de",
			Items: []vend.EventItem{{ProductID: "ebook", Quantity: 1, Amount: 1995}}, Total: 1995, Currency: "USD",
			Test: true, At: at(1700000000),
		}},
		{"checkout-session-completed-unpaid.json", sandbox, with(sepa, func(ev *vend.Event) {
			ev.Kind, ev.Key, ev.RawStatus, ev.Reason = vend.EventPending, "evt_1OAbCdEfGhIjKlMnUnpaid00", "checkout.session.completed/unpaid", "awaiting asynchronous payment"
			ev.At = at(1700000000)
		})},
		{"checkout-session-async-payment-succeeded.json", sandbox, with(sepa, func(ev *vend.Event) {
			ev.Kind, ev.Key, ev.RawStatus = vend.EventPayment, "evt_1OAbCdEfGhIjKlMnAsyncOk0", "checkout.session.async_payment_succeeded"
		})},
		{"checkout-session-async-payment-failed.json", sandbox, with(sepa, func(ev *vend.Event) {
			ev.Kind, ev.Key, ev.RawStatus, ev.Reason = vend.EventFailed, "evt_1OAbCdEfGhIjKlMnAsyncBad", "checkout.session.async_payment_failed", "asynchronous payment failed"
		})},
		{"checkout-session-completed-jpy.json", Config{Sandbox: true, Products: map[string]string{"price_1OEbookJPY": "ebook-jp"}}, vend.Event{
			Provider: Provider, Kind: vend.EventPayment, OrderRef: samplePI, TxnID: samplePI, Key: "evt_1OAbCdEfGhIjKlMnYen0000",
			RawStatus: "checkout.session.completed/paid", Buyer: joerg,
			Items: []vend.EventItem{{ProductID: "ebook-jp", Quantity: 1, Amount: 50000}}, Total: 50000, Currency: "JPY",
			Test: true, At: at(1700000000),
		}},
		{"charge-refunded-partial.json", sandbox, with(refund, func(ev *vend.Event) {
			ev.Key, ev.Total, ev.At = "evt_3OAbCdEfGhIjKlMnRefund01", 500, at(1700600000)
		})},
		{"charge-refunded-full.json", sandbox, with(refund, func(ev *vend.Event) {
			ev.Key, ev.Total, ev.Full, ev.At = "evt_3OAbCdEfGhIjKlMnRefund02", 1995, true, at(1700700000)
		})},
		{"charge-dispute-created.json", sandbox, with(dispute, func(ev *vend.Event) {
			ev.Kind, ev.TxnID, ev.Key, ev.RawStatus, ev.At = vend.EventChargeback, sampleDP, "evt_1OAbCdEfGhIjKlMnDispNew", "charge.dispute.created", at(1701000000)
		})},
		{"charge-dispute-closed-won.json", sandbox, with(dispute, func(ev *vend.Event) {
			ev.Kind, ev.TxnID, ev.Key, ev.RawStatus = vend.EventRestore, sampleDP+":won", "evt_1OAbCdEfGhIjKlMnDispWon", "charge.dispute.closed/won"
		})},
		{"charge-dispute-closed-lost.json", sandbox, with(dispute, func(ev *vend.Event) {
			ev.Kind, ev.TxnID, ev.Key, ev.RawStatus = vend.EventIgnore, sampleDP+":lost", "evt_1OAbCdEfGhIjKlMnDispLst", "charge.dispute.closed/lost"
			ev.Total, ev.Currency = 0, ""
		})},
		{"payment-intent-succeeded.json", sandbox, vend.Event{
			Provider: Provider, Kind: vend.EventIgnore, Key: "evt_3OAbCdEfGhIjKlMnPiOk000", RawStatus: "payment_intent.succeeded",
			Test: true, At: at(1700000000),
		}},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.file, ".json"), func(t *testing.T) {
			got, err := Normalize(readSample(t, tt.file), tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			checkEvent(t, got, tt.want)
		})
	}
}

// edit loads a sample as a generic JSON value, lets f change it and encodes it
// again.
func edit(tb testing.TB, sample string, f func(ev, obj map[string]any)) []byte {
	tb.Helper()
	var ev map[string]any
	if err := json.Unmarshal(readSample(tb, sample), &ev); err != nil {
		tb.Fatal(err)
	}
	f(ev, ev["data"].(map[string]any)["object"].(map[string]any))
	b, err := json.Marshal(ev)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestNormalize_Checkout(t *testing.T) {
	const paid = "checkout-session-completed.json"
	meta := func(v string) func(_, obj map[string]any) {
		return func(_, obj map[string]any) { obj["metadata"] = map[string]any{"vend_products": v} }
	}
	tests := []struct {
		name   string
		sample string
		edit   func(ev, obj map[string]any)
		cfg    Config
		check  func(t *testing.T, ev vend.Event)
	}{
		{"no payment intent: the session is the order", paid, func(_, obj map[string]any) { obj["payment_intent"] = nil }, sandbox,
			func(t *testing.T, ev vend.Event) { wantRef(t, ev, sampleCS, sampleCS) }},
		{"expanded payment intent", paid, func(_, obj map[string]any) {
			obj["payment_intent"] = map[string]any{"id": samplePI, "object": "payment_intent"}
		}, sandbox,
			func(t *testing.T, ev vend.Event) { wantRef(t, ev, samplePI, samplePI) }},
		{"no_payment_required is a payment", paid, func(_, obj map[string]any) {
			obj["payment_status"], obj["amount_total"], obj["payment_intent"] = "no_payment_required", 0, nil
		}, sandbox, func(t *testing.T, ev vend.Event) {
			wantKind(t, ev, vend.EventPayment)
			wantItems(t, ev, vend.EventItem{ProductID: "ebook", Quantity: 1, Amount: 0})
		}},
		{"setup mode is ignored", paid, func(_, obj map[string]any) { obj["mode"], obj["amount_total"] = "setup", nil }, sandbox,
			func(t *testing.T, ev vend.Event) {
				wantKind(t, ev, vend.EventIgnore)
				if ev.RawStatus != "checkout.session.completed/setup" {
					t.Errorf("RawStatus = %q", ev.RawStatus)
				}
			}},
		{"KRW is zero-decimal", paid, func(_, obj map[string]any) { obj["currency"], obj["amount_total"] = "krw", 25000 }, sandbox,
			func(t *testing.T, ev vend.Event) { wantTotal(t, ev, 2500000, "KRW") }},
		{"KWD is three-decimal", paid, func(_, obj map[string]any) { obj["currency"], obj["amount_total"] = "kwd", 5120 }, sandbox,
			func(t *testing.T, ev vend.Event) { wantTotal(t, ev, 512, "KWD") }},
		{"ISK is two-decimal in Stripe's API", paid, func(_, obj map[string]any) { obj["currency"], obj["amount_total"] = "isk", 50000 }, sandbox,
			func(t *testing.T, ev vend.Event) { wantTotal(t, ev, 50000, "ISK") }},
		{"single product with a quantity gets the total", paid, meta("ebook:3"), sandbox,
			func(t *testing.T, ev vend.Event) {
				wantItems(t, ev, vend.EventItem{ProductID: "ebook", Quantity: 3, Amount: 1995})
			}},
		{"single product with its own amount", paid, meta(" ebook : 1 : 19.95 "), sandbox,
			func(t *testing.T, ev vend.Event) {
				wantItems(t, ev, vend.EventItem{ProductID: "ebook", Quantity: 1, Amount: 1995})
			}},
		{"blank entries are skipped", paid, meta(",ebook,,"), sandbox,
			func(t *testing.T, ev vend.Event) {
				wantItems(t, ev, vend.EventItem{ProductID: "ebook", Quantity: 1, Amount: 1995})
			}},
		{"several products in yen", paid, func(ev, obj map[string]any) {
			obj["currency"], obj["amount_total"] = "jpy", 1500
			meta("ebook:1:500,price_audio:2:1000")(ev, obj)
		}, Config{Sandbox: true, Products: map[string]string{"price_audio": "audio"}},
			func(t *testing.T, ev vend.Event) {
				wantItems(t, ev, vend.EventItem{ProductID: "ebook", Quantity: 1, Amount: 50000}, vend.EventItem{ProductID: "audio", Quantity: 2, Amount: 100000})
			}},
		{"three-decimal amounts in metadata", paid, func(ev, obj map[string]any) {
			obj["currency"], obj["amount_total"] = "kwd", 15000
			meta("a:1:5.120,b:1:9.88")(ev, obj)
		}, sandbox, func(t *testing.T, ev vend.Event) {
			wantItems(t, ev, vend.EventItem{ProductID: "a", Quantity: 1, Amount: 512}, vend.EventItem{ProductID: "b", Quantity: 1, Amount: 988})
		}},
		{"client_reference_id names the product without metadata", paid, func(_, obj map[string]any) { obj["metadata"] = map[string]any{} }, sandbox,
			func(t *testing.T, ev vend.Event) {
				wantItems(t, ev, vend.EventItem{ProductID: "ord_7f3a9c", Quantity: 1, Amount: 1995})
				if ev.Custom != "" {
					t.Errorf("Custom = %q, want none: client_reference_id is the product", ev.Custom)
				}
			}},
		{"customer_email when customer_details is null", paid, func(_, obj map[string]any) {
			obj["customer_details"], obj["customer_email"] = nil, "early@example.com"
		}, sandbox, func(t *testing.T, ev vend.Event) {
			if ev.Buyer != (vend.Buyer{Email: "early@example.com"}) {
				t.Errorf("Buyer = %+v", ev.Buyer)
			}
		}},
		{"a failed payment needs no products", "checkout-session-async-payment-failed.json", func(_, obj map[string]any) {
			obj["metadata"], obj["client_reference_id"] = map[string]any{}, nil
		}, sandbox, func(t *testing.T, ev vend.Event) {
			wantKind(t, ev, vend.EventFailed)
			wantItems(t, ev)
		}},
		{"live event in live mode", paid, func(ev, obj map[string]any) { ev["livemode"], obj["livemode"] = true, true }, Config{},
			func(t *testing.T, ev vend.Event) {
				if ev.Test {
					t.Error("Test = true for a live event")
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := Normalize(edit(t, tt.sample, tt.edit), tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, ev)
		})
	}
}

func wantRef(t *testing.T, ev vend.Event, orderRef, txnID string) {
	t.Helper()
	if ev.OrderRef != orderRef || ev.TxnID != txnID {
		t.Errorf("OrderRef, TxnID = %q, %q; want %q, %q", ev.OrderRef, ev.TxnID, orderRef, txnID)
	}
}

func wantKind(t *testing.T, ev vend.Event, kind vend.EventKind) {
	t.Helper()
	if ev.Kind != kind {
		t.Errorf("Kind = %s, want %s", ev.Kind, kind)
	}
}

func wantTotal(t *testing.T, ev vend.Event, total vend.Amount, cur string) {
	t.Helper()
	if ev.Total != total || ev.Currency != cur {
		t.Errorf("Total = %d %s, want %d %s", ev.Total, ev.Currency, total, cur)
	}
}

func wantItems(t *testing.T, ev vend.Event, items ...vend.EventItem) {
	t.Helper()
	if len(items) == 0 && len(ev.Items) == 0 {
		return
	}
	if !reflect.DeepEqual(ev.Items, items) {
		t.Errorf("Items = %+v, want %+v", ev.Items, items)
	}
}

func TestNormalize_Charges(t *testing.T) {
	tests := []struct {
		name   string
		sample string
		edit   func(ev, obj map[string]any)
		want   func(*vend.Event) bool
	}{
		{"refund without payment intent: the charge is the order", "charge-refunded-partial.json",
			func(_, obj map[string]any) { obj["payment_intent"] = nil },
			func(ev *vend.Event) bool {
				return ev.OrderRef == sampleCharge && ev.ParentTxnID == sampleCharge && ev.TxnID == sampleCharge+":refund"
			}},
		{"refund buyer from receipt_email", "charge-refunded-full.json",
			func(_, obj map[string]any) { obj["billing_details"], obj["receipt_email"] = nil, "r@example.com" },
			func(ev *vend.Event) bool { return ev.Buyer.Email == "r@example.com" && ev.Full }},
		{"refund in yen", "charge-refunded-partial.json",
			func(_, obj map[string]any) { obj["currency"], obj["amount_refunded"] = "jpy", 300 },
			func(ev *vend.Event) bool { return ev.Total == 30000 && ev.Currency == "JPY" && !ev.Full }},
		{"dispute without payment intent: the charge is the order", "charge-dispute-created.json",
			func(_, obj map[string]any) { obj["payment_intent"] = nil },
			func(ev *vend.Event) bool { return ev.OrderRef == sampleCharge && ev.ParentTxnID == sampleCharge }},
		{"dispute with an expanded charge", "charge-dispute-created.json",
			func(_, obj map[string]any) {
				obj["payment_intent"], obj["charge"] = nil, map[string]any{"id": sampleCharge}
			},
			func(ev *vend.Event) bool { return ev.OrderRef == sampleCharge }},
		{"inquiry closed without chargeback restores", "charge-dispute-closed-won.json",
			func(_, obj map[string]any) { obj["status"] = "warning_closed" },
			func(ev *vend.Event) bool {
				return ev.Kind == vend.EventRestore && ev.TxnID == sampleDP+":warning_closed"
			}},
		{"funds reinstated is ignored (won covers it)", "charge-dispute-closed-won.json",
			func(ev, _ map[string]any) { ev["type"] = "charge.dispute.funds_reinstated" },
			func(ev *vend.Event) bool {
				return ev.Kind == vend.EventIgnore && ev.RawStatus == "charge.dispute.funds_reinstated"
			}},
		{"unknown type with odd data is ignored", "payment-intent-succeeded.json",
			func(ev, _ map[string]any) { ev["type"], ev["data"] = "invoice.paid", "not an object" },
			func(ev *vend.Event) bool { return ev.Kind == vend.EventIgnore && ev.RawStatus == "invoice.paid" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := Normalize(edit(t, tt.sample, tt.edit), sandbox)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.want(&ev) {
				t.Errorf("unexpected event %+v", ev)
			}
		})
	}
}

func TestNormalize_Reject(t *testing.T) {
	const paid = "checkout-session-completed.json"
	meta := func(v string) func(_, obj map[string]any) {
		return func(_, obj map[string]any) { obj["metadata"] = map[string]any{"vend_products": v} }
	}
	tests := []struct {
		name   string
		sample string
		edit   func(ev, obj map[string]any)
		cfg    Config
		want   string
	}{
		{"test event, sandbox off", paid, func(_, _ map[string]any) {}, Config{}, "stripe.sandbox is off"},
		{"live event, sandbox on", paid, func(ev, _ map[string]any) { ev["livemode"] = true }, sandbox, "stripe.sandbox is on"},
		{"live ignored event, sandbox on", "payment-intent-succeeded.json", func(ev, _ map[string]any) { ev["livemode"] = true }, sandbox, "stripe.sandbox is on"},
		{"no livemode", paid, func(ev, _ map[string]any) { delete(ev, "livemode") }, sandbox, "no livemode"},
		{"no event id", paid, func(ev, _ map[string]any) { delete(ev, "id") }, sandbox, "no id"},
		{"event id too long", paid, func(ev, _ map[string]any) { ev["id"] = "evt_" + strings.Repeat("x", 300) }, sandbox, "longer than"},
		{"no type", paid, func(ev, _ map[string]any) { ev["type"] = "" }, sandbox, "no type"},
		{"no data.object", paid, func(ev, _ map[string]any) { ev["data"] = map[string]any{} }, sandbox, "no data.object"},
		{"data.object is another resource", "charge-refunded-full.json", func(ev, _ map[string]any) { ev["type"] = "checkout.session.completed" }, sandbox, `carries a "charge"`},
		{"amount_total is a string", paid, func(_, obj map[string]any) { obj["amount_total"] = "19.95" }, sandbox, "amount_total"},
		{"no amount_total", paid, func(_, obj map[string]any) { obj["amount_total"] = nil }, sandbox, "amount_total is missing"},
		{"negative amount_total", paid, func(_, obj map[string]any) { obj["amount_total"] = -1 }, sandbox, "out of range"},
		{"huge amount_total", paid, func(_, obj map[string]any) { obj["amount_total"] = int64(1) << 62 }, sandbox, "out of range"},
		{"three-decimal amount not ending in 0", paid, func(_, obj map[string]any) { obj["currency"], obj["amount_total"] = "kwd", 5125 }, sandbox, "third decimal"},
		{"no currency", paid, func(_, obj map[string]any) { obj["currency"] = nil }, sandbox, "not a currency code"},
		{"no session id", paid, func(_, obj map[string]any) { delete(obj, "id") }, sandbox, "no id"},
		{"a subscription session", paid, func(_, obj map[string]any) { obj["mode"], obj["payment_intent"] = "subscription", nil }, sandbox, "one-time payments"},
		{"unknown payment_status", paid, func(_, obj map[string]any) { obj["payment_status"] = "processing" }, sandbox, `"processing"`},
		{"no product named", paid, func(_, obj map[string]any) { obj["metadata"], obj["client_reference_id"] = nil, nil }, sandbox, "names no product"},
		{"empty vend_products", paid, meta(" , "), sandbox, "names no product"},
		{"several products, an amount missing", paid, meta("ebook:1:9.95,audio:1"), sandbox, "2 products but 1 without an amount"},
		{"several products, no amounts", paid, meta("ebook,audio"), sandbox, "2 products but 2 without an amount"},
		{"quantity zero", paid, meta("ebook:0"), sandbox, "quantity"},
		{"quantity not a number", paid, meta("ebook:x"), sandbox, "quantity"},
		{"four fields", paid, meta("ebook:1:9.95:x"), sandbox, "not product_id[:quantity[:amount]]"},
		{"empty product id", paid, meta(":1"), sandbox, "not product_id[:quantity[:amount]]"},
		{"bad amount", paid, meta("ebook:1:nine"), sandbox, "not a decimal amount"},
		{"negative amount", paid, meta("ebook:1:-9.95"), sandbox, "negative"},
		{"yen fraction", paid, func(ev, obj map[string]any) {
			obj["currency"], obj["amount_total"] = "jpy", 500
			meta("ebook:1:499.50")(ev, obj)
		}, sandbox, "no minor unit"},
		{"too many entries", paid, meta(strings.Repeat("a:1:1,", 101)), sandbox, "more than 100"},
		{"refund without amount_refunded", "charge-refunded-full.json", func(_, obj map[string]any) { delete(obj, "amount_refunded") }, sandbox, "amount_refunded is missing"},
		{"refund of nothing", "charge-refunded-full.json", func(_, obj map[string]any) { obj["amount_refunded"] = 0 }, sandbox, "amount_refunded 0"},
		{"refund without charge id", "charge-refunded-full.json", func(_, obj map[string]any) { delete(obj, "id") }, sandbox, "no id"},
		{"dispute naming no payment", "charge-dispute-created.json", func(_, obj map[string]any) { obj["payment_intent"], obj["charge"] = nil, nil }, sandbox, "neither a payment_intent nor a charge"},
		{"dispute reference of the wrong type", "charge-dispute-created.json", func(_, obj map[string]any) { obj["charge"] = 42 }, sandbox, "neither an id nor an object"},
		{"dispute without amount", "charge-dispute-created.json", func(_, obj map[string]any) { delete(obj, "amount") }, sandbox, "amount is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Normalize(edit(t, tt.sample, tt.edit), tt.cfg)
			checkReject(t, err, tt.want)
		})
	}
}

func TestNormalize_RejectBody(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"empty", "", "unexpected end of JSON input"},
		{"not JSON", "v1=2,t=1", "invalid character 'v'"},
		{"array", "[]", "not a Stripe event"},
		{"id is a number", `{"id":1,"type":"x","livemode":false}`, "id is a JSON number"},
		{"truncated", `{"id":"evt_1","type":"checkout.session.completed","livemode":false,"data":{"object":{"id":"cs_1"`, "unexpected end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Normalize([]byte(tt.body), sandbox)
			checkReject(t, err, tt.want)
		})
	}
}

func FuzzNormalize(f *testing.F) {
	for _, name := range sampleNames(f) {
		f.Add(readSample(f, name), true)
	}
	f.Add([]byte(`{"id":"evt_1","type":"charge.dispute.closed","livemode":true,"data":{"object":{"id":"dp_1","status":"won","charge":{"id":"ch_1"},"amount":1,"currency":"usd"}}}`), false)
	f.Add([]byte(`{"id":"evt_1","type":"checkout.session.completed","livemode":false,"data":{"object":{"id":"cs_1","amount_total":9223372036854775807,"currency":"jpy","payment_status":"paid","metadata":{"vend_products":"a:1:1,b:2:3.5"}}}}`), true)
	f.Fuzz(func(t *testing.T, body []byte, sandbox bool) {
		ev, err := Normalize(body, Config{Sandbox: sandbox, Products: map[string]string{"ebook": "mapped"}})
		if err != nil {
			var rej *vend.RejectError
			if !errors.As(err, &rej) || rej.Reason == "" {
				t.Fatalf("error is not a *vend.RejectError with a reason: %v", err)
			}
			return
		}
		checkEventInvariants(t, ev, sandbox)
	})
}

// checkEventInvariants holds for every event Normalize accepts.
func checkEventInvariants(t *testing.T, ev vend.Event, sandbox bool) {
	t.Helper()
	if ev.Provider != Provider || ev.Key == "" || ev.RawStatus == "" || ev.Test != sandbox {
		t.Fatalf("identity: %+v", ev)
	}
	if ev.Kind == vend.EventIgnore {
		return
	}
	if ev.TxnID == "" || ev.OrderRef == "" || len(ev.Currency) != 3 || ev.Total < 0 {
		t.Fatalf("%s without ids, currency or total: %+v", ev.Kind, ev)
	}
	switch ev.Kind {
	case vend.EventRefund, vend.EventChargeback, vend.EventRestore:
		if ev.ParentTxnID != ev.OrderRef {
			t.Fatalf("%s: ParentTxnID %q, OrderRef %q", ev.Kind, ev.ParentTxnID, ev.OrderRef)
		}
	case vend.EventPayment, vend.EventPending:
		if len(ev.Items) == 0 {
			t.Fatalf("%s without items: %+v", ev.Kind, ev)
		}
		for _, it := range ev.Items {
			if it.ProductID == "" || it.Quantity < 1 || it.Amount < 0 {
				t.Fatalf("bad item %+v", it)
			}
		}
	}
}
