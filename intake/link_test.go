package intake_test

import (
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/provider/websale"
	"github.com/vend-shop/vend/store"
)

// importOrders imports a WEBSALE order export, as `vend websale import` does.
func (e *env) importOrders(t *testing.T, csv string) {
	t.Helper()
	im, err := websale.ImportOrders(strings.NewReader(csv), e.ws.Config)
	if err != nil {
		t.Fatal(err)
	}
	err = e.db.Update(ctx, func(tx store.Tx) error {
		for _, it := range im.Items {
			if _, err := tx.SaveImportedItem(ctx, it); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// wsMessage is the buyer's request for a link.
func wsMessage(dldata string) *vend.Notification {
	return &vend.Notification{Provider: websale.Provider, RemoteAddr: "192.0.2.9:1", Body: []byte("dldata=" + dldata)}
}

// wsOrder is the websale order ref, or nil if vend has none.
func (e *env) wsOrder(t *testing.T, ref string) *vend.Order {
	t.Helper()
	var o *vend.Order
	err := e.db.View(ctx, func(tx store.Tx) error {
		var err error
		o, err = tx.FindOrderByRef(ctx, websale.Provider, ref)
		return err
	})
	if vend.ErrorCode(err) == vend.ENOTFOUND {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// redate is the attack of issue 12, item 5, on a cbc-ivprefix link: the first
// plaintext block is "<1>" + the ten digits of the link's time + "</1", and
// CBC makes it the IV XOR the decryption of the first ciphertext block. So
// XORing the IV with the old digits XOR the new ones rewrites the time,
// without the key.
func redate(t *testing.T, dldata string, made, to time.Time) string {
	t.Helper()
	data, err := hex.DecodeString(dldata)
	if err != nil {
		t.Fatal(err)
	}
	old, fresh := strconv.FormatInt(made.Unix(), 10), strconv.FormatInt(to.Unix(), 10)
	if len(old) != 10 || len(fresh) != 10 {
		t.Fatalf("times %s and %s are not ten digits", old, fresh)
	}
	for i := range 10 {
		data[3+i] ^= old[i] ^ fresh[i] // the IV's bytes 3…12 lie over the digits
	}
	return hex.EncodeToString(data)
}

// TestLink_Redated: take a link past websale.max_age whose order vend never
// saw, and re-date it through its IV so that it reads as made now. The
// link carries no MAC, so its time proves nothing: it must not create an
// order and a grant, unless the seller imported the order (then the buyer
// gets what they bought, and no more) or opted in to first clicks (the risk
// the package doc and the README describe).
func TestLink_Redated(t *testing.T) {
	t.Parallel()
	made := now.Add(-websale.DefaultMaxAge - 24*time.Hour)
	tests := []struct {
		name   string
		adjust func(*testing.T, *env)
		grant  bool
	}{
		{name: "an order vend never saw is not created", grant: false},
		{name: "an imported order gets the grant the buyer bought", grant: true, adjust: func(t *testing.T, e *env) {
			e.importOrders(t, "order,product,email\nOLD1,"+product.ID+",b@example.com\n")
		}},
		{name: "with websale.first_click on, the order is created: the documented risk", grant: true, adjust: func(_ *testing.T, e *env) {
			e.ws.Config.FirstClick = true
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			if tt.adjust != nil {
				tt.adjust(t, e)
			}
			l := websale.Link{Time: made, ShopID: "shop", SubshopID: "1", OrderID: "OLD1", Email: "b@example.com", ProductNumber: product.ID}
			expired, err := websale.Encrypt(l.Plaintext(), e.ws.Decoder.Settings(), wsPassword, nil)
			if err != nil {
				t.Fatal(err)
			}
			if o := e.in.Link(ctx, e.ws, wsMessage(expired)); o.Refusal != vend.RefusalForged || !strings.Contains(o.Reason, "max_age") {
				t.Fatalf("the expired link: refusal %d (%q), want refused for its age", o.Refusal, o.Reason)
			}

			redated := redate(t, expired, made, now)
			if got, err := e.ws.Decoder.Decode(redated); err != nil || !got.Time.Equal(now) || got.OrderID != l.OrderID {
				t.Fatalf("the re-dated link decodes to %v, %v; want order %s made now", got, err, l.OrderID)
			}
			o := e.in.Link(ctx, e.ws, wsMessage(redated))
			order := e.wsOrder(t, "shop/1/OLD1")
			if !tt.grant {
				if o.Refusal != vend.RefusalRejected || o.Grant != nil || order != nil || e.notifications(t) != 0 {
					t.Errorf("the re-dated link: refusal %d (%q), grant %v, order %v, %d notifications; want it refused, nothing made or stored",
						o.Refusal, o.Reason, o.Grant, order, e.notifications(t))
				}
				return
			}
			if o.Refusal != vend.RefusalNone || o.Grant == nil || order == nil || o.Grant.OrderID != order.ID || o.Grant.DownloadLimit != product.DownloadLimit {
				t.Fatalf("the re-dated link: refusal %d (%q), grant %+v, order %v; want the order's one grant", o.Refusal, o.Reason, o.Grant, order)
			}
			// Re-dating again gains nothing: the same grant, its limits.
			again := e.in.Link(ctx, e.ws, wsMessage(redate(t, expired, made, now.Add(-time.Hour))))
			if again.Refusal != vend.RefusalNone || again.Grant.ID != o.Grant.ID {
				t.Errorf("re-dated again: refusal %d, grant %v; want grant %d", again.Refusal, again.Grant, o.Grant.ID)
			}
		})
	}
}

// TestLink_FirstLink: which first links of an item create its order and grant.
func TestLink_FirstLink(t *testing.T) {
	t.Parallel()
	const export = "Order;Product;Email\nW7;" + "EBOOK-001" + ";B@Example.com\n"
	tests := []struct {
		name       string
		firstClick bool
		export     string
		link       func(*websale.Link)
		reason     string // "" when it makes the grant
	}{
		{name: "an imported item, its address in another case", export: export},
		{name: "an item never imported", reason: "not imported"},
		{name: "another order than the imported one", export: export, link: func(l *websale.Link) { l.OrderID = "W8" }, reason: "not imported"},
		{name: "an imported order with another address", export: export, link: func(l *websale.Link) { l.Email = "c@example.com" }, reason: "e-mail address"},
		{name: "an export without addresses", export: "order,product\nW7,EBOOK-001\n", link: func(l *websale.Link) { l.Email = "c@example.com" }},
		{name: "with websale.first_click on, an item never imported", firstClick: true},
		{name: "with websale.first_click on, an imported order with another address", firstClick: true, export: export,
			link: func(l *websale.Link) { l.Email = "c@example.com" }, reason: "e-mail address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.ws.Config.FirstClick = tt.firstClick
			if tt.export != "" {
				e.importOrders(t, tt.export)
			}
			l := websale.Link{Time: now, ShopID: "shop", SubshopID: "1", OrderID: "W7", Email: "b@example.com", ProductNumber: product.ID}
			if tt.link != nil {
				tt.link(&l)
			}
			dldata, err := websale.Encrypt(l.Plaintext(), e.ws.Decoder.Settings(), wsPassword, nil)
			if err != nil {
				t.Fatal(err)
			}
			o := e.in.Link(ctx, e.ws, wsMessage(dldata))
			if tt.reason != "" {
				if o.Refusal != vend.RefusalRejected || !strings.Contains(o.Reason, tt.reason) || e.wsOrder(t, "shop/1/"+l.OrderID) != nil {
					t.Errorf("refusal %d (%q), want refused for %q and no order", o.Refusal, o.Reason, tt.reason)
				}
				return
			}
			if o.Refusal != vend.RefusalNone || o.Grant == nil {
				t.Errorf("refusal %d (%q), want a grant", o.Refusal, o.Reason)
			}
		})
	}
}
