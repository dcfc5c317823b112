package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/ledger"
	"github.com/vend-shop/vend/license"
	"github.com/vend-shop/vend/locale"
	"github.com/vend-shop/vend/report"
	"github.com/vend-shop/vend/store"
)

// orderAdmin serves the admin's order pages and the API's order routes:
// lists, an order, its grants, manual orders, refunds and deletions.
type orderAdmin struct{ *Server }

// grantActions are the changes an administrator can make to a grant, by the
// name in the URL.
var grantActions = map[string]ledger.GrantAction{
	"revoke": ledger.GrantRevoke, "restore": ledger.GrantRestore, "reset": ledger.GrantReset, "extend": ledger.GrantExtend,
	"limit": ledger.GrantLimit,
}

// handleAdminGrant applies a grant action from the order page's buttons and
// goes back to the order.
func (s orderAdmin) handleAdminGrant(w http.ResponseWriter, r *http.Request) error {
	g, err := s.changeGrant(r, r.PathValue("action"), func(action ledger.GrantAction) (ledger.GrantChange, error) {
		var c ledger.GrantChange
		var err error
		switch action {
		case ledger.GrantRevoke: // the buyer loses access at once: the form asks first
			if r.PostFormValue("confirm") != "yes" {
				err = vend.Errorf(vend.EINVALID, "Tick the box to confirm that this access ends.")
			}
		case ledger.GrantExtend:
			c.Until, err = ledger.ParseExpiry(r.PostFormValue("until"), r.PostFormValue("never") != "")
		case ledger.GrantLimit:
			if c.Limit, err = vend.ParseLimit(r.PostFormValue("limit")); err != nil {
				err = vend.Errorf(vend.EINVALID, "Download limit: %s", err)
			}
		}
		return c, err
	})
	if err != nil {
		return err
	}
	redirectDone(w, r, "/admin/orders/"+strconv.FormatInt(g.OrderID, 10), r.PathValue("action"))
	return nil
}

// handleAdminSendLinks mails the grant's buyer fresh links to everything they
// may still download.
func (s orderAdmin) handleAdminSendLinks(w http.ResponseWriter, r *http.Request) error {
	o, err := s.sendLinks(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	redirectDone(w, r, "/admin/orders/"+strconv.FormatInt(o.ID, 10), "links")
	return nil
}

// sendLinks queues the links mail to the buyer of the grant named grantID and
// answers the grant's order.
func (s orderAdmin) sendLinks(ctx context.Context, grantID string) (*vend.Order, error) {
	id, err := strconv.ParseInt(grantID, 10, 64)
	if err != nil {
		return nil, vend.Errorf(vend.ENOTFOUND, "No such grant.")
	}
	var o *vend.Order
	err = s.DB.View(ctx, func(tx store.Tx) error {
		g, err := tx.FindGrantByID(ctx, id)
		if err != nil {
			return err
		}
		o, err = tx.FindOrderByID(ctx, g.OrderID)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !s.Ledger.Mail {
		return nil, vend.Errorf(vend.EINVALID, "vend sends no mail: set smtp.url first.")
	}
	ctx = context.WithoutCancel(ctx)
	if err := s.Ledger.RequestLinks(ctx, o.Buyer.Email, "", "admin:"+rand.Text()); err != nil {
		return nil, err
	}
	// Mail with fresh links is an act worth a record: who sent them where.
	err = s.DB.Update(ctx, func(tx store.Tx) error {
		return s.audit(ctx, tx, "grant.links", vend.OrderTarget(o.ID), nil, map[string]any{"grant": id, "to": o.Buyer.Email})
	})
	return o, err
}

// changeGrant applies the named action; read gives the action's value (the
// new expiry, the new limit) from the request.
func (s orderAdmin) changeGrant(r *http.Request, name string, read func(ledger.GrantAction) (ledger.GrantChange, error)) (*vend.Grant, error) {
	action, ok := grantActions[name]
	if !ok {
		return nil, vend.Errorf(vend.ENOTFOUND, "No such action.")
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return nil, vend.Errorf(vend.ENOTFOUND, "No such grant.")
	}
	c, err := read(action)
	if err != nil {
		return nil, err
	}
	actor, _ := adminActor(r.Context())
	return s.Ledger.ChangeGrantWith(context.WithoutCancel(r.Context()), actor, id, action, c)
}

// handleAPIOrders lists orders with the admin list's filters: q, product,
// provider, status, from, to, before and limit (at most 500).
func (s orderAdmin) handleAPIOrders(w http.ResponseWriter, r *http.Request) error {
	q, err := report.ParseOrderQuery(r.URL.Query())
	if err == nil {
		q.Limit, err = apiLimit(r.URL.Query().Get("limit"))
	}
	if err != nil {
		return err
	}
	orders, err := s.searchOrders(r.Context(), q)
	if err != nil {
		return err
	}
	out := struct {
		Orders     []*vend.Order `json:"orders"`
		NextBefore int64         `json:"next_before,omitempty"`
	}{Orders: orders}
	if out.Orders == nil {
		out.Orders = []*vend.Order{}
	}
	if len(orders) == q.Limit {
		out.NextBefore = orders[len(orders)-1].ID
	}
	apiJSON(w, out)
	return nil
}

// handleAPIOrder returns one order with everything that hangs off it.
func (s orderAdmin) handleAPIOrder(w http.ResponseWriter, r *http.Request) error {
	id, err := orderID(r)
	if err != nil {
		return err
	}
	v, err := s.orderDetail(r.Context(), id)
	if err != nil {
		return err
	}
	type item struct {
		*vend.Item
		Page string `json:"page,omitempty"`
	}
	out := struct {
		*vend.Order
		Items         []item               `json:"items"`
		Licenses      []license.Detail     `json:"licenses"`
		Transactions  []*vend.Transaction  `json:"transactions"`
		Notifications []*vend.Notification `json:"notifications"`
		Attempts      []*vend.Attempt      `json:"attempts"`
		Audit         []*vend.AuditEntry   `json:"audit"`
	}{Order: v.Order, Licenses: v.Licenses, Transactions: v.Transactions, Notifications: v.Notifications, Attempts: v.Attempts, Audit: v.Audit}
	for _, it := range v.Items {
		it.Item.Grant = it.Grant
		out.Items = append(out.Items, item{Item: it.Item, Page: it.Page})
	}
	apiJSON(w, out)
	return nil
}

// handleAPIGrant applies a grant action: POST /api/v1/grants/{id}/{action}
// with, for extend, {"until": "2026-12-31T00:00:00Z"} (null: never) and, for
// limit, {"limit": 5} (-1: unlimited).
func (s orderAdmin) handleAPIGrant(w http.ResponseWriter, r *http.Request) error {
	g, err := s.changeGrant(r, r.PathValue("action"), func(action ledger.GrantAction) (ledger.GrantChange, error) {
		var c ledger.GrantChange
		if action != ledger.GrantExtend && action != ledger.GrantLimit {
			return c, nil
		}
		var body struct {
			Until *time.Time `json:"until"`
			Limit *int       `json:"limit"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&body); err != nil {
			return c, vend.Errorf(vend.EINVALID, `The body must be {"until": "<RFC 3339 time>" or null} for extend, {"limit": <n or -1>} for limit.`)
		}
		if body.Until != nil {
			c.Until = *body.Until
		}
		if action == ledger.GrantLimit {
			if body.Limit == nil {
				return c, vend.Errorf(vend.EINVALID, `limit needs {"limit": <n or -1>}.`)
			}
			c.Limit = *body.Limit
		}
		return c, nil
	})
	if err != nil {
		return err
	}
	apiJSON(w, g)
	return nil
}

// handleAdminEditBuyer changes an order's buyer email and name.
func (s orderAdmin) handleAdminEditBuyer(w http.ResponseWriter, r *http.Request) error {
	id, err := orderID(r)
	if err != nil {
		return err
	}
	actor, _ := adminActor(r.Context())
	o, err := s.Ledger.EditBuyer(context.WithoutCancel(r.Context()), actor, id,
		vend.Buyer{Email: r.PostFormValue("email"), Name: r.PostFormValue("name")})
	if err != nil {
		return err
	}
	redirectDone(w, r, "/admin/orders/"+strconv.FormatInt(o.ID, 10), "buyer")
	return nil
}

// handleAPIEditOrder changes an order's buyer: POST /api/v1/orders/{id} with
// {"buyer": {"email": …, "name": …}}.
func (s orderAdmin) handleAPIEditOrder(w http.ResponseWriter, r *http.Request) error {
	id, err := orderID(r)
	if err != nil {
		return err
	}
	var body struct {
		Buyer *vend.Buyer `json:"buyer"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&body); err != nil || body.Buyer == nil {
		return vend.Errorf(vend.EINVALID, `The body must be {"buyer": {"email": …, "name": …}}.`)
	}
	actor, _ := adminActor(r.Context())
	if _, err := s.Ledger.EditBuyer(context.WithoutCancel(r.Context()), actor, id, *body.Buyer); err != nil {
		return err
	}
	return s.handleAPIOrder(w, r)
}

// handleAPISendLinks mails the grant's buyer fresh links, as the order page's
// button does, and answers {"order": id, "to": email}.
func (s orderAdmin) handleAPISendLinks(w http.ResponseWriter, r *http.Request) error {
	o, err := s.sendLinks(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	apiJSON(w, map[string]any{"order": o.ID, "to": o.Buyer.Email})
	return nil
}

// What ends a whole order: deleting it (a confirmation page, then the post)
// and recording a refund made outside vend.

// handleRefundOrder marks an order refunded (ledger.RefundOrder) with the
// form's note; the order page shows the result.
func (s orderAdmin) handleRefundOrder(w http.ResponseWriter, r *http.Request) error {
	id, err := orderID(r)
	if err == nil && r.PostFormValue("confirm") != "yes" {
		err = vend.Errorf(vend.EINVALID, "Tick the box to confirm the refund.")
	}
	if err == nil {
		actor, _ := adminActor(r.Context())
		_, err = s.Ledger.RefundOrder(context.WithoutCancel(r.Context()), actor, id, r.PostFormValue("note"))
	}
	if err != nil {
		return err
	}
	redirectDone(w, r, "/admin/orders/"+strconv.FormatInt(id, 10), "refund")
	return nil
}

// handleAPIRefundOrder: POST /api/v1/orders/{id}/refund with {"note": …}.
func (s orderAdmin) handleAPIRefundOrder(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Note string `json:"note"`
	}
	id, err := orderID(r)
	if err == nil {
		err = decodeAPIBody(w, r, &body)
	}
	if err == nil {
		actor, _ := adminActor(r.Context())
		_, err = s.Ledger.RefundOrder(context.WithoutCancel(r.Context()), actor, id, body.Note)
	}
	if err != nil {
		return err
	}
	return s.handleAPIOrder(w, r)
}

// handleDeleteForm asks before deleting: what the order is, and that its
// buyer's downloads end.
func (s orderAdmin) handleDeleteForm(w http.ResponseWriter, r *http.Request) error {
	id, err := orderID(r)
	if err != nil {
		return err
	}
	v, err := s.orderDetail(r.Context(), id)
	if err != nil {
		return err
	}
	s.renderAdmin(w, r, http.StatusOK, "admin-order-delete", "Delete order "+r.PathValue("id"), "orders", v)
	return nil
}

func (s orderAdmin) handleDeleteOrder(w http.ResponseWriter, r *http.Request) error {
	id, err := orderID(r)
	if err != nil {
		return err
	}
	if r.PostFormValue("confirm") != "yes" {
		return vend.Errorf(vend.EINVALID, "Confirm the deletion on its page.")
	}
	actor, _ := adminActor(r.Context())
	if _, err := s.Ledger.DeleteOrder(context.WithoutCancel(r.Context()), actor, id); err != nil {
		return err
	}
	redirectDone(w, r, "/admin/orders", "delete")
	return nil
}

// handleAPIDeleteOrder deletes an order: DELETE /api/v1/orders/{id}.
func (s orderAdmin) handleAPIDeleteOrder(w http.ResponseWriter, r *http.Request) error {
	id, err := orderID(r)
	if err != nil {
		return err
	}
	actor, _ := adminActor(r.Context())
	if _, err := s.Ledger.DeleteOrder(context.WithoutCancel(r.Context()), actor, id); err != nil {
		return err
	}
	return s.handleAPIOrder(w, r)
}

// newOrderView is the page that creates an order by hand.
type newOrderView struct {
	Products []*vend.Product
	Mail     bool
	Problem  string
	Form     ledger.ManualOrder
	Checked  map[string]bool // the form's products
	// Refused is the refused message this order grants by hand (0: none).
	Refused int64
}

func (s orderAdmin) newOrderView(ctx context.Context, form ledger.ManualOrder, problem string) (newOrderView, error) {
	v := newOrderView{Mail: s.Ledger.Mail, Problem: problem, Form: form, Checked: map[string]bool{}}
	for _, id := range form.Products {
		v.Checked[id] = true
	}
	err := s.DB.View(ctx, func(tx store.Tx) error {
		var err error
		v.Products, err = tx.FindProducts(ctx)
		return err
	})
	return v, err
}

func (s orderAdmin) handleNewOrderForm(w http.ResponseWriter, r *http.Request) error {
	form, refused, err := s.refusedOrder(r)
	if err != nil {
		return err
	}
	v, err := s.newOrderView(r.Context(), form, "")
	if err != nil {
		return err
	}
	v.Refused = refused
	s.renderAdmin(w, r, http.StatusOK, "admin-order-new", "New order", "orders", v)
	return nil
}

func (s orderAdmin) handleNewOrder(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return vend.Errorf(vend.EINVALID, "Bad form.")
	}
	req := ledger.ManualOrder{Buyer: vend.Buyer{Email: r.PostForm.Get("email"), Name: r.PostForm.Get("name")},
		Products: r.PostForm["product"], Note: r.PostForm.Get("note"), Language: r.PostForm.Get("language"),
		SendReceipt: r.PostForm.Get("send_receipt") != ""}
	actor, _ := adminActor(r.Context())
	refused, _ := strconv.ParseInt(r.PostForm.Get("notification"), 10, 64)
	res, err := s.Ledger.CreateOrder(context.WithoutCancel(r.Context()), actor, req)
	if vend.ErrorCode(err) == vend.EINVALID {
		v, verr := s.newOrderView(r.Context(), req, vend.ErrorMessage(err))
		if verr != nil {
			return verr
		}
		v.Refused = refused
		s.renderAdmin(w, r, http.StatusBadRequest, "admin-order-new", "New order", "orders", v)
		return nil
	} else if err != nil {
		return err
	}
	if refused > 0 {
		if err := s.Ledger.GrantedRefused(context.WithoutCancel(r.Context()), actor, refused, res.OrderID); err != nil {
			return err
		}
	}
	redirectDone(w, r, "/admin/orders/"+strconv.FormatInt(res.OrderID, 10), "order")
	return nil
}

// refusedOrder is the new-order form for the refused message the query names
// (?notification=ID, from the dashboard's "Grant anyway"): its buyer and
// products, as far as its provider can read them; else an empty form.
func (s orderAdmin) refusedOrder(r *http.Request) (ledger.ManualOrder, int64, error) {
	form := ledger.ManualOrder{SendReceipt: true}
	q := r.URL.Query().Get("notification")
	if q == "" {
		return form, 0, nil
	}
	id, err := strconv.ParseInt(q, 10, 64)
	if err != nil {
		return form, 0, vend.Errorf(vend.ENOTFOUND, "No such notification.")
	}
	n, err := viewOne(r.Context(), s.DB, func(tx store.Tx) (*vend.Notification, error) { return tx.FindNotificationByID(r.Context(), id) })
	if err != nil {
		return form, 0, err
	}
	if ev, err := s.Intake.Event(n); err == nil {
		form.Buyer = ev.Buyer
		if ev.Language != "" {
			form.Language = locale.Language(ev.Language)
		}
		for _, it := range ev.Items {
			form.Products = append(form.Products, it.ProductID)
		}
		if ev.ProductID != "" && len(form.Products) == 0 {
			form.Products = []string{ev.ProductID}
		}
	}
	form.Note = "granted by hand: " + n.Reason
	return form, n.ID, nil
}

// handleAPINewOrder creates an order by hand: POST /api/v1/orders with
// {"buyer": {"email", "name"}, "products": [ids], "note", "language", "send_receipt"}.
func (s orderAdmin) handleAPINewOrder(w http.ResponseWriter, r *http.Request) error {
	var req ledger.ManualOrder
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		return vend.Errorf(vend.EINVALID, "The body must be a JSON order: {\"buyer\": {\"email\": …}, \"products\": […]}.")
	}
	actor, _ := adminActor(r.Context())
	res, err := s.Ledger.CreateOrder(context.WithoutCancel(r.Context()), actor, req)
	if err != nil {
		return err
	}
	r.SetPathValue("id", strconv.FormatInt(res.OrderID, 10))
	return s.handleAPIOrder(w, r)
}

type ordersView struct {
	Query    url.Values
	Orders   []*vend.Order
	Next     string // the next page's URL, or ""
	Statuses []vend.OrderStatus
}

const ordersPerPage = 50

var allStatuses = []vend.OrderStatus{vend.OrderPaid, vend.OrderPending, vend.OrderRefunded, vend.OrderReversed,
	vend.OrderFailed, vend.OrderSuspended, vend.OrderEnded}

func (s orderAdmin) handleAdminOrders(w http.ResponseWriter, r *http.Request) error {
	q, err := report.ParseOrderQuery(r.URL.Query())
	if err != nil {
		return err
	}
	q.Limit = ordersPerPage
	orders, err := s.searchOrders(r.Context(), q)
	if err != nil {
		return err
	}
	v := ordersView{Query: r.URL.Query(), Orders: orders, Statuses: allStatuses}
	if len(orders) == ordersPerPage {
		next := r.URL.Query()
		next.Set("before", strconv.FormatInt(orders[len(orders)-1].ID, 10))
		v.Next = "/admin/orders?" + next.Encode()
	}
	s.renderAdmin(w, r, http.StatusOK, "admin-orders", "Orders", "orders", v)
	return nil
}

func (s orderAdmin) searchOrders(ctx context.Context, q store.OrderQuery) ([]*vend.Order, error) {
	var orders []*vend.Order
	err := s.DB.View(ctx, func(tx store.Tx) error {
		var err error
		orders, err = tx.SearchOrders(ctx, q)
		return err
	})
	return orders, err
}

// orderID reads the order id of the request's path.
func orderID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, vend.Errorf(vend.ENOTFOUND, "No such order.")
	}
	return id, nil
}

type orderView struct {
	Order         *vend.Order
	Items         []orderItemView
	Licenses      []license.Detail
	Transactions  []*vend.Transaction
	Notifications []*vend.Notification
	Attempts      []*vend.Attempt
	Audit         []*vend.AuditEntry
}

type orderItemView struct {
	*vend.Item
	Grant *vend.Grant
	Page  string // the buyer's download page
	// KeysWaiting is how many licence keys the item waits for: its
	// product's list ran out.
	KeysWaiting int
}

func (s orderAdmin) handleAdminOrder(w http.ResponseWriter, r *http.Request) error {
	id, err := orderID(r)
	if err != nil {
		return err
	}
	v, err := s.orderDetail(r.Context(), id)
	if err != nil {
		return err
	}
	s.renderAdmin(w, r, http.StatusOK, "admin-order", "Order "+strconv.FormatInt(id, 10), "orders", v)
	return nil
}

func (s orderAdmin) orderDetail(ctx context.Context, id int64) (*orderView, error) {
	v := &orderView{}
	err := s.DB.View(ctx, func(tx store.Tx) error {
		var err error
		if v.Order, err = tx.FindOrderByID(ctx, id); err != nil {
			return err
		}
		items, err := tx.FindItems(ctx, id)
		if err != nil {
			return err
		}
		grants, err := tx.FindGrantsByOrder(ctx, id)
		if err != nil {
			return err
		}
		for _, it := range items {
			iv := orderItemView{Item: it}
			for _, g := range grants {
				if g.ItemID == it.ID {
					iv.Grant, iv.Page = g, s.BaseURL+s.pageURL(g)
				}
			}
			if iv.KeysWaiting, err = tx.KeysWaiting(ctx, it.ID); err != nil {
				return err
			}
			v.Items = append(v.Items, iv)
		}
		keys, err := tx.FindLicenses(ctx, store.LicenseFilter{OrderID: &id, Limit: 1000})
		if err != nil {
			return err
		}
		v.Licenses = license.Details(keys, grants, s.Now())
		if v.Transactions, err = tx.FindTransactionsByOrder(ctx, id); err != nil {
			return err
		}
		if v.Notifications, err = tx.FindNotifications(ctx, store.NotificationFilter{OrderID: &id, Limit: 100}); err != nil {
			return err
		}
		if v.Attempts, err = tx.FindAttempts(ctx, store.AttemptFilter{OrderID: &id, Limit: 500}); err != nil {
			return err
		}
		v.Audit, err = tx.FindAuditEntries(ctx, store.AuditFilter{Target: vend.OrderTarget(id), Limit: 100})
		return err
	})
	return v, err
}

// handleEvidence answers an order's chargeback evidence pack, a ZIP
// (report.Evidence, docs/evidence.md), for the admin and the API alike.
func (s orderAdmin) handleEvidence(w http.ResponseWriter, r *http.Request) error {
	id, err := orderID(r)
	if err != nil {
		return err
	}
	ev, err := report.FindEvidence(r.Context(), s.DB, id, s.Now())
	if err != nil {
		return err
	}
	// Built whole before the first byte, so a failure is still an error page.
	var buf bytes.Buffer
	if err := ev.WriteZip(&buf, report.Shop{Name: s.Shop.Name, URL: s.BaseURL, SupportEmail: s.Shop.SupportEmail,
		TermsURL: s.Shop.TermsURL}); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="evidence-order-%d.zip"`, id))
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	_, err = buf.WriteTo(w)
	return err
}
