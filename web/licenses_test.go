package web

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/catalog"
	"github.com/vend-shop/vend/ledger"
	"github.com/vend-shop/vend/license"
	"github.com/vend-shop/vend/provider/paypal"
	"github.com/vend-shop/vend/store"
)

// withLicensedEbook makes EBOOK-001 a licensed product: generated keys, two
// activations at once, valid for a year.
func withLicensedEbook(tb testing.TB, e *testEnv) {
	tb.Helper()
	_, err := catalog.EditProduct(context.Background(), e.DB, "user:alice", "EBOOK-001",
		catalog.Fields{License: "generated", ActivationLimit: "2", LicenseLength: "365d"})
	if err != nil {
		tb.Fatal(err)
	}
}

// lsAnswer is a licence API answer as a Lemon Squeezy client reads it.
type lsAnswer struct {
	Activated   *bool   `json:"activated"`
	Valid       *bool   `json:"valid"`
	Deactivated *bool   `json:"deactivated"`
	Error       *string `json:"error"`
	LicenseKey  *struct {
		ID              int64   `json:"id"`
		Status          string  `json:"status"`
		Key             string  `json:"key"`
		ActivationLimit *int    `json:"activation_limit"`
		ActivationUsage int     `json:"activation_usage"`
		CreatedAt       string  `json:"created_at"`
		ExpiresAt       *string `json:"expires_at"`
		TestMode        bool    `json:"test_mode"`
	} `json:"license_key"`
	Instance *struct {
		ID        string `json:"id"`
		Name      string `json:"name"`
		CreatedAt string `json:"created_at"`
	} `json:"instance"`
	Meta *struct {
		StoreID       int64  `json:"store_id"`
		OrderID       int64  `json:"order_id"`
		OrderItemID   int64  `json:"order_item_id"`
		ProductID     int64  `json:"product_id"`
		ProductName   string `json:"product_name"`
		CustomerEmail string `json:"customer_email"`
		VendProductID string `json:"vend_product_id"`
		SignedLicense string `json:"signed_license"`
	} `json:"meta"`
	status int
	raw    string
}

// licenseCall posts fields to /v1/licenses/op, form-encoded as Lemon
// Squeezy's documentation does, or as JSON.
func (e *testEnv) licenseCall(op string, asJSON bool, fields ...string) lsAnswer {
	e.tb.Helper()
	form := url.Values{}
	for i := 0; i+1 < len(fields); i += 2 {
		form.Set(fields[i], fields[i+1])
	}
	body, ct := []byte(form.Encode()), "application/x-www-form-urlencoded"
	if asJSON {
		m := map[string]string{}
		for k := range form {
			m[k] = form.Get(k)
		}
		body, _ = json.Marshal(m)
		ct = "application/json"
	}
	a := e.Post("/v1/licenses/"+op, ct, body, http.Header{"Accept": {"application/json"}})
	var out lsAnswer
	if err := json.Unmarshal([]byte(a.Body), &out); err != nil {
		e.tb.Fatalf("%s: %d %q is no JSON: %v", op, a.Status, a.Body, err)
	}
	if a.Header.Get("Access-Control-Allow-Origin") != "*" {
		e.tb.Errorf("%s: no CORS header", op)
	}
	out.status, out.raw = a.Status, a.Body
	return out
}

func (a lsAnswer) ok(flag *bool) bool { return flag != nil && *flag && a.Error == nil }

func (a lsAnswer) errorIs(want string) bool { return a.Error != nil && *a.Error == want }

var keyOnPage = regexp.MustCompile(`<code class="key">([^<]+)</code>`)

// TestLicenses_EndToEnd buys a licensed product over HTTP and takes its key
// through the licence API: the key on the page and in the receipt, activate
// up to the limit, the next refused, deactivate frees a slot, validate with
// and without an instance, a chargeback disables, its cancellation restores,
// a refund disables for good. The signed licence checks out against the
// shop's published key.
func TestLicenses_EndToEnd(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, withMail)
	withLicensedEbook(t, e)
	e.MustPostIPN(simBody(ebookSim("Completed", "LIC0000000000001")))
	o := e.Order("LIC0000000000001")
	g := o.grant("EBOOK-001")

	// The key, on the buyer's page and in the receipt.
	page := e.Get(e.PagePath(g))
	m := keyOnPage.FindStringSubmatch(page.Body)
	if m == nil || !strings.Contains(page.Body, "Installations at once: 2.") || !strings.Contains(page.Body, "Valid until March 3, 2026.") {
		t.Fatalf("the download page shows no key:\n%s", page.Body)
	}
	key := m[1]
	if ms := e.mails(); len(ms) == 0 || ms[0].Kind != vend.MailReceipt {
		t.Errorf("no receipt queued: %+v", ms)
	}

	// Activate up to the limit; the next one is refused.
	first := e.licenseCall("activate", false, "license_key", key, "instance_name", "laptop")
	if !first.ok(first.Activated) || first.status != http.StatusOK || first.Instance == nil || first.Instance.Name != "laptop" ||
		first.LicenseKey.Status != "active" || first.LicenseKey.ActivationUsage != 1 || *first.LicenseKey.ActivationLimit != 2 ||
		first.Meta.OrderID != o.ID || first.Meta.VendProductID != "EBOOK-001" || first.Meta.ProductID != license.ProductNumber("EBOOK-001") ||
		first.Meta.CustomerEmail != "sim@example.com" || first.LicenseKey.Key != key || !first.LicenseKey.TestMode {
		t.Fatalf("first activation: %d %s", first.status, first.raw)
	}
	second := e.licenseCall("activate", true, "license_key", strings.ToLower(key), "instance_name", "desktop") // JSON, any case
	if !second.ok(second.Activated) || second.LicenseKey.ActivationUsage != 2 || second.Instance.ID == first.Instance.ID {
		t.Fatalf("second activation: %d %s", second.status, second.raw)
	}
	third := e.licenseCall("activate", false, "license_key", key, "instance_name", "tablet")
	if third.status != http.StatusBadRequest || third.Activated == nil || *third.Activated ||
		!third.errorIs("This license key has reached the activation limit.") || third.LicenseKey.ActivationUsage != 2 {
		t.Fatalf("activation past the limit: %d %s", third.status, third.raw)
	}

	// Deactivate frees a slot.
	off := e.licenseCall("deactivate", false, "license_key", key, "instance_id", first.Instance.ID)
	if !off.ok(off.Deactivated) || off.LicenseKey.ActivationUsage != 1 {
		t.Fatalf("deactivate: %d %s", off.status, off.raw)
	}
	if again := e.licenseCall("deactivate", false, "license_key", key, "instance_id", first.Instance.ID); again.status != http.StatusNotFound {
		t.Errorf("deactivating it again: %d %s", again.status, again.raw)
	}
	if tablet := e.licenseCall("activate", false, "license_key", key, "instance_name", "tablet"); !tablet.ok(tablet.Activated) {
		t.Errorf("activation after a deactivation: %d %s", tablet.status, tablet.raw)
	}

	// Validate with and without an instance.
	valid := e.licenseCall("validate", false, "license_key", key)
	if !valid.ok(valid.Valid) || valid.Instance != nil || valid.LicenseKey.Status != "active" {
		t.Errorf("validate: %d %s", valid.status, valid.raw)
	}
	withInstance := e.licenseCall("validate", false, "license_key", key, "instance_id", second.Instance.ID)
	if !withInstance.ok(withInstance.Valid) || withInstance.Instance == nil || withInstance.Instance.Name != "desktop" {
		t.Errorf("validate with an instance: %d %s", withInstance.status, withInstance.raw)
	}
	if gone := e.licenseCall("validate", false, "license_key", key, "instance_id", first.Instance.ID); gone.status != http.StatusNotFound ||
		!gone.errorIs("license_key instance not found.") {
		t.Errorf("validate with a deactivated instance: %d %s", gone.status, gone.raw)
	}

	// The signed licence, against the key the shop publishes.
	pub := e.Get("/.well-known/vend-license-key.pem")
	block, _ := pem.Decode([]byte(pub.Body))
	if pub.Status != http.StatusOK || block == nil {
		t.Fatalf("public key: %d %q", pub.Status, pub.Body)
	}
	parsed, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := license.Verify(parsed.(ed25519.PublicKey), valid.Meta.SignedLicense, e.Clock.Now())
	if err != nil || claims.Key != key || claims.Product != "EBOOK-001" || claims.Buyer != license.BuyerHash("SIM@example.com") ||
		claims.OrderID != o.ID || claims.ActivationLimit != 2 || claims.Expires != e.Clock.Now().Add(365*24*time.Hour).Unix() {
		t.Errorf("signed licence: %+v, %v", claims, err)
	}
	file := e.Get(links(page.Body, "/d/"+strings.TrimPrefix(e.PagePath(g), "/d/")+"/licenses/")[0])
	if c, err := license.Verify(parsed.(ed25519.PublicKey), strings.TrimSpace(file.Body), e.Clock.Now()); err != nil || c.Key != key ||
		!strings.HasPrefix(file.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("the page's licence file: %d %q: %v", file.Status, file.Body, err)
	}

	// Follow the money.
	status := func(when, want string, valid bool) {
		t.Helper()
		a := e.licenseCall("validate", false, "license_key", key)
		if a.status != http.StatusOK || a.Valid == nil || *a.Valid != valid || a.LicenseKey.Status != want {
			t.Errorf("%s: %d %s, want %s", when, a.status, a.raw, want)
		}
		if !valid && (a.Error == nil || a.Meta.SignedLicense != "") {
			t.Errorf("%s: a key that is not valid needs a reason and no signed licence: %s", when, a.raw)
		}
	}
	// The seller revokes the buyer's access, then restores it.
	if _, err := e.Ledger.ChangeGrantWith(context.Background(), "user:alice", g.ID, ledger.GrantRevoke, ledger.GrantChange{}); err != nil {
		t.Fatal(err)
	}
	status("access revoked by the seller", "disabled", false)
	if _, err := e.Ledger.ChangeGrantWith(context.Background(), "user:alice", g.ID, ledger.GrantRestore, ledger.GrantChange{}); err != nil {
		t.Fatal(err)
	}
	status("access restored by the seller", "active", true)
	e.MustPostIPN(simBody(reversalSim("Reversed", "LIC0000000000002", "LIC0000000000001", -1995)))
	status("charged back", "disabled", false)
	if a := e.licenseCall("activate", false, "license_key", key, "instance_name", "x"); a.status != http.StatusBadRequest ||
		!a.errorIs("This license key is disabled.") {
		t.Errorf("activating a disabled key: %d %s", a.status, a.raw)
	}
	e.MustPostIPN(simBody(reversalSim("Canceled_Reversal", "LIC0000000000003", "LIC0000000000001", 1995)))
	status("the chargeback cancelled", "active", true)
	e.MustPostIPN(simBody(reversalSim("Refunded", "LIC0000000000004", "LIC0000000000001", -1995)))
	status("refunded", "disabled", false)
	e.MustPostIPN(simBody(ebookSim("Completed", "LIC0000000000001")))
	status("the payment's message again, after the refund", "disabled", false)
}

// TestLicenses_Refusals: what the API answers to what is not a usable request.
func TestLicenses_Refusals(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	withLicensedEbook(t, e)
	e.MustPostIPN(simBody(ebookSim("Completed", "LIC0000000000001")))
	key := keyOnPage.FindStringSubmatch(e.Get(e.PagePath(e.Order("LIC0000000000001").grant("EBOOK-001"))).Body)[1]
	for _, tt := range []struct {
		name   string
		op     string
		fields []string
		status int
		error  string
	}{
		{"an unknown key", "validate", []string{"license_key", "ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ"}, 404, "license_key not found."},
		{"a key with a space", "activate", []string{"license_key", "AB CD", "instance_name", "x"}, 404, "license_key not found."},
		{"no key", "validate", nil, 422, "The license_key field is required."},
		{"no instance name", "activate", []string{"license_key", key}, 422, "The instance_name field is required."},
		{"a long instance name", "activate", []string{"license_key", key, "instance_name", strings.Repeat("n", 201)}, 422,
			"The instance_name may be at most 200 characters."},
		{"no instance id", "deactivate", []string{"license_key", key}, 422, "The instance_id field is required."},
		{"an unknown instance", "deactivate", []string{"license_key", key, "instance_id", "nope"}, 404, "license_key instance not found."},
	} {
		a := e.licenseCall(tt.op, false, tt.fields...)
		if a.status != tt.status || !a.errorIs(tt.error) {
			t.Errorf("%s: %d %s, want %d %q", tt.name, a.status, a.raw, tt.status, tt.error)
		}
		if tt.error == "license_key not found." && (strings.Contains(a.raw, key) || a.LicenseKey != nil || a.Meta != nil) {
			t.Errorf("%s: the answer shows another key", tt.name)
		}
	}
	bad := e.Post("/v1/licenses/validate", "application/json", []byte(`{"license_key": 5`), nil)
	if bad.Status != http.StatusUnprocessableEntity || !strings.Contains(bad.Body, `"valid":false`) {
		t.Errorf("a broken JSON body: %d %s", bad.Status, bad.Body)
	}
	big := e.Post("/v1/licenses/validate", "application/x-www-form-urlencoded", []byte("license_key="+strings.Repeat("A", 8<<10)), nil)
	if big.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("an 8 KiB body: %d %s", big.Status, big.Body)
	}
	pre := e.do(mustRequest(t, http.MethodOptions, e.HTTP.URL+"/v1/licenses/activate"))
	if pre.Status != http.StatusNoContent || pre.Header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(pre.Header.Get("Access-Control-Allow-Headers"), "Content-Type") {
		t.Errorf("CORS preflight: %d %v", pre.Status, pre.Header)
	}
}

// TestLicenses_Budget: one address gets LicenseBurst answers at once, then
// 429 until its budget refills; another address is not affected.
func TestLicenses_Budget(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	for i := range DefaultLicenseBurst {
		if a := e.licenseCall("validate", false, "license_key", fmt.Sprint("K", i)); a.status != http.StatusNotFound {
			t.Fatalf("request %d: %d", i+1, a.status)
		}
	}
	if a := e.licenseCall("validate", false, "license_key", "K"); a.status != http.StatusTooManyRequests || a.Error == nil {
		t.Errorf("past the budget: %d %s", a.status, a.raw)
	}
	other := clientFrom(t, "127.0.0.2")
	resp, err := other.Post(e.HTTP.URL+"/v1/licenses/validate", "application/x-www-form-urlencoded", strings.NewReader("license_key=K"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("another address: %d", resp.StatusCode)
	}
	e.Clock.Add(10 * time.Second)
	if a := e.licenseCall("validate", false, "license_key", "K"); a.status != http.StatusNotFound {
		t.Errorf("after 10 s: %d", a.status)
	}
}

// TestLicenses_OneKeyPerUnit: three units of a licensed product are three keys;
// 50 copies of the payment's message still make three.
func TestLicenses_OneKeyPerUnit(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	withLicensedEbook(t, e)
	sim := ebookSim("Completed", "LIC0000000000009")
	sim.Items = []paypal.SimItem{{ProductID: "EBOOK-001", Name: "E-Book Go Patterns", Quantity: 3, Amount: 3 * 1995}}
	sim.Amount = 3 * 1995
	body := simBody(sim)
	done := make(chan struct{})
	for range 50 {
		go func() {
			defer func() { done <- struct{}{} }()
			e.PostIPN(body)
		}()
	}
	for range 50 {
		<-done
	}
	o := e.Order("LIC0000000000009")
	var n int
	e.view(func(ctx context.Context, tx store.Tx) error {
		ls, err := tx.FindLicenses(ctx, store.LicenseFilter{OrderID: &o.ID})
		n = len(ls)
		return err
	})
	if n != 3 {
		t.Errorf("%d keys for 3 units and 50 copies of the payment, want 3", n)
	}
	if keys := keyOnPage.FindAllString(e.Get(e.PagePath(o.grant("EBOOK-001"))).Body, -1); len(keys) != 3 {
		t.Errorf("the page shows %d keys, want 3", len(keys))
	}
}

func mustRequest(t *testing.T, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// FuzzDecodeLicenseRequest: any body, form or JSON, decodes or is refused
// with 422, never panics, and yields nothing the body did not hold.
func FuzzDecodeLicenseRequest(f *testing.F) {
	f.Add("application/x-www-form-urlencoded", "license_key=ABCDE-FGHJK&instance_name=laptop")
	f.Add("application/json", `{"license_key":"ABCDE","instance_id":"47596ad9-a811-4ebf-ac8a-03fc7b6d2a17"}`)
	f.Add("application/json; charset=utf-8", `{"license_key":5}`)
	f.Add("", "license_key=%zz")
	f.Add("text/plain", "\x00\xff")
	f.Fuzz(func(t *testing.T, contentType, body string) {
		req, err := decodeLicenseRequest(contentType, []byte(body))
		if err != nil {
			if vend.ErrorCode(err) != vend.EUNPROCESSABLE {
				t.Errorf("refused with %v, want EUNPROCESSABLE", err)
			}
			return
		}
		if n := len(req.Key) + len(req.InstanceName) + len(req.InstanceID); n > len(body) {
			t.Errorf("decoded %d bytes of fields from a %d-byte body", n, len(body))
		}
	})
}

// TestLicensesAdmin: the seller finds a key by pasting it, sees its
// activations, disables and enables it, resets its activations and changes
// its limit, in the admin and the JSON API; each change is in the audit
// trail, which never holds the key.
func TestLicensesAdmin(t *testing.T) {
	t.Parallel()
	e, cookie := adminEnv(t)
	withLicensedEbook(t, e)
	e.MustPostIPN(simBody(ebookSim("Completed", "LIC0000000000001")))
	o := e.Order("LIC0000000000001")
	key := keyOnPage.FindStringSubmatch(e.Get(e.PagePath(o.grant("EBOOK-001"))).Body)[1]
	act := e.licenseCall("activate", false, "license_key", key, "instance_name", "Alex's <b>laptop</b>")
	if !act.ok(act.Activated) {
		t.Fatalf("activate: %s", act.raw)
	}

	list := e.mustAdminGet(cookie, "/admin/licenses")
	if !strings.Contains(list, key) || !strings.Contains(list, `href="/admin/orders/`+fmt.Sprint(o.ID)+`"`) || !strings.Contains(list, "1 of 2") {
		t.Errorf("the list lacks the key:\n%s", list)
	}
	found := e.adminRequest(http.MethodGet, "/admin/licenses?key="+url.QueryEscape(" "+strings.ToLower(key)+" "), cookie, nil, nil)
	loc := found.Header.Get("Location")
	if found.Status != http.StatusSeeOther || !strings.HasPrefix(loc, "/admin/licenses/") {
		t.Fatalf("a pasted key: %d %q", found.Status, loc)
	}
	if none := e.mustAdminGet(cookie, "/admin/licenses?key=NOPE-NOPE"); !strings.Contains(none, "No licence key NOPE-NOPE") {
		t.Errorf("an unknown key:\n%s", none)
	}
	page := e.mustAdminGet(cookie, loc)
	for _, want := range []string{key, "Alex&#39;s &lt;b&gt;laptop&lt;/b&gt;", "127.0.0.1", "1 of 2 activations", "sim@example.com"} {
		if !strings.Contains(page, want) {
			t.Errorf("the key's page lacks %q", want)
		}
	}
	if order := e.mustAdminGet(cookie, fmt.Sprintf("/admin/orders/%d", o.ID)); !strings.Contains(order, key) {
		t.Error("the order's page does not show its key")
	}

	post := func(action string, form url.Values) answer {
		t.Helper()
		return e.adminRequest(http.MethodPost, loc+"/"+action, cookie, form, sameOrigin)
	}
	if a := post("disable", url.Values{}); a.Status != http.StatusBadRequest {
		t.Errorf("disable without the box ticked: %d", a.Status)
	}
	if a := post("disable", url.Values{"confirm": {"yes"}}); a.Status != http.StatusSeeOther || !strings.Contains(a.Header.Get("Location"), "done=license-disable") {
		t.Fatalf("disable: %d %q", a.Status, a.Header.Get("Location"))
	}
	if v := e.licenseCall("validate", false, "license_key", key); v.Valid == nil || *v.Valid || v.LicenseKey.Status != "disabled" {
		t.Errorf("validate after disable: %s", v.raw)
	}
	post("enable", url.Values{})
	if v := e.licenseCall("validate", false, "license_key", key); !v.ok(v.Valid) {
		t.Errorf("validate after enable: %s", v.raw)
	}
	post("reset", url.Values{"confirm": {"yes"}})
	post("limit", url.Values{"limit": {"unlimited"}})
	if v := e.licenseCall("validate", false, "license_key", key); v.LicenseKey.ActivationUsage != 0 || v.LicenseKey.ActivationLimit != nil {
		t.Errorf("after reset and an unlimited limit: %s", v.raw)
	}

	c := newAPIClient(e)
	var got struct {
		Licenses []struct {
			ID     int64  `json:"id"`
			Key    string `json:"key"`
			Status string `json:"status"`
		} `json:"licenses"`
	}
	c.json(http.MethodGet, "/api/v1/licenses?key="+url.QueryEscape(key), "", &got)
	if len(got.Licenses) != 1 || got.Licenses[0].Key != key || got.Licenses[0].Status != "inactive" {
		t.Fatalf("API find by key: %+v", got)
	}
	id := got.Licenses[0].ID
	var rec struct {
		ActivationLimit int `json:"activation_limit"`
		Instances       []struct {
			Name string `json:"name"`
		} `json:"instances"`
	}
	c.json(http.MethodPost, fmt.Sprintf("/api/v1/licenses/%d/limit", id), `{"limit": 3}`, &rec)
	if rec.ActivationLimit != 3 || len(rec.Instances) != 1 {
		t.Errorf("API limit: %+v", rec)
	}
	c.wantError(http.MethodPost, fmt.Sprintf("/api/v1/licenses/%d/limit", id), `{"limit": 0}`, http.StatusBadRequest, "invalid")
	c.wantError(http.MethodPost, fmt.Sprintf("/api/v1/licenses/%d/explode", id), `{}`, http.StatusNotFound, "not_found")
	c.wantError(http.MethodGet, "/api/v1/licenses/99999", "", http.StatusNotFound, "not_found")

	trail := e.mustAdminGet(cookie, fmt.Sprintf("/admin/audit?target=license:%d", id))
	for _, want := range []string{"license.disable", "license.enable", "license.reset", "license.limit"} {
		if !strings.Contains(trail, want) {
			t.Errorf("the audit trail lacks %s", want)
		}
	}
	if strings.Contains(trail, key) {
		t.Error("the audit trail holds the key")
	}
}

// TestLicenses_FromAList: a product whose keys come from the seller's list.
// A sale when the list is used up tells the buyer the key follows and shows
// on the dashboard; adding keys in the admin gives it at once; the API adds
// keys too, and says what it did.
func TestLicenses_FromAList(t *testing.T) {
	t.Parallel()
	e, cookie := adminEnv(t)
	e.Server.Ledger.Mail = true
	if _, err := catalog.EditProduct(context.Background(), e.DB, "user:alice", "EBOOK-001",
		catalog.Fields{License: "list", ActivationLimit: "1", LowStock: "3"}); err != nil {
		t.Fatal(err)
	}
	e.MustPostIPN(simBody(ebookSim("Completed", "LIST000000000001")))
	g := e.Order("LIST000000000001").grant("EBOOK-001")
	mustSay(t, e.Get(e.PagePath(g)), http.StatusOK, "Your licence key follows by email as soon as the shop has it.")
	dash := e.mustAdminGet(cookie, "/admin")
	if !strings.Contains(dash, "Buyers wait for licence keys") || !strings.Contains(dash, `href="/admin/products/EBOOK-001"`) {
		t.Errorf("the dashboard does not show the waiting purchase")
	}
	if order := e.mustAdminGet(cookie, fmt.Sprintf("/admin/orders/%d", e.Order("LIST000000000001").ID)); !strings.Contains(order, "EBOOK-001 waits for 1 licence key") {
		t.Errorf("the order page does not flag the waiting key")
	}
	product := e.mustAdminGet(cookie, "/admin/products/EBOOK-001")
	if !strings.Contains(product, "0 unused keys") || !strings.Contains(product, "1 purchase waits for keys") {
		t.Errorf("the product page does not show the keys' state")
	}
	a := e.adminRequest(http.MethodPost, "/admin/products/EBOOK-001/license-keys", cookie,
		url.Values{"keys": {"# from the old shop\nOLD-KEY-0001\nOLD-KEY-0002\n"}}, sameOrigin)
	if a.Status != http.StatusSeeOther {
		t.Fatalf("adding keys: %d %s", a.Status, a.Body)
	}
	if page := e.mustAdminGet(cookie, a.Header.Get("Location")); !strings.Contains(page, "2 licence keys added; 1 given to buyers who were waiting.") {
		t.Errorf("no message after adding keys")
	}
	page := e.Get(e.PagePath(g))
	if m := keyOnPage.FindStringSubmatch(page.Body); m == nil || m[1] != "OLD-KEY-0001" || strings.Contains(page.Body, "follows by email") {
		t.Errorf("the page after the import:\n%s", page.Body)
	}
	var sent bool
	for _, m := range e.mails() {
		sent = sent || m.Kind == vend.MailLicenseKeys && m.To == "sim@example.com"
	}
	if !sent {
		t.Error("the waiting buyer is not mailed the key")
	}
	if bad := e.adminRequest(http.MethodPost, "/admin/products/EBOOK-001/license-keys", cookie,
		url.Values{"keys": {"GOOD\nNOT A KEY\n"}}, sameOrigin); bad.Status != http.StatusBadRequest || !strings.Contains(bad.Body, "line 2") {
		t.Errorf("a list with a bad line: %d", bad.Status)
	}
	c := newAPIClient(e)
	var r struct {
		Added, Duplicates, Assigned, Unused int
	}
	c.json(http.MethodPost, "/api/v1/products/EBOOK-001/license-keys", "OLD-KEY-0002\nOLD-KEY-0003\n", &r)
	if r.Added != 1 || r.Duplicates != 1 || r.Assigned != 0 || r.Unused != 2 {
		t.Errorf("API import: %+v", r)
	}
	c.wantError(http.MethodPost, "/api/v1/products/AUDIO-002/license-keys", "KEY\n", http.StatusBadRequest, "invalid")
}
