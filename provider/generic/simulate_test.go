package generic

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vend-shop/vend"
)

const simSecret = "whsec_c2ltdWxhdG9yLXNlY3JldC1mb3ItdGVzdHM="

var simNow = time.Date(2025, 3, 3, 18, 15, 2, 0, time.UTC)

func baseSim() Sim {
	return Sim{
		MessageID: "msg_sim", OrderID: "A-1001", Email: "buyer@example.com", Name: "Jörg Müller", Language: "de",
		Items: []SimItem{{ProductID: "ebook", Name: "E-Book", Amount: 1900}, {ProductID: "audio", Quantity: 2, Amount: 3000}},
		Test:  true,
	}
}

// simCases is one simulated message of every type, with the event it becomes.
func simCases() []struct {
	name string
	sim  Sim
	want vend.Event
} {
	joerg := vend.Buyer{Email: "buyer@example.com", Name: "Jörg Müller"}
	paid := vend.Event{
		Provider: Provider, Kind: vend.EventPayment, OrderRef: "A-1001", TxnID: "payment:A-1001", Key: "msg_sim",
		RawStatus: TypePaid, Buyer: joerg, Language: "de", Total: 4900, Currency: "EUR", Test: true,
		Items: []vend.EventItem{{ProductID: "ebook", Name: "E-Book", Quantity: 1, Amount: 1900}, {ProductID: "audio", Quantity: 2, Amount: 3000}},
	}
	later := func(kind vend.EventKind, typ, txn string, total vend.Amount, full bool) vend.Event {
		return vend.Event{
			Provider: Provider, Kind: kind, OrderRef: "A-1001", TxnID: txn, ParentTxnID: "A-1001", Key: "msg_sim", RawStatus: typ,
			Buyer: joerg, Language: "de", Total: total, Full: full, Currency: "EUR", Test: true,
		}
	}
	sim := func(f func(*Sim)) Sim {
		s := baseSim()
		f(&s)
		return s
	}
	return []struct {
		name string
		sim  Sim
		want vend.Event
	}{
		{"order.paid", baseSim(), paid},
		{"order.paid with transaction_id and custom", sim(func(s *Sim) { s.TransactionID, s.Custom = "pay_1", "cart-7" }), func() vend.Event {
			ev := paid
			ev.TxnID, ev.Custom = "pay_1", "cart-7"
			return ev
		}()},
		{"order.pending", sim(func(s *Sim) { s.Type, s.Reason = TypePending, "bank transfer" }), func() vend.Event {
			ev := paid
			ev.Kind, ev.RawStatus, ev.Reason = vend.EventPending, TypePending, "bank transfer"
			return ev
		}()},
		{"order.refunded full", sim(func(s *Sim) { s.Type = TypeRefunded }), later(vend.EventRefund, TypeRefunded, "refund:A-1001", 4900, true)},
		{"order.refunded partial", sim(func(s *Sim) { s.Type, s.Amount = TypeRefunded, 1900 }), later(vend.EventRefund, TypeRefunded, "refund:A-1001", 1900, false)},
		{"order.refunded partial, full by flag", sim(func(s *Sim) { s.Type, s.Amount, s.Full = TypeRefunded, 1900, true }), later(vend.EventRefund, TypeRefunded, "refund:A-1001", 1900, true)},
		{"order.chargeback", sim(func(s *Sim) { s.Type = TypeChargeback }), later(vend.EventChargeback, TypeChargeback, "chargeback:A-1001", 4900, false)},
		{"order.restored", sim(func(s *Sim) { s.Type = TypeRestored }), later(vend.EventRestore, TypeRestored, "restore:A-1001", 4900, false)},
		{"ping", sim(func(s *Sim) { s.Type = "ping" }), vend.Event{Provider: Provider, Kind: vend.EventIgnore, Key: "msg_sim", RawStatus: "ping", Test: true}},
	}
}

// TestSim_RoundTrip: every simulated message verifies and normalizes to what
// it describes.
func TestSim_RoundTrip(t *testing.T) {
	for _, tt := range simCases() {
		t.Run(tt.name, func(t *testing.T) {
			h, body, err := tt.sim.Message(simSecret, simNow)
			if err != nil {
				t.Fatal(err)
			}
			if h.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type = %q", h.Get("Content-Type"))
			}
			if err := Verify(h, body, simSecret, simNow.Add(time.Minute)); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			got, err := Normalize(h.Get(HeaderID), body, sandbox)
			if err != nil {
				t.Fatalf("Normalize: %v\n%s", err, body)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("event\n got %+v\nwant %+v\n%s", got, tt.want, body)
			}
		})
	}
}

func TestSim_Defaults(t *testing.T) {
	s := Sim{Items: []SimItem{{ProductID: "ebook", Amount: 1995}}, Email: "b@example.com"}
	h, body, err := s.Message(simSecret, simNow)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^msg_[A-Za-z0-9]{27}$`).MatchString(h.Get(HeaderID)) {
		t.Errorf("webhook-id %q", h.Get(HeaderID))
	}
	if h.Get(HeaderTimestamp) != "1741025702" {
		t.Errorf("webhook-timestamp %q", h.Get(HeaderTimestamp))
	}
	ev, err := Normalize(h.Get(HeaderID), body, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Kind != vend.EventPayment || ev.Currency != "EUR" || ev.Total != 1995 || !strings.HasPrefix(ev.OrderRef, "ord_") {
		t.Errorf("defaults: %+v", ev)
	}
	if _, _, err := s.Message("", simNow); !errors.Is(err, ErrNoSecret) {
		t.Errorf("Message without a secret: err = %v, want ErrNoSecret", err)
	}
	if _, err := (Sim{Total: -1}).Body(); err == nil {
		t.Error("Body with a negative total: no error")
	}
}

// TestSchema checks docs/webhook-event.schema.json: valid JSON, draft
// 2020-12, its amount pattern the one Normalize applies, and every simulated
// message carrying each property the schema requires for its type.
func TestSchema(t *testing.T) {
	raw, err := os.ReadFile("../../docs/webhook-event.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema map[string]any
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatalf("schema is not valid JSON: %v", err)
	}
	if schema["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %v", schema["$schema"])
	}
	r := requirements{root: schema}
	for _, tt := range simCases() {
		t.Run(tt.name, func(t *testing.T) {
			body, err := tt.sim.Body()
			if err != nil {
				t.Fatal(err)
			}
			var msg any
			if err := json.Unmarshal(body, &msg); err != nil {
				t.Fatal(err)
			}
			if missing := r.missing(schema, msg, "$"); len(missing) > 0 {
				t.Errorf("missing %v in %s", missing, body)
			}
		})
	}
	t.Run("missing properties are found", func(t *testing.T) {
		msg := map[string]any{"type": "order.paid", "order": map[string]any{"id": "x", "items": []any{map[string]any{}}}}
		want := []string{"$.order.currency", "$.order.total", "$.order.buyer", "$.order.items[0].product_id", "$.order.items[0].amount"}
		if got := r.missing(schema, msg, "$"); !sameSet(got, want) {
			t.Errorf("missing = %v, want %v", got, want)
		}
		refund := map[string]any{"type": "order.refunded", "order": map[string]any{"id": "x", "currency": "EUR"}}
		if got := r.missing(schema, refund, "$"); len(got) == 0 {
			t.Error("a refund without amount or order.total passes")
		}
	})
	t.Run("amount pattern", func(t *testing.T) {
		pattern := regexp.MustCompile(r.resolve(map[string]any{"$ref": "#/$defs/amount"})["pattern"].(string))
		for _, s := range []string{"49.00", "49.5", "500", "0", "000.10", "49.", ".5", "-1", "+1", " 1", "1,00", "1.001", "1e3", "", "123456789012345", "1234567890123456"} {
			_, err := amount("x", &s)
			if pattern.MatchString(s) != (err == nil) {
				t.Errorf("%q: schema matches %v, Normalize error %v", s, pattern.MatchString(s), err)
			}
		}
	})
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// requirements is a light reader of the schema's "required" keywords: it
// follows $ref, properties, items, allOf, anyOf and if/then (where "if" tests
// properties by const or enum). It is no validator: it checks presence only.
type requirements struct {
	root map[string]any
}

func (r requirements) resolve(node map[string]any) map[string]any {
	for {
		ref, ok := node["$ref"].(string)
		if !ok {
			return node
		}
		next := r.root
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			next, _ = next[part].(map[string]any)
		}
		merged := map[string]any{}
		for k, v := range next {
			merged[k] = v
		}
		for k, v := range node {
			if k != "$ref" {
				merged[k] = v
			}
		}
		node = merged
	}
}

// missing returns the paths of required properties absent from value.
func (r requirements) missing(schemaNode any, value any, path string) []string {
	node, ok := schemaNode.(map[string]any)
	if !ok {
		return nil
	}
	node = r.resolve(node)
	var out []string
	obj, isObj := value.(map[string]any)
	if req, ok := node["required"].([]any); ok && isObj {
		for _, name := range req {
			if _, ok := obj[name.(string)]; !ok {
				out = append(out, path+"."+name.(string))
			}
		}
	}
	if props, ok := node["properties"].(map[string]any); ok && isObj {
		for name, sub := range props {
			if v, ok := obj[name]; ok {
				out = append(out, r.missing(sub, v, path+"."+name)...)
			}
		}
	}
	if list, ok := value.([]any); ok && node["items"] != nil {
		for i, v := range list {
			out = append(out, r.missing(node["items"], v, path+"["+strconv.Itoa(i)+"]")...)
		}
	}
	for _, sub := range anyList(node["allOf"]) {
		out = append(out, r.conditional(sub, value, path)...)
	}
	if branches := anyList(node["anyOf"]); len(branches) > 0 && !r.anyPasses(branches, value, path) {
		out = append(out, path+" (none of anyOf)")
	}
	return out
}

func (r requirements) conditional(sub any, value any, path string) []string {
	m, _ := sub.(map[string]any)
	cond, ok := m["if"]
	if !ok {
		return r.missing(m, value, path)
	}
	if len(r.missing(cond, value, path)) == 0 && r.matches(cond, value) {
		return r.missing(m["then"], value, path)
	}
	return nil
}

func (r requirements) anyPasses(branches []any, value any, path string) bool {
	for _, b := range branches {
		if len(r.missing(b, value, path)) == 0 {
			return true
		}
	}
	return false
}

// matches tests an "if" schema's const and enum keywords on value's properties.
func (r requirements) matches(cond any, value any) bool {
	m, _ := cond.(map[string]any)
	obj, _ := value.(map[string]any)
	props, _ := m["properties"].(map[string]any)
	for name, sub := range props {
		v, ok := obj[name]
		if !ok {
			continue
		}
		s, _ := sub.(map[string]any)
		if c, ok := s["const"]; ok && c != v {
			return false
		}
		if e, ok := s["enum"].([]any); ok && !slices.Contains(e, v) {
			return false
		}
	}
	return true
}

func anyList(v any) []any {
	l, _ := v.([]any)
	return l
}
