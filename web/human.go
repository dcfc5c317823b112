package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/vend-shop/vend"
)

// adminFuncs write the admin's values in the units people use: dates as
// YYYY-MM-DD HH:MM (UTC), lifetimes in days, money with its currency, counts
// with a noun that agrees, and the audit trail as what changed.
var adminFuncs = template.FuncMap{
	"when":     when,
	"day":      func(t time.Time) string { return t.UTC().Format(time.DateOnly) },
	"lifetime": humanLifetime,
	"limit":    vend.FormatLimit,
	// formLifetime is a lifetime as the product form reads it back: "30d".
	"formLifetime": vend.FormatLifetime,
	"sameWord":     strings.EqualFold,
	"money":        func(a vend.Amount, currency string) string { return a.String() + " " + currency },
	"plural":       plural,
	"changes":      auditChanges,
	"wants":        func(e *vend.WebhookEndpoint, ev vend.WebhookEvent) bool { return e.Wants(ev) },
}

// when is the admin's one way to write a moment: ISO 8601's date and minute,
// in UTC, which the pages say they use.
func when(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") }

// plural is the noun for n things: "1 download", "2 downloads".
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// humanLifetime writes an access lifetime as people say it: "30 days",
// "12 hours", "unlimited".
func humanLifetime(d time.Duration) string {
	count := func(n time.Duration, one, many string) string {
		return strconv.FormatInt(int64(n), 10) + " " + plural(int(n), one, many)
	}
	switch {
	case d == vend.Forever:
		return "unlimited"
	case d%(24*time.Hour) == 0:
		return count(d/(24*time.Hour), "day", "days")
	case d%time.Hour == 0:
		return count(d/time.Hour, "hour", "hours")
	case d%time.Minute == 0:
		return count(d/time.Minute, "minute", "minutes")
	default:
		return d.String()
	}
}

// change is one field of an audited record that an administrator changed,
// in words: Old is "" when the record is new.
type change struct {
	Field, Old, New string
}

// noChange are the fields the trail leaves out: they change with every
// write and say nothing about what the administrator did.
var noChange = map[string]bool{"updated_at": true}

// auditChanges tells what an audit entry changed, field by field, in the
// units the pages use: "price: 19.95 USD → 24.95 USD", "lifetime: unlimited
// → 30 days". A new record lists its fields; a record that is gone lists what
// it was. Entries the trail cannot read as records (not JSON objects) show as
// they are.
func auditChanges(e *vend.AuditEntry) []change {
	before, errB := recordFields(e.Before)
	after, errA := recordFields(e.After)
	if errB != nil || errA != nil {
		return []change{{Field: "before", New: e.Before}, {Field: "after", New: e.After}}
	}
	currency := func(f fields) string { return strings.Trim(string(f.get("currency")), `"`) }
	cur := currency(after)
	if cur == "" {
		cur = currency(before)
	}
	var out []change
	for _, key := range unionKeys(before, after) {
		if noChange[key] {
			continue
		}
		was, now := before.get(key), after.get(key)
		if bytes.Equal(was, now) {
			continue
		}
		c := change{Field: strings.TrimSuffix(strings.ReplaceAll(key, "_", " "), " at"),
			New: humanValue(key, now, cur)}
		if e.Before != "" {
			c.Old = humanValue(key, was, cur)
		}
		out = append(out, c)
	}
	return out
}

// field is one member of a JSON object; fields keep the record's order.
type field struct {
	key   string
	value json.RawMessage
}

type fields []field

func (f fields) get(key string) json.RawMessage {
	for _, m := range f {
		if m.key == key {
			return m.value
		}
	}
	return nil
}

func unionKeys(a, b fields) []string {
	var keys []string
	seen := map[string]bool{}
	for _, f := range append(append(fields{}, a...), b...) {
		if !seen[f.key] {
			seen[f.key], keys = true, append(keys, f.key)
		}
	}
	return keys
}

// recordFields reads an audited record: a JSON object, or a list (a
// product's files) as its one field "files". Nested objects (an order's
// buyer) become fields of their own: "buyer_email".
func recordFields(s string) (fields, error) {
	if s == "" {
		return nil, nil
	}
	if strings.HasPrefix(s, "[") {
		return fields{{"files", json.RawMessage(s)}}, nil
	}
	dec := json.NewDecoder(strings.NewReader(s))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("web: audit record is no object: %.40s", s)
	}
	var out fields
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("web: audit record: %w", err)
		}
		key, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("web: audit record %s: %w", key, err)
		}
		if bytes.HasPrefix(v, []byte("{")) {
			inner, err := recordFields(string(v))
			if err != nil {
				return nil, err
			}
			for _, f := range inner {
				f.key = key + "_" + f.key
				out = append(out, f)
			}
			continue
		}
		out = append(out, field{key, v})
	}
	return out, nil
}

// humanValue writes one field's JSON value in the page's units, by what the
// field is: money, a lifetime in nanoseconds, a limit, a moment.
func humanValue(key string, raw json.RawMessage, currency string) string {
	if raw == nil {
		if key == "expires_at" { // a grant without an expiry keeps its access
			return "never"
		}
		return "–"
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if dec.Decode(&v) != nil {
		return string(raw)
	}
	n, isNumber := v.(json.Number)
	i, intErr := n.Int64()
	switch {
	case isNumber && intErr == nil && (key == "price" || key == "total" || key == "amount"):
		return strings.TrimSpace(vend.Amount(i).String() + " " + currency)
	case isNumber && intErr == nil && key == "lifetime":
		return humanLifetime(time.Duration(i))
	case isNumber && intErr == nil && strings.HasSuffix(key, "download_limit"):
		return vend.FormatLimit(int(i))
	case isNumber && intErr == nil && key == "size":
		return humanBytes(i)
	}
	switch v := v.(type) {
	case string:
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return when(t)
		}
		if v == "" {
			return "–"
		}
		return v
	case bool:
		if v {
			return "yes"
		}
		return "no"
	case []any:
		var names []string
		for _, el := range v {
			if m, ok := el.(map[string]any); ok && m["name"] != nil {
				names = append(names, fmt.Sprint(m["name"]))
			} else {
				names = append(names, fmt.Sprint(el))
			}
		}
		if len(names) == 0 {
			return "none"
		}
		return strings.Join(names, ", ")
	case nil:
		return "–"
	}
	return fmt.Sprint(v)
}
