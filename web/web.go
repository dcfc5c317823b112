// Package web is vend's HTTP adapter: the providers' endpoints, the buyers'
// pages, the admin's pages and JSON API, and operations endpoints. routes.go
// is the one route table, with the admin group behind sign-in; handlers read
// the request, call the packages below (intake, ledger, catalog, report,
// account, delivery) and return their failure, which page or api turns into
// the answer by the one table of vend.HTTPStatus.
package web

import (
	"bytes"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/blob"
	"github.com/vend-shop/vend/delivery"
	"github.com/vend-shop/vend/intake"
	"github.com/vend-shop/vend/ledger"
	"github.com/vend-shop/vend/license"
	"github.com/vend-shop/vend/mailer"
	"github.com/vend-shop/vend/store"
)

//go:embed templates
var templateFS embed.FS

// DefaultReturnWindow is how long after payment the return page shows download links.
const DefaultReturnWindow = 72 * time.Hour

// Server holds what the handlers need. Fill the exported fields, then call New.
type Server struct {
	DB       store.DB
	Ledger   *ledger.Ledger
	Delivery *delivery.Service
	// Blobs is where the admin's uploads go.
	Blobs blob.Store
	// Intake takes the providers' messages.
	Intake  *intake.Intake
	BaseURL string
	// LegacyLinks serves /cgi-bin/download.cgi links of the old scripts.
	LegacyLinks  bool
	ReturnWindow time.Duration
	// IPNRate and IPNBurst budget provider requests per client address.
	IPNRate, IPNBurst int
	// TrustedProxies are the proxies in front of vend whose X-Forwarded-For
	// names the client (see clientAddr).
	TrustedProxies []netip.Prefix
	// Demo, if set, mounts the demo store under /demo.
	Demo *Demo
	// Shop is the seller's name, contact, website and logo on the buyer pages.
	Shop Shop
	// Mailbox is where mail goes instead of out (smtp.url "mailbox:"), shown
	// under /admin/mailbox; nil when mail goes out or there is none.
	Mailbox *mailer.Mailbox
	// Licenses answers the public licence API (/v1/licenses/…); nil: the
	// API answers 404. LicensePerMinute and LicenseBurst budget it per
	// client address (defaults: DefaultLicensePerMinute, DefaultLicenseBurst).
	Licenses                       *license.Service
	LicensePerMinute, LicenseBurst int
	// Metrics counts refusals by budget (package metrics); nil counts
	// nothing. MetricsHandler answers /metrics on this listener for a
	// bearer MetricsToken; nil (or no token) leaves /metrics out.
	Metrics        Metrics
	MetricsHandler http.Handler
	MetricsToken   string

	Logger *slog.Logger
	Now    func() time.Time

	pages   map[string]*template.Template
	csp     string // the pages' Content-Security-Policy
	mux     *http.ServeMux
	limiter clientLimiter
	// linkFailures budgets refused WEBSALE links per client address;
	// linksPerEmail and linksPerIP the resend page.
	linkFailures              clientLimiter
	linksPerEmail, linksPerIP clientLimiter
	licenseLimiter            clientLimiter // the licence API, per client address
	// returning is the provider buyers return from (ProviderInfo.Returns).
	returning string
	postbacks chan struct{}
	admin     adminAuth // sign-in budgets, cross-origin check (sessions.go)
}

// Metrics is what web reports: a request a budget refused, by the budget's
// name (provider, link, links, license, login).
type Metrics interface {
	Refused(budget string)
}

// metricsAuth lets through only a request with "Authorization: Bearer"
// and MetricsToken, compared in constant time; others get 401.
func (s *Server) metricsAuth(h http.Handler) http.Handler {
	want := []byte("Bearer " + s.MetricsToken)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="vend metrics"`)
			http.Error(w, "metrics need the bearer token (metrics.token)", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// refused reports a refusal by budget to Metrics.
func (s *Server) refused(budget string) {
	if s.Metrics != nil {
		s.Metrics.Refused(budget)
	}
}

var pageNames = []string{"download", "message", "home", "links", "demo-store", "demo-checkout"}

// Init parses the templates and builds the routes. It fails if a page is missing.
func (s *Server) Init() error {
	if s.DB == nil || s.Ledger == nil || s.Delivery == nil || s.Blobs == nil || s.Intake == nil {
		return errors.New("web: Server needs DB, Ledger, Delivery, Blobs and Intake")
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.ReturnWindow <= 0 {
		s.ReturnWindow = DefaultReturnWindow
	}
	for _, p := range s.Intake.Providers {
		if p.Info().Returns {
			s.returning = p.Info().Name
		}
	}
	s.postbacks = make(chan struct{}, maxPostbacks)
	if s.IPNRate <= 0 {
		s.IPNRate = DefaultIPNRate
	}
	if s.IPNBurst <= 0 {
		s.IPNBurst = DefaultIPNBurst
	}
	s.limiter.rate, s.limiter.burst = rate.Limit(s.IPNRate), s.IPNBurst
	s.linkFailures.rate, s.linkFailures.burst = rate.Every(linkFailureEvery), linkFailureBurst
	if s.LicensePerMinute <= 0 {
		s.LicensePerMinute = DefaultLicensePerMinute
	}
	if s.LicenseBurst <= 0 {
		s.LicenseBurst = DefaultLicenseBurst
	}
	s.licenseLimiter.rate, s.licenseLimiter.burst = rate.Limit(float64(s.LicensePerMinute)/60), s.LicenseBurst
	s.initLinks()
	if s.Shop.Name == "" {
		s.Shop.Name = "vend"
	}
	s.csp = contentSecurityPolicy(s.Shop.Logo)
	s.pages = map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return fmt.Errorf("web: page %s: %w", name, err)
		}
		s.pages[name] = t
	}
	if err := s.initAdmin(); err != nil {
		return err
	}
	s.mux = s.mount()
	return nil
}

var funcs = template.FuncMap{"bytes": humanBytes}

// ServeHTTP serves a request with security headers and a log line that names the
// route pattern, never the path: paths carry download tokens.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := s.Now()
	h := w.Header()
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	s.clientAddr(r)
	s.mux.ServeHTTP(sw, r)
	pattern := r.Pattern
	if pattern == "" {
		pattern = "(no route)"
	}
	if s.Logger.Enabled(r.Context(), slog.LevelDebug) { // spare the hot path the boxing
		s.Logger.DebugContext(r.Context(), "request", "route", pattern, "status", sw.status, "duration", s.Now().Sub(start))
	}
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	err := s.DB.View(r.Context(), func(tx store.Tx) error {
		_, err := tx.FindNotifications(r.Context(), store.NotificationFilter{Limit: 1})
		return err
	})
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err != nil {
		s.Logger.Error("health check", "error", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "database unavailable")
		return
	}
	fmt.Fprintln(w, "ok")
}

func (s *Server) handleHome(w http.ResponseWriter, r *http.Request) error {
	if p := s.linkProvider(); p != nil && r.URL.Query().Has("dldata") { // WEBSALE's links point at the site's root
		s.limitAddr(s.handleLink(p))(w, r)
		return nil
	}
	v := s.buyerView(pageLang(r, ""), "")
	v.Title = v.Shop.Name
	s.render(w, r, http.StatusOK, "home", struct {
		view
		Demo bool
	}{v, s.Demo != nil})
	return nil
}

// render executes a page into a buffer first, so a template error becomes a clean
// 500 instead of half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page string, data any) {
	var buf bytes.Buffer
	if err := s.pages[page].ExecuteTemplate(&buf, "layout", data); err != nil {
		s.Logger.ErrorContext(r.Context(), "render page", "page", page, "error", err)
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", s.csp)
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// message is a page of plain paragraphs and optional links.
type message struct {
	view
	Paragraphs []string
	Links      []link
}

type link struct{ URL, Text string }

// Error writes err as a message page: the public message for vend errors, "Internal
// error." (and a log line) for anything else. Outside the admin, a page that
// refuses (a bad link, an unknown path, a used-up download) offers the resend
// page and the seller's address, in the buyer's language.
func (s *Server) Error(w http.ResponseWriter, r *http.Request, err error) {
	status := vend.HTTPStatus(err)
	if status == http.StatusInternalServerError {
		s.Logger.ErrorContext(r.Context(), "request failed", "route", r.Pattern, "error", err)
	}
	title := "Something went wrong"
	if status == http.StatusNotFound {
		title = "Not found"
	}
	v := s.buyerView(pageLang(r, ""), title)
	v.Help = status >= 400 && status < 500 && !strings.HasPrefix(r.URL.Path, "/admin")
	s.render(w, r, status, "message", message{view: v, Paragraphs: []string{v.T(vend.ErrorMessage(err))}})
}

//go:embed static/favicon.svg
var favicon []byte

// handleFavicon serves the icon browsers ask for at /favicon.ico; an SVG,
// which every current browser takes whatever the name says.
func handleFavicon(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "image/svg+xml")
	h.Set("Cache-Control", "public, max-age=86400")
	h.Set("X-Content-Type-Options", "nosniff")
	w.Write(favicon)
}

// contentSecurityPolicy allows what the pages use: inline styles, images
// from vend and the shop's logo, forms that post to vend.
func contentSecurityPolicy(logo string) string {
	img := "'self'"
	if u, err := url.Parse(logo); err == nil && u.Scheme == "https" && u.Host != "" {
		img += " https://" + u.Host
	}
	return "default-src 'none'; style-src 'unsafe-inline'; img-src " + img + "; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
}

// maxFormBytes bounds the body of every page and API request but uploads:
// forms and JSON documents are small.
const maxFormBytes = 64 << 10

// page adapts a handler of a page: the request's body is read first (at most
// maxFormBytes, within bodyTimeout), and an error becomes the message page
// (Error).
func (s *Server) page(h handlerFunc) http.HandlerFunc { return s.adapt(s.Error, bounded(h)) }

// api adapts a handler of the JSON API like page: an error becomes the API's
// error shape (apiError).
func (s *Server) api(h handlerFunc) http.HandlerFunc { return s.adapt(s.apiError, bounded(h)) }

// pageStream and apiStream adapt a handler that streams a large body itself
// (an upload): it sets its own limits.
func (s *Server) pageStream(h handlerFunc) http.HandlerFunc { return s.adapt(s.Error, h) }
func (s *Server) apiStream(h handlerFunc) http.HandlerFunc  { return s.adapt(s.apiError, h) }

func (s *Server) adapt(fail func(http.ResponseWriter, *http.Request, error), h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			fail(w, r, err)
		}
	}
}

// bounded reads a request's body before h runs, so h never waits on a slow
// client nor reads more than maxFormBytes.
func bounded(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			body, err := readBody(w, r, maxFormBytes)
			if err != nil {
				return err
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		return h(w, r)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// ReadFrom keeps sendfile working through this wrapper.
func (w *statusWriter) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{w.ResponseWriter}, r)
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
