package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/delivery"
	"github.com/vend-shop/vend/license"
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
	Page  *delivery.Page
	Files []fileView
	// Problem says why the files cannot be downloaded ("" when they can);
	// LastSession that the last download's session still runs.
	Problem, LastSession string
	Thanks, Left, Until  string
	Order                string
	Keys                 []keyView
	KeysWaiting          string // the keys that follow by mail, in words
	Later                laterView
}

// laterView lists the versions released after the grant's updates ended,
// with the seller's renewal page.
type laterView struct {
	Text     string
	Files    []fileView
	RenewURL string
}

// keyView is a licence key on the buyer's page: the key, what it allows in
// words, and its signed licence's link.
type keyView struct {
	Key, Terms, SignedURL string
}

// handleDownloadPage shows a grant's files. It never counts: link scanners and
// buyers checking their order cost nothing.
func (s buyerPages) handleDownloadPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p, err := s.Delivery.FindPage(ctx, r.PathValue("token"), delivery.ClientIP(r))
	if err != nil {
		return err
	}
	if r.Method == http.MethodGet {
		// Evidence that the buyer reached the purchase (a link checker's
		// visit is logged too, with its user agent).
		s.Delivery.RecordVisit(p.Grant.ID, delivery.ClientIP(r), r.UserAgent())
	}
	v := downloadView{view: s.buyerView(pageLang(r, p.Order.Language), ""), Page: p}
	v.Title = p.Product.Name
	v.Problem = v.problemText(p)
	v.Help = v.Problem != ""
	if v.Problem == "" {
		if v.Keys, v.KeysWaiting, err = s.keyViews(ctx, v.view, p); err != nil {
			return err
		}
		for _, f := range p.Files {
			v.Files = append(v.Files, fileView{URL: fileURL(p.Token, f), Name: f.Name, Size: v.Size(f.Size), SHA256: f.SHA256})
		}
		if len(p.Later) > 0 {
			v.Later = laterView{Text: v.Tf("Your updates for this purchase ended on %s. These newer versions came out since:", v.Date(p.Grant.UpdatesUntil)),
				RenewURL: p.Product.RenewURL}
			for _, f := range p.Later {
				v.Later.Files = append(v.Later.Files, fileView{Name: f.Name, Size: v.Size(f.Size) + " · " + v.Date(f.CreatedAt)})
			}
		}
		if g := p.Grant; p.Session != nil && g.DownloadLimit != vend.Unlimited && g.DownloadsUsed >= g.DownloadLimit {
			v.LastSession = v.Tf("This was your last download. Until %s you can resume a download that broke off, "+
				"or download the other files of this purchase, from this device. After that, the downloads of this purchase are used up.",
				v.DateTime(p.SessionEnds))
		}
	}
	v.Thanks = v.T("Thank you for your purchase. Your files:")
	if name := p.Order.Buyer.Name; name != "" {
		v.Thanks = v.Tf("Thank you for your purchase, %s. Your files:", name)
	}
	v.Left = v.T("Downloads: unlimited.")
	if left := p.Grant.DownloadsLeft(); left >= 0 {
		v.Left = v.Tf("Downloads left: %d of %d.", left, p.Grant.DownloadLimit)
	}
	v.Until = v.T("No expiry.")
	if !p.Grant.ExpiresAt.IsZero() {
		v.Until = v.Tf("Available until %s.", v.DateTime(p.Grant.ExpiresAt))
	}
	v.Order = v.Tf("Order %d of %s", p.Order.ID, v.Date(p.Order.CreatedAt))
	s.render(w, r, http.StatusOK, "download", v)
	return nil
}

// keyViews are the licence keys of the page's grant, first unit first, and
// what it says of the keys that wait for the seller's list.
func (s buyerPages) keyViews(ctx context.Context, v view, p *delivery.Page) ([]keyView, string, error) {
	var keys []*vend.License
	var waiting int
	err := s.DB.View(ctx, func(tx store.Tx) error {
		var err error
		if keys, err = tx.FindLicenses(ctx, store.LicenseFilter{GrantID: &p.Grant.ID, Limit: vend.MaxKeysPerItem}); err != nil {
			return err
		}
		waiting, err = tx.KeysWaiting(ctx, p.Grant.ItemID)
		return err
	})
	var follows string
	if waiting > 0 {
		follows = v.T("Your licence key follows by email as soon as the shop has it.")
	}
	var out []keyView
	for i := len(keys) - 1; i >= 0; i-- {
		l := keys[i]
		k := keyView{Key: l.Key, Terms: v.T("Installations: unlimited.")}
		if l.ActivationLimit != vend.Unlimited {
			k.Terms = v.Tf("Installations at once: %d.", l.ActivationLimit)
		}
		if !l.ExpiresAt.IsZero() {
			k.Terms += " " + v.Tf("Valid until %s.", v.Date(l.ExpiresAt))
		}
		if s.Licenses != nil && s.Licenses.Signer != nil {
			k.SignedURL = "/d/" + p.Token + "/licenses/" + strconv.FormatInt(l.ID, 10) + "/" + url.PathEscape(p.Product.ID) + ".license"
		}
		out = append(out, k)
	}
	return out, follows, err
}

// handleSignedLicense answers the signed licence of one of the page's keys,
// as a file the buyer hands to the software (docs/licenses.md).
func (s buyerPages) handleSignedLicense(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || s.Licenses == nil || s.Licenses.Signer == nil {
		return vend.Errorf(vend.ENOTFOUND, "This purchase has no such licence key.")
	}
	p, err := s.Delivery.FindPage(r.Context(), r.PathValue("token"), delivery.ClientIP(r))
	if err != nil {
		return err
	}
	var l *vend.License
	err = s.DB.View(r.Context(), func(tx store.Tx) error {
		var err error
		l, err = tx.FindLicenseByID(r.Context(), id)
		return err
	})
	if vend.ErrorCode(err) == vend.ENOTFOUND || err == nil && l.GrantID != p.Grant.ID {
		return vend.Errorf(vend.ENOTFOUND, "This purchase has no such licence key.")
	} else if err != nil {
		return err
	}
	if st := l.Status(p.Grant, s.Now()); !st.Valid() {
		return vend.Errorf(vend.EGONE, "This licence key is %s.", st)
	}
	token, err := s.Licenses.Signer.Sign(license.ClaimsOf(l, p.Grant, p.Order, s.Licenses.Issuer, s.Now()))
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+p.Product.ID+`.license"`)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	io.WriteString(w, token+"\n")
	return nil
}

// problemText says in the page's language why the files cannot be
// downloaded, and whom to ask.
func (v view) problemText(p *delivery.Page) string {
	switch p.Problem {
	case delivery.ProblemNone:
		return ""
	case delivery.ProblemRefunded:
		return v.T("This purchase was refunded, so its downloads have ended.")
	case delivery.ProblemReversed:
		return v.T("The payment for this purchase was reversed, so its downloads have ended. If you think this is a mistake, please write to the seller.")
	case delivery.ProblemSuspended:
		return v.T("Downloads are paused because a recurring payment for this purchase is missing. They come back as soon as it is paid.")
	case delivery.ProblemEnded:
		return v.T("The paid period of this purchase is over, so its downloads have ended.")
	case delivery.ProblemExpired:
		return v.Tf("This download expired on %s. If you still need it, please write to the seller.", v.Date(p.Grant.ExpiresAt))
	case delivery.ProblemUsedUp:
		return v.T("You have used all downloads of this purchase, and the last one is over. If you need another one, please write to the seller.")
	}
	return v.T("Access to this download has ended. If you think this is a mistake, please write to the seller.")
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
	token := r.PathValue("token")
	if err := s.Delivery.ServeFile(w, r, token, id); err != nil {
		return s.refusedFile(w, r, token, err)
	}
	return nil
}

// refusedFile answers a file request that delivery refused with the buyer's
// page in the order's language: the same explanation as the download page
// (used up, expired, refunded…), a way back to it, and the seller's contact;
// with the refusal's status, so a download manager does not save the page as
// the file. A link that finds no purchase, or a failure of vend's, gets the
// error page.
func (s buyerPages) refusedFile(w http.ResponseWriter, r *http.Request, token string, refusal error) error {
	if vend.HTTPStatus(refusal) >= http.StatusInternalServerError || token == "" {
		return refusal
	}
	p, err := s.Delivery.FindPage(r.Context(), token, delivery.ClientIP(r))
	if err != nil {
		return refusal
	}
	v := s.buyerView(pageLang(r, p.Order.Language), "This download is not possible")
	text := v.problemText(p)
	if text == "" {
		text = v.T(vend.ErrorMessage(refusal))
	}
	links := []link{{URL: s.pageURL(p.Grant), Text: v.T("Your download page")}}
	if errors.Is(refusal, delivery.ErrUpdatesEnded) {
		text = v.Tf("This version came out after your updates for this purchase ended on %s. Your download page has the versions that are yours.",
			v.Date(p.Grant.UpdatesUntil))
		if u := p.Product.RenewURL; u != "" {
			links = append(links, link{URL: u, Text: v.T("Renew your updates")})
		}
	}
	v.Help = true
	s.render(w, r, vend.HTTPStatus(refusal), "message", message{view: v, Paragraphs: []string{text}, Links: links})
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
	if err := s.Delivery.ServeGrant(w, r, g, fileID); err != nil {
		return s.refusedFile(w, r, s.Delivery.Token(g.PublicID), err)
	}
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

// The return page checks every returnRefresh seconds whether the payment has
// arrived, returnChecks times; then it stops waiting and says what happens
// next. It counts its own refreshes in the query (returnChecksParam): the
// return URL's time is the provider's and cannot be trusted, and a buyer who
// edits the count only changes what their own page says.
const (
	returnRefresh     = 5
	returnChecks      = 24 // two minutes
	returnChecksParam = "checks"
)

// handleReturn is where PayPal sends the buyer after paying (?tx=… from PDT,
// txn_id=… from rm=2, cm=… with the button's custom value). It says in plain words
// where the order stands and refreshes itself until the payment settles.
func (s buyerPages) handleReturn(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	txn := firstOf(r.FormValue("tx"), r.FormValue("txn_id"))
	custom := firstOf(r.FormValue("cm"), r.FormValue("custom"))
	if txn == "" && custom == "" {
		v := s.buyerView(pageLang(r, ""), "Thank you")
		v.Help = true
		s.render(w, r, http.StatusBadRequest, "message", message{view: v, Paragraphs: []string{
			v.T("This page shows your order after you pay. If you have paid, please use the link in your email.")}})
		return nil
	}
	var o *vend.Order
	var grants []*vend.Grant
	var lang string
	var refused bool
	names := map[int64]string{} // item id → product name, for the links
	err := s.DB.View(ctx, func(tx store.Tx) error {
		var err error
		o, err = findReturnOrder(ctx, tx, s.returning, txn, custom)
		if vend.ErrorCode(err) == vend.ENOTFOUND {
			// Not yet, or never: a payment vend refused has no order.
			refused, err = s.refusedPayment(ctx, tx, txn)
			return err
		} else if err != nil {
			return err
		}
		if grants, err = tx.FindGrantsByOrder(ctx, o.ID); err != nil {
			return err
		}
		lang = o.Language
		items, err := tx.FindItems(ctx, o.ID)
		for _, it := range items {
			names[it.ID] = it.Name
		}
		return err
	})
	if err != nil {
		return err
	}
	v := s.buyerView(pageLang(r, lang), "Thank you for your order")
	var m message
	switch {
	case refused:
		m = s.refusedMessage(v, txn)
	case o == nil:
		checks, _ := strconv.Atoi(r.FormValue(returnChecksParam))
		m = s.waitingMessage(v, returnURL(txn, custom, min(max(checks, 0), returnChecks)+1), checks >= returnChecks)
	default:
		// Links only for a return that names PayPal's transaction id: a button's
		// custom value is the same for every buyer and readable in the page
		// source, so it must not open anyone's downloads.
		m = s.returnMessage(v, o, grants, names, txn != "", returnURL(txn, custom, 0))
	}
	s.render(w, r, http.StatusOK, "message", m)
	return nil
}

// returnURL is the return page of txn or custom, as a GET (PayPal's rm=2
// returns by POST, which a refresh must not repeat), having checked checks
// times.
func returnURL(txn, custom string, checks int) string {
	q := url.Values{}
	if txn != "" {
		q.Set("tx", txn)
	} else {
		q.Set("cm", custom)
	}
	if checks > 0 {
		q.Set(returnChecksParam, strconv.Itoa(checks))
	}
	return "/return?" + q.Encode()
}

// refusedPayment reports whether the provider sent a genuine message about
// txn that vend refused (a price below the catalog's, another receiver):
// the payment happened, and only the seller can settle it. Refused messages
// are few (genuine ones that failed a check) and pruned, so the newest
// hundred of the provider are read rather than indexed by key.
func (s buyerPages) refusedPayment(ctx context.Context, tx store.Tx, txn string) (bool, error) {
	if txn == "" {
		return false, nil
	}
	rejected := vend.VerdictRejected
	ns, err := tx.FindNotifications(ctx, store.NotificationFilter{Provider: &s.returning, Verdict: &rejected, Limit: 100})
	if err != nil {
		return false, err
	}
	for _, n := range ns {
		// A provider's key starts with its transaction id ("<txn_id>/<status>").
		if id, _, _ := strings.Cut(n.Key, "/"); id == txn {
			return true, nil
		}
	}
	return false, nil
}

func (s buyerPages) refusedMessage(v view, txn string) message {
	v.Title, v.Help = v.T("Your payment needs the seller"), true
	return message{view: v, Paragraphs: []string{
		v.T("Your payment reached the shop, but the shop could not accept it automatically, so the seller has to look at it. You do not need to pay again."),
		v.Tf("Please write to the seller and name your payment's transaction number, %s.", txn),
	}}
}

// waitingMessage is the page while the payment has not arrived: it refreshes
// itself, until gaveUp, when it says what happens next instead.
func (s buyerPages) waitingMessage(v view, next string, gaveUp bool) message {
	if !gaveUp {
		v.Refresh, v.RefreshURL = returnRefresh, next
		return message{view: v, Paragraphs: []string{v.T("Waiting for PayPal to confirm your payment. This usually takes a few seconds.")}}
	}
	v.Title, v.Help = v.T("Payment not confirmed yet"), true
	m := message{view: v, Paragraphs: []string{
		v.T("PayPal has not confirmed your payment to the shop yet. This sometimes takes longer; you do not need to pay again."),
	}}
	if s.Ledger != nil && s.Ledger.Mail {
		m.Paragraphs = append(m.Paragraphs, v.T("As soon as it is confirmed, we email you your download link."))
	} else {
		m.Paragraphs = append(m.Paragraphs, v.T("As soon as it is confirmed, this page shows your download link: keep its address."))
	}
	m.Paragraphs = append(m.Paragraphs, v.T("If nothing has arrived within a day, please write to the seller."))
	m.Links = []link{{URL: next, Text: v.T("Check again")}}
	return m
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

func (s buyerPages) returnMessage(v view, o *vend.Order, grants []*vend.Grant, names map[int64]string, showLinks bool, self string) message {
	m := message{view: v}
	switch o.Status {
	case vend.OrderPending:
		m.Refresh, m.RefreshURL = 30, self
		m.Paragraphs = []string{v.T("Your payment is pending."), v.loc.PendingReason(o.StatusReason),
			v.T("Keep this page's address: it shows your download link as soon as the payment completes.")}
		if s.Ledger != nil && s.Ledger.Mail {
			m.Paragraphs = append(m.Paragraphs, v.T("We will also email you the link then."))
		}
	case vend.OrderPaid:
		if !showLinks || !s.withinReturnWindow(grants) {
			m.Paragraphs = []string{v.T("Your payment is complete. Please use the download link you were sent by email.")}
			m.Help = true
			return m
		}
		m.Paragraphs = []string{v.T("Your payment is complete. Your downloads:")}
		for _, g := range grants {
			if g.State == vend.GrantActive {
				m.Links = append(m.Links, link{URL: s.pageURL(g), Text: v.Tf("Download %s", firstOf(names[g.ItemID], g.ProductID))})
			}
		}
	case vend.OrderRefunded:
		m.Title, m.Help = v.T("Order refunded"), true
		m.Paragraphs = []string{v.T("This order was refunded, so its downloads have ended.")}
	case vend.OrderSuspended:
		m.Title = v.T("Downloads paused")
		m.Paragraphs = []string{v.T("A recurring payment for this order is missing, so its downloads are paused. They come back as soon as it is paid.")}
	case vend.OrderEnded:
		m.Title = v.T("Paid period over")
		m.Paragraphs = []string{v.T("The paid period of this order is over, so its downloads have ended.")}
	case vend.OrderReversed:
		m.Title, m.Help = v.T("Payment reversed"), true
		m.Paragraphs = []string{v.T("The payment for this order was reversed, so its downloads have ended. If you think this is a mistake, please write to the seller.")}
	default:
		m.Title = v.T("Payment not completed")
		m.Paragraphs = []string{v.T("PayPal could not complete this payment, so nothing was charged for the downloads. You can try again with another payment method.")}
	}
	return m
}
