package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/catalog"
	"github.com/vend-shop/vend/ledger"
	"github.com/vend-shop/vend/mailer"
	"github.com/vend-shop/vend/store"
	"github.com/vend-shop/vend/webhook"
)

// phoneWidth is the narrowest screen the admin is made for: a common phone
// held upright.
const phoneWidth = 390

// TestBrowser_AdminFits opens every page of the admin group's GET routes,
// with real records behind each (orders, a product, a notification, a
// release, audited changes), at a phone's width and at a desktop's: no page
// is wider than the screen, and no button or field lies off-screen, not even
// inside a table that scrolls on its own. With -update it saves the
// dashboard and the order page at the phone's width to docs/.
func TestBrowser_AdminFits(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	e, _ := adminEnv(t)
	bg := context.Background()
	o := e.Order("EVIL0000000000001")
	g := o.grant("EBOOK-001")
	e.Get(e.FilePath(g))
	e.Flush()
	// A licensed purchase: its key has a page of its own.
	withLicensedEbook(t, e)
	e.MustPostIPN(simBody(ebookSim("Completed", "LICENSED00000001")))
	var keyID int64
	licensed := e.Order("LICENSED00000001")
	e.view(func(ctx context.Context, tx store.Tx) error {
		ls, err := tx.FindLicenses(ctx, store.LicenseFilter{OrderID: &licensed.ID})
		if len(ls) > 0 {
			keyID = ls[0].ID
		}
		return err
	})
	// Audited changes of every kind the trail humanises.
	if _, err := e.Ledger.ChangeGrantWith(bg, "user:alice", g.ID, ledger.GrantRevoke, ledger.GrantChange{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Ledger.ChangeGrantWith(bg, "user:alice", g.ID, ledger.GrantRestore, ledger.GrantChange{}); err != nil {
		t.Fatal(err)
	}
	if _, err := catalog.EditProduct(bg, e.DB, "user:alice", "EBOOK-001", catalog.Fields{Price: "24.95", Lifetime: "30d"}); err != nil {
		t.Fatal(err)
	}
	rel, err := e.Ledger.StartRelease(bg, "user:alice", "EBOOK-001", ledger.ReleaseOptions{Version: "Second edition", Reset: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Ledger.RunRelease(bg, rel.ID, nil); err != nil { // a finished release: its page does not refresh itself
		t.Fatal(err)
	}
	// A genuine payment vend refused (below the price): the dashboard lists it.
	e.MustPostIPN(edit(simBody(ebookSim("Completed", "LOWPRICE000000001")), "mc_gross", "1.95"))
	// The mailbox on, with a message in it (set before the first request).
	e.Server.Mailbox = mailer.NewMailbox(filepath.Join(t.TempDir(), "mailbox"))
	sendTo(t, e.Server.Mailbox, &mailer.Message{From: "shop@example.com", To: "buyer@example.com", Subject: "Your download", Text: "Thank you.",
		HTML: "<p>Thank you.</p>\n", Kind: vend.MailReceipt})
	kept, err := e.Server.Mailbox.List(bg)
	if err != nil || len(kept) != 1 {
		t.Fatalf("mailbox: %v, %v", kept, err)
	}
	// A webhook endpoint whose receiver is down: a delivery with a failed attempt.
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "maintenance until 14:00", http.StatusServiceUnavailable)
	}))
	defer down.Close()
	hook, err := webhook.Create(bg, e.DB, "user:alice", webhook.Fields{URL: down.URL + "/hooks/vend", Description: "CRM",
		Events: []string{"order.paid", "access.revoked", "access.restored"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Ledger.ChangeGrantWith(bg, "user:alice", g.ID, ledger.GrantRevoke, ledger.GrantChange{}); err != nil {
		t.Fatal(err)
	}
	if _, err := (&webhook.Dispatcher{AllowPrivate: true, DB: e.DB}).RunOnce(bg); err != nil {
		t.Fatal(err)
	}
	samples := map[string]string{ // a record for each kind of {id}
		"webhooks":      strconv.FormatInt(hook.ID, 10),
		"deliveries":    "1",
		"orders":        strconv.FormatInt(o.ID, 10),
		"products":      "EBOOK-001",
		"notifications": strconv.FormatInt(e.LastNotification().ID, 10),
		"releases":      strconv.FormatInt(rel.ID, 10),
		"mailbox":       kept[0].ID,
		"licenses":      strconv.FormatInt(keyID, 10),
	}
	var pages []string
	_, admin := e.Server.routes()
	for _, r := range admin {
		path, ok := strings.CutPrefix(r.pattern, "GET ")
		if !ok || !strings.HasPrefix(path, "/admin") || strings.HasSuffix(path, ".csv") || strings.HasSuffix(path, ".zip") ||
			strings.HasSuffix(path, "/raw") { // exports, evidence packs and .eml are files
			continue
		}
		parts := strings.Split(path, "/")
		for i, part := range parts {
			if strings.HasPrefix(part, "{") {
				id, ok := samples[parts[i-1]]
				if !ok {
					t.Fatalf("%s: no sample record for %s: add one to samples", r.pattern, parts[i-1])
				}
				parts[i] = id
			}
		}
		pages = append(pages, strings.Join(parts, "/"))
	}

	base := e.HTTP.URL
	do(t, ctx, "open the admin", chromedp.Navigate(base+"/admin"), chromedp.WaitVisible(chromedp.CSS("#name")))
	navigating(t, ctx, "sign in",
		chromedp.SendKeys(chromedp.CSS("#name"), "alice"),
		chromedp.SendKeys(chromedp.CSS("#password"), adminPW),
		chromedp.Submit(chromedp.CSS("#password")),
	)
	// What sticks out of the screen: the page itself, or a control that only
	// a sideways scroll (of the page or of a box inside it) would reach.
	const measure = `(() => {
		const w = window.innerWidth, out = [];
		for (const el of document.querySelectorAll("main button, main input, main select, main a.btn, main svg")) {
			const r = el.getBoundingClientRect();
			if (r.width > 0 && (r.right > w + 0.5 || r.left < -0.5)) out.push(el.outerHTML.slice(0, 80));
		}
		return {admin: !!document.querySelector("nav[aria-label=Admin]"), width: document.documentElement.scrollWidth, out: out};
	})()`
	type fit struct {
		Admin bool     `json:"admin"`
		Width int      `json:"width"`
		Out   []string `json:"out"`
	}
	phoneShots := map[string]string{"/admin": "admin-dashboard-phone.png", "/admin/orders/" + samples["orders"]: "admin-order-phone.png"}
	shots := map[string][]byte{}
	for _, width := range []int64{phoneWidth, 1280} {
		do(t, ctx, "resize", chromedp.EmulateViewport(width, 900))
		for _, path := range pages {
			do(t, ctx, path, chromedp.Navigate(base+path), chromedp.WaitReady(chromedp.CSS("main")))
			got := run(t, ctx, path, chromedp.Evaluate[fit](measure))
			if !got.Admin {
				t.Errorf("%d px, %s: not an admin page (an error?)", width, path)
			}
			if got.Width > int(width) {
				t.Errorf("%d px, %s: the page is %d px wide", width, path, got.Width)
			}
			for _, el := range got.Out {
				t.Errorf("%d px, %s: off-screen: %s", width, path, el)
			}
			if path == "/admin" { // the shop's state at a glance, readable at either width
				text := run(t, ctx, "dashboard text", chromedp.Evaluate[string](`document.querySelector("main").innerText`))
				for _, want := range []string{"Getting started", "Set up mail", "Refused messages to look at", "Grant anyway",
					"Dismiss", "leave test orders", "Count them"} {
					if !strings.Contains(text, want) {
						t.Errorf("%d px, the dashboard does not show %q", width, want)
					}
				}
			}
			if name, ok := phoneShots[path]; ok && width == phoneWidth {
				shots[name] = run(t, ctx, "screenshot", chromedp.FullScreenshot(100))
			}
		}
	}
	if !*update {
		return
	}
	for name, shot := range shots {
		if err := os.WriteFile(filepath.Join("..", "docs", name), shot, 0o644); err != nil {
			t.Errorf("save %s: %v", name, err)
		}
	}
}
