package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// buyerPages serves the buyer: the download page and its files, the return
// from paying, the old scripts' links and the page that mails links again.
type buyerPages struct{ *Server }

type fileView struct {
	URL, Name, Size, SHA256 string
}

type downloadView struct {
	view
	Page          any
	Files         []fileView
	DownloadsLeft string
	Expires       string
}

// handleDownloadPage shows a grant's files. It never counts: link scanners and
// buyers checking their order cost nothing.
func (s buyerPages) handleDownloadPage(w http.ResponseWriter, r *http.Request) error {
	p, err := s.Delivery.FindPage(r.Context(), r.PathValue("token"))
	if err != nil {
		return err
	}
	v := downloadView{view: view{Title: p.Product.Name}, Page: p}
	if p.Problem == "" {
		for _, f := range p.Product.Files {
			v.Files = append(v.Files, fileView{URL: fileURL(p.Token, f), Name: f.Name, Size: humanBytes(f.Size), SHA256: f.SHA256})
		}
	}
	v.DownloadsLeft = "unlimited"
	if left := p.Grant.DownloadsLeft(); left >= 0 {
		v.DownloadsLeft = fmt.Sprintf("%d of %d", left, p.Grant.DownloadLimit)
	}
	if !p.Grant.ExpiresAt.IsZero() {
		v.Expires = p.Grant.ExpiresAt.UTC().Format("2 January 2006, 15:04 UTC")
	}
	s.render(w, r, http.StatusOK, "download", v)
	return nil
}

// fileURL ends in the file's name so that tools which name files after the URL
// (wget, some download managers) get it right.
func fileURL(token string, f *vend.File) string {
	return "/d/" + token + "/" + strconv.FormatInt(f.ID, 10) + "/" + url.PathEscape(f.Name)
}

// pageURL is the download page of a grant.
func (s *Server) pageURL(g *vend.Grant) string { return s.Delivery.PagePath(g.PublicID) }

// handleFileButton sends a pressed download button on to the file itself.
func handleFileButton(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, r.URL.EscapedPath(), http.StatusSeeOther)
}

func (s buyerPages) handleFile(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("file"), 10, 64)
	if err != nil {
		return vend.Errorf(vend.ENOTFOUND, "This purchase has no such file.")
	}
	s.Delivery.ServeFile(w, r, r.PathValue("token"), id)
	return nil
}

// handleLegacy serves the links of the old download.cgi script,
// /cgi-bin/download.cgi?action=get_file&id=<product>&txn_id=<txn>, under the same
// grant checks and limits as every other download.
func (s buyerPages) handleLegacy(w http.ResponseWriter, r *http.Request) error {
	if !s.LegacyLinks {
		return vend.Errorf(vend.ENOTFOUND, "Old download links are switched off. Please use the link from your email.")
	}
	q := r.URL.Query()
	if q.Get("action") != "get_file" || q.Get("id") == "" || q.Get("txn_id") == "" {
		return vend.Errorf(vend.EINVALID, "This download link is incomplete.")
	}
	var g *vend.Grant
	var fileID int64
	err := s.DB.View(r.Context(), func(tx store.Tx) error {
		var err error
		g, fileID, err = legacyGrant(r.Context(), tx, s.returning, q.Get("txn_id"), q.Get("id"))
		return err
	})
	if err != nil {
		return err
	}
	s.Delivery.ServeGrant(w, r, g, fileID)
	return nil
}

func legacyGrant(ctx context.Context, tx store.Tx, provider, txnID, productID string) (*vend.Grant, int64, error) {
	notFound := vend.Errorf(vend.ENOTFOUND, "No purchase matches this download link.")
	t, err := tx.FindTransaction(ctx, provider, txnID)
	if vend.ErrorCode(err) == vend.ENOTFOUND || err == nil && t.OrderID == 0 {
		return nil, 0, notFound
	} else if err != nil {
		return nil, 0, err
	}
	grants, err := tx.FindGrantsByOrder(ctx, t.OrderID)
	if err != nil {
		return nil, 0, err
	}
	for _, g := range grants {
		if g.ProductID != productID {
			continue
		}
		p, err := tx.FindProductByID(ctx, productID)
		if err != nil {
			return nil, 0, err
		}
		if len(p.Files) == 0 {
			return nil, 0, vend.Errorf(vend.ENOTFOUND, "This product has no files yet.")
		}
		return g, p.Files[0].ID, nil
	}
	return nil, 0, notFound
}

// pendingReasons explains PayPal's pending_reason values in plain words.
var pendingReasons = map[string]string{
	"echeck":            "You paid by eCheck (bank transfer). It takes up to six business days to clear.",
	"paymentreview":     "PayPal is reviewing this payment, which usually takes up to 24 hours.",
	"regulatory_review": "PayPal is reviewing this payment for compliance reasons.",
	"multi-currency":    "The seller has to accept a payment in this currency first.",
	"multi_currency":    "The seller has to accept a payment in this currency first.",
	"address":           "The seller has to accept this payment manually.",
	"unilateral":        "The seller has to confirm their PayPal address before the payment completes.",
	"intl":              "The seller has to accept this international payment manually.",
	"upgrade":           "The seller has to upgrade their PayPal account before the payment completes.",
	"verify":            "The seller has to verify their PayPal account before the payment completes.",
	"authorization":     "The payment is authorized but not captured yet.",
	"order":             "The payment is authorized but not captured yet.",
}

// handleReturn is where PayPal sends the buyer after paying (?tx=… from PDT,
// txn_id=… from rm=2, cm=… with the button's custom value). It says in plain words
// where the order stands and refreshes itself until the payment settles.
func (s buyerPages) handleReturn(w http.ResponseWriter, r *http.Request) error {
	txn := firstOf(r.FormValue("tx"), r.FormValue("txn_id"))
	custom := firstOf(r.FormValue("cm"), r.FormValue("custom"))
	if txn == "" && custom == "" {
		s.render(w, r, http.StatusBadRequest, "message", message{view: view{Title: "Thank you"}, Paragraphs: []string{
			"This page shows your order after you pay. If you have paid, please use the link in your email."}})
		return nil
	}
	var o *vend.Order
	var grants []*vend.Grant
	names := map[int64]string{} // item id → product name, for the links
	err := s.DB.View(r.Context(), func(tx store.Tx) error {
		var err error
		o, err = findReturnOrder(r.Context(), tx, s.returning, txn, custom)
		if vend.ErrorCode(err) == vend.ENOTFOUND {
			return nil // not yet: the page waits for PayPal
		} else if err != nil {
			return err
		}
		if grants, err = tx.FindGrantsByOrder(r.Context(), o.ID); err != nil {
			return err
		}
		items, err := tx.FindItems(r.Context(), o.ID)
		for _, it := range items {
			names[it.ID] = it.Name
		}
		return err
	})
	if err != nil {
		return err
	}
	// Links only for a return that names PayPal's transaction id: a button's custom
	// value is the same for every buyer and readable in the page source, so it
	// must not open anyone's downloads.
	s.render(w, r, http.StatusOK, "message", s.returnMessage(o, grants, names, txn != ""))
	return nil
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// findReturnOrder finds the order a return names; ENOTFOUND while its IPN has not
// arrived yet.
func findReturnOrder(ctx context.Context, tx store.Tx, provider, txn, custom string) (*vend.Order, error) {
	notYet := vend.Errorf(vend.ENOTFOUND, "No order for this return yet.")
	if txn != "" {
		t, err := tx.FindTransaction(ctx, provider, txn)
		if err != nil {
			return nil, err
		} else if t.OrderID == 0 { // a refund that came before its payment
			return nil, notYet
		}
		return tx.FindOrderByID(ctx, t.OrderID)
	}
	orders, err := tx.FindOrders(ctx, store.OrderFilter{Custom: &custom, Limit: 1})
	if err != nil {
		return nil, err
	} else if len(orders) == 0 {
		return nil, notYet
	}
	return orders[0], nil
}

// withinReturnWindow reports whether access began recently enough for the return
// page to show links: counted from the grant, not the order, so an eCheck that
// cleared after six days still shows them.
func (s buyerPages) withinReturnWindow(grants []*vend.Grant) bool {
	for _, g := range grants {
		if s.Now().Sub(g.CreatedAt) <= s.ReturnWindow {
			return true
		}
	}
	return false
}

func (s buyerPages) returnMessage(o *vend.Order, grants []*vend.Grant, names map[int64]string, showLinks bool) message {
	m := message{view: view{Title: "Thank you for your order"}}
	if o == nil {
		m.Refresh = 5
		m.Paragraphs = []string{"Waiting for PayPal to confirm your payment. This usually takes a few seconds."}
		return m
	}
	switch o.Status {
	case vend.OrderPending:
		m.Refresh = 30
		why := pendingReasons[o.StatusReason]
		if why == "" {
			why = "PayPal has not completed this payment yet."
		}
		m.Paragraphs = []string{"Your payment is pending.", why,
			"Keep this page's address: it shows your download link as soon as the payment completes."}
		if s.Ledger != nil && s.Ledger.Mail {
			m.Paragraphs = append(m.Paragraphs, "We will also email you the link then.")
		}
	case vend.OrderPaid:
		if !showLinks || !s.withinReturnWindow(grants) {
			m.Paragraphs = []string{"Your payment is complete. Please use the download link you were sent, or ask the seller for it."}
			return m
		}
		m.Paragraphs = []string{"Your payment is complete. Your downloads:"}
		for _, g := range grants {
			if g.State == vend.GrantActive {
				m.Links = append(m.Links, link{URL: s.pageURL(g), Text: "Download " + firstOf(names[g.ItemID], g.ProductID)})
			}
		}
	case vend.OrderRefunded:
		m.Title = "Order refunded"
		m.Paragraphs = []string{"This order was refunded, so its downloads have ended."}
	case vend.OrderSuspended:
		m.Title = "Downloads paused"
		m.Paragraphs = []string{"A recurring payment for this order is missing, so its downloads are paused. They come back as soon as it is paid."}
	case vend.OrderEnded:
		m.Title = "Paid period over"
		m.Paragraphs = []string{"The paid period of this order is over, so its downloads have ended."}
	case vend.OrderReversed:
		m.Title = "Payment reversed"
		m.Paragraphs = []string{"The payment for this order was reversed, so its downloads have ended. If you think this is a mistake, please contact the seller."}
	default:
		m.Title = "Payment not completed"
		m.Paragraphs = []string{"PayPal could not complete this payment, so nothing was charged for the downloads. You can try again with another payment method."}
	}
	return m
}
