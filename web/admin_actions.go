package web

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/ledger"
	"github.com/vend-shop/vend/report"
	"github.com/vend-shop/vend/store"
)

// grantActions are the changes an administrator can make to a grant, by the
// name in the URL.
var grantActions = map[string]ledger.GrantAction{
	"revoke": ledger.GrantRevoke, "restore": ledger.GrantRestore, "reset": ledger.GrantReset, "extend": ledger.GrantExtend,
	"limit": ledger.GrantLimit,
}

// handleAdminGrant applies a grant action from the order page's buttons and
// goes back to the order.
func (s *Server) handleAdminGrant(w http.ResponseWriter, r *http.Request) {
	g, err := s.changeGrant(r, r.PathValue("action"), func(action ledger.GrantAction) (ledger.GrantChange, error) {
		var c ledger.GrantChange
		var err error
		switch action {
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
		s.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/orders/"+strconv.FormatInt(g.OrderID, 10), http.StatusSeeOther)
}

// handleAdminSendLinks mails the grant's buyer fresh links to everything they
// may still download.
func (s *Server) handleAdminSendLinks(w http.ResponseWriter, r *http.Request) {
	o, err := s.sendLinks(r.Context(), r.PathValue("id"))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/orders/"+strconv.FormatInt(o.ID, 10), http.StatusSeeOther)
}

// sendLinks queues the links mail to the buyer of the grant named grantID and
// answers the grant's order.
func (s *Server) sendLinks(ctx context.Context, grantID string) (*vend.Order, error) {
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
func (s *Server) changeGrant(r *http.Request, name string, read func(ledger.GrantAction) (ledger.GrantChange, error)) (*vend.Grant, error) {
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

// ---- JSON API ----

// apiError writes err in the API's error shape with a stable code. What
// failed inside vend is logged, not shown.
func (s *Server) apiError(w http.ResponseWriter, r *http.Request, err error) {
	code, status := "internal", http.StatusInternalServerError
	switch vend.ErrorCode(err) {
	case vend.EINVALID:
		code, status = "invalid", http.StatusBadRequest
	case vend.ENOTFOUND:
		code, status = "not_found", http.StatusNotFound
	case vend.ECONFLICT:
		code, status = "conflict", http.StatusConflict
	case vend.EFORBIDDEN:
		code, status = "forbidden", http.StatusForbidden
	case vend.EGONE:
		code, status = "gone", http.StatusGone
	}
	msg := "Internal error."
	if status != http.StatusInternalServerError {
		msg = vend.ErrorMessage(err)
	} else if r.Context().Err() == nil {
		s.Logger.ErrorContext(r.Context(), "api request failed", "route", r.Pattern, "error", err)
	}
	authAPIError(w, status, code, msg)
}

func apiJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, v)
}

// handleAPIOrders lists orders with the admin list's filters: q, product,
// provider, status, from, to, before and limit (at most 500).
func (s *Server) handleAPIOrders(w http.ResponseWriter, r *http.Request) {
	q, err := report.ParseOrderQuery(r.URL.Query())
	if err == nil {
		q.Limit, err = apiLimit(r.URL.Query().Get("limit"))
	}
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	orders, err := s.searchOrders(r.Context(), q)
	if err != nil {
		s.apiError(w, r, err)
		return
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
}

func apiLimit(s string) (int, error) {
	if s == "" {
		return ordersPerPage, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 500 {
		return 0, vend.Errorf(vend.EINVALID, "limit: a number from 1 to 500.")
	}
	return n, nil
}

// handleAPIOrder returns one order with everything that hangs off it.
func (s *Server) handleAPIOrder(w http.ResponseWriter, r *http.Request) {
	id, err := orderID(r)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	v, err := s.orderDetail(r.Context(), id)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	type item struct {
		*vend.Item
		Page string `json:"page,omitempty"`
	}
	out := struct {
		*vend.Order
		Items         []item               `json:"items"`
		Transactions  []*vend.Transaction  `json:"transactions"`
		Notifications []*vend.Notification `json:"notifications"`
		Attempts      []*vend.Attempt      `json:"attempts"`
		Audit         []*vend.AuditEntry   `json:"audit"`
	}{Order: v.Order, Transactions: v.Transactions, Notifications: v.Notifications, Attempts: v.Attempts, Audit: v.Audit}
	for _, it := range v.Items {
		it.Item.Grant = it.Grant
		out.Items = append(out.Items, item{Item: it.Item, Page: it.Page})
	}
	apiJSON(w, out)
}

// handleAPIGrant applies a grant action: POST /api/v1/grants/{id}/{action}
// with, for extend, {"until": "2026-12-31T00:00:00Z"} (null: never) and, for
// limit, {"limit": 5} (-1: unlimited).
func (s *Server) handleAPIGrant(w http.ResponseWriter, r *http.Request) {
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
		s.apiError(w, r, err)
		return
	}
	apiJSON(w, g)
}

// handleAdminEditBuyer changes an order's buyer email and name.
func (s *Server) handleAdminEditBuyer(w http.ResponseWriter, r *http.Request) {
	id, err := orderID(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	actor, _ := adminActor(r.Context())
	o, err := s.Ledger.EditBuyer(context.WithoutCancel(r.Context()), actor, id,
		vend.Buyer{Email: r.PostFormValue("email"), Name: r.PostFormValue("name")})
	if err != nil {
		s.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/orders/"+strconv.FormatInt(o.ID, 10), http.StatusSeeOther)
}

// handleAPIEditOrder changes an order's buyer: POST /api/v1/orders/{id} with
// {"buyer": {"email": …, "name": …}}.
func (s *Server) handleAPIEditOrder(w http.ResponseWriter, r *http.Request) {
	id, err := orderID(r)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	var body struct {
		Buyer *vend.Buyer `json:"buyer"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&body); err != nil || body.Buyer == nil {
		s.apiError(w, r, vend.Errorf(vend.EINVALID, `The body must be {"buyer": {"email": …, "name": …}}.`))
		return
	}
	actor, _ := adminActor(r.Context())
	if _, err := s.Ledger.EditBuyer(context.WithoutCancel(r.Context()), actor, id, *body.Buyer); err != nil {
		s.apiError(w, r, err)
		return
	}
	s.handleAPIOrder(w, r)
}
