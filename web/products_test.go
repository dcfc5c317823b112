package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"path/filepath"
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
	return e.postUpload(cookie, product, &body, mw.FormDataContentType())
}

// postUpload posts a multipart form to a product's upload, from the admin's page.
func (e *testEnv) postUpload(cookie, product string, body *bytes.Buffer, contentType string) answer {
	e.tb.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.HTTP.URL+"/admin/products/"+product+"/files", body)
	req.Header.Set("Content-Type", contentType)
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
	if a.Status != http.StatusSeeOther || a.Header.Get("Location") != "/admin/products/COURSE-9?done=product" {
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
	confirmed := url.Values{"confirm": {"yes"}}
	if r := e.adminRequest(http.MethodPost, "/admin/products/EBOOK-001/files/"+itoa64(p.Files[0].ID)+"/retire", cookie, url.Values{}, sameOrigin); r.Status != http.StatusBadRequest {
		t.Errorf("retiring without the confirmation: %d", r.Status)
	}
	for _, f := range p.Files[:2] {
		e.adminRequest(http.MethodPost, "/admin/products/EBOOK-001/files/"+itoa64(f.ID)+"/retire", cookie, confirmed, sameOrigin)
	}
	if p = e.product("EBOOK-001"); len(p.Files) != 1 || p.Files[0].SHA256 != old.SHA256 {
		t.Errorf("after retiring two: %+v", p.Files)
	}
	if r := e.adminRequest(http.MethodPost, "/admin/products/EBOOK-001/files/"+itoa64(p.Files[0].ID)+"/retire", cookie, confirmed, sameOrigin); r.Status != http.StatusBadRequest {
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

// badUploadNames are file names an admin's upload or an API call may carry
// that must never become a file's name: what reaches the operator's terminal
// or a buyer's header as something else than a name.
var badUploadNames = []struct{ name, in string }{
	{"ESC", "evil\x1b]0;pwned\x07.pdf"},
	{"CR", "book\r.pdf"},
	{"LF", "book\n.pdf"},
	{"NUL", "book\x00.pdf"},
	{"dot dot", ".."},
	{"right-to-left override", "photo\u202Efdp.exe"},
	{"300 bytes", strings.Repeat("x", 296) + ".pdf"},
}

// uploadRaw posts a file as the page's form does, its name encoded as RFC
// 2231 allows (filename*=UTF-8”…), so that any byte reaches the handler.
func (e *testEnv) uploadRaw(cookie, product, name string) answer {
	e.tb.Helper()
	var enc strings.Builder
	for _, b := range []byte(name) {
		if 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '.' || b == '-' || b == '_' {
			enc.WriteByte(b)
		} else {
			fmt.Fprintf(&enc, "%%%02X", b)
		}
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("mode", "add")
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename*=UTF-8''`+enc.String())
	h.Set("Content-Type", "application/octet-stream")
	fw, _ := mw.CreatePart(h)
	fw.Write([]byte("%PDF evil"))
	mw.Close()
	return e.postUpload(cookie, product, &body, mw.FormDataContentType())
}

// storedBlobs counts the files in the test's blob storage.
func (e *testEnv) storedBlobs() int {
	e.tb.Helper()
	n := 0
	err := filepath.WalkDir(e.Blobs.Dir(), func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return err
	})
	if err != nil {
		e.tb.Fatal(err)
	}
	return n
}

// TestAdminUpload_FileNames: the admin's upload form refuses the names the
// API refuses (it used to store ESC, CR and LF), before storing any byte.
func TestAdminUpload_FileNames(t *testing.T) {
	t.Parallel()
	e, cookie := adminEnv(t)
	blobs := e.storedBlobs()
	for _, tt := range badUploadNames {
		a := e.uploadRaw(cookie, "EBOOK-001", tt.in)
		if a.Status != http.StatusBadRequest || !strings.Contains(a.Body, "file name") {
			t.Errorf("%s: %d, want 400 naming the file name\n%.300s", tt.name, a.Status, a.Body)
		}
	}
	if p := e.product("EBOOK-001"); len(p.Files) != 1 || p.Files[0].Name != "go-patterns.pdf" {
		t.Errorf("files after refused uploads: %+v", p.Files)
	}
	if n := e.storedBlobs(); n != blobs {
		t.Errorf("refused uploads stored %d files", n-blobs)
	}
	// A browser may send the path the file had on the seller's machine: the
	// name is its last element, never the path.
	for _, path := range []string{"dir/sub/extras.zip", `..\..\extras.zip`} {
		if a := e.uploadRaw(cookie, "EBOOK-001", path); a.Status != http.StatusSeeOther {
			t.Errorf("%q: %d\n%s", path, a.Status, a.Body)
		}
	}
	for _, f := range e.product("EBOOK-001").Files[1:] {
		if f.Name != "extras.zip" {
			t.Errorf("stored as %q, want extras.zip", f.Name)
		}
	}
}

// TestAPIUpload_FileNames: the API refuses the same names with the catalog's
// message, before reading the body.
func TestAPIUpload_FileNames(t *testing.T) {
	t.Parallel()
	e, _ := adminEnv(t)
	c := newAPIClient(e)
	blobs := e.storedBlobs()
	for _, tt := range append(badUploadNames, struct{ name, in string }{"slash", "dir/book.pdf"}) {
		if tt.in == ".." {
			continue // the router answers ".." by a redirect; see below
		}
		a := c.call(http.MethodPut, "/api/v1/products/EBOOK-001/files/"+url.PathEscape(tt.in), "%PDF evil")
		var v struct {
			Error struct{ Code, Message string }
		}
		if a.Status != http.StatusBadRequest || json.Unmarshal([]byte(a.Body), &v) != nil || v.Error.Code != "invalid" ||
			!strings.HasPrefix(v.Error.Message, "file name") {
			t.Errorf("%s: %d %s, want 400 invalid about the file name", tt.name, a.Status, a.Body)
		}
	}
	if a := c.call(http.MethodPut, "/api/v1/products/EBOOK-001/files/%2E%2E", "%PDF evil"); a.Status < 300 {
		t.Errorf(`"..": %d %s`, a.Status, a.Body)
	}
	if p := e.product("EBOOK-001"); len(p.Files) != 1 || p.Files[0].Name != "go-patterns.pdf" {
		t.Errorf("files after refused uploads: %+v", p.Files)
	}
	if n := e.storedBlobs(); n != blobs {
		t.Errorf("refused uploads stored %d files", n-blobs)
	}
}

// TestAdminProduct_NewVersionAfterUpload: the product page offers to tell
// buyers about a new version after its upload form, and the release form
// starts empty instead of naming the file buyers already have.
func TestAdminProduct_NewVersionAfterUpload(t *testing.T) {
	t.Parallel()
	e, cookie := adminEnv(t)
	page := e.adminRequest(http.MethodGet, "/admin/products/EBOOK-001", cookie, nil, nil).Body
	upload, release := strings.Index(page, `action="/admin/products/EBOOK-001/files"`), strings.Index(page, `href="/admin/products/EBOOK-001/release"`)
	if upload < 0 || release < upload {
		t.Errorf("the new-version link (at %d) does not follow the upload form (at %d)", release, upload)
	}
	form := e.adminRequest(http.MethodGet, "/admin/products/EBOOK-001/release", cookie, nil, nil).Body
	if !strings.Contains(form, `name="version" type="text" value=""`) || strings.Contains(form, `value="go-patterns.pdf"`) {
		t.Errorf("the release form is prefilled:\n%s", form)
	}
	if !strings.Contains(page, `href="/admin/counters"`) || !strings.Contains(page, ">Exports</a>") {
		t.Error("the menu lacks the exports and counters page")
	}
}

// TestAdminProduct_Archive: the seller archives a product from its page (after
// confirming), the list marks it, new payments for it are refused, and it can
// be sold again.
func TestAdminProduct_Archive(t *testing.T) {
	t.Parallel()
	e, cookie := signedInEnv(t)
	if a := e.adminRequest(http.MethodPost, "/admin/products/EBOOK-001/archive", cookie, nil, sameOrigin); a.Status != http.StatusBadRequest {
		t.Errorf("archive without confirming: %d, want 400", a.Status)
	}
	a := e.adminRequest(http.MethodPost, "/admin/products/EBOOK-001/archive", cookie, url.Values{"confirm": {"yes"}}, sameOrigin)
	if a.Status != http.StatusSeeOther || a.Header.Get("Location") != "/admin/products/EBOOK-001?done=archive" {
		t.Fatalf("archive: %d to %q", a.Status, a.Header.Get("Location"))
	}
	if list := e.mustAdminGet(cookie, "/admin/products"); !strings.Contains(list, "(archived)") {
		t.Error("the product list does not mark the archived product")
	}
	if page := e.mustAdminGet(cookie, "/admin/products/EBOOK-001?done=archive"); !strings.Contains(page, "Sell it again") ||
		!strings.Contains(page, "The product is archived") {
		t.Error("the archived product's page offers no way back, or no message")
	}
	e.MustPostIPN(sample(t, "p1"))
	if n := e.LastNotification(); n.Verdict != vend.VerdictRejected || !strings.Contains(n.Reason, "archived") {
		t.Errorf("a payment for an archived product: %s %q, want rejected", n.Verdict, n.Reason)
	}
	if a := e.adminRequest(http.MethodPost, "/admin/products/EBOOK-001/unarchive", cookie, nil, sameOrigin); a.Status != http.StatusSeeOther {
		t.Fatalf("unarchive: %d", a.Status)
	}
	if page := e.mustAdminGet(cookie, "/admin/products/EBOOK-001"); !strings.Contains(page, ">Archive</button>") {
		t.Error("the product is not on sale again")
	}
}
