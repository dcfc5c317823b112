package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

func TestAdminNewOrder(t *testing.T) {
	t.Parallel()
	e, cookie := adminEnv(t)
	form := e.adminRequest(http.MethodGet, "/admin/orders/new", cookie, nil, nil)
	if form.Status != http.StatusOK || !strings.Contains(form.Body, `value="AUDIO-002"`) {
		t.Fatalf("form: %d\n%s", form.Status, form.Body)
	}
	a := e.adminRequest(http.MethodPost, "/admin/orders/new", cookie,
		url.Values{"email": {"friend@example.com"}, "name": {"A <b>Friend</b>"}, "product": {"EBOOK-001", "AUDIO-002"}, "note": {"press"},
			"language": {"de"}}, sameOrigin)
	if a.Status != http.StatusSeeOther || !strings.HasPrefix(a.Header.Get("Location"), "/admin/orders/") {
		t.Fatalf("create: %d %q\n%s", a.Status, a.Header.Get("Location"), a.Body)
	}
	page := e.adminRequest(http.MethodGet, a.Header.Get("Location"), cookie, nil, nil)
	for _, want := range []string{"manual", "A &lt;b&gt;Friend&lt;/b&gt;", "EBOOK-001", "AUDIO-002", "order.create", "user:alice"} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("the new order's page lacks %q", want)
		}
	}
	// The grants work: the buyer's page offers the files.
	var orders []*vend.Order
	e.view(func(ctx context.Context, tx store.Tx) error {
		var err error
		email := "friend@example.com"
		orders, err = tx.FindOrders(ctx, store.OrderFilter{Email: &email})
		return err
	})
	if len(orders) != 1 || orders[0].Status != vend.OrderPaid || orders[0].Language != "de" {
		t.Fatalf("orders of the friend: %+v", orders)
	}
	rec := e.ProviderOrder("manual", orders[0].Ref)
	if g := rec.grant("EBOOK-001"); g == nil || e.Get(e.FilePath(g)).Status != http.StatusOK {
		t.Errorf("the manual order's file does not download")
	} else {
		mustSay(t, e.getAs(e.PagePath(g), "en-US"), http.StatusOK, `<html lang="de">`) // the language chosen on the form
	}
	// A language vend does not speak is refused, with what was typed kept.
	if x := e.adminRequest(http.MethodPost, "/admin/orders/new", cookie, url.Values{"email": {"z@example.com"}, "name": {"Kept"},
		"product": {"EBOOK-001"}, "language": {"fr"}}, sameOrigin); x.Status != http.StatusBadRequest ||
		!strings.Contains(x.Body, "The buyer&#39;s language must be one of en, de") || !strings.Contains(x.Body, `value="Kept"`) {
		t.Errorf("language fr: %d\n%s", x.Status, x.Body)
	}
	// Refused: no product; the form comes back with the problem and what was typed.
	bad := e.adminRequest(http.MethodPost, "/admin/orders/new", cookie, url.Values{"email": {"x@example.com"}, "name": {"Kept"}}, sameOrigin)
	if bad.Status != http.StatusBadRequest || !strings.Contains(bad.Body, "Choose at least one product") || !strings.Contains(bad.Body, `value="Kept"`) {
		t.Errorf("no product: %d\n%s", bad.Status, bad.Body)
	}
	// From another site: refused.
	if x := e.adminRequest(http.MethodPost, "/admin/orders/new", cookie, url.Values{"email": {"y@example.com"}, "product": {"EBOOK-001"}},
		http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}}); x.Status != http.StatusForbidden {
		t.Errorf("cross-site create: %d", x.Status)
	}
}

func TestAdminAPI_NewOrder(t *testing.T) {
	t.Parallel()
	e, _ := adminEnv(t)
	token := newAPIClient(e).token
	h := http.Header{"Authorization": {"Bearer " + token}, "Content-Type": {"application/json"}}
	req, _ := http.NewRequest(http.MethodPost, e.HTTP.URL+"/api/v1/orders",
		strings.NewReader(`{"buyer":{"email":"api@example.com","name":"API"},"products":["AUDIO-002"]}`))
	req.Header = h
	a := e.do(req)
	if a.Status != http.StatusOK || !strings.Contains(a.Body, `"provider":"manual"`) || !strings.Contains(a.Body, `"product_id":"AUDIO-002"`) {
		t.Errorf("create: %d %s", a.Status, a.Body)
	}
	req, _ = http.NewRequest(http.MethodPost, e.HTTP.URL+"/api/v1/orders", strings.NewReader(`{"buyer":{"email":"api@example.com"},"products":["NOPE"]}`))
	req.Header = h
	if b := e.do(req); b.Status != http.StatusBadRequest || !strings.Contains(b.Body, `"code":"invalid"`) {
		t.Errorf("unknown product: %d %s", b.Status, b.Body)
	}
}
