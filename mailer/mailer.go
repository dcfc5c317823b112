// Package mailer sends the mail in vend's outbox: a Worker claims due messages,
// reads what each needs from the ledger, renders it from templates (a plain part
// with text/template and an HTML part with html/template) and hands it to a Sender;
// SMTP is a Sender over SMTP built with go-mail; Mailbox (smtp.url "mailbox:")
// keeps the messages as files for the admin to show instead of sending them.
//
// The ledger writes a vend.Mail row in the same transaction as the change that
// needs it; the worker sends it after the commit, outside any transaction, and
// records the outcome: sent, retried with exponential backoff, failed once the
// retry time has passed or at once on a permanent refusal, or skipped when there is
// nothing to send any more (a links request for an address without purchases).
//
// What a message may carry beyond its order is in vend.Mail.Data, under the keys
// vend.MailData* (the root's mail.go), which the ledger writes and read.go reads.
//
// # Templates
//
// Every kind of message (vend.MailKind: receipt, pending, ended, links,
// new-version, owner-sale, owner-refund, owner-chargeback, owner-forgeries) has,
// per language (en, de), two files embedded from templates/:
//
//	KIND.LANG.txt   the plain part (text/template); its first line is
//	                "Subject: …", the subject, and the rest is the body
//	KIND.LANG.html  the HTML part (html/template, which escapes what buyers type)
//
// A seller replaces any of them by putting a file of the same name into the
// override directory (the data directory's templates/). Load reads and checks
// them all at start: a syntax error, an unknown field or function, a missing
// "Subject:" line, or a file there whose name looks like a template but matches
// none (reciept.en.txt, receipt.fr.txt) fails Load with the file and line.
// `vend mail preview KIND` (Templates.Preview) shows one with sample data.
//
// Templates see a View. Besides the usual text/template functions they have date
// and datetime (a time.Time, in UTC), money (an amount and a currency) and size
// (bytes), formatted for the message's language. The message's language is
// Language(vend.Mail.Language): German for "de", "de-DE", "de_DE", English
// otherwise.
package mailer

import (
	"context"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/locale"
)

// Message is one rendered email, ready for a Sender.
type Message struct {
	From    string // "Shop <shop@example.com>" or a bare address
	To      string
	Subject string
	Text    string // the plain part
	HTML    string // the HTML alternative; "" sends plain text only
	// MessageID is the Message-ID without angle brackets. The worker derives it
	// from the outbox key, so a message sent again after a crash between the SMTP
	// server's accept and the bookkeeping carries the same id.
	MessageID string
	Date      time.Time
	Language  string // "en" or "de": Content-Language
	// Kind is what the message is, for the mailbox's list; it is not sent.
	Kind vend.MailKind
}

// Sender delivers a message. An error that is a *SendError with Permanent set
// fails the message at once; any other error is retried.
type Sender interface {
	Send(ctx context.Context, m *Message) error
}

// SendError is a failed delivery. Its message never contains credentials.
type SendError struct {
	Permanent bool   // the server refused the message for good (5xx, bad address)
	Code      int    // the SMTP reply code, 0 when there was none
	Msg       string // a sentence for the outbox's last error and the log
}

func (e *SendError) Error() string { return e.Msg }

// Language returns the template language for a buyer's language as a provider
// gives it: "de", "de-DE", "de_DE" (any case) give "de"; anything else "en".
func Language(s string) string { return locale.Language(s) }

// languages returns those with embedded templates; the first is the fallback.
func languages() []string { return locale.Languages() }
