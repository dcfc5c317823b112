package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/delivery"
	"github.com/vend-shop/vend/store"
)

func TestReturnPage(t *testing.T) {
	t.Parallel()
	p1, p2, p3, p4, p5 := sample(t, "p1"), sample(t, "p2"), sample(t, "p3"), sample(t, "p4"), sample(t, "p5")
	tests := []struct {
		name    string
		steps   [][]byte
		after   time.Duration // how long after the last step the buyer returns
		post    bool          // rm=2: the query comes as a POST form
		query   []string
		status  int
		says    string
		refresh bool
		links   int // download pages linked; each must work
	}{
		{name: "no parameters: 400", status: 400, says: "This page shows your order after you pay."},
		{name: "only st and amt: 400", query: []string{"st", "Completed", "amt", "19.95"}, status: 400,
			says: "This page shows your order after you pay."},
		{name: "tx not known yet: waiting for PayPal", query: []string{"tx", p1Txn}, status: 200,
			says: "Waiting for PayPal", refresh: true},
		{name: "cm not known yet: waiting for PayPal", query: []string{"cm", "ord_7f3a9c"}, status: 200,
			says: "Waiting for PayPal", refresh: true},
		{name: "only the refund arrived yet: waiting for PayPal", steps: [][]byte{p4}, query: []string{"tx", p1Txn},
			status: 200, says: "Waiting for PayPal", refresh: true},
		{name: "pending eCheck: why, and refresh", steps: [][]byte{p3}, query: []string{"tx", p3Txn}, status: 200,
			says: "The payment was made by eCheck (from a bank account)", refresh: true},
		{name: "pending payment review: why, and refresh", steps: [][]byte{edit(p3, "pending_reason", "paymentreview")},
			query: []string{"tx", p3Txn}, status: 200, says: "The payment provider is reviewing the payment", refresh: true},
		{name: "pending for a reason vend has no words for", steps: [][]byte{edit(p3, "pending_reason", "other")},
			query: []string{"tx", p3Txn}, status: 200, says: "The payment provider has not completed the payment yet", refresh: true},
		{name: "paid, by tx (PDT): link to the download page", steps: [][]byte{p1}, query: []string{"tx", p1Txn, "st", "Completed"},
			status: 200, says: "Your payment is complete", links: 1},
		{name: "paid, by txn_id: link to the download page", steps: [][]byte{p1}, query: []string{"txn_id", p1Txn},
			status: 200, says: "Your payment is complete", links: 1},
		{name: "paid, by cm only: status without links (custom is no secret)", steps: [][]byte{p1}, query: []string{"cm", "ord_7f3a9c"},
			status: 200, says: "Please use the download link you were sent by email", links: 0},
		{name: "paid, by custom only: status without links", steps: [][]byte{p1}, query: []string{"custom", "ord_7f3a9c"},
			status: 200, says: "Please use the download link you were sent by email", links: 0},
		{name: "paid, returned by POST (rm=2): link to the download page", steps: [][]byte{p1}, post: true,
			query:  []string{"txn_id", p1Txn, "payment_status", "Completed", "custom", "ord_7f3a9c", "first_name", "Jörg"},
			status: 200, says: "Your payment is complete", links: 1},
		{name: "paid cart: a link per product", steps: [][]byte{p2}, query: []string{"tx", p2Txn}, status: 200,
			says: "Your payment is complete", links: 2},
		{name: "paid days ago: no links any more", steps: [][]byte{p1}, after: DefaultReturnWindow + time.Hour,
			query: []string{"tx", p1Txn}, status: 200, says: "Please use the download link you were sent by email"},
		{name: "refunded: access ended", steps: [][]byte{p1, p4}, query: []string{"tx", p1Txn}, status: 200,
			says: "This order was refunded, so its downloads have ended."},
		{name: "refunded, by the refund's own txn_id", steps: [][]byte{p1, p4}, query: []string{"tx", p4Txn}, status: 200,
			says: "This order was refunded"},
		{name: "reversed: access ended", steps: [][]byte{p1, p5}, query: []string{"tx", p1Txn}, status: 200,
			says: "The payment for this order was reversed, so its downloads have ended."},
		{name: "failed: nothing was charged for the downloads", steps: [][]byte{p3, p3Then(t, "Denied")},
			query: []string{"tx", p3Txn}, status: 200, says: "PayPal could not complete this payment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newTestEnv(t)
			for _, body := range tt.steps {
				env.MustPostIPN(body)
			}
			env.Clock.Add(tt.after)
			var page answer
			if tt.post {
				form := url.Values{}
				for i := 0; i+1 < len(tt.query); i += 2 {
					form.Set(tt.query[i], tt.query[i+1])
				}
				req, err := http.NewRequest(http.MethodPost, env.HTTP.URL+"/return", strings.NewReader(form.Encode()))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				page = env.do(req)
			} else {
				page = env.Get(returnPath(tt.query...))
			}
			if page.Status != tt.status || !strings.Contains(page.Body, tt.says) {
				t.Fatalf("answered %d, want %d saying %q:\n%s", page.Status, tt.status, tt.says, page.Body)
			}
			if hasRefresh(page.Body) != tt.refresh {
				t.Errorf("refreshes itself: %v, want %v", hasRefresh(page.Body), tt.refresh)
			}
			hrefs := links(page.Body, "/d/")
			if len(hrefs) != tt.links {
				t.Fatalf("links %v, want %d download pages", hrefs, tt.links)
			}
			for _, h := range hrefs {
				dl := env.Get(h)
				files := links(dl.Body, "/d/")
				if dl.Status != http.StatusOK || len(files) != 1 {
					t.Fatalf("download page %s: %d with file links %v", h, dl.Status, files)
				}
				if f := env.Get(files[0]); f.Status != http.StatusOK || f.Body == "" {
					t.Errorf("file %s: %d", files[0], f.Status)
				}
			}
		})
	}
}

func TestReturnPage_SharedCustom(t *testing.T) {
	t.Parallel()
	// A Buy Now button written once into a web page carries the same custom
	// value for every buyer, and anyone can read it in the page's source. The
	// return page must not hand one buyer's downloads to whoever types that
	// value: ?cm= alone cannot tell the buyers apart.
	env := newTestEnv(t)
	env.PayPal.Answer(answerDemo)
	for _, txn := range []string{"SIMPAY00000000001", "SIMPAY00000000002"} {
		s := ebookSim("Completed", txn)
		s.Custom = "button-7"
		env.MustPostIPN(simBody(s))
	}
	page := env.Get(returnPath("cm", "button-7"))
	if hrefs := links(page.Body, "/d/"); len(hrefs) != 0 {
		t.Errorf("/return?cm=button-7 links %v: a stranger who read the button gets the newest buyer's downloads", hrefs)
	}
	// The buyer's own return carries PayPal's tx and still shows the links.
	if hrefs := links(env.Get(returnPath("tx", "SIMPAY00000000001", "cm", "button-7")).Body, "/d/"); len(hrefs) != 1 {
		t.Errorf("return with the buyer's own tx links %v, want their download page", hrefs)
	}
}

func TestDownloadPage(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	env.MustPostIPN(sample(t, "p2"))
	o := env.Order(p2Txn)
	if o == nil || len(o.Grants) != 2 {
		t.Fatalf("order %+v, want two grants", o)
	}

	t.Run("shows the file, its size and SHA-256, downloads left and expiry", func(t *testing.T) {
		audio := o.grant("AUDIO-002")
		page := env.Get(env.PagePath(audio))
		var f *vend.File
		env.view(func(ctx context.Context, tx store.Tx) error {
			p, err := tx.FindProductByID(ctx, "AUDIO-002")
			if err == nil {
				f = p.Files[0]
			}
			return err
		})
		for _, want := range []string{"<title>Audio Course · vend</title>", "Download audio course.mp3", "33 kB", f.SHA256,
			"Downloads left: 3 of 3", "Available until April 2, 2025, 18:15 UTC", "Thank you for your purchase, Test Buyer"} {
			if !strings.Contains(page.Body, want) {
				t.Errorf("download page does not show %q:\n%s", want, page.Body)
			}
		}
		if hrefs := links(page.Body, "/d/"); len(hrefs) != 1 || !strings.HasSuffix(hrefs[0], "/audio%20course.mp3") {
			t.Errorf("file links %v, want one ending in the escaped file name", hrefs)
		}
		if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("Content-Security-Policy %q", csp)
		}
		if !strings.Contains(env.Get(env.PagePath(o.grant("EBOOK-001"))).Body, "No expiry.") {
			t.Errorf("the e-book's page does not say it never expires")
		}
	})

	t.Run("opening the page never counts", func(t *testing.T) {
		g := o.grant("EBOOK-001")
		for range 5 {
			if p := env.Get(env.PagePath(g)); p.Status != http.StatusOK {
				t.Fatalf("download page: %d", p.Status)
			}
			env.Head(env.FilePath(g))
		}
		env.Flush()
		if used := env.Grant(g.ID).DownloadsUsed; used != 0 {
			t.Errorf("%d downloads used by looking at the page and HEAD requests", used)
		}
	})

	t.Run("file name and type for the browser", func(t *testing.T) {
		file := env.Get(env.FilePath(o.grant("AUDIO-002")))
		_, content := productFile("AUDIO-002")
		if file.Status != http.StatusOK || file.Body != string(content) {
			t.Fatalf("file: %d with %d bytes", file.Status, len(file.Body))
		}
		if cd := file.Header.Get("Content-Disposition"); cd != `attachment; filename="audio course.mp3"` {
			t.Errorf("Content-Disposition %q", cd)
		}
	})

	t.Run("the buyer's windows-1252 name is shown in UTF-8", func(t *testing.T) {
		env := newTestEnv(t)
		env.MustPostIPN(sample(t, "p1")) // first_name=J%F6rg, last_name=M%FCller
		page := env.Get(env.PagePath(env.Order(p1Txn).grant("EBOOK-001")))
		if !strings.Contains(page.Body, "Thank you for your purchase, Jörg Müller.") {
			t.Errorf("download page does not greet Jörg Müller:\n%s", page.Body)
		}
	})

	t.Run("links that are not vend's are not found", func(t *testing.T) {
		g := o.grant("EBOOK-001")
		token := env.Delivery.Token(g.PublicID)
		forged := g.PublicID + strings.Repeat("A", len(token)-len(g.PublicID))
		for _, path := range []string{"/d/nonsense", "/d/" + forged, "/d/" + token[:len(token)-1],
			"/d/" + forged + "/1/go-patterns.pdf", "/d/" + token + "/999999/go-patterns.pdf", "/d/" + token + "/x/go-patterns.pdf"} {
			if p := env.Get(path); p.Status != http.StatusNotFound {
				t.Errorf("GET %s: %d, want 404", path, p.Status)
			}
		}
	})
}

func TestDownloadPage_EscapesBuyerText(t *testing.T) {
	t.Parallel()
	const script, img = `<script>alert(1)</script>`, `"><img src=x onerror=alert(1)>`
	sim := ebookSim("Completed", "SIMPAY00000000001")
	sim.FirstName, sim.LastName = script, img
	tests := []struct {
		name   string
		answer http.Handler
		body   []byte
		ref    string
	}{
		{"simulator message", answerDemo, simBody(sim), "SIMPAY00000000001"},
		{"PayPal message", answerWord("VERIFIED"),
			edit(sample(t, "p1"), "first_name", url.QueryEscape(script), "last_name", url.QueryEscape(img)), p1Txn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newTestEnv(t)
			env.PayPal.Answer(tt.answer)
			env.MustPostIPN(tt.body)
			o := env.Order(tt.ref)
			if o == nil || len(o.Grants) != 1 || o.Buyer.Name != script+" "+img {
				t.Fatalf("order %+v, want one grant and the name as typed", o)
			}
			page := env.Get(env.PagePath(o.Grants[0]))
			for _, raw := range []string{"<script>alert", "<img src=x", `"><img`} {
				if strings.Contains(page.Body, raw) {
					t.Errorf("download page carries %q unescaped:\n%s", raw, page.Body)
				}
			}
			for _, escaped := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;img src=x onerror=alert(1)&gt;"} {
				if !strings.Contains(page.Body, escaped) {
					t.Errorf("download page does not show the name escaped (%q):\n%s", escaped, page.Body)
				}
			}
		})
	}

	t.Run("nothing from the URL is reflected", func(t *testing.T) {
		t.Parallel()
		env := newTestEnv(t)
		for _, path := range []string{returnPath("tx", script), returnPath("cm", img), "/d/" + url.PathEscape(script),
			"/cgi-bin/download.cgi?action=get_file&id=" + url.QueryEscape(script) + "&txn_id=" + url.QueryEscape(img)} {
			page := env.Get(path)
			if strings.Contains(page.Body, "<script>alert") || strings.Contains(page.Body, "<img src=x") {
				t.Errorf("GET %s reflects the input unescaped:\n%s", path, page.Body)
			}
		}
	})
}

func TestLegacyLink(t *testing.T) {
	t.Parallel()
	legacy := func(product, txn string) string {
		return "/cgi-bin/download.cgi?" + url.Values{"action": {"get_file"}, "id": {product}, "txn_id": {txn}}.Encode()
	}
	p1, p2, p3, p4 := sample(t, "p1"), sample(t, "p2"), sample(t, "p3"), sample(t, "p4")
	tests := []struct {
		name   string
		opts   []envOption
		steps  [][]byte
		path   string
		status int
		file   string // product whose file must come back
	}{
		{name: "serves the file of a completed purchase", steps: [][]byte{p1}, path: legacy("EBOOK-001", p1Txn),
			status: 200, file: "EBOOK-001"},
		{name: "serves each product of a cart", steps: [][]byte{p2}, path: legacy("AUDIO-002", p2Txn),
			status: 200, file: "AUDIO-002"},
		{name: "refused after a refund", steps: [][]byte{p1, p4}, path: legacy("EBOOK-001", p1Txn), status: 410},
		{name: "pending payment has nothing to serve", steps: [][]byte{p3}, path: legacy("EBOOK-001", p3Txn), status: 404},
		{name: "unknown txn_id", steps: [][]byte{p1}, path: legacy("EBOOK-001", "0000000000NOPE000"), status: 404},
		{name: "unknown product", steps: [][]byte{p1}, path: legacy("NOPE-404", p1Txn), status: 404},
		{name: "product not in this order", steps: [][]byte{p1}, path: legacy("AUDIO-002", p1Txn), status: 404},
		{name: "incomplete link", steps: [][]byte{p1}, path: "/cgi-bin/download.cgi?action=get_file&id=EBOOK-001", status: 400},
		{name: "another action", steps: [][]byte{p1}, path: "/cgi-bin/download.cgi?action=list&id=EBOOK-001&txn_id=" + p1Txn,
			status: 400},
		{name: "switched off", opts: []envOption{noLegacyLinks}, steps: [][]byte{p1}, path: legacy("EBOOK-001", p1Txn),
			status: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newTestEnv(t, tt.opts...)
			for _, body := range tt.steps {
				env.MustPostIPN(body)
			}
			got := env.Get(tt.path)
			if got.Status != tt.status {
				t.Fatalf("GET %s: %d %q, want %d", tt.path, got.Status, got.Body, tt.status)
			}
			if tt.file == "" {
				return
			}
			name, content := productFile(tt.file)
			if got.Body != string(content) || !strings.Contains(got.Header.Get("Content-Disposition"), name) {
				t.Errorf("served %d bytes as %q, want %s", len(got.Body), got.Header.Get("Content-Disposition"), name)
			}
		})
	}

	t.Run("counts against the same limit as the download page", func(t *testing.T) {
		t.Parallel()
		env := newTestEnv(t)
		env.MustPostIPN(p1)
		g := env.Order(p1Txn).grant("EBOOK-001")
		paths := []string{env.FilePath(g), legacy("EBOOK-001", p1Txn), legacy("EBOOK-001", p1Txn)}
		for i, path := range paths {
			if got := env.Get(path); got.Status != http.StatusOK {
				t.Fatalf("download %d (%s): %d", i+1, path, got.Status)
			}
			if got := env.Head(legacy("EBOOK-001", p1Txn)); got.Status != http.StatusOK {
				t.Fatalf("HEAD: %d", got.Status)
			}
			env.Flush()
			// A new download session: the last one went quiet long ago.
			env.Clock.Add(delivery.DefaultSessionTimeout + time.Minute)
		}
		if used := env.Grant(g.ID).DownloadsUsed; used != 3 {
			t.Errorf("%d downloads used, want 3", used)
		}
		for _, path := range []string{legacy("EBOOK-001", p1Txn), env.FilePath(g)} {
			if got := env.Get(path); got.Status != http.StatusForbidden {
				t.Errorf("fourth download by %s: %d, want 403", path, got.Status)
			}
		}
		if page := env.Get(env.PagePath(g)); !strings.Contains(page.Body, "You have used all downloads") {
			t.Errorf("download page does not say the downloads are used up:\n%s", page.Body)
		}
		env.Flush()
		var attempts []*vend.Attempt
		env.view(func(ctx context.Context, tx store.Tx) (err error) {
			attempts, err = tx.FindAttempts(ctx, store.AttemptFilter{GrantID: &g.ID})
			return err
		})
		counted := 0
		var methods []string
		for _, a := range attempts {
			if a.Counted {
				counted++
			}
			methods = append(methods, a.Method)
		}
		if counted != 3 || len(attempts) != 8 {
			t.Errorf("%d attempts (%v), %d counted; want 8 (3 GET, 3 HEAD, 2 refused), 3 counted", len(attempts), methods, counted)
		}
		if !slices.Contains(methods, http.MethodHead) {
			t.Errorf("HEAD requests were not logged as attempts")
		}
	})
}

func TestReturnPage_EcheckClearedDaysLater(t *testing.T) {
	t.Parallel()
	// The window for links runs from when access began, not from the order: an
	// eCheck that clears after six days still shows its links on the return page.
	env := newTestEnv(t)
	env.MustPostIPN(sample(t, "p3"))
	env.Clock.Add(6 * 24 * time.Hour)
	env.MustPostIPN(p3Then(t, "Completed"))
	page := env.Get(returnPath("tx", p3Txn))
	if hrefs := links(page.Body, "/d/"); page.Status != 200 || len(hrefs) != 1 || !strings.Contains(page.Body, "Download E-Book Go Patterns") {
		t.Fatalf("answered %d with links %v, want one named download link:\n%s", page.Status, hrefs, page.Body)
	}
}
