package mailer_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/internal/testclock"
	"github.com/vend-shop/vend/mailer"
	"github.com/vend-shop/vend/mailer/smtptest"
	"github.com/vend-shop/vend/store"
	"github.com/vend-shop/vend/store/sqlite"
	"github.com/vend-shop/vend/store/sqlite/sqlitetest"
)

// MustOpenDB opens a fresh migrated SQLite store (a copy, see sqlitetest).
func MustOpenDB(tb testing.TB, now func() time.Time) *sqlite.DB {
	tb.Helper()
	db := sqlite.NewDB(sqlitetest.Path(tb))
	db.Now = now
	if err := db.Open(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func mustUpdate(tb testing.TB, db store.DB, fn func(tx store.Tx) error) {
	tb.Helper()
	if err := db.Update(context.Background(), fn); err != nil {
		tb.Fatal(err)
	}
}

func mustView(tb testing.TB, db store.DB, fn func(tx store.Tx) error) {
	tb.Helper()
	if err := db.View(context.Background(), fn); err != nil {
		tb.Fatal(err)
	}
}

// freeAddr returns a loopback address nothing listens on (for the moment).
func freeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// selfSigned returns a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(tb testing.TB) (*tls.Certificate, *x509.CertPool) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// parsed is a received message taken apart.
type parsed struct {
	Header mail.Header
	Text   string
	HTML   string
}

func parse(tb testing.TB, data []byte) parsed {
	tb.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		tb.Fatalf("read message: %v\n%s", err, data)
	}
	p := parsed{Header: m.Header}
	var walk func(h map[string][]string, body io.Reader)
	walk = func(h map[string][]string, body io.Reader) {
		get := func(k string) string {
			if v := h[k]; len(v) > 0 {
				return v[0]
			}
			return ""
		}
		mt, params, err := mime.ParseMediaType(get("Content-Type"))
		if err != nil {
			tb.Fatalf("content type %q: %v", get("Content-Type"), err)
		}
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(body, params["boundary"])
			for {
				part, err := mr.NextRawPart()
				if errors.Is(err, io.EOF) {
					return
				} else if err != nil {
					tb.Fatal(err)
				}
				walk(part.Header, part)
			}
		}
		if strings.EqualFold(get("Content-Transfer-Encoding"), "quoted-printable") {
			body = quotedprintable.NewReader(body)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			tb.Fatal(err)
		}
		switch mt {
		case "text/plain":
			p.Text = strings.ReplaceAll(string(b), "\r\n", "\n")
		case "text/html":
			p.HTML = strings.ReplaceAll(string(b), "\r\n", "\n")
		}
	}
	walk(m.Header, m.Body)
	return p
}

func (p parsed) Subject(tb testing.TB) string {
	tb.Helper()
	s, err := new(mime.WordDecoder).DecodeHeader(p.Header.Get("Subject"))
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// fixture is a shop with one product and a paid order whose item has a grant.
type fixture struct {
	Product *vend.Product
	Order   *vend.Order
	Item    *vend.Item
	Grant   *vend.Grant
}

type orderOpts struct {
	Email, Name, Ref, Product, ProductName, Language string
	Status                                           vend.OrderStatus
	Reason                                           string
	GrantState                                       vend.GrantState
	ExpiresAt                                        time.Time
	NoGrant                                          bool
}

func saveProduct(tb testing.TB, db store.DB, id, name string) *vend.Product {
	tb.Helper()
	p := &vend.Product{ID: id, Name: name, Price: 1900, Currency: "EUR", DownloadLimit: 5, Lifetime: 30 * 24 * time.Hour}
	files := []*vend.File{
		{Name: id + ".pdf", Key: "products/" + id + "/secret-blob-key.pdf", Size: 4_718_592, SHA256: strings.Repeat("ab", 32)},
		{Name: id + ".epub", Key: "products/" + id + "/secret-blob-key.epub", Size: 1_572_864, SHA256: strings.Repeat("cd", 32)},
	}
	mustUpdate(tb, db, func(tx store.Tx) error {
		if err := tx.SaveProduct(context.Background(), p); err != nil {
			return err
		}
		return tx.SetFiles(context.Background(), p.ID, files)
	})
	p.Files = files
	return p
}

func createOrder(tb testing.TB, db store.DB, o orderOpts) *fixture {
	tb.Helper()
	ctx := context.Background()
	if o.Email == "" {
		o.Email = "buyer@example.com"
	}
	if o.Ref == "" {
		o.Ref = "PAY-" + rand.Text()[:8]
	}
	if o.Product == "" {
		o.Product = "go-handbook"
	}
	if o.ProductName == "" {
		o.ProductName = "The Go Handbook"
	}
	if o.Status == "" {
		o.Status = vend.OrderPaid
	}
	if o.GrantState == "" {
		o.GrantState = vend.GrantActive
	}
	f := &fixture{}
	mustUpdate(tb, db, func(tx store.Tx) error {
		p, err := tx.FindProductByID(ctx, o.Product)
		if vend.ErrorCode(err) == vend.ENOTFOUND {
			return errors.New("fixture: save the product first")
		} else if err != nil {
			return err
		}
		f.Product = p
		f.Order = &vend.Order{Provider: "paypal", Ref: o.Ref, Buyer: vend.Buyer{Email: o.Email, Name: o.Name},
			Currency: "EUR", Total: 1900, Status: o.Status, StatusReason: o.Reason}
		if err := tx.CreateOrder(ctx, f.Order); err != nil {
			return err
		}
		f.Item = &vend.Item{OrderID: f.Order.ID, ProductID: p.ID, Name: o.ProductName, Quantity: 1, Amount: 1900, Status: o.Status}
		if err := tx.CreateItem(ctx, f.Item); err != nil {
			return err
		}
		if o.NoGrant {
			return nil
		}
		f.Grant = &vend.Grant{ItemID: f.Item.ID, OrderID: f.Order.ID, ProductID: p.ID, PublicID: rand.Text(),
			State: o.GrantState, DownloadLimit: 5, DownloadsUsed: 1, ExpiresAt: o.ExpiresAt}
		if o.GrantState == vend.GrantRevoked {
			f.Grant.Reason = string(vend.OrderRefunded)
		}
		return tx.CreateGrant(ctx, f.Grant)
	})
	return f
}

func enqueue(tb testing.TB, db store.DB, m *vend.Mail) *vend.Mail {
	tb.Helper()
	mustUpdate(tb, db, func(tx store.Tx) error {
		added, err := tx.EnqueueMail(context.Background(), m)
		if err == nil && !added {
			err = errors.New("enqueue: key exists")
		}
		return err
	})
	return m
}

func findMail(tb testing.TB, db store.DB, id int64) *vend.Mail {
	tb.Helper()
	var m *vend.Mail
	mustView(tb, db, func(tx store.Tx) error {
		var err error
		m, err = tx.FindMailByID(context.Background(), id)
		return err
	})
	return m
}

func pageURL(publicID string) string { return "https://shop.test/d/" + publicID + "SIGNED" }

// env is a store, an SMTP server and a worker sending to it.
type env struct {
	Clock  *testclock.Clock
	DB     *sqlite.DB
	SMTP   *smtptest.Server
	Worker *mailer.Worker
	Log    *bytes.Buffer
}

func newEnv(tb testing.TB) *env {
	tb.Helper()
	e := &env{Clock: testclock.New(time.Date(2026, time.March, 2, 14, 5, 0, 0, time.UTC)), Log: &bytes.Buffer{}}
	e.DB = MustOpenDB(tb, e.Clock.Now)
	e.SMTP = smtptest.Start(tb, "127.0.0.1:0", nil, false)
	e.Worker = newWorker(tb, e, e.SMTP.Addr, "")
	return e
}

func newWorker(tb testing.TB, e *env, addr, overrides string) *mailer.Worker {
	tb.Helper()
	sender, err := mailer.NewSMTP(mailer.SMTPConfig{URL: "smtp://" + addr, StartTLS: "none", Timeout: 5 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	tm, err := mailer.Load(overrides)
	if err != nil {
		tb.Fatal(err)
	}
	return &mailer.Worker{DB: e.DB, Sender: sender, Templates: tm, PageURL: pageURL,
		From: "Example Books <shop@books.test>", ShopName: "Example Books", BaseURL: "https://shop.test",
		Logger: slog.New(slog.NewTextHandler(&syncWriter{w: e.Log}, nil)), Now: e.Clock.Now}
}

// syncWriter lets several goroutines log into one buffer.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (e *env) runOnce(tb testing.TB) int {
	tb.Helper()
	n, err := e.Worker.RunOnce(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return n
}
