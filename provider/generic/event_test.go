package generic

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vend-shop/vend"
)

var sandbox = Config{Sandbox: true}

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
	items := []vend.EventItem{
		{ProductID: "ebook", Name: "E-Book", Quantity: 1, Amount: 1900},
		{ProductID: "audio-course", Quantity: 2, Amount: 3000},
	}
	paid := vend.Event{
		Provider: Provider, Kind: vend.EventPayment, OrderRef: "A-1001", TxnID: "pay_8812", Key: "msg_1",
		RawStatus: "order.paid", Custom: "cart-77", Buyer: joerg, Language: "de", Items: items,
		Total: 4900, Currency: "EUR", Test: true,
	}
	later := vend.Event{Provider: Provider, OrderRef: "A-1001", ParentTxnID: "A-1001", Key: "msg_1", Currency: "EUR", Test: true}
	with := func(ev vend.Event, f func(*vend.Event)) vend.Event {
		f(&ev)
		return ev
	}
	tests := []struct {
		file string
		want vend.Event
	}{
		{"order-paid.json", paid},
		{"order-pending.json", with(paid, func(ev *vend.Event) {
			ev.Kind, ev.RawStatus, ev.TxnID, ev.Reason = vend.EventPending, "order.pending", "payment:A-1001", "bank transfer"
		})},
		{"order-refunded-partial.json", with(later, func(ev *vend.Event) {
			ev.Kind, ev.RawStatus, ev.TxnID, ev.Total, ev.Reason = vend.EventRefund, "order.refunded", "refund:A-1001", 1900, "requested by the buyer"
		})},
		{"order-refunded-full.json", with(later, func(ev *vend.Event) {
			ev.Kind, ev.RawStatus, ev.TxnID, ev.Total, ev.Full = vend.EventRefund, "order.refunded", "re_5531", 4900, true
		})},
		{"order-chargeback.json", with(later, func(ev *vend.Event) {
			ev.Kind, ev.RawStatus, ev.TxnID, ev.Reason, ev.Currency = vend.EventChargeback, "order.chargeback", "cb_17", "fraudulent", ""
		})},
		{"order-restored.json", with(later, func(ev *vend.Event) {
			ev.Kind, ev.RawStatus, ev.TxnID, ev.Total = vend.EventRestore, "order.restored", "restore:A-1001", 4900
		})},
		{"ping.json", vend.Event{Provider: Provider, Kind: vend.EventIgnore, Key: "msg_1", RawStatus: "ping", Test: true}},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.file, ".json"), func(t *testing.T) {
			got, err := Normalize("msg_1", readSample(t, tt.file), sandbox)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("event\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// edit loads a sample as a generic JSON value, lets f change it and encodes it
// again.
func edit(tb testing.TB, sample string, f func(m, order map[string]any)) []byte {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(readSample(tb, sample), &m); err != nil {
		tb.Fatal(err)
	}
	o, _ := m["order"].(map[string]any)
	f(m, o)
	b, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestNormalize_Variants(t *testing.T) {
	tests := []struct {
		name   string
		sample string
		edit   func(m, o map[string]any)
		cfg    Config
		check  func(ev vend.Event) bool
	}{
		{"no transaction_id: payment:<order>", "order-paid.json", func(m, _ map[string]any) { delete(m, "transaction_id") }, sandbox,
			func(ev vend.Event) bool { return ev.TxnID == "payment:A-1001" }},
		{"products mapped", "order-paid.json", func(_, _ map[string]any) {}, Config{Sandbox: true, Products: map[string]string{"ebook": "ebook-v2"}},
			func(ev vend.Event) bool {
				return ev.Items[0].ProductID == "ebook-v2" && ev.Items[1].ProductID == "audio-course"
			}},
		{"quantity defaults to 1", "order-paid.json", func(_, o map[string]any) {
			o["items"] = []any{map[string]any{"product_id": "ebook", "amount": "49"}}
		}, sandbox, func(ev vend.Event) bool {
			return reflect.DeepEqual(ev.Items, []vend.EventItem{{ProductID: "ebook", Quantity: 1, Amount: 4900}})
		}},
		{"yen amounts are major units", "order-paid.json", func(_, o map[string]any) {
			o["currency"], o["total"] = "jpy", "500"
			o["items"] = []any{map[string]any{"product_id": "ebook", "amount": "500"}}
		}, sandbox, func(ev vend.Event) bool {
			return ev.Currency == "JPY" && ev.Total == 50000 && ev.Items[0].Amount == 50000
		}},
		{"one decimal", "order-paid.json", func(_, o map[string]any) { o["total"] = "49.5" }, sandbox,
			func(ev vend.Event) bool { return ev.Total == 4950 }},
		{"live message in live mode", "order-paid.json", func(m, _ map[string]any) { delete(m, "test") }, Config{},
			func(ev vend.Event) bool { return !ev.Test && ev.Kind == vend.EventPayment }},
		{"unknown fields ignored", "order-paid.json", func(m, o map[string]any) { m["version"], o["coupon"] = 2, map[string]any{"code": "X"} }, sandbox,
			func(ev vend.Event) bool { return ev.Kind == vend.EventPayment }},
		{"refund with full: true below the total", "order-refunded-partial.json", func(m, _ map[string]any) { m["full"] = true }, sandbox,
			func(ev vend.Event) bool { return ev.Full && ev.Total == 1900 }},
		{"refund of the total without full", "order-refunded-partial.json", func(m, _ map[string]any) { m["amount"] = "49.00" }, sandbox,
			func(ev vend.Event) bool { return ev.Full && ev.Total == 4900 }},
		{"refund amount without order total is partial", "order-refunded-partial.json", func(_, o map[string]any) { delete(o, "total") }, sandbox,
			func(ev vend.Event) bool { return !ev.Full && ev.Total == 1900 }},
		{"refund items are not needed", "order-refunded-partial.json", func(_, o map[string]any) { o["items"] = "garbage-free zone" }, sandbox,
			nil},
		{"chargeback needs only the order id", "order-chargeback.json", func(m, _ map[string]any) { delete(m, "transaction_id") }, sandbox,
			func(ev vend.Event) bool {
				return ev.TxnID == "chargeback:A-1001" && ev.ParentTxnID == "A-1001" && ev.Total == 0
			}},
		{"unknown type without order", "ping.json", func(m, _ map[string]any) { m["type"] = "order.shipped" }, sandbox,
			func(ev vend.Event) bool { return ev.Kind == vend.EventIgnore && ev.RawStatus == "order.shipped" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := Normalize("msg_1", edit(t, tt.sample, tt.edit), tt.cfg)
			if tt.check == nil {
				// items has the wrong JSON type: a decoding error even where unused.
				checkReject(t, err, "order.items is a JSON string, want an array")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(ev) {
				t.Errorf("unexpected event %+v", ev)
			}
		})
	}
}

func TestNormalize_Reject(t *testing.T) {
	const paid = "order-paid.json"
	item := func(fields map[string]any) func(_, o map[string]any) {
		return func(_, o map[string]any) { o["items"] = []any{fields} }
	}
	tests := []struct {
		name   string
		sample string
		edit   func(m, o map[string]any)
		cfg    Config
		want   string
	}{
		{"test message, sandbox off", paid, func(_, _ map[string]any) {}, Config{}, "generic.sandbox is off"},
		{"live message, sandbox on", paid, func(m, _ map[string]any) { m["test"] = false }, sandbox, "generic.sandbox is on"},
		{"live ping, sandbox on", "ping.json", func(m, _ map[string]any) { delete(m, "test") }, sandbox, "generic.sandbox is on"},
		{"no type", paid, func(m, _ map[string]any) { delete(m, "type") }, sandbox, "type is missing"},
		{"type is a number", paid, func(m, _ map[string]any) { m["type"] = 1 }, sandbox, "type is a JSON number, want a string"},
		{"test is a string", paid, func(m, _ map[string]any) { m["test"] = "yes" }, sandbox, "test is a JSON string, want true or false"},
		{"no order", paid, func(m, _ map[string]any) { delete(m, "order") }, sandbox, "order.paid without order"},
		{"no order id", paid, func(_, o map[string]any) { o["id"] = " " }, sandbox, "without order.id"},
		{"order id too long", paid, func(_, o map[string]any) { o["id"] = strings.Repeat("x", 256) }, sandbox, "order.id is longer"},
		{"transaction id too long", paid, func(m, _ map[string]any) { m["transaction_id"] = strings.Repeat("x", 256) }, sandbox, "transaction_id is longer"},
		{"no currency", paid, func(_, o map[string]any) { delete(o, "currency") }, sandbox, `order.currency "" is not`},
		{"currency too long", paid, func(_, o map[string]any) { o["currency"] = "EURO" }, sandbox, `"EURO" is not`},
		{"no total", paid, func(_, o map[string]any) { delete(o, "total") }, sandbox, "order.total is missing"},
		{"total is a number", paid, func(_, o map[string]any) { o["total"] = 49.0 }, sandbox, "order.total is a JSON number, want a string"},
		{"total with comma", paid, func(_, o map[string]any) { o["total"] = "49,00" }, sandbox, "not a decimal amount"},
		{"total negative", paid, func(_, o map[string]any) { o["total"] = "-49.00" }, sandbox, "not a decimal amount"},
		{"total with plus", paid, func(_, o map[string]any) { o["total"] = "+49.00" }, sandbox, "not a decimal amount"},
		{"total with space", paid, func(_, o map[string]any) { o["total"] = " 49.00" }, sandbox, "not a decimal amount"},
		{"total with three decimals", paid, func(_, o map[string]any) { o["total"] = "49.000" }, sandbox, "at most two decimals"},
		{"total ending in a dot", paid, func(_, o map[string]any) { o["total"] = "49." }, sandbox, "not a decimal amount"},
		{"total starting with a dot", paid, func(_, o map[string]any) { o["total"] = ".5" }, sandbox, "not a decimal amount"},
		{"total too large", paid, func(_, o map[string]any) { o["total"] = "1234567890123456" }, sandbox, "at most two decimals"},
		{"no buyer email", paid, func(_, o map[string]any) { o["buyer"] = map[string]any{"name": "X"} }, sandbox, "without order.buyer.email"},
		{"no items", paid, func(_, o map[string]any) { o["items"] = []any{} }, sandbox, "order.items is empty"},
		{"too many items", paid, func(_, o map[string]any) {
			list := make([]any, 1001)
			for i := range list {
				list[i] = map[string]any{"product_id": "a", "amount": "1"}
			}
			o["items"] = list
		}, sandbox, "more than 1000"},
		{"item without product", paid, item(map[string]any{"amount": "1.00"}), sandbox, "order.items[0].product_id is missing"},
		{"item without amount", paid, item(map[string]any{"product_id": "ebook"}), sandbox, "order.items[0].amount is missing"},
		{"item quantity zero", paid, item(map[string]any{"product_id": "ebook", "amount": "1", "quantity": 0}), sandbox, "quantity 0"},
		{"item quantity fraction", paid, item(map[string]any{"product_id": "ebook", "amount": "1", "quantity": 1.5}), sandbox, "order.items.quantity is a JSON number 1.5, want a whole number"},
		{"item amount number", paid, item(map[string]any{"product_id": "ebook", "amount": 1}), sandbox, "order.items.amount is a JSON number, want a string"},
		{"pending needs items too", "order-pending.json", func(_, o map[string]any) { delete(o, "items") }, sandbox, "order.items is empty"},
		{"refund without amount or total", "order-refunded-partial.json", func(m, o map[string]any) { delete(m, "amount"); delete(o, "total") }, sandbox, "without amount or order.total"},
		{"refund without currency", "order-refunded-partial.json", func(_, o map[string]any) { delete(o, "currency") }, sandbox, "order.currency"},
		{"refund amount bad", "order-refunded-partial.json", func(m, _ map[string]any) { m["amount"] = "all" }, sandbox, `amount "all"`},
		{"refund total bad", "order-refunded-partial.json", func(_, o map[string]any) { o["total"] = "" }, sandbox, `order.total ""`},
		{"restore currency bad", "order-restored.json", func(_, o map[string]any) { o["currency"] = "€" }, sandbox, "order.currency"},
		{"chargeback total bad", "order-chargeback.json", func(_, o map[string]any) { o["total"] = "1e3" }, sandbox, "order.total"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Normalize("msg_1", edit(t, tt.sample, tt.edit), tt.cfg)
			checkReject(t, err, tt.want)
		})
	}
}

func TestNormalize_RejectID(t *testing.T) {
	body := readSample(t, "order-paid.json")
	_, err := Normalize("", body, sandbox)
	checkReject(t, err, "no webhook-id")
	_, err = Normalize(strings.Repeat("m", 256), body, sandbox)
	checkReject(t, err, "webhook-id is longer")
}

func TestNormalize_RejectBody(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"empty", "", "unexpected end of JSON input"},
		{"form", "type=order.paid", "invalid character 'y' in literal true"},
		{"array", "[]", "not a vend event"},
		{"order is a string", `{"type":"order.paid","order":"A-1"}`, "order is a JSON string, want an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Normalize("msg_1", []byte(tt.body), sandbox)
			checkReject(t, err, tt.want)
		})
	}
}

func FuzzNormalize(f *testing.F) {
	for _, name := range sampleNames(f) {
		f.Add("msg_1", readSample(f, name), true)
	}
	f.Add("msg_2", []byte(`{"type":"order.refunded","order":{"id":"x","currency":"usd"},"amount":"0","full":true}`), false)
	f.Add("msg_3", []byte(`{"type":"order.paid","order":{"id":"x","currency":"EUR","total":"999999999999999.99","buyer":{"email":"a"},"items":[{"product_id":"ebook","amount":"1","quantity":1000000}]}}`), false)
	f.Fuzz(func(t *testing.T, id string, body []byte, sandbox bool) {
		ev, err := Normalize(id, body, Config{Sandbox: sandbox, Products: map[string]string{"ebook": "mapped"}})
		if err != nil {
			var rej *vend.RejectError
			if !errors.As(err, &rej) || rej.Reason == "" {
				t.Fatalf("error is not a *vend.RejectError with a reason: %v", err)
			}
			return
		}
		checkEventInvariants(t, ev, id, sandbox)
	})
}

// checkEventInvariants holds for every event Normalize accepts.
func checkEventInvariants(t *testing.T, ev vend.Event, id string, sandbox bool) {
	t.Helper()
	if ev.Provider != Provider || ev.Key != id || ev.RawStatus == "" || ev.Test != sandbox {
		t.Fatalf("identity: %+v", ev)
	}
	if ev.Kind == vend.EventIgnore {
		return
	}
	if ev.TxnID == "" || ev.OrderRef == "" || ev.Total < 0 {
		t.Fatalf("%s without ids: %+v", ev.Kind, ev)
	}
	switch ev.Kind {
	case vend.EventRefund, vend.EventChargeback, vend.EventRestore:
		if ev.ParentTxnID != ev.OrderRef {
			t.Fatalf("%s: ParentTxnID %q, OrderRef %q", ev.Kind, ev.ParentTxnID, ev.OrderRef)
		}
	case vend.EventPayment, vend.EventPending:
		if len(ev.Items) == 0 || len(ev.Currency) != 3 || ev.Buyer.Email == "" {
			t.Fatalf("%s without items, currency or buyer: %+v", ev.Kind, ev)
		}
		for _, it := range ev.Items {
			if it.ProductID == "" || it.Quantity < 1 || it.Amount < 0 {
				t.Fatalf("bad item %+v", it)
			}
		}
	}
}
