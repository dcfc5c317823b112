package main

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vend-shop/vend"
)

func TestPrintOrder_NoTerminalEscapes(t *testing.T) {
	t.Parallel()
	d := &orderDetail{
		Order:    &vend.Order{ID: 1, Buyer: vend.Buyer{Name: "Eve\x1b]0;pwned\x07", Email: "e@example.com"}},
		Attempts: []*vend.Attempt{{UserAgent: "curl\x1b[2J\x1b[31m", Range: "bytes=0-\r"}},
	}
	var out bytes.Buffer
	printOrder(&out, d)
	if bytes.ContainsAny(out.Bytes(), "\x1b\x07\r") {
		t.Errorf("control characters reached the terminal:\n%q", out.String())
	}
	if !strings.Contains(out.String(), "curl?[2J?[31m") || !strings.Contains(out.String(), "Eve?]0;pwned?") {
		t.Errorf("text around the escapes is gone:\n%s", out.String())
	}
}

type listedOrder struct {
	ID     int64        `json:"id"`
	Status string       `json:"status"`
	Items  []listedItem `json:"items"`
}

type listedItem struct {
	ProductID string `json:"product_id"`
}

func listOrders(t *testing.T, env []string, args ...string) (orders []listedOrder, stderr string) {
	t.Helper()
	out, errOut, code := runMain(t, env, append([]string{"orders", "list", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("vend orders list %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
	}
	if err := json.Unmarshal([]byte(out), &orders); err != nil {
		t.Fatal(err, out)
	}
	return orders, errOut
}

func orderIDs(orders []listedOrder) (ids []int64) {
	for _, o := range orders {
		ids = append(ids, o.ID)
	}
	return ids
}

func TestOrdersListCLI(t *testing.T) {
	t.Parallel()
	env, _ := seedCopy(t, "--orders", "12", "--attempts", "0", "--products", "3", "--buyers", "4", "--days", "2")
	all, _ := listOrders(t, env)
	if len(all) != 12 {
		t.Fatalf("listed %d orders, want 12", len(all))
	}
	t.Run("a status", func(t *testing.T) {
		t.Parallel()
		status := all[0].Status
		var want []int64
		for _, o := range all {
			if o.Status == status {
				want = append(want, o.ID)
			}
		}
		if got, _ := listOrders(t, env, "--status", status); !slices.Equal(orderIDs(got), want) {
			t.Errorf("--status %s: %v, want %v", status, orderIDs(got), want)
		}
	})
	t.Run("a product", func(t *testing.T) {
		t.Parallel()
		var want []int64
		for _, o := range all {
			if slices.Contains(o.Items, listedItem{"SEED-001"}) {
				want = append(want, o.ID)
			}
		}
		if got, _ := listOrders(t, env, "--product", "SEED-001"); len(want) == 0 || !slices.Equal(orderIDs(got), want) {
			t.Errorf("--product SEED-001: %v, want %v", orderIDs(got), want)
		}
	})
	t.Run("pages", func(t *testing.T) {
		t.Parallel()
		// Follow the "more:" hint page by page: together the pages are the
		// whole list, each order once, in order.
		var got []int64
		args := []string{"--limit", "5"}
		for range 10 {
			page, errOut := listOrders(t, env, args...)
			got = append(got, orderIDs(page)...)
			hint, ok := strings.CutPrefix(strings.TrimSpace(errOut), "more: vend orders list ")
			if !ok {
				break
			}
			args = strings.Fields(hint)
			args = slices.DeleteFunc(args, func(a string) bool { return a == "--json=true" })
		}
		if want := orderIDs(all); !slices.Equal(got, want) {
			t.Errorf("pages: %v, want %v", got, want)
		}
	})
	t.Run("ErrStatus", func(t *testing.T) {
		t.Parallel()
		if _, errOut, code := runMain(t, env, "orders", "list", "--status", "piad"); code == 0 || !strings.Contains(errOut, `"piad"`) {
			t.Errorf("--status piad: exit %d %s", code, errOut)
		}
	})
}

// TestOrdersShowCLI_GrantIDs: the grant ids `vend grants` takes are in
// `vend orders show`, and the outbox list has a header.
func TestOrdersShowCLI_GrantIDs(t *testing.T) {
	t.Parallel()
	env, _ := seedCopy(t, "--orders", "1", "--attempts", "0", "--products", "2", "--buyers", "1", "--days", "1")
	env = append(env, "VEND_SMTP_URL=smtp://127.0.0.1:1", "VEND_SMTP_FROM=shop@example.com")
	var d struct {
		ID     int64 `json:"id"`
		Grants []struct {
			ID int64 `json:"id"`
		} `json:"grants"`
	}
	out := mustVend(t, env, "orders", "create", "--email", "friend@example.com", "--product", "SEED-001", "--send-receipt", "--json")
	if err := json.Unmarshal([]byte(out), &d); err != nil || len(d.Grants) != 1 {
		t.Fatalf("orders create: %v\n%s", err, out)
	}
	show := mustVend(t, env, "orders", "show", strconv.FormatInt(d.ID, 10))
	lines := strings.Split(show, "\n")
	i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "ITEM ") })
	if i < 0 || len(lines) < i+2 || !slices.Contains(strings.Fields(lines[i]), "GRANT") {
		t.Fatalf("orders show has no GRANT column:\n%s", show)
	}
	col := slices.Index(strings.Fields(lines[i]), "GRANT")
	grant := strings.Fields(lines[i+1])[col]
	if grant != strconv.FormatInt(d.Grants[0].ID, 10) {
		t.Errorf("GRANT %s, want %d:\n%s", grant, d.Grants[0].ID, show)
	}
	if out := mustVend(t, env, "grants", "revoke", grant); !strings.Contains(out, "revoked") {
		t.Errorf("grants revoke %s: %s", grant, out)
	}

	mail := strings.Split(mustVend(t, env, "mail", "list"), "\n")
	if len(mail) < 2 || !slices.Equal(strings.Fields(mail[0])[:4], []string{"ID", "STATUS", "KIND", "TO"}) || !strings.Contains(mail[1], "friend@example.com") {
		t.Errorf("mail list:\n%s", strings.Join(mail, "\n"))
	}
}
