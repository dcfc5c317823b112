package web

import (
	"context"
	"flag"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var update = flag.Bool("update", false, "rewrite the admin screenshots in docs/")

// browser starts a headless Chromium for the test, or skips (fails under
// CI=true) when there is none.
func browser(t *testing.T) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a browser")
	}
	path := os.Getenv("VEND_TEST_CHROMIUM")
	if path == "" {
		for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
			if p, err := exec.LookPath(name); err == nil {
				path = p
				break
			}
		}
	}
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("no Chromium: install it (apt-get install -y chromium) or set VEND_TEST_CHROMIUM")
		}
		t.Skip("no Chromium: install it (apt-get install -y chromium) or set VEND_TEST_CHROMIUM to run the browser tests")
	}
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

func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// TestBrowser_Admin drives the admin in a real headless Chromium: sign in, see
// the dashboard's chart, search an order, reset a download limit; a buyer's name
// made of markup stays text everywhere; a form posted from another site is
// refused. With -update it saves screenshots of the dashboard and the order
// page to docs/.
func TestBrowser_Admin(t *testing.T) {
	ctx := browser(t)
	e, _ := adminEnv(t)
	o := e.Order("EVIL0000000000001")
	g := o.grant("EBOOK-001")
	e.Get(e.FilePath(g))
	e.Flush()
	base := e.HTTP.URL
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	do(t, ctx, "sign in",
		chromedp.Navigate(base+"/admin"),
		chromedp.WaitVisible(css("#name")),
		chromedp.SendKeys(css("#name"), "alice"),
		chromedp.SendKeys(css("#password"), adminPW),
		chromedp.Submit(css("#password")),
		chromedp.WaitVisible(css("figure.chart svg")),
	)
	if n := run(t, ctx, "count bars", chromedp.Evaluate[int](`document.querySelectorAll('figure.chart svg rect').length`)); n != 2*dashboardDays {
		t.Errorf("the charts have %d bars, want %d", n, 2*dashboardDays)
	}
	dashboard := run(t, ctx, "screenshot", chromedp.FullScreenshot(100))

	// Search by the buyer's email, open the order: the name is text, no markup ran.
	do(t, ctx, "search",
		chromedp.Navigate(base+"/admin/orders"),
		chromedp.SendKeys(css("input[name=q]"), "evil@example.com"),
		chromedp.Submit(css("input[name=q]")),
		chromedp.WaitVisible(css("tbody td a")),
	)
	found := run(t, ctx, "results", chromedp.Text(css("tbody")))
	if !strings.Contains(found, "EVIL0000000000001") || strings.Contains(found, "4TK12345AB6789012") {
		t.Errorf("search shows %q", found)
	}
	do(t, ctx, "open", chromedp.Click(css("tbody td a")), chromedp.WaitVisible(css("h1")))
	name := run(t, ctx, "buyer", chromedp.Text(css("main > p:nth-of-type(2)")))
	if !strings.Contains(name, `<script>alert(1)</script> "><img src=x onerror=alert(2)>`) {
		t.Errorf("the buyer's name is not shown as text: %q", name)
	}
	if n := run(t, ctx, "images", chromedp.Evaluate[int](`document.querySelectorAll('main img').length`)); n != 0 {
		t.Errorf("the buyer's markup made %d images", n)
	}

	// Reset the download count with the order page's button.
	do(t, ctx, "reset", chromedp.Click(css(`form[action$="/reset"] button`)), chromedp.WaitVisible(css("h1")))
	downloads := run(t, ctx, "downloads", chromedp.Text(css("tbody tr td:nth-of-type(5)")))
	if got := e.Grant(g.ID).DownloadsUsed; got != 0 || !strings.HasPrefix(downloads, "0 of") {
		t.Errorf("after reset: %d used, the page says %q", got, downloads)
	}
	orderShot := run(t, ctx, "screenshot", chromedp.FullScreenshot(100))

	// A form on another origin that posts to the admin is refused, although
	// the browser sends the session cookie along (same site, another port).
	evil := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<form id="f" method="post" action="` + base + `/admin/grants/` + strconv.FormatInt(g.ID, 10) + `/revoke"></form>
<script>document.getElementById('f').submit()</script>`))
	})}
	do(t, ctx, "cross-site post", chromedp.Navigate(serveOn(t, evil)), chromedp.WaitVisible(css("h1")))
	refused := run(t, ctx, "answer", chromedp.Text(css("h1")))
	if got := e.Grant(g.ID).State; got != "active" || refused != "Refused" {
		t.Errorf("a cross-site post: grant %s, page %q", got, refused)
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
