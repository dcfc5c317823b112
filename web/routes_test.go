package web

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/vend-shop/vend/provider/paypal"
)

// samplePath fills a pattern's wildcards with values that name nothing.
func samplePath(pattern string) (method, path string) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = "", pattern
	}
	r := strings.NewReplacer("{id}", "1", "{file}", "1", "{delivery}", "1", "{action}", "extend", "{name}", "f.pdf", "{token}", "t", "{$}", "")
	path = r.Replace(path)
	if strings.HasSuffix(path, "/") && path != "/" {
		path += "nothing-here" // a catch-all
	}
	return method, path
}

// TestRoutes_AdminGroupIsProtected walks the whole route table: every route
// under /admin or /api/ is in the protected group but for the few public
// ones, and every route of the group refuses an anonymous request (the login
// page for pages, 401 for the API) and a cross-origin POST, even from a
// signed-in administrator.
func TestRoutes_AdminGroupIsProtected(t *testing.T) {
	t.Parallel()
	e, cookie := signedInEnv(t)
	public, admin := e.Server.routes()

	for _, r := range public {
		_, path := samplePath(r.pattern)
		if (path == "/admin" || strings.HasPrefix(path, "/admin/") || strings.HasPrefix(path, "/api/")) &&
			!slices.Contains(publicAdmin, r.pattern) {
			t.Errorf("%s is public: an admin or API route must be in the admin group (routes.go), or in publicAdmin", r.pattern)
		}
	}
	for _, p := range publicAdmin {
		if !slices.ContainsFunc(public, func(r route) bool { return r.pattern == p }) {
			t.Errorf("publicAdmin names %s, which the table does not serve as public", p)
		}
	}
	if len(admin) < 50 {
		t.Fatalf("the admin group has %d routes; the table lost some", len(admin))
	}

	for _, r := range admin {
		method, path := samplePath(r.pattern)
		if method == "" {
			method = http.MethodGet
		}
		api := strings.HasPrefix(path, "/api/")
		t.Run(r.pattern, func(t *testing.T) {
			t.Parallel()
			a := e.adminRequest(method, path, "", nil, sameOrigin)
			switch {
			case api && a.Status != http.StatusUnauthorized:
				t.Errorf("anonymous %s %s: %d, want 401", method, path, a.Status)
			case !api && (a.Status != http.StatusSeeOther || !strings.HasPrefix(a.Header.Get("Location"), "/admin/login")):
				t.Errorf("anonymous %s %s: %d to %q, want 303 to the login page", method, path, a.Status, a.Header.Get("Location"))
			}
			post := method
			if method == http.MethodGet || method == http.MethodHead {
				post = http.MethodPost
			}
			if a := e.adminRequest(post, path, cookie, nil, crossSite); a.Status != http.StatusForbidden {
				t.Errorf("cross-origin %s %s from a signed-in administrator: %d, want 403", post, path, a.Status)
			}
		})
	}
}

// TestRoutes_WrongMethod: a signed-in administrator who uses a method a path
// has no route for gets 405 and the methods it has; a path with no route
// gets 404.
func TestRoutes_WrongMethod(t *testing.T) {
	t.Parallel()
	e, cookie := signedInEnv(t)
	tests := []struct {
		method, path string
		status       int
		allow        string
	}{
		{http.MethodDelete, "/api/v1/products/EBOOK-001", http.StatusMethodNotAllowed, "GET, HEAD, POST"},
		{http.MethodPost, "/admin", http.StatusMethodNotAllowed, "GET, HEAD"},
		{http.MethodPut, "/admin/orders", http.StatusMethodNotAllowed, "GET, HEAD"},
		{http.MethodGet, "/admin/nothing-here", http.StatusNotFound, ""},
		{http.MethodGet, "/api/v1/nothing-here", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		a := e.adminRequest(tt.method, tt.path, cookie, nil, sameOrigin)
		if a.Status != tt.status || a.Header.Get("Allow") != tt.allow {
			t.Errorf("%s %s: %d, Allow %q; want %d, Allow %q", tt.method, tt.path, a.Status, a.Header.Get("Allow"), tt.status, tt.allow)
		}
	}
}

// TestRoutes_BodiesAreBounded walks every route that takes a body and sends it
// 10 MiB: each answers 413 having read no more than its bound (a form's or a
// provider's), but the few that set their own limit (ownBodyLimit).
func TestRoutes_BodiesAreBounded(t *testing.T) {
	t.Parallel()
	e, cookie := signedInEnv(t, func(s *Server) {
		s.Demo = &Demo{Checkout: &paypal.DemoCheckout{Secret: simSecret, Receiver: sellerEmail}}
	})
	public, admin := e.Server.routes()
	big := bytes.Repeat([]byte("a=b&"), 10<<20/4)
	for _, r := range append(public, admin...) {
		method, path := samplePath(r.pattern)
		switch {
		case method == http.MethodGet || method == http.MethodHead:
			continue
		case method == "":
			method = http.MethodPost
		}
		if why, ok := ownBodyLimit[r.pattern]; ok {
			t.Logf("%s: %s", r.pattern, why)
			continue
		}
		t.Run(r.pattern, func(t *testing.T) {
			t.Parallel()
			// The server answers and closes once the bound is read; when the
			// close reaches the client before the answer, the client's write
			// fails (broken pipe, reset) and the request is sent again.
			var resp *http.Response
			for try := 1; ; try++ {
				req, err := http.NewRequest(method, e.HTTP.URL+path, bytes.NewReader(big))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Sec-Fetch-Site", "same-origin")
				req.AddCookie(&http.Cookie{Name: adminCookie, Value: cookie})
				resp, err = e.client.Do(req)
				if err == nil {
					break
				}
				if try == 5 || !errors.Is(err, syscall.EPIPE) && !errors.Is(err, syscall.ECONNRESET) {
					t.Fatalf("%s %s with 10 MiB, try %d: %v", method, path, try, err)
				}
			}
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Errorf("%s %s with 10 MiB: %d, want 413\n%s", method, path, resp.StatusCode, body)
			}
		})
	}
	for p := range ownBodyLimit {
		if !slices.ContainsFunc(append(public, admin...), func(r route) bool { return r.pattern == p }) {
			t.Errorf("ownBodyLimit names %s, which the table does not serve", p)
		}
	}
}
