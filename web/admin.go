package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// apiError writes err in the API's error shape with a stable code. What
// failed inside vend is logged, not shown.
func (s *Server) apiError(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := vend.HTTPStatus(err), "Internal error."
	if status != http.StatusInternalServerError {
		msg = vend.ErrorMessage(err)
	} else if r.Context().Err() == nil {
		s.Logger.ErrorContext(r.Context(), "api request failed", "route", r.Pattern, "error", err)
	}
	authAPIError(w, status, vend.ErrorCode(err), msg)
}

func apiJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, v)
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

// findByPathID reads the record that the request's {id} names with find; an
// id that is not a number is not found either.
func findByPathID[T any](s *Server, r *http.Request, what string, find func(store.Tx, context.Context, int64) (T, error)) (T, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		var none T
		return none, vend.Errorf(vend.ENOTFOUND, "No such %s.", what)
	}
	return viewOne(r.Context(), s.DB, func(tx store.Tx) (T, error) { return find(tx, r.Context(), id) })
}

// viewOne answers what read finds in a read transaction.
func viewOne[T any](ctx context.Context, db store.DB, read func(store.Tx) (T, error)) (T, error) {
	var v T
	err := db.View(ctx, func(tx store.Tx) error {
		var err error
		v, err = read(tx)
		return err
	})
	return v, err
}

// decodeAPIBody reads a JSON body of at most 64 KiB into v; unknown fields
// are refused, so a misspelt one is not silently ignored. An empty body is
// an empty object.
func decodeAPIBody(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return vend.Errorf(vend.EINVALID, "The body is not the JSON object this call takes: %v.", err)
	}
	return nil
}

func apiInt(s string, def int) (int, error) {
	if s == "" {
		return def, nil
	}
	return strconv.Atoi(s)
}

func apiBool(s string) (bool, error) {
	if s == "" {
		return false, nil
	}
	return strconv.ParseBool(s)
}

// authAPIError writes the API's error shape: {"error":{"code":…,"message":…}}.
func authAPIError(w http.ResponseWriter, status int, code, msg string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

// adminView is what the admin layout needs from every admin page: embed it in
// the page's view struct and fill it with newAdminView.
type adminView struct {
	Title   string
	Nav     string // the menu entry to mark: dashboard, orders, products, notifications, audit
	User    string // who is signed in; "" hides the menu (login and setup pages)
	Refresh int    // seconds; 0: no automatic refresh
	Flash   string // what the last action did (flashes)
}

// newAdminView fills the layout's fields for a page behind requireAdmin.
func newAdminView(r *http.Request, title, nav string) adminView {
	q := r.URL.Query()
	v := adminView{Title: title, Nav: nav, Flash: flashes[q.Get("done")]}
	if q.Get("done") == "keys" { // how many the upload added, and gave to waiting buyers
		added, _ := strconv.Atoi(q.Get("added"))
		assigned, _ := strconv.Atoi(q.Get("assigned"))
		v.Flash = fmt.Sprintf("%d licence %s added; %d given to buyers who were waiting.", added, plural(added, "key", "keys"), assigned)
	}
	if id, _ := r.Context().Value(adminKey{}).(*adminIdentity); id != nil {
		v.User = id.user
	}
	return v
}

// audit writes an audit entry for the administrator of the request, inside the
// handler's write transaction, so the change and its record commit together:
//
//	err := s.DB.Update(ctx, func(tx store.Tx) error {
//		… change the grant …
//		return s.audit(ctx, tx, "grant.revoke", vend.OrderTarget(g.OrderID), before, g)
//	})
func (s *Server) audit(ctx context.Context, tx store.Tx, action, target string, before, after any) error {
	actor, _ := adminActor(ctx)
	if actor == "" {
		return fmt.Errorf("web: audit %s %s: no administrator in the request (route without requireAdmin?)", action, target)
	}
	return store.RecordAudit(ctx, tx, actor, action, target, before, after)
}

// adminPage is what an admin page renders: the layout's fields and the page's.
type adminPage struct {
	adminView
	Data any
}

func (s *Server) renderAdmin(w http.ResponseWriter, r *http.Request, status int, page, title, nav string, data any) {
	s.render(w, r, status, page, adminPage{newAdminView(r, title, nav), data})
}
