package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// seededEnv is a data directory with a generated shop of orders orders and
// attempts attempts: a copy of one seeded once (seedCopy), with set-based SQL
// (--bulk: the shape of the store's seed, which TestBenchSeed_Bulk checks, plus
// a download session per counted attempt).
func seededEnv(t *testing.T, orders, attempts string) []string {
	t.Helper()
	env, _ := seedCopy(t, "--orders", orders, "--attempts", attempts, "--products", "3", "--buyers", "40", "--days", "20", "--bulk")
	return env
}

func readCSV(t *testing.T, out string) [][]string {
	t.Helper()
	records, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v\n%.500s", err, out)
	}
	return records
}

func TestExportCLI(t *testing.T) {
	t.Parallel()
	env := seededEnv(t, "1100", "2500")
	// An order whose buyer typed a formula for a name.
	db := openLedger(t, dirOf(env))
	evil := &vend.Order{Provider: "paypal", Ref: "EVIL-1", Buyer: vend.Buyer{Email: "evil@example.com", Name: `=HYPERLINK("http://evil.example","x")`},
		Currency: "EUR", Total: 500, Status: vend.OrderRefunded}
	if err := db.Update(context.Background(), func(tx store.Tx) error {
		if err := tx.CreateOrder(context.Background(), evil); err != nil {
			return err
		}
		return tx.CreateItem(context.Background(), &vend.Item{OrderID: evil.ID, ProductID: "SEED-001", Quantity: 1, Amount: 500})
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	t.Run("orders: every one, newest first, in pages", func(t *testing.T) {
		records := readCSV(t, mustVend(t, env, "export", "csv", "orders"))
		if want := []string{"id", "created_at_utc", "provider", "ref", "status", "status_reason", "review", "test", "buyer_email",
			"buyer_name", "currency", "total", "products", "custom", "updated_at_utc", "deleted"}; !reflect.DeepEqual(records[0], want) {
			t.Errorf("header %q", records[0])
		}
		if len(records) != 1+1101 {
			t.Fatalf("%d orders, want 1101", len(records)-1)
		}
		if got := records[1]; got[3] != "EVIL-1" || got[9] != `'=HYPERLINK("http://evil.example","x")` || got[12] != "SEED-001" || got[11] != "5.00" {
			t.Errorf("the newest order: %q", got)
		}
		if last := records[len(records)-1]; last[0] != "1" || last[3] != "SEED0000000000000" || !strings.HasPrefix(last[12], "SEED-00") {
			t.Errorf("the oldest order: %q", last)
		}
	})
	t.Run("orders: the list's filters", func(t *testing.T) {
		refunded := readCSV(t, mustVend(t, env, "export", "csv", "orders", "--status", "refunded"))
		for _, r := range refunded[1:] {
			if r[4] != "refunded" {
				t.Errorf("--status refunded gave %q", r)
			}
		}
		if len(refunded) < 2 || len(refunded) > 100 {
			t.Errorf("%d refunded orders", len(refunded)-1)
		}
		one := readCSV(t, mustVend(t, env, "export", "csv", "orders", "--search", "evil@", "--product", "SEED-001"))
		if len(one) != 2 || one[1][3] != "EVIL-1" {
			t.Errorf("--search evil@ --product SEED-001: %q", one)
		}
		none := readCSV(t, mustVend(t, env, "export", "csv", "orders", "--to", "2000-01-01"))
		if len(none) != 1 {
			t.Errorf("--to 2000-01-01: %d orders", len(none)-1)
		}
	})
	t.Run("orders --json: JSON lines with items, names as they are", func(t *testing.T) {
		lines := strings.Split(strings.TrimSpace(mustVend(t, env, "export", "csv", "orders", "--json")), "\n")
		if len(lines) != 1101 {
			t.Fatalf("%d lines, want 1101", len(lines))
		}
		var o vend.Order
		if err := json.Unmarshal([]byte(lines[0]), &o); err != nil {
			t.Fatal(err)
		}
		if o.Ref != "EVIL-1" || o.Buyer.Name != evil.Buyer.Name || len(o.Items) != 1 || o.Items[0].ProductID != "SEED-001" {
			t.Errorf("first line %+v", o)
		}
	})
	t.Run("transactions and attempts: oldest first, every one", func(t *testing.T) {
		txns := readCSV(t, mustVend(t, env, "export", "csv", "transactions"))
		if len(txns) < 1101 || txns[0][4] != "txn_id" || txns[1][4] != "SEED0000000000000" {
			t.Errorf("%d transactions, first %q", len(txns)-1, txns[1])
		}
		attempts := readCSV(t, mustVend(t, env, "export", "csv", "attempts"))
		if len(attempts) != 1+2500 {
			t.Fatalf("%d attempts, want 2500", len(attempts)-1)
		}
		ats := make([]string, 0, 2500)
		for _, r := range attempts[1:] {
			ats = append(ats, r[1])
		}
		if !sort.StringsAreSorted(ats) {
			t.Error("attempts are not in time order")
		}
		var lines int
		for _, l := range strings.Split(strings.TrimSpace(mustVend(t, env, "export", "csv", "attempts", "--json")), "\n") {
			var a vend.Attempt
			if err := json.Unmarshal([]byte(l), &a); err != nil || a.ID == 0 || a.GrantID == 0 {
				t.Fatalf("line %q: %v", l, err)
			}
			lines++
		}
		if lines != 2500 {
			t.Errorf("%d JSON lines, want 2500", lines)
		}
	})
	t.Run("refused", func(t *testing.T) {
		for _, tt := range []struct {
			args []string
			want string
		}{
			{[]string{"export", "csv", "grants"}, `Export orders, transactions or attempts (got "grants")`},
			{[]string{"export", "csv", "orders", "--from", "yesterday"}, "from: use a date"},
			{[]string{"export", "csv", "attempts", "--status", "paid"}, "Only orders are filtered"},
			{[]string{"export", "csv"}, "accepts 1 arg"},
		} {
			out, errOut, code := runMain(t, env, tt.args...)
			if code == 0 || !strings.Contains(errOut, tt.want) || out != "" {
				t.Errorf("vend %s: exit %d, stdout %q, stderr %q; want an error with %q", strings.Join(tt.args, " "), code, out, errOut, tt.want)
			}
		}
	})
}
