package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/provider/digistore24"
	"github.com/vend-shop/vend/store"
	"github.com/vend-shop/vend/store/sqlite"
)

// withLedger opens the data directory's ledger while no command runs.
func withLedger(t *testing.T, dir string, fn func(ctx context.Context, tx store.Tx) error) {
	t.Helper()
	ctx := context.Background()
	db := sqlite.NewDB(filepath.Join(dir, "vend.db"))
	if err := db.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(ctx, func(tx store.Tx) error { return fn(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
}

func TestNotificationsCLI(t *testing.T) {
	t.Parallel()
	const passphrase = "cli-test-passphrase"
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	// PayPal's postback goes to a fake PayPal that calls everything INVALID.
	var postbacks atomic.Int32
	paypal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		postbacks.Add(1)
		io.WriteString(w, "INVALID")
	}))
	defer paypal.Close()
	env := []string{"VEND_DATA_DIR=" + data, "VEND_LOG_LEVEL=warn", "VEND_DIGISTORE24_PASSPHRASE=" + passphrase,
		"VEND_DIGISTORE24_SANDBOX=true", "VEND_DIGISTORE24_PRODUCTS=512345=BOOK", "VEND_PAYPAL_VERIFY_URL=" + paypal.URL,
		"VEND_PAYPAL_SANDBOX=true", "VEND_PAYPAL_RECEIVER_EMAILS=seller@example.com"}
	mustVend(t, env, "migrate") // makes the data directory and its ledger

	// What a running vend stored: a genuine Digistore24 payment refused because
	// BOOK was not in the catalog yet, and a forged PayPal IPN whose body would
	// drive a terminal.
	pay := digistore24.Sim{OrderID: "CLI12345", ProductID: "512345", ProductName: "Book", TxnID: "777001", Amount: 1995,
		Currency: "USD", Email: "buyer@example.com", FirstName: "Cli", LastName: "Buyer", Test: true}.Body(passphrase)
	refused := &vend.Notification{Provider: "digistore24", RemoteAddr: "192.0.2.10:1234", Verdict: vend.VerdictRejected,
		Reason: "no product BOOK in the catalog", Headers: map[string][]string{"Content-Type": {"application/x-www-form-urlencoded"}}, Body: pay}
	forged := &vend.Notification{Provider: "paypal", RemoteAddr: "198.51.100.9:4321", Verdict: vend.VerdictInvalid,
		Reason:  "PayPal answered INVALID: it did not send this message",
		Headers: map[string][]string{"Content-Type": {"application/x-www-form-urlencoded"}, "X-Evil": {"\x1b]0;pwned\x07"}},
		Body:    []byte("first_name=\x1b[31mred\x1b[0m&last_name=M\xfcller\r\n&txn_id=X")}
	withLedger(t, data, func(ctx context.Context, tx store.Tx) error {
		if err := tx.CreateNotification(ctx, refused); err != nil {
			return err
		}
		return tx.CreateNotification(ctx, forged)
	})

	t.Run("list", func(t *testing.T) {
		var all []vend.Notification
		if err := json.Unmarshal([]byte(mustVend(t, env, "notifications", "list", "--json")), &all); err != nil {
			t.Fatal(err)
		}
		if len(all) != 2 || all[0].ID != forged.ID || all[1].ID != refused.ID || string(all[1].Body) != string(pay) {
			t.Fatalf("list --json: %+v, want the forged IPN, then the refused one", all)
		}
		for _, tt := range []struct {
			args []string
			want []int64
		}{
			{[]string{"--provider", "digistore24"}, []int64{refused.ID}},
			{[]string{"--verdict", "invalid"}, []int64{forged.ID}},
			{[]string{"--provider", "paypal", "--verdict", "rejected"}, nil},
			{[]string{"--before", strconv.FormatInt(forged.ID, 10)}, []int64{refused.ID}},
			{[]string{"--limit", "1"}, []int64{forged.ID}},
		} {
			var got []vend.Notification
			out := mustVend(t, env, append([]string{"notifications", "list", "--json"}, tt.args...)...)
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("%v: %v\n%s", tt.args, err, out)
			}
			var ids []int64
			for _, n := range got {
				ids = append(ids, n.ID)
			}
			if stringIDs(ids) != stringIDs(tt.want) {
				t.Errorf("list %v: %v, want %v", tt.args, ids, tt.want)
			}
		}
		text := mustVend(t, env, "notifications", "list")
		for _, want := range []string{"digistore24", "rejected", "no product BOOK in the catalog", "paypal", "invalid", "198.51.100.9:4321"} {
			if !strings.Contains(text, want) {
				t.Errorf("list lacks %q:\n%s", want, text)
			}
		}
		if _, errOut, code := runMain(t, env, "notifications", "list", "--verdict", "bogus"); code == 0 || !strings.Contains(errOut, "--verdict") {
			t.Errorf("--verdict bogus: exit %d %s", code, errOut)
		}
	})

	t.Run("show", func(t *testing.T) {
		out := mustVend(t, env, "notifications", "show", strconv.FormatInt(forged.ID, 10))
		if strings.ContainsAny(out, "\x1b\x07\r") {
			t.Errorf("show lets control characters through:\n%q", out)
		}
		for _, want := range []string{"Notification " + strconv.FormatInt(forged.ID, 10), "paypal", "invalid", "PayPal answered INVALID",
			"X-Evil: ?]0;pwned?", "first_name=?[31mred?[0m&last_name=M\uFFFDller?\n&txn_id=X", "Body (" + strconv.Itoa(len(forged.Body)) + " bytes)"} {
			if !strings.Contains(out, want) {
				t.Errorf("show lacks %q:\n%s", want, out)
			}
		}
		var d struct {
			ID       int64               `json:"id"`
			Body     string              `json:"body"`
			BodyText string              `json:"body_text"`
			Headers  map[string][]string `json:"headers"`
			Verdict  string              `json:"verdict"`
		}
		if err := json.Unmarshal([]byte(mustVend(t, env, "notifications", "show", "--json", strconv.FormatInt(forged.ID, 10))), &d); err != nil {
			t.Fatal(err)
		}
		raw, _ := base64.StdEncoding.DecodeString(d.Body)
		if d.ID != forged.ID || string(raw) != string(forged.Body) || !strings.HasPrefix(d.BodyText, "first_name=\x1b[31mred") ||
			d.Verdict != "invalid" || d.Headers["X-Evil"][0] != "\x1b]0;pwned\x07" {
			t.Errorf("show --json: %+v", d)
		}
		if _, errOut, code := runMain(t, env, "notifications", "show", "999"); code == 0 || !strings.Contains(errOut, "No such notification") {
			t.Errorf("show 999: exit %d %s", code, errOut)
		}
	})

	t.Run("replay", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(dir, "book.pdf"), []byte("%PDF-1.7 a book"), 0o600); err != nil {
			t.Fatal(err)
		}
		// Replayed before the product exists: refused again.
		if out := mustVend(t, env, "notifications", "replay", strconv.FormatInt(refused.ID, 10)); !strings.Contains(out, "replayed as") ||
			!strings.Contains(out, "rejected") {
			t.Errorf("replay before the product exists:\n%s", out)
		}
		mustVend(t, env, "products", "add", "BOOK", "--name", "Book", "--file", filepath.Join(dir, "book.pdf"), "--price", "19.95", "--currency", "USD")
		var r struct {
			ID         int64  `json:"id"`
			Verdict    string `json:"verdict"`
			RemoteAddr string `json:"remote_addr"`
			OrderID    int64  `json:"order_id"`
			ReplayOf   int64  `json:"replay_of"`
			Body       []byte `json:"body"`
		}
		if err := json.Unmarshal([]byte(mustVend(t, env, "notifications", "replay", "--json", strconv.FormatInt(refused.ID, 10))), &r); err != nil {
			t.Fatal(err)
		}
		if r.Verdict != "applied" || r.RemoteAddr != "replay by cli" || r.OrderID == 0 || r.ReplayOf != refused.ID || string(r.Body) != string(pay) {
			t.Fatalf("replay --json: %+v, want applied by cli with an order", r)
		}
		if show := mustVend(t, env, "orders", "show", "CLI12345"); !strings.Contains(show, "paid") || !strings.Contains(show, "BOOK") {
			t.Errorf("the replayed payment's order:\n%s", show)
		}
		out := mustVend(t, env, "notifications", "replay", strconv.FormatInt(refused.ID, 10))
		if !strings.Contains(out, "duplicate") || !strings.Contains(out, "Order    "+strconv.FormatInt(r.OrderID, 10)) {
			t.Errorf("second replay:\n%s", out)
		}
		if out := mustVend(t, env, "notifications", "replay", strconv.FormatInt(forged.ID, 10)); !strings.Contains(out, "invalid") ||
			postbacks.Load() != 1 {
			t.Errorf("replay of the forged IPN, %d postbacks:\n%s", postbacks.Load(), out)
		}
		withLedger(t, data, func(ctx context.Context, tx store.Tx) error {
			entries, err := tx.FindAuditEntries(ctx, store.AuditFilter{Target: "order:" + strconv.FormatInt(r.OrderID, 10)})
			if err != nil {
				return err
			}
			if len(entries) != 2 || entries[0].Actor != "cli" || entries[0].Action != "notification.replay" {
				t.Errorf("audit entries about the order: %+v, want the two replays by cli", entries)
			}
			return nil
		})
		if _, errOut, code := runMain(t, env, "notifications", "replay", "999"); code == 0 || !strings.Contains(errOut, "No such notification") {
			t.Errorf("replay 999: exit %d %s", code, errOut)
		}
	})
}

func stringIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ",")
}
