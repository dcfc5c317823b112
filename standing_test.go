package vend_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/vend-shop/vend"
)

// Shorthands for one history's transactions. Amounts are as PayPal sends them:
// refunds and chargebacks negative.
func payment(s vend.TxnStatus, reason string) *vend.Transaction {
	return &vend.Transaction{TxnID: "PAY", Kind: vend.TxnPayment, Status: s, Reason: reason, Amount: 1995}
}

func refund(id string, amount vend.Amount) *vend.Transaction {
	return &vend.Transaction{TxnID: id, ParentTxnID: "PAY", Kind: vend.TxnRefund, Status: vend.TxnCompleted, Amount: -amount}
}

func chargeback(id string) *vend.Transaction {
	return &vend.Transaction{TxnID: id, ParentTxnID: "PAY", Kind: vend.TxnChargeback, Status: vend.TxnCompleted, Amount: -1995}
}

func restore(id string) *vend.Transaction {
	return &vend.Transaction{TxnID: id, ParentTxnID: "PAY", Kind: vend.TxnRestore, Status: vend.TxnCompleted, Amount: 1995}
}

func failed(t *vend.Transaction) *vend.Transaction {
	t.Status = vend.TxnFailed
	return t
}

func history(txns ...*vend.Transaction) []*vend.Transaction { return txns }

var (
	pending  = vend.Standing{Status: vend.OrderPending}
	paid     = vend.Standing{Status: vend.OrderPaid}
	review   = vend.Standing{Status: vend.OrderPaid, Review: true}
	refunded = vend.Standing{Status: vend.OrderRefunded}
	reversed = vend.Standing{Status: vend.OrderReversed}
)

// standingTests is the entitlement state machine of protocols.md §1.10 as a function
// of the stored history. Each history holds at most one payment transaction: an
// order's payment is the transaction whose txn_id is the order's ref, one row that
// moves Pending → Completed/Failed.
var standingTests = []struct {
	name    string
	total   vend.Amount
	history []*vend.Transaction
	want    vend.Standing
}{
	// No completed payment.
	{name: "no transactions is pending", total: 1995, history: nil, want: pending},
	{name: "pending payment is pending with the provider's reason", total: 1995,
		history: history(payment(vend.TxnPending, "echeck")), want: vend.Standing{Status: vend.OrderPending, Reason: "echeck"}},
	{name: "failed payment is failed with the provider's reason", total: 1995,
		history: history(payment(vend.TxnFailed, "denied")), want: vend.Standing{Status: vend.OrderFailed, Reason: "denied"}},
	{name: "refund of a payment still pending leaves it pending", total: 1995,
		history: history(payment(vend.TxnPending, "echeck"), refund("R1", 1995)), want: vend.Standing{Status: vend.OrderPending, Reason: "echeck"}},
	{name: "refund without any payment is pending", total: 1995,
		history: history(refund("R1", 1995)), want: pending},
	{name: "refund of a failed payment stays failed", total: 1995,
		history: history(payment(vend.TxnFailed, ""), refund("R1", 1995)), want: vend.Standing{Status: vend.OrderFailed}},

	// Paid.
	{name: "completed payment is paid", total: 1995, history: history(payment(vend.TxnCompleted, "")), want: paid},
	{name: "paid carries no reason", total: 1995, history: history(payment(vend.TxnCompleted, "echeck")), want: paid},
	{name: "restore without a chargeback changes nothing", total: 1995,
		history: history(payment(vend.TxnCompleted, ""), restore("C1")), want: paid},
	{name: "failed chargeback is ignored", total: 1995,
		history: history(payment(vend.TxnCompleted, ""), failed(chargeback("B1"))), want: paid},
	{name: "failed refund is ignored", total: 1995,
		history: history(payment(vend.TxnCompleted, ""), failed(refund("R1", 1995))), want: paid},
	{name: "free order is paid", total: 0, history: history(payment(vend.TxnCompleted, "")), want: paid},

	// Refunds.
	{name: "full refund is refunded", total: 1995,
		history: history(payment(vend.TxnCompleted, ""), refund("R1", 1995)), want: refunded},
	{name: "refund before its payment is refunded once the payment completes", total: 1995,
		history: history(refund("R1", 1995), payment(vend.TxnCompleted, "")), want: refunded},
	{name: "partial refund keeps access and flags review", total: 1995,
		history: history(payment(vend.TxnCompleted, ""), refund("R1", 500)), want: review},
	{name: "partial refunds adding up to the total are refunded", total: 1995,
		history: history(payment(vend.TxnCompleted, ""), refund("R1", 995), refund("R2", 1000)), want: refunded},
	{name: "partial refunds below the total keep access and flag review", total: 1995,
		history: history(payment(vend.TxnCompleted, ""), refund("R1", 995), refund("R2", 999)), want: review},
	{name: "refund above the total is refunded", total: 1995,
		history: history(payment(vend.TxnCompleted, ""), refund("R1", 2500)), want: refunded},
	{name: "refund amount counts whatever its sign", total: 1995,
		history: history(payment(vend.TxnCompleted, ""), refund("R1", -1995)), want: refunded},
	{name: "zero refund still flags review", total: 1995,
		history: history(payment(vend.TxnCompleted, ""), refund("R1", 0)), want: review},
	{name: "refund of a free order is refunded", total: 0,
		history: history(payment(vend.TxnCompleted, ""), refund("R1", 0)), want: refunded},

	// Chargebacks and restores.
	{name: "chargeback is reversed", total: 1995,
		history: history(payment(vend.TxnCompleted, ""), chargeback("B1")), want: reversed},
	{name: "chargeback of a payment pending review is reversed", total: 1995,
		history: history(payment(vend.TxnPending, "paymentreview"), chargeback("B1")), want: reversed},
	{name: "chargeback of a failed payment is reversed", total: 1995,
		history: history(payment(vend.TxnFailed, ""), chargeback("B1")), want: reversed},
	{name: "chargeback before its payment is reversed", total: 1995,
		history: history(chargeback("B1")), want: reversed},
	{name: "Canceled_Reversal restores a chargeback", total: 1995,
		history: history(payment(vend.TxnCompleted, ""), chargeback("B1"), restore("C1")), want: paid},
	{name: "two chargebacks and one cancel stay reversed", total: 1995,
		history: history(payment(vend.TxnCompleted, ""), chargeback("B1"), chargeback("B2"), restore("C1")), want: reversed},
	{name: "two chargebacks and two cancels are paid", total: 1995,
		history: history(payment(vend.TxnCompleted, ""), chargeback("B1"), chargeback("B2"), restore("C1"), restore("C2")), want: paid},
	{name: "failed restore does not cancel a chargeback", total: 1995,
		history: history(payment(vend.TxnCompleted, ""), chargeback("B1"), failed(restore("C1"))), want: reversed},
	{name: "chargeback wins over a refund", total: 1995,
		history: history(payment(vend.TxnCompleted, ""), refund("R1", 1995), chargeback("B1")), want: reversed},
	{name: "restored chargeback of a refunded order stays refunded", total: 1995,
		history: history(payment(vend.TxnCompleted, ""), refund("R1", 1995), chargeback("B1"), restore("C1")), want: refunded},
	{name: "restored chargeback of a partly refunded order keeps the review flag", total: 1995,
		history: history(payment(vend.TxnCompleted, ""), refund("R1", 500), chargeback("B1"), restore("C1")), want: review},
	{name: "restore of a pending payment does not make it paid", total: 1995,
		history: history(payment(vend.TxnPending, "echeck"), chargeback("B1"), restore("C1")), want: vend.Standing{Status: vend.OrderPending, Reason: "echeck"}},
}

func TestOrderStanding(t *testing.T) {
	for _, tt := range standingTests {
		t.Run(tt.name, func(t *testing.T) {
			if got := vend.OrderStanding(tt.total, tt.history); got != tt.want {
				t.Errorf("OrderStanding(%s, %s) = %+v, want %+v", tt.total, describe(tt.history), got, tt.want)
			}
		})
	}
}

// TestOrderStanding_OrderIndependent checks that access is a function of the stored
// history, never of arrival order: every permutation of a history gives the same
// standing.
func TestOrderStanding_OrderIndependent(t *testing.T) {
	for _, tt := range standingTests {
		t.Run(tt.name, func(t *testing.T) {
			seen := map[string]bool{}
			permute(tt.history, func(h []*vend.Transaction) {
				seen[fmt.Sprint(h)] = true
				if got := vend.OrderStanding(tt.total, h); got != tt.want {
					t.Errorf("history %s: got %+v, want %+v", describe(h), got, tt.want)
				}
			})
			if want := factorial(len(tt.history)); len(seen) != want {
				t.Fatalf("checked %d distinct permutations, want %d", len(seen), want)
			}
		})
	}
}

// TestOrderStanding_LatePaymentNeverRevives checks §1.10's last row for every ended
// standing: the same history plus a repeated completed payment, wherever it lands,
// stays where it was.
func TestOrderStanding_LatePaymentNeverRevives(t *testing.T) {
	for _, tt := range standingTests {
		if tt.want.Status != vend.OrderRefunded && tt.want.Status != vend.OrderReversed {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			h := append(append([]*vend.Transaction{}, tt.history...), payment(vend.TxnCompleted, ""))
			permute(h, func(h []*vend.Transaction) {
				if got := vend.OrderStanding(tt.total, h); got.Active() {
					t.Errorf("history %s: got %+v, want no access", describe(h), got)
				}
			})
		})
	}
}

func TestStanding_Active(t *testing.T) {
	for _, s := range []vend.OrderStatus{vend.OrderPending, vend.OrderPaid, vend.OrderRefunded, vend.OrderReversed, vend.OrderFailed} {
		if got, want := (vend.Standing{Status: s}).Active(), s == vend.OrderPaid; got != want {
			t.Errorf("Standing{%s}.Active() = %v, want %v", s, got, want)
		}
	}
	if !(vend.Standing{Status: vend.OrderPaid, Review: true}).Active() {
		t.Error("a paid order flagged for review must keep access")
	}
}

// permute calls fn with every permutation of s (Heap's algorithm) on a copy.
func permute(s []*vend.Transaction, fn func([]*vend.Transaction)) {
	a := append([]*vend.Transaction{}, s...)
	var gen func(k int)
	gen = func(k int) {
		if k <= 1 {
			fn(a)
			return
		}
		gen(k - 1)
		for i := 0; i < k-1; i++ {
			if k%2 == 0 {
				a[i], a[k-1] = a[k-1], a[i]
			} else {
				a[0], a[k-1] = a[k-1], a[0]
			}
			gen(k - 1)
		}
	}
	gen(len(a))
}

func factorial(n int) int {
	f := 1
	for i := 2; i <= n; i++ {
		f *= i
	}
	return f
}

func describe(h []*vend.Transaction) string {
	s := "["
	for i, t := range h {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%s:%s/%s:%s", t.TxnID, t.Kind, t.Status, t.Amount)
	}
	return s + "]"
}

func TestOrderStanding_FullRefund(t *testing.T) {
	// A refund marked full ends access even when its amount is less than the
	// total (Digistore24 refunds of unknown sign and size).
	txns := []*vend.Transaction{
		{TxnID: "P", Kind: vend.TxnPayment, Status: vend.TxnCompleted, Amount: 1995},
		{TxnID: "R", Kind: vend.TxnRefund, Status: vend.TxnCompleted, Amount: 1, Full: true},
	}
	if got := vend.OrderStanding(1995, txns); got.Status != vend.OrderRefunded {
		t.Errorf("full refund of 0.01: %+v, want refunded", got)
	}
	txns[1].Full = false
	if got := vend.OrderStanding(1995, txns); got.Status != vend.OrderPaid || !got.Review {
		t.Errorf("partial refund of 0.01: %+v, want paid with review", got)
	}
}

func TestStanding_WithHold(t *testing.T) {
	paid := vend.Standing{Status: vend.OrderPaid}
	for _, tt := range []struct {
		s    vend.Standing
		h    vend.Hold
		want vend.OrderStatus
	}{
		{paid, vend.HoldNone, vend.OrderPaid},
		{paid, vend.HoldSuspended, vend.OrderSuspended},
		{paid, vend.HoldEnded, vend.OrderEnded},
		// A hold never hides what the money says.
		{vend.Standing{Status: vend.OrderRefunded}, vend.HoldSuspended, vend.OrderRefunded},
		{vend.Standing{Status: vend.OrderPending}, vend.HoldEnded, vend.OrderPending},
	} {
		if got := tt.s.WithHold(tt.h); got.Status != tt.want {
			t.Errorf("%s with hold %q: %s, want %s", tt.s.Status, tt.h, got.Status, tt.want)
		}
	}
}

func TestCombineStandings(t *testing.T) {
	st := func(s vend.OrderStatus) vend.Standing { return vend.Standing{Status: s} }
	for _, tt := range []struct {
		items  []vend.Standing
		want   vend.OrderStatus
		review bool
	}{
		{nil, vend.OrderPending, false},
		{[]vend.Standing{st(vend.OrderRefunded), st(vend.OrderPaid)}, vend.OrderPaid, false},
		{[]vend.Standing{st(vend.OrderRefunded), st(vend.OrderReversed)}, vend.OrderRefunded, false},
		{[]vend.Standing{st(vend.OrderSuspended), st(vend.OrderEnded)}, vend.OrderSuspended, false},
		{[]vend.Standing{st(vend.OrderPending), {Status: vend.OrderPaid, Review: true}}, vend.OrderPaid, true},
	} {
		got := vend.CombineStandings(tt.items)
		if got.Status != tt.want || got.Review != tt.review {
			t.Errorf("%v: %+v, want %s review=%v", tt.items, got, tt.want, tt.review)
		}
	}
}

// Shorthands for a subscription item's history, each at its own time of the
// provider's clock (minute n): payments, and the holds kept like transactions.
func at(t *vend.Transaction, minute int) *vend.Transaction {
	t.At = time.Date(2026, 1, 1, 0, minute, 0, 0, time.UTC)
	return t
}

func rebill(id string, minute int) *vend.Transaction {
	return at(&vend.Transaction{TxnID: id, Kind: vend.TxnPayment, Status: vend.TxnCompleted, Amount: 1995}, minute)
}

func holdTxn(kind vend.TxnKind, id string, minute int) *vend.Transaction {
	return at(&vend.Transaction{TxnID: id, Kind: kind, Status: vend.TxnCompleted}, minute)
}

// itemTests: an item's access from payments, missed payments (M), resumed
// rebillings (X), ends of the paid period (E), refunds and chargebacks. The
// minutes say when each happened; the arrival order must not matter.
var itemTests = []struct {
	name    string
	history []*vend.Transaction
	want    vend.OrderStatus
}{
	{"missed payment suspends", history(rebill("P1", 1), holdTxn(vend.TxnSuspend, "M", 2)), vend.OrderSuspended},
	{"the end of the paid period ends", history(rebill("P1", 1), holdTxn(vend.TxnEnd, "E", 2)), vend.OrderEnded},
	{"a rebill after the missed payment lifts it", history(rebill("P1", 1), holdTxn(vend.TxnSuspend, "M", 2), rebill("P2", 3)), vend.OrderPaid},
	{"a rebill before the missed payment does not", history(rebill("P1", 1), rebill("P2", 2), holdTxn(vend.TxnSuspend, "M", 3)), vend.OrderSuspended},
	{"the first payment never lifts a hold", history(holdTxn(vend.TxnSuspend, "M", 1), rebill("P1", 2)), vend.OrderSuspended},
	{"resumed rebilling lifts a suspension", history(rebill("P1", 1), holdTxn(vend.TxnSuspend, "M", 2), holdTxn(vend.TxnResume, "X", 3)), vend.OrderPaid},
	{"resumed rebilling before the missed payment does not", history(rebill("P1", 1), holdTxn(vend.TxnResume, "X", 2), holdTxn(vend.TxnSuspend, "M", 3)), vend.OrderSuspended},
	{"resumed rebilling does not lift an end", history(rebill("P1", 1), holdTxn(vend.TxnEnd, "E", 2), holdTxn(vend.TxnResume, "X", 3)), vend.OrderEnded},
	{"a payment after the end starts a new period", history(rebill("P1", 1), holdTxn(vend.TxnEnd, "E", 2), rebill("P2", 3)), vend.OrderPaid},
	{"missed, rebill, resume, then the end", history(rebill("P1", 1), holdTxn(vend.TxnSuspend, "M", 2), rebill("P2", 3), holdTxn(vend.TxnResume, "X", 4), holdTxn(vend.TxnEnd, "E", 5)), vend.OrderEnded},
	{"a refund ends access whatever the holds", history(rebill("P1", 1), holdTxn(vend.TxnSuspend, "M", 2), rebill("P2", 3), refund("R", 1995)), vend.OrderRefunded},
	{"a chargeback ends access whatever the holds", history(rebill("P1", 1), holdTxn(vend.TxnEnd, "E", 2), rebill("P2", 3), chargeback("C")), vend.OrderReversed},
	{"everything at once", history(rebill("P1", 1), holdTxn(vend.TxnSuspend, "M", 2), rebill("P2", 3), holdTxn(vend.TxnResume, "X", 4),
		holdTxn(vend.TxnEnd, "E", 5), refund("R", 1995), chargeback("C")), vend.OrderReversed},
	{"holds without a payment are pending", history(holdTxn(vend.TxnSuspend, "M", 1), holdTxn(vend.TxnEnd, "E", 2)), vend.OrderPending},
}

// TestItemHold_OrderIndependent: every arrival order of an item's history,
// payments and holds alike, gives the same access.
func TestItemHold_OrderIndependent(t *testing.T) {
	for _, tt := range itemTests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			permute(tt.history, func(h []*vend.Transaction) {
				got := vend.OrderStanding(1995, h).WithHold(vend.ItemHold(h))
				if got.Status != tt.want {
					t.Errorf("history %s: %s, want %s", describe(h), got.Status, tt.want)
				}
			})
		})
	}
}
