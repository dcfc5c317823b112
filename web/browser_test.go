package web

import (
	"context"
	"flag"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vend-shop/vend/internal/servicetest"
)

var update = flag.Bool("update", false, "rewrite the admin screenshots in docs/")

// browser starts a headless Chromium for the test, or skips (fails under
// CI=true) when there is none.
func browser(t *testing.T) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a browser")
	}
	path := servicetest.Chromium.Need(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 900), chromedp.Flag("disable-dev-shm-usage", true))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first Run starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium at %s: %v", path, err)
	}
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancelTimeout)
	return ctx
}

func run[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// navigating runs steps that leave the page (a click, a submit) and waits until
// the next page has loaded: waiting for an element alone could find it still
// on the old page.
func navigating(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	run(t, ctx, what, chromedp.Evaluate[bool](`window.__vendOld = true`))
	do(t, ctx, what, steps...)
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(30 * time.Millisecond) {
		loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__vendOld !== true && document.readyState === "complete"`))
		if err == nil && loaded {
			return
		}
	}
	t.Fatalf("%s: the next page did not load", what)
}

func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// signInBrowser opens url, an admin page, and signs in as alice on the login
// page it leads to; the browser is on url afterwards.
func signInBrowser(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	do(t, ctx, "open the admin", chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("#name")))
	navigating(t, ctx, "sign in",
		chromedp.SendKeys(chromedp.CSS("#name"), "alice"),
		chromedp.SendKeys(chromedp.CSS("#password"), adminPW),
		chromedp.Submit(chromedp.CSS("#password")),
	)
}

// TestBrowser_Admin drives the admin in a real headless Chromium: sign in, see
// the dashboard's chart, search an order, reset a download limit; a buyer's name
// made of markup stays text everywhere; a form posted from another site is
// refused. With -update it saves screenshots of the dashboard and the order
// page to docs/.
func TestBrowser_Admin(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	e, _ := adminEnv(t)
	o := e.Order("EVIL0000000000001")
	g := o.grant("EBOOK-001")
	e.Get(e.FilePath(g))
	e.Flush()
	base := e.HTTP.URL
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	signInBrowser(t, ctx, base+"/admin")
	do(t, ctx, "dashboard", chromedp.WaitVisible(css("figure.chart svg")))
	if n := run(t, ctx, "count bars", chromedp.Evaluate[int](`document.querySelectorAll('figure.chart svg rect').length`)); n != 2*dashboardDays {
		t.Errorf("the charts have %d bars, want %d", n, 2*dashboardDays)
	}
	dashboard := run(t, ctx, "screenshot", chromedp.FullScreenshot(100))

	// Search by the buyer's email, open the order: the name is text, no markup ran.
	do(t, ctx, "orders", chromedp.Navigate(base+"/admin/orders"), chromedp.WaitVisible(css("input[name=q]")))
	navigating(t, ctx, "search",
		chromedp.SendKeys(css("input[name=q]"), "evil@example.com"),
		chromedp.Submit(css("input[name=q]")),
	)
	found := run(t, ctx, "results", chromedp.Text(css("tbody")))
	if !strings.Contains(found, "EVIL0000000000001") || strings.Contains(found, "4TK12345AB6789012") {
		t.Errorf("search shows %q", found)
	}
	navigating(t, ctx, "open", chromedp.Click(css("tbody td a")))
	name := run(t, ctx, "buyer", chromedp.Text(css("main > p:nth-of-type(2)")))
	if !strings.Contains(name, `<script>alert(1)</script> "><img src=x onerror=alert(2)>`) {
		t.Errorf("the buyer's name is not shown as text: %q", name)
	}
	if n := run(t, ctx, "images", chromedp.Evaluate[int](`document.querySelectorAll('main img').length`)); n != 0 {
		t.Errorf("the buyer's markup made %d images", n)
	}

	// Reset the download count with the order page's button.
	navigating(t, ctx, "reset", chromedp.Click(css(`form[action$="/reset"] button`)))
	downloads := run(t, ctx, "downloads", chromedp.Text(css("tbody tr td:nth-of-type(5)")))
	if got := e.Grant(g.ID).DownloadsUsed; got != 0 || !strings.HasPrefix(downloads, "0 of") {
		t.Errorf("after reset: %d used, the page says %q", got, downloads)
	}
	if said := run(t, ctx, "flash", chromedp.Text(css(`main p[role=status]`))); said != flashes["reset"] {
		t.Errorf("after reset the page says %q", said)
	}
	orderShot := run(t, ctx, "screenshot", chromedp.FullScreenshot(100))

	// A form on another origin that posts to the admin is refused, although
	// the browser sends the session cookie along (same site, another port).
	evil := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<form id="f" method="post" action="` + base + `/admin/grants/` + strconv.FormatInt(g.ID, 10) + `/revoke"></form>
<script>document.getElementById('f').submit()</script>`))
	})}
	do(t, ctx, "cross-site post", chromedp.Navigate(serveOn(t, evil)))
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(30 * time.Millisecond) {
		if h, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector("h1") || {}).textContent || ""`)); err == nil && h != "" {
			break
		}
	}
	refused := run(t, ctx, "answer", chromedp.Text(css("h1")))
	if got := e.Grant(g.ID).State; got != "active" || refused != "Refused" {
		t.Errorf("a cross-site post: grant %s, page %q", got, refused)
	}

	// A manual order, and its file downloaded from the buyer's page.
	do(t, ctx, "new order form", chromedp.Navigate(base+"/admin/orders/new"), chromedp.WaitVisible(css("#email")))
	navigating(t, ctx, "new order",
		chromedp.SendKeys(css("#email"), "friend@example.com"),
		chromedp.SendKeys(css("#name"), "A Friend"),
		chromedp.Click(css(`input[name=product][value="AUDIO-002"]`)),
		chromedp.Submit(css("#email")),
	)
	heading := run(t, ctx, "new order's page", chromedp.Text(css("h1")))
	orderID, _ := strconv.ParseInt(strings.TrimPrefix(heading, "Order "), 10, 64)
	var manual *orderRecord
	for _, o := range e.Orders() {
		if o.ID == orderID {
			manual = o
		}
	}
	if manual == nil || manual.Provider != "manual" || manual.grant("AUDIO-002") == nil {
		t.Fatalf("the manual order %q: %+v", heading, manual)
	}
	mg := manual.grant("AUDIO-002")
	do(t, ctx, "buyer's page",
		chromedp.Navigate(base+e.PagePath(mg)),
		chromedp.WaitVisible(css("form button")),
		chromedp.Click(css("form button")),
	)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		e.Flush()
		if e.Grant(mg.ID).DownloadsUsed == 1 {
			break
		}
	}
	if got := e.Grant(mg.ID).DownloadsUsed; got != 1 {
		t.Errorf("the manual order's download counted %d, want 1", got)
	}

	// The new-version flow, to the end: preview, start, watch it finish.
	start := css(`form[action$="/release"] button`)
	do(t, ctx, "release form", chromedp.Navigate(base+"/admin/products/EBOOK-001/release"), chromedp.WaitVisible(start))
	navigating(t, ctx, "release", chromedp.Click(start))
	var progress string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		progress = run(t, ctx, "progress", chromedp.Text(css("main")))
		if strings.Contains(progress, "Done.") {
			break
		}
	}
	if !strings.Contains(progress, "Done.") || !strings.Contains(progress, "2 of 2 buyers handled") {
		t.Errorf("the release did not finish:\n%s", progress)
	}

	if !*update {
		return
	}
	for name, shot := range map[string][]byte{"admin-dashboard.png": dashboard, "admin-order.png": orderShot} {
		if err := os.WriteFile(filepath.Join("..", "docs", name), shot, 0o644); err != nil {
			t.Errorf("save %s: %v", name, err)
		}
	}
}

// serveOn serves srv on another loopback port: another origin of the same
// site, so the browser still sends the admin's cookie and only the origin
// check stands in the way.
func serveOn(t *testing.T, srv *http.Server) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String()
}
