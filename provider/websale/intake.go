package websale

import (
	"context"
	"crypto/rand"
	"net/url"
	"strings"
	"time"

	"github.com/vend-shop/vend"
)

// Intake is WEBSALE's side of vend's intake. Its messages are the buyer's
// links (/websale?dldata=…, or the site's root with dldata): the first valid
// link of an (order, product) the seller imported (or any, with FirstClick)
// creates the order and its grant; later links, such as the fresh ones of the
// shop's order history, lead to that grant, so limits hold across links.
type Intake struct {
	// Decoder decrypts links; nil while websale.password is not set, and
	// every link is refused.
	Decoder *Decoder
	Config  Config
	// Password encrypts the demo store's links; "" makes none.
	Password string
}

var _ vend.Provider = (*Intake)(nil)
var _ vend.Simulator = (*Intake)(nil)
var _ vend.LinkGate = (*Intake)(nil)

func (in *Intake) Info() vend.ProviderInfo {
	return vend.ProviderInfo{Name: Provider, Label: "WEBSALE", Path: "/websale", Link: true, Configured: in.Decoder != nil}
}

// Verify decrypts the link and checks its age: a link that decrypts is one
// the shop made (see the package doc for the odds of a changed one).
func (in *Intake) Verify(_ context.Context, n *vend.Notification, now time.Time) error {
	l, err := in.decode(n)
	if err != nil {
		return err
	}
	return CheckAge(l, in.Config, now)
}

// Normalize checks the shop and the product, not the age, which Verify did.
func (in *Intake) Normalize(n *vend.Notification) (vend.Event, error) {
	l, err := in.decode(n)
	if err != nil {
		return vend.Event{}, err
	}
	if err := CheckShop(l, in.Config); err != nil {
		return vend.Event{}, err
	}
	return Normalize(l, in.Config), nil
}

// AdmitFirstLink lets the first link of an order's item create its order and
// grant if the seller imported the item (with the link's e-mail address, when
// the export has one), or, with FirstClick on, any link Verify and Normalize
// passed. The link's time is no reason: without a MAC it can be rewritten.
func (in *Intake) AdmitFirstLink(ev vend.Event, imported *vend.ImportedItem) error {
	switch {
	case imported != nil && imported.Email != "" && !strings.EqualFold(imported.Email, ev.Buyer.Email):
		return rejectf(ReasonEmail, "the link's e-mail address is not the one imported for order %s", ev.OrderRef)
	case imported != nil, in.Config.FirstClick:
		return nil
	}
	return rejectf(ReasonNotImported, "%s was not imported (vend websale import) and websale.first_click is off", ev.TxnID)
}

func (in *Intake) decode(n *vend.Notification) (Link, error) {
	if in.Decoder == nil {
		return Link{}, vend.NoSecret("password", "websale.password")
	}
	q, _ := url.ParseQuery(string(n.Body))
	return in.Decoder.Decode(q.Get("dldata"))
}

// Answer of a refused link is the one page all refusals share: telling a bad
// padding from a bad grammar would be an oracle that forges CBC links.
func (in *Intake) Answer(o *vend.Outcome) vend.Reply {
	if o.Refusal == vend.RefusalNone {
		return vend.Reply{}
	}
	return vend.Reply{ContentType: "text/plain; charset=utf-8", Body: []byte(PublicMessage)}
}

// SimulatePayment makes the link a WEBSALE shop's order confirmation would
// hold for p.
func (in *Intake) SimulatePayment(p *vend.Product, now time.Time) (string, *vend.Notification, error) {
	if in.Decoder == nil || in.Password == "" {
		return "", nil, vend.Errorf(vend.ENOTFOUND, "The demo has no WEBSALE shop configured.")
	}
	l := Link{Time: now, ShopID: in.Config.ShopID, SubshopID: in.Config.SubshopID, OrderID: "D" + rand.Text()[:10],
		Email: "buyer@example.com", ProductNumber: in.productNumber(p.ID)}
	hex, err := Encrypt(l.Plaintext(), in.Decoder.Settings(), in.Password, nil)
	if err != nil {
		return "", nil, err
	}
	q := url.Values{"dldata": {hex}}
	return l.OrderID, &vend.Notification{Provider: Provider, Body: []byte(q.Encode())}, nil
}

// productNumber is the WEBSALE product number that maps to productID.
func (in *Intake) productNumber(productID string) string {
	for number, id := range in.Config.Products {
		if id == productID {
			return number
		}
	}
	return productID
}
