package web

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/blob/local"
	"github.com/vend-shop/vend/catalog"
	"github.com/vend-shop/vend/delivery"
	"github.com/vend-shop/vend/intake"
	"github.com/vend-shop/vend/internal/servicetest"
	"github.com/vend-shop/vend/internal/testclock"
	"github.com/vend-shop/vend/ledger"
	"github.com/vend-shop/vend/license"
	"github.com/vend-shop/vend/provider/digistore24"
	"github.com/vend-shop/vend/provider/generic"
	"github.com/vend-shop/vend/provider/paypal"
	"github.com/vend-shop/vend/provider/stripe"
	"github.com/vend-shop/vend/provider/websale"
	"github.com/vend-shop/vend/store"
	"github.com/vend-shop/vend/store/sqlite"
	"github.com/vend-shop/vend/store/sqlite/sqlitetest"
)

// The seller of the synthetic samples P1–P6 (protocols.md §1.9).
const (
	sellerEmail = "seller@example.com"
	sellerID    = "S8XGHLYDW9T3S"
)

// Transaction ids of the samples.
const (
	p0Txn = "61E67681CH3238416"
	p1Txn = "4TK12345AB6789012"
	p2Txn = "7JX99887CD1122334"
	p3Txn = "9PL55555EF0000001"
	p4Txn = "1RF00000GH0000002"
	p5Txn = "2RV00000JK0000003"
	p6Txn = "3CR00000LM0000004"
)

// Secrets of the further providers (the vectors' own where protocols.md has one).
const (
	ds24Passphrase  = "s3cret-passphrase"
	stripeSecret    = "whsec_test_secret_0123456789abcdef"
	genericSecret   = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	websalePassword = "test-password-websale-0123456789"
)

// websaleSettings are those of vector W-C (protocols.md §3.4).
var websaleSettings = websale.Settings{KDF: websale.KDFSHA256, Mode: websale.ModeCBCIVPrefix, Padding: websale.PaddingPKCS7}

func newTestWebsale(tb testing.TB) *websale.Intake {
	dec, err := websale.NewDecoder(websalePassword, websaleSettings)
	if err != nil {
		tb.Fatal(err)
	}
	return &websale.Intake{Decoder: dec, Password: websalePassword, Config: websale.Config{ShopID: "myshop", SubshopID: "1",
		MaxAge: 30 * 24 * time.Hour, Products: map[string]string{"1234567890": "EBOOK-001"},
		// The web tests are about the route; which first links make an order
		// (imported items, or any with first_click) is intake's (link_test.go).
		FirstClick: true,
		// They read English pages; TestWebsale_German has the default, German.
		Language: "en"}}
}

// The providers of a test server, for options to adjust before Init.
func paypalOf(s *Server) *paypal.Intake    { return providerOf[*paypal.Intake](s) }
func ds24Of(s *Server) *digistore24.Intake { return providerOf[*digistore24.Intake](s) }
func stripeOf(s *Server) *stripe.Intake    { return providerOf[*stripe.Intake](s) }
func genericOf(s *Server) *generic.Intake  { return providerOf[*generic.Intake](s) }
func websaleOf(s *Server) *websale.Intake  { return providerOf[*websale.Intake](s) }

func providerOf[P vend.Provider](s *Server) P {
	for _, p := range s.Intake.Providers {
		if p, ok := p.(P); ok {
			return p
		}
	}
	panic("no such provider")
}

// simSecret signs the simulator's messages; the demo verifier checks it.
var simSecret = []byte("web-test-simulator-secret")

// linkSecret signs download links.
var linkSecret = []byte("web-test-link-secret-0123456789ab")

// testProduct is one product of the test catalog with its one file.
type testProduct struct {
	vend.Product
	FileName string
	Content  []byte
}

// catalogProducts match the samples: P1, P3–P6 buy EBOOK-001, P2 buys both.
var catalogProducts = []testProduct{
	{
		Product: vend.Product{ID: "EBOOK-001", Name: "E-Book Go Patterns", Price: 1995, Currency: "USD",
			DownloadLimit: 3, Lifetime: vend.Forever},
		FileName: "go-patterns.pdf",
		Content:  bytes.Repeat([]byte("%PDF-1.4 Go Patterns: small interfaces, declared by their user.\n"), 200),
	},
	{
		Product: vend.Product{ID: "AUDIO-002", Name: "Audio Course", Price: 990, Currency: "USD",
			DownloadLimit: 3, Lifetime: 30 * 24 * time.Hour},
		FileName: "audio course.mp3",
		Content:  bytes.Repeat([]byte{0xFF, 0xFB, 0x90, 0x64, 0x00, 0x01, 0x02, 0x03}, 4096),
	},
	// Upsells of the Digistore24 tests' multi-item order (main product EBOOK-001).
	{
		Product: vend.Product{ID: "VIDEO-003", Name: "Video Workshop", Price: 2900, Currency: "USD",
			DownloadLimit: 3, Lifetime: vend.Forever},
		FileName: "workshop.mp4",
		Content:  bytes.Repeat([]byte{0x00, 0x00, 0x00, 0x18, 'f', 't', 'y', 'p', 'm', 'p', '4', '2'}, 1024),
	},
	{
		Product: vend.Product{ID: "CHEAT-004", Name: "Cheat Sheet", Price: 500, Currency: "USD",
			DownloadLimit: 3, Lifetime: vend.Forever},
		FileName: "cheat-sheet.txt",
		Content:  bytes.Repeat([]byte("Accept interfaces, return structs.\n"), 100),
	},
}

// testEnv is a whole vend behind real HTTP: SQLite in a temp dir, local file
// storage, the catalog above, a fake PayPal postback endpoint and the web.Server.
type testEnv struct {
	tb       testing.TB
	DB       *sqlite.DB
	Blobs    *local.Store
	Ledger   *ledger.Ledger
	Delivery *delivery.Service
	Server   *Server
	HTTP     *httptest.Server
	PayPal   *fakePayPal
	Clock    *testclock.Clock
	client   *http.Client
	inflight *inflight
}

// inflight counts the requests the test server is handling, so that Flush
// can wait for a download's handler to record it: a client has the whole
// body before the handler returns.
type inflight struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed while n is 0
}

func newInflight() *inflight {
	idle := make(chan struct{})
	close(idle)
	return &inflight{idle: idle}
}

func (f *inflight) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		if f.n == 0 {
			f.idle = make(chan struct{})
		}
		f.n++
		f.mu.Unlock()
		defer func() {
			f.mu.Lock()
			if f.n--; f.n == 0 {
				close(f.idle)
			}
			f.mu.Unlock()
		}()
		h.ServeHTTP(w, r)
	})
}

// wait returns once no request is being handled, or false after d.
func (f *inflight) wait(d time.Duration) bool {
	f.mu.Lock()
	idle := f.idle
	f.mu.Unlock()
	select {
	case <-idle:
		return true
	case <-time.After(d):
		return false
	}
}

// envOption adjusts the server before it starts.
type envOption func(*Server)

// liveMode makes vend accept only live messages (no test_ipn=1).
func liveMode(s *Server) { paypalOf(s).Config.Sandbox = false }

// noLegacyLinks switches the old download.cgi links off.
func noLegacyLinks(s *Server) { s.LegacyLinks = false }

// newTestEnv starts a vend whose PayPal postback goes to a fake PayPal that
// answers VERIFIED until told otherwise.
func newTestEnv(tb testing.TB, opts ...envOption) *testEnv {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	clock := testclock.New(testEpoch)

	db := sqlite.NewDB(catalogStore.Path(tb))
	db.Now = clock.Now
	if err := db.Open(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	blobs, err := local.Open(filepath.Join(dir, "files"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { blobs.Close() })
	for _, p := range catalogProducts {
		if _, err := blobs.Put(ctx, bytes.NewReader(p.Content)); err != nil {
			tb.Fatal(err)
		}
	}

	dl := delivery.New(db, blobs, linkSecret, delivery.Config{})
	dl.Now = clock.Now
	tb.Cleanup(dl.Close)
	pp := newFakePayPal()
	tb.Cleanup(pp.Close)

	led := ledger.New(db)
	providers := []vend.Provider{
		&paypal.Intake{
			Verifier: &paypal.Verifier{URL: pp.URL + "/cgi-bin/webscr", Client: &http.Client{Timeout: 10 * time.Second}},
			Config:   paypal.Config{ReceiverEmails: []string{sellerEmail}, ReceiverID: sellerID, Sandbox: true},
		},
		&digistore24.Intake{Passphrase: ds24Passphrase, Config: digistore24.Config{Sandbox: true,
			Products: map[string]string{"512345": "EBOOK-001", "512346": "AUDIO-002", "512347": "VIDEO-003", "512348": "CHEAT-004"}}},
		&stripe.Intake{Secret: stripeSecret, Config: stripe.Config{Sandbox: true}},
		&generic.Intake{Secret: genericSecret, Config: generic.Config{Sandbox: true}},
		newTestWebsale(tb),
	}
	var srv *Server
	in := intake.New(providers, led, db, func(g *vend.Grant) string { return srv.BaseURL + dl.PagePath(g.PublicID) }, nil)
	in.Now = clock.Now
	srv = &Server{
		DB: db, Ledger: led, Delivery: dl, Blobs: blobs, Intake: in,
		LegacyLinks: true,
		Now:         clock.Now,
		Licenses:    &license.Service{DB: db, Signer: license.NewSigner(testLicenseKey), Issuer: "https://shop.test", Now: clock.Now},
	}
	for _, o := range opts {
		o(srv)
	}
	if err := srv.Init(); err != nil {
		tb.Fatal(err)
	}
	track := newInflight()
	hs := httptest.NewUnstartedServer(track.track(srv))
	srv.BaseURL = "http://" + hs.Listener.Addr().String()
	hs.Start()
	tb.Cleanup(hs.Close)

	client := hs.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &testEnv{tb: tb, DB: db, Blobs: blobs, Ledger: led, Delivery: dl, Server: srv, HTTP: hs, PayPal: pp,
		Clock: clock, client: client, inflight: track}
}

// testLicenseKey signs the test shops' licences: one key for every test.
var testLicenseKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))

// testEpoch is when every test starts: a few hours after sample P1 was paid.
var testEpoch = time.Date(2025, 3, 3, 18, 15, 2, 0, time.UTC)

// catalogStore is a migrated database with the catalog, made once and copied
// into each environment (sqlitetest).
var catalogStore = sqlitetest.Template{
	Now: func() time.Time { return testEpoch },
	Fill: func(ctx context.Context, db *sqlite.DB) error {
		dir, err := os.MkdirTemp("", "vend-web-test-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		blobs, err := local.Open(filepath.Join(dir, "files"))
		if err != nil {
			return err
		}
		defer blobs.Close()
		return seedCatalog(ctx, db, blobs, filepath.Join(dir, "upload"))
	},
}

func TestMain(m *testing.M) {
	os.Exit(servicetest.Main(m, servicetest.Chromium))
}

// seedCatalog saves catalogProducts with real files, through catalog.Store and
// catalog.Save as the import does.
func seedCatalog(ctx context.Context, db store.DB, blobs *local.Store, dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	files := make([]*vend.File, len(catalogProducts))
	for i, p := range catalogProducts {
		path := filepath.Join(dir, p.FileName)
		if err := os.WriteFile(path, p.Content, 0o600); err != nil {
			return err
		}
		f, err := catalog.Store(ctx, blobs, path)
		if err != nil {
			return err
		}
		files[i] = f
	}
	return db.Update(ctx, func(tx store.Tx) error {
		for i, p := range catalogProducts {
			p := p.Product
			if err := catalog.Save(ctx, tx, &p, []*vend.File{files[i]}); err != nil {
				return err
			}
		}
		return nil
	})
}

// productFile returns the content of a catalog product's file.
func productFile(id string) (name string, content []byte) {
	for _, p := range catalogProducts {
		if p.ID == id {
			return p.FileName, p.Content
		}
	}
	return "", nil
}

// fakePayPal plays PayPal's postback endpoint: it records every request and
// answers with whatever handler the test set (VERIFIED by default).
type fakePayPal struct {
	*httptest.Server
	mu        sync.Mutex
	answer    http.Handler
	postbacks []postback
}

type postback struct {
	Body   []byte
	Header http.Header
}

func newFakePayPal() *fakePayPal {
	p := &fakePayPal{answer: answerWord("VERIFIED")}
	p.Server = httptest.NewServer(http.HandlerFunc(p.serve))
	return p
}

func (p *fakePayPal) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	p.mu.Lock()
	p.postbacks = append(p.postbacks, postback{Body: body, Header: r.Header.Clone()})
	answer := p.answer
	p.mu.Unlock()
	r.Body = io.NopCloser(bytes.NewReader(body))
	answer.ServeHTTP(w, r)
}

// Answer makes h answer every postback from now on.
func (p *fakePayPal) Answer(h http.Handler) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.answer = h
}

// Postbacks returns what vend posted so far, oldest first.
func (p *fakePayPal) Postbacks() []postback {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]postback(nil), p.postbacks...)
}

// answerWord answers 200 with the given body, e.g. VERIFIED or INVALID.
func answerWord(word string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		io.WriteString(w, word)
	})
}

// answerStatus answers with an HTTP status and a body.
func answerStatus(code int, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(code)
		io.WriteString(w, body)
	})
}

// answerHangUp closes the connection without an answer: a transport failure.
var answerHangUp = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	conn.Close()
})

// answerDemo is the simulator's verifier: VERIFIED for messages simBody signed.
var answerDemo = paypal.DemoVerifier{Secret: simSecret}

// ---- requests ----

// answer is a response read in full.
type answer struct {
	Status int
	Header http.Header
	Body   string
}

func (e *testEnv) do(req *http.Request) answer {
	e.tb.Helper()
	resp, err := e.client.Do(req)
	if err != nil {
		e.tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.tb.Fatal(err)
	}
	return answer{Status: resp.StatusCode, Header: resp.Header, Body: string(body)}
}

// newIPN builds PayPal's request: a form body and PayPal's headers.
func (e *testEnv) newIPN(body []byte) *http.Request {
	e.tb.Helper()
	req, err := http.NewRequest(http.MethodPost, e.HTTP.URL+"/ipn/paypal", bytes.NewReader(body))
	if err != nil {
		e.tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "PayPal IPN ( https://www.paypal.com/ipn )")
	return req
}

// PostIPN posts body to /ipn/paypal as PayPal does.
func (e *testEnv) PostIPN(body []byte) answer {
	e.tb.Helper()
	return e.do(e.newIPN(body))
}

// MustPostIPN posts body and checks PayPal's contract: one postback carrying
// exactly "cmd=_notify-validate&" + body, then 200 with an empty body.
func (e *testEnv) MustPostIPN(body []byte) {
	e.tb.Helper()
	before := len(e.PayPal.Postbacks())
	a := e.PostIPN(body)
	if a.Status != http.StatusOK || a.Body != "" {
		e.tb.Fatalf("IPN answered %d %q, want 200 with an empty body\nbody: %s", a.Status, a.Body, body)
	}
	pbs := e.PayPal.Postbacks()
	if len(pbs) != before+1 {
		e.tb.Fatalf("%d postbacks for one IPN, want 1", len(pbs)-before)
	}
	checkPostback(e.tb, pbs[len(pbs)-1], body)
}

func checkPostback(tb testing.TB, got postback, raw []byte) {
	tb.Helper()
	want := append([]byte("cmd=_notify-validate&"), raw...)
	if !bytes.Equal(got.Body, want) {
		tb.Errorf("postback body\n got %q\nwant %q", got.Body, want)
	}
	if ct := got.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		tb.Errorf("postback Content-Type = %q", ct)
	}
	if got.Header.Get("User-Agent") == "" {
		tb.Errorf("postback has no User-Agent; PayPal wants one")
	}
}

// Post posts body to path with the content type and further headers given.
func (e *testEnv) Post(path, contentType string, body []byte, h http.Header) answer {
	e.tb.Helper()
	req, err := http.NewRequest(http.MethodPost, e.HTTP.URL+path, bytes.NewReader(body))
	if err != nil {
		e.tb.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return e.do(req)
}

// Get fetches a path (redirects are not followed).
func (e *testEnv) Get(path string) answer {
	e.tb.Helper()
	req, err := http.NewRequest(http.MethodGet, e.HTTP.URL+path, nil)
	if err != nil {
		e.tb.Fatal(err)
	}
	return e.do(req)
}

// Head sends a HEAD request.
func (e *testEnv) Head(path string) answer {
	e.tb.Helper()
	req, err := http.NewRequest(http.MethodHead, e.HTTP.URL+path, nil)
	if err != nil {
		e.tb.Fatal(err)
	}
	return e.do(req)
}

// Flush waits until the requests in flight are done and the download log is
// written.
func (e *testEnv) Flush() {
	e.tb.Helper()
	if !e.inflight.wait(10 * time.Second) {
		e.tb.Fatal("requests still in flight after 10 s")
	}
	if err := e.Delivery.Flush(context.Background()); err != nil {
		e.tb.Fatal(err)
	}
}

// ---- reading the ledger back ----

// orderRecord is an order with everything that hangs off it.
type orderRecord struct {
	*vend.Order
	Items  []*vend.Item
	Grants []*vend.Grant
	Txns   []*vend.Transaction
}

// grant returns the order's grant for a product, or nil.
func (o *orderRecord) grant(productID string) *vend.Grant {
	for _, g := range o.Grants {
		if g.ProductID == productID {
			return g
		}
	}
	return nil
}

func (e *testEnv) view(fn func(ctx context.Context, tx store.Tx) error) {
	e.tb.Helper()
	ctx := context.Background()
	if err := e.DB.View(ctx, func(tx store.Tx) error { return fn(ctx, tx) }); err != nil {
		e.tb.Fatal(err)
	}
}

// Order returns the PayPal order whose payment has txn_id ref, or nil.
func (e *testEnv) Order(ref string) *orderRecord {
	e.tb.Helper()
	return e.ProviderOrder(paypal.Provider, ref)
}

// ProviderOrder returns a provider's order by its reference, or nil.
func (e *testEnv) ProviderOrder(provider, ref string) *orderRecord {
	e.tb.Helper()
	var rec *orderRecord
	e.view(func(ctx context.Context, tx store.Tx) error {
		o, err := tx.FindOrderByRef(ctx, provider, ref)
		if vend.ErrorCode(err) == vend.ENOTFOUND {
			return nil
		} else if err != nil {
			return err
		}
		rec, err = loadOrder(ctx, tx, o)
		return err
	})
	return rec
}

// Orders returns every order, oldest first.
func (e *testEnv) Orders() []*orderRecord {
	e.tb.Helper()
	var out []*orderRecord
	e.view(func(ctx context.Context, tx store.Tx) error {
		orders, err := tx.FindOrders(ctx, store.OrderFilter{Limit: 100000})
		if err != nil {
			return err
		}
		for i := len(orders) - 1; i >= 0; i-- {
			rec, err := loadOrder(ctx, tx, orders[i])
			if err != nil {
				return err
			}
			out = append(out, rec)
		}
		return nil
	})
	return out
}

func loadOrder(ctx context.Context, tx store.Tx, o *vend.Order) (*orderRecord, error) {
	rec := &orderRecord{Order: o}
	var err error
	if rec.Items, err = tx.FindItems(ctx, o.ID); err != nil {
		return nil, err
	}
	if rec.Grants, err = tx.FindGrantsByOrder(ctx, o.ID); err != nil {
		return nil, err
	}
	rec.Txns, err = tx.FindTransactionsByOrder(ctx, o.ID)
	return rec, err
}

// Transaction returns the PayPal transaction txnID, or nil.
func (e *testEnv) Transaction(txnID string) *vend.Transaction {
	e.tb.Helper()
	var t *vend.Transaction
	e.view(func(ctx context.Context, tx store.Tx) error {
		var err error
		t, err = tx.FindTransaction(ctx, paypal.Provider, txnID)
		if vend.ErrorCode(err) == vend.ENOTFOUND {
			t, err = nil, nil
		}
		return err
	})
	return t
}

// Grant reads a grant again.
func (e *testEnv) Grant(id int64) *vend.Grant {
	e.tb.Helper()
	var g *vend.Grant
	e.view(func(ctx context.Context, tx store.Tx) (err error) {
		g, err = tx.FindGrantByID(ctx, id)
		return err
	})
	return g
}

// Notifications returns every stored notification, oldest first.
func (e *testEnv) Notifications() []*vend.Notification {
	e.tb.Helper()
	var out []*vend.Notification
	e.view(func(ctx context.Context, tx store.Tx) error {
		ns, err := tx.FindNotifications(ctx, store.NotificationFilter{Limit: 100000})
		for i := len(ns) - 1; i >= 0; i-- {
			out = append(out, ns[i])
		}
		return err
	})
	return out
}

// LastNotification returns the newest stored notification, or nil.
func (e *testEnv) LastNotification() *vend.Notification {
	e.tb.Helper()
	var n *vend.Notification
	e.view(func(ctx context.Context, tx store.Tx) error {
		ns, err := tx.FindNotifications(ctx, store.NotificationFilter{Limit: 1})
		if len(ns) > 0 {
			n = ns[0]
		}
		return err
	})
	return n
}

// Verdicts lists the verdicts of every notification, oldest first.
func (e *testEnv) Verdicts() []vend.Verdict {
	e.tb.Helper()
	var out []vend.Verdict
	for _, n := range e.Notifications() {
		out = append(out, n.Verdict)
	}
	return out
}

// PagePath is the download page of a grant.
func (e *testEnv) PagePath(g *vend.Grant) string {
	return "/d/" + e.Delivery.Token(g.PublicID)
}

// FilePath is the link of a grant's (first) file, as the download page shows it.
func (e *testEnv) FilePath(g *vend.Grant) string {
	e.tb.Helper()
	var p *vend.Product
	e.view(func(ctx context.Context, tx store.Tx) (err error) {
		p, err = tx.FindProductByID(ctx, g.ProductID)
		return err
	})
	return fileURL(e.Delivery.Token(g.PublicID), p.Files[0])
}

// ---- bodies ----

// sample returns one of the protocols.md samples, byte for byte.
func sample(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "provider", "paypal", "testdata", name+".ipn"))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// setField returns body with key's raw (still percent-encoded) value replaced
// by value, every other byte unchanged; a key not in body is appended.
func setField(body []byte, key, value string) []byte {
	segs := bytes.Split(body, []byte("&"))
	found := false
	for i, seg := range segs {
		if k, _, _ := bytes.Cut(seg, []byte("=")); string(k) == key {
			segs[i] = []byte(key + "=" + value)
			found = true
		}
	}
	if !found {
		segs = append(segs, []byte(key+"="+value))
	}
	return bytes.Join(segs, []byte("&"))
}

// dropField returns body without key.
func dropField(body []byte, key string) []byte {
	var kept [][]byte
	for seg := range bytes.SplitSeq(body, []byte("&")) {
		if k, _, _ := bytes.Cut(seg, []byte("=")); string(k) != key {
			kept = append(kept, seg)
		}
	}
	return bytes.Join(kept, []byte("&"))
}

// edit applies setField for each key, value pair.
func edit(body []byte, kv ...string) []byte {
	for i := 0; i+1 < len(kv); i += 2 {
		body = setField(body, kv[i], kv[i+1])
	}
	return body
}

// ebookSim is a simulated single purchase of EBOOK-001 for the test seller.
func ebookSim(status, txnID string) paypal.Sim {
	return paypal.Sim{
		TxnID: txnID, Status: status, ProductID: "EBOOK-001", ProductName: "E-Book Go Patterns", Amount: 1995,
		PayerEmail: "sim@example.com", FirstName: "Sim", LastName: "Buyer", Receiver: sellerEmail, ReceiverID: sellerID,
		Custom: "sim_" + txnID, Test: true,
	}
}

// reversalSim is a Refunded, Reversed or Canceled_Reversal of payment parent.
func reversalSim(status, txnID, parent string, amount vend.Amount) paypal.Sim {
	s := ebookSim(status, txnID)
	s.ParentTxnID, s.Amount, s.Custom = parent, amount, "sim_"+parent
	return s
}

// simBody signs a simulated message so that answerDemo verifies it.
func simBody(s paypal.Sim) []byte { return s.Body(simSecret) }

// ---- pages ----

var hrefPattern = regexp.MustCompile(`(?:href|action)="([^"]*)"`)

// links returns the targets of the links and buttons on a page that start with prefix.
func links(page, prefix string) []string {
	var out []string
	for _, m := range hrefPattern.FindAllStringSubmatch(page, -1) {
		if u := html.UnescapeString(m[1]); strings.HasPrefix(u, prefix) {
			out = append(out, u)
		}
	}
	return out
}

// hasRefresh reports whether a page refreshes itself.
func hasRefresh(page string) bool {
	return strings.Contains(page, `<meta http-equiv="refresh"`)
}

// returnPath is the return page for the given query.
func returnPath(kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	return "/return?" + q.Encode()
}

// Media types of provider bodies.
const (
	formType = "application/x-www-form-urlencoded"
	jsonType = "application/json"
)

// The largest bodies PayPal and Digistore24 send (ProviderInfo.MaxBody).
var (
	paypalMaxBody = int((&paypal.Intake{}).Info().MaxBody)
	ds24MaxBody   = int((&digistore24.Intake{}).Info().MaxBody)
)
