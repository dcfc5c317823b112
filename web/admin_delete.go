package web

import (
	"context"
	"net/http"

	"github.com/vend-shop/vend"
)

// adminDeleteRoutes adds what ends a whole order: deleting it (a
// confirmation page, then the post) and recording a refund made outside vend.
func (s *Server) adminDeleteRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /admin/orders/{id}/delete", s.requireAdmin(s.handleDeleteForm))
	m.HandleFunc("POST /admin/orders/{id}/delete", s.requireAdmin(s.handleDeleteOrder))
	m.HandleFunc("DELETE /api/v1/orders/{id}", s.requireAdmin(s.handleAPIDeleteOrder))
	m.HandleFunc("POST /admin/orders/{id}/refund", s.requireAdmin(s.handleRefundOrder))
	m.HandleFunc("POST /api/v1/orders/{id}/refund", s.requireAdmin(s.handleAPIRefundOrder))
}

// handleRefundOrder marks an order refunded (ledger.RefundOrder) with the
// form's note; the order page shows the result.
func (s *Server) handleRefundOrder(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxAdminFormBytes)
	id, err := orderID(r)
	if err == nil && r.PostFormValue("confirm") != "yes" {
		err = vend.Errorf(vend.EINVALID, "Tick the box to confirm the refund.")
	}
	if err == nil {
		actor, _ := adminActor(r.Context())
		_, err = s.Ledger.RefundOrder(context.WithoutCancel(r.Context()), actor, id, r.PostFormValue("note"))
	}
	if err != nil {
		s.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/orders/"+r.PathValue("id"), http.StatusSeeOther)
}

// handleAPIRefundOrder: POST /api/v1/orders/{id}/refund with {"note": …}.
func (s *Server) handleAPIRefundOrder(w http.ResponseWriter, r *http.Request) {
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
		s.apiError(w, r, err)
		return
	}
	s.handleAPIOrder(w, r)
}

// handleDeleteForm asks before deleting: what the order is, and that its
// buyer's downloads end.
func (s *Server) handleDeleteForm(w http.ResponseWriter, r *http.Request) {
	id, err := orderID(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	v, err := s.orderDetail(r.Context(), id)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	s.renderAdmin(w, r, http.StatusOK, "admin-order-delete", "Delete order "+r.PathValue("id"), "orders", v)
}

func (s *Server) handleDeleteOrder(w http.ResponseWriter, r *http.Request) {
	id, err := orderID(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	if r.PostFormValue("confirm") != "yes" {
		s.Error(w, r, vend.Errorf(vend.EINVALID, "Confirm the deletion on its page."))
		return
	}
	actor, _ := adminActor(r.Context())
	if _, err := s.Ledger.DeleteOrder(context.WithoutCancel(r.Context()), actor, id); err != nil {
		s.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/orders", http.StatusSeeOther)
}

// handleAPIDeleteOrder deletes an order: DELETE /api/v1/orders/{id}.
func (s *Server) handleAPIDeleteOrder(w http.ResponseWriter, r *http.Request) {
	id, err := orderID(r)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	actor, _ := adminActor(r.Context())
	if _, err := s.Ledger.DeleteOrder(context.WithoutCancel(r.Context()), actor, id); err != nil {
		s.apiError(w, r, err)
		return
	}
	s.handleAPIOrder(w, r)
}
