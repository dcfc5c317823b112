package vend

// Standing is an order's status derived from its whole transaction history. Access
// is a function of this history, never of the order in which messages arrived: a
// late or repeated payment after a refund changes nothing here, because the refund
// is still in the history.
type Standing struct {
	Status OrderStatus
	Reason string // why pending or failed, from the provider (e.g. "echeck")
	Review bool   // partly refunded: access stays, a person should look
}

// Active reports whether the standing lets the buyer download.
func (s Standing) Active() bool { return s.Status == OrderPaid }

// OrderStanding derives the standing of an order with the given total from its
// transactions. The rules, in order:
//   - a chargeback not cancelled by as many restores → reversed (also for a payment
//     still pending review: PayPal's rejected review arrives as Reversed);
//   - a failed payment (denied, failed, voided, expired) → failed;
//   - no completed payment → pending;
//   - a refund marked full, or completed refunds adding up to the total → refunded;
//   - some refund, less than the total → paid, flagged for review;
//   - otherwise → paid.
func OrderStanding(total Amount, txns []*Transaction) Standing {
	var (
		payment               *Transaction
		refunded              Amount
		refunds               int
		fullRefund            bool
		chargebacks, restores int
	)
	for _, t := range txns {
		switch t.Kind {
		case TxnPayment:
			// The furthest status wins; between equals the smaller txn id, so the
			// result never depends on arrival order.
			if payment == nil || rank(t.Status) > rank(payment.Status) ||
				rank(t.Status) == rank(payment.Status) && t.TxnID < payment.TxnID {
				payment = t
			}
		case TxnRefund:
			if t.Status != TxnFailed {
				refunded += t.Amount.Abs()
				refunds++
				fullRefund = fullRefund || t.Full
			}
		case TxnChargeback:
			if t.Status != TxnFailed {
				chargebacks++
			}
		case TxnRestore:
			if t.Status != TxnFailed {
				restores++
			}
		}
	}
	switch {
	case chargebacks > restores:
		return Standing{Status: OrderReversed}
	case payment == nil:
		return Standing{Status: OrderPending}
	case payment.Status == TxnFailed:
		return Standing{Status: OrderFailed, Reason: payment.Reason}
	case payment.Status == TxnPending:
		return Standing{Status: OrderPending, Reason: payment.Reason}
	case fullRefund || refunds > 0 && refunded >= total:
		return Standing{Status: OrderRefunded}
	case refunds > 0:
		return Standing{Status: OrderPaid, Review: true}
	}
	return Standing{Status: OrderPaid}
}

// rank orders payment statuses so the furthest one wins whatever the arrival order:
// a late Pending never undoes a Completed or a failure.
func rank(s TxnStatus) int {
	switch s {
	case TxnCompleted:
		return 2
	case TxnFailed:
		return 1
	}
	return 0
}

// ItemHold derives an item's hold from its transactions, the holds among them
// (TxnSuspend, TxnResume, TxnEnd) placed by their At, never by arrival:
//   - a hold is about a period after the first payment, so the item's first
//     completed payment (the earliest by At, then by txn id) never lifts one,
//     even when it arrives after the hold;
//   - ended while no completed payment comes after the latest end of the paid
//     period; a resumed rebilling does not lift an end;
//   - suspended while neither a later payment nor a resumed rebilling comes
//     after the latest missed payment.
//
// Two events at the same At are taken in the order vend recorded them (ID);
// unrecorded ones (ID 0) tie, and a tie goes to the hold. Refunds and
// chargebacks are not holds: OrderStanding ends access for them, for good,
// whatever the holds say.
func ItemHold(txns []*Transaction) Hold {
	var first *Transaction
	for _, t := range txns {
		if t.Kind == TxnPayment && t.Status == TxnCompleted &&
			(first == nil || t.At.Before(first.At) || t.At.Equal(first.At) && t.TxnID < first.TxnID) {
			first = t
		}
	}
	var lastEnd, lastMiss, lastPayment, lastLift *Transaction
	for _, t := range txns {
		if t.Status == TxnFailed {
			continue
		}
		switch t.Kind {
		case TxnEnd:
			lastEnd = later(lastEnd, t)
		case TxnSuspend:
			lastMiss = later(lastMiss, t)
		case TxnResume:
			lastLift = later(lastLift, t)
		case TxnPayment:
			if t != first && t.Status == TxnCompleted {
				lastPayment, lastLift = later(lastPayment, t), later(lastLift, t)
			}
		}
	}
	switch {
	case lastEnd != nil && !comesAfter(lastPayment, lastEnd):
		return HoldEnded
	case lastMiss != nil && !comesAfter(lastLift, lastMiss):
		return HoldSuspended
	}
	return HoldNone
}

// comesAfter reports whether a happened after b; a nil a never did.
func comesAfter(a, b *Transaction) bool {
	return a != nil && (a.At.After(b.At) || a.At.Equal(b.At) && a.ID > b.ID)
}

func later(a, b *Transaction) *Transaction {
	if a == nil || comesAfter(b, a) {
		return b
	}
	return a
}

// WithHold applies an item's hold: money that stands still gives no access while
// a recurring payment is missed or after the paid period ended.
func (s Standing) WithHold(h Hold) Standing {
	if s.Active() && h != HoldNone {
		return Standing{Status: OrderStatus(h)}
	}
	return s
}

// CombineStandings derives an order's standing from its items' standings: the
// order is as good as its best item (one refunded upsell leaves the order paid),
// and needs review if any item does. With no items it is pending.
func CombineStandings(items []Standing) Standing {
	if len(items) == 0 {
		return Standing{Status: OrderPending}
	}
	best, review := items[0], false
	for _, s := range items {
		if standingRank[s.Status] > standingRank[best.Status] {
			best = s
		}
		review = review || s.Review
	}
	best.Review = review
	return best
}

// standingRank orders statuses from the most to the least access an order has.
var standingRank = map[OrderStatus]int{
	OrderPaid: 6, OrderSuspended: 5, OrderPending: 4, OrderEnded: 3, OrderFailed: 2, OrderRefunded: 1, OrderReversed: 0,
}
