// Package ledger is vend's state machine. Every notification is stored raw before
// anything else (Receive); a verified event is applied in one store transaction
// (Apply): checks against the catalog, dedupe on the provider's key, transaction
// row, order, standing derived from the whole history, grants. Nothing here talks
// to the network.
package ledger

import (
	"context"
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// Ledger applies provider events to the store.
type Ledger struct {
	db store.DB
	// NewPublicID makes the public part of a grant's link; random by default.
	NewPublicID func() string
	// Mail turns on the outbox: changes that need mail enqueue it in their own
	// transaction (receipts, pending and access-ended notices to the buyer).
	// OwnerEmail, if set, also gets sale, refund and chargeback notices.
	Mail       bool
	OwnerEmail string
	// Mailed, if set, is called after a commit that enqueued mail, to wake the
	// worker that sends it.
	Mailed func()
	// ReleaseBatch is how many grants one step of a release handles; zero
	// means DefaultReleaseBatch.
	ReleaseBatch int
	// TermsVersion is the shop's terms in force (shop.terms_version): every
	// new order keeps it.
	TermsVersion string
}

// New returns a Ledger over db.
func New(db store.DB) *Ledger {
	return &Ledger{db: db, NewPublicID: rand.Text}
}

// Result says what applying a notification did.
type Result struct {
	Verdict vend.Verdict
	Reason  string
	Changes []string
	OrderID int64
	// Granted and Ended are the grants this event created and ended (refund,
	// chargeback); Mails the number of messages it enqueued.
	Granted, Ended []int64
	Mails          int
	// known is the transaction the event was about when it was already
	// recorded before it: with no changes, the event repeated it.
	known *vend.Transaction
	// newOrder is the order this event created, if it did: it has no grants
	// to look up yet.
	newOrder int64
	// alone says no earlier transaction was attached to newOrder; history is
	// then its whole history once recordTxn made this event's transaction,
	// and settle derives from it rather than reading it back.
	alone   bool
	history []*vend.Transaction
	// born is newOrder as it was before its first event settled it: what the
	// log and the webhooks tell its change of status from, since it is
	// written with the status that event gives it.
	born *vend.Order
}

// Receive stores a raw notification (verdict "received") and sets its ID. Callers
// answer the provider only after this returned nil.
func (l *Ledger) Receive(ctx context.Context, n *vend.Notification) error {
	return l.db.Update(ctx, func(tx store.Tx) error {
		n.ID = 0 // a new id, also when this runs again after a rollback
		if err := tx.CreateNotification(ctx, n); err != nil {
			return fmt.Errorf("ledger: receive %s notification: %w", n.Provider, err)
		}
		return nil
	})
}

// Conclude records a verdict that changes nothing else: the message was forged,
// failed a provider check, could not be verified yet, or is not about a sale.
func (l *Ledger) Conclude(ctx context.Context, n *vend.Notification, verdict vend.Verdict, reason string) error {
	return l.conclude(ctx, n, verdict, reason, false)
}

// ConcludeUnverified is Conclude for a message stored before it failed
// verification (PayPal's): what was stored whole keeps only what n.Trim keeps,
// headers included, in the same transaction.
func (l *Ledger) ConcludeUnverified(ctx context.Context, n *vend.Notification, verdict vend.Verdict, reason string) error {
	n.Trim()
	return l.conclude(ctx, n, verdict, reason, true)
}

func (l *Ledger) conclude(ctx context.Context, n *vend.Notification, verdict vend.Verdict, reason string, trim bool) error {
	n.Verdict, n.Reason = verdict, reason
	return l.db.Update(ctx, func(tx store.Tx) error {
		if err := tx.UpdateNotification(ctx, n); err != nil {
			return fmt.Errorf("ledger: conclude notification %d: %w", n.ID, err)
		}
		if trim {
			if err := tx.TrimNotification(ctx, n); err != nil {
				return fmt.Errorf("ledger: conclude notification %d: %w", n.ID, err)
			}
		}
		return nil
	})
}

// Apply applies a verified event in one transaction and records the outcome on the
// notification. A rejected or duplicate event changes nothing but the log.
func (l *Ledger) Apply(ctx context.Context, n *vend.Notification, ev vend.Event) (*Result, error) {
	return l.applyWith(ctx, n, ev, false)
}

// ReceiveApply stores a notification and applies its event in one transaction,
// for providers whose messages vend verifies itself before storing them (a
// signature over the body): the raw message and its effect commit together, at
// the cost of one commit instead of two. If applying fails, the raw message is
// still stored, with verdict error, before the error is returned.
func (l *Ledger) ReceiveApply(ctx context.Context, n *vend.Notification, ev vend.Event) (*Result, error) {
	res, err := l.applyWith(ctx, n, ev, true)
	if err == nil {
		return res, nil
	}
	n.ID, n.Verdict, n.Reason = 0, vend.VerdictError, "not applied: internal error; the resend applies it"
	if rerr := l.Receive(ctx, n); rerr != nil {
		return nil, fmt.Errorf("%w; and not stored: %w", err, rerr)
	}
	return nil, err
}

func (l *Ledger) applyWith(ctx context.Context, n *vend.Notification, ev vend.Event, create bool) (*Result, error) {
	var res *Result
	var done vend.Notification // n as applied; n itself changes only once committed
	err := l.db.Update(ctx, func(tx store.Tx) error {
		tx = &catalogCache{Tx: tx}
		done = *n
		if create {
			// Stored at the end, with its verdict, under the id the key it
			// claims names: inserted first, it would be written twice.
			var err error
			if done.ID, err = tx.NextNotificationID(ctx); err != nil {
				return fmt.Errorf("receive %s notification: %w", n.Provider, err)
			}
		}
		var err error
		if res, err = l.apply(ctx, tx, &done, ev); err != nil {
			return err
		}
		if err := l.enqueueMail(ctx, tx, ev, res); err != nil {
			return err
		}
		done.Verdict, done.Reason, done.Changes, done.Key = res.Verdict, res.Reason, strings.Join(res.Changes, "; "), ev.Key
		if res.OrderID != 0 {
			done.OrderID = res.OrderID
		}
		if create {
			if err := tx.CreateNotification(ctx, &done); err != nil {
				return fmt.Errorf("receive %s notification: %w", n.Provider, err)
			}
			return nil
		}
		return tx.UpdateNotification(ctx, &done)
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: apply %s %s: %w", ev.Provider, ev.Key, err)
	}
	*n = done
	if res.Mails > 0 && l.Mailed != nil {
		l.Mailed()
	}
	return res, nil
}

// catalogCache remembers the products one Apply reads: the catalog check and
// the grants need the same ones, and the catalog does not change under a
// write transaction. Its products come without their files (Files is nil):
// applying an event never reads them, and reading them is a query each.
type catalogCache struct {
	store.Tx
	products map[string]*vend.Product
}

func (c *catalogCache) FindProductByID(ctx context.Context, id string) (*vend.Product, error) {
	if p, ok := c.products[id]; ok {
		return p, nil
	}
	p, err := c.Tx.FindProductInfo(ctx, id)
	if err != nil {
		return nil, err
	}
	if c.products == nil {
		c.products = map[string]*vend.Product{}
	}
	c.products[id] = p
	return p, nil
}

func (l *Ledger) apply(ctx context.Context, tx store.Tx, n *vend.Notification, ev vend.Event) (*Result, error) {
	if ev.Kind == vend.EventIgnore {
		return &Result{Verdict: vend.VerdictIgnored, Reason: firstOf(ev.Reason, fmt.Sprintf("%s %q is not about a sale", ev.Provider, ev.RawStatus))}, nil
	}
	// Everything about one order takes turns, also across instances: a refund and
	// its payment applied at once must each see the other.
	if ref := orderRef(ev); ref != "" {
		if err := tx.LockOrderRef(ctx, ev.Provider, ref); err != nil {
			return nil, err
		}
	}
	// The order checkEvent finds is the one record writes to: the lock on
	// its reference holds it still in between, so it is read once.
	known, reason, err := checkEvent(ctx, tx, ev)
	if err != nil {
		return nil, err
	} else if reason != "" {
		res := &Result{Verdict: vend.VerdictRejected, Reason: reason}
		return res, link(ctx, tx, ev, res)
	}
	claimed, err := tx.ClaimKey(ctx, ev.Provider, ev.Key, n.ID)
	if err != nil {
		return nil, err
	}
	if !claimed {
		return l.duplicate(ctx, tx, n, ev)
	}
	res := &Result{Verdict: vend.VerdictApplied}
	order, err := l.record(ctx, tx, ev, known, res)
	if err != nil {
		return nil, err
	}
	if order != nil {
		res.OrderID = order.ID
		if err := l.settle(ctx, tx, order, res); err != nil {
			return nil, err
		}
	}
	// A new key for a transaction already on the books that changes nothing is
	// the same news again (Stripe's next event about one payment, a resend
	// under a new webhook-id, PayPal's late Pending): the log says so rather
	// than "applied".
	if res.known != nil && len(res.Changes) == 0 {
		res.Verdict = vend.VerdictDuplicate
		res.Reason = fmt.Sprintf("%s %s was recorded before (%s); %s %s says nothing new", res.known.Kind, res.known.TxnID, res.known.Status, ev.Provider, ev.Key)
	}
	return res, nil
}

// duplicate handles an event whose key was applied before. It changes nothing,
// with one exception that makes events idempotent in effect rather than only
// skipped by id: a payment seen again while its item is suspended for a missed
// payment lifts the suspension (Digistore24 resends the very same on_payment
// when the buyer pays after all, without a transaction_id to tell it apart).
// Only its arrival is news, so it goes into the history as a resume at the time
// vend received it (notification n), which lifts a suspension but not an end.
func (l *Ledger) duplicate(ctx context.Context, tx store.Tx, n *vend.Notification, ev vend.Event) (*Result, error) {
	res := &Result{Verdict: vend.VerdictDuplicate, Reason: fmt.Sprintf("%s %s was applied before", ev.Provider, ev.Key)}
	if err := link(ctx, tx, ev, res); err != nil || res.OrderID == 0 || ev.Kind != vend.EventPayment {
		return res, err
	}
	o, err := tx.FindOrderByID(ctx, res.OrderID)
	if err != nil {
		return nil, err
	}
	items, err := tx.FindItems(ctx, o.ID)
	if err != nil {
		return nil, err
	}
	o.Items = items
	suspended := false
	for _, it := range items {
		suspended = suspended || it.Hold == vend.HoldSuspended && (ev.ProductID == "" || it.ProductID == ev.ProductID)
	}
	if !suspended {
		return res, nil
	}
	at, err := afterHolds(ctx, tx, o.ID, tx.Now())
	if err != nil {
		return nil, err
	}
	t := &vend.Transaction{OrderID: o.ID, Provider: ev.Provider, TxnID: fmt.Sprintf("%s:again:%d", ev.TxnID, n.ID), ParentTxnID: ev.TxnID,
		OrderRef: o.Ref, ProductID: ev.ProductID, Kind: vend.TxnResume, Status: vend.TxnCompleted, RawStatus: ev.RawStatus,
		Reason: "payment sent again after a missed payment", Currency: o.Currency, At: at}
	if err := tx.CreateTransaction(ctx, t); err != nil {
		return nil, err
	}
	res.Changes = append(res.Changes, fmt.Sprintf("payment %s sent again after a missed payment", ev.TxnID))
	return res, l.settle(ctx, tx, o, res)
}

// afterHolds is the time a payment seen again now goes into the history at:
// now, or just after the order's latest hold if that is later. A hold is
// dated by the provider's clock, which need not agree with vend's (Digistore24
// sends local time without a zone); the payment sent again arrived after the
// hold it lifts, whatever the clocks say.
func afterHolds(ctx context.Context, tx store.Transactions, orderID int64, now time.Time) (time.Time, error) {
	txns, err := tx.FindTransactionsByOrder(ctx, orderID)
	if err != nil {
		return time.Time{}, err
	}
	for _, t := range txns {
		if t.Kind == vend.TxnSuspend && !t.At.Before(now) {
			now = t.At.Add(time.Millisecond)
		}
	}
	return now, nil
}

// isPayment reports whether the event is about the payment itself rather than a
// later change to it.
func isPayment(k vend.EventKind) bool {
	return k == vend.EventPayment || k == vend.EventPending || k == vend.EventFailed
}

// isHold reports whether the event holds an item rather than moving money: a
// missed payment, resumed rebilling or the end of the paid period.
func isHold(k vend.EventKind) bool {
	return k == vend.EventSuspend || k == vend.EventResume || k == vend.EventEnd
}

// txnIDOf is the id an event's transaction is kept under. A hold is kept under
// the message's key: a provider may name the payment it is about as its
// transaction (Digistore24's transaction_id), and the hold must not be taken
// for that payment.
func txnIDOf(ev vend.Event) string {
	if isHold(ev.Kind) {
		return ev.Key
	}
	return ev.TxnID
}

// orderRef is the provider reference of the order an event is about: the one the
// provider gives, or by PayPal's convention the payment's txn id.
func orderRef(ev vend.Event) string {
	switch {
	case ev.OrderRef != "":
		return ev.OrderRef
	case isPayment(ev.Kind):
		return ev.TxnID
	}
	return ev.ParentTxnID
}

// link points a notification that changed nothing (duplicate, rejected) at the
// order it is about, if that order exists, so the order's log shows it.
func link(ctx context.Context, tx store.Orders, ev vend.Event, res *Result) error {
	ref := orderRef(ev)
	if ref == "" {
		return nil
	}
	o, err := tx.FindOrderByRef(ctx, ev.Provider, ref)
	if vend.ErrorCode(err) == vend.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	res.OrderID = o.ID
	return nil
}

// orderCatalog is what checking an event against its order, and adding
// items to that order, reads and writes: the order with its items, and the
// catalog's prices.
type orderCatalog interface {
	store.Orders
	store.Products
}

// checkEvent compares what was paid with what the catalog asks. It returns the
// order the event belongs to (nil when there is none yet) and a reason when
// the event must be refused; the error is for storage failures.
func checkEvent(ctx context.Context, tx orderCatalog, ev vend.Event) (*vend.Order, string, error) {
	if ev.TxnID == "" || ev.Key == "" {
		return nil, "no transaction id", nil
	}
	if !isPayment(ev.Kind) && orderRef(ev) == "" {
		return nil, fmt.Sprintf("%s without the order it belongs to", ev.Kind), nil
	}
	o, err := tx.FindOrderByRef(ctx, ev.Provider, orderRef(ev))
	if vend.ErrorCode(err) == vend.ENOTFOUND {
		if isPayment(ev.Kind) {
			reason, err := checkItems(ctx, tx, ev, "")
			return nil, reason, err
		}
		return nil, "", nil // kept until its payment arrives
	} else if err != nil {
		return nil, "", err
	}
	items, err := tx.FindItems(ctx, o.ID)
	if err != nil {
		return nil, "", err
	}
	it := findItem(items, ev.ProductID)
	var reason string
	switch {
	case ev.ProductID != "" && it == nil && !isPayment(ev.Kind):
		// Applied to nothing it would change nothing, silently: a product map
		// changed since the sale, say. Refused, it shows and is resent.
		reason = fmt.Sprintf("%s for %s, which order %d does not have", ev.Kind, ev.ProductID, o.ID)
	case ev.ProductID != "" && it == nil:
		// A further item of a known order (an upsell): priced like a new
		// order, in the order's currency.
		reason, err = checkItems(ctx, tx, ev, o.Currency)
	case isPayment(ev.Kind):
		reason, err = checkAgainstOrder(ctx, tx, ev, o, it)
	}
	return o, reason, err
}

// checkItems checks a payment's items against the catalog; currency, if set, is
// the currency of the order they join.
func checkItems(ctx context.Context, tx store.Products, ev vend.Event, currency string) (string, error) {
	if len(ev.Items) == 0 {
		return "no items in the payment", nil
	}
	var sum vend.Amount
	for _, it := range ev.Items {
		p, err := tx.FindProductByID(ctx, it.ProductID)
		if vend.ErrorCode(err) == vend.ENOTFOUND {
			return fmt.Sprintf("unknown product %q", it.ProductID), nil
		} else if err != nil {
			return "", err
		}
		if it.Quantity < 1 {
			return fmt.Sprintf("quantity %d for %s", it.Quantity, p.ID), nil
		}
		if p.License.Mode != vend.LicenseOff && it.Quantity > vend.MaxKeysPerItem {
			return fmt.Sprintf("quantity %d for %s: at most %d licence keys per item", it.Quantity, p.ID, vend.MaxKeysPerItem), nil
		}
		if p.Archived && !ev.Unpriced {
			// The seller stopped selling it. An unpriced event is a sale made
			// elsewhere (a WEBSALE link, a manual order): vend only delivers.
			// Later messages about earlier payments go through
			// checkAgainstOrder, so existing buyers are not affected.
			return fmt.Sprintf("%s is archived and no longer sold", p.ID), nil
		}
		if currency != "" && p.Currency != currency {
			return fmt.Sprintf("%s is priced in %s, but the order it would join is in %s", p.ID, p.Currency, currency), nil
		}
		if ev.Unpriced {
			// The shop took the money; the catalog price is recorded, and one
			// order has one currency.
			if currency == "" {
				currency = p.Currency
			}
			continue
		}
		if ev.Currency != p.Currency {
			return fmt.Sprintf("paid in %q but %s is priced in %s", ev.Currency, p.ID, p.Currency), nil
		}
		price := p.Price * vend.Amount(it.Quantity)
		if it.Amount < price {
			return fmt.Sprintf("paid %s %s for %d × %s, the price is %s", it.Amount, ev.Currency, it.Quantity, p.ID, price), nil
		}
		sum += price
	}
	if !ev.Unpriced && ev.Total < sum {
		return fmt.Sprintf("total %s %s is less than the items' price %s", ev.Total, ev.Currency, sum), nil
	}
	return "", nil
}

// checkAgainstOrder checks a later message about a known payment or item
// (PayPal's Completed after Pending, a Digistore24 rebill). A whole order is
// held to what it cost when it was created: a price changed in between must not
// refuse a buyer who paid the price of the day, and a failed payment need not
// list its items again. A rebill of one item is held to the item's catalog
// price: the first payment may have differed (a setup fee, a discount).
func checkAgainstOrder(ctx context.Context, tx store.Products, ev vend.Event, o *vend.Order, it *vend.Item) (string, error) {
	if ev.Kind != vend.EventPayment || ev.Unpriced {
		return "", nil
	}
	if ev.Currency != o.Currency {
		return fmt.Sprintf("paid in %q but order %d is in %s", ev.Currency, o.ID, o.Currency), nil
	}
	if it == nil {
		if ev.Total < o.Total {
			return fmt.Sprintf("total %s %s is less than order %d's %s", ev.Total, ev.Currency, o.ID, o.Total), nil
		}
		return "", nil
	}
	p, err := tx.FindProductByID(ctx, it.ProductID)
	if vend.ErrorCode(err) == vend.ENOTFOUND {
		return fmt.Sprintf("unknown product %q", it.ProductID), nil
	} else if err != nil {
		return "", err
	}
	if price := p.Price * vend.Amount(max(it.Quantity, 1)); ev.Total < price {
		return fmt.Sprintf("paid %s %s for %s in order %d, the price is %s", ev.Total, ev.Currency, it.ProductID, o.ID, price), nil
	}
	return "", nil
}

func findItem(items []*vend.Item, productID string) *vend.Item {
	for _, it := range items {
		if it.ProductID == productID {
			return it
		}
	}
	return nil
}

func txnKind(k vend.EventKind) vend.TxnKind {
	switch k {
	case vend.EventSuspend:
		return vend.TxnSuspend
	case vend.EventResume:
		return vend.TxnResume
	case vend.EventEnd:
		return vend.TxnEnd
	case vend.EventRefund:
		return vend.TxnRefund
	case vend.EventChargeback:
		return vend.TxnChargeback
	case vend.EventRestore:
		return vend.TxnRestore
	}
	return vend.TxnPayment
}

func txnStatus(k vend.EventKind) vend.TxnStatus {
	switch k {
	case vend.EventPending:
		return vend.TxnPending
	case vend.EventFailed:
		return vend.TxnFailed
	}
	return vend.TxnCompleted
}

// record writes the transaction row and finds or creates the order it belongs to
// (and the item, for a further item of a known order). It returns a nil order for
// a change whose payment has not arrived yet: the row waits, and is adopted when
// the payment comes.
// known is the order checkEvent found for the event, nil for none.
func (l *Ledger) record(ctx context.Context, tx store.Tx, ev vend.Event, known *vend.Order, res *Result) (*vend.Order, error) {
	order := known
	switch {
	case order == nil:
		if isPayment(ev.Kind) {
			var err error
			if order, err = l.createOrder(ctx, tx, ev, res); err != nil {
				return nil, err
			}
		}
	case isPayment(ev.Kind) && ev.ProductID != "":
		if err := addItems(ctx, tx, order, ev, res); err != nil {
			return nil, err
		}
	}
	if err := learnLanguage(ctx, tx, order, ev); err != nil {
		return nil, err
	}
	if err := recordTxn(ctx, tx, order, ev, res); err != nil {
		return nil, err
	}
	if order == nil && res.known == nil {
		res.Changes = append(res.Changes, fmt.Sprintf("order %s not seen yet; applies when it arrives", orderRef(ev)))
	}
	return order, nil
}

// eventTxn is the transaction an event records on order (nil: none yet).
func eventTxn(order *vend.Order, ev vend.Event) *vend.Transaction {
	var orderID int64
	if order != nil {
		orderID = order.ID
	}
	t := &vend.Transaction{OrderID: orderID, Provider: ev.Provider, TxnID: txnIDOf(ev), ParentTxnID: ev.ParentTxnID,
		OrderRef: orderRef(ev), ProductID: ev.ProductID, Kind: txnKind(ev.Kind), Full: ev.Full,
		Status: txnStatus(ev.Kind), RawStatus: ev.RawStatus, Reason: ev.Reason, Amount: ev.Total, Currency: ev.Currency, At: ev.At}
	if isHold(ev.Kind) {
		t.Amount = 0 // a hold moves no money, whatever the message says it is about
	}
	if ev.Unpriced && order != nil {
		t.Amount, t.Currency = ev.Total, order.Currency
		if it := findItem(order.Items, ev.ProductID); it != nil {
			t.Amount = it.Amount
		}
	}
	return t
}

func recordTxn(ctx context.Context, tx store.Transactions, order *vend.Order, ev vend.Event, res *Result) error {
	t := eventTxn(order, ev)
	orderID := t.OrderID
	created, err := tx.CreateTransactionIfNew(ctx, t)
	if err != nil {
		return err
	}
	if created && order != nil && order.ID == res.newOrder && res.alone {
		res.history = []*vend.Transaction{t}
	}
	if created {
		if isHold(ev.Kind) {
			res.Changes = append(res.Changes, fmt.Sprintf("%s %s recorded", holdWords[t.Kind], ev.TxnID))
		} else {
			res.Changes = append(res.Changes, fmt.Sprintf("%s %s recorded (%s)", t.Kind, t.TxnID, t.Status))
		}
		return nil
	}
	if t, err = tx.FindTransaction(ctx, ev.Provider, txnIDOf(ev)); err != nil {
		return err
	}
	res.known = t
	// A transaction moves only out of pending. A message that would move it back
	// or sideways (a late Pending, a Denied after Completed) is recorded on the
	// notification but leaves the transaction's status and words alone.
	switch st := txnStatus(ev.Kind); {
	case t.Status == vend.TxnPending && st != vend.TxnPending:
		res.Changes = append(res.Changes, fmt.Sprintf("%s %s %s → %s", t.Kind, t.TxnID, t.Status, st))
		t.Status, t.RawStatus, t.Reason = st, ev.RawStatus, ev.Reason
	case t.Status == st:
		t.RawStatus, t.Reason = ev.RawStatus, ev.Reason
	}
	// Refunds can be reported cumulatively under one id (Stripe's amount_refunded):
	// the amount only grows, and once full stays full.
	if t.Kind == vend.TxnRefund && ev.Total.Abs() > t.Amount.Abs() {
		res.Changes = append(res.Changes, fmt.Sprintf("refund %s now %s", t.TxnID, ev.Total.Abs()))
		t.Amount = ev.Total
	}
	if ev.Full && !t.Full {
		res.Changes = append(res.Changes, fmt.Sprintf("%s %s now full", t.Kind, t.TxnID))
		t.Full = true
	}
	t.OrderID = orderID
	return tx.UpdateTransaction(ctx, t)
}

func (l *Ledger) createOrder(ctx context.Context, tx store.Tx, ev vend.Event, res *Result) (*vend.Order, error) {
	o := &vend.Order{Provider: ev.Provider, Ref: orderRef(ev), Custom: ev.Custom, Buyer: ev.Buyer, Currency: ev.Currency,
		Status: vend.OrderPending, Test: ev.Test, Language: buyerLanguage(ev.Language), TermsVersion: l.TermsVersion}
	items, err := eventItems(ctx, tx, o, ev)
	if err != nil {
		return nil, err
	}
	o.Total = ev.Total
	if ev.Unpriced {
		o.Total = sumAmounts(items)
	}
	o.Items = items
	// The order and its items are written as they stand once this event's
	// transaction is their history, which it nearly always is: an update right
	// after the insert would write each row twice (on PostgreSQL, a second
	// version of the row and of every index entry). If earlier transactions are
	// attached below, or this event's transaction was on the books already,
	// settle reads the history back and corrects them.
	_, standings, st := derive(o, items, []*vend.Transaction{eventTxn(o, ev)})
	born := *o
	for i, it := range items {
		it.Status = standings[i].Status
	}
	o.Status, o.StatusReason, o.Review = st.Status, st.Reason, st.Review
	if err := tx.CreateOrder(ctx, o); err != nil {
		return nil, err
	}
	for _, it := range items {
		it.OrderID = o.ID
		if err := tx.CreateItem(ctx, it); err != nil {
			return nil, err
		}
	}
	res.Changes = append(res.Changes, fmt.Sprintf("order %d created", o.ID))
	res.newOrder, res.born = o.ID, &born
	n, err := tx.AdoptTransactions(ctx, ev.Provider, o.Ref, o.ID)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		res.Changes = append(res.Changes, fmt.Sprintf("%d earlier transaction(s) attached", n))
	}
	res.alone = n == 0
	return o, nil
}

// learnLanguage keeps the buyer's language on an order that has none yet,
// from the first later message that says it (a refund before the payment
// created the order, a provider that names it only sometimes).
func learnLanguage(ctx context.Context, tx store.Orders, o *vend.Order, ev vend.Event) error {
	lang := buyerLanguage(ev.Language)
	if o == nil || o.Language != "" || lang == "" {
		return nil
	}
	o.Language = lang
	return tx.UpdateOrder(ctx, o)
}

// buyerLanguage is a provider's word for the buyer's language as an order
// keeps it: trimmed, and "" unless it looks like a language tag ("de",
// "de-DE", "en_US"), so a provider's field can never store prose.
func buyerLanguage(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 35 { // the longest a language tag sensibly gets (RFC 5646)
		return ""
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return ""
		}
	}
	return s
}

// addItems adds the items of a payment for a further item of a known order (a
// Digistore24 upsell, a second WEBSALE product): the order grows by them.
func addItems(ctx context.Context, tx orderCatalog, o *vend.Order, ev vend.Event, res *Result) error {
	have, err := tx.FindItems(ctx, o.ID)
	if err != nil {
		return err
	}
	o.Items = have
	if findItem(have, ev.ProductID) != nil {
		return nil
	}
	items, err := eventItems(ctx, tx, o, ev)
	if err != nil {
		return err
	}
	for _, it := range items {
		it.OrderID = o.ID
		if err := tx.CreateItem(ctx, it); err != nil {
			return err
		}
		res.Changes = append(res.Changes, fmt.Sprintf("%s added to order %d", it.ProductID, o.ID))
	}
	o.Items = append(o.Items, items...)
	o.Total = sumAmounts(o.Items)
	return tx.UpdateOrder(ctx, o)
}

// eventItems makes the order items of a payment event. An unpriced event (a
// WEBSALE link) gets the catalog's price and currency.
func eventItems(ctx context.Context, tx store.Products, o *vend.Order, ev vend.Event) ([]*vend.Item, error) {
	items := make([]*vend.Item, 0, len(ev.Items))
	for _, ei := range ev.Items {
		it := &vend.Item{ProductID: ei.ProductID, Name: ei.Name, Quantity: ei.Quantity, Amount: ei.Amount, Status: vend.OrderPending}
		if ev.Unpriced {
			p, err := tx.FindProductByID(ctx, ei.ProductID)
			if err != nil {
				return nil, err
			}
			it.Amount, it.Name, o.Currency = p.Price*vend.Amount(max(ei.Quantity, 1)), firstOf(ei.Name, p.Name), p.Currency
		}
		items = append(items, it)
	}
	return items, nil
}

func sumAmounts(items []*vend.Item) vend.Amount {
	var sum vend.Amount
	for _, it := range items {
		sum += it.Amount
	}
	return sum
}

// holdWords name a hold kept in the history, for the log.
var holdWords = map[vend.TxnKind]string{
	vend.TxnSuspend: "missed payment",
	vend.TxnResume:  "resumed rebilling",
	vend.TxnEnd:     "end of the paid period",
}

func holdChange(it *vend.Item, next vend.Hold) string {
	switch next {
	case vend.HoldSuspended:
		return it.ProductID + " suspended: a recurring payment was missed"
	case vend.HoldEnded:
		return it.ProductID + ": the paid period ended"
	}
	return fmt.Sprintf("%s no longer %s", it.ProductID, it.Hold)
}

// settle derives each item's standing from its history and hold, the order's
// from its items' (derive), and brings the rows and the grants in line: this is
// where access is decided.
func (l *Ledger) settle(ctx context.Context, tx store.Tx, o *vend.Order, res *Result) error {
	txns := res.history
	if txns == nil || o.ID != res.newOrder { // read back: more than this event's transaction
		var err error
		if txns, err = tx.FindTransactionsByOrder(ctx, o.ID); err != nil {
			return err
		}
	}
	items := o.Items // loaded and kept current by record and hold
	if items == nil {
		var err error
		if items, err = tx.FindItems(ctx, o.ID); err != nil {
			return err
		}
	}
	holds, standings, st := derive(o, items, txns)
	for i, it := range items {
		changed := holds[i] != it.Hold
		if changed {
			res.Changes = append(res.Changes, holdChange(it, holds[i]))
			it.Hold = holds[i]
		}
		if standings[i].Status != it.Status {
			it.Status, changed = standings[i].Status, true
		}
		if changed {
			if err := tx.UpdateItem(ctx, it); err != nil {
				return err
			}
		}
	}
	before := *o
	if o.ID == res.newOrder && res.born != nil {
		before = *res.born
	}
	if err := updateOrderStatus(ctx, tx, o, &before, st, res); err != nil {
		return err
	}
	if err := orderHook(ctx, tx, o, items, before.Status); err != nil {
		return err
	}
	return l.syncGrants(ctx, tx, o, items, standings, res)
}

// derive is settle's arithmetic: each item's hold and standing, and the
// order's standing, from the order's history. Transactions about one item (a
// Digistore24 refund of an upsell) count for that item only; the others count
// for the whole order.
func derive(o *vend.Order, items []*vend.Item, txns []*vend.Transaction) ([]vend.Hold, []vend.Standing, vend.Standing) {
	orderWide := scoped(txns, "")
	whole := vend.OrderStanding(o.Total, orderWide)
	holds := make([]vend.Hold, len(items))
	standings := make([]vend.Standing, len(items))
	for i, it := range items {
		st := whole
		own := scoped(txns, it.ProductID)
		if it.ProductID != "" && len(own) > 0 {
			st = vend.OrderStanding(it.Amount, own)
		}
		if it.ProductID == "" {
			own = nil // the order-wide ones, added next
		}
		holds[i] = vend.ItemHold(append(own, orderWide...))
		standings[i] = st.WithHold(holds[i])
	}
	if len(items) == 0 {
		return holds, standings, whole
	}
	return holds, standings, vend.CombineStandings(standings)
}

// orderHooks are the webhook events of an order's new status.
var orderHooks = map[vend.OrderStatus]vend.WebhookEvent{
	vend.OrderPaid:     vend.HookOrderPaid,
	vend.OrderRefunded: vend.HookOrderRefunded,
	vend.OrderReversed: vend.HookOrderChargedBack,
}

// orderHook tells the seller's webhooks when an order became paid, refunded
// or charged back, with the order and its items.
func orderHook(ctx context.Context, tx store.WebhookTx, o *vend.Order, items []*vend.Item, before vend.OrderStatus) error {
	event, ok := orderHooks[o.Status]
	if !ok || o.Status == before {
		return nil
	}
	order := *o
	order.Items, order.Transactions = items, nil
	_, err := store.EnqueueWebhooks(ctx, tx, event, map[string]any{"order": &order})
	return err
}

// grantHook tells the seller's webhooks that a buyer's access ended or came
// back.
func grantHook(ctx context.Context, tx store.WebhookTx, g *vend.Grant) error {
	event := vend.HookAccessRevoked
	if g.State == vend.GrantActive {
		event = vend.HookAccessRestored
	}
	_, err := store.EnqueueWebhooks(ctx, tx, event, map[string]any{"grant": g})
	return err
}

// scoped returns the transactions about one item, or with productID "" those
// about the whole order.
func scoped(txns []*vend.Transaction, productID string) []*vend.Transaction {
	var out []*vend.Transaction
	for _, t := range txns {
		if t.ProductID == productID {
			out = append(out, t)
		}
	}
	return out
}

// updateOrderStatus writes the order's new standing st, and logs how it
// differs from before (the order as it was, or as it was born).
func updateOrderStatus(ctx context.Context, tx store.Orders, o, before *vend.Order, st vend.Standing, res *Result) error {
	var why string
	if st.Reason != "" {
		why = " (" + st.Reason + ")"
	}
	switch {
	case st.Status != before.Status:
		res.Changes = append(res.Changes, fmt.Sprintf("order %d %s → %s%s", o.ID, before.Status, st.Status, why))
	case st.Reason != before.StatusReason:
		res.Changes = append(res.Changes, fmt.Sprintf("order %d %s%s", o.ID, st.Status, why))
	}
	if st.Review && !before.Review {
		res.Changes = append(res.Changes, fmt.Sprintf("order %d partly refunded: flagged for review", o.ID))
	}
	if st.Status == o.Status && st.Reason == o.StatusReason && st.Review == o.Review {
		return nil
	}
	o.Status, o.StatusReason, o.Review = st.Status, st.Reason, st.Review
	return tx.UpdateOrder(ctx, o)
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// ReasonAdmin marks a grant an administrator revoked; provider events never undo it.
const ReasonAdmin = "admin"

// granter is what bringing an order's grants in line needs: the grants, the
// products they are made from and the transaction's time, from which a new
// grant's lifetime runs.
type granter interface {
	Now() time.Time
	store.Products
	store.Grants
	store.Licenses
	store.Outbox
	store.Webhooks
}

func (l *Ledger) syncGrants(ctx context.Context, tx granter, o *vend.Order, items []*vend.Item, standings []vend.Standing, res *Result) error {
	var grants []*vend.Grant
	if o.ID != res.newOrder {
		var err error
		if grants, err = tx.FindGrantsByOrder(ctx, o.ID); err != nil {
			return err
		}
	}
	byItem := map[int64]*vend.Grant{}
	for _, g := range grants {
		byItem[g.ItemID] = g
	}
	for i, it := range items {
		g, st := byItem[it.ID], standings[i]
		switch {
		case st.Active() && g == nil:
			g, err := l.createGrant(ctx, tx, o, it, res)
			if err != nil {
				return err
			}
			res.Granted = append(res.Granted, g.ID)
			res.Changes = append(res.Changes, "access granted to "+it.ProductID)
		case st.Active() && g.State == vend.GrantRevoked && g.Reason != ReasonAdmin:
			g.State, g.Reason = vend.GrantActive, ""
			if err := tx.UpdateGrant(ctx, g); err != nil {
				return err
			}
			if err := grantHook(ctx, tx, g); err != nil {
				return err
			}
			res.Changes = append(res.Changes, "access restored to "+it.ProductID)
		case !st.Active() && g != nil && g.State == vend.GrantActive:
			g.State, g.Reason = vend.GrantRevoked, string(st.Status)
			if err := tx.UpdateGrant(ctx, g); err != nil {
				return err
			}
			if err := grantHook(ctx, tx, g); err != nil {
				return err
			}
			if st.Status == vend.OrderRefunded || st.Status == vend.OrderReversed {
				res.Ended = append(res.Ended, g.ID)
			}
			res.Changes = append(res.Changes, fmt.Sprintf("access to %s ended (%s)", it.ProductID, st.Status))
		case !st.Active() && g != nil && g.Reason != ReasonAdmin && g.Reason != string(st.Status):
			// Still no access, for another reason now (a suspension that ended,
			// a refund after a chargeback): the buyer's page says the current one.
			g.Reason = string(st.Status)
			if err := tx.UpdateGrant(ctx, g); err != nil {
				return err
			}
		}
	}
	return nil
}

func (l *Ledger) createGrant(ctx context.Context, tx granter, o *vend.Order, it *vend.Item, res *Result) (*vend.Grant, error) {
	p, err := tx.FindProductByID(ctx, it.ProductID)
	if err != nil {
		return nil, err
	}
	g := &vend.Grant{ItemID: it.ID, OrderID: o.ID, ProductID: p.ID, PublicID: l.NewPublicID(), State: vend.GrantActive,
		DownloadLimit: p.DownloadLimit}
	if p.Lifetime != vend.Forever {
		g.ExpiresAt = tx.Now().Add(p.Lifetime)
	}
	if p.UpdatesFor != vend.Forever {
		g.UpdatesUntil = tx.Now().Add(p.UpdatesFor)
	}
	if err := tx.CreateGrant(ctx, g); err != nil {
		return nil, err
	}
	return g, l.issueLicenses(ctx, tx, o, p, it, g, 0, res)
}

// issueLicenses gives a grant of a licensed product its keys from unit from
// on, one per unit bought, each with the product's activation limit, in the
// grant's own transaction: a grant is made once, so its keys are too.
// Generated keys are made here; listed ones come from the seller's pool, and
// units it cannot serve wait (FindWaitingItems) until ImportLicenseKeys adds
// keys, with a notice to the owner.
func (l *Ledger) issueLicenses(ctx context.Context, tx granter, o *vend.Order, p *vend.Product, it *vend.Item, g *vend.Grant, from int, res *Result) error {
	units := min(max(it.Quantity, 1), vend.MaxKeysPerItem)
	issued := 0
	for unit := from; unit < units; unit++ {
		var key string
		var err error
		switch p.License.Mode {
		case vend.LicenseGenerated:
			key, err = vend.NewLicenseKey(p.License.KeyFormat)
		case vend.LicenseList:
			key, err = tx.ClaimPoolKey(ctx, p.ID)
			if vend.ErrorCode(err) == vend.ENOTFOUND {
				res.Changes = append(res.Changes, fmt.Sprintf("%d licence key(s) of %s wait for the seller's list", units-unit, p.ID))
				if err := tx.SetWaiting(ctx, g, units-unit); err != nil {
					return err
				}
				return l.noteKeyStock(ctx, tx, o, p, it, issued, units-unit, res)
			}
		default:
			return nil
		}
		if err != nil {
			return err
		}
		lic := &vend.License{GrantID: g.ID, OrderID: g.OrderID, ItemID: it.ID, ProductID: p.ID, Unit: unit, Key: key,
			ActivationLimit: p.License.ActivationLimit}
		if p.License.Length != vend.Forever {
			lic.ExpiresAt = tx.Now().Add(p.License.Length)
		}
		norm, _ := vend.NormalizeKey(key)
		if err := tx.CreateLicense(ctx, lic, vend.KeyHash(norm)); err != nil {
			return fmt.Errorf("licence key %d of item %d: %w", unit+1, it.ID, err)
		}
		issued++
	}
	if p.License.Mode == vend.LicenseList && issued > 0 {
		if err := tx.SetWaiting(ctx, g, 0); err != nil { // if it waited, it no longer does
			return err
		}
		return l.noteKeyStock(ctx, tx, o, p, it, issued, 0, res)
	}
	return nil
}

// noteKeyStock tells the owner, once per item, when taking issued keys of a
// listed product left fewer than its LowStock unused, or when waiting units
// of the item found none.
func (l *Ledger) noteKeyStock(ctx context.Context, tx granter, o *vend.Order, p *vend.Product, it *vend.Item, issued, waiting int, res *Result) error {
	left, err := tx.CountPoolKeys(ctx, p.ID)
	if err != nil {
		return err
	}
	low := p.License.LowStockOrDefault()
	if waiting == 0 && (left >= low || left+issued < low) { // not low, or low already before this sale
		return nil
	}
	if !l.Mail || l.OwnerEmail == "" {
		return nil
	}
	m := &vend.Mail{Key: string(vend.MailKeysLow) + "|" + strconv.FormatInt(it.ID, 10) + "|" + strconv.Itoa(waiting), Kind: vend.MailKeysLow,
		To: l.OwnerEmail, OrderID: o.ID, Data: map[string]string{vend.MailDataProduct: p.ID,
			vend.MailDataRemaining: strconv.Itoa(left), vend.MailDataWaiting: strconv.Itoa(waiting)}}
	added, err := tx.EnqueueMail(ctx, m)
	if err == nil && added {
		res.Mails++
	}
	return err
}
