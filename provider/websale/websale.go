// Package websale accepts WEBSALE "External Download" links: a buyer arrives
// at /?dldata=<hex>, where the hex is an AES-256 encryption, under a password
// shared with the shop, of
//
//	<1>unix time</1><2>shop</2><3>subshop</3><4>order</4><5>e-mail</5>[<6>customer no.</6>][<7>user index</7>]<8>product no.</8>
//
// A Decoder decrypts and parses the link, Check holds it against the shop's
// configuration and the clock, and Normalize turns it into a vend.Event for the
// ledger. Encrypt and LinkURL make links for the simulator and the tests.
//
// # The cipher is a guess until pinned
//
// WEBSALE documents only "AES 256-bit, then hex". Mode, IV placement, padding,
// how the password becomes a key, and the plaintext's charset are not public.
// So the decoder is configured by three settings (KDF, Mode, Padding), each of
// which may be Auto: try every candidate. The rigid plaintext grammar is what
// tells a right guess from a wrong one. Auto is for onboarding only: run Detect
// (`vend websale detect <link>`) on a link from a test order, pin the one
// setting it reports, and ask WEBSALE to confirm it. Every candidate left on
// is one more way for a link to be accepted.
//
// # A link is an identifier, not a capability
//
// ECB and CBC carry no MAC, so a link can be changed without the key:
//
//   - With cbc-ivprefix, whoever holds one link can rewrite its first
//     plaintext block, "<1>" and the timestamp, by editing the IV: an old
//     link gets a new date (the tests show it).
//   - With either CBC mode, changing a ciphertext block turns its plaintext
//     block into 16 random bytes and rewrites the next block at will, and
//     blocks can be dropped from the end. A buyer who picks a long e-mail
//     address can hide the random block inside it and rewrite what follows,
//     for example to a short product number the order never had. The grammar
//     refuses most random blocks, and the e-mail address check more,
//     but each try is an independent chance: thousands of requests, not
//     billions.
//   - With ECB, 16-byte blocks of different links of the same shop can be
//     cut and pasted.
//
// So a decoded link says which order and product to look at, never that
// they were paid for: anything in it, its time included, may be forged. The
// maximum age in Check is a coarse filter, not the access control. vend
// trusts a link only as far as its own records agree:
//
//   - A link of an (order, product) that has a grant leads to that grant. Its
//     download counter and lifetime, not the link's time, bound what any link
//     can fetch, so re-dating such a link gains nothing.
//   - A link of an (order, product) without a grant creates the order and
//     grant only if the seller imported the item from the shop's order data
//     (ImportOrders, `vend websale import`), and only with the export's
//     e-mail address when it has one (AdmitFirstLink). An expired link of an
//     order vend never imported, re-dated to now, is refused as not imported;
//     so is a product swapped into an order.
//   - The seller may opt in to first clicks (Config.FirstClick,
//     websale.first_click): the first link of an item vend has not imported
//     creates it. Then the link is the only proof, and its time is no proof:
//     whoever holds a link of an order vend has not seen, however old, can
//     re-date it and get a new order and grant, and a product swapped into an
//     order gets one after the thousands of tries that the per-client budget
//     of refused links spreads out. vend serve warns at start while it is on.
//
// Prefer gcm-nonce12 if WEBSALE offers it: it is authenticated, and a changed
// link fails.
//
// # Refusals look alike
//
// Every failure, from bad hex to a wrong shop, is a *LinkError. Its Reason
// and Detail are for the log; the buyer always gets the same status and page
// (PublicMessage), because telling a bad padding from a bad grammar would be
// the padding oracle that decrypts and forges CBC links.
package websale

import (
	"fmt"
	"strings"
	"time"

	"github.com/vend-shop/vend"
)

// Provider is the provider name on events and notifications.
const Provider = "websale"

const (
	// DefaultMaxAge bounds how old a link may be. Links in confirmation e-mails
	// are as old as the e-mail, and the download counters do the real limiting,
	// so it is generous.
	DefaultMaxAge = 90 * 24 * time.Hour
	// DefaultFutureSkew allows the shop's clock to run a little ahead of vend's.
	DefaultFutureSkew = 5 * time.Minute
)

// Config is what Check and Normalize hold a decoded link against. Zero durations
// mean the defaults.
type Config struct {
	// ShopID and SubshopID must equal the link's tags 2 and 3. Both are
	// required: with nothing configured, no link is accepted.
	ShopID    string
	SubshopID string
	// MaxAge is how old a link may be; FutureSkew how far ahead of now it may be.
	MaxAge     time.Duration
	FutureSkew time.Duration
	// Products maps WEBSALE product numbers to vend catalog product ids. Once
	// it has entries, only those numbers are accepted; while it is empty, a
	// number is used as the catalog id as it is.
	Products map[string]string
	// Language is the buyers' language for mail and pages ("de", "en");
	// empty means German.
	Language string
	// FirstClick lets the first link of an order's item that vend has not
	// imported (ImportOrders) create its order and grant. Off, only imported
	// items get grants. See the package doc for what turning it on risks.
	FirstClick bool
}

func (c Config) withDefaults() Config {
	if c.MaxAge <= 0 {
		c.MaxAge = DefaultMaxAge
	}
	if c.FutureSkew <= 0 {
		c.FutureSkew = DefaultFutureSkew
	}
	return c
}

// Check refuses a decoded link that is for another shop or subshop, for a
// product number missing from a non-empty Products map, older than MaxAge, or
// more than FutureSkew ahead of now. Every error is a *LinkError.
func Check(l Link, cfg Config, now time.Time) error {
	if err := CheckShop(l, cfg); err != nil {
		return err
	}
	return CheckAge(l, cfg, now)
}

// CheckShop is Check without the link's age: shop, subshop and product.
func CheckShop(l Link, cfg Config) error {
	shop, subshop := strings.TrimSpace(cfg.ShopID), strings.TrimSpace(cfg.SubshopID)
	switch {
	case shop == "" || subshop == "":
		return rejectf(ReasonShop, "websale.shop_id and websale.subshop_id must both be set")
	case l.ShopID != shop || l.SubshopID != subshop:
		return rejectf(ReasonShop, "link is for shop %q subshop %q, not websale.shop_id %q subshop_id %q", l.ShopID, l.SubshopID, shop, subshop)
	}
	if _, ok := cfg.Products[l.ProductNumber]; len(cfg.Products) > 0 && !ok {
		// With a map, only mapped numbers are products: a changed link that
		// still decodes must not reach any other catalog product.
		return rejectf(ReasonProduct, "product number %q is not in websale.products", l.ProductNumber)
	}
	return nil
}

// CheckAge refuses a link older than MaxAge (an error that wraps
// vend.ErrTooOld) or more than FutureSkew ahead of now.
func CheckAge(l Link, cfg Config, now time.Time) error {
	cfg = cfg.withDefaults()
	if age := now.Sub(l.Time); age > cfg.MaxAge {
		return rejectf(ReasonExpired, "link made %s is %s old, more than websale.max_age %s", l.Time.Format(time.RFC3339), age.Round(time.Second), cfg.MaxAge)
	}
	if ahead := l.Time.Sub(now); ahead > cfg.FutureSkew {
		return rejectf(ReasonFuture, "link made %s is %s in the future, more than the allowed %s", l.Time.Format(time.RFC3339), ahead.Round(time.Second), cfg.FutureSkew)
	}
	return nil
}

// Normalize maps a checked link to a payment event. The shop took the money and
// the link names no amount, so the event is Unpriced. One link is one product
// of one order; the order reference includes shop and subshop because order
// numbers are only unique within a subshop. Key is the same for every link to
// the same (order, product), so the first creates the grant and later ones,
// such as the fresh links of the order history, are duplicates that reuse it.
//
// TxnID names the product by WEBSALE's number, not the mapped catalog id, so
// that a later change to the product map cannot turn an old link into a second
// grant. Each part of OrderRef and TxnID has '%' and '/' escaped, so that an order
// number or product number containing '/' cannot make two pairs share an id;
// real values contain neither and appear unchanged.
func Normalize(l Link, cfg Config) vend.Event {
	product := l.ProductNumber
	if id, ok := cfg.Products[product]; ok && id != "" {
		product = id
	}
	orderRef, txnID := refs(l)
	return vend.Event{
		Provider:  Provider,
		Kind:      vend.EventPayment,
		OrderRef:  orderRef,
		TxnID:     txnID,
		ProductID: product,
		Key:       "link:" + txnID,
		RawStatus: "link",
		Custom:    l.CustomerNumber,
		Buyer:     vend.Buyer{Email: l.Email},
		Items:     []vend.EventItem{{ProductID: product, Quantity: 1}},
		Unpriced:  true,
		At:        l.Time,
		Language:  cfg.language(),
	}
}

// language is the buyers' language: Language, else German, the language
// WEBSALE shops sell in (a link carries none).
func (c Config) language() string {
	if c.Language == "" {
		return "de"
	}
	return c.Language
}

// refs are the OrderRef and TxnID of the link's order and item.
func refs(l Link) (orderRef, txnID string) {
	orderRef = refPart(l.ShopID) + "/" + refPart(l.SubshopID) + "/" + refPart(l.OrderID)
	return orderRef, orderRef + "/" + refPart(l.ProductNumber)
}

// refPart escapes the separator of OrderRef and TxnID, and the escape character itself.
func refPart(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "%", "%25"), "/", "%2F")
}

// String is a one-line description for logs and the CLI. It leaves out the
// e-mail address, which is personal data.
func (l Link) String() string {
	return fmt.Sprintf("shop %s/%s order %s product %s made %s", l.ShopID, l.SubshopID, l.OrderID, l.ProductNumber, l.Time.Format(time.RFC3339))
}
