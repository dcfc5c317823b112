package web

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// withShop gives the buyer pages a shop's name, contact, website and logo.
func withShop(s *Server) {
	s.Shop = Shop{Name: "Example Books", SupportEmail: "help@books.test", URL: "https://books.test",
		Logo: "https://cdn.books.test/logo.png"}
}

// getAs fetches path with an Accept-Language header.
func (e *testEnv) getAs(path, acceptLanguage string) answer {
	e.tb.Helper()
	req, err := http.NewRequest(http.MethodGet, e.HTTP.URL+path, nil)
	if err != nil {
		e.tb.Fatal(err)
	}
	req.Header.Set("Accept-Language", acceptLanguage)
	return e.do(req)
}

// mustSay fails unless the page has each of says.
func mustSay(tb testing.TB, page answer, status int, says ...string) {
	tb.Helper()
	if page.Status != status {
		tb.Fatalf("answered %d, want %d:\n%s", page.Status, status, page.Body)
	}
	for _, s := range says {
		if !strings.Contains(page.Body, s) {
			tb.Errorf("page does not say %q:\n%s", s, page.Body)
		}
	}
}

// offersHelp is what a page that ends in a problem offers: the resend page
// and the seller's address.
var offersHelp = []string{`href="/links"`, `href="mailto:help@books.test"`}

func TestReturnPage_StopsWaiting(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, withShop, withMail)
	tests := []struct {
		name    string
		checks  string
		refresh string // where the page refreshes to; "" for no refresh
		says    []string
	}{
		{name: "first visit: waits, counting", refresh: "/return?checks=1&amp;tx=" + p1Txn, says: []string{"Waiting for PayPal"}},
		{name: "still within the wait", checks: strconv.Itoa(returnChecks - 1),
			refresh: "/return?checks=" + strconv.Itoa(returnChecks) + "&amp;tx=" + p1Txn},
		{name: "a count below zero starts again", checks: "-7", refresh: "/return?checks=1&amp;tx=" + p1Txn},
		{name: "the wait is over: what follows, and whom to ask", checks: strconv.Itoa(returnChecks),
			says: append([]string{"Payment not confirmed yet", "you do not need to pay again",
				"As soon as it is confirmed, we email you your download link.", "Check again"}, offersHelp...)},
		{name: "a count past the end says the same", checks: "99999999999999999999", says: []string{"Payment not confirmed yet"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := []string{"tx", p1Txn}
			if tt.checks != "" {
				q = append(q, "checks", tt.checks)
			}
			page := e.Get(returnPath(q...))
			mustSay(t, page, http.StatusOK, tt.says...)
			if tt.refresh == "" && hasRefresh(page.Body) {
				t.Errorf("refreshes itself after the wait:\n%s", page.Body)
			}
			if want := `content="5; url=` + tt.refresh + `"`; tt.refresh != "" && !strings.Contains(page.Body, want) {
				t.Errorf("page does not refresh with %s:\n%s", want, page.Body)
			}
		})
	}
	t.Run("a return by POST refreshes to a GET", func(t *testing.T) {
		t.Parallel()
		page := e.Post("/return", formType, []byte("txn_id="+p1Txn+"&payment_status=Completed"), nil)
		mustSay(t, page, http.StatusOK, `content="5; url=/return?checks=1&amp;tx=`+p1Txn+`"`)
	})
}

func TestReturnPage_RefusedPayment(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, withShop)
	e.MustPostIPN(edit(sample(t, "p1"), "mc_gross", "1.95", "payment_gross", "1.95"))
	if v := e.LastNotification().Verdict; v != vend.VerdictRejected {
		t.Fatalf("verdict %s, want rejected", v)
	}
	page := e.Get(returnPath("tx", p1Txn))
	mustSay(t, page, http.StatusOK, append([]string{"Your payment needs the seller", "could not accept it automatically",
		"You do not need to pay again", p1Txn}, offersHelp...)...)
	if hasRefresh(page.Body) {
		t.Errorf("a refused payment's page refreshes itself")
	}
	// Another transaction's return still waits.
	mustSay(t, e.Get(returnPath("tx", "0000000000000000X")), http.StatusOK, "Waiting for PayPal")
}

func TestBuyerPages_Shop(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, withShop)
	e.MustPostIPN(sample(t, "p1"))
	g := e.Order(p1Txn).grant("EBOOK-001")
	header := `<header class="shop"><img src="https://cdn.books.test/logo.png" alt=""><a href="https://books.test">Example Books</a></header>`
	t.Run("every buyer page has the shop's name, logo and contact", func(t *testing.T) {
		t.Parallel()
		for _, path := range []string{e.PagePath(g), "/links", returnPath("tx", p1Txn), "/", "/d/nothing", "/no/such/page"} {
			page := e.Get(path)
			if !strings.Contains(page.Body, header) || !strings.Contains(page.Body, "Questions? <a href=\"mailto:help@books.test\">") {
				t.Errorf("%s does not show the shop:\n%s", path, page.Body)
			}
			if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' https://cdn.books.test;") {
				t.Errorf("%s: Content-Security-Policy %q does not allow the logo", path, csp)
			}
		}
	})
	t.Run("a bad link offers the resend page and the contact", func(t *testing.T) {
		t.Parallel()
		mustSay(t, e.Get("/d/nothing"), http.StatusNotFound, append([]string{"This download link is not valid"}, offersHelp...)...)
	})
	t.Run("an unknown path is the 404 page", func(t *testing.T) {
		t.Parallel()
		mustSay(t, e.Get("/no/such/page"), http.StatusNotFound, append([]string{"<h1>Not found</h1>"}, offersHelp...)...)
	})
	t.Run("a known path with another method is 405", func(t *testing.T) {
		t.Parallel()
		req, err := http.NewRequest(http.MethodPut, e.HTTP.URL+"/links", nil)
		if err != nil {
			t.Fatal(err)
		}
		if a := e.do(req); a.Status != http.StatusMethodNotAllowed || !strings.Contains(a.Header.Get("Allow"), "POST") {
			t.Errorf("PUT /links: %d, Allow %q; want 405 naming POST", a.Status, a.Header.Get("Allow"))
		}
	})
	t.Run("the favicon is a small SVG the layout links", func(t *testing.T) {
		t.Parallel()
		a := e.Get("/favicon.ico")
		if a.Status != http.StatusOK || a.Header.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(a.Body, "<svg") {
			t.Errorf("favicon: %d %q %.40q", a.Status, a.Header.Get("Content-Type"), a.Body)
		}
		mustSay(t, e.Get("/links"), http.StatusOK, `<link rel="icon" href="/favicon.ico" type="image/svg+xml">`)
	})
	t.Run("the ended pages offer the resend page and the contact", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, withShop)
		e.MustPostIPN(sample(t, "p1"))
		g := e.Order(p1Txn).grant("EBOOK-001")
		e.updateGrant(g.ID, func(g *vend.Grant) { g.ExpiresAt = testEpoch.Add(-time.Hour) })
		mustSay(t, e.Get(e.PagePath(g)), http.StatusOK, append([]string{"This download expired on March 3, 2025."}, offersHelp...)...)
		e.MustPostIPN(sample(t, "p4"))
		mustSay(t, e.Get(e.PagePath(g)), http.StatusOK, append([]string{"This purchase was refunded"}, offersHelp...)...)
	})
}

// updateGrant changes a grant in the database.
func (e *testEnv) updateGrant(id int64, fn func(g *vend.Grant)) {
	e.tb.Helper()
	ctx := context.Background()
	err := e.DB.Update(ctx, func(tx store.Tx) error {
		g, err := tx.FindGrantByID(ctx, id)
		if err != nil {
			return err
		}
		fn(g)
		return tx.UpdateGrant(ctx, g)
	})
	if err != nil {
		e.tb.Fatal(err)
	}
}

func TestDownloadPage_LastDownload(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, withShop)
	e.MustPostIPN(sample(t, "p1"))
	g := e.Order(p1Txn).grant("EBOOK-001")
	e.updateGrant(g.ID, func(g *vend.Grant) { g.DownloadLimit, g.DownloadsUsed = 3, 2 })
	if f := e.Get(e.FilePath(g)); f.Status != http.StatusOK {
		t.Fatalf("the last download: %d", f.Status)
	}
	e.Flush()
	page := e.Get(e.PagePath(g))
	mustSay(t, page, http.StatusOK, "This was your last download. Until March 3, 2025, 18:45 UTC you can resume", "Downloads left: 0 of 3.")
	if files := links(page.Body, "/d/"); len(files) != 1 {
		t.Errorf("file buttons %v, want the file's while the session is open", files)
	}
	if f := e.Get(e.FilePath(g)); f.Status != http.StatusOK {
		t.Errorf("resuming in the session: %d, want 200", f.Status)
	}
	// The resume's handler records the session's activity after the last
	// byte went out: let it finish before time moves on.
	e.Flush()
	e.Clock.Add(31 * time.Minute)
	page = e.Get(e.PagePath(g))
	mustSay(t, page, http.StatusOK, append([]string{"You have used all downloads of this purchase, and the last one is over."}, offersHelp...)...)
	if files := links(page.Body, "/d/"); len(files) != 0 {
		t.Errorf("file buttons %v after the session, want none", files)
	}
	// The file's link, from a bookmark or the browser's history, answers with
	// the same words as the page, in the buyer's language, and a way back.
	f := e.Get(e.FilePath(g))
	mustSay(t, f, http.StatusForbidden, append([]string{"You have used all downloads of this purchase, and the last one is over.",
		`href="` + e.PagePath(g) + `"`, "Your download page"}, offersHelp...)...)
	if ct := f.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("the refused file's page is %q, want the HTML page", ct)
	}
	mustSay(t, e.getAs(e.FilePath(g), "de"), http.StatusForbidden, `<html lang="de">`, "Sie haben alle Downloads dieses Kaufs genutzt",
		"Ihre Download-Seite")
	// A link that finds no purchase gets the bad-link page.
	mustSay(t, e.Get("/d/NOTATOKEN/1/go-patterns.pdf"), http.StatusNotFound, append([]string{"This download link is not valid"}, offersHelp...)...)
}

func TestBuyerPages_German(t *testing.T) {
	t.Parallel()
	t.Run("Accept-Language chooses, and dates and sizes are the mails'", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, withShop)
		e.MustPostIPN(sample(t, "p1"))
		g := e.Order(p1Txn).grant("EBOOK-001")
		page := e.getAs(e.PagePath(g), "de-DE,de;q=0.9,en;q=0.5")
		mustSay(t, page, http.StatusOK, `<html lang="de">`, "Vielen Dank für Ihren Kauf", "herunterladen",
			"Bestellung", "März 2025", " kB")
		mustSay(t, e.getAs(e.PagePath(g), "en-US,de;q=0.5"), http.StatusOK, `<html lang="en">`, "Thank you for your purchase")
		mustSay(t, e.getAs("/links", "de"), http.StatusOK, "Download-Links erneut erhalten", "Ihre E-Mail-Adresse")
		mustSay(t, e.getAs("/d/nothing", "de"), http.StatusNotFound, "Dieser Download-Link ist ungültig", "Download-Links erneut zusenden")
		mustSay(t, e.getAs(returnPath("tx", "UNKNOWN", "checks", "999"), "de"), http.StatusOK, "Zahlung noch nicht bestätigt")
	})
	for name, opts := range map[string][]envOption{"mail on": {withShop, withMail}, "mail off": {withShop}} {
		t.Run("a Digistore24 buyer's language wins over the browser's, "+name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, opts...)
			sim := ds24Pay("DS24TXN1")
			sim.Language = "de"
			ds24MustOK(t, e, ds24Body(sim))
			g := e.ProviderOrder("digistore24", ds24Order).grant("EBOOK-001")
			mustSay(t, e.getAs(e.PagePath(g), "en-US"), http.StatusOK, `<html lang="de">`, "Vielen Dank für Ihren Kauf, Jörg Müller.")
		})
	}
}

// TestGerman_CoversEveryText finds every English text the buyer pages
// translate (.T and .Tf in templates and code, titles of buyerView) and
// checks that German has it.
func TestGerman_CoversEveryText(t *testing.T) {
	t.Parallel()
	lit := `"(?:[^"\\]|\\.)*"`
	calls := regexp.MustCompile(`(?:\.Tf?\(|\.Tf? |buyerView\([^,()]+,\s*)((?:` + lit + `\s*\+?\s*)+)`)
	parts := regexp.MustCompile(lit)
	files, _ := filepath.Glob("*.go")
	tmpls, _ := filepath.Glob("templates/*.html")
	n := 0
	for _, name := range append(files, tmpls...) {
		if strings.HasSuffix(name, "_test.go") || strings.HasPrefix(filepath.Base(name), "admin-") || strings.HasPrefix(filepath.Base(name), "demo") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range calls.FindAllStringSubmatch(string(src), -1) {
			var text strings.Builder
			for _, p := range parts.FindAllString(m[1], -1) {
				s, err := strconv.Unquote(p)
				if err != nil {
					t.Fatalf("%s: %s: %v", name, p, err)
				}
				text.WriteString(s)
			}
			n++
			if _, ok := german[text.String()]; !ok && text.String() != "" {
				t.Errorf("%s: no German for %q", name, text.String())
			}
		}
	}
	if n < 40 {
		t.Errorf("found %d texts, want the pages' 40 and more", n)
	}
}
