package web

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/provider/websale"
	"github.com/vend-shop/vend/store"
)

// Websale is the configuration of WEBSALE's external download links.
type Websale struct {
	Decoder *websale.Decoder
	Config  websale.Config
}

// Refused links per client address. A link is AES without a MAC (in the CBC and
// ECB readings), so a buyer who changes bytes of their own link can, about once
// in a few thousand tries, make one that still parses, for another product of
// their order. Honest buyers never send a refused link more than a few times;
// this budget stretches the thousands of tries over months per address.
const (
	linkFailureEvery = 30 * time.Minute // one more refusal allowed per this
	linkFailureBurst = 10
)

// handleWebsale turns a WEBSALE link (/?dldata=… or /websale?dldata=…) into the
// buyer's download page. The first valid link for an (order, product) creates
// the order and its grant; later links, such as the fresh ones of the shop's
// order history, find that grant, so limits hold across links. Every refusal
// gives the buyer the same page and status, whatever went wrong: telling a bad
// padding from a bad grammar would be an oracle that forges CBC links.
func (s *Server) handleWebsale(w http.ResponseWriter, r *http.Request) {
	if s.Websale == nil {
		s.Error(w, r, vend.Errorf(vend.ENOTFOUND, websale.PublicMessage))
		return
	}
	// Every link takes one of the address's refusals up front and gives it back
	// once it led to a grant: links sent at once cannot all slip through on one.
	giveBack, ok := s.linkFailures.take(r.RemoteAddr, s.Now())
	if !ok {
		s.Logger.Warn("websale link refused: too many refused links from this address", "remote", r.RemoteAddr)
		s.Error(w, r, vend.Errorf(vend.ENOTFOUND, websale.PublicMessage))
		return
	}
	link, err := s.Websale.Decoder.Decode(r.URL.Query().Get("dldata"))
	if err == nil {
		err = websale.Check(link, s.Websale.Config, s.Now())
	}
	if err != nil {
		s.refuseLink(w, r, err)
		return
	}
	ev := websale.Normalize(link, s.Websale.Config)
	ctx := context.WithoutCancel(r.Context())
	g, err := s.linkGrant(ctx, ev)
	if vend.ErrorCode(err) == vend.ENOTFOUND {
		g, err = s.grantLink(ctx, r, ev)
	}
	if err != nil {
		s.refuseLink(w, r, err)
		return
	}
	giveBack()
	http.Redirect(w, r, s.pageURL(g), http.StatusSeeOther)
}

// refuseLink logs why a link was refused and shows the buyer the one page all
// refusals share.
func (s *Server) refuseLink(w http.ResponseWriter, r *http.Request, err error) {
	var le *websale.LinkError
	if errors.As(err, &le) || vend.ErrorCode(err) != vend.EINTERNAL {
		s.Logger.Warn("websale link refused", "error", err, "remote", r.RemoteAddr)
		err = vend.Errorf(vend.ENOTFOUND, websale.PublicMessage)
	}
	s.Error(w, r, err)
}

// linkGrant finds the grant a link's (order, product) already has.
func (s *Server) linkGrant(ctx context.Context, ev vend.Event) (*vend.Grant, error) {
	var g *vend.Grant
	err := s.DB.View(ctx, func(tx store.Tx) error {
		var err error
		g, err = grantOf(ctx, tx, ev.Provider, ev.OrderRef, ev.ProductID)
		return err
	})
	return g, err
}

// grantOf finds the grant of one product of a provider's order.
func grantOf(ctx context.Context, tx store.Tx, provider, orderRef, productID string) (*vend.Grant, error) {
	o, err := tx.FindOrderByRef(ctx, provider, orderRef)
	if err != nil {
		return nil, err
	}
	grants, err := tx.FindGrantsByOrder(ctx, o.ID)
	if err != nil {
		return nil, err
	}
	for _, g := range grants {
		if g.ProductID == productID {
			return g, nil
		}
	}
	return nil, vend.Errorf(vend.ENOTFOUND, "order %s has no grant for %s", orderRef, productID)
}

// grantLink records the first link of an (order, product) like any provider
// message — the raw query, stored together with its effect, since decrypting it
// proved it — and returns the grant the ledger made for it.
func (s *Server) grantLink(ctx context.Context, r *http.Request, ev vend.Event) (*vend.Grant, error) {
	n := &vend.Notification{Provider: websale.Provider, RemoteAddr: r.RemoteAddr, Headers: safeHeaders(r.Header), Body: []byte(r.URL.RawQuery)}
	res, err := s.Ledger.ReceiveApply(ctx, n, ev)
	if err != nil {
		return nil, err
	}
	if res.Verdict == vend.VerdictRejected {
		return nil, vend.Errorf(vend.ENOTFOUND, "%s", res.Reason)
	}
	s.Logger.Info("websale link "+string(res.Verdict), "key", ev.Key, "order", res.OrderID)
	return s.linkGrant(ctx, ev)
}
