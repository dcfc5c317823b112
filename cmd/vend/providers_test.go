package main

import (
	"database/sql"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestDemo_Providers buys through every further provider of the demo, from the
// storefront's buttons and from `vend simulate`, and reads the orders back.
func TestDemo_Providers(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts a whole demo store")
	}
	base, env := startDemo(t)
	env = append(env, "VEND_CONFIG="+filepath.Join(dirOf(env), "vend.toml"))

	// The storefront's buttons: each lands on a download page that works.
	for _, provider := range []string{"digistore24", "stripe", "generic", "websale"} {
		resp, err := noRedirect.PostForm(base+"/demo/provider", url.Values{"provider": {provider}, "product": {"EBOOK-001"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if provider == "websale" { // a WEBSALE link, which leads on to the page
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/websale?dldata=") {
				t.Fatalf("websale button: %s %q", resp.Status, loc)
			}
			if resp, err = noRedirect.Get(base + loc); err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			loc = resp.Header.Get("Location")
		}
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/d/") {
			t.Fatalf("%s button: %s %q", provider, resp.Status, loc)
		}
		code, page := get(t, base+loc)
		if code != 200 || !regexp.MustCompile(`action="/d/[^"]+/[0-9]+/`).MatchString(page) {
			t.Errorf("%s: download page %d:\n%s", provider, code, page)
		}
	}

	// The CLI, pointed at the demo's settings, simulates every provider.
	out := mustVend(t, env, "simulate", "digistore24", "--product", "EBOOK-001", "--upsell", "AUDIO-002")
	order := regexp.MustCompile(`order (\S+)  product`).FindStringSubmatch(out)
	if order == nil || strings.Count(out, "200 OK\nOK\n") != 2 || !strings.Contains(out, "Download: "+base+"/d/") {
		t.Fatalf("simulate digistore24:\n%s", out)
	}
	show := mustVend(t, env, "orders", "show", order[1])
	if !strings.Contains(show, "digistore24 "+order[1]+"  paid") || !strings.Contains(show, "AUDIO-002") {
		t.Errorf("orders show %s:\n%s", order[1], show)
	}
	out = mustVend(t, env, "simulate", "digistore24", "--product", "AUDIO-002", "--event", "on_refund", "--order", order[1])
	if !strings.Contains(out, "200 OK") {
		t.Errorf("simulate digistore24 refund:\n%s", out)
	}
	show = mustVend(t, env, "orders", "show", order[1])
	if !strings.Contains(show, "paid") || !strings.Contains(show, "refunded") {
		t.Errorf("after refunding the upsell, orders show:\n%s", show)
	}

	out = mustVend(t, env, "simulate", "stripe", "--product", "EBOOK-001")
	pi := regexp.MustCompile(`payment intent (pi_\S+)`).FindStringSubmatch(out)
	if pi == nil || !strings.Contains(out, "200 OK") {
		t.Fatalf("simulate stripe:\n%s", out)
	}
	mustVend(t, env, "simulate", "stripe", "--product", "EBOOK-001", "--type", "charge.refunded", "--payment-intent", pi[1])
	if show := mustVend(t, env, "orders", "show", pi[1]); !strings.Contains(show, "stripe "+pi[1]+"  refunded") {
		t.Errorf("stripe order after refund:\n%s", show)
	}

	out = mustVend(t, env, "simulate", "generic", "--product", "AUDIO-002")
	gen := regexp.MustCompile(`order (\S+)`).FindStringSubmatch(out)
	if gen == nil || !strings.Contains(out, "200 OK") {
		t.Fatalf("simulate generic:\n%s", out)
	}
	if show := mustVend(t, env, "orders", "show", gen[1]); !strings.Contains(show, "generic "+gen[1]+"  paid") {
		t.Errorf("generic order:\n%s", show)
	}

	out = mustVend(t, env, "simulate", "websale", "--product", "EBOOK-001", "--order", "4711")
	link := regexp.MustCompile(`http\S+dldata=([0-9a-f]+)`).FindStringSubmatch(out)
	if link == nil {
		t.Fatalf("simulate websale:\n%s", out)
	}
	if code, _ := get(t, link[0]); code != http.StatusSeeOther {
		t.Errorf("websale link: status %d, want 303", code)
	}
	if show := mustVend(t, env, "orders", "show", "demo/1/4711"); !strings.Contains(show, "websale demo/1/4711  paid") {
		t.Errorf("websale order:\n%s", show)
	}
	detect := mustVend(t, env, "websale", "detect", link[0])
	if !strings.Contains(detect, `key_derivation = "sha256"`) || !strings.Contains(detect, `mode = "cbc-ivprefix"`) ||
		!strings.Contains(detect, "order 4711 product EBOOK-001") {
		t.Errorf("websale detect:\n%s", detect)
	}
	if detect := mustVend(t, env, "websale", "detect", "--json", link[0]); !strings.Contains(detect, `"KDF": "sha256"`) || !strings.Contains(detect, `"Mode": "cbc-ivprefix"`) {
		t.Errorf("websale detect --json:\n%s", detect)
	}
}

// dirOf returns VEND_DATA_DIR from env.
func dirOf(env []string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "VEND_DATA_DIR="); ok {
			return v
		}
	}
	return ""
}

func TestServe_RefusesUnpinnedWebsale(t *testing.T) {
	t.Parallel()
	env := []string{"VEND_DATA_DIR=" + t.TempDir(), "VEND_LISTEN=" + freeAddr(t), "VEND_WEBSALE_PASSWORD=test-password-websale-0123456789",
		"VEND_WEBSALE_SHOP_ID=myshop", "VEND_WEBSALE_SUBSHOP_ID=1", "VEND_WEBSALE_MODE=ecb"}
	_, errOut, code := runMain(t, env, "serve")
	if code == 0 || !strings.Contains(errOut, "must be pinned") || !strings.Contains(errOut, "vend websale detect") {
		t.Errorf("serve with an unpinned WEBSALE setting: exit %d\n%s", code, errOut)
	}
}

func TestBenchSeed(t *testing.T) {
	t.Parallel()
	env, out := seedCopy(t, storeSeed...)
	if !strings.Contains(out, "seeded 300 orders and 2000 attempts") {
		t.Fatalf("bench seed: %s", out)
	}
	list := mustVend(t, env, "orders", "list", "--limit", "1000")
	if n := strings.Count(list, "SEED0"); n != 300 {
		t.Errorf("orders list shows %d seeded orders, want 300", n)
	}
	show := mustVend(t, env, "orders", "show", "SEED0000000000000")
	if !strings.Contains(show, "SEED-00") {
		t.Errorf("orders show:\n%s", show)
	}
}

func TestOrdersRefundCLI(t *testing.T) {
	t.Parallel()
	env := []string{"VEND_DATA_DIR=" + t.TempDir(), "VEND_SMTP_URL=smtp://127.0.0.1:1", "VEND_SMTP_FROM=shop@example.com"}
	mustVend(t, env, "bench", "seed", "--orders", "2", "--attempts", "0", "--products", "1", "--buyers", "2", "--days", "1", "--seed", "3")
	if _, errOut, code := runMain(t, env, "orders", "refund", "SEED0000000000000"); code == 0 || !strings.Contains(errOut, "--yes") {
		t.Errorf("refund without --yes: exit %d %s", code, errOut)
	}
	var d struct {
		Status       string
		Grants       []struct{ State string }
		Transactions []struct{ Kind, Reason string }
	}
	out := mustVend(t, env, "orders", "refund", "SEED0000000000000", "--yes", "--note", "bank transfer", "--json")
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	if d.Status != "refunded" || len(d.Grants) != 1 || d.Grants[0].State != "revoked" || d.Transactions[len(d.Transactions)-1].Reason != "bank transfer" {
		t.Errorf("after the refund: %s", out)
	}
	if _, errOut, code := runMain(t, env, "orders", "refund", "SEED0000000000000", "--yes"); code == 0 || !strings.Contains(errOut, "is refunded") {
		t.Errorf("refund twice: exit %d %s", code, errOut)
	}
	if mails := mustVend(t, env, "mail", "list"); !strings.Contains(mails, "ended") {
		t.Errorf("no access-ended mail queued:\n%s", mails)
	}
	if trail := auditTrail(t, dirOf(env)); len(trail) != 1 || trail[0].Action != "order.refund" || trail[0].Actor != "cli" {
		t.Errorf("audit %+v", trail)
	}
}

// TestBenchSeed_Bulk: --bulk makes the shop the store's methods make, in a
// ledger vend reads like any other, with every index of the schema.
// storeSeed are the arguments of the seed through the store's methods that
// TestBenchSeed checks and TestBenchSeed_Bulk compares --bulk with.
var storeSeed = []string{"--orders", "300", "--attempts", "2000", "--products", "3", "--buyers", "50", "--days", "10"}

func TestBenchSeed_Bulk(t *testing.T) {
	t.Parallel()
	slow, _ := seedCopy(t, storeSeed...)
	bulk := []string{"VEND_DATA_DIR=" + t.TempDir()}
	args := append([]string{"bench", "seed"}, storeSeed...)
	if out := mustVend(t, bulk, append(args, "--bulk")...); !strings.Contains(out, "seeded 300 orders and 2000 attempts") {
		t.Fatalf("bench seed --bulk: %s", out)
	}
	if _, errOut, code := runMain(t, bulk, append(args, "--bulk")...); code == 0 || !strings.Contains(errOut, "fresh data directory") {
		t.Errorf("a second bulk seed: exit %d %s", code, errOut)
	}
	if n := strings.Count(mustVend(t, bulk, "orders", "list", "--limit", "1000"), "SEED0"); n != 300 {
		t.Errorf("orders list shows %d seeded orders, want 300", n)
	}
	var order struct {
		Items []struct {
			ProductID string `json:"product_id"`
		}
		Grants       []struct{ State string }
		Transactions []struct{ Kind string }
	}
	if err := json.Unmarshal([]byte(mustVend(t, bulk, "orders", "show", "--json", "SEED0000000000001")), &order); err != nil {
		t.Fatal(err)
	}
	if len(order.Items) != 1 || !strings.HasPrefix(order.Items[0].ProductID, "SEED-00") || len(order.Grants) != 1 || order.Grants[0].State == "" || len(order.Transactions) == 0 {
		t.Errorf("a bulk-seeded order: %+v", order)
	}
	stats := func(env []string) (r statsReport) {
		if err := json.Unmarshal([]byte(mustVend(t, env, "stats", "--json", "--days", "30")), &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	s, b := stats(slow), stats(bulk)
	// Random choices differ; the shape does not.
	if b.Sales != s.Sales || b.Sales != 300 || b.Revenue["EUR"] < 300*500 || len(b.Products) != 3 || len(b.Buyers) == 0 || b.Downloads < 300 || b.Downloads > 700 {
		t.Errorf("stats of the bulk seed %+v\nof the store's seed %+v", b, s)
	}
	// The counters by day hold every attempt the bulk seed wrote.
	if conn, err := sql.Open("sqlite", "file:"+filepath.Join(dirOf(bulk), "vend.db")+"?mode=ro"); err != nil {
		t.Error(err)
	} else {
		var n int
		if err := conn.QueryRow(`SELECT COUNT(*) FROM attempts WHERE at >= ?`, b.Since.UnixMilli()).Scan(&n); err != nil {
			t.Error(err)
		}
		conn.Close()
		sum := 0
		for _, p := range b.Products {
			sum += p.Attempts
		}
		if sum != n || n == 0 {
			t.Errorf("the bulk seed's products have %d attempts in the last 30 days, the log %d", sum, n)
		}
	}
	indexes := func(env []string) []string {
		conn, err := sql.Open("sqlite", "file:"+filepath.Join(dirOf(env), "vend.db")+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		rows, err := conn.Query(`SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name`)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				t.Fatal(err)
			}
			names = append(names, n)
		}
		return names
	}
	if s, b := indexes(slow), indexes(bulk); !slices.Equal(s, b) || len(b) < 20 {
		t.Errorf("indexes after the bulk seed %v, want %v", b, s)
	}
}

func TestGrantsCLI(t *testing.T) {
	t.Parallel()
	env := []string{"VEND_DATA_DIR=" + t.TempDir()}
	mustVend(t, env, "bench", "seed", "--orders", "3", "--attempts", "0", "--products", "1", "--buyers", "3", "--days", "1")
	var g struct {
		ID            int64  `json:"id"`
		State         string `json:"state"`
		Reason        string `json:"reason"`
		DownloadsUsed int    `json:"downloads_used"`
		ExpiresAt     string `json:"expires_at"`
	}
	run := func(args ...string) {
		t.Helper()
		if err := json.Unmarshal([]byte(mustVend(t, env, append(args, "--json")...)), &g); err != nil {
			t.Fatal(err)
		}
	}
	run("grants", "revoke", "1")
	if g.State != "revoked" || g.Reason != "admin" {
		t.Errorf("after revoke: %+v", g)
	}
	run("grants", "restore", "1")
	if g.State != "active" {
		t.Errorf("after restore: %+v", g)
	}
	run("grants", "extend", "1", "--until", "2099-12-31")
	if !strings.HasPrefix(g.ExpiresAt, "2100-01-01") {
		t.Errorf("after extend: %+v", g)
	}
	run("grants", "reset", "1")
	if g.DownloadsUsed != 0 {
		t.Errorf("after reset: %+v", g)
	}
	if _, errOut, code := runMain(t, env, "grants", "extend", "1", "--until", "yesterday"); code == 0 || !strings.Contains(errOut, "--until") {
		t.Errorf("a bad --until: exit %d %s", code, errOut)
	}
	if _, errOut, code := runMain(t, env, "grants", "reset", "99"); code == 0 || !strings.Contains(errOut, "No such grant") {
		t.Errorf("a missing grant: exit %d %s", code, errOut)
	}
}

func TestOrdersCreateCLI(t *testing.T) {
	t.Parallel()
	env := []string{"VEND_DATA_DIR=" + t.TempDir()}
	mustVend(t, env, "bench", "seed", "--orders", "1", "--attempts", "0", "--products", "2", "--buyers", "1", "--days", "1")
	var d struct {
		Provider string `json:"provider"`
		Status   string `json:"status"`
		Language string `json:"language"`
		Items    []struct {
			ProductID string `json:"product_id"`
		} `json:"items"`
		Grants []struct{ State string } `json:"grants"`
	}
	out := mustVend(t, env, "orders", "create", "--email", "friend@example.com", "--product", "SEED-000", "--product", "SEED-001",
		"--language", "de", "--json")
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err, out)
	}
	if d.Provider != "manual" || d.Status != "paid" || len(d.Items) != 2 || len(d.Grants) != 2 || d.Language != "de" {
		t.Errorf("created %+v", d)
	}
	if _, errOut, code := runMain(t, env, "orders", "create", "--email", "friend@example.com", "--product", "NOPE"); code == 0 || !strings.Contains(errOut, "NOPE") {
		t.Errorf("unknown product: exit %d %s", code, errOut)
	}
	if _, errOut, code := runMain(t, env, "orders", "create", "--email", "x@example.com", "--product", "SEED-000", "--send-receipt"); code == 0 || !strings.Contains(errOut, "smtp.url") {
		t.Errorf("--send-receipt without smtp: exit %d %s", code, errOut)
	}
}

func TestReleaseCLI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := []string{"VEND_DATA_DIR=" + dir}
	mustVend(t, env, "bench", "seed", "--orders", "30", "--attempts", "0", "--products", "1", "--buyers", "30", "--days", "1")
	path := filepath.Join(t.TempDir(), "second-edition.zip")
	os.WriteFile(path, []byte("PK the second edition"), 0o600)
	var r struct {
		Status  string `json:"status"`
		Done    int    `json:"done"`
		Version string `json:"version"`
		Reset   bool   `json:"reset"`
	}
	out := mustVend(t, env, "release", "SEED-000", path, "--reset-limits", "--json")
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err, out)
	}
	// The seed refunds about one order in 50: every active grant is handled.
	if r.Status != "done" || r.Done < 25 || r.Version != "second-edition.zip" || !r.Reset {
		t.Errorf("release %+v", r)
	}
	show := mustVend(t, env, "products", "show", "SEED-000")
	if !strings.Contains(show, "second-edition.zip") {
		t.Errorf("products show after the release:\n%s", show)
	}
	if _, errOut, code := runMain(t, env, "release", "SEED-000", "--notify"); code == 0 || !strings.Contains(errOut, "smtp.url") {
		t.Errorf("--notify without mail: exit %d %s", code, errOut)
	}
}

func TestOrdersEditAndGrantLimitCLI(t *testing.T) {
	t.Parallel()
	env := []string{"VEND_DATA_DIR=" + t.TempDir()}
	mustVend(t, env, "bench", "seed", "--orders", "1", "--attempts", "0", "--products", "1", "--buyers", "1", "--days", "1")
	out := mustVend(t, env, "orders", "edit", "SEED0000000000000", "--email", "moved@example.com", "--name", "Moved", "--json")
	if !strings.Contains(out, `"email": "moved@example.com"`) {
		t.Errorf("orders edit: %s", out)
	}
	if out := mustVend(t, env, "grants", "limit", "1", "--limit", "unlimited", "--json"); !strings.Contains(out, `"download_limit": -1`) {
		t.Errorf("grants limit: %s", out)
	}
	if _, errOut, code := runMain(t, env, "grants", "limit", "1", "--limit", "0"); code == 0 || !strings.Contains(errOut, "--limit") {
		t.Errorf("limit 0: exit %d %s", code, errOut)
	}
}

func TestOrdersDeleteCLI(t *testing.T) {
	t.Parallel()
	env := []string{"VEND_DATA_DIR=" + t.TempDir()}
	mustVend(t, env, "bench", "seed", "--orders", "1", "--attempts", "0", "--products", "1", "--buyers", "1", "--days", "1")
	if _, errOut, code := runMain(t, env, "orders", "delete", "SEED0000000000000"); code == 0 || !strings.Contains(errOut, "--yes") {
		t.Errorf("delete without --yes: exit %d %s", code, errOut)
	}
	if out := mustVend(t, env, "orders", "delete", "SEED0000000000000", "--yes", "--json"); !strings.Contains(out, `"deleted": true`) {
		t.Errorf("delete: %s", out)
	}
	if _, errOut, code := runMain(t, env, "orders", "delete", "SEED0000000000000", "--yes"); code == 0 || !strings.Contains(errOut, "deleted") {
		t.Errorf("delete twice: exit %d %s", code, errOut)
	}
	if out := mustVend(t, env, "orders", "show", "--json", "SEED0000000000000"); !strings.Contains(out, `"deleted": true`) || !strings.Contains(out, `"state": "revoked"`) {
		t.Errorf("after delete: %s", out)
	}
}

// websaleEnv is a data directory with a pinned WEBSALE shop.
func websaleEnv(t *testing.T, extra ...string) (env []string, dir string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "data")
	return append([]string{"VEND_DATA_DIR=" + dir, "VEND_WEBSALE_PASSWORD=test-password-websale-0123456789",
		"VEND_WEBSALE_SHOP_ID=myshop", "VEND_WEBSALE_SUBSHOP_ID=1", "VEND_WEBSALE_KEY_DERIVATION=sha256",
		"VEND_WEBSALE_MODE=cbc-ivprefix", "VEND_WEBSALE_PADDING=pkcs7", "VEND_WEBSALE_PRODUCTS=1234567890=EBOOK-001"}, extra...), dir
}

// TestServe_WarnsOfFirstClick: vend serve says at start what websale.first_click
// risks, and says nothing while it is off. Each serve stops at its listen
// address, which the test holds, right after it built the server.
func TestServe_WarnsOfFirstClick(t *testing.T) {
	t.Parallel()
	for _, on := range []bool{true, false} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		env, _ := websaleEnv(t, "VEND_LISTEN="+ln.Addr().String(), "VEND_WEBSALE_FIRST_CLICK="+strconv.FormatBool(on))
		_, errOut, code := runMain(t, env, "serve")
		if code == 0 || !strings.Contains(errOut, "listen on") {
			t.Fatalf("serve on a taken address: exit %d\n%s", code, errOut)
		}
		if warned := strings.Contains(errOut, "websale.first_click is on") && strings.Contains(errOut, "re-date"); warned != on {
			t.Errorf("first_click %v: warned %v\n%s", on, warned, errOut)
		}
	}
}
