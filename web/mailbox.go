package web

import (
	"net/http"
	"net/url"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/mailer"
)

// mailboxAdmin shows the development mailbox (smtp.url "mailbox:"): the mail
// vend would have sent, for a demo or a seller trying templates before going
// live.
type mailboxAdmin struct{ *Server }

// mailbox is the Server's mailbox, or the reason there is none to show.
func (s mailboxAdmin) mailbox() (*mailer.Mailbox, error) {
	if s.Mailbox == nil {
		return nil, vend.Errorf(vend.ENOTFOUND, `There is no mailbox: mail goes out as smtp.url says. Set smtp.url = "mailbox:" to keep it here instead.`)
	}
	return s.Mailbox, nil
}

func (s mailboxAdmin) handleMailbox(w http.ResponseWriter, r *http.Request) error {
	mb, err := s.mailbox()
	if err != nil {
		return err
	}
	list, next, err := mb.ListPage(r.Context(), r.URL.Query().Get("before"), mailboxPerPage)
	if err != nil {
		return err
	}
	v := struct {
		Messages []*mailer.MailboxEntry
		Keep     int
		Next     string // the older messages' page, or ""
	}{Messages: list, Keep: mb.Capacity()}
	if next != "" {
		v.Next = "/admin/mailbox?" + url.Values{"before": {next}}.Encode()
	}
	s.renderAdmin(w, r, http.StatusOK, "admin-mailbox", "Mailbox", "mailbox", v)
	return nil
}

// mailboxPerPage is how many messages a page of the mailbox lists.
const mailboxPerPage = 50

// handleMailboxMessage shows one message: its headers and text as text, its
// HTML part as source and rendered in a sandboxed frame without scripts.
func (s mailboxAdmin) handleMailboxMessage(w http.ResponseWriter, r *http.Request) error {
	mb, err := s.mailbox()
	if err != nil {
		return err
	}
	m, err := mb.Read(r.PathValue("id"))
	if err != nil {
		return err
	}
	s.renderAdmin(w, r, http.StatusOK, "admin-mailbox-message", m.Subject, "mailbox", m)
	return nil
}

// handleMailboxRaw answers the message's .eml file, to open in a mail client.
func (s mailboxAdmin) handleMailboxRaw(w http.ResponseWriter, r *http.Request) error {
	mb, err := s.mailbox()
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	raw, err := mb.Raw(id)
	if err != nil {
		return err
	}
	h := w.Header()
	// A download, never a page: the browser neither renders nor sniffs it.
	h.Set("Content-Type", "message/rfc822")
	h.Set("Content-Disposition", `attachment; filename="`+id+`.eml"`)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.Write(raw)
	return nil
}
