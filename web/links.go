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
	v := s.buyerView(pageLang(r, ""), "Get your download links again")
	s.render(w, r, http.StatusOK, "links", linksPage{view: v, Form: true, Paragraphs: []string{
		v.T("Enter the email address you bought with. If it bought anything here, we send it one email " +
			"with fresh links to every download that is still open.")}})
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
	lang := locale.Accept(r.Header.Get("Accept-Language"))
	v := s.buyerView(lang, "Get your download links again")
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email || len(email) > 254 {
		s.render(w, r, http.StatusBadRequest, "links", linksPage{view: v, Form: true, Email: email, Paragraphs: []string{
			v.T("That does not look like an email address. Please check it and try again.")}})
		return nil
	}
	if !s.Ledger.Mail {
		v.Help = true
		s.render(w, r, http.StatusOK, "links", linksPage{view: v, Paragraphs: []string{
			v.T("This shop does not send email from here. Please write to the seller for your links.")}})
		return nil
	}
	now := s.Now()
	if s.linksPerIP.allow(r.RemoteAddr, now) && s.linksPerEmail.allow(strings.ToLower(email), now) {
		if err := s.Ledger.RequestLinks(context.WithoutCancel(r.Context()), email, lang, rand.Text()); err != nil {
			return err
		}
	} else {
		s.Logger.Warn("links request over budget", "remote", r.RemoteAddr)
		s.refused("links")
	}
	v.Title, v.Help = v.T("Check your inbox"), true
	s.render(w, r, http.StatusOK, "links", linksPage{view: v, Paragraphs: []string{
		v.T("If this address bought anything here, an email with fresh download links is on its way. " +
			"It can take a few minutes; please also look in your spam folder."),
		v.T("No email? Then the purchase was made with another address, or its downloads have ended: please write to the seller.")}})
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
	Email      string // as typed, to correct it
}

// initLinks sets up the resend page's budgets.
func (s *Server) initLinks() {
	s.linksPerEmail.rate, s.linksPerEmail.burst = rate.Every(linksPerEmailEvery), linksPerEmailBurst
	s.linksPerIP.rate, s.linksPerIP.burst = rate.Every(linksPerIPEvery), linksPerIPBurst
}
