package main

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vend-shop/vend/mailer/smtptest"
	"github.com/vend-shop/vend/provider/paypal"
	"github.com/vend-shop/vend/store/postgres/pgtest"
)

// TestLicensesCLI: a licensed product, a manual order that issues its key,
// and the key found, shown, disabled, enabled, limited and reset from the
// shell; the public key prints as PEM.
func TestLicensesCLI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := []string{"VEND_DATA_DIR=" + filepath.Join(dir, "data")}
	if err := os.WriteFile(filepath.Join(dir, "app.zip"), []byte("PK app"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustVend(t, env, "products", "add", "APP", "--name", "App", "--file", filepath.Join(dir, "app.zip"), "--price", "49")
	edited := mustVend(t, env, "products", "edit", "APP", "--license", "generated", "--activation-limit", "2", "--license-length", "365d",
		"--key-format", "APP-XXXXX-XXXXX-XXXXX-XXXXX")
	if !strings.Contains(edited, "licences generated\t2 activations\tlength 365d\tformat APP-XXXXX-XXXXX-XXXXX-XXXXX") {
		t.Errorf("products edit printed:\n%s", edited)
	}
	if _, errOut, code := runMain(t, env, "products", "edit", "APP", "--key-format", "XXXX"); code == 0 || !strings.Contains(errOut, "random characters") {
		t.Errorf("a key format with too few random characters: exit %d %s", code, errOut)
	}
	var order struct {
		ID       int64 `json:"id"`
		Licenses []struct {
			ID     int64  `json:"id"`
			Key    string `json:"key"`
			Status string `json:"status"`
		} `json:"licenses"`
	}
	if err := json.Unmarshal([]byte(mustVend(t, env, "orders", "create", "--email", "dev@example.com", "--product", "APP", "--json")), &order); err != nil {
		t.Fatal(err)
	}
	if len(order.Licenses) != 1 || !strings.HasPrefix(order.Licenses[0].Key, "APP-") || order.Licenses[0].Status != "inactive" {
		t.Fatalf("the manual order's keys: %+v", order.Licenses)
	}
	key, id := order.Licenses[0].Key, strconv.FormatInt(order.Licenses[0].ID, 10)
	if text := mustVend(t, env, "orders", "show", strconv.FormatInt(order.ID, 10)); !strings.Contains(text, "LICENCE") || !strings.Contains(text, key) {
		t.Errorf("orders show lacks the key:\n%s", text)
	}
	if list := mustVend(t, env, "licenses", "list", "--product", "APP"); !strings.Contains(list, key) || !strings.Contains(list, "0/2") {
		t.Errorf("licenses list:\n%s", list)
	}
	if show := mustVend(t, env, "licenses", "show", strings.ToLower(key)); !strings.Contains(show, "Licence "+id) || !strings.Contains(show, "dev@example.com") {
		t.Errorf("licenses show by key:\n%s", show)
	}
	if out := mustVend(t, env, "licenses", "disable", id); !strings.Contains(out, "disabled") || !strings.Contains(out, "Disabled by an administrator") {
		t.Errorf("disable:\n%s", out)
	}
	if out := mustVend(t, env, "licenses", "enable", key); !strings.Contains(out, "inactive") {
		t.Errorf("enable:\n%s", out)
	}
	if out := mustVend(t, env, "licenses", "limit", id, "unlimited"); !strings.Contains(out, "Activations 0 of unlimited") {
		t.Errorf("limit:\n%s", out)
	}
	mustVend(t, env, "licenses", "reset", id)
	if _, errOut, code := runMain(t, env, "licenses", "show", "NOPE-NOPE"); code == 0 || !strings.Contains(errOut, "No licence key") {
		t.Errorf("an unknown key: exit %d %s", code, errOut)
	}
	if _, errOut, code := runMain(t, env, "licenses", "limit", id, "0"); code == 0 || !strings.Contains(errOut, "activation limit") {
		t.Errorf("limit 0: exit %d %s", code, errOut)
	}
	block, _ := pem.Decode([]byte(mustVend(t, env, "licenses", "public-key")))
	if block == nil || block.Type != "PUBLIC KEY" {
		t.Fatalf("public-key printed no PEM public key")
	}
	if _, err := x509.ParsePKIXPublicKey(block.Bytes); err != nil {
		t.Errorf("public key: %v", err)
	}
	if st, err := os.Stat(filepath.Join(dir, "data", "license-key.pem")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("license-key.pem: %v %v", st, err)
	}
	if audit := mustVend(t, env, "orders", "show", strconv.FormatInt(order.ID, 10), "--json"); strings.Count(audit, key) != 1 {
		t.Errorf("the key shows %d times in orders show --json, want once", strings.Count(audit, key))
	}
}

// licenseAPI posts a form to a running vend's licence API and decodes the
// answer as a Lemon Squeezy client would.
func licenseAPI(t *testing.T, baseURL, op string, fields ...string) (int, map[string]any) {
	t.Helper()
	form := url.Values{}
	for i := 0; i+1 < len(fields); i += 2 {
		form.Set(fields[i], fields[i+1])
	}
	resp, err := http.PostForm(baseURL+"/v1/licenses/"+op, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s: %d, not JSON: %v", op, resp.StatusCode, err)
	}
	return resp.StatusCode, out
}

// TestServe_LicensesTwoInstancesOnePostgres: the licence lifecycle over HTTP
// with the ledger in PostgreSQL and two vend processes, each request to
// either: buy, activate up to the limit, the next refused, deactivate frees a
// slot, validate with and without an instance, a chargeback disables, its
// cancellation enables, a refund disables for good. Then 64 activations at
// once, split between the instances, never pass the limit.
func TestServe_LicensesTwoInstancesOnePostgres(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the vend binary twice")
	}
	dbURL := pgtest.URL(t)
	bin := buildVend(t)
	verifier := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "VERIFIED")
	}))
	defer verifier.Close()
	smtp := smtptest.Start(t, "127.0.0.1:0", nil, false)
	env := append(vendEnv(t.TempDir(), anyPort, verifier.URL), "VEND_DATABASE="+dbURL, "VEND_LIMITS_LICENSE_BURST=1000",
		"VEND_SMTP_URL=smtp://"+smtp.Addr, "VEND_SMTP_FROM=shop@example.com", "VEND_SMTP_STARTTLS=none")
	importProduct(t, bin, env, "app|App|ebook.pdf|49.00|USD|5|unlimited")
	runVend(t, bin, env, "products", "edit", "app", "--license", "generated", "--activation-limit", "2")
	a, b := startServe(t, bin, env), startServe(t, bin, env)
	defer func() { a.kill(t); b.kill(t); a.wait(); b.wait() }()
	client := &http.Client{Timeout: 10 * time.Second}
	ipn := func(srv *server, s paypal.Sim) {
		t.Helper()
		s.ProductID, s.ProductName, s.Receiver, s.Test = "app", "App", "seller@example.com", true
		if s.Amount == 0 {
			s.Amount = 4900
		}
		if status, err := postIPN(client, srv.url, s.Body(nil)); err != nil || status != http.StatusOK {
			t.Fatalf("IPN %s to %s: %d %v", s.Status, srv.url, status, err)
		}
	}
	ipn(a, paypal.Sim{TxnID: "LICPG0000000001", PayerEmail: "dev@example.com"})
	var order struct {
		Grants []struct {
			Link string `json:"link"`
		} `json:"grants"`
		Licenses []struct {
			Key string `json:"key"`
		} `json:"licenses"`
	}
	if err := json.Unmarshal(runVend(t, bin, env, "orders", "show", "LICPG0000000001", "--json"), &order); err != nil {
		t.Fatal(err)
	}
	if len(order.Licenses) != 1 || len(order.Grants) != 1 {
		t.Fatalf("the order's keys and grants: %+v", order)
	}
	key := order.Licenses[0].Key
	u, _ := url.Parse(order.Grants[0].Link)
	if resp, err := client.Get(b.url + u.Path); err != nil {
		t.Fatal(err)
	} else {
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(page), key) {
			t.Errorf("the download page on the other instance lacks the key")
		}
	}

	// The key in the receipt, sent by either instance.
	var receipt bool
	for _, m := range waitAllSent(t, bin, env, smtp) {
		receipt = receipt || strings.Join(m.To, ",") == "dev@example.com" && strings.Contains(string(m.Data), key)
	}
	if !receipt {
		t.Error("no receipt with the key reached the buyer")
	}

	valid := func(when string, want bool, status string) {
		t.Helper()
		for _, srv := range []*server{a, b} {
			code, v := licenseAPI(t, srv.url, "validate", "license_key", key)
			lk, _ := v["license_key"].(map[string]any)
			if code != http.StatusOK || v["valid"] != want || lk == nil || lk["status"] != status {
				t.Errorf("%s, validate at %s: %d %v, want valid %v, %s", when, srv.url, code, v, want, status)
			}
		}
	}
	code, first := licenseAPI(t, a.url, "activate", "license_key", key, "instance_name", "laptop")
	if code != http.StatusOK || first["activated"] != true {
		t.Fatalf("activate: %d %v", code, first)
	}
	laptop := first["instance"].(map[string]any)["id"].(string)
	if code, v := licenseAPI(t, b.url, "activate", "license_key", key, "instance_name", "desktop"); code != http.StatusOK || v["activated"] != true {
		t.Fatalf("second activation: %d %v", code, v)
	}
	if code, v := licenseAPI(t, a.url, "activate", "license_key", key, "instance_name", "tablet"); code != http.StatusBadRequest ||
		v["error"] != "This license key has reached the activation limit." {
		t.Errorf("third activation: %d %v", code, v)
	}
	if code, v := licenseAPI(t, b.url, "deactivate", "license_key", key, "instance_id", laptop); code != http.StatusOK || v["deactivated"] != true {
		t.Errorf("deactivate: %d %v", code, v)
	}
	if code, v := licenseAPI(t, a.url, "activate", "license_key", key, "instance_name", "tablet"); code != http.StatusOK {
		t.Errorf("activation after a deactivation: %d %v", code, v)
	}
	if code, v := licenseAPI(t, b.url, "validate", "license_key", key, "instance_id", laptop); code != http.StatusNotFound {
		t.Errorf("validate the deactivated instance: %d %v", code, v)
	}
	valid("paid", true, "active")
	ipn(b, paypal.Sim{TxnID: "LICPG0000000002", ParentTxnID: "LICPG0000000001", Status: "Reversed", Amount: -4900, PayerEmail: "dev@example.com"})
	valid("charged back", false, "disabled")
	ipn(a, paypal.Sim{TxnID: "LICPG0000000003", ParentTxnID: "LICPG0000000001", Status: "Canceled_Reversal", Amount: 4900, PayerEmail: "dev@example.com"})
	valid("chargeback cancelled", true, "active")

	// 64 activations at once across the instances: exactly the limit succeed.
	runVend(t, bin, env, "licenses", "reset", key)
	runVend(t, bin, env, "licenses", "limit", key, "5")
	var ok, refused atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 64 {
		srv := []*server{a, b}[i%2]
		wg.Go(func() {
			<-start
			code, _ := licenseAPI(t, srv.url, "activate", "license_key", key, "instance_name", "burst")
			switch code {
			case http.StatusOK:
				ok.Add(1)
			case http.StatusBadRequest:
				refused.Add(1)
			default:
				t.Errorf("activation in the burst: %d", code)
			}
		})
	}
	close(start)
	wg.Wait()
	if ok.Load() != 5 || refused.Load() != 59 {
		t.Errorf("%d activations succeeded, %d refused; want 5 and 59", ok.Load(), refused.Load())
	}

	ipn(b, paypal.Sim{TxnID: "LICPG0000000004", ParentTxnID: "LICPG0000000001", Status: "Refunded", Amount: -4900, PayerEmail: "dev@example.com"})
	valid("refunded", false, "disabled")
	if t.Failed() {
		t.Logf("stderr a:\n%s\nstderr b:\n%s", a.stderr(), b.stderr())
	}
}

// TestLicensesImportCLI: keys from a list, for a product whose list ran out:
// the order made meanwhile gets its key when the list is imported.
func TestLicensesImportCLI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := []string{"VEND_DATA_DIR=" + filepath.Join(dir, "data")}
	if err := os.WriteFile(filepath.Join(dir, "app.zip"), []byte("PK app"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustVend(t, env, "products", "add", "LISTED", "--name", "Listed", "--file", filepath.Join(dir, "app.zip"), "--price", "29")
	mustVend(t, env, "products", "edit", "LISTED", "--license", "list")
	var order struct {
		ID       int64 `json:"id"`
		Licenses []struct {
			Key string `json:"key"`
		} `json:"licenses"`
	}
	if err := json.Unmarshal([]byte(mustVend(t, env, "orders", "create", "--email", "dev@example.com", "--product", "LISTED", "--json")), &order); err != nil {
		t.Fatal(err)
	}
	if len(order.Licenses) != 0 {
		t.Fatalf("keys before any list: %+v", order.Licenses)
	}
	list := filepath.Join(dir, "keys.txt")
	if err := os.WriteFile(list, []byte("# keys from the old shop\nOLD-AAAA-1111\nOLD-BBBB-2222\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := mustVend(t, env, "licenses", "import", "LISTED", list); !strings.Contains(out, "2 keys added (0 vend had already), 1 given to waiting buyers, 1 unused now") {
		t.Errorf("import printed %q", out)
	}
	if show := mustVend(t, env, "orders", "show", strconv.FormatInt(order.ID, 10)); !strings.Contains(show, "OLD-AAAA-1111") {
		t.Errorf("the order lacks its key:\n%s", show)
	}
	if err := os.WriteFile(list, []byte("GOOD\nNOT A KEY\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := runMain(t, env, "licenses", "import", "LISTED", list); code == 0 || !strings.Contains(errOut, "line 2") {
		t.Errorf("a list with a bad line: exit %d %s", code, errOut)
	}
	if _, errOut, code := runMain(t, env, "licenses", "import", "NOPE", list); code == 0 || errOut == "" {
		t.Errorf("an unknown product: exit %d %s", code, errOut)
	}
}
