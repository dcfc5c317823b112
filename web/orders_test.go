package web

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

const adminPW = "correct horse battery"

// adminEnv is a test env with two paid PayPal orders, one of a buyer whose name
// is an attack, and a signed-in administrator.
func adminEnv(t *testing.T) (*testEnv, string) {
	t.Helper()
	e := newTestEnv(t)
	alice := e.addUser("alice", adminPW)
	e.MustPostIPN(sample(t, "p1"))
	evil := ebookSim("Completed", "EVIL0000000000001")
	evil.FirstName, evil.LastName, evil.PayerEmail = `<script>alert(1)</script>`, `"><img src=x onerror=alert(2)>`, "evil@example.com"
	e.MustPostIPN(simBody(evil))
	return e, e.signIn(alice)
}

func TestAdminPages_NeedASignIn(t *testing.T) {
	t.Parallel()
	e, _ := adminEnv(t)
	for _, path := range []string{"/admin", "/admin/orders", "/admin/orders/1"} {
		a := e.adminRequest(http.MethodGet, path, "", nil, nil)
		if a.Status != http.StatusSeeOther || !strings.HasPrefix(a.Header.Get("Location"), "/admin/login") {
			t.Errorf("%s without a session: %d %q", path, a.Status, a.Header.Get("Location"))
		}
	}
}

func TestAdminDashboard(t *testing.T) {
	t.Parallel()
	e, cookie := adminEnv(t) // its PayPal runs in sandbox mode: test orders
	if a := e.adminRequest(http.MethodGet, "/admin", cookie, nil, nil); !strings.Contains(a.Body, "<strong>0</strong> sales") ||
		strings.Contains(a.Body, "39.90 USD") || !strings.Contains(a.Body, `href="/admin?test=1"`) {
		t.Errorf("the dashboard counts test orders as sales by default:\n%s", a.Body)
	}
	a := e.adminRequest(http.MethodGet, "/admin?test=1", cookie, nil, nil)
	if a.Status != http.StatusOK {
		t.Fatalf("dashboard: %d\n%s", a.Status, a.Body)
	}
	for _, want := range []string{"<h2>Today</h2>", "<strong>2</strong> sales", "39.90 USD", "<svg", "Sales per day", "Downloads per day",
		"Latest notifications", `href="/admin/orders/1"`} {
		if !strings.Contains(a.Body, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	if n := strings.Count(a.Body, "<rect "); n != 2*dashboardDays {
		t.Errorf("%d bars, want %d", n, 2*dashboardDays)
	}
	if strings.Contains(a.Body, "<script>alert") {
		t.Error("a buyer's name reached the page unescaped")
	}
}

func TestAdminOrders_Search(t *testing.T) {
	t.Parallel()
	e, cookie := adminEnv(t)
	list := func(query string) string {
		t.Helper()
		a := e.adminRequest(http.MethodGet, "/admin/orders"+query, cookie, nil, nil)
		if a.Status != http.StatusOK {
			t.Fatalf("%s: %d\n%s", query, a.Status, a.Body)
		}
		return a.Body
	}
	all := list("")
	if !strings.Contains(all, p1Txn) || !strings.Contains(all, "EVIL0000000000001") {
		t.Fatalf("the list lacks an order:\n%s", all)
	}
	for _, tt := range []struct{ query, want, not string }{
		{"?q=EVIL", "EVIL0000000000001", p1Txn},
		{"?q=" + p1Txn, p1Txn, "EVIL0000000000001"},
		{"?product=EBOOK-001&status=paid", "EVIL0000000000001", "No orders match"},
		{"?provider=digistore24", "No orders match", p1Txn},
		{"?status=refunded", "No orders match", p1Txn},
	} {
		body := list(tt.query)
		if !strings.Contains(body, tt.want) || strings.Contains(body, tt.not) {
			t.Errorf("%s: want %q and not %q", tt.query, tt.want, tt.not)
		}
	}
	// Everything a buyer typed is text.
	for _, body := range []string{all, list("?q=evil%40example.com")} {
		if strings.Contains(body, "<script>alert") || strings.Contains(body, `"><img`) {
			t.Error("a buyer's name reached the list unescaped")
		}
		if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Error("the escaped name is missing")
		}
	}
	if a := e.adminRequest(http.MethodGet, "/admin/orders?from=yesterday", cookie, nil, nil); a.Status != http.StatusBadRequest {
		t.Errorf("a bad date: %d", a.Status)
	}
}

func TestAdminOrders_Pages(t *testing.T) {
	t.Parallel()
	e, cookie := adminEnv(t)
	for i := range ordersPerPage + 5 {
		s := ebookSim("Completed", "PAGE"+strings.Repeat("0", 9)+strconv.Itoa(1000+i))
		e.MustPostIPN(simBody(s))
	}
	first := e.adminRequest(http.MethodGet, "/admin/orders", cookie, nil, nil).Body
	if n := strings.Count(first, `<td data-label="Order"><a href="/admin/orders/`); n != ordersPerPage {
		t.Errorf("first page has %d orders, want %d", n, ordersPerPage)
	}
	next := links(first, "/admin/orders?before=")
	if len(next) != 1 {
		t.Fatalf("no link to the next page")
	}
	second := e.adminRequest(http.MethodGet, next[0], cookie, nil, nil).Body
	if n := strings.Count(second, `<td data-label="Order"><a href="/admin/orders/`); n != 7 {
		t.Errorf("second page has %d orders, want 7", n)
	}
	if len(links(second, "/admin/orders?before=")) != 0 {
		t.Error("the last page links a next one")
	}
}

func TestAdminOrder(t *testing.T) {
	t.Parallel()
	e, cookie := adminEnv(t)
	o := e.Order(p1Txn)
	g := o.grant("EBOOK-001")
	e.Get(e.FilePath(g))
	e.Flush()
	a := e.adminRequest(http.MethodGet, "/admin/orders/"+strconv.FormatInt(o.ID, 10), cookie, nil, nil)
	if a.Status != http.StatusOK {
		t.Fatalf("order page: %d\n%s", a.Status, a.Body)
	}
	for _, want := range []string{"Order " + strconv.FormatInt(o.ID, 10), p1Txn, "EBOOK-001", "1 of 3", `<td data-label="Status">completed</td>`,
		"applied", "Download attempts", "127.0.0.1", e.PagePath(g)} {
		if !strings.Contains(a.Body, want) {
			t.Errorf("order page lacks %q", want)
		}
	}
	if strings.Contains(a.Body, "Completed") { // the provider's word, where it says what vend's says
		t.Error(`a transaction reads "completed" twice`)
	}
	evil := e.Order("EVIL0000000000001")
	b := e.adminRequest(http.MethodGet, "/admin/orders/"+strconv.FormatInt(evil.ID, 10), cookie, nil, nil)
	if strings.Contains(b.Body, "<script>alert") || strings.Contains(b.Body, `"><img`) || !strings.Contains(b.Body, "&lt;script&gt;") {
		t.Error("the buyer's name is not escaped on the order page")
	}
	if a := e.adminRequest(http.MethodGet, "/admin/orders/999", cookie, nil, nil); a.Status != http.StatusNotFound {
		t.Errorf("a missing order: %d", a.Status)
	}
}

func TestAdminGrantActions(t *testing.T) {
	t.Parallel()
	e, cookie := adminEnv(t)
	o := e.Order(p1Txn)
	g := o.grant("EBOOK-001")
	e.Get(e.FilePath(g))
	e.Flush()
	page := "/admin/orders/" + strconv.FormatInt(o.ID, 10)
	act := func(action string, form url.Values) answer {
		t.Helper()
		if form == nil {
			form = url.Values{}
		}
		return e.adminRequest(http.MethodPost, "/admin/grants/"+strconv.FormatInt(g.ID, 10)+"/"+action, cookie, form, sameOrigin)
	}
	for _, step := range []struct {
		action string
		form   url.Values
		check  func(g *vend.Grant) bool
	}{
		{"reset", nil, func(g *vend.Grant) bool { return g.DownloadsUsed == 0 }},
		{"extend", url.Values{"until": {"2099-12-31"}}, func(g *vend.Grant) bool { return g.ExpiresAt.Year() == 2100 }},
		{"revoke", url.Values{"confirm": {"yes"}}, func(g *vend.Grant) bool { return g.State == vend.GrantRevoked }},
		{"restore", nil, func(g *vend.Grant) bool { return g.State == vend.GrantActive }},
		{"extend", url.Values{"never": {"1"}}, func(g *vend.Grant) bool { return g.ExpiresAt.IsZero() }},
	} {
		if step.action == "revoke" { // only once its box is ticked
			if a := act("revoke", nil); a.Status != http.StatusBadRequest || e.Grant(g.ID).State != vend.GrantActive {
				t.Errorf("a revoke without the confirmation: %d, grant %s", a.Status, e.Grant(g.ID).State)
			}
		}
		a := act(step.action, step.form)
		if a.Status != http.StatusSeeOther || a.Header.Get("Location") != page+"?done="+step.action {
			t.Fatalf("%s: %d %q\n%s", step.action, a.Status, a.Header.Get("Location"), a.Body)
		}
		if got := e.Grant(g.ID); !step.check(got) {
			t.Errorf("after %s: %+v", step.action, got)
		}
		// The page it leads to says what was done.
		if next := e.adminRequest(http.MethodGet, a.Header.Get("Location"), cookie, nil, nil); !strings.Contains(next.Body, `<p class="ok" role="status">`+html.EscapeString(flashes[step.action])) {
			t.Errorf("after %s the page does not say so:\n%s", step.action, next.Body)
		}
	}
	// A done= the admin does not know shows nothing, least of all itself.
	if odd := e.adminRequest(http.MethodGet, page+"?done=%3Cb%3Ehi", cookie, nil, nil); strings.Contains(odd.Body, `class="ok" role="status"`) || strings.Contains(odd.Body, "hi<") {
		t.Error("an unknown done= is shown")
	}
	body := e.adminRequest(http.MethodGet, page, cookie, nil, nil).Body
	for _, want := range []string{"grant.reset", "grant.extend", "grant.revoke", "grant.restore", "user:alice"} {
		if !strings.Contains(body, want) {
			t.Errorf("the order page's changes lack %q", want)
		}
	}
	// Refused: another site's form, no session, a bad date.
	if a := e.adminRequest(http.MethodPost, "/admin/grants/"+strconv.FormatInt(g.ID, 10)+"/revoke", cookie, url.Values{},
		http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}}); a.Status != http.StatusForbidden {
		t.Errorf("a cross-site revoke: %d", a.Status)
	}
	if a := e.adminRequest(http.MethodPost, "/admin/grants/"+strconv.FormatInt(g.ID, 10)+"/revoke", "", url.Values{}, sameOrigin); a.Status == http.StatusSeeOther && a.Header.Get("Location") == page {
		t.Error("a revoke without a session went through")
	}
	if a := act("extend", url.Values{"until": {"soon"}}); a.Status != http.StatusBadRequest {
		t.Errorf("a bad date: %d", a.Status)
	}
	if got := e.Grant(g.ID); got.State != vend.GrantActive {
		t.Errorf("a refused request changed the grant: %+v", got)
	}
}

func TestAdminAPI_OrdersAndGrants(t *testing.T) {
	t.Parallel()
	e, _ := adminEnv(t)
	token := newAPIClient(e).token
	bearer := http.Header{"Authorization": {"Bearer " + token}}
	get := func(path string) (int, map[string]any) {
		t.Helper()
		a := e.adminRequest(http.MethodGet, path, "", nil, bearer)
		var v map[string]any
		if err := json.Unmarshal([]byte(a.Body), &v); err != nil {
			t.Fatalf("%s: not JSON: %q", path, a.Body)
		}
		return a.Status, v
	}
	status, list := get("/api/v1/orders?q=EVIL&limit=10")
	orders, _ := list["orders"].([]any)
	if status != 200 || len(orders) != 1 || orders[0].(map[string]any)["ref"] != "EVIL0000000000001" {
		t.Fatalf("orders: %d %v", status, list)
	}
	id := int64(orders[0].(map[string]any)["id"].(float64))
	status, order := get("/api/v1/orders/" + strconv.FormatInt(id, 10))
	items, _ := order["items"].([]any)
	if status != 200 || len(items) != 1 || order["buyer"].(map[string]any)["name"] != `<script>alert(1)</script> "><img src=x onerror=alert(2)>` {
		t.Fatalf("order: %d %v", status, order)
	}
	grantID := int64(items[0].(map[string]any)["grant"].(map[string]any)["id"].(float64))
	a := e.adminRequest(http.MethodPost, "/api/v1/grants/"+strconv.FormatInt(grantID, 10)+"/revoke", "", nil, bearer)
	if a.Status != 200 || !strings.Contains(a.Body, `"state":"revoked"`) {
		t.Errorf("revoke: %d %s", a.Status, a.Body)
	}
	req := e.adminRequest(http.MethodPost, "/api/v1/grants/"+strconv.FormatInt(grantID, 10)+"/extend", "", nil,
		http.Header{"Authorization": {"Bearer " + token}})
	if req.Status != http.StatusBadRequest || !strings.Contains(req.Body, `"code":"invalid"`) {
		t.Errorf("extend without a body: %d %s", req.Status, req.Body)
	}
	for path, want := range map[string]int{"/api/v1/orders/99999": 404, "/api/v1/orders?limit=9999": 400, "/api/v1/orders?from=x": 400} {
		if status, v := get(path); status != want || v["error"] == nil {
			t.Errorf("%s: %d %v, want %d with an error", path, status, v, want)
		}
	}
	e.view(func(ctx context.Context, tx store.Tx) error {
		es, err := tx.FindAuditEntries(ctx, store.AuditFilter{Target: "order:" + strconv.FormatInt(id, 10)})
		if err == nil && (len(es) != 1 || es[0].Actor != "token:script" || es[0].Action != "grant.revoke") {
			t.Errorf("audit %+v", es)
		}
		return err
	})
	del := e.adminRequest(http.MethodDelete, "/api/v1/orders/"+strconv.FormatInt(id, 10), "", nil, bearer)
	if del.Status != 200 || !strings.Contains(del.Body, `"deleted":true`) {
		t.Errorf("delete: %d %s", del.Status, del.Body)
	}
	if again := e.adminRequest(http.MethodDelete, "/api/v1/orders/"+strconv.FormatInt(id, 10), "", nil, bearer); again.Status != http.StatusConflict {
		t.Errorf("delete twice: %d %s", again.Status, again.Body)
	}
}

func TestAdminEditBuyerAndLimit(t *testing.T) {
	t.Parallel()
	e, cookie := adminEnv(t)
	o := e.Order(p1Txn)
	g := o.grant("EBOOK-001")
	page := "/admin/orders/" + strconv.FormatInt(o.ID, 10)
	a := e.adminRequest(http.MethodPost, page+"/buyer", cookie, url.Values{"email": {"moved@example.com"}, "name": {"Jörg Müller"}}, sameOrigin)
	if a.Status != http.StatusSeeOther || e.Order(p1Txn).Buyer.Email != "moved@example.com" {
		t.Errorf("edit buyer: %d %+v", a.Status, e.Order(p1Txn).Buyer)
	}
	b := e.adminRequest(http.MethodPost, "/admin/grants/"+strconv.FormatInt(g.ID, 10)+"/limit", cookie, url.Values{"limit": {"unlimited"}}, sameOrigin)
	if b.Status != http.StatusSeeOther || e.Grant(g.ID).DownloadLimit != vend.Unlimited {
		t.Errorf("limit: %d %+v", b.Status, e.Grant(g.ID))
	}
	if c := e.adminRequest(http.MethodPost, "/admin/grants/"+strconv.FormatInt(g.ID, 10)+"/limit", cookie, url.Values{"limit": {"0"}}, sameOrigin); c.Status != http.StatusBadRequest {
		t.Errorf("limit 0: %d", c.Status)
	}
	body := e.adminRequest(http.MethodGet, page, cookie, nil, nil).Body
	if !strings.Contains(body, "order.edit") || !strings.Contains(body, "grant.limit") {
		t.Error("the changes are not on the order page")
	}
}

func TestAdminDeleteOrder(t *testing.T) {
	t.Parallel()
	e, cookie := adminEnv(t)
	o := e.Order(p1Txn)
	g := o.grant("EBOOK-001")
	id := strconv.FormatInt(o.ID, 10)
	confirm := e.adminRequest(http.MethodGet, "/admin/orders/"+id+"/delete", cookie, nil, nil)
	if confirm.Status != http.StatusOK || !strings.Contains(confirm.Body, "Delete order "+id+"?") {
		t.Fatalf("confirmation: %d\n%s", confirm.Status, confirm.Body)
	}
	if a := e.adminRequest(http.MethodPost, "/admin/orders/"+id+"/delete", cookie, url.Values{}, sameOrigin); a.Status != http.StatusBadRequest {
		t.Errorf("delete without confirming: %d", a.Status)
	}
	a := e.adminRequest(http.MethodPost, "/admin/orders/"+id+"/delete", cookie, url.Values{"confirm": {"yes"}}, sameOrigin)
	if a.Status != http.StatusSeeOther || a.Header.Get("Location") != "/admin/orders?done=delete" {
		t.Fatalf("delete: %d %q", a.Status, a.Header.Get("Location"))
	}
	if got := e.Grant(g.ID); got.State != vend.GrantRevoked {
		t.Errorf("the grant of a deleted order: %+v", got)
	}
	if f := e.Get(e.FilePath(g)); f.Status == http.StatusOK {
		t.Error("a deleted order's file still downloads")
	}
	list := e.adminRequest(http.MethodGet, "/admin/orders", cookie, nil, nil).Body
	if strings.Contains(list, p1Txn) {
		t.Error("the list shows the deleted order")
	}
	if page := e.adminRequest(http.MethodGet, "/admin/orders/"+id, cookie, nil, nil).Body; !strings.Contains(page, "(deleted)") || !strings.Contains(page, "order.delete") {
		t.Error("the order page does not say it was deleted")
	}
}

// TestAdminDashboard_FirstRun: the dashboard lists what a new shop still
// lacks, each step linked to where it is done, until every one is done.
func TestAdminDashboard_FirstRun(t *testing.T) {
	t.Parallel()
	e, cookie := signedInEnv(t) // products and providers, no mail, no order yet
	page := e.mustAdminGet(cookie, "/admin")
	for _, want := range []string{"Getting started", "✓ An administrator signs in", "✓ Add your products",
		"✓ Connect a payment provider: PayPal, Digistore24, Stripe, Standard Webhooks, WEBSALE configured",
		"○ Set up mail", "○ Make a test purchase", `href="/admin/orders/new"`} {
		if !strings.Contains(page, want) {
			t.Errorf("a new shop's dashboard lacks %q", want)
		}
	}
	done, cookie := signedInEnv(t, withMail)
	done.MustPostIPN(sample(t, "p1"))
	if page := done.mustAdminGet(cookie, "/admin"); strings.Contains(page, "Getting started") {
		t.Error("the checklist stays once every step is done")
	}
}

// TestAdminDashboard_RefusedPayments: a genuine payment vend refused waits on
// the dashboard until the seller grants it by hand (the form comes filled
// from the message, and the order then holds it) or dismisses it.
func TestAdminDashboard_RefusedPayments(t *testing.T) {
	t.Parallel()
	e, cookie := signedInEnv(t)
	low := func(txn string) []byte {
		return edit(simBody(ebookSim("Completed", txn)), "mc_gross", "1.95")
	}
	e.MustPostIPN(low("LOWPRICE000000001"))
	granted := e.LastNotification()
	e.MustPostIPN(low("LOWPRICE000000002"))
	dismissed := e.LastNotification()
	if granted.Verdict != vend.VerdictRejected || dismissed.Verdict != vend.VerdictRejected {
		t.Fatalf("verdicts %s, %s; want rejected", granted.Verdict, dismissed.Verdict)
	}
	page := e.mustAdminGet(cookie, "/admin")
	for _, n := range []*vend.Notification{granted, dismissed} {
		if !strings.Contains(page, fmt.Sprintf(`href="/admin/orders/new?notification=%d"`, n.ID)) {
			t.Errorf("the dashboard does not offer to grant refused notification %d", n.ID)
		}
	}

	form := e.mustAdminGet(cookie, fmt.Sprintf("/admin/orders/new?notification=%d", granted.ID))
	for _, want := range []string{fmt.Sprintf(`name="notification" value="%d"`, granted.ID), `value="EBOOK-001" checked`, `value="sim@example.com"`} {
		if !strings.Contains(form, want) {
			t.Errorf("the grant form lacks %q", want)
		}
	}
	a := e.adminRequest(http.MethodPost, "/admin/orders/new", cookie, url.Values{"email": {"buyer@example.com"},
		"product": {"EBOOK-001"}, "notification": {strconv.FormatInt(granted.ID, 10)}}, sameOrigin)
	if a.Status != http.StatusSeeOther {
		t.Fatalf("grant anyway: %d\n%s", a.Status, a.Body)
	}
	if a := e.adminRequest(http.MethodPost, fmt.Sprintf("/admin/notifications/%d/dismiss", dismissed.ID), cookie, nil, sameOrigin); a.Status != http.StatusSeeOther {
		t.Fatalf("dismiss: %d\n%s", a.Status, a.Body)
	}
	var after []*vend.Notification
	for _, n := range e.Notifications() {
		if n.ID == granted.ID || n.ID == dismissed.ID {
			after = append(after, n)
		}
	}
	for _, n := range after {
		if n.ID == granted.ID && n.OrderID == 0 || n.ID == dismissed.ID && !n.Dismissed {
			t.Errorf("notification %d: order %d, dismissed %v", n.ID, n.OrderID, n.Dismissed)
		}
	}
	if page := e.mustAdminGet(cookie, "/admin"); strings.Contains(page, "Refused messages to look at") {
		t.Error("settled refusals stay on the dashboard")
	}
	if a := e.adminRequest(http.MethodPost, fmt.Sprintf("/admin/notifications/%d/dismiss", granted.ID), cookie, nil, sameOrigin); a.Status != http.StatusConflict {
		t.Errorf("dismissing a granted refusal: %d, want 409", a.Status)
	}
}
