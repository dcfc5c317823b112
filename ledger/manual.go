package ledger

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/locale"
	"github.com/vend-shop/vend/store"
)

// ProviderManual names orders an administrator made by hand.
const ProviderManual = "manual"

// ManualOrder is an order an administrator creates without a provider: a free
// copy, a replacement, a sale made elsewhere.
type ManualOrder struct {
	Buyer    vend.Buyer `json:"buyer"`
	Products []string   `json:"products"` // catalog product ids, one item each
	Note     string     `json:"note,omitempty"`
	// Language is the buyer's ("en", "de"), for the receipt and the download
	// page; "" lets the page follow the browser.
	Language string `json:"language,omitempty"`
	// SendReceipt mails the buyer the receipt with the links (when vend sends
	// mail); otherwise the administrator hands the links over.
	SendReceipt bool `json:"send_receipt"`
}

// CreateOrder makes a paid order by hand, with a grant per product at the
// catalog's price, as if a provider had reported the payment: the request is
// stored as a notification of provider "manual", so the order's history shows
// where it came from, and the change is in the audit trail.
func (l *Ledger) CreateOrder(ctx context.Context, actor string, req ManualOrder) (*Result, error) {
	req.Buyer.Email = strings.TrimSpace(req.Buyer.Email)
	req.Buyer.Name = strings.TrimSpace(req.Buyer.Name)
	if req.Buyer.Email == "" || !strings.Contains(req.Buyer.Email, "@") {
		return nil, vend.Errorf(vend.EINVALID, "The buyer's email address is missing or not an address.")
	}
	if len(req.Products) == 0 {
		return nil, vend.Errorf(vend.EINVALID, "Choose at least one product.")
	}
	req.Language = strings.TrimSpace(req.Language)
	if req.Language != "" && !slices.Contains(locale.Languages(), req.Language) {
		return nil, vend.Errorf(vend.EINVALID, "The buyer's language must be one of %s, or none.", strings.Join(locale.Languages(), ", "))
	}
	ref := "M-" + rand.Text()[:12]
	ev := vend.Event{Provider: ProviderManual, Kind: vend.EventPayment, OrderRef: ref, TxnID: ref, Key: ref, RawStatus: "manual",
		Reason: req.Note, Buyer: req.Buyer, Unpriced: true, Custom: "by " + actor, Language: req.Language}
	seen := map[string]bool{}
	for _, p := range req.Products {
		p = strings.TrimSpace(p)
		if p == "" || seen[p] {
			continue
		}
		seen[p] = true
		ev.Items = append(ev.Items, vend.EventItem{ProductID: p, Quantity: 1})
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	n := &vend.Notification{Provider: ProviderManual, RemoteAddr: "admin " + actor, Body: body,
		Headers: map[string][]string{"Content-Type": {"application/json"}}}
	var res *Result
	err = l.db.Update(ctx, func(tx store.Tx) error {
		tx = &catalogCache{Tx: tx}
		n.ID = 0 // a new id, also when this runs again after a rollback
		if err := tx.CreateNotification(ctx, n); err != nil {
			return err
		}
		var err error
		if res, err = l.apply(ctx, tx, n, ev); err != nil {
			return err
		}
		if res.Verdict != vend.VerdictApplied {
			return vend.Errorf(vend.EINVALID, "%s", firstOf(res.Reason, "The order could not be made."))
		}
		if req.SendReceipt {
			if err := l.enqueueMail(ctx, tx, ev, res); err != nil {
				return err
			}
		}
		n.Verdict, n.Changes, n.Key, n.OrderID = res.Verdict, strings.Join(res.Changes, "; "), ev.Key, res.OrderID
		if err := tx.UpdateNotification(ctx, n); err != nil {
			return err
		}
		o, err := tx.FindOrderByID(ctx, res.OrderID)
		if err != nil {
			return err
		}
		return store.RecordAudit(ctx, tx, actor, "order.create", vend.OrderTarget(o.ID), nil, o)
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: create order: %w", err)
	}
	if res.Mails > 0 && l.Mailed != nil {
		l.Mailed()
	}
	return res, nil
}

// RefundOrder records that the seller refunded an order outside vend (by
// bank transfer, in the provider's own dashboard without a notification): a
// full refund of what is left of the order's total, under the order's
// provider, with reason note; per item when the provider's payments are per
// item (Digistore24, WEBSALE). The order's status and its buyers' access
// follow from it as from any refund (access ends; the buyer and owner mails
// go out), so a later provider message is judged against it, not against a
// status someone typed. The request is kept as a notification of provider
// "manual". An order that is not paid (pending, refunded, charged back) or
// deleted is a conflict.
func (l *Ledger) RefundOrder(ctx context.Context, actor string, orderID int64, note string) (*Result, error) {
	note = strings.TrimSpace(note)
	if len(note) > 1000 {
		return nil, vend.Errorf(vend.EINVALID, "The note is too long: 1000 characters at most.")
	}
	var res *Result
	err := l.db.Update(ctx, func(tx store.Tx) error {
		o, err := tx.FindOrderByID(ctx, orderID)
		if err != nil {
			return err
		}
		// The order's lock first, then its state: two refunds at once must
		// see each other (random ids would not collide in ClaimKey).
		if err := tx.LockOrderRef(ctx, o.Provider, o.Ref); err != nil {
			return err
		}
		if o, err = tx.FindOrderByID(ctx, orderID); err != nil {
			return err
		}
		switch {
		case o.Deleted:
			return vend.Errorf(vend.ECONFLICT, "Order %d is deleted.", orderID)
		case o.Status != vend.OrderPaid && o.Status != vend.OrderSuspended && o.Status != vend.OrderEnded:
			return vend.Errorf(vend.ECONFLICT, "Order %d is %s: there is no payment left to refund.", orderID, o.Status)
		}
		events, err := refundEvents(ctx, tx, o, actor, note)
		if err != nil {
			return err
		}
		body, err := json.Marshal(map[string]any{"order": orderID, "action": "refund", "note": note})
		if err != nil {
			return err
		}
		n := &vend.Notification{Provider: ProviderManual, RemoteAddr: "admin " + actor, Body: body,
			Headers: map[string][]string{"Content-Type": {"application/json"}}}
		n.ID = 0 // a new id, also when this runs again after a rollback
		if err := tx.CreateNotification(ctx, n); err != nil {
			return err
		}
		tx = &catalogCache{Tx: tx}
		res = &Result{Verdict: vend.VerdictApplied, OrderID: orderID}
		for _, ev := range events {
			r, err := l.apply(ctx, tx, n, ev)
			if err != nil {
				return err
			}
			if r.Verdict != vend.VerdictApplied {
				return vend.Errorf(vend.EINVALID, "%s", firstOf(r.Reason, "The refund could not be recorded."))
			}
			if err := l.enqueueMail(ctx, tx, ev, r); err != nil { // the buyer learns that access ended, as after any refund
				return err
			}
			res.Changes, res.Ended, res.Mails = append(res.Changes, r.Changes...), append(res.Ended, r.Ended...), res.Mails+r.Mails
		}
		after, err := tx.FindOrderByID(ctx, orderID)
		if err != nil {
			return err
		}
		if after.Status != vend.OrderRefunded { // never a refund on the books that ended nothing
			return fmt.Errorf("order %d is %s after a full refund", orderID, after.Status)
		}
		n.Verdict, n.Changes, n.Key, n.OrderID = res.Verdict, strings.Join(res.Changes, "; "), events[0].Key, orderID
		if err := tx.UpdateNotification(ctx, n); err != nil {
			return err
		}
		return store.RecordAudit(ctx, tx, actor, "order.refund", vend.OrderTarget(orderID), o, after)
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: refund order %d: %w", orderID, err)
	}
	if res.Mails > 0 && l.Mailed != nil {
		l.Mailed()
	}
	return res, nil
}

// refundEvents are the full refunds that end order o: one for the whole
// order, or one per item still paid when the provider's payments name their
// item (the ledger judges such items by their own transactions). Each
// refunds what was paid and not refunded yet.
func refundEvents(ctx context.Context, tx store.Tx, o *vend.Order, actor, note string) ([]vend.Event, error) {
	txns, err := tx.FindTransactionsByOrder(ctx, o.ID)
	if err != nil {
		return nil, err
	}
	left := map[string]vend.Amount{} // by item product id; "" for the whole order
	perItem := false
	for _, t := range txns {
		switch {
		case t.Kind == vend.TxnPayment && t.Status == vend.TxnCompleted:
			left[t.ProductID] += t.Amount
			perItem = perItem || t.ProductID != ""
		case t.Kind == vend.TxnRefund && t.Status == vend.TxnCompleted:
			left[t.ProductID] -= t.Amount.Abs()
		}
	}
	id := "admin-refund-" + rand.Text()[:12]
	ev := vend.Event{Provider: o.Provider, Kind: vend.EventRefund, OrderRef: o.Ref, ParentTxnID: o.Ref, RawStatus: "refunded by " + actor,
		Reason: note, Currency: o.Currency, Full: true, Buyer: o.Buyer, Test: o.Test}
	if !perItem {
		ev.TxnID, ev.Key, ev.Total = id, id, -max(left[""], 0)
		return []vend.Event{ev}, nil
	}
	items, err := tx.FindItems(ctx, o.ID)
	if err != nil {
		return nil, err
	}
	var out []vend.Event
	for _, it := range items {
		if it.Status != vend.OrderPaid && it.Status != vend.OrderSuspended && it.Status != vend.OrderEnded {
			continue
		}
		e := ev
		e.ProductID, e.TxnID, e.Key = it.ProductID, id+"-"+it.ProductID, id+"-"+it.ProductID
		e.Total = -max(left[it.ProductID], 0)
		out = append(out, e)
	}
	if len(out) == 0 {
		return nil, vend.Errorf(vend.ECONFLICT, "Order %d has no item left to refund.", o.ID)
	}
	return out, nil
}
