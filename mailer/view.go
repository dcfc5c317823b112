package mailer

import (
	"maps"
	"strings"
	"time"
	"unicode"

	"github.com/vend-shop/vend"
)

// View is what a template sees. Every kind gets the same type; fields a kind does
// not use are zero. Render removes control characters from every string before
// a template sees it, and the HTML part escapes them as html/template does.
//
// Times are shown in UTC. Templates format with the functions date, datetime
// (to the minute), money (amount, currency) and size (bytes), which follow the
// message's language.
type View struct {
	Kind vend.MailKind
	Lang string // "en" or "de"; set by Render
	Shop Shop
	To   string // the recipient's address
	// Buyer is who bought (for owner notices too: the buyer of the order).
	Buyer vend.Buyer
	// Order is the message's order; zero (ID 0) for links and owner-forgeries.
	Order OrderView
	// Items are what the message is about: for receipt, links and new-version the
	// items with active access, with their download page; for pending, ended and
	// the owner's notices the order's items (ended: those whose access ended),
	// without links.
	Items []ItemView
	// Product is the product with a new version (new-version).
	Product ProductView
	// Reason is the provider's or ledger's code ("echeck", "refund",
	// "chargeback"); ReasonText says it in plain words in Lang (Render fills it).
	Reason     string
	ReasonText string
	// Amount is the amount taken back (owner-refund, owner-chargeback); 0 when the
	// notification did not say.
	Amount vend.Amount
	// Forgeries describes a burst of failed verifications (owner-forgeries).
	Forgeries ForgeryView
	// Refused is the genuine message vend refused (owner-refused).
	Refused RefusedView
	// Stock is a listed product's unused licence keys (owner-license-keys).
	Stock StockView
	// Webhook is the endpoint vend disabled (owner-webhook-disabled).
	Webhook WebhookView
	// Data is the outbox message's data, for overrides that want more.
	Data map[string]string
}

// Shop is the seller's shop.
type Shop struct {
	Name string
	URL  string // the public base URL, e.g. "https://shop.example.com"
}

// OrderView is an order as a message shows it.
type OrderView struct {
	ID       int64
	Provider string // "paypal", "digistore24", …
	Ref      string // the provider's reference (PayPal: the txn_id)
	Total    vend.Amount
	Currency string
	Date     time.Time
	Status   vend.OrderStatus
	Test     bool // a sandbox or test-mode order
}

// ItemView is one order item. PageURL leads to the download page (never to a
// file, so that link scanners in mail systems count nothing); it is "" in
// messages without links.
type ItemView struct {
	ProductID string
	Name      string
	Quantity  int
	Amount    vend.Amount
	Currency  string
	Status    vend.OrderStatus
	// OrderID, OrderRef and OrderDate say which purchase the item is from (links
	// lists items across orders).
	OrderID   int64
	OrderRef  string
	OrderDate time.Time
	PageURL   string
	Files     []FileView
	// DownloadLimit and DownloadsLeft are -1 when Unlimited.
	DownloadLimit int
	DownloadsLeft int
	Unlimited     bool
	ExpiresAt     time.Time // zero: access never expires
	// Keys are the item's licence keys, one per unit bought (licensed
	// products only).
	Keys []KeyView
	// UpdatesUntil is the last day new versions reach the buyer; zero:
	// every version.
	UpdatesUntil time.Time
	// KeysWaiting is how many of the item's licence keys wait for the
	// seller's list: they follow by mail (license-keys).
	KeysWaiting int
}

// KeyView is one licence key.
type KeyView struct {
	Key string
	// ActivationLimit is how many installations may use it at once; 0 with
	// Unlimited.
	ActivationLimit int
	Unlimited       bool
	ExpiresAt       time.Time // zero: never
}

// FileView is one file of a product; Size is in bytes ({{size .Size}}).
type FileView struct {
	Name   string
	Size   int64
	SHA256 string
}

// ProductView is a product with a new version.
type ProductView struct {
	ID      string
	Name    string
	Version string // a label such as "2.1"; may be ""
	Files   []FileView
	// RenewURL is where a buyer renews updates (renewal); may be "".
	RenewURL string
}

// ForgeryView is a burst of notifications that failed verification.
type ForgeryView struct {
	Provider string
	Count    int
	Since    time.Time
}

// StockView says how a product's uploaded licence keys stand: Left unused,
// Waiting units of the message's order without one, and the admin page to
// upload more.
type StockView struct {
	Left, Waiting int
	AdminURL      string
}

// WebhookView is a webhook endpoint vend disabled after its deliveries
// failed: its id, URL and admin page.
type WebhookView struct {
	ID       int64
	URL      string
	AdminURL string
}

// RefusedView is a genuine message vend would not act on: its provider, the
// notification and the admin page that shows it.
type RefusedView struct {
	Provider     string
	Notification int64
	AdminURL     string
}

// clean returns a copy of v whose strings hold no control characters: in a plain
// text part they could forge lines, in a subject headers, and bidi overrides can
// make a name read as something else.
func (v View) clean() View {
	c := cleanText
	v.Shop.Name, v.Shop.URL, v.To = c(v.Shop.Name), c(v.Shop.URL), c(v.To)
	v.Buyer.Name, v.Buyer.Email = c(v.Buyer.Name), c(v.Buyer.Email)
	v.Order.Provider, v.Order.Ref, v.Order.Currency = c(v.Order.Provider), c(v.Order.Ref), c(v.Order.Currency)
	items := make([]ItemView, len(v.Items))
	for i, it := range v.Items {
		it.ProductID, it.Name, it.Currency, it.OrderRef, it.PageURL = c(it.ProductID), c(it.Name), c(it.Currency), c(it.OrderRef), c(it.PageURL)
		it.Files = cleanFiles(it.Files)
		items[i] = it
	}
	v.Items = items
	v.Product.ID, v.Product.Name, v.Product.Version = c(v.Product.ID), c(v.Product.Name), c(v.Product.Version)
	v.Product.Files = cleanFiles(v.Product.Files)
	v.Reason, v.ReasonText = c(v.Reason), c(v.ReasonText)
	v.Forgeries.Provider = c(v.Forgeries.Provider)
	v.Refused.Provider = c(v.Refused.Provider)
	v.Webhook.URL = c(v.Webhook.URL)
	if v.Data != nil {
		d := make(map[string]string, len(v.Data))
		for k, s := range v.Data {
			d[c(k)] = c(s)
		}
		v.Data = d
	}
	return v
}

func cleanFiles(fs []FileView) []FileView {
	out := make([]FileView, len(fs))
	for i, f := range fs {
		out[i] = FileView{Name: cleanText(f.Name), Size: f.Size, SHA256: cleanText(f.SHA256)}
	}
	return out
}

// cleanText drops control characters (C0, DEL, C1, and the bidi embeddings,
// overrides and isolates), turning tabs and line breaks into spaces, and trims.
func cleanText(s string) string {
	if !strings.ContainsFunc(s, unsafeRune) {
		return strings.TrimSpace(s)
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			b.WriteByte(' ')
		case unsafeRune(r):
		default:
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(b.String())
}

func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069
}

// sample returns made-up data for kind, to preview a template and to try every
// template at Load. full false leaves the optional fields empty and flips the
// flags, so that both branches of the usual {{if}}s run at Load.
func sample(kind vend.MailKind, full bool) View {
	day := time.Date(2026, time.March, 2, 14, 5, 0, 0, time.UTC)
	v := View{
		Kind:  kind,
		Shop:  Shop{Name: "Example Books", URL: "https://shop.example.com"},
		To:    "alex@example.com",
		Buyer: vend.Buyer{Name: "Alex Example", Email: "alex@example.com"},
		Order: OrderView{ID: 1042, Provider: "paypal", Ref: "8MC585209K746392H", Total: 2900, Currency: "EUR",
			Date: day, Status: vend.OrderPaid},
		Data: map[string]string{},
	}
	book := ItemView{ProductID: "go-handbook", Name: "The Go Handbook (PDF + EPUB)", Quantity: 1, Amount: 1900,
		Currency: "EUR", Status: vend.OrderPaid, OrderID: 1042, OrderRef: v.Order.Ref, OrderDate: day,
		PageURL: "https://shop.example.com/d/SAMPLE0TOKEN0GO0HANDBOOK000000000000000000000000000",
		Files: []FileView{
			{Name: "go-handbook.pdf", Size: 4_718_592, SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
			{Name: "go-handbook.epub", Size: 1_572_864, SHA256: "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"},
		},
		DownloadLimit: 5, DownloadsLeft: 4, ExpiresAt: day.AddDate(0, 0, 30)}
	audio := ItemView{ProductID: "audio-course", Name: "Audio course", Quantity: 1, Amount: 1000,
		Currency: "EUR", Status: vend.OrderPaid, OrderID: 1042, OrderRef: v.Order.Ref, OrderDate: day,
		PageURL:       "https://shop.example.com/d/SAMPLE0TOKEN0AUDIO0COURSE00000000000000000000000000",
		Files:         []FileView{{Name: "audio-course.zip", Size: 734_003_200, SHA256: "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"}},
		DownloadLimit: vend.Unlimited, DownloadsLeft: -1, Unlimited: true}
	// The audio course comes with a licence key for its player.
	audio.Keys = []KeyView{{Key: "K7M2Q-9RTWX-4HZPC-8NDFA", ActivationLimit: 2, ExpiresAt: day.AddDate(1, 0, 0)}}
	v.Items = []ItemView{book, audio}
	switch kind {
	case vend.MailPending:
		v.Order.Status, v.Reason = vend.OrderPending, "echeck"
	case vend.MailEnded, vend.MailRefund:
		v.Order.Status, v.Reason, v.Amount = vend.OrderRefunded, "refund", 2900
	case vend.MailChargeback:
		v.Order.Status, v.Reason, v.Amount = vend.OrderReversed, "chargeback", 2900
	case vend.MailNewVersion:
		v.Items = []ItemView{book}
		v.Product = ProductView{ID: book.ProductID, Name: book.Name, Version: "2.1", Files: book.Files}
	case vend.MailRenewal:
		book.UpdatesUntil = day.AddDate(1, 0, 0)
		v.Items = []ItemView{book}
		v.Product = ProductView{ID: book.ProductID, Name: book.Name, Version: "3.0", Files: book.Files,
			RenewURL: "https://shop.example.com/renew/go-handbook"}
	case vend.MailForgeries:
		v.Order, v.Items, v.Buyer = OrderView{}, nil, vend.Buyer{}
		v.Forgeries = ForgeryView{Provider: "paypal", Count: 12, Since: day.Add(-10 * time.Minute)}
	case vend.MailLicenseKeys:
		v.Items = []ItemView{audio}
		v.Product = ProductView{ID: audio.ProductID, Name: audio.Name}
	case vend.MailKeysLow:
		v.Items = []ItemView{audio}
		v.Product = ProductView{ID: audio.ProductID, Name: audio.Name}
		v.Stock = StockView{Left: 3, Waiting: 0, AdminURL: "https://shop.example.com/admin/products/audio-course"}
	case vend.MailRefused:
		v.Order, v.Items, v.Buyer = OrderView{}, nil, vend.Buyer{}
		v.Reason = "the payment of 9.95 USD is less than the price of EBOOK-001, 19.95 USD"
		v.Refused = RefusedView{Provider: "paypal", Notification: 4711, AdminURL: "https://shop.example.com/admin/notifications/4711"}
	case vend.MailWebhookOff:
		v.Order, v.Items, v.Buyer = OrderView{}, nil, vend.Buyer{}
		v.Reason = "delivery 812 (order.paid) failed for 72h0m0s; the last answer: 503 Service Unavailable"
		v.Webhook = WebhookView{ID: 3, URL: "https://crm.example.com/hooks/vend", AdminURL: "https://shop.example.com/admin/webhooks/3"}
	}
	if kind == vend.MailPending || kind == vend.MailEnded || isOwner(kind) {
		for i := range v.Items {
			v.Items[i].PageURL = ""
			v.Items[i].Status = v.Order.Status
		}
	}
	if v.Reason != "" {
		v.Data[vend.MailDataReason] = v.Reason
	}
	if v.Product.Version != "" {
		v.Data[vend.MailDataVersion] = v.Product.Version
	}
	if full {
		return v
	}
	// The sparse variant: optional strings empty, flags flipped.
	v.Buyer.Name, v.Order.Ref, v.Product.Version, v.Product.RenewURL, v.Reason, v.Amount = "", "", "", "", "", 0
	v.Stock.Left, v.Stock.Waiting = 0, 2
	for i := range v.Items {
		v.Items[i].KeysWaiting = 1
	}
	for i := range v.Items {
		for k := range v.Items[i].Keys {
			v.Items[i].Keys[k] = KeyView{Key: v.Items[i].Keys[k].Key, Unlimited: true}
		}
	}
	v.Order.Test = true
	v.Data = nil
	items := make([]ItemView, len(v.Items))
	for i, it := range v.Items {
		it.Unlimited, it.ExpiresAt = !it.Unlimited, time.Time{}
		if it.Unlimited {
			it.DownloadLimit, it.DownloadsLeft = vend.Unlimited, -1
		} else {
			it.DownloadLimit, it.DownloadsLeft = 3, 0
		}
		it.OrderRef = ""
		items[i] = it
	}
	v.Items = items
	v.Forgeries.Provider, v.Forgeries.Since = "", time.Time{}
	return v
}

// copyData returns a copy of d, so a View never shares the outbox row's map.
func copyData(d map[string]string) map[string]string {
	if d == nil {
		return map[string]string{}
	}
	return maps.Clone(d)
}

func isOwner(kind vend.MailKind) bool {
	switch kind {
	case vend.MailSale, vend.MailRefund, vend.MailChargeback, vend.MailForgeries, vend.MailRefused, vend.MailKeysLow, vend.MailWebhookOff:
		return true
	}
	return false
}

// kinds lists every kind of message, in the order `vend mail preview` shows them.
func kinds() []vend.MailKind {
	return []vend.MailKind{vend.MailReceipt, vend.MailPending, vend.MailEnded, vend.MailLinks, vend.MailNewVersion, vend.MailRenewal,
		vend.MailLicenseKeys, vend.MailKeysLow, vend.MailSale, vend.MailRefund, vend.MailChargeback, vend.MailForgeries, vend.MailRefused,
		vend.MailWebhookOff}
}
