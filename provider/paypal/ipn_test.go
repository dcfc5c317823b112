package paypal

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vend-shop/vend"
)

// sellerConfig matches the synthetic samples P1–P6.
var sellerConfig = Config{
	ReceiverEmails: []string{"seller@example.com"},
	ReceiverID:     "S8XGHLYDW9T3S",
	Sandbox:        true,
}

func pst(s string) time.Time { return mustTime(s, "PST", -8) }
func pdt(s string) time.Time { return mustTime(s, "PDT", -7) }

func mustTime(s, zone string, hours int) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04:05", s, time.FixedZone(zone, hours*3600))
	if err != nil {
		panic(err)
	}
	return t
}

// checkEvent compares events, the time with Equal because zones are pointers.
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
	testBuyer := vend.Buyer{Email: "buyer@example.com", Name: "Test Buyer"}
	ebook := func(amount vend.Amount) []vend.EventItem {
		return []vend.EventItem{{ProductID: "EBOOK-001", Name: "E-Book Go Patterns", Quantity: 1, Amount: amount}}
	}
	tests := []struct {
		file string
		want vend.Event
	}{
		{"p1.ipn", vend.Event{
			Provider: "paypal", Kind: vend.EventPayment, TxnID: "4TK12345AB6789012",
			Key: "4TK12345AB6789012/Completed", RawStatus: "Completed", Custom: "ord_7f3a9c",
			Buyer: joerg, Items: ebook(1995), Total: 1995, Currency: "USD", Test: true,
			At: pst("2025-03-03 10:15:02"),
		}},
		{"p2.ipn", vend.Event{
			Provider: "paypal", Kind: vend.EventPayment, TxnID: "7JX99887CD1122334",
			Key: "7JX99887CD1122334/Completed", RawStatus: "Completed", Custom: "ord_8812aa",
			Buyer: testBuyer,
			Items: []vend.EventItem{
				{ProductID: "EBOOK-001", Name: "E-Book Go Patterns", Quantity: 1, Amount: 1995},
				{ProductID: "AUDIO-002", Name: "Audio Course", Quantity: 1, Amount: 990},
			},
			Total: 2985, Currency: "USD", Test: true, At: pst("2025-03-03 10:20:41"),
		}},
		{"p3.ipn", vend.Event{
			Provider: "paypal", Kind: vend.EventPending, TxnID: "9PL55555EF0000001",
			Key: "9PL55555EF0000001/Pending", RawStatus: "Pending", Reason: "echeck", Custom: "ord_9001bb",
			Buyer: testBuyer, Items: ebook(1995), Total: 1995, Currency: "USD", Test: true,
			At: pst("2025-03-03 11:00:00"),
		}},
		{"p4.ipn", vend.Event{
			Provider: "paypal", Kind: vend.EventRefund, TxnID: "1RF00000GH0000002", ParentTxnID: "4TK12345AB6789012",
			Key: "1RF00000GH0000002/Refunded", RawStatus: "Refunded", Reason: "refund", Custom: "ord_7f3a9c",
			Buyer: joerg, Items: ebook(-1995), Total: -1995, Currency: "USD", Test: true,
			At: pdt("2025-03-10 09:01:10"),
		}},
		{"p5.ipn", vend.Event{
			Provider: "paypal", Kind: vend.EventChargeback, TxnID: "2RV00000JK0000003", ParentTxnID: "4TK12345AB6789012",
			Key: "2RV00000JK0000003/Reversed", RawStatus: "Reversed", Reason: "chargeback", Custom: "ord_7f3a9c",
			Buyer: joerg, Items: ebook(-1995), Total: -1995, Currency: "USD", Test: true,
			At: pdt("2025-04-02 12:30:00"),
		}},
		{"p6.ipn", vend.Event{
			Provider: "paypal", Kind: vend.EventRestore, TxnID: "3CR00000LM0000004", ParentTxnID: "4TK12345AB6789012",
			Key: "3CR00000LM0000004/Canceled_Reversal", RawStatus: "Canceled_Reversal", Reason: "other", Custom: "ord_7f3a9c",
			Buyer: joerg, Items: ebook(1995), Total: 1995, Currency: "USD", Test: true,
			At: pdt("2025-05-05 08:45:00"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := Normalize(mustParse(t, readSample(t, tt.file)), sellerConfig)
			if err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			checkEvent(t, got, tt.want)
		})
	}

	t.Run("p0.ipn passes the receiver and mode checks but has no item_number", func(t *testing.T) {
		cfg := Config{ReceiverEmails: []string{"gpmac_1231902686_biz@paypal.com"}, ReceiverID: "S8XGHLYDW9T3S", Sandbox: true}
		_, err := Normalize(mustParse(t, readSample(t, "p0.ipn")), cfg)
		checkReject(t, err, "item_number is missing")
	})
}

// edit returns the pairs of sample with the given fields replaced (or appended)
// and the fields named in del removed.
func edit(tb testing.TB, sample string, set map[string]string, del ...string) *Form {
	tb.Helper()
	f := mustParse(tb, readSample(tb, sample))
	var out []Pair
	for _, p := range f.Pairs {
		if v, ok := set[p.Key]; ok {
			p.Value = v
			delete(set, p.Key)
		}
		if !contains(del, p.Key) {
			out = append(out, p)
		}
	}
	for k, v := range set {
		out = append(out, Pair{k, v})
	}
	return &Form{Pairs: out}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestNormalize_Receiver(t *testing.T) {
	tests := []struct {
		name       string
		form       *Form
		cfg        Config
		wantReject string // "" means accepted
	}{
		{
			name: "receiver_email matches case-insensitively and trimmed",
			form: edit(t, "p1.ipn", nil),
			cfg:  Config{ReceiverEmails: []string{" SELLER@Example.com "}, Sandbox: true},
		},
		{
			name: "business matches when receiver_email is the primary address",
			form: edit(t, "p1.ipn", map[string]string{"receiver_email": "primary@example.com"}),
			cfg:  Config{ReceiverEmails: []string{"seller@example.com"}, Sandbox: true},
		},
		{
			name: "receiver_id alone is enough",
			form: edit(t, "p1.ipn", map[string]string{"receiver_email": "x@y", "business": "x@y"}),
			cfg:  Config{ReceiverID: "S8XGHLYDW9T3S", Sandbox: true},
		},
		{
			name:       "wrong receiver",
			form:       edit(t, "p1.ipn", map[string]string{"receiver_email": "x@y", "business": "x@y"}),
			cfg:        sellerConfig,
			wantReject: `receiver_email "x@y" is not one of paypal.receiver_emails`,
		},
		{
			name:       "wrong receiver and a different business",
			form:       edit(t, "p1.ipn", map[string]string{"receiver_email": "x@y", "business": "z@y"}),
			cfg:        sellerConfig,
			wantReject: `neither receiver_email "x@y" nor business "z@y"`,
		},
		{
			name:       "wrong receiver_id",
			form:       edit(t, "p1.ipn", map[string]string{"receiver_id": "OTHERMERCHANT"}),
			cfg:        sellerConfig,
			wantReject: `receiver_id "OTHERMERCHANT" is not paypal.receiver_id`,
		},
		{
			name:       "missing receiver_id when one is configured",
			form:       edit(t, "p1.ipn", nil, "receiver_id"),
			cfg:        sellerConfig,
			wantReject: `receiver_id "" is not paypal.receiver_id`,
		},
		{
			name:       "nothing configured fails closed",
			form:       edit(t, "p1.ipn", nil),
			cfg:        Config{Sandbox: true},
			wantReject: "set paypal.receiver_emails or paypal.receiver_id",
		},
		{
			name:       "a blank configured email counts as nothing",
			form:       edit(t, "p1.ipn", nil, "receiver_email", "business"),
			cfg:        Config{ReceiverEmails: []string{"", "  "}, Sandbox: true},
			wantReject: "set paypal.receiver_emails or paypal.receiver_id",
		},
		{
			name:       "a blank configured email does not match a missing receiver",
			form:       edit(t, "p1.ipn", nil, "receiver_email", "business"),
			cfg:        Config{ReceiverEmails: []string{"", "seller@example.com"}, Sandbox: true},
			wantReject: "is not one of paypal.receiver_emails",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := Normalize(tt.form, tt.cfg)
			if tt.wantReject != "" {
				checkReject(t, err, tt.wantReject)
				return
			}
			if err != nil || ev.Kind != vend.EventPayment {
				t.Fatalf("Normalize = %v, %v; want a payment", ev.Kind, err)
			}
		})
	}
}

func TestNormalize_Reject(t *testing.T) {
	live := sellerConfig
	live.Sandbox = false
	tests := []struct {
		name string
		form *Form
		cfg  Config
		want string
	}{
		{"sandbox message in live mode", edit(t, "p1.ipn", nil), live, "sandbox message (test_ipn=1) but paypal.sandbox is off"},
		{"live message in sandbox mode", edit(t, "p1.ipn", nil, "test_ipn"), sellerConfig, "live message (no test_ipn=1) but paypal.sandbox is on"},
		{"test_ipn=0 is live", edit(t, "p1.ipn", map[string]string{"test_ipn": "0"}), sellerConfig, "live message"},
		{"missing txn_id", edit(t, "p1.ipn", nil, "txn_id"), sellerConfig, "txn_id is missing"},
		{"blank txn_id", edit(t, "p1.ipn", map[string]string{"txn_id": "  "}), sellerConfig, "txn_id is missing"},
		{"refund without parent", edit(t, "p4.ipn", nil, "parent_txn_id"), sellerConfig, "Refunded without parent_txn_id"},
		{"chargeback without parent", edit(t, "p5.ipn", nil, "parent_txn_id"), sellerConfig, "Reversed without parent_txn_id"},
		{"restore without parent", edit(t, "p6.ipn", nil, "parent_txn_id"), sellerConfig, "Canceled_Reversal without parent_txn_id"},
		{"payment without currency", edit(t, "p1.ipn", nil, "mc_currency"), sellerConfig, `mc_currency ""`},
		{"refund with a bad currency", edit(t, "p4.ipn", map[string]string{"mc_currency": "US Dollar"}), sellerConfig, `mc_currency "US Dollar"`},
		{"payment without mc_gross", edit(t, "p1.ipn", nil, "mc_gross"), sellerConfig, `mc_gross ""`},
		{"float-looking mc_gross", edit(t, "p1.ipn", map[string]string{"mc_gross": "1.995e1"}), sellerConfig, `mc_gross "1.995e1"`},
		{"refund with garbage mc_gross", edit(t, "p4.ipn", map[string]string{"mc_gross": "abc"}), sellerConfig, `mc_gross "abc"`},
		{"payment without item_number", edit(t, "p1.ipn", nil, "item_number"), sellerConfig, "item_number is missing"},
		{"pending with empty item_number", edit(t, "p3.ipn", map[string]string{"item_number": ""}), sellerConfig, "item_number is missing"},
		{"zero quantity", edit(t, "p1.ipn", map[string]string{"quantity": "0"}), sellerConfig, `quantity "0"`},
		{"nil form", nil, sellerConfig, "is not one of paypal.receiver_emails"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Normalize(tt.form, tt.cfg)
			checkReject(t, err, tt.want)
		})
	}
}

func TestNormalize_Lenient(t *testing.T) {
	t.Run("refund without item fields still revokes", func(t *testing.T) {
		ev, err := Normalize(edit(t, "p4.ipn", nil, "item_number", "item_name"), sellerConfig)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Kind != vend.EventRefund || ev.Items != nil || ev.Total != -1995 {
			t.Errorf("event %+v", ev)
		}
	})
	t.Run("chargeback without currency", func(t *testing.T) {
		ev, err := Normalize(edit(t, "p5.ipn", nil, "mc_currency"), sellerConfig)
		if err != nil || ev.Kind != vend.EventChargeback || ev.Currency != "" {
			t.Fatalf("Normalize = %+v, %v", ev, err)
		}
	})
	t.Run("lower-case currency is upper-cased", func(t *testing.T) {
		ev, err := Normalize(edit(t, "p1.ipn", map[string]string{"mc_currency": "eur"}), sellerConfig)
		if err != nil || ev.Currency != "EUR" {
			t.Fatalf("Normalize = %q, %v", ev.Currency, err)
		}
	})
	t.Run("unknown payment_date leaves At zero", func(t *testing.T) {
		ev, err := Normalize(edit(t, "p1.ipn", map[string]string{"payment_date": "N/A"}), sellerConfig)
		if err != nil || !ev.At.IsZero() {
			t.Fatalf("Normalize = %v, %v", ev.At, err)
		}
	})
}

func TestNormalize_Kinds(t *testing.T) {
	tests := []struct {
		status, txnType string
		want            vend.EventKind
	}{
		{"Completed", "web_accept", vend.EventPayment},
		{"Completed", "express_checkout", vend.EventPayment},
		{"Pending", "web_accept", vend.EventPending},
		{"Created", "express_checkout", vend.EventPending},
		{"Denied", "web_accept", vend.EventFailed},
		{"Failed", "web_accept", vend.EventFailed},
		{"Voided", "web_accept", vend.EventFailed},
		{"Expired", "web_accept", vend.EventFailed},
		{"Refunded", "", vend.EventRefund},
		{"Reversed", "", vend.EventChargeback},
		{"Canceled_Reversal", "", vend.EventRestore},
		{"Canceled-Reversal", "", vend.EventRestore},
		{"Processed", "masspay", vend.EventIgnore},
		{"Cleared", "web_accept", vend.EventIgnore},
		{"completed", "web_accept", vend.EventIgnore}, // statuses are capitalised; anything else is unknown
		{"", "web_accept", vend.EventIgnore},
		{"Completed", "new_case", vend.EventIgnore},
		{"Reversed", "adjustment", vend.EventIgnore},
	}
	for _, tt := range tests {
		t.Run(tt.status+"/"+tt.txnType, func(t *testing.T) {
			form := edit(t, "p1.ipn", map[string]string{
				"payment_status": tt.status, "txn_type": tt.txnType, "parent_txn_id": "4TK12345AB6789012",
			})
			ev, err := Normalize(form, sellerConfig)
			if err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			if ev.Kind != tt.want || ev.Key != "4TK12345AB6789012/"+tt.status || ev.RawStatus != tt.status {
				t.Errorf("kind %q key %q raw %q, want kind %q", ev.Kind, ev.Key, ev.RawStatus, tt.want)
			}
		})
	}
}

func TestNormalize_Cart(t *testing.T) {
	item := func(id, name string, qty int, amount vend.Amount) vend.EventItem {
		return vend.EventItem{ProductID: id, Name: name, Quantity: qty, Amount: amount}
	}
	tests := []struct {
		name       string
		form       *Form
		want       []vend.EventItem
		wantReject string
	}{
		{
			name: "simulator spelling mc_grossN",
			form: edit(t, "p2.ipn", map[string]string{"mc_gross1": "19.95", "mc_gross2": "9.90"}, "mc_gross_1", "mc_gross_2"),
			want: []vend.EventItem{item("EBOOK-001", "E-Book Go Patterns", 1, 1995), item("AUDIO-002", "Audio Course", 1, 990)},
		},
		{
			name: "mc_gross_N wins when both are present",
			form: edit(t, "p2.ipn", map[string]string{"mc_gross1": "1.00"}),
			want: []vend.EventItem{item("EBOOK-001", "E-Book Go Patterns", 1, 1995), item("AUDIO-002", "Audio Course", 1, 990)},
		},
		{
			name: "quantity and missing quantity",
			form: edit(t, "p2.ipn", map[string]string{"quantity2": "3", "mc_gross_2": "29.70"}, "quantity1"),
			want: []vend.EventItem{item("EBOOK-001", "E-Book Go Patterns", 1, 1995), item("AUDIO-002", "Audio Course", 3, 2970)},
		},
		{
			name: "txn_type cart without num_cart_items counts the lines",
			form: edit(t, "p2.ipn", nil, "num_cart_items"),
			want: []vend.EventItem{item("EBOOK-001", "E-Book Go Patterns", 1, 1995), item("AUDIO-002", "Audio Course", 1, 990)},
		},
		{
			name: "num_cart_items makes a cart whatever the txn_type",
			form: edit(t, "p2.ipn", map[string]string{"txn_type": "express_checkout", "num_cart_items": "1"}),
			want: []vend.EventItem{item("EBOOK-001", "E-Book Go Patterns", 1, 1995)},
		},
		{
			name:       "missing item number",
			form:       edit(t, "p2.ipn", nil, "item_number2"),
			wantReject: "item_number2 is missing",
		},
		{
			name:       "unparsable line amount",
			form:       edit(t, "p2.ipn", map[string]string{"mc_gross_2": "9,90"}),
			wantReject: `mc_gross_2 "9,90" is not an amount`,
		},
		{
			name:       "missing line amount in both spellings",
			form:       edit(t, "p2.ipn", nil, "mc_gross_1"),
			wantReject: `mc_gross1 "" is not an amount`,
		},
		{
			name:       "bad quantity",
			form:       edit(t, "p2.ipn", map[string]string{"quantity1": "-1"}),
			wantReject: `quantity1 "-1"`,
		},
		{
			name:       "num_cart_items is not a number",
			form:       edit(t, "p2.ipn", map[string]string{"num_cart_items": "two"}),
			wantReject: `num_cart_items "two"`,
		},
		{
			name:       "num_cart_items out of range",
			form:       edit(t, "p2.ipn", map[string]string{"num_cart_items": "1000000"}),
			wantReject: `num_cart_items "1000000"`,
		},
		{
			name:       "num_cart_items larger than the lines sent",
			form:       edit(t, "p2.ipn", map[string]string{"num_cart_items": "3"}),
			wantReject: "item_number3 is missing",
		},
		{
			name:       "cart without any line",
			form:       edit(t, "p2.ipn", nil, "num_cart_items", "item_number1", "item_number2"),
			wantReject: "cart message without num_cart_items or item_number1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := Normalize(tt.form, sellerConfig)
			if tt.wantReject != "" {
				checkReject(t, err, tt.wantReject)
				return
			}
			if err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			if !reflect.DeepEqual(ev.Items, tt.want) {
				t.Errorf("items\n got %+v\nwant %+v", ev.Items, tt.want)
			}
			if ev.Total != 2985 {
				t.Errorf("Total = %v, want mc_gross 29.85 whatever the lines say", ev.Total)
			}
		})
	}
}

func TestParsePaymentDate(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"20:12:59 Jan 13, 2009 PST", pst("2009-01-13 20:12:59")},
		{"09:01:10 Mar 10, 2025 PDT", pdt("2025-03-10 09:01:10")},
		{"09:01:10 Mar 3, 2025 PST", pst("2025-03-03 09:01:10")},
		{"Sun May 24 2015 14:32:31 GMT-0700 (PDT)", pdt("2015-05-24 14:32:31")},
		{"20:12:59 Jan 13, 2009 CET", time.Time{}},
		{"N/A", time.Time{}},
		{"", time.Time{}},
		{"25:00:00 Jan 13, 2009 PST", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := parsePaymentDate(tt.in); !got.Equal(tt.want) {
				t.Errorf("parsePaymentDate = %v, want %v", got, tt.want)
			}
		})
	}
}

func FuzzNormalize(f *testing.F) {
	for _, name := range sampleNames(f) {
		f.Add(readSample(f, name), true)
	}
	f.Add([]byte("txn_id=X&payment_status=Completed&num_cart_items=2&item_number1=a&mc_gross1=1&receiver_id=S8XGHLYDW9T3S"), false)
	f.Add([]byte("txn_type=cart&item_number1=a&item_number2=b&test_ipn=1&receiver_email=seller%40example.com"), true)
	f.Fuzz(func(t *testing.T, body []byte, sandbox bool) {
		form, err := ParseForm(body)
		if err != nil {
			return
		}
		cfg := sellerConfig
		cfg.Sandbox = sandbox
		ev, err := Normalize(form, cfg)
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
	if ev.Provider != Provider || ev.TxnID == "" || ev.Key != ev.TxnID+"/"+ev.RawStatus {
		t.Fatalf("identity: %+v", ev)
	}
	if ev.Test != sandbox {
		t.Fatalf("Test = %v in sandbox mode %v", ev.Test, sandbox)
	}
	switch ev.Kind {
	case vend.EventRefund, vend.EventChargeback, vend.EventRestore:
		if ev.ParentTxnID == "" {
			t.Fatalf("%s without parent", ev.Kind)
		}
	case vend.EventPayment, vend.EventPending:
		if len(ev.Items) == 0 || len(ev.Currency) != 3 {
			t.Fatalf("%s without items or currency: %+v", ev.Kind, ev)
		}
		for _, it := range ev.Items {
			if it.ProductID == "" || it.Quantity < 1 {
				t.Fatalf("bad item %+v", it)
			}
		}
	}
}
