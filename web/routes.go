package web

import (
	"net/http"
	"strings"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/delivery"
	"github.com/vend-shop/vend/report"
)

// route is one line of the route table: a ServeMux pattern and its handler.
type route struct {
	pattern string
	handler http.Handler
}

// publicAdmin are the only /admin and /api/ routes open without signing in:
// signing in itself, and the first user's setup link.
var publicAdmin = []string{
	"GET /admin/login", "POST /admin/login", "POST /admin/logout",
	"GET /admin/setup", "POST /admin/setup",
}

// routes is the route table: every pattern vend serves. The admin group
// (pages under /admin, the JSON API under /api/v1) is behind sign-in and the
// cross-origin check as a whole (requireAdmin), and so is every other path
// under /admin/ and /api/, which answers 404 only to an administrator: denied
// by default. Everything else is public: the providers' endpoints, the
// buyers' pages, the sign-in pages (publicAdmin), operations and the demo.
func (s *Server) routes() (public, admin []route) {
	add := func(list *[]route, pattern string, h http.Handler) {
		*list = append(*list, route{pattern, h})
	}
	pub := func(pattern string, h http.Handler) { add(&public, pattern, h) }
	adm := func(pattern string, h http.Handler) { add(&admin, pattern, h) }

	// Providers, from the registry: each at its path (ProviderInfo).
	for _, p := range s.Intake.Providers {
		info := p.Info()
		switch {
		case info.Link:
			pub("GET "+info.Path, s.limitAddr(s.handleLink(p)))
		default:
			pub("POST "+info.Path, s.limitAddr(s.handleMessage(p)))
		}
		if info.Probe {
			pub("GET "+info.Path, handleProbe(p))
		}
	}

	// Software asking about its licence key (Lemon Squeezy's License API).
	if s.Licenses != nil {
		l := licenseAPI{s}
		for _, op := range []struct {
			name string
			op   licenseOp
		}{{"activate", l.activate()}, {"validate", l.validate()}, {"deactivate", l.deactivate()}} {
			pub("POST /v1/licenses/"+op.name, l.handle(op.op))
			pub("OPTIONS /v1/licenses/"+op.name, http.HandlerFunc(handlePreflight))
		}
		pub("GET /.well-known/vend-license-key.pem", http.HandlerFunc(l.handlePublicKey))
	}

	// Operations: the self-test's file through nginx (x-accel), and
	// Prometheus metrics for the bearer of MetricsToken.
	pub("GET "+delivery.SelfTestPath, http.HandlerFunc(s.Delivery.ServeCanary))
	if s.MetricsHandler != nil && s.MetricsToken != "" {
		pub("GET /metrics", s.metricsAuth(s.MetricsHandler))
	}

	// Buyers.
	b := buyerPages{s}
	pub("GET /{$}", s.page(s.handleHome))
	pub("GET /d/{token}", s.page(b.handleDownloadPage))
	pub("GET /d/{token}/{file}/{name}", s.page(b.handleFile))
	pub("HEAD /d/{token}/{file}/{name}", s.page(b.handleFile))
	// The page's download buttons post here and are sent on to the file: link
	// scanners follow links, they do not press buttons.
	pub("POST /d/{token}/{file}/{name}", http.HandlerFunc(handleFileButton))
	pub("GET /d/{token}/licenses/{id}/{name}", s.page(b.handleSignedLicense))
	pub("GET /links", s.page(b.handleLinksForm))
	pub("POST /links", http.NewCrossOriginProtection().Handler(s.page(b.handleLinks)))
	pub("GET /return", s.page(b.handleReturn))
	pub("POST /return", s.page(b.handleReturn)) // PayPal's rm=2 returns by POST
	pub("GET /cgi-bin/download.cgi", s.page(b.handleLegacy))
	pub("HEAD /cgi-bin/download.cgi", s.page(b.handleLegacy))
	pub("GET /favicon.ico", http.HandlerFunc(handleFavicon))
	pub("/", s.page(s.unrouted)) // every other path: the 404 page, or 405

	// Signing in, and the first user's setup link (publicAdmin).
	a := accountPages{s}
	pub("GET /admin/login", s.page(a.handleLoginForm))
	pub("POST /admin/login", s.crossOriginCheck(s.page(a.handleLogin)))
	pub("POST /admin/logout", s.crossOriginCheck(s.page(a.handleLogout)))
	pub("GET /admin/setup", s.page(a.handleSetupForm))
	pub("POST /admin/setup", s.crossOriginCheck(s.page(a.handleSetup)))

	// The admin's pages.
	o, p, n, r := orderAdmin{s}, productAdmin{s}, notificationAdmin{s}, reportAdmin{s}
	adm("GET /admin", s.page(r.handleAdminDashboard))
	adm("GET /admin/orders", s.page(o.handleAdminOrders))
	adm("GET /admin/orders/new", s.page(o.handleNewOrderForm))
	adm("POST /admin/orders/new", s.page(o.handleNewOrder))
	adm("GET /admin/orders/{id}", s.page(o.handleAdminOrder))
	adm("POST /admin/orders/{id}/buyer", s.page(o.handleAdminEditBuyer))
	adm("POST /admin/orders/{id}/refund", s.page(o.handleRefundOrder))
	adm("GET /admin/orders/{id}/delete", s.page(o.handleDeleteForm))
	adm("GET /admin/orders/{id}/evidence.zip", s.page(o.handleEvidence))
	adm("POST /admin/orders/{id}/delete", s.page(o.handleDeleteOrder))
	adm("POST /admin/grants/{id}/links", s.page(o.handleAdminSendLinks))
	adm("POST /admin/grants/{id}/{action}", s.page(o.handleAdminGrant))
	adm("GET /admin/products", s.page(p.handleAdminProducts))
	adm("GET /admin/products/new", s.page(p.handleAdminProductForm))
	adm("POST /admin/products/new", s.page(p.handleAdminProductSave))
	adm("GET /admin/products/{id}", s.page(p.handleAdminProductForm))
	adm("POST /admin/products/{id}", s.page(p.handleAdminProductSave))
	adm("POST /admin/products/{id}/files", s.pageStream(p.handleAdminUpload))
	adm("POST /admin/products/{id}/license-keys", s.pageStream(p.handleAdminKeys))
	adm("POST /admin/products/{id}/archive", s.page(p.handleAdminArchive(true)))
	adm("POST /admin/products/{id}/unarchive", s.page(p.handleAdminArchive(false)))
	adm("POST /admin/products/{id}/files/{file}/{action}", s.page(p.handleAdminFile))
	adm("GET /admin/products/{id}/release", s.page(p.handleReleaseForm))
	adm("POST /admin/products/{id}/release", s.page(p.handleRelease))
	adm("GET /admin/releases/{id}", s.page(p.handleReleaseProgress))
	adm("GET /admin/notifications", s.page(n.handleAdminNotifications))
	adm("GET /admin/notifications/{id}", s.page(n.handleAdminNotification))
	adm("POST /admin/notifications/{id}/replay", s.page(n.handleAdminReplay))
	adm("POST /admin/notifications/{id}/dismiss", s.page(n.handleAdminDismiss))
	adm("GET /admin/counters", s.page(r.handleAdminCounters))
	adm("GET /admin/export/orders.csv", s.page(r.handleExport(report.ExportOrders)))
	adm("GET /admin/export/transactions.csv", s.page(r.handleExport(report.ExportTransactions)))
	adm("GET /admin/export/attempts.csv", s.page(r.handleExport(report.ExportAttempts)))
	adm("GET /admin/audit", s.page(r.handleAudit))
	la := licenseAdmin{s}
	adm("GET /admin/licenses", s.page(la.handleAdminLicenses))
	adm("GET /admin/licenses/{id}", s.page(la.handleAdminLicense))
	adm("POST /admin/licenses/{id}/{action}", s.page(la.handleAdminLicenseAction))
	wh := webhookAdmin{s}
	adm("GET /admin/webhooks", s.page(wh.handleList))
	adm("POST /admin/webhooks", s.page(wh.handleCreate))
	adm("GET /admin/webhooks/{id}", s.page(wh.handleEndpoint))
	adm("POST /admin/webhooks/{id}", s.page(wh.handleEdit))
	adm("POST /admin/webhooks/{id}/{action}", s.page(wh.handleAction))
	adm("GET /admin/webhooks/{id}/deliveries/{delivery}", s.page(wh.handleDelivery))
	adm("POST /admin/webhooks/{id}/deliveries/{delivery}/replay", s.page(wh.handleReplay))
	mb := mailboxAdmin{s}
	adm("GET /admin/mailbox", s.page(mb.handleMailbox))
	adm("GET /admin/mailbox/{id}", s.page(mb.handleMailboxMessage))
	adm("GET /admin/mailbox/{id}/raw", s.page(mb.handleMailboxRaw))
	adm("/admin", s.page(s.unrouted))
	adm("/admin/", s.page(s.unrouted))

	// The JSON API (docs/api.md).
	adm("GET /api/v1/whoami", s.api(a.handleWhoami))
	adm("GET /api/v1/orders", s.api(o.handleAPIOrders))
	adm("POST /api/v1/orders", s.api(o.handleAPINewOrder))
	adm("GET /api/v1/orders/{id}", s.api(o.handleAPIOrder))
	adm("POST /api/v1/orders/{id}", s.api(o.handleAPIEditOrder))
	adm("DELETE /api/v1/orders/{id}", s.api(o.handleAPIDeleteOrder))
	adm("GET /api/v1/orders/{id}/evidence.zip", s.api(o.handleEvidence))
	adm("POST /api/v1/orders/{id}/refund", s.api(o.handleAPIRefundOrder))
	adm("POST /api/v1/grants/{id}/links", s.api(o.handleAPISendLinks))
	adm("POST /api/v1/grants/{id}/{action}", s.api(o.handleAPIGrant))
	adm("GET /api/v1/products", s.api(p.handleAPIProducts))
	adm("POST /api/v1/products", s.api(p.handleAPISaveProduct))
	adm("GET /api/v1/products/{id}", s.api(p.handleAPIProduct))
	adm("POST /api/v1/products/{id}", s.api(p.handleAPISaveProduct))
	adm("PUT /api/v1/products/{id}/files/{name}", s.apiStream(p.handleAPIUpload))
	adm("POST /api/v1/products/{id}/files/{file}/{action}", s.api(p.handleAPIFile))
	adm("POST /api/v1/products/{id}/releases", s.api(p.handleAPIStartRelease))
	adm("POST /api/v1/products/{id}/license-keys", s.apiStream(p.handleAPIKeys))
	adm("GET /api/v1/releases/{id}", s.api(p.handleAPIRelease))
	adm("GET /api/v1/licenses", s.api(la.handleAPILicenses))
	adm("GET /api/v1/licenses/{id}", s.api(la.handleAPILicense))
	adm("POST /api/v1/licenses/{id}/{action}", s.api(la.handleAPILicenseAction))
	adm("GET /api/v1/webhooks", s.api(wh.handleAPIList))
	adm("POST /api/v1/webhooks", s.api(wh.handleAPICreate))
	adm("GET /api/v1/webhooks/{id}", s.api(wh.handleAPIEndpoint))
	adm("POST /api/v1/webhooks/{id}", s.api(wh.handleAPIEdit))
	adm("DELETE /api/v1/webhooks/{id}", s.api(wh.handleAPIDelete))
	adm("POST /api/v1/webhooks/{id}/{action}", s.api(wh.handleAPIAction))
	adm("GET /api/v1/webhooks/{id}/deliveries", s.api(wh.handleAPIDeliveries))
	adm("GET /api/v1/webhooks/{id}/deliveries/{delivery}", s.api(wh.handleAPIDelivery))
	adm("POST /api/v1/webhooks/{id}/deliveries/{delivery}/replay", s.api(wh.handleAPIReplay))
	adm("GET /api/v1/notifications", s.api(n.handleAPINotifications))
	adm("GET /api/v1/notifications/{id}", s.api(n.handleAPINotification))
	adm("POST /api/v1/notifications/{id}/replay", s.api(n.handleAPIReplay))
	adm("GET /api/v1/export/orders.csv", s.api(r.handleExport(report.ExportOrders)))
	adm("GET /api/v1/export/transactions.csv", s.api(r.handleExport(report.ExportTransactions)))
	adm("GET /api/v1/export/attempts.csv", s.api(r.handleExport(report.ExportAttempts)))
	adm("GET /api/v1/stats", s.api(r.handleAPIStats))
	adm("GET /api/v1/audit", s.api(r.handleAPIAudit))
	adm("/api/", s.api(s.unrouted))

	// Operations.
	pub("GET /healthz", http.HandlerFunc(s.handleHealth))

	// The demo store of vend demo.
	if s.Demo != nil {
		d := demoPages{s}
		pub("GET /demo", s.page(d.handleDemoStore))
		pub("POST /demo/checkout", s.page(d.handleDemoCheckout))
		pub("POST /demo/pay", s.page(d.handleDemoPay))
		pub("POST /demo/provider", s.page(d.handleDemoProvider))
		pub("POST /demo/paypal/verify", s.Demo.Checkout)
	}
	return public, admin
}

// mount registers the route table: the admin group behind requireAdmin.
func (s *Server) mount() *http.ServeMux {
	m := http.NewServeMux()
	public, admin := s.routes()
	for _, r := range public {
		m.Handle(r.pattern, r.handler)
	}
	for _, r := range admin {
		m.Handle(r.pattern, s.requireAdmin(r.handler.ServeHTTP))
	}
	return m
}

// ownBodyLimit are the routes that take a body without page's or api's bound
// (maxFormBytes) or a provider's MaxBody, and why. TestRoutes_BodiesAreBounded
// holds every other route to its bound.
var ownBodyLimit = map[string]string{
	"POST /admin/products/{id}/files":        "an upload streams to storage, any size",
	"PUT /api/v1/products/{id}/files/{name}": "an upload streams to storage, any size",
	"POST /d/{token}/{file}/{name}":          "reads no body",
	"POST /demo/paypal/verify":               "the demo's PayPal reads at most 1 MiB",
	"OPTIONS /v1/licenses/activate":          "a CORS preflight reads no body",
	"OPTIONS /v1/licenses/validate":          "a CORS preflight reads no body",
	"OPTIONS /v1/licenses/deactivate":        "a CORS preflight reads no body",
}

// isAPIRequest tells the JSON API's requests from the admin's pages.
func isAPIRequest(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/") }

// handlerFunc is a handler that returns its failure instead of writing it:
// page and api turn the error into the answer.
type handlerFunc func(http.ResponseWriter, *http.Request) error

// catchAll are the admin group's patterns for what no other route matches.
var catchAll = map[string]bool{"/": true, "/admin": true, "/admin/": true, "/api/": true}

// unrouted answers a request that no route matched (in the admin group: a
// signed-in administrator's): 405 with the Allow header, as net/http would, when the
// path has routes for other methods; else 404.
func (s *Server) unrouted(w http.ResponseWriter, r *http.Request) error {
	var allow []string
	for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := &http.Request{Method: method, URL: r.URL, Host: r.Host}
		if _, pattern := s.mux.Handler(probe); method != r.Method && pattern != "" && !catchAll[pattern] {
			allow = append(allow, method)
		}
	}
	if len(allow) == 0 {
		return vend.Errorf(vend.ENOTFOUND, "Not found.")
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
	return nil
}
