package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/intake"
	"github.com/vend-shop/vend/store"
)

func withMail(s *Server) { s.Ledger.Mail = true }

func (e *testEnv) postLinks(email string, h http.Header) answer {
	e.tb.Helper()
	return e.Post("/links", "application/x-www-form-urlencoded", []byte(url.Values{"email": {email}}.Encode()), h)
}

// mails returns the outbox, newest first.
func (e *testEnv) mails() []*vend.Mail {
	e.tb.Helper()
	var out []*vend.Mail
	e.view(func(ctx context.Context, tx store.Tx) error {
		var err error
		out, err = tx.FindMails(ctx, store.MailFilter{Limit: 1000})
		return err
	})
	return out
}

func TestLinks_SameAnswerForBuyerAndStranger(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, withMail)
	e.MustPostIPN(sample(t, "p1"))
	buyer := e.Order(p1Txn).Buyer.Email
	before := len(e.mails())

	form := e.Get("/links")
	if form.Status != http.StatusOK || !strings.Contains(form.Body, `method="post" action="/links"`) {
		t.Fatalf("GET /links: %d\n%s", form.Status, form.Body)
	}
	a := e.postLinks(buyer, nil)
	b := e.postLinks("stranger@example.org", nil)
	if a.Status != http.StatusOK || a.Status != b.Status || a.Body != b.Body {
		t.Errorf("buyer got %d, stranger %d; bodies equal: %v\n%s", a.Status, b.Status, a.Body == b.Body, a.Body)
	}
	for _, h := range []string{"Content-Type", "Content-Length", "Cache-Control", "Set-Cookie"} {
		if a.Header.Get(h) != b.Header.Get(h) {
			t.Errorf("header %s differs: %q and %q", h, a.Header.Get(h), b.Header.Get(h))
		}
	}
	// The same work for both: one queued links request each, checked by the
	// mail worker only when it sends.
	ms := e.mails()
	if len(ms) != before+2 {
		t.Fatalf("%d new messages, want 2", len(ms)-before)
	}
	for i, want := range []string{"stranger@example.org", buyer} {
		if m := ms[i]; m.Kind != vend.MailLinks || m.To != want || m.Status != vend.MailQueued {
			t.Errorf("message %d: %+v, want a queued links request to %s", i, m, want)
		}
	}
}

func TestLinks_Budgets(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, withMail)
	first := e.postLinks("kunde@example.de", nil)
	for range linksPerEmailBurst - 1 {
		e.postLinks("Kunde@Example.de", nil)
	}
	over := e.postLinks("kunde@example.de", nil)
	if over.Status != first.Status || over.Body != first.Body {
		t.Errorf("a request over the address's budget answers differently: %d", over.Status)
	}
	if n := len(e.mails()); n != linksPerEmailBurst {
		t.Errorf("%d requests queued for one address, want %d", n, linksPerEmailBurst)
	}
	e.Clock.Add(linksPerEmailEvery)
	e.postLinks("kunde@example.de", nil)
	if n := len(e.mails()); n != linksPerEmailBurst+1 {
		t.Errorf("after the budget refilled: %d queued, want %d", n, linksPerEmailBurst+1)
	}
	// One client trying many addresses runs out too.
	for i := range linksPerIPBurst + 5 {
		e.postLinks("someone"+string(rune('a'+i))+"@example.org", nil)
	}
	if n := len(e.mails()); n > linksPerEmailBurst+1+linksPerIPBurst {
		t.Errorf("%d queued: one client got past its budget", n)
	}
}

func TestLinks_Refusals(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, withMail)
	for _, email := range []string{"", "not an address", "Jörg <kunde@example.de>", "a@b@example.com", strings.Repeat("a", 250) + "@example.de"} {
		if a := e.postLinks(email, nil); a.Status != http.StatusBadRequest || !strings.Contains(a.Body, "does not look like an email address") {
			t.Errorf("%q: %d", email, a.Status)
		}
	}
	// A form posted from another site is refused: nobody can make visitors of
	// their page ask for mail to arbitrary addresses.
	cross := e.postLinks("kunde@example.de", http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}})
	if cross.Status != http.StatusForbidden {
		t.Errorf("cross-site post: %d, want 403", cross.Status)
	}
	if n := len(e.mails()); n != 0 {
		t.Errorf("%d messages queued by refused requests", n)
	}
}

func TestDownloadPage_ButtonsNotLinks(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.MustPostIPN(sample(t, "p1"))
	g := e.Order(p1Txn).grant("EBOOK-001")
	page := e.Get(e.PagePath(g))
	// A link scanner follows every href on the page: none may lead to a file.
	for _, m := range hrefPattern.FindAllStringSubmatch(page.Body, -1) {
		if strings.HasPrefix(m[0], "href") && strings.HasPrefix(m[1], e.PagePath(g)+"/") {
			t.Errorf("the page links a file: %s", m[1])
		}
	}
	file := e.FilePath(g)
	if !strings.Contains(page.Body, `<form method="post" action="`+file+`">`) {
		t.Fatalf("no download button for %s:\n%s", file, page.Body)
	}
	a := e.Post(file, "application/x-www-form-urlencoded", nil, nil)
	if a.Status != http.StatusSeeOther || a.Header.Get("Location") != file {
		t.Errorf("button: %d to %q, want 303 to %s", a.Status, a.Header.Get("Location"), file)
	}
	e.Flush()
	if got := e.Grant(g.ID).DownloadsUsed; got != 0 {
		t.Errorf("pressing the button counted %d downloads before the file was fetched", got)
	}
	if f := e.Get(file); f.Status != http.StatusOK {
		t.Errorf("file: %d", f.Status)
	}
}

func TestForgeryBurst_OneOwnerNoticePerHour(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, withMail, func(s *Server) { s.Ledger.OwnerEmail = "owner@example.com" })
	forged := []byte("event=on_payment&order_id=X&product_id=512345&api_mode=test&sha_sign=00")
	for range intake.ForgeryBurst * 2 {
		e.Post("/ipn/digistore24", formType, forged, nil)
	}
	notices := func() (n int) {
		for _, m := range e.mails() {
			if m.Kind == vend.MailForgeries && m.To == "owner@example.com" && m.Data["provider"] == "digistore24" {
				n++
			}
		}
		return n
	}
	if n := notices(); n != 1 {
		t.Errorf("%d owner notices after %d forged messages, want 1", n, intake.ForgeryBurst*2)
	}
	e.Clock.Add(intake.ForgeryWindow)
	for range intake.ForgeryBurst {
		e.Post("/ipn/digistore24", formType, forged, nil)
	}
	if n := notices(); n != 2 {
		t.Errorf("%d owner notices after a second burst an hour later, want 2", n)
	}
}

func TestLinks_BodyIsSmallAndAForm(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, withMail)
	big := url.Values{"email": {"kunde@example.de"}, "pad": {strings.Repeat("x", 64<<10)}}.Encode()
	if a := e.Post("/links", "application/x-www-form-urlencoded", []byte(big), nil); a.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("a 64 KiB form: %d, want 413", a.Status)
	}
	small := url.Values{"email": {"kunde@example.de"}, "pad": {strings.Repeat("x", 8<<10)}}.Encode()
	if a := e.Post("/links", "application/x-www-form-urlencoded", []byte(small), nil); a.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("an 8 KiB form: %d, want 413", a.Status)
	}
	if a := e.Post("/links", "multipart/form-data; boundary=x", []byte("--x--"), nil); a.Status != http.StatusBadRequest {
		t.Errorf("a multipart form: %d, want 400", a.Status)
	}
	if n := len(e.mails()); n != 0 {
		t.Errorf("%d messages queued by refused forms", n)
	}
}
