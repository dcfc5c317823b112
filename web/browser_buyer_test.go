package web

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/provider/paypal"
)

// TestBrowser_BuyerPages opens the buyer pages in a real headless Chromium,
// at desktop width and at a phone's 390 px, in English and German: the return
// page waiting and after it stopped waiting, the download page in the last
// download's session and used up, with licence keys, a used-up purchase's
// file link, a bad link and the resend page. Each shows
// the shop and its text in the browser's language, and none scrolls sideways.
func TestBrowser_BuyerPages(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	e := newTestEnv(t, withShop, withMail)
	e.MustPostIPN(sample(t, "p1"))
	e.MustPostIPN(sample(t, "p2"))
	last := e.Order(p1Txn).grant("EBOOK-001")
	e.updateGrant(last.ID, func(g *vend.Grant) { g.DownloadLimit, g.DownloadsUsed = 3, 2 })
	if f := e.Get(e.FilePath(last)); f.Status != 200 { // the browser is the same client: 127.0.0.1
		t.Fatalf("the last download: %d", f.Status)
	}
	e.Flush()
	usedUp := e.Order(p2Txn).grant("EBOOK-001")
	e.updateGrant(usedUp.ID, func(g *vend.Grant) { g.DownloadLimit, g.DownloadsUsed = 1, 1 })
	// A licensed purchase of three: three keys on the page, and its updates
	// ended before a newer version came out.
	withLicensedEbook(t, e)
	licensed := ebookSim("Completed", "LICENSED00000001")
	licensed.Items = []paypal.SimItem{{ProductID: "EBOOK-001", Name: "E-Book Go Patterns", Quantity: 3, Amount: 3 * 1995}}
	licensed.Amount = 3 * 1995
	e.MustPostIPN(simBody(licensed))
	keys := e.Order("LICENSED00000001").grant("EBOOK-001")
	unknown := "/return?tx=0000000000000000X"

	pages := []struct {
		name, path string
		button     bool // a download button is there
		en, de     []string
		shot       string // with -update, docs/<shot>[-phone].png of its English page
	}{
		{"return page, waiting", unknown, false,
			[]string{"Waiting for PayPal to confirm your payment", "This page refreshes itself."},
			[]string{"Wir warten auf die Bestätigung Ihrer Zahlung", "Diese Seite aktualisiert sich selbst."}, ""},
		{"return page, stopped waiting", unknown + "&checks=" + strconv.Itoa(returnChecks), false,
			[]string{"Payment not confirmed yet", "we email you your download link", "Send me my download links again", "help@books.test"},
			[]string{"Zahlung noch nicht bestätigt", "per E-Mail", "Download-Links erneut zusenden", "help@books.test"}, "buyer-return"},
		{"download page, the last download's session open", e.PagePath(last), true,
			[]string{"This was your last download.", "Download go-patterns.pdf", "Downloads left: 0 of 3."},
			[]string{"Das war Ihr letzter Download.", "go-patterns.pdf herunterladen", "Verbleibende Downloads: 0 von 3."}, "buyer-download"},
		{"download page, used up", e.PagePath(usedUp), false,
			[]string{"You have used all downloads of this purchase", "Send me my download links again", "help@books.test"},
			[]string{"Sie haben alle Downloads dieses Kaufs genutzt", "Download-Links erneut zusenden", "help@books.test"}, ""},
		{"download page with licence keys", e.PagePath(keys), true,
			[]string{"Your licence keys", "Installations at once: 2.", "Licence file for offline use"},
			[]string{"Ihre Lizenzschlüssel", "Installationen gleichzeitig: 2.", "Lizenzdatei für die Offline-Prüfung"}, "buyer-licenses"},
		{"a used-up purchase's file link", e.FilePath(usedUp), false,
			[]string{"This download is not possible", "You have used all downloads of this purchase", "Your download page", "help@books.test"},
			[]string{"Dieser Download ist nicht möglich", "Sie haben alle Downloads dieses Kaufs genutzt", "Ihre Download-Seite", "help@books.test"}, ""},
		{"bad link", "/d/not-a-link", false,
			[]string{"This download link is not valid", "Send me my download links again"},
			[]string{"Dieser Download-Link ist ungültig", "Download-Links erneut zusenden"}, ""},
		{"resend page", "/links", false,
			[]string{"Get your download links again", "Your email address", "Send my links"},
			[]string{"Download-Links erneut erhalten", "Ihre E-Mail-Adresse", "Links senden"}, ""},
	}
	for _, width := range []int64{1280, 390} {
		for _, lang := range []string{"en", "de"} {
			do(t, ctx, "emulate", chromedp.EmulateViewport(width, 844), acceptLanguage(lang))
			for _, p := range pages {
				what := p.name + " at " + strconv.FormatInt(width, 10) + " px in " + lang
				do(t, ctx, what, chromedp.Navigate(e.HTTP.URL+p.path), chromedp.WaitVisible(chromedp.CSS("main h1")))
				text := run(t, ctx, what, chromedp.Text(chromedp.CSS("body")))
				want := append([]string{"Example Books"}, p.en...)
				if lang == "de" {
					want = append([]string{"Example Books"}, p.de...)
				}
				for _, w := range want {
					if !strings.Contains(text, w) {
						t.Errorf("%s does not show %q:\n%s", what, w, text)
					}
				}
				if n := run(t, ctx, what, chromedp.Evaluate[int](`document.querySelectorAll('main form[action^="/d/"] button').length`)); (n > 0) != p.button {
					t.Errorf("%s has %d download buttons, want some: %v", what, n, p.button)
				}
				if sw := run(t, ctx, what, chromedp.Evaluate[int64](`document.documentElement.scrollWidth`)); sw > width {
					t.Errorf("%s is %d px wide: it scrolls sideways", what, sw)
				}
				if *update && p.shot != "" && lang == "en" {
					name := p.shot + ".png"
					if width < 1280 {
						name = p.shot + "-phone.png"
					}
					if err := os.WriteFile(filepath.Join("..", "docs", name), run(t, ctx, what, chromedp.FullScreenshot(100)), 0o644); err != nil {
						t.Errorf("save %s: %v", name, err)
					}
				}
			}
		}
	}
}

// acceptLanguage makes the browser ask for lang, as a buyer's would.
func acceptLanguage(lang string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetUserAgentOverride,
			emulation.SetUserAgentOverrideParams{UserAgent: "Mozilla/5.0 (vend browser test)", AcceptLanguage: lang})
		return err
	})
}
