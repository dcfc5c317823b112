package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// vend runs one command in process and returns its stdout, stderr and exit code.
func runMain(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(context.Background(), args, &out, &errOut, env)
	return out.String(), errOut.String(), code
}

func mustVend(t *testing.T, env []string, args ...string) string {
	t.Helper()
	out, errOut, code := runMain(t, env, args...)
	if code != 0 {
		t.Fatalf("vend %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// startDemo runs `vend demo` in process until the test ends.
func startDemo(t *testing.T) (baseURL string, env []string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "demo")
	addr := freeAddr(t)
	env = []string{"VEND_LISTEN=" + addr, "VEND_LOG_LEVEL=warn"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	var out, errOut syncBuffer
	go func() { done <- Main(ctx, []string{"demo", "--data-dir", dir}, &out, &errOut, env) }()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("vend demo exited %d\n%s", code, errOut.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "listening") {
		if time.Now().After(deadline) {
			t.Fatalf("vend demo did not start:\n%s%s", out.String(), errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(out.String(), "/demo") {
		t.Errorf("vend demo printed no instructions:\n%s", out.String())
	}
	// The CLI reads the demo's data directory with the demo's PayPal settings.
	return "http://" + addr, append(env, "VEND_DATA_DIR="+dir, "VEND_PAYPAL_RECEIVER_EMAILS=seller@example.com", "VEND_PAYPAL_SANDBOX=true")
}

// syncBuffer is a bytes.Buffer safe for the demo's writes and the test's reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := noRedirect.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

var hiddenField = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// TestDemo buys in the demo store the way a newcomer would: storefront, simulated
// PayPal checkout, return page waiting for the IPN, download; then refunds it
// with `vend simulate` and looks at it with `vend orders show`.
func TestDemo(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts a whole demo store")
	}
	base, env := startDemo(t)

	_, store := get(t, base+"/demo")
	i := strings.Index(store, `value="EBOOK-001"`)
	if i < 0 {
		t.Fatalf("storefront has no EBOOK-001 button:\n%s", store)
	}
	form := url.Values{}
	start := strings.LastIndex(store[:i], "<form")
	end := strings.Index(store[i:], "</form>") + i
	for _, m := range hiddenField.FindAllStringSubmatch(store[start:end], -1) {
		form.Set(m[1], m[2])
	}
	if form.Get("amount") != "19.95" || form.Get("business") != "seller@example.com" {
		t.Fatalf("buy button fields %v", form)
	}
	resp, err := noRedirect.PostForm(base+"/demo/checkout", form)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("checkout: %v %v", resp, err)
	}
	resp.Body.Close()
	form.Set("payer_email", "newcomer@example.com")
	form.Set("method", "instant")
	resp, err = noRedirect.PostForm(base+"/demo/pay", form)
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("pay: %v %v", resp, err)
	}
	resp.Body.Close()
	ret := base + resp.Header.Get("Location")
	txn, _ := url.Parse(ret)
	tx := txn.Query().Get("tx")

	// The return page waits for PayPal, then links the download page.
	_, page := get(t, ret)
	if !strings.Contains(page, "Waiting for PayPal") {
		t.Errorf("first return page does not wait for PayPal:\n%s", page)
	}
	var pageLink string
	deadline := time.Now().Add(20 * time.Second)
	for pageLink == "" {
		if time.Now().After(deadline) {
			t.Fatalf("return page never linked a download:\n%s", page)
		}
		time.Sleep(100 * time.Millisecond)
		_, page = get(t, ret)
		if m := regexp.MustCompile(`href="(/d/[A-Z2-7]+)"`).FindStringSubmatch(page); m != nil {
			pageLink = m[1]
		}
	}
	_, dl := get(t, base+pageLink)
	m := regexp.MustCompile(`action="(/d/[^"]+/[0-9]+/[^"]+)"`).FindStringSubmatch(dl)
	if m == nil {
		t.Fatalf("download page has no file link:\n%s", dl)
	}
	code, body := get(t, base+m[1])
	sum := sha256.Sum256([]byte(body))
	if code != 200 || !strings.Contains(dl, hex.EncodeToString(sum[:])) {
		t.Fatalf("file: status %d, sha256 %x not on the page", code, sum)
	}

	// The CLI sees the order; a simulated refund ends access.
	var order struct {
		Status string
		Buyer  struct{ Email string }
		Grants []struct {
			State         string
			DownloadsUsed int `json:"downloads_used"`
			Link          string
		}
		Attempts []struct{ Counted bool }
	}
	showOrder := func() {
		order.Grants, order.Attempts = nil, nil
		if err := json.Unmarshal([]byte(mustVend(t, env, "orders", "show", "--json", tx)), &order); err != nil {
			t.Fatal(err)
		}
	}
	showOrder()
	if order.Status != "paid" || order.Buyer.Email != "newcomer@example.com" || len(order.Grants) != 1 ||
		order.Grants[0].DownloadsUsed != 1 || !strings.HasSuffix(order.Grants[0].Link, pageLink) {
		t.Errorf("orders show: %+v", order)
	}
	out := mustVend(t, env, "simulate", "paypal", "--product", "EBOOK-001", "--status", "Refunded", "--parent", tx, "--url", base+"/ipn/paypal")
	if !strings.Contains(out, "200 OK") {
		t.Errorf("simulate refund: %s", out)
	}
	if code, _ := get(t, base+m[1]); code != http.StatusGone {
		t.Errorf("file after refund: status %d, want 410", code)
	}
	showOrder()
	if order.Status != "refunded" || order.Grants[0].State != "revoked" {
		t.Errorf("after refund: %+v", order)
	}
	list := mustVend(t, env, "orders", "list")
	if !strings.Contains(list, tx) || !strings.Contains(list, "refunded") {
		t.Errorf("orders list:\n%s", list)
	}
	// A message signed with another data directory's secret is forged as far as
	// the demo's verifier is concerned: answered 200 (PayPal must not resend), and
	// nothing changes.
	other := append(env, "VEND_DATA_DIR="+t.TempDir())
	products := filepath.Join(t.TempDir(), "p.txt")
	os.WriteFile(filepath.Join(filepath.Dir(products), "f.txt"), []byte("x"), 0o600)
	os.WriteFile(products, []byte("EBOOK-001|Forged|f.txt|19.95\n"), 0o600)
	mustVend(t, other, "products", "import", products)
	out = mustVend(t, other, "simulate", "paypal", "--product", "EBOOK-001", "--txn", "FORGED0000000001", "--url", base+"/ipn/paypal")
	if !strings.Contains(out, "200 OK") {
		t.Errorf("forged IPN: %s", out)
	}
	if _, errOut, code := runMain(t, env, "orders", "show", "FORGED0000000001"); code == 0 || !strings.Contains(errOut, "No order") {
		t.Errorf("forged IPN made an order: exit %d %s", code, errOut)
	}

	// An archived product leaves the storefront (the ledger test shows its
	// buyers keep their downloads).
	mustVend(t, env, "products", "archive", "EBOOK-001")
	if _, store := get(t, base+"/demo"); strings.Contains(store, `value="EBOOK-001"`) || !strings.Contains(store, "<form") {
		t.Errorf("the storefront still sells the archived EBOOK-001, or sells nothing:\n%s", store)
	}
}

func TestProductsCLI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := []string{"VEND_DATA_DIR=" + filepath.Join(dir, "data"), "VEND_PAYPAL_RECEIVER_EMAILS=sales@example.com",
		"VEND_BASE_URL=https://shop.example.com"}
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("book.pdf", "%PDF-1.7 a book")
	write("course.zip", "PK a course")

	t.Run("a bad file names its lines and imports nothing", func(t *testing.T) {
		bad := write("bad.txt", "# products\nBOOK|Book|book.pdf|19.95\nBAD|No limit|book.pdf|1.00|USD|0\nGONE|Missing|missing.pdf\n")
		_, errOut, code := runMain(t, env, "products", "import", bad)
		if code == 0 || !strings.Contains(errOut, "line 3") || !strings.Contains(errOut, "nothing imported") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		missing := write("missing.txt", "BOOK|Book|book.pdf|19.95\nGONE|Missing|missing.pdf\n")
		_, errOut, code = runMain(t, env, "products", "import", missing)
		if code == 0 || !strings.Contains(errOut, "line 2") {
			t.Fatalf("missing file: exit %d: %s", code, errOut)
		}
		if out := mustVend(t, env, "products", "list", "--json"); strings.TrimSpace(out) != "[]" {
			t.Errorf("something was imported: %s", out)
		}
	})
	t.Run("import, re-import, list, show, button", func(t *testing.T) {
		good := write("products.txt", "BOOK|Book|book.pdf|19.95|EUR|3|30d\nCOURSE|Course|course.zip\n")
		out := mustVend(t, env, "products", "import", good)
		if !strings.Contains(out, "2 product(s) imported") {
			t.Errorf("import: %s", out)
		}
		write("products.txt", "BOOK|Book, 2nd edition|book.pdf|24.95|EUR|3|30d\nCOURSE|Course|course.zip\n")
		out = mustVend(t, env, "products", "import", good)
		if !strings.Contains(out, "BOOK\tBook, 2nd edition (updated)") {
			t.Errorf("re-import: %s", out)
		}
		var p struct {
			Name, Currency     string
			Price              int64
			DownloadLimit      int `json:"download_limit"`
			CompletedDownloads int `json:"completed_downloads"`
			Files              []struct {
				Name, SHA256 string
				Size         int64
			}
		}
		if err := json.Unmarshal([]byte(mustVend(t, env, "products", "show", "--json", "BOOK")), &p); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte("%PDF-1.7 a book"))
		if p.Name != "Book, 2nd edition" || p.Price != 2495 || p.Currency != "EUR" || p.DownloadLimit != 3 ||
			len(p.Files) != 1 || p.Files[0].Name != "book.pdf" || p.Files[0].SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("show: %+v", p)
		}
		button := mustVend(t, env, "products", "button", "BOOK")
		for _, want := range []string{`action="https://www.paypal.com/cgi-bin/webscr"`, `name="business" value="sales@example.com"`,
			`name="item_number" value="BOOK"`, `name="amount" value="24.95"`, `name="currency_code" value="EUR"`,
			`name="notify_url" value="https://shop.example.com/ipn/paypal"`, `name="return" value="https://shop.example.com/return"`} {
			if !strings.Contains(button, want) {
				t.Errorf("button lacks %s:\n%s", want, button)
			}
		}
		if out := mustVend(t, append(env, "VEND_PAYPAL_SANDBOX=true"), "products", "button", "COURSE"); !strings.Contains(out, "www.sandbox.paypal.com") {
			t.Errorf("sandbox button:\n%s", out)
		}
	})
	t.Run("add a product with two files", func(t *testing.T) {
		out := mustVend(t, env, "products", "add", "BUNDLE", "--name", "Bundle", "--file", filepath.Join(dir, "book.pdf"),
			"--file", filepath.Join(dir, "course.zip"), "--price", "29.00", "--limit", "unlimited", "--lifetime", "365d")
		if !strings.Contains(out, "saved with 2 file(s)") {
			t.Errorf("add: %s", out)
		}
		if _, errOut, code := runMain(t, env, "products", "add", "X", "--name", "X", "--file", filepath.Join(dir, "book.pdf"), "--limit", "0"); code == 0 || !strings.Contains(errOut, "--limit") {
			t.Errorf("limit 0: exit %d %s", code, errOut)
		}
	})
	t.Run("edit, upload, retire and restore, each audited", func(t *testing.T) {
		out := mustVend(t, env, "products", "edit", "BOOK", "--price", "29.95", "--limit", "unlimited")
		if !strings.Contains(out, "BOOK\tBook, 2nd edition\t29.95 EUR\tunlimited downloads\t30d") {
			t.Errorf("edit: %s", out)
		}
		if _, errOut, code := runMain(t, env, "products", "edit", "BOOK", "--price", "-1"); code == 0 || !strings.Contains(errOut, "negative") {
			t.Errorf("negative price: exit %d %s", code, errOut)
		}
		if _, errOut, code := runMain(t, env, "products", "edit", "NOPE", "--name", "x"); code == 0 || !strings.Contains(errOut, "NOPE") {
			t.Errorf("unknown product: exit %d %s", code, errOut)
		}
		if _, _, code := runMain(t, env, "products", "edit", "BOOK"); code == 0 {
			t.Error("edit without a field succeeded")
		}
		errata := write("errata.pdf", "%PDF-1.7 errata")
		type files struct{ Current, Versions []struct{ ID int64 } }
		var f files
		if err := json.Unmarshal([]byte(mustVend(t, env, "products", "upload", "--json", "BOOK", errata)), &f); err != nil {
			t.Fatal(err)
		}
		if len(f.Current) != 2 || len(f.Versions) != 2 {
			t.Fatalf("after adding a file: %+v", f)
		}
		first, second := f.Current[0].ID, f.Current[1].ID
		v2 := write("book-v2.pdf", "%PDF-1.7 the second edition")
		if err := json.Unmarshal([]byte(mustVend(t, env, "products", "upload", "--json", "--replace", "BOOK", v2)), &f); err != nil {
			t.Fatal(err)
		}
		if len(f.Current) != 1 || len(f.Versions) != 3 {
			t.Fatalf("after replacing: %+v", f)
		}
		if _, errOut, code := runMain(t, env, "products", "retire", "BOOK", fmt.Sprint(f.Current[0].ID)); code == 0 || !strings.Contains(errOut, "at least one file") {
			t.Errorf("retiring the last file: exit %d %s", code, errOut)
		}
		mustVend(t, env, "products", "restore", "BOOK", fmt.Sprint(first))
		out = mustVend(t, env, "products", "retire", "BOOK", fmt.Sprint(f.Current[0].ID))
		// A restored version comes back as a new current file with the same bytes.
		if !regexp.MustCompile(`(?m)^  \* \d+  book\.pdf  15 bytes`).MatchString(out) || regexp.MustCompile(`(?m)^  \* .*book-v2`).MatchString(out) ||
			strings.Contains(out, "* "+fmt.Sprint(second)) {
			t.Errorf("after restoring the first edition and retiring the second:\n%s", out)
		}
		if _, errOut, code := runMain(t, env, "products", "restore", "COURSE", fmt.Sprint(first)); code == 0 || !strings.Contains(errOut, "No file") {
			t.Errorf("restoring another product's file: exit %d %s", code, errOut)
		}
		var actions []string
		for _, e := range auditTrail(t, filepath.Join(dir, "data")) {
			if e.Target == "product:BOOK" && e.Actor == "cli" {
				actions = append(actions, e.Action)
			}
		}
		want := []string{"product.file.retire", "product.file.restore", "product.file.upload", "product.file.upload", "product.edit",
			"product.import", "product.import"}
		if !slices.Equal(actions, want) {
			t.Errorf("audit trail of BOOK: %v, want %v", actions, want)
		}
	})
	t.Run("backup writes a readable copy", func(t *testing.T) {
		dst := filepath.Join(dir, "backup.db")
		mustVend(t, env, "backup", dst)
		if st, err := os.Stat(dst); err != nil || st.Size() == 0 {
			t.Errorf("backup: %v", err)
		} else if perm := st.Mode().Perm(); perm != 0o600 { // it holds buyers' email addresses
			t.Errorf("backup has mode %#o, want 0600", perm)
		}
		if st, err := os.Stat(filepath.Join(dir, "data", "vend.db")); err != nil {
			t.Error(err)
		} else if perm := st.Mode().Perm(); perm != 0o600 {
			t.Errorf("vend.db has mode %#o, want 0600", perm)
		}
		if _, _, code := runMain(t, env, "backup", dst); code == 0 {
			t.Error("backup over an existing file succeeded")
		}
	})
}

func TestConfigErrorsNeverShowTheDatabasePassword(t *testing.T) {
	t.Parallel()
	_, errOut, code := runMain(t, []string{"VEND_DATABASE=host=db user=vend password=Secr3t dbname=vend"}, "config", "check")
	if code == 0 || !strings.Contains(errOut, "database") || strings.Contains(errOut, "Secr3t") {
		t.Errorf("exit %d, stderr %q: want an error naming database, without the password", code, errOut)
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"bad URL", []string{"VEND_PAYPAL_VERIFY_URL=ftp://x"}, "paypal.verify_url"},
		{"unknown variable", []string{"VEND_PAYPAL_RECIEVER_ID=S8XGHLYDW9T3S"}, "VEND_PAYPAL_RECIEVER_ID"},
		{"bad bool", []string{"VEND_PAYPAL_SANDBOX=maybe"}, "paypal.sandbox"},
		{"bad percent", []string{"VEND_DELIVERY_GIVE_BACK_PERCENT=150"}, "delivery.give_back_percent"},
		{"bad database", []string{"VEND_DATABASE=mysql://x"}, "database"},
		{"x-accel with S3", []string{"VEND_STORAGE=s3://b/p", "VEND_DELIVERY_MODE=x-accel"}, "delivery.mode: x-accel needs local files"},
		{"bad storage", []string{"VEND_STORAGE=/srv/files"}, "storage"},
		{"bad delivery mode", []string{"VEND_DELIVERY_MODE=sendfile"}, "delivery.mode"},
		{"bad x-accel prefix", []string{"VEND_DELIVERY_X_ACCEL_PREFIX=files"}, "delivery.x_accel_prefix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, code := runMain(t, tt.env, "config", "check")
			if code == 0 || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want it to name %s", code, errOut, tt.want)
			}
		})
	}
	if out := mustVend(t, nil, "config", "check"); !strings.Contains(out, "ok") {
		t.Errorf("default config: %s", out)
	}
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	env := []string{"VEND_DATA_DIR=" + t.TempDir()}
	for range 2 { // the second time there is nothing to do
		if out := mustVend(t, env, "migrate"); !strings.Contains(out, "ledger schema up to date (SQLite") {
			t.Errorf("migrate: %s", out)
		}
	}
}
