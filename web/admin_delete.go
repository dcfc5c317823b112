package web

import (
	"context"
	"net/http"

	"github.com/vend-shop/vend"
)

// adminDeleteRoutes adds deleting an order: a confirmation page, then the post.
func (s *Server) adminDeleteRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /admin/orders/{id}/delete", s.requireAdmin(s.handleDeleteForm))
	m.HandleFunc("POST /admin/orders/{id}/delete", s.requireAdmin(s.handleDeleteOrder))
	m.HandleFunc("DELETE /api/v1/orders/{id}", s.requireAdmin(s.handleAPIDeleteOrder))
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
