package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/ledger"
	"github.com/vend-shop/vend/store"
)

// adminManualRoutes adds the creation of orders by hand.
func (s *Server) adminManualRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /admin/orders/new", s.requireAdmin(s.handleNewOrderForm))
	m.HandleFunc("POST /admin/orders/new", s.requireAdmin(s.handleNewOrder))
	m.HandleFunc("POST /api/v1/orders", s.requireAdmin(s.handleAPINewOrder))
	m.HandleFunc("POST /admin/orders/{id}/buyer", s.requireAdmin(s.handleAdminEditBuyer))
	m.HandleFunc("POST /api/v1/orders/{id}", s.requireAdmin(s.handleAPIEditOrder))
}

type newOrderView struct {
	Products []*vend.Product
	Mail     bool
	Problem  string
	Form     ledger.ManualOrder
}

func (s *Server) newOrderView(ctx context.Context, form ledger.ManualOrder, problem string) (newOrderView, error) {
	v := newOrderView{Mail: s.Ledger.Mail, Problem: problem, Form: form}
	err := s.DB.View(ctx, func(tx store.Tx) error {
		var err error
		v.Products, err = tx.FindProducts(ctx)
		return err
	})
	return v, err
}

func (s *Server) handleNewOrderForm(w http.ResponseWriter, r *http.Request) {
	v, err := s.newOrderView(r.Context(), ledger.ManualOrder{SendReceipt: true}, "")
	if err != nil {
		s.Error(w, r, err)
		return
	}
	s.renderAdmin(w, r, http.StatusOK, "admin-order-new", "New order", "orders", v)
}

func (s *Server) handleNewOrder(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.Error(w, r, vend.Errorf(vend.EINVALID, "Bad form."))
		return
	}
	req := ledger.ManualOrder{Buyer: vend.Buyer{Email: r.PostForm.Get("email"), Name: r.PostForm.Get("name")},
		Products: r.PostForm["product"], Note: r.PostForm.Get("note"), SendReceipt: r.PostForm.Get("send_receipt") != ""}
	actor, _ := adminActor(r.Context())
	res, err := s.Ledger.CreateOrder(context.WithoutCancel(r.Context()), actor, req)
	if vend.ErrorCode(err) == vend.EINVALID {
		v, verr := s.newOrderView(r.Context(), req, vend.ErrorMessage(err))
		if verr != nil {
			s.Error(w, r, verr)
			return
		}
		s.renderAdmin(w, r, http.StatusBadRequest, "admin-order-new", "New order", "orders", v)
		return
	} else if err != nil {
		s.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/orders/"+strconv.FormatInt(res.OrderID, 10), http.StatusSeeOther)
}

// handleAPINewOrder creates an order by hand: POST /api/v1/orders with
// {"buyer": {"email", "name"}, "products": [ids], "note", "send_receipt"}.
func (s *Server) handleAPINewOrder(w http.ResponseWriter, r *http.Request) {
	var req ledger.ManualOrder
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		s.apiError(w, r, vend.Errorf(vend.EINVALID, "The body must be a JSON order: {\"buyer\": {\"email\": …}, \"products\": […]}."))
		return
	}
	actor, _ := adminActor(r.Context())
	res, err := s.Ledger.CreateOrder(context.WithoutCancel(r.Context()), actor, req)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	r.SetPathValue("id", strconv.FormatInt(res.OrderID, 10))
	s.handleAPIOrder(w, r)
}
