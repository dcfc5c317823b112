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
	"github.com/vend-shop/vend/store"
)

// grantActions are the changes an administrator can make to a grant, by the
// name in the URL.
var grantActions = map[string]ledger.GrantAction{
	"revoke": ledger.GrantRevoke, "restore": ledger.GrantRestore, "reset": ledger.GrantReset, "extend": ledger.GrantExtend,
}

// handleAdminGrant applies a grant action from the order page's buttons and
// goes back to the order.
func (s *Server) handleAdminGrant(w http.ResponseWriter, r *http.Request) {
	g, err := s.changeGrant(r, r.PathValue("action"), func() (time.Time, error) {
		return ledger.ParseExpiry(r.PostFormValue("until"), r.PostFormValue("never") != "")
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
	ctx := r.Context()
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.Error(w, r, vend.Errorf(vend.ENOTFOUND, "No such grant."))
		return
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
	if err == nil && !s.Ledger.Mail {
		err = vend.Errorf(vend.EINVALID, "vend sends no mail: set smtp.url first.")
	}
	if err == nil {
		err = s.Ledger.RequestLinks(context.WithoutCancel(ctx), o.Buyer.Email, "", "admin:"+rand.Text())
	}
	if err != nil {
		s.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/orders/"+strconv.FormatInt(o.ID, 10), http.StatusSeeOther)
}

func (s *Server) changeGrant(r *http.Request, name string, until func() (time.Time, error)) (*vend.Grant, error) {
	action, ok := grantActions[name]
	if !ok {
		return nil, vend.Errorf(vend.ENOTFOUND, "No such action.")
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return nil, vend.Errorf(vend.ENOTFOUND, "No such grant.")
	}
	var t time.Time
	if action == ledger.GrantExtend {
		if t, err = until(); err != nil {
			return nil, err
		}
	}
	actor, _ := adminActor(r.Context())
	return s.Ledger.ChangeGrant(context.WithoutCancel(r.Context()), actor, id, action, t)
}

// ---- JSON API ----

// apiError writes err in the API's error shape with a stable code.
func apiError(w http.ResponseWriter, err error) {
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
	q, err := orderQuery(r.URL.Query())
	if err == nil {
		q.Limit, err = apiLimit(r.URL.Query().Get("limit"))
	}
	if err != nil {
		apiError(w, err)
		return
	}
	orders, err := s.searchOrders(r.Context(), q)
	if err != nil {
		s.Logger.ErrorContext(r.Context(), "api orders", "error", err)
		apiError(w, err)
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
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		apiError(w, vend.Errorf(vend.ENOTFOUND, "No such order."))
		return
	}
	v, err := s.orderDetail(r.Context(), id)
	if err != nil {
		apiError(w, err)
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
// with, for extend, {"until": "2026-12-31T00:00:00Z"} (null: never).
func (s *Server) handleAPIGrant(w http.ResponseWriter, r *http.Request) {
	g, err := s.changeGrant(r, r.PathValue("action"), func() (time.Time, error) {
		var body struct {
			Until *time.Time `json:"until"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&body); err != nil {
			return time.Time{}, vend.Errorf(vend.EINVALID, `The body must be {"until": "<RFC 3339 time>"} or {"until": null}.`)
		}
		if body.Until == nil {
			return time.Time{}, nil
		}
		return *body.Until, nil
	})
	if err != nil {
		apiError(w, err)
		return
	}
	apiJSON(w, g)
}
