package mailer

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// reader is what a message's view reads of the ledger: orders with their
// items, their grants, and the catalog.
type reader interface {
	store.Orders
	store.Grants
	store.Products
	store.Licenses
}

// view reads what message m needs from the ledger as it stands now. It returns a
// *errSkip when there is nothing left to say (the access a receipt would link to
// has ended meanwhile, a links request for an address with no usable purchase)
// and a permanent *SendError when the message can never be rendered (its order
// is gone, it lacks data its kind needs).
func (w *Worker) view(ctx context.Context, tx reader, m *vend.Mail) (View, error) {
	now := w.now()
	v := View{Kind: m.Kind, Shop: w.shop(), To: m.To, Reason: m.Data[vend.MailDataReason], Data: copyData(m.Data)}
	switch m.Kind {
	case vend.MailLinks:
		return w.linksView(ctx, tx, v, now)
	case vend.MailForgeries:
		v.Forgeries.Provider = m.Data[vend.MailDataProvider]
		v.Forgeries.Count, _ = strconv.Atoi(m.Data[vend.MailDataCount])
		v.Forgeries.Since, _ = time.Parse(time.RFC3339, m.Data[vend.MailDataSince])
		return v, nil
	case vend.MailRefused:
		v.Refused.Provider = m.Data[vend.MailDataProvider]
		v.Refused.Notification, _ = strconv.ParseInt(m.Data[vend.MailDataNotification], 10, 64)
		v.Refused.AdminURL = fmt.Sprintf("%s/admin/notifications/%d", w.BaseURL, v.Refused.Notification)
		return v, nil
	case vend.MailWebhookOff:
		v.Webhook.ID, _ = strconv.ParseInt(m.Data[vend.MailDataEndpoint], 10, 64)
		v.Webhook.URL = m.Data[vend.MailDataURL]
		v.Webhook.AdminURL = fmt.Sprintf("%s/admin/webhooks/%d", w.BaseURL, v.Webhook.ID)
		return v, nil
	}
	if m.OrderID == 0 {
		return v, permanent("A %s message needs an order, and this one has none.", m.Kind)
	}
	o, err := tx.FindOrderByID(ctx, m.OrderID)
	if vend.ErrorCode(err) == vend.ENOTFOUND {
		return v, permanent("Order %d no longer exists.", m.OrderID)
	} else if err != nil {
		return v, err
	}
	v.Order = OrderView{ID: o.ID, Provider: o.Provider, Ref: o.Ref, Total: o.Total, Currency: o.Currency,
		Date: o.CreatedAt, Status: o.Status, Test: o.Test}
	v.Buyer = o.Buyer
	items, grants, err := itemsAndGrants(ctx, tx, o.ID)
	if err != nil {
		return v, err
	}
	only := m.Data[vend.MailDataProduct]
	products := map[string]*vend.Product{}
	switch m.Kind {
	case vend.MailReceipt, vend.MailNewVersion, vend.MailRenewal, vend.MailLicenseKeys:
		if m.Kind != vend.MailReceipt {
			if only == "" {
				return v, permanent("A %s message needs the product id in its data (%q).", m.Kind, vend.MailDataProduct)
			}
			p, err := findProduct(ctx, tx, products, only)
			if err != nil {
				return v, err
			} else if p == nil {
				return v, permanent("Product %s no longer exists.", only)
			}
			v.Product = ProductView{ID: p.ID, Name: p.Name, Version: m.Data[vend.MailDataVersion], Files: fileViews(p.Files),
				RenewURL: p.RenewURL}
		}
		for _, it := range items {
			g := grants[it.ID]
			if only != "" && it.ProductID != only || g == nil || g.State != vend.GrantActive || g.Expired(now) {
				continue
			}
			iv, err := w.itemView(ctx, tx, products, o, it, g)
			if err != nil {
				return v, err
			}
			v.Items = append(v.Items, iv)
		}
		if len(v.Items) == 0 {
			return v, &errSkip{fmt.Sprintf("Order %d gives access to no download any more.", o.ID)}
		}
	case vend.MailPending:
		if o.Status != vend.OrderPending {
			return v, &errSkip{fmt.Sprintf("Order %d is no longer pending (it is %s).", o.ID, o.Status)}
		}
		if v.Reason == "" {
			v.Reason = o.StatusReason
		}
		v.Items = plainItems(o, items)
	case vend.MailEnded:
		var ended []*vend.Item
		for _, it := range items {
			if g := grants[it.ID]; g != nil && g.State == vend.GrantRevoked && (only == "" || it.ProductID == only) {
				ended = append(ended, it)
				if v.Reason == "" {
					v.Reason = g.Reason
				}
			}
		}
		if len(ended) == 0 {
			return v, &errSkip{fmt.Sprintf("No access of order %d has ended (any more).", o.ID)}
		}
		v.Items = plainItems(o, ended)
	case vend.MailKeysLow:
		p, err := findProduct(ctx, tx, products, only)
		if err != nil {
			return v, err
		} else if p == nil {
			return v, permanent("Product %s no longer exists.", only)
		}
		v.Product = ProductView{ID: p.ID, Name: p.Name}
		v.Stock.Left, _ = strconv.Atoi(m.Data[vend.MailDataRemaining])
		v.Stock.Waiting, _ = strconv.Atoi(m.Data[vend.MailDataWaiting])
		v.Stock.AdminURL = w.BaseURL + "/admin/products/" + url.PathEscape(p.ID)
		v.Items = plainItems(o, items)
	case vend.MailSale, vend.MailRefund, vend.MailChargeback:
		if v.Reason == "" && m.Kind == vend.MailRefund {
			v.Reason = "refund"
		} else if v.Reason == "" && m.Kind == vend.MailChargeback {
			v.Reason = "chargeback"
		}
		if a, err := vend.ParseAmount(m.Data[vend.MailDataAmount]); err == nil {
			v.Amount = a.Abs()
		}
		v.Items = plainItems(o, items)
	default:
		return v, permanent("No mail kind %q; kinds are %s.", m.Kind, kindList())
	}
	return v, nil
}

// linksView lists every usable grant (active, not expired, downloads left) of
// every order of the recipient's address.
func (w *Worker) linksView(ctx context.Context, tx reader, v View, now time.Time) (View, error) {
	to := v.To
	orders, err := tx.FindOrders(ctx, store.OrderFilter{Email: &to, Limit: 1000})
	if err != nil {
		return v, err
	}
	products := map[string]*vend.Product{}
	for _, o := range orders { // newest first
		if v.Buyer.Name == "" {
			v.Buyer.Name = o.Buyer.Name
		}
		items, grants, err := itemsAndGrants(ctx, tx, o.ID)
		if err != nil {
			return v, err
		}
		for _, it := range items {
			g := grants[it.ID]
			if g == nil || g.State != vend.GrantActive || g.Expired(now) || g.DownloadsLeft() == 0 {
				continue
			}
			iv, err := w.itemView(ctx, tx, products, o, it, g)
			if err != nil {
				return v, err
			}
			v.Items = append(v.Items, iv)
		}
	}
	v.Buyer.Email = to
	if len(v.Items) == 0 {
		return v, &errSkip{"The address has no purchase that can still be downloaded."}
	}
	return v, nil
}

// itemsAndGrants returns an order's items and, by item id, its grant (the active
// one if an item has several).
func itemsAndGrants(ctx context.Context, tx reader, orderID int64) ([]*vend.Item, map[int64]*vend.Grant, error) {
	items, err := tx.FindItems(ctx, orderID)
	if err != nil {
		return nil, nil, err
	}
	gs, err := tx.FindGrantsByOrder(ctx, orderID)
	if err != nil {
		return nil, nil, err
	}
	byItem := map[int64]*vend.Grant{}
	for _, g := range gs {
		if prev := byItem[g.ItemID]; prev == nil || prev.State != vend.GrantActive {
			byItem[g.ItemID] = g
		}
	}
	return items, byItem, nil
}

// itemView is an item with access: its download page, files and limits.
func (w *Worker) itemView(ctx context.Context, tx reader, products map[string]*vend.Product, o *vend.Order, it *vend.Item, g *vend.Grant) (ItemView, error) {
	iv := plainItem(o, it)
	p, err := findProduct(ctx, tx, products, it.ProductID)
	if err != nil {
		return iv, err
	}
	if p != nil {
		files := p.Files
		if !g.UpdatesUntil.IsZero() && !w.now().Before(g.UpdatesUntil) {
			// The buyer's updates ended: the files that were current then.
			if files, err = tx.FindFilesAt(ctx, p.ID, g.UpdatesUntil); err != nil {
				return iv, err
			}
		}
		iv.Files = fileViews(files)
	}
	iv.PageURL = w.pageURL(g.PublicID)
	iv.DownloadLimit, iv.DownloadsLeft = g.DownloadLimit, g.DownloadsLeft()
	iv.Unlimited = g.DownloadLimit == vend.Unlimited
	iv.ExpiresAt, iv.UpdatesUntil = g.ExpiresAt, g.UpdatesUntil
	keys, err := tx.FindLicenses(ctx, store.LicenseFilter{GrantID: &g.ID, Limit: vend.MaxKeysPerItem})
	if err != nil {
		return iv, err
	}
	if iv.KeysWaiting, err = tx.KeysWaiting(ctx, it.ID); err != nil {
		return iv, err
	}
	for i := len(keys) - 1; i >= 0; i-- { // newest first: the first unit first
		l := keys[i]
		kv := KeyView{Key: l.Key, ExpiresAt: l.ExpiresAt, Unlimited: l.ActivationLimit == vend.Unlimited}
		if !kv.Unlimited {
			kv.ActivationLimit = l.ActivationLimit
		}
		iv.Keys = append(iv.Keys, kv)
	}
	return iv, nil
}

func plainItems(o *vend.Order, items []*vend.Item) []ItemView {
	out := make([]ItemView, 0, len(items))
	for _, it := range items {
		out = append(out, plainItem(o, it))
	}
	return out
}

func plainItem(o *vend.Order, it *vend.Item) ItemView {
	return ItemView{ProductID: it.ProductID, Name: it.Name, Quantity: it.Quantity, Amount: it.Amount,
		Currency: o.Currency, Status: it.Status, OrderID: o.ID, OrderRef: o.Ref, OrderDate: o.CreatedAt}
}

// findProduct returns the product (nil if it was deleted), reading each once.
func findProduct(ctx context.Context, tx store.Products, cache map[string]*vend.Product, id string) (*vend.Product, error) {
	if p, ok := cache[id]; ok {
		return p, nil
	}
	p, err := tx.FindProductByID(ctx, id)
	if vend.ErrorCode(err) == vend.ENOTFOUND {
		p, err = nil, nil
	} else if err != nil {
		return nil, err
	}
	cache[id] = p
	return p, nil
}

func fileViews(fs []*vend.File) []FileView {
	out := make([]FileView, 0, len(fs))
	for _, f := range fs {
		out = append(out, FileView{Name: f.Name, Size: f.Size, SHA256: f.SHA256})
	}
	return out
}

// pageURL is the download page of a grant; a path from PageURL is joined to BaseURL.
func (w *Worker) pageURL(publicID string) string {
	u := w.PageURL(publicID)
	if strings.HasPrefix(u, "/") && w.BaseURL != "" {
		u = strings.TrimRight(w.BaseURL, "/") + u
	}
	return u
}

func (w *Worker) shop() Shop {
	s := Shop{Name: w.ShopName, URL: strings.TrimRight(w.BaseURL, "/")}
	if s.Name == "" {
		if u, err := url.Parse(w.BaseURL); err == nil && u.Hostname() != "" {
			s.Name = u.Hostname()
		} else {
			s.Name = "vend"
		}
	}
	return s
}

func permanent(format string, args ...any) *SendError {
	return &SendError{Permanent: true, Msg: fmt.Sprintf(format, args...)}
}
