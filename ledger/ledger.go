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
	"strings"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// Ledger applies provider events to the store.
type Ledger struct {
	db store.DB
	// NewPublicID makes the public part of a grant's link; random by default.
	NewPublicID func() string
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
}

// Receive stores a raw notification (verdict "received") and sets its ID. Callers
// answer the provider only after this returned nil.
func (l *Ledger) Receive(ctx context.Context, n *vend.Notification) error {
	return l.db.Update(ctx, func(tx store.Tx) error {
		if err := tx.CreateNotification(ctx, n); err != nil {
			return fmt.Errorf("ledger: receive %s notification: %w", n.Provider, err)
		}
		return nil
	})
}

// Conclude records a verdict that changes nothing else: the message was forged,
// failed a provider check, could not be verified yet, or is not about a sale.
func (l *Ledger) Conclude(ctx context.Context, n *vend.Notification, verdict vend.Verdict, reason string) error {
	n.Verdict, n.Reason = verdict, reason
	return l.db.Update(ctx, func(tx store.Tx) error {
		if err := tx.UpdateNotification(ctx, n); err != nil {
			return fmt.Errorf("ledger: conclude notification %d: %w", n.ID, err)
		}
		return nil
	})
}

// Apply applies a verified event in one transaction and records the outcome on the
// notification. A rejected or duplicate event changes nothing but the log.
func (l *Ledger) Apply(ctx context.Context, n *vend.Notification, ev vend.Event) (*Result, error) {
	var res *Result
	var done vend.Notification // n as applied; n itself changes only once committed
	err := l.db.Update(ctx, func(tx store.Tx) error {
		var err error
		if res, err = l.apply(ctx, tx, n, ev); err != nil {
			return err
		}
		done = *n
		done.Verdict, done.Reason, done.Changes, done.Key = res.Verdict, res.Reason, strings.Join(res.Changes, "; "), ev.Key
		if res.OrderID != 0 {
			done.OrderID = res.OrderID
		}
		return tx.UpdateNotification(ctx, &done)
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: apply %s %s: %w", ev.Provider, ev.Key, err)
	}
	*n = done
	return res, nil
}

func (l *Ledger) apply(ctx context.Context, tx store.Tx, n *vend.Notification, ev vend.Event) (*Result, error) {
	if ev.Kind == vend.EventIgnore {
		return &Result{Verdict: vend.VerdictIgnored, Reason: fmt.Sprintf("%s %q is not about a sale", ev.Provider, ev.RawStatus)}, nil
	}
	// Everything about one order takes turns, also across instances: a refund and
	// its payment applied at once must each see the other.
	if ref := orderRef(ev); ref != "" {
		if err := tx.LockOrderRef(ctx, ev.Provider, ref); err != nil {
			return nil, err
		}
	}
	if reason, err := checkEvent(ctx, tx, ev); err != nil {
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
		res := &Result{Verdict: vend.VerdictDuplicate, Reason: fmt.Sprintf("%s %s was applied before", ev.Provider, ev.Key)}
		return res, link(ctx, tx, ev, res)
	}
	res := &Result{Verdict: vend.VerdictApplied}
	order, err := l.record(ctx, tx, ev, res)
	if err != nil || order == nil {
		return res, err
	}
	res.OrderID = order.ID
	return res, l.settle(ctx, tx, order, res)
}

// isPayment reports whether the event is about the payment itself (its TxnID names
// the order) rather than a later change to it (its ParentTxnID does).
func isPayment(k vend.EventKind) bool {
	return k == vend.EventPayment || k == vend.EventPending || k == vend.EventFailed
}

// orderRef is the provider reference of the order an event is about.
func orderRef(ev vend.Event) string {
	if isPayment(ev.Kind) {
		return ev.TxnID
	}
	return ev.ParentTxnID
}

// link points a notification that changed nothing (duplicate, rejected) at the
// order it is about, if that order exists, so the order's log shows it.
func link(ctx context.Context, tx store.Tx, ev vend.Event, res *Result) error {
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

// checkEvent compares what was paid with what the catalog asks. It returns a
// reason when the event must be refused; the error is for storage failures.
func checkEvent(ctx context.Context, tx store.Tx, ev vend.Event) (string, error) {
	if ev.TxnID == "" || ev.Key == "" {
		return "no transaction id", nil
	}
	if !isPayment(ev.Kind) {
		if ev.ParentTxnID == "" {
			return fmt.Sprintf("%s without the payment it belongs to", ev.Kind), nil
		}
		return "", nil
	}
	if o, err := tx.FindOrderByRef(ctx, ev.Provider, ev.TxnID); err == nil {
		return checkAgainstOrder(ev, o), nil
	} else if vend.ErrorCode(err) != vend.ENOTFOUND {
		return "", err
	}
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
		if ev.Currency != p.Currency {
			return fmt.Sprintf("paid in %q but %s is priced in %s", ev.Currency, p.ID, p.Currency), nil
		}
		price := p.Price * vend.Amount(it.Quantity)
		if it.Amount < price {
			return fmt.Sprintf("paid %s %s for %d × %s, the price is %s", it.Amount, ev.Currency, it.Quantity, p.ID, price), nil
		}
		sum += price
	}
	if ev.Total < sum {
		return fmt.Sprintf("total %s %s is less than the items' price %s", ev.Total, ev.Currency, sum), nil
	}
	return "", nil
}

// checkAgainstOrder checks a later message about a payment whose order exists
// (PayPal's Completed or Denied after Pending) against that order, which passed
// the catalog check when it was created: a price changed in between must not
// refuse a buyer who paid the price of the day, and a failed payment need not
// list its items again.
func checkAgainstOrder(ev vend.Event, o *vend.Order) string {
	if ev.Kind != vend.EventPayment {
		return ""
	}
	if ev.Currency != o.Currency {
		return fmt.Sprintf("paid in %q but order %d is in %s", ev.Currency, o.ID, o.Currency)
	}
	if ev.Total < o.Total {
		return fmt.Sprintf("total %s %s is less than order %d's %s", ev.Total, ev.Currency, o.ID, o.Total)
	}
	return ""
}

func txnKind(k vend.EventKind) vend.TxnKind {
	switch k {
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

// record writes the transaction row and finds or creates the order it belongs to.
// It returns a nil order for a change whose payment has not arrived yet: the row
// waits, and is adopted when the payment comes.
func (l *Ledger) record(ctx context.Context, tx store.Tx, ev vend.Event, res *Result) (*vend.Order, error) {
	order, err := tx.FindOrderByRef(ctx, ev.Provider, orderRef(ev))
	if vend.ErrorCode(err) == vend.ENOTFOUND {
		order = nil
		if isPayment(ev.Kind) {
			if order, err = l.createOrder(ctx, tx, ev, res); err != nil {
				return nil, err
			}
		}
	} else if err != nil {
		return nil, err
	}
	var orderID int64
	if order != nil {
		orderID = order.ID
	}
	t, err := tx.FindTransaction(ctx, ev.Provider, ev.TxnID)
	switch {
	case vend.ErrorCode(err) == vend.ENOTFOUND:
		t = &vend.Transaction{OrderID: orderID, Provider: ev.Provider, TxnID: ev.TxnID, ParentTxnID: ev.ParentTxnID,
			Kind: txnKind(ev.Kind), Status: txnStatus(ev.Kind), RawStatus: ev.RawStatus, Reason: ev.Reason,
			Amount: ev.Total, Currency: ev.Currency}
		if err := tx.CreateTransaction(ctx, t); err != nil {
			return nil, err
		}
		res.Changes = append(res.Changes, fmt.Sprintf("%s %s recorded (%s)", t.Kind, t.TxnID, t.Status))
	case err != nil:
		return nil, err
	default:
		// A transaction moves only out of pending. A message that would move it
		// back or sideways (a late Pending, a Denied after Completed) is recorded
		// on the notification but leaves the transaction's status and words alone.
		switch st := txnStatus(ev.Kind); {
		case t.Status == vend.TxnPending && st != vend.TxnPending:
			res.Changes = append(res.Changes, fmt.Sprintf("%s %s %s → %s", t.Kind, t.TxnID, t.Status, st))
			t.Status, t.RawStatus, t.Reason = st, ev.RawStatus, ev.Reason
		case t.Status == st:
			t.RawStatus, t.Reason = ev.RawStatus, ev.Reason
		}
		t.OrderID = orderID
		if err := tx.UpdateTransaction(ctx, t); err != nil {
			return nil, err
		}
	}
	if order == nil {
		res.Changes = append(res.Changes, fmt.Sprintf("payment %s not seen yet; applies when it arrives", ev.ParentTxnID))
	}
	return order, nil
}

func (l *Ledger) createOrder(ctx context.Context, tx store.Tx, ev vend.Event, res *Result) (*vend.Order, error) {
	o := &vend.Order{Provider: ev.Provider, Ref: ev.TxnID, Custom: ev.Custom, Buyer: ev.Buyer, Currency: ev.Currency,
		Total: ev.Total, Status: vend.OrderPending, Test: ev.Test}
	if err := tx.CreateOrder(ctx, o); err != nil {
		return nil, err
	}
	for _, ei := range ev.Items {
		it := &vend.Item{OrderID: o.ID, ProductID: ei.ProductID, Name: ei.Name, Quantity: ei.Quantity, Amount: ei.Amount}
		if err := tx.CreateItem(ctx, it); err != nil {
			return nil, err
		}
	}
	res.Changes = append(res.Changes, fmt.Sprintf("order %d created", o.ID))
	if n, err := tx.AdoptTransactions(ctx, ev.Provider, ev.TxnID, o.ID); err != nil {
		return nil, err
	} else if n > 0 {
		res.Changes = append(res.Changes, fmt.Sprintf("%d earlier transaction(s) attached", n))
	}
	return o, nil
}

// settle derives the order's standing from its whole history and brings its
// grants in line: this is where access is decided.
func (l *Ledger) settle(ctx context.Context, tx store.Tx, o *vend.Order, res *Result) error {
	txns, err := tx.FindTransactionsByOrder(ctx, o.ID)
	if err != nil {
		return err
	}
	st := vend.OrderStanding(o.Total, txns)
	if st.Status != o.Status || st.Reason != o.StatusReason || st.Review != o.Review {
		var why string
		if st.Reason != "" {
			why = " (" + st.Reason + ")"
		}
		switch {
		case st.Status != o.Status:
			res.Changes = append(res.Changes, fmt.Sprintf("order %d %s → %s%s", o.ID, o.Status, st.Status, why))
		case st.Reason != o.StatusReason:
			res.Changes = append(res.Changes, fmt.Sprintf("order %d %s%s", o.ID, st.Status, why))
		}
		if st.Review && !o.Review {
			res.Changes = append(res.Changes, fmt.Sprintf("order %d partly refunded: flagged for review", o.ID))
		}
		o.Status, o.StatusReason, o.Review = st.Status, st.Reason, st.Review
		if err := tx.UpdateOrder(ctx, o); err != nil {
			return err
		}
	}
	return l.syncGrants(ctx, tx, o, st, res)
}

// ReasonAdmin marks a grant an administrator revoked; provider events never undo it.
const ReasonAdmin = "admin"

func (l *Ledger) syncGrants(ctx context.Context, tx store.Tx, o *vend.Order, st vend.Standing, res *Result) error {
	items, err := tx.FindItems(ctx, o.ID)
	if err != nil {
		return err
	}
	grants, err := tx.FindGrantsByOrder(ctx, o.ID)
	if err != nil {
		return err
	}
	byItem := map[int64]*vend.Grant{}
	for _, g := range grants {
		byItem[g.ItemID] = g
	}
	for _, it := range items {
		g := byItem[it.ID]
		switch {
		case st.Active() && g == nil:
			if err := l.createGrant(ctx, tx, o, it); err != nil {
				return err
			}
			res.Changes = append(res.Changes, "access granted to "+it.ProductID)
		case st.Active() && g.State == vend.GrantRevoked && g.Reason != ReasonAdmin:
			g.State, g.Reason = vend.GrantActive, ""
			if err := tx.UpdateGrant(ctx, g); err != nil {
				return err
			}
			res.Changes = append(res.Changes, "access restored to "+it.ProductID)
		case !st.Active() && g != nil && g.State == vend.GrantActive:
			g.State, g.Reason = vend.GrantRevoked, string(st.Status)
			if err := tx.UpdateGrant(ctx, g); err != nil {
				return err
			}
			res.Changes = append(res.Changes, fmt.Sprintf("access to %s ended (%s)", it.ProductID, st.Status))
		}
	}
	return nil
}

func (l *Ledger) createGrant(ctx context.Context, tx store.Tx, o *vend.Order, it *vend.Item) error {
	p, err := tx.FindProductByID(ctx, it.ProductID)
	if err != nil {
		return err
	}
	g := &vend.Grant{ItemID: it.ID, OrderID: o.ID, ProductID: p.ID, PublicID: l.NewPublicID(), State: vend.GrantActive,
		DownloadLimit: p.DownloadLimit}
	if p.Lifetime != vend.Forever {
		g.ExpiresAt = tx.Now().Add(p.Lifetime)
	}
	return tx.CreateGrant(ctx, g)
}
