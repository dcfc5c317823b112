package web

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// upload posts a file to a product as the page's form does.
func (e *testEnv) upload(cookie, product, mode, name string, content []byte) answer {
	e.tb.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("mode", mode)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(content)
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, e.HTTP.URL+"/admin/products/"+product+"/files", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.AddCookie(&http.Cookie{Name: adminCookie, Value: cookie})
	return e.do(req)
}

func (e *testEnv) product(id string) *vend.Product {
	e.tb.Helper()
	var p *vend.Product
	e.view(func(ctx context.Context, tx store.Tx) error {
		var err error
		p, err = tx.FindProductByID(ctx, id)
		return err
	})
	return p
}

func TestAdminProducts(t *testing.T) {
	t.Parallel()
	e, cookie := adminEnv(t)
	list := e.adminRequest(http.MethodGet, "/admin/products", cookie, nil, nil)
	if list.Status != http.StatusOK || !strings.Contains(list.Body, "EBOOK-001") || !strings.Contains(list.Body, "go-patterns.pdf") {
		t.Fatalf("list: %d\n%s", list.Status, list.Body)
	}
	create := func(form url.Values) answer {
		return e.adminRequest(http.MethodPost, "/admin/products/new", cookie, form, sameOrigin)
	}
	a := create(url.Values{"id": {"COURSE-9"}, "name": {"Video <course>"}, "price": {"49.00"}, "currency": {"eur"}, "limit": {"unlimited"}, "lifetime": {"90d"}})
	if a.Status != http.StatusSeeOther || a.Header.Get("Location") != "/admin/products/COURSE-9" {
		t.Fatalf("create: %d %q\n%s", a.Status, a.Header.Get("Location"), a.Body)
	}
	if p := e.product("COURSE-9"); p.Price != 4900 || p.Currency != "EUR" || p.DownloadLimit != vend.Unlimited || p.Lifetime.Hours() != 90*24 {
		t.Errorf("created %+v", p)
	}
	for _, tt := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"id": {"COURSE-9"}, "name": {"x"}, "price": {"1"}, "currency": {"EUR"}, "limit": {"5"}, "lifetime": {"unlimited"}}, "already"},
		{url.Values{"id": {"bad id!"}, "name": {"x"}, "price": {"1"}, "currency": {"EUR"}, "limit": {"5"}, "lifetime": {"unlimited"}}, "product id"},
		{url.Values{"id": {"P2"}, "name": {"x"}, "price": {"cheap"}, "currency": {"EUR"}, "limit": {"5"}, "lifetime": {"unlimited"}}, "Price"},
		{url.Values{"id": {"P2"}, "name": {"x"}, "price": {"1"}, "currency": {"EUR"}, "limit": {"0"}, "lifetime": {"unlimited"}}, "Download limit"},
	} {
		if b := create(tt.form); b.Status != http.StatusBadRequest || !strings.Contains(b.Body, tt.want) {
			t.Errorf("%v: %d, want 400 saying %q", tt.form, b.Status, tt.want)
		}
	}
	// Edit the fields: the files stay.
	edit := e.adminRequest(http.MethodPost, "/admin/products/EBOOK-001", cookie,
		url.Values{"name": {"E-Book, 2nd edition"}, "price": {"24.95"}, "currency": {"USD"}, "limit": {"3"}, "lifetime": {"unlimited"}}, sameOrigin)
	if p := e.product("EBOOK-001"); edit.Status != http.StatusSeeOther || p.Name != "E-Book, 2nd edition" || p.Price != 2495 || len(p.Files) != 1 {
		t.Errorf("edit: %d %+v", edit.Status, p)
	}
	// Upload: a new version replaces the file; another file is added; the old
	// version can come back.
	old := e.product("EBOOK-001").Files[0]
	if u := e.upload(cookie, "EBOOK-001", "replace", `C:\books\go-patterns-2.pdf`, []byte("%PDF second edition")); u.Status != http.StatusSeeOther {
		t.Fatalf("upload: %d\n%s", u.Status, u.Body)
	}
	p := e.product("EBOOK-001")
	if len(p.Files) != 1 || p.Files[0].Name != "go-patterns-2.pdf" || p.Files[0].Size != int64(len("%PDF second edition")) {
		t.Fatalf("after the new version: %+v", p.Files)
	}
	e.upload(cookie, "EBOOK-001", "add", "extras.zip", []byte("PK extras"))
	if p = e.product("EBOOK-001"); len(p.Files) != 2 || p.Files[1].Name != "extras.zip" {
		t.Errorf("after adding: %+v", p.Files)
	}
	page := e.adminRequest(http.MethodGet, "/admin/products/EBOOK-001", cookie, nil, nil).Body
	if !strings.Contains(page, old.SHA256) || strings.Count(page, "<strong>current</strong>") != 2 {
		t.Errorf("the product page does not show the versions:\n%s", page)
	}
	if r := e.adminRequest(http.MethodPost, "/admin/products/EBOOK-001/files/"+itoa64(old.ID)+"/restore", cookie, url.Values{}, sameOrigin); r.Status != http.StatusSeeOther {
		t.Errorf("restore: %d", r.Status)
	}
	if p = e.product("EBOOK-001"); len(p.Files) != 3 || p.Files[2].SHA256 != old.SHA256 {
		t.Errorf("after restoring: %+v", p.Files)
	}
	for _, f := range p.Files[:2] {
		e.adminRequest(http.MethodPost, "/admin/products/EBOOK-001/files/"+itoa64(f.ID)+"/retire", cookie, url.Values{}, sameOrigin)
	}
	if p = e.product("EBOOK-001"); len(p.Files) != 1 || p.Files[0].SHA256 != old.SHA256 {
		t.Errorf("after retiring two: %+v", p.Files)
	}
	if r := e.adminRequest(http.MethodPost, "/admin/products/EBOOK-001/files/"+itoa64(p.Files[0].ID)+"/retire", cookie, url.Values{}, sameOrigin); r.Status != http.StatusBadRequest {
		t.Errorf("retiring the last file: %d", r.Status)
	}
	// Buyers get the current file.
	e.MustPostIPN(sample(t, "p1"))
	g := e.Order(p1Txn).grant("EBOOK-001")
	if f := e.Get(e.FilePath(g)); f.Status != http.StatusOK || !strings.HasPrefix(f.Body, "%PDF-1.4 Go Patterns") {
		t.Errorf("the buyer's file: %d %.30q", f.Status, f.Body)
	}
	var audit []*vend.AuditEntry
	e.view(func(ctx context.Context, tx store.Tx) error {
		var err error
		audit, err = tx.FindAuditEntries(ctx, store.AuditFilter{Target: "product:EBOOK-001"})
		return err
	})
	if len(audit) != 6 || audit[0].Action != "product.file.retire" || audit[len(audit)-1].Action != "product.edit" {
		t.Errorf("audit of the product: %d entries", len(audit))
	}
	// Another site cannot upload.
	req, _ := http.NewRequest(http.MethodPost, e.HTTP.URL+"/admin/products/EBOOK-001/files", strings.NewReader(""))
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "https://evil.example")
	req.AddCookie(&http.Cookie{Name: adminCookie, Value: cookie})
	if x := e.do(req); x.Status != http.StatusForbidden {
		t.Errorf("cross-site upload: %d", x.Status)
	}
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
