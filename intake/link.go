package intake

import (
	"context"
	"errors"

	"github.com/vend-shop/vend"
)

// Link runs a buyer's link, a Link provider's message (n not stored: its Body
// the link's query), and says which grant it leads to (Outcome.Grant). The
// first valid link of an (order, product) is stored, together with the order
// and grant the ledger makes of it; later links, such as the fresh ones of the
// shop's order history, find that grant, so limits hold across links. A
// refused link is not stored: the caller budgets refusals per client instead,
// and shows every refusal the same page.
func (in *Intake) Link(ctx context.Context, p vend.Provider, n *vend.Notification) *vend.Outcome {
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
		res, aerr := in.Ledger.ReceiveApply(ctx, n, ev)
		switch {
		case aerr != nil:
			err = aerr
		case res.Verdict == vend.VerdictRejected:
			return refuse(vend.RefusalRejected, errors.New(res.Reason))
		default:
			log.Info("link "+string(res.Verdict), "key", ev.Key, "order", res.OrderID)
			g, err = in.GrantOf(ctx, ev.Provider, ev.OrderRef, ev.ProductID)
		}
	}
	if err != nil {
		log.Error("link not applied", "error", err)
		return &vend.Outcome{Notification: n, Event: ev, Refusal: vend.RefusalFailed, Reason: "internal error"}
	}
	return &vend.Outcome{Notification: n, Event: ev, Grant: g, Refusal: vend.RefusalNone}
}
