package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/catalog"
	"github.com/vend-shop/vend/ledger"
)

func TestHumanLifetime(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{vend.Forever, "unlimited"},
		{30 * 24 * time.Hour, "30 days"},
		{24 * time.Hour, "1 day"},
		{12 * time.Hour, "12 hours"},
		{time.Hour, "1 hour"},
		{90 * time.Minute, "90 minutes"},
		{90 * time.Second, "1m30s"},
	} {
		if got := humanLifetime(tt.d); got != tt.want {
			t.Errorf("humanLifetime(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestAuditChanges(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name          string
		before, after string
		want          []string
	}{
		{name: "a product's price and lifetime, in money and days; what stayed and updated_at are left out",
			before: `{"id":"EBOOK-001","name":"Go","price":1995,"currency":"USD","download_limit":3,"lifetime":0,"updated_at":"2025-03-01T10:00:00Z"}`,
			after:  `{"id":"EBOOK-001","name":"Go","price":2495,"currency":"USD","download_limit":-1,"lifetime":2592000000000000,"updated_at":"2025-03-03T18:15:02Z"}`,
			want:   []string{"price: 19.95 USD → 24.95 USD", "download limit: 3 → unlimited", "lifetime: unlimited → 30 days"}},
		{name: "a grant extended: no expiry was never, the moment is ISO to the minute",
			before: `{"id":7,"state":"active","download_limit":3,"downloads_used":2}`,
			after:  `{"id":7,"state":"active","download_limit":3,"downloads_used":0,"expires_at":"2025-12-31T23:59:59Z"}`,
			want:   []string{"downloads used: 2 → 0", "expires: never → 2025-12-31 23:59"}},
		{name: "a revoke names the reason it gained",
			before: `{"state":"active"}`, after: `{"state":"revoked","reason":"admin"}`,
			want: []string{"state: active → revoked", "reason: – → admin"}},
		{name: "a new record lists what it is",
			after: `{"grant":12,"to":"buyer@example.com"}`,
			want:  []string{"grant: 12", "to: buyer@example.com"}},
		{name: "a record that is gone says what it was",
			before: `{"name":"deploy"}`,
			want:   []string{"name: deploy → –"}},
		{name: "a nested buyer becomes fields of its own",
			before: `{"buyer":{"email":"a@example.com","name":"A"}}`, after: `{"buyer":{"email":"b@example.com","name":"A"}}`,
			want: []string{"buyer email: a@example.com → b@example.com"}},
		{name: "files by name and size",
			before: `[{"id":1,"name":"v1.pdf","size":2048}]`, after: `[{"id":2,"name":"v2.pdf","size":4096}]`,
			want: []string{"files: v1.pdf → v2.pdf"}},
		{name: "flags in words",
			before: `{"deleted":false}`, after: `{"deleted":true}`,
			want: []string{"deleted: no → yes"}},
		{name: "what is no record shows as it is",
			before: `"odd"`, after: `{}`,
			want: []string{"before: \"odd\"", "after: {}"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, c := range auditChanges(&vend.AuditEntry{Before: tt.before, After: tt.after}) {
				line := c.Field + ": " + c.New
				if c.Old != "" {
					line = c.Field + ": " + c.Old + " → " + c.New
				}
				got = append(got, line)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestAdminPages_HumanUnits reads the admin's pages as a seller does: money
// with its currency, lifetimes in days, nouns that agree with their counts,
// dates to the minute, and the audit trail as before → after in words.
func TestAdminPages_HumanUnits(t *testing.T) {
	t.Parallel()
	e, cookie := adminEnv(t)
	ctx := context.Background()
	if _, err := catalog.EditProduct(ctx, e.DB, "user:alice", "EBOOK-001", catalog.Fields{Price: "24.95", Lifetime: "30d"}); err != nil {
		t.Fatal(err)
	}
	o := e.Order(p1Txn)
	g := o.grant("EBOOK-001")
	if _, err := e.Ledger.ChangeGrantWith(ctx, "user:alice", g.ID, ledger.GrantExtend,
		ledger.GrantChange{Until: time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	e.Get(e.FilePath(g))
	e.Flush()
	page := func(path string) string {
		t.Helper()
		a := e.adminRequest(http.MethodGet, path, cookie, nil, nil)
		if a.Status != http.StatusOK {
			t.Fatalf("%s: %d\n%s", path, a.Status, a.Body)
		}
		return a.Body
	}
	for _, tt := range []struct {
		path      string
		want, not []string
	}{
		{"/admin/audit", []string{"price: 19.95 USD → 24.95 USD", "lifetime: unlimited → 30 days", "expires: never → 2025-12-31 00:00"},
			[]string{`"price"`, "2592000000000000", "1995"}},
		{"/admin/products", []string{"24.95 USD", "30 days"}, []string{"720h0m0s"}},
		{"/admin/products/EBOOK-001", []string{`value="30d"`}, []string{"720h0m0s"}},
		{"/admin/orders/" + fmt.Sprint(o.ID), []string{"19.95 USD", "2025-12-31 00:00", "expires: never → 2025-12-31 00:00"},
			[]string{"2025-12-31 00:00:00"}},
		{"/admin?test=1", []string{"<strong>2</strong> sales", "1 download<", "0 refunds"}, []string{"1 downloads"}},
	} {
		body := page(tt.path)
		for _, want := range tt.want {
			if !strings.Contains(body, want) {
				t.Errorf("%s lacks %q", tt.path, want)
			}
		}
		for _, not := range tt.not {
			if strings.Contains(body, not) {
				t.Errorf("%s shows %q", tt.path, not)
			}
		}
	}
}
