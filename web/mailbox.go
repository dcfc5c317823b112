package web

import (
	"net/http"

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
	list, err := mb.List(r.Context())
	if err != nil {
		return err
	}
	s.renderAdmin(w, r, http.StatusOK, "admin-mailbox", "Mailbox", "mailbox", struct {
		Messages []*mailer.MailboxEntry
		Keep     int
	}{list, mb.Capacity()})
	return nil
}

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
