package ledger

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// orderOutbox is what enqueueing an event's mail needs: the order, for its
// buyer and status, and the outbox.
type orderOutbox interface {
	store.Orders
	store.Outbox
}

// enqueueMail writes the mail an applied event asks for into the outbox, in the
// event's own transaction: a crash can then neither lose it nor send it for a
// change that was rolled back. Keys are (kind, event, recipient), so an event
// applied once yields each message once, and a grant is created only once, so it
// never yields two receipts.
func (l *Ledger) enqueueMail(ctx context.Context, tx orderOutbox, ev vend.Event, res *Result) error {
	if !l.Mail || res.Verdict != vend.VerdictApplied || res.OrderID == 0 {
		return nil
	}
	o, err := tx.FindOrderByID(ctx, res.OrderID)
	if err != nil {
		return err
	}
	buyer := strings.TrimSpace(o.Buyer.Email)
	lang := firstOf(ev.Language, o.Language) // a refund message seldom says it; the order remembers
	var mails []*vend.Mail
	add := func(kind vend.MailKind, to string, data map[string]string) {
		if to == "" {
			return
		}
		if ev.ProductID != "" {
			data["product"] = ev.ProductID // one message per item (Digistore24's upsells)
		}
		mails = append(mails, &vend.Mail{Key: mailKey(kind, ev, to), Kind: kind, To: to, Language: lang, OrderID: o.ID, Data: data})
	}
	if len(res.Granted) > 0 {
		add(vend.MailReceipt, buyer, map[string]string{vend.MailDataGrants: ids(res.Granted)})
		add(vend.MailSale, l.OwnerEmail, map[string]string{vend.MailDataGrants: ids(res.Granted)})
	}
	if ev.Kind == vend.EventPending && o.Status == vend.OrderPending {
		add(vend.MailPending, buyer, map[string]string{vend.MailDataReason: ev.Reason})
	}
	if len(res.Ended) > 0 {
		add(vend.MailEnded, buyer, map[string]string{vend.MailDataGrants: ids(res.Ended), vend.MailDataStatus: string(o.Status)})
	}
	switch ev.Kind {
	case vend.EventRefund:
		add(vend.MailRefund, l.OwnerEmail, map[string]string{vend.MailDataAmount: ev.Total.Abs().String(), vend.MailDataCurrency: ev.Currency})
	case vend.EventChargeback:
		add(vend.MailChargeback, l.OwnerEmail, map[string]string{vend.MailDataAmount: ev.Total.Abs().String(), vend.MailDataCurrency: ev.Currency})
	}
	for _, m := range mails {
		if added, err := tx.EnqueueMail(ctx, m); err != nil {
			return err
		} else if added {
			res.Mails++
		}
	}
	return nil
}

// mailKey is one message's key: its kind, the event that asked for it and its
// recipient (lower-cased: one address, one message).
func mailKey(kind vend.MailKind, ev vend.Event, to string) string {
	return string(kind) + "|" + ev.Provider + "|" + ev.Key + "|" + strings.ToLower(to)
}

func ids(list []int64) string {
	s := make([]string, len(list))
	for i, id := range list {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ",")
}

// RequestLinks enqueues a "your links" message for whoever asked at the resend
// page. It is enqueued whether or not the address bought anything, so the page
// does the same work for a buyer and a stranger; the mailer finds the address's
// active grants when it sends, and skips the message if there are none.
func (l *Ledger) RequestLinks(ctx context.Context, email, language, requestID string) error {
	m := &vend.Mail{Key: "links|" + requestID, Kind: vend.MailLinks, To: strings.TrimSpace(email), Language: language}
	return l.enqueue(ctx, m)
}

// NotifyOwner enqueues a notice to the owner, once per key (a burst of forged
// messages in one hour, say). Without an owner address it does nothing.
func (l *Ledger) NotifyOwner(ctx context.Context, kind vend.MailKind, key string, data map[string]string) error {
	if l.OwnerEmail == "" {
		return nil
	}
	return l.enqueue(ctx, &vend.Mail{Key: string(kind) + "|" + key, Kind: kind, To: l.OwnerEmail, Data: data})
}

// NotifyOwnerIn is NotifyOwner in tx, the transaction of the change the
// notice is about, so one is never without the other.
func (l *Ledger) NotifyOwnerIn(ctx context.Context, tx store.Outbox, kind vend.MailKind, key string, data map[string]string) error {
	if l.OwnerEmail == "" || !l.Mail {
		return nil
	}
	_, err := tx.EnqueueMail(ctx, &vend.Mail{Key: string(kind) + "|" + key, Kind: kind, To: l.OwnerEmail, Data: data})
	return err
}

func (l *Ledger) enqueue(ctx context.Context, m *vend.Mail) error {
	if !l.Mail {
		return nil
	}
	var added bool
	err := l.db.Update(ctx, func(tx store.Tx) error {
		var err error
		added, err = tx.EnqueueMail(ctx, m)
		return err
	})
	if err != nil {
		return fmt.Errorf("ledger: enqueue %s mail: %w", m.Kind, err)
	}
	if added && l.Mailed != nil {
		l.Mailed()
	}
	return nil
}
