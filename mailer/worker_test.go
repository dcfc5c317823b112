package mailer_test

import (
	"context"
	"errors"
	"mime"
	"net/mail"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/mailer"
	"github.com/vend-shop/vend/mailer/smtptest"
	"github.com/vend-shop/vend/store"
)

func receiptFor(f *fixture, lang string) *vend.Mail {
	return &vend.Mail{Key: "receipt:" + f.Order.Ref, Kind: vend.MailReceipt, To: f.Order.Buyer.Email, Language: lang, OrderID: f.Order.ID}
}

func TestWorker_Receipt(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t)
		saveProduct(t, e.DB, "go-handbook", "The Go Handbook")
		f := createOrder(t, e.DB, orderOpts{Name: "Alex Example", ExpiresAt: e.Clock.Now().Add(30 * 24 * time.Hour)})
		m := enqueue(t, e.DB, receiptFor(f, ""))
		if n := e.runOnce(t); n != 1 {
			t.Fatalf("RunOnce sent %d, want 1", n)
		}
		msgs := e.SMTP.Messages()
		if len(msgs) != 1 {
			t.Fatalf("server got %d messages, want 1", len(msgs))
		}
		if msgs[0].From != "shop@books.test" || len(msgs[0].To) != 1 || msgs[0].To[0] != "buyer@example.com" {
			t.Errorf("envelope from %q to %q", msgs[0].From, msgs[0].To)
		}
		p := parse(t, msgs[0].Data)
		if got := p.Header.Get("To"); !strings.Contains(got, "buyer@example.com") {
			t.Errorf("To: %q", got)
		}
		if got := p.Header.Get("From"); !strings.Contains(got, "shop@books.test") || !strings.Contains(got, "Example Books") {
			t.Errorf("From: %q", got)
		}
		if got := p.Subject(t); got != "Your download from Example Books" {
			t.Errorf("Subject: %q", got)
		}
		if got := p.Header.Get("Auto-Submitted"); got != "auto-generated" {
			t.Errorf("Auto-Submitted: %q", got)
		}
		if id := p.Header.Get("Message-Id"); !strings.HasSuffix(id, "@books.test>") {
			t.Errorf("Message-ID: %q", id)
		}
		if d, err := p.Header.Date(); err != nil || !d.Equal(e.Clock.Now()) {
			t.Errorf("Date: %v, %v; want %v", d, err, e.Clock.Now())
		}
		page := pageURL(f.Grant.PublicID)
		for _, want := range []string{page, "go-handbook.pdf", "go-handbook.epub", "4.7 MB", strings.Repeat("ab", 32),
			"Downloads left: 4 of 5", "Available until: April 1, 2026, 14:05 UTC", "Hello Alex Example"} {
			if !strings.Contains(p.Text, want) {
				t.Errorf("plain part lacks %q:\n%s", want, p.Text)
			}
		}
		for _, want := range []string{`href="` + page + `"`, "go-handbook.pdf", `lang="en"`} {
			if !strings.Contains(p.HTML, want) {
				t.Errorf("HTML part lacks %q:\n%s", want, p.HTML)
			}
		}
		// Links land on the page, never on a file; the storage key never shows.
		for _, part := range []string{p.Text, p.HTML} {
			if strings.Contains(part, "secret-blob-key") || strings.Contains(part, page+"/") {
				t.Errorf("a part links to a file or shows a storage key:\n%s", part)
			}
		}
		got := findMail(t, e.DB, m.ID)
		if got.Status != vend.MailSent || !got.SentAt.Equal(e.Clock.Now()) || got.Attempts != 1 || got.LastError != "" {
			t.Errorf("outbox row after sending: %+v", got)
		}
		if n := e.runOnce(t); n != 0 || len(e.SMTP.Messages()) != 1 {
			t.Errorf("a second run sent %d more", n)
		}
	})

	t.Run("German", func(t *testing.T) {
		e := newEnv(t)
		saveProduct(t, e.DB, "go-handbook", "The Go Handbook")
		f := createOrder(t, e.DB, orderOpts{Name: "Erika Mustermann"})
		enqueue(t, e.DB, receiptFor(f, "de_DE"))
		e.runOnce(t)
		msgs := e.SMTP.Messages()
		if len(msgs) != 1 {
			t.Fatalf("server got %d messages", len(msgs))
		}
		p := parse(t, msgs[0].Data)
		if got := p.Subject(t); got != "Ihr Download von Example Books" {
			t.Errorf("Subject: %q", got)
		}
		for _, want := range []string{"Guten Tag Erika Mustermann", "Download-Seite: " + pageURL(f.Grant.PublicID), "4,7 MB",
			"Verbleibende Downloads: 4 von 5", "ohne zeitliche Begrenzung"} {
			if !strings.Contains(p.Text, want) {
				t.Errorf("plain part lacks %q:\n%s", want, p.Text)
			}
		}
		if !strings.Contains(p.HTML, `lang="de"`) || !strings.Contains(p.HTML, "Zur Download-Seite") {
			t.Errorf("HTML part is not German:\n%s", p.HTML)
		}
		if got := p.Header.Get("Content-Language"); got != "de" {
			t.Errorf("Content-Language: %q", got)
		}
	})

	t.Run("HTML escapes what buyers type", func(t *testing.T) {
		e := newEnv(t)
		saveProduct(t, e.DB, "go-handbook", "The Go Handbook")
		name := `<script>alert(1)</script>`
		product := `"><img src=x onerror=alert(1)>`
		f := createOrder(t, e.DB, orderOpts{Name: name, ProductName: product})
		enqueue(t, e.DB, receiptFor(f, "en"))
		e.runOnce(t)
		msgs := e.SMTP.Messages()
		if len(msgs) != 1 {
			t.Fatalf("server got %d messages", len(msgs))
		}
		p := parse(t, msgs[0].Data)
		for _, bad := range []string{"<script", "<img", "onerror=alert(1)>"} {
			if strings.Contains(p.HTML, bad) {
				t.Errorf("HTML part contains %q:\n%s", bad, p.HTML)
			}
		}
		for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;img src=x onerror=alert(1)&gt;"} {
			if !strings.Contains(p.HTML, want) {
				t.Errorf("HTML part lacks the escaped %q:\n%s", want, p.HTML)
			}
		}
		if !strings.Contains(p.Text, "Hello "+name) || !strings.Contains(p.Text, product) {
			t.Errorf("plain part should show the values as typed:\n%s", p.Text)
		}
	})

	t.Run("access ended before sending: skipped", func(t *testing.T) {
		e := newEnv(t)
		saveProduct(t, e.DB, "go-handbook", "The Go Handbook")
		f := createOrder(t, e.DB, orderOpts{GrantState: vend.GrantRevoked})
		m := enqueue(t, e.DB, receiptFor(f, ""))
		e.runOnce(t)
		if got := findMail(t, e.DB, m.ID); got.Status != vend.MailSkipped || got.LastError == "" {
			t.Errorf("outbox row: %+v", got)
		}
		if n := len(e.SMTP.Messages()); n != 0 {
			t.Errorf("server got %d messages", n)
		}
	})

	t.Run("a receipt without an order: failed at once", func(t *testing.T) {
		e := newEnv(t)
		m := enqueue(t, e.DB, &vend.Mail{Key: "receipt:x", Kind: vend.MailReceipt, To: "buyer@example.com", OrderID: 0})
		e.runOnce(t)
		if got := findMail(t, e.DB, m.ID); got.Status != vend.MailFailed || got.Attempts != 1 {
			t.Errorf("outbox row: %+v", got)
		}
	})
}

// TestWorker_ShopName checks that the shop's name, not the host, is what the
// buyer reads in the subject and as the sender.
func TestWorker_ShopName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, from, shop, wantFrom, wantSubject string
	}{
		{"bare address gets the shop's name", "shop@books.test", "Bücher & Co", "Bücher & Co <shop@books.test>",
			"Your download from Bücher & Co"},
		{"the seller's own display name wins", "Books Mail <shop@books.test>", "Example Books", "Books Mail <shop@books.test>",
			"Your download from Example Books"},
		{"no shop name: the host", "shop@books.test", "", "<shop@books.test>", "Your download from shop.test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.Worker.From, e.Worker.ShopName = tt.from, tt.shop
			saveProduct(t, e.DB, "go-handbook", "The Go Handbook")
			f := createOrder(t, e.DB, orderOpts{Name: "Alex Example"})
			enqueue(t, e.DB, receiptFor(f, ""))
			if n := e.runOnce(t); n != 1 {
				t.Fatalf("RunOnce sent %d, want 1", n)
			}
			p := parse(t, e.SMTP.Messages()[0].Data)
			from, err := new(mime.WordDecoder).DecodeHeader(p.Header.Get("From"))
			if err != nil {
				t.Fatal(err)
			}
			if a, err := mail.ParseAddress(from); err != nil || a.String() != mustAddress(t, tt.wantFrom).String() {
				t.Errorf("From: %q, want %q", from, tt.wantFrom)
			}
			if got := p.Subject(t); got != tt.wantSubject {
				t.Errorf("Subject: %q, want %q", got, tt.wantSubject)
			}
		})
	}
}

func mustAddress(tb testing.TB, s string) *mail.Address {
	tb.Helper()
	a, err := mail.ParseAddress(s)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

func TestWorker_SMTPDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	addr := freeAddr(t)
	e.Worker = newWorker(t, e, addr, "")
	saveProduct(t, e.DB, "go-handbook", "The Go Handbook")
	f := createOrder(t, e.DB, orderOpts{})
	m := enqueue(t, e.DB, receiptFor(f, ""))

	var waits []time.Duration
	for i := range 3 {
		before := e.Clock.Now()
		if n := e.runOnce(t); n != 0 {
			t.Fatalf("attempt %d sent %d with no server", i+1, n)
		}
		got := findMail(t, e.DB, m.ID)
		if got.Status != vend.MailQueued || got.Attempts != i+1 {
			t.Fatalf("after attempt %d: %+v", i+1, got)
		}
		if !strings.Contains(got.LastError, "connect") || !strings.Contains(got.LastError, addr) {
			t.Errorf("LastError %q should say the server could not be reached", got.LastError)
		}
		waits = append(waits, got.NextAttempt.Sub(before))
		// Not due yet: nothing happens.
		e.Clock.Add(waits[i] - time.Second)
		e.runOnce(t)
		if got := findMail(t, e.DB, m.ID); got.Attempts != i+1 {
			t.Fatalf("a message was tried before it was due: %+v", got)
		}
		e.Clock.Add(time.Second)
	}
	if want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute}; !equalDurations(waits, want) {
		t.Errorf("waits %v, want %v", waits, want)
	}

	// The server comes up on that address: the message goes out, once.
	srv := smtptest.Start(t, addr, nil, false)
	if n := e.runOnce(t); n != 1 {
		t.Fatalf("sent %d once the server is up", n)
	}
	for range 3 {
		e.Clock.Add(time.Hour)
		e.runOnce(t)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("server got %d messages, want exactly 1", n)
	}
	if got := findMail(t, e.DB, m.ID); got.Status != vend.MailSent || got.Attempts != 4 {
		t.Errorf("outbox row: %+v", got)
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestWorker_RetryTimeExhausted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.Worker = newWorker(t, e, freeAddr(t), "")
	e.Worker.RetryFor = 10 * time.Minute
	e.Worker.MaxBackoff = 4 * time.Minute
	saveProduct(t, e.DB, "go-handbook", "The Go Handbook")
	f := createOrder(t, e.DB, orderOpts{})
	m := enqueue(t, e.DB, receiptFor(f, ""))
	deadline := m.CreatedAt.Add(10 * time.Minute)

	var got *vend.Mail
	for range 20 {
		e.runOnce(t)
		got = findMail(t, e.DB, m.ID)
		if got.Status != vend.MailQueued {
			break
		}
		if got.NextAttempt.After(deadline) {
			t.Fatalf("next attempt %v is after the retry time ends (%v)", got.NextAttempt, deadline)
		}
		e.Clock.Set(got.NextAttempt)
	}
	if got.Status != vend.MailFailed {
		t.Fatalf("after retrying: %+v", got)
	}
	if e.Clock.Now().Before(deadline) {
		t.Errorf("failed at %v, before the retry time ended at %v", e.Clock.Now(), deadline)
	}
	// 30s, 1m, 2m, 4m, then the last try at the deadline (10m).
	if got.Attempts != 6 || got.LastError == "" {
		t.Errorf("outbox row: %+v", got)
	}
	if log := e.Log.String(); !strings.Contains(log, "level=ERROR") || !strings.Contains(log, "gave up") {
		t.Errorf("the failure is not logged at error level:\n%s", log)
	}
}

func TestWorker_Refused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		reply  *smtp.SMTPError
		status vend.MailStatus
	}{
		{"5xx fails at once", &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}, vend.MailFailed},
		{"4xx is retried", &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later"}, vend.MailQueued},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.SMTP.SetReject(tc.reply)
			saveProduct(t, e.DB, "go-handbook", "The Go Handbook")
			f := createOrder(t, e.DB, orderOpts{})
			m := enqueue(t, e.DB, receiptFor(f, ""))
			e.runOnce(t)
			got := findMail(t, e.DB, m.ID)
			if got.Status != tc.status || got.Attempts != 1 || !strings.Contains(got.LastError, tc.reply.Message) {
				t.Errorf("outbox row: %+v", got)
			}
			if tc.status == vend.MailFailed && !strings.Contains(e.Log.String(), "level=ERROR") {
				t.Errorf("a permanent failure is not logged at error level:\n%s", e.Log)
			}
		})
	}
}

// crashDB fails recording a message's outcome, as if vend died between the SMTP
// server's accept and the bookkeeping.
type crashDB struct{ store.DB }

func (db crashDB) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	return db.DB.Update(ctx, func(tx store.Tx) error { return fn(crashTx{tx}) })
}

type crashTx struct{ store.Tx }

func (crashTx) UpdateMail(context.Context, *vend.Mail) error { return errors.New("killed") }

func TestWorker_SameMessageIDAfterCrash(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	saveProduct(t, e.DB, "go-handbook", "The Go Handbook")
	f := createOrder(t, e.DB, orderOpts{})
	m := enqueue(t, e.DB, receiptFor(f, ""))
	e.Worker.DB = crashDB{e.DB}
	if _, err := e.Worker.RunOnce(context.Background()); err == nil {
		t.Fatal("RunOnce hid a failed bookkeeping")
	}
	e.Worker.DB = e.DB
	if n := e.runOnce(t); n != 0 {
		t.Fatalf("a claimed message was sent again within its lease")
	}
	e.Clock.Add(mailer.DefaultLease)
	if n := e.runOnce(t); n != 1 {
		t.Fatalf("the message was not sent again after the lease")
	}
	msgs := e.SMTP.Messages()
	if len(msgs) != 2 {
		t.Fatalf("server got %d messages, want 2", len(msgs))
	}
	a, b := parse(t, msgs[0].Data).Header.Get("Message-Id"), parse(t, msgs[1].Data).Header.Get("Message-Id")
	if a == "" || a != b {
		t.Errorf("Message-IDs %q and %q differ", a, b)
	}
	// The outbox keeps the Message-ID the buyer's copy carries (evidence).
	if got := findMail(t, e.DB, m.ID); got.Status != vend.MailSent || "<"+got.MessageID+">" != a {
		t.Errorf("outbox row: %+v, want Message-ID %s", got, a)
	}
}

func TestWorker_Links(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t)
		saveProduct(t, e.DB, "go-handbook", "The Go Handbook")
		saveProduct(t, e.DB, "audio", "Audio Course")
		saveProduct(t, e.DB, "old", "Old Thing")
		active := createOrder(t, e.DB, orderOpts{Email: "Buyer@Example.com", Name: "Alex"})
		other := createOrder(t, e.DB, orderOpts{Email: "buyer@example.com", Product: "audio", ProductName: "Audio Course"})
		revoked := createOrder(t, e.DB, orderOpts{Product: "old", ProductName: "Old Thing", GrantState: vend.GrantRevoked})
		expired := createOrder(t, e.DB, orderOpts{ProductName: "Expired copy", ExpiresAt: e.Clock.Now().Add(-time.Hour)})
		stranger := createOrder(t, e.DB, orderOpts{Email: "someone@example.com"})
		m := enqueue(t, e.DB, &vend.Mail{Key: "links:1", Kind: vend.MailLinks, To: "buyer@example.com"})
		if n := e.runOnce(t); n != 1 {
			t.Fatalf("sent %d", n)
		}
		p := parse(t, e.SMTP.Messages()[0].Data)
		for _, want := range []string{pageURL(active.Grant.PublicID), pageURL(other.Grant.PublicID), "The Go Handbook", "Audio Course"} {
			if !strings.Contains(p.Text, want) {
				t.Errorf("links lack %q:\n%s", want, p.Text)
			}
		}
		for _, f := range []*fixture{revoked, expired, stranger} {
			if strings.Contains(p.Text, f.Grant.PublicID) || strings.Contains(p.HTML, f.Grant.PublicID) {
				t.Errorf("links include grant of %s (%s)", f.Order.Ref, f.Item.Name)
			}
		}
		if got := findMail(t, e.DB, m.ID); got.Status != vend.MailSent {
			t.Errorf("outbox row: %+v", got)
		}
	})

	t.Run("an address without usable purchases: skipped", func(t *testing.T) {
		e := newEnv(t)
		saveProduct(t, e.DB, "go-handbook", "The Go Handbook")
		createOrder(t, e.DB, orderOpts{Email: "refunded@example.com", GrantState: vend.GrantRevoked})
		for _, to := range []string{"nobody@example.com", "refunded@example.com"} {
			m := enqueue(t, e.DB, &vend.Mail{Key: "links:" + to, Kind: vend.MailLinks, To: to})
			e.runOnce(t)
			if got := findMail(t, e.DB, m.ID); got.Status != vend.MailSkipped || got.LastError == "" {
				t.Errorf("%s: outbox row %+v", to, got)
			}
		}
		if n := len(e.SMTP.Messages()); n != 0 {
			t.Errorf("server got %d messages", n)
		}
	})
}

func TestWorker_OtherKinds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		order   orderOpts
		mail    func(f *fixture) *vend.Mail
		subject string
		want    []string
		links   bool // whether the message may link to the download page
	}{
		{name: "pending says why", order: orderOpts{Status: vend.OrderPending, Reason: "echeck", NoGrant: true},
			mail: func(f *fixture) *vend.Mail {
				return &vend.Mail{Kind: vend.MailPending, To: f.Order.Buyer.Email, OrderID: f.Order.ID}
			},
			subject: "Your order at Example Books: payment pending", want: []string{"eCheck", "The Go Handbook"}},
		{name: "ended has no links", order: orderOpts{Status: vend.OrderRefunded, GrantState: vend.GrantRevoked},
			mail: func(f *fixture) *vend.Mail {
				return &vend.Mail{Kind: vend.MailEnded, To: f.Order.Buyer.Email, OrderID: f.Order.ID, Data: map[string]string{vend.MailDataReason: "refund"}}
			},
			subject: "Your downloads from Example Books have ended", want: []string{"The payment was refunded.", "The Go Handbook"}},
		{name: "new version links to the page", order: orderOpts{},
			mail: func(f *fixture) *vend.Mail {
				return &vend.Mail{Kind: vend.MailNewVersion, To: f.Order.Buyer.Email, OrderID: f.Order.ID,
					Data: map[string]string{vend.MailDataProduct: "go-handbook", vend.MailDataVersion: "2.0"}}
			},
			subject: "New version of The Go Handbook: 2.0", want: []string{"go-handbook.epub"}, links: true},
		{name: "owner sale", order: orderOpts{Name: "Alex"},
			mail: func(f *fixture) *vend.Mail {
				return &vend.Mail{Kind: vend.MailSale, To: "owner@books.test", OrderID: f.Order.ID}
			},
			subject: "[Example Books] Sale: 19.00 EUR, The Go Handbook", want: []string{"Alex <buyer@example.com>", "paypal PAY-"}},
		{name: "owner chargeback", order: orderOpts{Status: vend.OrderReversed, GrantState: vend.GrantRevoked},
			mail: func(f *fixture) *vend.Mail {
				return &vend.Mail{Kind: vend.MailChargeback, To: "owner@books.test", OrderID: f.Order.ID, Data: map[string]string{vend.MailDataAmount: "-19.00"}}
			},
			subject: "[Example Books] Chargeback: order 1, 19.00 EUR", want: []string{"Taken back: 19.00 EUR"}},
		{name: "owner forgeries", order: orderOpts{},
			mail: func(*fixture) *vend.Mail {
				return &vend.Mail{Kind: vend.MailForgeries, To: "owner@books.test",
					Data: map[string]string{vend.MailDataProvider: "paypal", vend.MailDataCount: "17", vend.MailDataSince: "2026-03-02T13:00:00Z"}}
			},
			subject: "[Example Books] 17 paypal notifications failed verification", want: []string{"since March 2, 2026, 13:00 UTC"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			saveProduct(t, e.DB, "go-handbook", "The Go Handbook")
			f := createOrder(t, e.DB, tc.order)
			m := tc.mail(f)
			m.Key = tc.name
			enqueue(t, e.DB, m)
			if n := e.runOnce(t); n != 1 {
				t.Fatalf("sent %d; outbox row %+v", n, findMail(t, e.DB, m.ID))
			}
			msg := e.SMTP.Messages()[0]
			if msg.To[0] != m.To {
				t.Errorf("sent to %v, want %s", msg.To, m.To)
			}
			p := parse(t, msg.Data)
			if got := p.Subject(t); got != tc.subject {
				t.Errorf("Subject %q, want %q", got, tc.subject)
			}
			for _, want := range tc.want {
				if !strings.Contains(p.Text, want) {
					t.Errorf("plain part lacks %q:\n%s", want, p.Text)
				}
			}
			hasLink := strings.Contains(p.Text, "https://shop.test/d/") || strings.Contains(p.HTML, "https://shop.test/d/")
			if hasLink != tc.links {
				t.Errorf("download page link present: %v, want %v:\n%s\n%s", hasLink, tc.links, p.Text, p.HTML)
			}
		})
	}
}

func TestWorker_PendingAfterPaymentIsSkipped(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	saveProduct(t, e.DB, "go-handbook", "The Go Handbook")
	f := createOrder(t, e.DB, orderOpts{Status: vend.OrderPaid})
	m := enqueue(t, e.DB, &vend.Mail{Key: "pending", Kind: vend.MailPending, To: f.Order.Buyer.Email, OrderID: f.Order.ID})
	e.runOnce(t)
	if got := findMail(t, e.DB, m.ID); got.Status != vend.MailSkipped {
		t.Errorf("outbox row: %+v", got)
	}
}

// countingSender counts messages and fails while fail is set.
type countingSender struct {
	n    atomic.Int32
	fail atomic.Bool
	sent chan *mailer.Message
}

func (s *countingSender) Send(_ context.Context, m *mailer.Message) error {
	if s.fail.Load() {
		return errors.New("no")
	}
	s.n.Add(1)
	s.sent <- m
	return nil
}

func TestWorker_Run(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	saveProduct(t, e.DB, "go-handbook", "The Go Handbook")
	sender := &countingSender{sent: make(chan *mailer.Message, 10)}
	e.Worker.Sender = sender
	e.Worker.Poll = time.Hour // only Kick wakes it
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.Worker.Run(ctx) }()

	f := createOrder(t, e.DB, orderOpts{})
	enqueue(t, e.DB, receiptFor(f, ""))
	e.Worker.Kick()
	e.Worker.Kick() // never blocks
	select {
	case m := <-sender.sent:
		if m.To != f.Order.Buyer.Email {
			t.Errorf("sent to %s", m.To)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Kick did not wake the worker")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return when its context ended")
	}
	if n := sender.n.Load(); n != 1 {
		t.Errorf("sent %d", n)
	}
}

func TestWorker_Requeue(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	saveProduct(t, e.DB, "go-handbook", "The Go Handbook")
	f := createOrder(t, e.DB, orderOpts{})
	m := enqueue(t, e.DB, receiptFor(f, ""))
	e.SMTP.SetReject(&smtp.SMTPError{Code: 550, Message: "Mailbox full"})
	e.runOnce(t)
	if got := findMail(t, e.DB, m.ID); got.Status != vend.MailFailed {
		t.Fatalf("outbox row: %+v", got)
	}
	e.SMTP.SetReject(nil)
	if err := e.Worker.Requeue(context.Background(), m.ID); err != nil {
		t.Fatal(err)
	}
	if n := e.runOnce(t); n != 1 {
		t.Fatalf("a requeued message was not sent")
	}
	if err := e.Worker.Requeue(context.Background(), m.ID); vend.ErrorCode(err) != vend.ECONFLICT {
		t.Errorf("requeueing a sent message: %v", err)
	}
}

// TestWorker_LicenseAndRenewal: a receipt lists the item's licence keys, and
// a renewal note says when the buyer's updates ended and where to renew,
// with the link to the versions they keep.
func TestWorker_LicenseAndRenewal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := saveProduct(t, e.DB, "go-handbook", "The Go Handbook")
	f := createOrder(t, e.DB, orderOpts{Name: "Alex Example"})
	ended := e.Clock.Now().Add(-24 * time.Hour)
	mustUpdate(t, e.DB, func(tx store.Tx) error {
		f.Grant.UpdatesUntil = ended
		if err := tx.UpdateGrant(context.Background(), f.Grant); err != nil {
			return err
		}
		p.RenewURL = "https://books.test/renew"
		if err := tx.SaveProduct(context.Background(), p); err != nil {
			return err
		}
		return tx.CreateLicense(context.Background(), &vend.License{GrantID: f.Grant.ID, OrderID: f.Order.ID, ItemID: f.Grant.ItemID,
			ProductID: "go-handbook", Key: "K7M2Q-9RTWX-4HZPC-8NDFA", ActivationLimit: 3}, vend.KeyHash("K7M2Q-9RTWX-4HZPC-8NDFA"))
	})
	enqueue(t, e.DB, receiptFor(f, ""))
	enqueue(t, e.DB, &vend.Mail{Key: "renewal:1", Kind: vend.MailRenewal, To: f.Order.Buyer.Email, OrderID: f.Order.ID,
		Data: map[string]string{vend.MailDataProduct: "go-handbook", vend.MailDataVersion: "3.0"}})
	if n := e.runOnce(t); n != 2 {
		t.Fatalf("sent %d, want 2", n)
	}
	for _, msg := range e.SMTP.Messages() {
		p := parse(t, msg.Data)
		switch subject := p.Subject(t); {
		case strings.HasPrefix(subject, "Your download"):
			for _, want := range []string{"Licence key: K7M2Q-9RTWX-4HZPC-8NDFA", "Installations at once: 3"} {
				if !strings.Contains(p.Text, want) || !strings.Contains(p.HTML, "K7M2Q-9RTWX-4HZPC-8NDFA") {
					t.Errorf("the receipt lacks %q:\n%s", want, p.Text)
				}
			}
		case subject == "New version of The Go Handbook: 3.0":
			for _, want := range []string{"ended on " + ended.Format("January 2, 2006"), "https://books.test/renew", pageURL(f.Grant.PublicID)} {
				if !strings.Contains(p.Text, want) {
					t.Errorf("the renewal note lacks %q:\n%s", want, p.Text)
				}
			}
			if !strings.Contains(p.HTML, `href="https://books.test/renew"`) {
				t.Errorf("the renewal note's HTML has no renewal link:\n%s", p.HTML)
			}
		default:
			t.Errorf("unexpected message %q", subject)
		}
	}
}
