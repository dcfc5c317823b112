package web

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/account"
	"github.com/vend-shop/vend/report"
	"github.com/vend-shop/vend/store"
)

// apiClient calls /api/v1 with an API token of alice's named "script".
type apiClient struct {
	e     *testEnv
	token string
}

func newAPIClient(e *testEnv) *apiClient {
	token, hash := account.NewAPIToken()
	e.update(func(ctx context.Context, tx store.Tx) error {
		u, err := tx.FindUserByName(ctx, "alice")
		if err != nil {
			return err
		}
		return tx.CreateAPIToken(ctx, &vend.APIToken{Name: "script", UserID: u.ID, Hash: hash})
	})
	return &apiClient{e: e, token: token}
}

// call sends body (JSON, or the raw bytes of an upload) and answers the
// response.
func (c *apiClient) call(method, path string, body string) answer {
	c.e.tb.Helper()
	req, err := http.NewRequest(method, c.e.HTTP.URL+path, strings.NewReader(body))
	if err != nil {
		c.e.tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != "" && method != http.MethodPut {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.e.do(req)
}

// json calls and decodes a 200 answer into v.
func (c *apiClient) json(method, path, body string, v any) {
	c.e.tb.Helper()
	a := c.call(method, path, body)
	if a.Status != http.StatusOK {
		c.e.tb.Fatalf("%s %s: %d %s", method, path, a.Status, a.Body)
	}
	if err := json.Unmarshal([]byte(a.Body), v); err != nil {
		c.e.tb.Fatalf("%s %s: %v\n%s", method, path, err, a.Body)
	}
}

// wantError checks an error answer's status and stable code.
func (c *apiClient) wantError(method, path, body string, status int, code string) {
	c.e.tb.Helper()
	a := c.call(method, path, body)
	var v struct {
		Error struct{ Code, Message string }
	}
	if a.Status != status || json.Unmarshal([]byte(a.Body), &v) != nil || v.Error.Code != code || v.Error.Message == "" {
		c.e.tb.Errorf("%s %s: %d %s, want %d with code %q", method, path, a.Status, a.Body, status, code)
	}
}

// auditActions are the actions of the audit entries about target made with
// the client's token, newest first.
func auditActions(e *testEnv, target string) []string {
	var out []string
	for _, entry := range e.Audit(target) {
		if entry.Actor == "token:script" {
			out = append(out, entry.Action)
		}
	}
	return out
}

type apiProduct struct {
	Product  vend.Product `json:"product"`
	Versions []vend.File  `json:"versions"`
}

func TestAdminAPI_Products(t *testing.T) {
	t.Parallel()
	e, _ := adminEnv(t)
	c := newAPIClient(e)

	var list struct{ Products []vend.Product }
	c.json(http.MethodGet, "/api/v1/products", "", &list)
	if len(list.Products) == 0 {
		t.Fatal("no products listed")
	}

	var p apiProduct
	c.json(http.MethodPost, "/api/v1/products", `{"id":"GUIDE-9","name":"Field guide","price":"12.50","currency":"eur","download_limit":"3","lifetime":"30d"}`, &p)
	if got := p.Product; got.ID != "GUIDE-9" || got.Name != "Field guide" || got.Price != 1250 || got.Currency != "EUR" ||
		got.DownloadLimit != 3 || got.Lifetime != 30*24*time.Hour {
		t.Errorf("created %+v", got)
	}
	c.wantError(http.MethodPost, "/api/v1/products", `{"id":"GUIDE-9","name":"Again"}`, http.StatusConflict, "conflict")
	c.wantError(http.MethodPost, "/api/v1/products", `{"id":"bad id","name":"x"}`, http.StatusBadRequest, "invalid")
	c.wantError(http.MethodPost, "/api/v1/products/GUIDE-9", `{"price":"-1"}`, http.StatusBadRequest, "invalid")
	c.wantError(http.MethodPost, "/api/v1/products/GUIDE-9", `{"prize":"1.00"}`, http.StatusBadRequest, "invalid")
	c.wantError(http.MethodPost, "/api/v1/products/NOPE", `{"name":"x"}`, http.StatusNotFound, "not_found")

	c.json(http.MethodPost, "/api/v1/products/GUIDE-9", `{"download_limit":"unlimited"}`, &p)
	if p.Product.DownloadLimit != vend.Unlimited || p.Product.Price != 1250 || p.Product.Name != "Field guide" {
		t.Errorf("after editing the limit only: %+v", p.Product)
	}

	// Uploads are the request body, streamed; the URL names the file.
	c.json(http.MethodPut, "/api/v1/products/GUIDE-9/files/guide.pdf", "%PDF-1.7 first", &p)
	c.json(http.MethodPut, "/api/v1/products/GUIDE-9/files/map.png", "PNG map", &p)
	if len(p.Product.Files) != 2 || len(p.Versions) != 2 {
		t.Fatalf("after two uploads: %+v", p)
	}
	first := *p.Product.Files[0] // the next answers are decoded into p
	c.json(http.MethodPut, "/api/v1/products/GUIDE-9/files/guide-2.pdf?replace=true", "%PDF-1.7 second", &p)
	sum := sha256.Sum256([]byte("%PDF-1.7 second"))
	if len(p.Product.Files) != 1 || p.Product.Files[0].Name != "guide-2.pdf" || p.Product.Files[0].SHA256 != hex.EncodeToString(sum[:]) ||
		p.Product.Files[0].Size != 15 || len(p.Versions) != 3 {
		t.Fatalf("after replacing: %+v", p)
	}
	for _, bad := range []string{"a%5C..%5Cb.pdf", "a%0Ab.pdf", "a%09b.pdf", "%1B%5B31mred.pdf", "%FF.pdf", strings.Repeat("x", 256)} {
		c.wantError(http.MethodPut, "/api/v1/products/GUIDE-9/files/"+bad, "x", http.StatusBadRequest, "invalid")
	}
	c.wantError(http.MethodPost, "/api/v1/products/GUIDE-9", `{"id":"OTHER"}`, http.StatusBadRequest, "invalid")
	c.wantError(http.MethodPut, "/api/v1/products/NOPE/files/a.pdf", "x", http.StatusNotFound, "not_found")
	c.wantError(http.MethodPut, "/api/v1/products/GUIDE-9/files/a.pdf?replace=maybe", "x", http.StatusBadRequest, "invalid")

	id := func(f *vend.File) string { return strconv.FormatInt(f.ID, 10) }
	c.wantError(http.MethodPost, "/api/v1/products/GUIDE-9/files/"+id(p.Product.Files[0])+"/retire", "", http.StatusBadRequest, "invalid")
	c.json(http.MethodPost, "/api/v1/products/GUIDE-9/files/"+id(&first)+"/restore", "", &p)
	c.json(http.MethodPost, "/api/v1/products/GUIDE-9/files/"+id(p.Product.Files[0])+"/retire", "", &p)
	if len(p.Product.Files) != 1 || p.Product.Files[0].SHA256 != first.SHA256 {
		t.Errorf("after restoring the first file and retiring the second: %+v", p.Product.Files)
	}
	c.wantError(http.MethodPost, "/api/v1/products/GUIDE-9/files/"+id(&first)+"/shred", "", http.StatusNotFound, "not_found")
	c.wantError(http.MethodPost, "/api/v1/products/EBOOK-001/files/"+id(&first)+"/restore", "", http.StatusNotFound, "not_found")

	want := []string{"product.file.retire", "product.file.restore", "product.file.upload", "product.file.upload", "product.file.upload",
		"product.edit", "product.create"}
	if got := auditActions(e, "product:GUIDE-9"); !slices.Equal(got, want) {
		t.Errorf("audit trail %v, want %v", got, want)
	}
}

func TestAdminAPI_Release(t *testing.T) {
	t.Parallel()
	e, _ := adminEnv(t)
	e.Server.Ledger.Mail = true
	c := newAPIClient(e)
	g := e.Order(p1Txn).grant("EBOOK-001")
	e.Get(e.FilePath(g))
	e.Flush()
	if e.Grant(g.ID).DownloadsUsed != 1 {
		t.Fatal("the download did not count")
	}

	var rel vend.Release
	c.json(http.MethodPost, "/api/v1/products/EBOOK-001/releases", `{"version":"2nd edition","notify":true,"reset_limits":true}`, &rel)
	if rel.ID == 0 || rel.Total != 2 || !rel.Notify || !rel.Reset || rel.Actor != "token:script" {
		t.Fatalf("started %+v", rel)
	}
	path := "/api/v1/releases/" + strconv.FormatInt(rel.ID, 10)
	for deadline := time.Now().Add(10 * time.Second); rel.Status != vend.ReleaseDone && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		c.json(http.MethodGet, path, "", &rel)
	}
	if rel.Status != vend.ReleaseDone || rel.Done != 2 {
		t.Fatalf("release %+v", rel)
	}
	if e.Grant(g.ID).DownloadsUsed != 0 {
		t.Error("the release did not give the download back")
	}
	var mailed int
	for _, m := range e.mails() {
		if m.Kind == vend.MailNewVersion {
			mailed++
		}
	}
	if mailed != 2 {
		t.Errorf("%d new-version mails, want 2", mailed)
	}
	c.wantError(http.MethodPost, "/api/v1/products/EBOOK-001/releases", `{}`, http.StatusBadRequest, "invalid")
	c.wantError(http.MethodPost, "/api/v1/products/NOPE/releases", `{"notify":true}`, http.StatusNotFound, "not_found")
	c.wantError(http.MethodGet, "/api/v1/releases/999", "", http.StatusNotFound, "not_found")
	if got := auditActions(e, "product:EBOOK-001"); !slices.Equal(got, []string{"product.release"}) {
		t.Errorf("audit trail %v", got)
	}
}

func TestAdminAPI_Notifications(t *testing.T) {
	t.Parallel()
	e, _ := adminEnv(t)
	c := newAPIClient(e)

	var page struct {
		Notifications []vend.Notification
		NextBefore    int64 `json:"next_before"`
	}
	c.json(http.MethodGet, "/api/v1/notifications?limit=1&provider=paypal", "", &page)
	if len(page.Notifications) != 1 || page.NextBefore == 0 {
		t.Fatalf("first page %+v", page)
	}
	newest := page.Notifications[0]
	c.json(http.MethodGet, "/api/v1/notifications?limit=1&before="+strconv.FormatInt(page.NextBefore, 10), "", &page)
	if len(page.Notifications) != 1 || page.Notifications[0].ID >= newest.ID {
		t.Fatalf("second page %+v", page)
	}
	c.wantError(http.MethodGet, "/api/v1/notifications?verdict=great", "", http.StatusBadRequest, "invalid")

	var n vend.Notification
	c.json(http.MethodGet, "/api/v1/notifications/"+strconv.FormatInt(newest.ID, 10), "", &n)
	if n.ID != newest.ID || !strings.Contains(string(n.Body), "EVIL0000000000001") || n.Verdict != vend.VerdictApplied {
		t.Errorf("notification %+v", n)
	}
	c.wantError(http.MethodGet, "/api/v1/notifications/99999", "", http.StatusNotFound, "not_found")

	// A replay goes through verification and idempotency again: the payment
	// is applied already, so it changes nothing.
	var r vend.Notification
	c.json(http.MethodPost, "/api/v1/notifications/"+strconv.FormatInt(newest.ID, 10)+"/replay", "", &r)
	if r.ID == newest.ID || r.Verdict != vend.VerdictDuplicate || r.OrderID != newest.OrderID {
		t.Errorf("replay %+v", r)
	}
	if got := auditActions(e, "order:"+strconv.FormatInt(newest.OrderID, 10)); !slices.Equal(got, []string{"notification.replay"}) {
		t.Errorf("audit trail %v", got)
	}
}

func TestAdminAPI_LinksStatsExportsAudit(t *testing.T) {
	t.Parallel()
	e, _ := adminEnv(t)
	c := newAPIClient(e)
	o := e.Order(p1Txn)
	g := o.grant("EBOOK-001")
	grant := "/api/v1/grants/" + strconv.FormatInt(g.ID, 10) + "/links"

	c.wantError(http.MethodPost, grant, "", http.StatusBadRequest, "invalid") // no SMTP configured
	e.Server.Ledger.Mail = true
	var sent struct {
		Order int64
		To    string
	}
	c.json(http.MethodPost, grant, "", &sent)
	if sent.Order != o.ID || sent.To != o.Buyer.Email {
		t.Errorf("links %+v", sent)
	}
	if ms := e.mails(); len(ms) == 0 || ms[0].Kind != vend.MailLinks || ms[0].To != o.Buyer.Email {
		t.Errorf("no links mail queued: %+v", ms)
	}
	c.wantError(http.MethodPost, "/api/v1/grants/99999/links", "", http.StatusNotFound, "not_found")

	e.download(g)
	var st report.StatsReport
	c.json(http.MethodGet, "/api/v1/stats?days=7&top=5&test=1", "", &st)
	if st.Days != 7 || !st.Test || st.Sales != 2 || st.Downloads != 1 || len(st.Buyers) != 1 || st.Buyers[0].Email != o.Buyer.Email {
		t.Errorf("stats %+v", st)
	}
	// The samples are sandbox payments: without test=1 they are not sales.
	st = report.StatsReport{}
	if c.json(http.MethodGet, "/api/v1/stats?days=7", "", &st); st.Test || st.Sales != 0 || len(st.Revenue) != 0 {
		t.Errorf("stats without test orders %+v", st)
	}
	c.wantError(http.MethodGet, "/api/v1/stats?days=0", "", http.StatusBadRequest, "invalid")
	c.wantError(http.MethodGet, "/api/v1/stats?sort=name", "", http.StatusBadRequest, "invalid")

	a := c.call(http.MethodGet, "/api/v1/export/orders.csv", "")
	records, err := csv.NewReader(strings.NewReader(a.Body)).ReadAll()
	if a.Status != http.StatusOK || a.Header.Get("Content-Type") != "text/csv; charset=utf-8" || err != nil || len(records) != 3 {
		t.Errorf("orders.csv: %d %q %v\n%s", a.Status, a.Header.Get("Content-Type"), err, a.Body)
	}
	for _, kind := range []string{"transactions", "attempts"} {
		if a := c.call(http.MethodGet, "/api/v1/export/"+kind+".csv", ""); a.Status != http.StatusOK || !strings.Contains(a.Body, "\n") {
			t.Errorf("%s.csv: %d %s", kind, a.Status, a.Body)
		}
	}
	c.wantError(http.MethodGet, "/api/v1/export/attempts.csv?from=yesterday", "", http.StatusBadRequest, "invalid")

	var trail struct{ Entries []vend.AuditEntry }
	c.json(http.MethodGet, "/api/v1/audit?target=order:"+strconv.FormatInt(o.ID, 10), "", &trail)
	if len(trail.Entries) != 1 || trail.Entries[0].Action != "grant.links" || trail.Entries[0].Actor != "token:script" {
		t.Errorf("audit %+v", trail)
	}
	c.wantError(http.MethodGet, "/api/v1/audit?limit=0", "", http.StatusBadRequest, "invalid")
}

// TestAdminAPI_NeedsAToken: every API route answers 401 in JSON without a
// valid token or session.
func TestAdminAPI_NeedsAToken(t *testing.T) {
	t.Parallel()
	e, cookie := adminEnv(t)
	routes := []string{
		"GET /api/v1/whoami", "GET /api/v1/orders", "POST /api/v1/orders", "GET /api/v1/orders/1", "POST /api/v1/orders/1",
		"DELETE /api/v1/orders/1", "POST /api/v1/orders/1/refund", "POST /api/v1/grants/1/revoke", "POST /api/v1/grants/1/links",
		"GET /api/v1/products", "POST /api/v1/products", "GET /api/v1/products/EBOOK-001", "POST /api/v1/products/EBOOK-001",
		"PUT /api/v1/products/EBOOK-001/files/x.pdf", "POST /api/v1/products/EBOOK-001/files/1/retire",
		"POST /api/v1/products/EBOOK-001/releases", "GET /api/v1/releases/1",
		"GET /api/v1/notifications", "GET /api/v1/notifications/1", "POST /api/v1/notifications/1/replay",
		"GET /api/v1/export/orders.csv", "GET /api/v1/export/transactions.csv", "GET /api/v1/export/attempts.csv",
		"GET /api/v1/stats", "GET /api/v1/audit",
	}
	forged, _ := account.NewAPIToken()
	for _, route := range routes {
		method, path, _ := strings.Cut(route, " ")
		for _, h := range []http.Header{nil, {"Authorization": {"Bearer " + forged}}, {"Authorization": {"Basic YWxpY2U6eA=="}}} {
			a := e.adminRequest(method, path, "", nil, h)
			if a.Status != http.StatusUnauthorized || !strings.Contains(a.Body, `"code":"unauthorized"`) {
				t.Errorf("%s with %v: %d %s", route, h, a.Status, a.Body)
			}
		}
	}
	if n := len(e.Audit("")); n != 0 {
		t.Errorf("%d audit entries after refused calls", n)
	}
	// A signed-in administrator's browser may call the API too (same-site
	// only, as every state-changing request).
	if a := e.adminRequest(http.MethodGet, "/api/v1/whoami", cookie, nil, nil); a.Status != http.StatusOK || !strings.Contains(a.Body, `"user:alice"`) {
		t.Errorf("whoami with a session: %d %s", a.Status, a.Body)
	}
}

func TestAdminRefundOrder(t *testing.T) {
	t.Parallel()
	e, cookie := adminEnv(t)
	o := e.Order(p1Txn)
	path := "/admin/orders/" + strconv.FormatInt(o.ID, 10)
	if page := e.adminRequest(http.MethodGet, path, cookie, nil, nil); !strings.Contains(page.Body, `action="`+path+`/refund"`) {
		t.Fatalf("the order page offers no refund:\n%s", page.Body)
	}
	if a := e.adminRequest(http.MethodPost, path+"/refund", cookie, url.Values{"note": {"x"}}, sameOrigin); a.Status != http.StatusBadRequest {
		t.Errorf("a refund without the confirmation: %d", a.Status)
	}
	a := e.adminRequest(http.MethodPost, path+"/refund", cookie, url.Values{"note": {"paid back by transfer"}, "confirm": {"yes"}}, sameOrigin)
	if a.Status != http.StatusSeeOther || a.Header.Get("Location") != path+"?done=refund" {
		t.Fatalf("refund: %d %q %s", a.Status, a.Header.Get("Location"), a.Body)
	}
	if got := e.Order(p1Txn); got.Status != vend.OrderRefunded || got.grant("EBOOK-001").State != vend.GrantRevoked {
		t.Errorf("after the refund: %s, grant %s", got.Status, got.grant("EBOOK-001").State)
	}
	if page := e.adminRequest(http.MethodGet, path, cookie, nil, nil); strings.Contains(page.Body, "/refund") || !strings.Contains(page.Body, "paid back by transfer") {
		t.Errorf("the refunded order's page:\n%s", page.Body)
	}
	if got := e.Audit("order:" + strconv.FormatInt(o.ID, 10)); len(got) != 1 || got[0].Action != "order.refund" || got[0].Actor != "user:alice" {
		t.Errorf("audit %+v", got)
	}

	c := newAPIClient(e)
	evil := e.Order("EVIL0000000000001")
	var out struct{ Status string }
	c.json(http.MethodPost, "/api/v1/orders/"+strconv.FormatInt(evil.ID, 10)+"/refund", `{"note":"goodwill"}`, &out)
	if out.Status != "refunded" {
		t.Errorf("API refund: %+v", out)
	}
	c.wantError(http.MethodPost, "/api/v1/orders/"+strconv.FormatInt(evil.ID, 10)+"/refund", "", http.StatusConflict, "conflict")
	c.wantError(http.MethodPost, "/api/v1/orders/99999/refund", "", http.StatusNotFound, "not_found")
	if got := auditActions(e, "order:"+strconv.FormatInt(evil.ID, 10)); !slices.Equal(got, []string{"order.refund"}) {
		t.Errorf("audit %v", got)
	}
}
