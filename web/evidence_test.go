package web

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/mailer"
	"github.com/vend-shop/vend/store"
)

// evidenceFiles reads an evidence pack: its files by name, without the
// folder they are in.
func evidenceFiles(t *testing.T, body string) map[string]string {
	t.Helper()
	z, err := zip.NewReader(strings.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatalf("not a ZIP: %v", err)
	}
	files := map[string]string{}
	for _, f := range z.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		files[filepath.Base(f.Name)] = string(b)
	}
	return files
}

func csvRows(t *testing.T, s string) []map[string]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(s)).ReadAll()
	if err != nil || len(recs) == 0 {
		t.Fatalf("bad CSV (%v):\n%s", err, s)
	}
	var out []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

// TestEvidencePack: a buyer under the shop's terms pays, gets the receipt,
// opens the download page, downloads the e-book in two pieces (a resumed
// download) and activates its licence key. The evidence pack from the admin
// lists the receipt with its Message-ID, the visit, both requests with their
// ranges and the file's SHA-256, the one completed download, the
// activation and the terms version; the access log says the same in
// Stripe's shape, and the API answers the same pack.
func TestEvidencePack(t *testing.T) {
	t.Parallel()
	e, cookie := adminEnv(t)
	withLicensedEbook(t, e)
	e.Server.Ledger.Mail, e.Server.Ledger.TermsVersion = true, "2026-11"
	e.Server.Shop.TermsURL = "https://shop.example.com/terms"
	sim := ebookSim("Completed", "EVIDENCE00000001")
	sim.FirstName, sim.LastName = "Jörg", `<b>Müller</b>`
	e.MustPostIPN(simBody(sim))
	o := e.Order("EVIDENCE00000001")
	g := o.grant("EBOOK-001")

	// The receipt goes out through the real worker, into the mailbox.
	templates, err := mailer.Load("")
	if err != nil {
		t.Fatal(err)
	}
	w := &mailer.Worker{DB: e.DB, Sender: mailer.NewMailbox(filepath.Join(t.TempDir(), "mailbox")), Templates: templates,
		From: "shop@example.com", BaseURL: e.Server.BaseURL, Now: e.Clock.Now, PageURL: e.Delivery.PagePath}
	if n, err := w.RunOnce(context.Background()); err != nil || n == 0 {
		t.Fatalf("mail: %d %v", n, err)
	}

	page := e.getWith(e.PagePath(g), "User-Agent", "Mozilla/5.0 (buyer's laptop)")
	if page.Status != http.StatusOK {
		t.Fatalf("download page: %d", page.Status)
	}
	key := keyOnPage.FindStringSubmatch(page.Body)[1]
	file := e.FilePath(g)
	first := e.getWith(file, "Range", "bytes=0-9", "User-Agent", "aria2/1.37")
	rest := e.getWith(file, "Range", "bytes=10-", "User-Agent", "aria2/1.37")
	if first.Status != http.StatusPartialContent || rest.Status != http.StatusPartialContent {
		t.Fatalf("the two pieces: %d %d", first.Status, rest.Status)
	}
	if act := e.licenseCall("activate", false, "license_key", key, "instance_name", "Jörg's laptop"); !act.ok(act.Activated) {
		t.Fatalf("activate: %s", act.raw)
	}
	e.Flush()

	a := e.adminRequest(http.MethodGet, fmt.Sprintf("/admin/orders/%d/evidence.zip", o.ID), cookie, nil, nil)
	if a.Status != http.StatusOK || a.Header.Get("Content-Type") != "application/zip" ||
		a.Header.Get("Content-Disposition") != fmt.Sprintf(`attachment; filename="evidence-order-%d.zip"`, o.ID) {
		t.Fatalf("evidence.zip: %d %v", a.Status, a.Header)
	}
	files := evidenceFiles(t, a.Body)
	for _, name := range []string{"summary.html", "order.csv", "notifications.csv", "mails.csv", "page_visits.csv",
		"download_attempts.csv", "license_activations.csv", "access_activity_log.txt"} {
		if _, ok := files[name]; !ok {
			t.Errorf("the pack lacks %s", name)
		}
	}
	var sha string
	e.view(func(ctx context.Context, tx store.Tx) error {
		p, err := tx.FindProductByID(ctx, "EBOOK-001")
		sha = p.Files[0].SHA256
		return err
	})

	attempts := csvRows(t, files["download_attempts.csv"])
	if len(attempts) != 2 {
		t.Fatalf("%d attempts, want both pieces:\n%s", len(attempts), files["download_attempts.csv"])
	}
	for i, want := range []struct{ rng, counted string }{{"bytes=0-9", "true"}, {"bytes=10-", "false"}} {
		r := attempts[i]
		if r["range"] != want.rng || r["counted"] != want.counted || r["file_sha256"] != sha || r["status"] != "206" ||
			r["session_completed"] != "true" || r["ip"] != "127.0.0.1" || r["user_agent"] != "aria2/1.37" || r["session_id"] != attempts[0]["session_id"] {
			t.Errorf("attempt %d: %v", i, r)
		}
	}
	visits := csvRows(t, files["page_visits.csv"])
	if len(visits) != 1 || visits[0]["user_agent"] != "Mozilla/5.0 (buyer's laptop)" || visits[0]["product_id"] != "EBOOK-001" {
		t.Errorf("visits: %v", visits)
	}
	mails := csvRows(t, files["mails.csv"])
	if len(mails) == 0 || mails[0]["kind"] != "receipt" || mails[0]["status"] != "sent" || !strings.HasPrefix(mails[0]["message_id"], "<") ||
		mails[0]["to"] != "sim@example.com" {
		t.Errorf("mails: %v", mails)
	}
	order := csvRows(t, files["order.csv"])
	if len(order) != 1 || order[0]["terms_version"] != "2026-11" || order[0]["buyer_name"] != "Jörg <b>Müller</b>" || order[0]["total"] != "19.95" {
		t.Errorf("order: %v", order)
	}
	// The provider's message is in the pack byte for byte: its SHA-256 is
	// the one vend recorded when it arrived.
	notes := csvRows(t, files["notifications.csv"])
	if len(notes) != 1 || notes[0]["verdict"] != string(vend.VerdictApplied) || !strings.HasPrefix(notes[0]["body_file"], "notifications/") {
		t.Fatalf("notifications: %v", notes)
	}
	body := files[filepath.Base(notes[0]["body_file"])]
	if sum := sha256.Sum256([]byte(body)); hex.EncodeToString(sum[:]) != notes[0]["body_sha256"] || !strings.Contains(body, "txn_id=EVIDENCE00000001") {
		t.Errorf("the message's body does not match its SHA-256: %q", body)
	}
	// A licence key is shown to be recognized, not to be used.
	acts := csvRows(t, files["license_activations.csv"])
	masked := key[:5] + "…" + key[len(key)-4:]
	if len(acts) != 1 || acts[0]["license_key"] != masked || acts[0]["instance_name"] != "Jörg's laptop" {
		t.Errorf("activations: %v", acts)
	}
	for name, f := range files {
		if strings.Contains(f, key) {
			t.Errorf("%s holds the whole licence key", name)
		}
	}

	summary := files["summary.html"]
	for _, want := range []string{"Jörg &lt;b&gt;Müller&lt;/b&gt;", "<dt>Completed downloads</dt><dd>1</dd>", "version 2026-11",
		"https://shop.example.com/terms", mails[0]["message_id"][1 : len(mails[0]["message_id"])-1], "range bytes=10-", sha} {
		if !strings.Contains(summary, want) {
			t.Errorf("the summary lacks %q", want)
		}
	}
	if strings.Contains(summary, "<b>Müller") {
		t.Error("the summary shows the buyer's markup unescaped")
	}
	log := files["access_activity_log.txt"]
	lines := strings.Split(strings.TrimSpace(log), "\n")
	if len(lines) != 5 || !strings.Contains(lines[1], "download page of EBOOK-001 viewed  IP 127.0.0.1  Mozilla/5.0") ||
		!strings.Contains(lines[2], "range bytes=0-9") || !strings.Contains(lines[3], "range bytes=10-, download complete") ||
		!strings.Contains(lines[4], "activated on \"Jörg's laptop\"") {
		t.Errorf("access log:\n%s", log)
	}

	api := newAPIClient(e).call(http.MethodGet, fmt.Sprintf("/api/v1/orders/%d/evidence.zip", o.ID), "")
	if api.Status != http.StatusOK || len(evidenceFiles(t, api.Body)) != 9 {
		t.Errorf("API evidence.zip: %d", api.Status)
	}
	newAPIClient(e).wantError(http.MethodGet, "/api/v1/orders/99999/evidence.zip", "", http.StatusNotFound, "not_found")
	if order := e.mustAdminGet(cookie, fmt.Sprintf("/admin/orders/%d", o.ID)); !strings.Contains(order, fmt.Sprintf(`href="/admin/orders/%d/evidence.zip"`, o.ID)) {
		t.Error("the order's page does not link its evidence pack")
	}
}

// getWith GETs path with headers given as name, value pairs.
func (e *testEnv) getWith(path string, hdr ...string) answer {
	e.tb.Helper()
	req, err := http.NewRequest(http.MethodGet, e.HTTP.URL+path, nil)
	if err != nil {
		e.tb.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return e.do(req)
}

// TestBrowser_EvidenceSummary: the pack's summary page reads on a phone (no
// sideways scroll at 390 px) and prints: Chromium's "Save as PDF" of it is a
// PDF, which is how a seller makes the PDF a dispute form takes.
func TestBrowser_EvidenceSummary(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	e, cookie := adminEnv(t)
	o := e.Order("EVIL0000000000001")
	g := o.grant("EBOOK-001")
	e.getWith(e.PagePath(g), "User-Agent", strings.Repeat("VeryLongUserAgentWithoutSpaces", 8))
	e.Get(e.FilePath(g))
	e.Flush()
	a := e.adminRequest(http.MethodGet, fmt.Sprintf("/admin/orders/%d/evidence.zip", o.ID), cookie, nil, nil)
	summary := evidenceFiles(t, a.Body)["summary.html"]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, summary) }))
	defer srv.Close()
	do(t, ctx, "resize", chromedp.EmulateViewport(phoneWidth, 800))
	do(t, ctx, "open the summary", chromedp.Navigate(srv.URL), chromedp.WaitReady(chromedp.CSS("table")))
	if w := run(t, ctx, "measure", chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > phoneWidth {
		t.Errorf("at %d px the summary is %d px wide", phoneWidth, w)
	}
	if alert := run(t, ctx, "markup", chromedp.Evaluate[int](`document.querySelectorAll("script, img").length`)); alert != 0 {
		t.Errorf("the buyer's markup became %d elements", alert)
	}
	var pdf []byte
	do(t, ctx, "print", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		res, err := cdp.Call(ctx, tg, page.PrintToPDF, page.PrintToPDFParams{PaperWidth: 8.27, PaperHeight: 11.69})
		pdf = res.Data
		return err
	}))
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) || len(pdf) < 1000 {
		t.Errorf("printing gave %d bytes starting %q", len(pdf), pdf[:min(len(pdf), 8)])
	}
}
