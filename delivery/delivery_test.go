package delivery_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/blob"
	"github.com/vend-shop/vend/blob/local"
	"github.com/vend-shop/vend/delivery"
	"github.com/vend-shop/vend/internal/testclock"
	"github.com/vend-shop/vend/store"
	"github.com/vend-shop/vend/store/sqlite"
	"github.com/vend-shop/vend/store/sqlite/sqlitetest"
)

// The fixture: product "book" has a large file that transfers can be aborted in and
// a small one; product "other" belongs to somebody else's purchase.
const (
	bigName   = "Müller – Buch.pdf"
	bigSize   = 4 << 20
	smallName = "liesmich.txt"
	smallSize = 10 << 10
)

// socketBuffer keeps the kernel's socket buffers small on both ends, so that the
// bytes the server counts for an aborted transfer are close to what the client read.
const socketBuffer = 64 << 10

// testSecret signs the links of every test service.
var testSecret = []byte("delivery-test-secret-0123456789abcdef")

// Env is a delivery service on a real store (SQLite unless EnvOptions say
// otherwise) and real local blob storage, mounted on an httptest server the way
// web mounts it.
type Env struct {
	tb       testing.TB
	DB       store.DB
	Blobs    *local.Store
	Service  *delivery.Service
	Second   *delivery.Service // another instance on the same store; nil unless EnvOptions.Second
	Clock    *testclock.Clock
	Server   *httptest.Server
	Client   *http.Client
	inflight atomic.Int64

	Book, Other *vend.Product
	Big, Small  *vend.File // files of Book
	Solo        *vend.Product
	SoloFile    *vend.File // Solo's one file: BigData again
	BigData     []byte
	SmallData   []byte
	OtherFile   *vend.File
	orders      int
}

// EnvOptions change what MustOpenEnvWith builds.
type EnvOptions struct {
	// Blobs wraps the local store that the service reads files through; nil: the
	// local store itself.
	Blobs func(*local.Store) blob.Store
	// DB opens the store, on clock now; nil: SQLite in a temporary directory.
	DB func(tb testing.TB, now func() time.Time) store.DB
	// Second adds a second service, as another instance on the same store and
	// files; requests with X-Test-Instance: 2 go to it.
	Second bool
}

// MustOpenEnv returns a running Env with the fixture products. now is the clock of
// both the store and the service: nil for e.Clock, a fake clock starting at a fixed
// time, or time.Now for tests that need real time.
func MustOpenEnv(tb testing.TB, cfg delivery.Config, now func() time.Time) *Env {
	tb.Helper()
	return MustOpenEnvWith(tb, cfg, now, EnvOptions{})
}

// MustOpenEnvWith is MustOpenEnv with options.
func MustOpenEnvWith(tb testing.TB, cfg delivery.Config, now func() time.Time, opts EnvOptions) *Env {
	tb.Helper()
	dir := tb.TempDir()
	e := &Env{tb: tb, Clock: testclock.New(time.Date(2030, 1, 2, 10, 0, 0, 0, time.UTC))}
	if now == nil {
		now = e.Clock.Now
	}
	if opts.DB == nil {
		opts.DB = mustOpenSQLite
	}
	e.DB = opts.DB(tb, now)
	blobs, err := local.Open(filepath.Join(dir, "files"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { blobs.Close() })
	e.Blobs = blobs
	var served blob.Store = blobs
	if opts.Blobs != nil {
		served = opts.Blobs(blobs)
	}
	e.Service = delivery.New(e.DB, served, testSecret, cfg)
	e.Service.Now = now
	tb.Cleanup(e.Service.Close)
	if opts.Second {
		e.Second = delivery.New(e.DB, served, testSecret, cfg)
		e.Second.Now = now
		tb.Cleanup(e.Second.Close)
	}

	e.BigData, e.SmallData = randomBytes(1, bigSize), randomBytes(2, smallSize)
	e.Book = e.MustCreateProduct("book", map[string][]byte{bigName: e.BigData, smallName: e.SmallData}, bigName, smallName)
	e.Big, e.Small = e.Book.Files[0], e.Book.Files[1]
	e.Other = e.MustCreateProduct("other", map[string][]byte{"other.zip": randomBytes(3, 1000)}, "other.zip")
	e.OtherFile = e.Other.Files[0]
	e.Solo = e.MustCreateProduct("solo", map[string][]byte{bigName: e.BigData}, bigName)
	e.SoloFile = e.Solo.Files[0]
	e.startServer()
	return e
}

// mustOpenSQLite opens a fresh migrated SQLite store (a copy, see sqlitetest).
func mustOpenSQLite(tb testing.TB, now func() time.Time) store.DB {
	tb.Helper()
	db := sqlite.NewDB(sqlitetest.Path(tb))
	db.Now = now
	if err := db.Open(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func randomBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := mrand.NewChaCha8([32]byte{byte(seed)})
	r.Read(b)
	return b
}

// startServer mounts ServeFile as web does. The X-Test-Client header stands in for
// the client's address, so one test can play many clients, and X-Test-Instance: 2
// sends a request to e.Second; only this test mux reads them. The server counts handlers in flight so that Settle can wait for them.
func (e *Env) startServer() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+delivery.SelfTestPath, func(w http.ResponseWriter, r *http.Request) { e.Service.ServeCanary(w, r) })
	mux.HandleFunc("GET /d/{token}/{file}/{name}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("file"), 10, 64)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		svc := e.Service
		if r.Header.Get("X-Test-Instance") == "2" && e.Second != nil {
			svc = e.Second
		}
		if err := svc.ServeFile(w, r, r.PathValue("token"), id); err != nil {
			delivery.WriteError(w, r, err)
		}
	})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.inflight.Add(1)
		defer e.inflight.Add(-1)
		if c := r.Header.Get("X-Test-Client"); c != "" {
			r.RemoteAddr = net.JoinHostPort(c, "40000")
		}
		if r.Header.Get("X-Test-Slow") != "" {
			w = slowWriter{w}
		}
		mux.ServeHTTP(w, r)
	})
	e.Server = httptest.NewUnstartedServer(h)
	e.Server.Listener = smallBufferListener{e.Server.Listener}
	e.Server.Start()
	e.tb.Cleanup(e.Server.Close)
	dialer := &net.Dialer{}
	e.Client = &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetReadBuffer(socketBuffer)
			}
			return c, err
		},
		MaxIdleConnsPerHost: 128,
		DisableCompression:  true,
	}}
	e.tb.Cleanup(e.Client.CloseIdleConnections)
}

// slowWriter is a slow line: about 1 MiB/s.
type slowWriter struct{ http.ResponseWriter }

func (w slowWriter) Write(p []byte) (int, error) {
	var n int
	for len(p) > 0 {
		chunk := p[:min(len(p), 16<<10)]
		time.Sleep(16 * time.Millisecond)
		m, err := w.ResponseWriter.Write(chunk)
		n += m
		if err != nil {
			return n, err
		}
		p = p[m:]
	}
	return n, nil
}

type smallBufferListener struct{ net.Listener }

func (l smallBufferListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(socketBuffer)
	}
	return c, err
}

// MustCreateProduct stores the files and creates the product with them in order.
func (e *Env) MustCreateProduct(id string, data map[string][]byte, order ...string) *vend.Product {
	e.tb.Helper()
	return mustCreateProduct(e.tb, e.DB, e.Blobs, id, data, order...)
}

// mustCreateProduct puts the files into blobs and creates the product with them
// in order.
func mustCreateProduct(tb testing.TB, db store.DB, blobs blob.Store, id string, data map[string][]byte, order ...string) *vend.Product {
	tb.Helper()
	ctx := context.Background()
	p := &vend.Product{ID: id, Name: "Product " + id, Price: 1995, Currency: "EUR", DownloadLimit: 3}
	var files []*vend.File
	for _, name := range order {
		info, err := blobs.Put(ctx, bytes.NewReader(data[name]))
		if err != nil {
			tb.Fatal(err)
		}
		files = append(files, &vend.File{Name: name, Key: info.Key, Size: info.Size, SHA256: info.SHA256})
	}
	err := db.Update(ctx, func(tx store.Tx) error {
		if err := tx.SaveProduct(ctx, p); err != nil {
			return err
		}
		return tx.SetFiles(ctx, id, files)
	})
	if err != nil {
		tb.Fatal(err)
	}
	p.Files = files
	return p
}

// MustCreateGrant creates a paid order of product p with one item and its active
// grant (limit 3, nothing used, never expires), changed by fn before it is stored.
func (e *Env) MustCreateGrant(p *vend.Product, fn func(g *vend.Grant)) *vend.Grant {
	e.tb.Helper()
	ctx := context.Background()
	e.orders++
	var g *vend.Grant
	err := e.DB.Update(ctx, func(tx store.Tx) error {
		o := &vend.Order{Provider: "test", Ref: "T-" + strconv.Itoa(e.orders) + "-" + rand.Text(),
			Buyer: vend.Buyer{Email: "buyer@example.com", Name: "Buyer"}, Currency: p.Currency, Total: p.Price,
			Status: vend.OrderPaid}
		if err := tx.CreateOrder(ctx, o); err != nil {
			return err
		}
		it := &vend.Item{OrderID: o.ID, ProductID: p.ID, Name: p.Name, Quantity: 1, Amount: p.Price}
		if err := tx.CreateItem(ctx, it); err != nil {
			return err
		}
		g = &vend.Grant{ItemID: it.ID, OrderID: o.ID, ProductID: p.ID, PublicID: rand.Text(), State: vend.GrantActive,
			DownloadLimit: 3}
		if fn != nil {
			fn(g)
		}
		return tx.CreateGrant(ctx, g)
	})
	if err != nil {
		e.tb.Fatal(err)
	}
	return g
}

// URL is the link of file f under grant g, as the download page shows it.
func (e *Env) URL(g *vend.Grant, f *vend.File) string {
	return e.TokenURL(e.Service.Token(g.PublicID), f)
}

// TokenURL is the link of file f under any token.
func (e *Env) TokenURL(token string, f *vend.File) string {
	return e.Server.URL + "/d/" + token + "/" + strconv.FormatInt(f.ID, 10) + "/" + url.PathEscape(f.Name)
}

// Response is what a request got.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends one request; hdr holds header names and values in turn.
func (e *Env) Do(method, u string, hdr ...string) Response {
	e.tb.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		e.tb.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e.Client.Do(req)
	if err != nil {
		e.tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.tb.Fatal(err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: body}
}

// Get is Do("GET", …).
func (e *Env) Get(u string, hdr ...string) Response {
	e.tb.Helper()
	return e.Do(http.MethodGet, u, hdr...)
}

// Abort GETs u, reads n bytes of the body and hangs up, as a browser whose user
// cancels or a line that drops. It returns the bytes read.
func (e *Env) Abort(u string, n int64, hdr ...string) []byte {
	e.tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		e.tb.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e.Client.Do(req)
	if err != nil {
		e.tb.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusPartialContent {
		e.tb.Fatalf("abort: status %d", resp.StatusCode)
	}
	got, err := io.ReadAll(io.LimitReader(resp.Body, n))
	if err != nil {
		e.tb.Fatal(err)
	}
	cancel()
	resp.Body.Close()
	return got
}

// Settle waits until no request is being served and every attempt is written.
func (e *Env) Settle() {
	e.tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for e.inflight.Load() > 0 {
		if time.Now().After(deadline) {
			e.tb.Fatal("requests still in flight after 10s")
		}
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, s := range []*delivery.Service{e.Service, e.Second} {
		if s == nil {
			continue
		}
		if err := s.Flush(ctx); err != nil {
			e.tb.Fatal(err)
		}
	}
}

// Sweep runs the service's sweep and returns how many sessions it closed.
func (e *Env) Sweep() int {
	e.tb.Helper()
	n, err := e.Service.Sweep(context.Background())
	if err != nil {
		e.tb.Fatal(err)
	}
	return n
}

// Grant reloads grant g.
func (e *Env) Grant(g *vend.Grant) *vend.Grant {
	e.tb.Helper()
	var out *vend.Grant
	e.view(func(ctx context.Context, tx store.Tx) (err error) {
		out, err = tx.FindGrantByID(ctx, g.ID)
		return err
	})
	return out
}

// Sessions returns the download sessions of grant g, oldest first.
func (e *Env) Sessions(g *vend.Grant) []*vend.Session {
	e.tb.Helper()
	var out []*vend.Session
	e.view(func(ctx context.Context, tx store.Tx) (err error) {
		out, err = tx.FindSessionsByGrant(ctx, g.ID)
		return err
	})
	return out
}

// Attempts returns the attempts on grant g, oldest first.
func (e *Env) Attempts(g *vend.Grant) []*vend.Attempt {
	e.tb.Helper()
	var out []*vend.Attempt
	e.view(func(ctx context.Context, tx store.Tx) (err error) {
		out, err = tx.FindAttempts(ctx, store.AttemptFilter{GrantID: &g.ID, Limit: 1000})
		return err
	})
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// Completed returns the completed downloads per product.
func (e *Env) Completed() map[string]int {
	e.tb.Helper()
	var out map[string]int
	e.view(func(ctx context.Context, tx store.Tx) (err error) {
		out, err = tx.CompletedDownloads(ctx)
		return err
	})
	return out
}

// UpdateGrant changes grant g in the store, as the ledger or an admin would.
func (e *Env) UpdateGrant(g *vend.Grant, fn func(g *vend.Grant)) {
	e.tb.Helper()
	ctx := context.Background()
	err := e.DB.Update(ctx, func(tx store.Tx) error {
		cur, err := tx.FindGrantByID(ctx, g.ID)
		if err != nil {
			return err
		}
		fn(cur)
		return tx.UpdateGrant(ctx, cur)
	})
	if err != nil {
		e.tb.Fatal(err)
	}
}

func (e *Env) view(fn func(ctx context.Context, tx store.Tx) error) {
	e.tb.Helper()
	ctx := context.Background()
	if err := e.DB.View(ctx, func(tx store.Tx) error { return fn(ctx, tx) }); err != nil {
		e.tb.Fatal(err)
	}
}

// charged counts the charged sessions among ss.
func charged(ss []*vend.Session) int {
	n := 0
	for _, s := range ss {
		if s.Charged {
			n++
		}
	}
	return n
}
