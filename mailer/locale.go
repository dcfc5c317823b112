package mailer

import (
	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/locale"
)

// explain says in plain words why a message was sent: a pending reason, or why
// access ended. The sentences are locale's, so a page and a mail say the same.
func explain(l locale.Locale, kind vend.MailKind, code string) string {
	switch kind {
	case vend.MailPending:
		return l.PendingReason(code)
	case vend.MailEnded, vend.MailRefund, vend.MailChargeback:
		return l.EndReason(code)
	}
	return ""
}
