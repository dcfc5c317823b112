package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/catalog"
	"github.com/vend-shop/vend/report"
	"github.com/vend-shop/vend/store"
)

// adminAPIRoutes adds the API for products, releases, notifications, mail of
// links, exports, statistics and the audit trail: the admin pages' operations
// for scripts (docs/api.md). Orders and grants are in admin_actions.go.
func (s *Server) adminAPIRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /api/v1/products", s.requireAdmin(s.handleAPIProducts))
	m.HandleFunc("POST /api/v1/products", s.requireAdmin(s.handleAPISaveProduct))
	m.HandleFunc("GET /api/v1/products/{id}", s.requireAdmin(s.handleAPIProduct))
	m.HandleFunc("POST /api/v1/products/{id}", s.requireAdmin(s.handleAPISaveProduct))
	m.HandleFunc("PUT /api/v1/products/{id}/files/{name}", s.requireAdmin(s.handleAPIUpload))
	m.HandleFunc("POST /api/v1/products/{id}/files/{file}/{action}", s.requireAdmin(s.handleAPIFile))
	m.HandleFunc("POST /api/v1/products/{id}/releases", s.requireAdmin(s.handleAPIStartRelease))
	m.HandleFunc("GET /api/v1/releases/{id}", s.requireAdmin(s.handleAPIRelease))
	m.HandleFunc("GET /api/v1/notifications", s.requireAdmin(s.handleAPINotifications))
	m.HandleFunc("GET /api/v1/notifications/{id}", s.requireAdmin(s.handleAPINotification))
	m.HandleFunc("POST /api/v1/notifications/{id}/replay", s.requireAdmin(s.handleAPIReplay))
	m.HandleFunc("POST /api/v1/grants/{id}/links", s.requireAdmin(s.handleAPISendLinks))
	m.HandleFunc("GET /api/v1/export/orders.csv", s.requireAdmin(s.handleExport(report.ExportOrders, s.apiError)))
	m.HandleFunc("GET /api/v1/export/transactions.csv", s.requireAdmin(s.handleExport(report.ExportTransactions, s.apiError)))
	m.HandleFunc("GET /api/v1/export/attempts.csv", s.requireAdmin(s.handleExport(report.ExportAttempts, s.apiError)))
	m.HandleFunc("GET /api/v1/stats", s.requireAdmin(s.handleAPIStats))
	m.HandleFunc("GET /api/v1/audit", s.requireAdmin(s.handleAPIAudit))
}

// ---- products ----

func (s *Server) handleAPIProducts(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var products []*vend.Product
	err := s.DB.View(ctx, func(tx store.Tx) error {
		var err error
		products, err = tx.FindProducts(ctx)
		return err
	})
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	if products == nil {
		products = []*vend.Product{}
	}
	apiJSON(w, map[string]any{"products": products})
}

// handleAPIProduct answers a product with every file version it had.
func (s *Server) handleAPIProduct(w http.ResponseWriter, r *http.Request) {
	s.answerProduct(w, r, r.PathValue("id"))
}

func (s *Server) answerProduct(w http.ResponseWriter, r *http.Request, id string) {
	v, err := s.productView(r.Context(), id)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	versions := make([]*vend.File, len(v.Versions))
	for i, f := range v.Versions {
		versions[i] = f.File
	}
	apiJSON(w, map[string]any{"product": v.Product, "versions": versions})
}

// handleAPISaveProduct creates a product (POST /api/v1/products, with "id")
// or changes the fields a body names (POST /api/v1/products/{id}). Fields
// are written as in the admin's form: {"price": "19.95", "download_limit":
// "unlimited", "lifetime": "30d"}.
func (s *Server) handleAPISaveProduct(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var body struct {
		ID string `json:"id"`
		catalog.Fields
	}
	if err := decodeAPIBody(w, r, &body); err != nil {
		s.apiError(w, r, err)
		return
	}
	ctx = context.WithoutCancel(ctx)
	actor, _ := adminActor(ctx)
	var p *vend.Product
	var err error
	if id := r.PathValue("id"); id != "" {
		if body.ID != "" && body.ID != id {
			err = vend.Errorf(vend.EINVALID, "A product's id does not change (%s).", id)
		} else {
			p, err = catalog.EditProduct(ctx, s.DB, actor, id, body.Fields)
		}
	} else {
		p = catalog.NewProduct(body.ID)
		if err = body.Fields.Apply(p); err == nil {
			err = catalog.CreateProduct(ctx, s.DB, actor, p)
		}
	}
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	s.answerProduct(w, r, p.ID)
}

// handleAPIUpload streams the request body into storage as the file {name}
// and adds it to the product's files, or with ?replace=true makes it the only
// one. `curl -T book.pdf …/files/` names the file for you.
func (s *Server) handleAPIUpload(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	replace, err := apiBool(r.URL.Query().Get("replace"))
	if err != nil {
		s.apiError(w, r, vend.Errorf(vend.EINVALID, "replace: true or false."))
		return
	}
	name := r.PathValue("name")
	if !plainFileName(name) {
		s.apiError(w, r, vend.Errorf(vend.EINVALID, "The file name must be a plain name of at most 255 bytes, like book.pdf."))
		return
	}
	// Refuse before reading gigabytes for a product that is not there.
	if _, err := s.findProduct(ctx, id); err != nil {
		s.apiError(w, r, err)
		return
	}
	_ = http.NewResponseController(w).SetReadDeadline(time.Time{}) // as the admin's upload
	info, err := s.Blobs.Put(ctx, r.Body)
	var tooBig *http.MaxBytesError
	if err != nil && (ctx.Err() != nil || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &tooBig)) {
		err = vend.Errorf(vend.EINVALID, "The upload broke off.")
	}
	if err != nil {
		s.apiError(w, r, err) // storage's own failure: a logged 500
		return
	}
	f := &vend.File{Name: name, Key: info.Key, Size: info.Size, SHA256: info.SHA256}
	actor, _ := adminActor(ctx)
	if err := catalog.AddFile(context.WithoutCancel(ctx), s.DB, actor, id, f, replace); err != nil {
		s.apiError(w, r, err)
		return
	}
	s.answerProduct(w, r, id)
}

// handleAPIFile retires a current file or restores an earlier version.
func (s *Server) handleAPIFile(w http.ResponseWriter, r *http.Request) {
	if err := s.changeFile(r); err != nil {
		s.apiError(w, r, err)
		return
	}
	s.answerProduct(w, r, r.PathValue("id"))
}

// ---- releases ----

// handleAPIStartRelease starts a new-version release of a product: POST
// /api/v1/products/{id}/releases with {"version", "notify", "reset_limits"}.
// It runs in the background; GET /api/v1/releases/{id} follows it.
func (s *Server) handleAPIStartRelease(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Version string `json:"version"`
		Notify  bool   `json:"notify"`
		Reset   bool   `json:"reset_limits"`
	}
	if err := decodeAPIBody(w, r, &body); err != nil {
		s.apiError(w, r, err)
		return
	}
	actor, _ := adminActor(r.Context())
	rel, err := s.Ledger.StartRelease(context.WithoutCancel(r.Context()), actor, r.PathValue("id"), body.Version, body.Notify, body.Reset)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	s.runRelease(rel.ID)
	w.Header().Set("Location", "/api/v1/releases/"+strconv.FormatInt(rel.ID, 10))
	apiJSON(w, rel)
}

func (s *Server) handleAPIRelease(w http.ResponseWriter, r *http.Request) {
	rel, err := findByPathID(s, r, "release", store.Tx.FindRelease)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	apiJSON(w, rel)
}

// ---- notifications ----

// handleAPINotifications lists notifications, newest first, with the log's
// filters: provider, verdict, order, before and limit.
func (s *Server) handleAPINotifications(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	f, err := notificationFilter(r.URL.Query())
	if err == nil {
		f.Limit, err = apiLimit(r.URL.Query().Get("limit"))
	}
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	notes, err := viewOne(ctx, s.DB, func(tx store.Tx) ([]*vend.Notification, error) { return tx.FindNotifications(ctx, f) })
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	out := struct {
		Notifications []*vend.Notification `json:"notifications"`
		NextBefore    int64                `json:"next_before,omitempty"`
	}{Notifications: notes}
	if out.Notifications == nil {
		out.Notifications = []*vend.Notification{}
	}
	if len(notes) == f.Limit {
		out.NextBefore = notes[len(notes)-1].ID
	}
	apiJSON(w, out)
}

func (s *Server) handleAPINotification(w http.ResponseWriter, r *http.Request) {
	n, err := findByPathID(s, r, "notification", store.Tx.FindNotificationByID)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	apiJSON(w, n)
}

// handleAPIReplay replays a stored notification (see intake.Replay) and answers the
// new notification it made.
func (s *Server) handleAPIReplay(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.apiError(w, r, vend.Errorf(vend.ENOTFOUND, "No such notification."))
		return
	}
	actor, _ := adminActor(r.Context())
	n, err := s.Intake.Replay(context.WithoutCancel(r.Context()), id, actor)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	apiJSON(w, n)
}

// ---- links, statistics, audit ----

// handleAPISendLinks mails the grant's buyer fresh links, as the order page's
// button does, and answers {"order": id, "to": email}.
func (s *Server) handleAPISendLinks(w http.ResponseWriter, r *http.Request) {
	o, err := s.sendLinks(r.Context(), r.PathValue("id"))
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	apiJSON(w, map[string]any{"order": o.ID, "to": o.Buyer.Email})
}

// handleAPIStats answers the report of `vend stats`: days (30), top (10) and
// sort (attempts, downloads, last, email) as parameters.
func (s *Server) handleAPIStats(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	days, err := apiInt(q.Get("days"), 30)
	if err != nil {
		s.apiError(w, r, vend.Errorf(vend.EINVALID, "days: a number."))
		return
	}
	top, err := apiInt(q.Get("top"), 10)
	if err != nil {
		s.apiError(w, r, vend.Errorf(vend.EINVALID, "top: a number."))
		return
	}
	stats, err := report.Stats(r.Context(), s.DB, s.Now(), days, top, q.Get("sort"))
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	apiJSON(w, stats)
}

// handleAPIAudit answers the audit trail, newest first: target ("order:7")
// and limit.
func (s *Server) handleAPIAudit(w http.ResponseWriter, r *http.Request) {
	f := store.AuditFilter{Target: strings.TrimSpace(r.URL.Query().Get("target"))}
	var err error
	if f.Limit, err = apiLimit(r.URL.Query().Get("limit")); err != nil {
		s.apiError(w, r, err)
		return
	}
	var entries []*vend.AuditEntry
	err = s.DB.View(r.Context(), func(tx store.Tx) error {
		var err error
		entries, err = tx.FindAuditEntries(r.Context(), f)
		return err
	})
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	if entries == nil {
		entries = []*vend.AuditEntry{}
	}
	apiJSON(w, map[string]any{"entries": entries})
}

// ---- helpers ----

// plainFileName reports whether name can be shown to buyers as a file's
// name: valid UTF-8, no path, no control characters, at most 255 bytes.
func plainFileName(name string) bool {
	if name == "" || name == "." || name == ".." || len(name) > 255 || !utf8.ValidString(name) || strings.ContainsAny(name, `/\`) {
		return false
	}
	return !strings.ContainsFunc(name, unicode.IsControl)
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
