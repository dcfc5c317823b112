package web

import (
	"context"
	"crypto/rand"
	"mime"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/locale"
)

// handleLinksForm shows the "send me my links again" form.
func (s buyerPages) handleLinksForm(w http.ResponseWriter, r *http.Request) error {
	s.render(w, r, http.StatusOK, "links", linksPage{
		view: view{Title: "Get your download links again"},
		Paragraphs: []string{"Enter the email address you bought with. If it bought anything here, we send it one email " +
			"with fresh links to every download that is still open."},
		Form: true,
	})
	return nil
}

// handleLinks takes a request for links. The answer is the same, in status,
// body and the work done before it, whether or not the address bought
// anything: the request is always queued, and the mail worker finds the
// purchases (or none, and sends nothing) when it sends. So the page cannot be
// used to learn who bought here.
func (s buyerPages) handleLinks(w http.ResponseWriter, r *http.Request) error {
	// A public form: read at most a small urlencoded body, whatever is sent.
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		return vend.Errorf(vend.EINVALID, "Send the form as the page does.")
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		return vend.Errorf(vend.ETOOLARGE, "That form is too large.")
	}
	email := strings.TrimSpace(r.PostForm.Get("email"))
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email || len(email) > 254 {
		s.render(w, r, http.StatusBadRequest, "links", linksPage{
			view:       view{Title: "Get your download links again"},
			Paragraphs: []string{"That does not look like an email address. Please check it and try again."},
			Form:       true,
		})
		return nil
	}
	if !s.Ledger.Mail {
		s.render(w, r, http.StatusOK, "links", linksPage{
			view:       view{Title: "Get your download links again"},
			Paragraphs: []string{"This shop does not send email from here. Please contact the seller for your links."},
		})
		return nil
	}
	now := s.Now()
	if s.linksPerIP.allow(r.RemoteAddr, now) && s.linksPerEmail.allow(strings.ToLower(email), now) {
		lang := locale.Accept(r.Header.Get("Accept-Language"))
		if err := s.Ledger.RequestLinks(context.WithoutCancel(r.Context()), email, lang, rand.Text()); err != nil {
			return err
		}
	} else {
		s.Logger.Warn("links request over budget", "remote", r.RemoteAddr)
	}
	s.render(w, r, http.StatusOK, "links", linksPage{
		view: view{Title: "Check your inbox"},
		Paragraphs: []string{"If this address bought anything here, an email with fresh download links is on its way. " +
			"It can take a few minutes; please also look in your spam folder.",
			"No email? Then the purchase was made with another address, or its downloads have ended: please contact the seller."},
	})
	return nil
}

// Budgets of the resend page: per address asked for, so nobody can flood a
// mailbox, and per client, so nobody can try addresses at speed.
const (
	linksPerEmailEvery = 20 * time.Minute // one more request for an address per this
	linksPerEmailBurst = 3
	linksPerIPEvery    = time.Minute
	linksPerIPBurst    = 10
)

type linksPage struct {
	view
	Paragraphs []string
	Form       bool
}

// initLinks sets up the resend page's budgets.
func (s *Server) initLinks() {
	s.linksPerEmail.rate, s.linksPerEmail.burst = rate.Every(linksPerEmailEvery), linksPerEmailBurst
	s.linksPerIP.rate, s.linksPerIP.burst = rate.Every(linksPerIPEvery), linksPerIPBurst
}
