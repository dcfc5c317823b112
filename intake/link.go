package intake

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// Link runs a buyer's link, a Link provider's message (n not stored: its Body
// the link's query), and says which grant it leads to (Outcome.Grant). The
// first valid link of an (order, product) that the provider admits (a
// vend.LinkGate, told what the seller imported of the item) is stored,
// together with the order and grant the ledger makes of it; later links, such
// as the fresh ones of the shop's order history, find that grant, so limits
// hold across links. A refused link is not stored: the caller budgets refusals
// per client instead, and shows every refusal the same page.
func (in *Intake) Link(ctx context.Context, p vend.Provider, n *vend.Notification) *vend.Outcome {
	start := time.Now()
	o := in.link(ctx, p, n)
	in.count(p, o, start)
	return o
}

func (in *Intake) link(ctx context.Context, p vend.Provider, n *vend.Notification) *vend.Outcome {
	log := in.Logger.With("provider", p.Info().Name, "remote", n.RemoteAddr)
	refuse := func(r vend.Refusal, err error) *vend.Outcome {
		log.Warn("link refused", "error", err)
		return &vend.Outcome{Notification: n, Refusal: r, Reason: err.Error()}
	}
	if err := p.Verify(ctx, n, in.Now()); errors.Is(err, vend.ErrUnconfigured) {
		// Links are off: nothing about the link to note.
		return &vend.Outcome{Notification: n, Refusal: vend.RefusalUnconfigured, Reason: err.Error()}
	} else if err != nil {
		return refuse(vend.RefusalForged, err)
	}
	ev, err := p.Normalize(n)
	if err != nil {
		return refuse(vend.RefusalRejected, err)
	}
	ctx = context.WithoutCancel(ctx)
	g, err := in.GrantOf(ctx, ev.Provider, ev.OrderRef, ev.ProductID)
	if vend.ErrorCode(err) == vend.ENOTFOUND {
		var refusal error
		if g, refusal, err = in.firstLink(ctx, p, n, ev, log); refusal != nil {
			return refuse(vend.RefusalRejected, refusal)
		}
	}
	if err != nil {
		log.Error("link not applied", "error", err)
		return &vend.Outcome{Notification: n, Event: ev, Refusal: vend.RefusalFailed, Reason: "internal error"}
	}
	return &vend.Outcome{Notification: n, Event: ev, Grant: g, Refusal: vend.RefusalNone}
}

// firstLink applies the first link of an item vend has made no grant for, if
// the provider admits it, and returns the grant made. refusal says why the
// link was not admitted, or why the ledger rejected it; err is a failure to
// look or to apply.
func (in *Intake) firstLink(ctx context.Context, p vend.Provider, n *vend.Notification, ev vend.Event, log *slog.Logger) (g *vend.Grant, refusal, err error) {
	// A link is no signed message: what it may create depends on what vend
	// knows of the item, not on the link, and the provider decides.
	gate, ok := p.(vend.LinkGate)
	if !ok {
		return nil, fmt.Errorf("intake: %s links create no orders", ev.Provider), nil
	}
	imported, err := in.importedItem(ctx, ev)
	if err != nil {
		return nil, nil, err
	}
	if err := gate.AdmitFirstLink(ev, imported); err != nil {
		return nil, err, nil
	}
	res, err := in.Ledger.ReceiveApply(ctx, n, ev)
	if err != nil {
		return nil, nil, err
	}
	if res.Verdict == vend.VerdictRejected {
		return nil, errors.New(res.Reason), nil
	}
	log.Info("link "+string(res.Verdict), "key", ev.Key, "order", res.OrderID, "imported", imported != nil)
	g, err = in.GrantOf(ctx, ev.Provider, ev.OrderRef, ev.ProductID)
	return g, nil, err
}

// importedItem is the item of ev as the seller imported it, or nil if it never was.
func (in *Intake) importedItem(ctx context.Context, ev vend.Event) (*vend.ImportedItem, error) {
	var it *vend.ImportedItem
	err := in.DB.View(ctx, func(tx store.Tx) error {
		var err error
		it, err = tx.FindImportedItem(ctx, ev.Provider, ev.TxnID)
		if vend.ErrorCode(err) == vend.ENOTFOUND {
			it, err = nil, nil
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("intake: imported item %s %s: %w", ev.Provider, ev.TxnID, err)
	}
	return it, nil
}
