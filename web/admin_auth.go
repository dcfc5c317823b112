package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/account"
	"github.com/vend-shop/vend/store"
)

// Administrators sign in with a name and password and get a session cookie; scripts
// use API tokens. Only hashes of cookies and tokens are stored (account.TokenHash),
// so a copy of the database logs nobody in. Every state-changing admin request must pass the cross-origin check of
// net/http (CrossOriginProtection): requireAdmin runs it, and the login, logout
// and setup forms have it too. The provider endpoints stay outside it.

const (
	adminCookie = "vend_admin"
	// AdminSessionLifetime is how long a session lasts from login. It is fixed,
	// not sliding: after it, the administrator signs in again, however active.
	AdminSessionLifetime = 12 * time.Hour

	// Login budgets. Per client address every try counts; per user name only
	// failures do, so a user who types the password right is never slowed by
	// someone else's guesses at another name.
	loginsPerIPEvery   = time.Minute
	loginsPerIPBurst   = 10
	loginFailuresEvery = 5 * time.Minute
	loginFailuresBurst = 5
	// Each password check holds 64 MiB for about 25 ms: at most this many run at
	// once, so a flood of logins cannot take the server's memory.
	maxPasswordChecks = 2
	passwordCheckWait = 10 * time.Second
	maxAdminFormBytes = 64 << 10
	// An API token's last use is written at most this often, not on every request.
	tokenTouchEvery = time.Minute
)

// adminAuth is the Server's state for administrators.
type adminAuth struct {
	loginsPerIP   clientLimiter // every login and setup try, per client address
	loginFailures clientLimiter // failed logins, per user name typed
	checks        chan struct{} // password checks in flight
	crossOrigin   *http.CrossOriginProtection
}

// initAdmin sets up the login budgets and the cross-origin check, and parses
// every admin page, templates/admin-*.html, into the admin layout.
func (s *Server) initAdmin() error {
	a := &s.admin
	a.loginsPerIP.rate, a.loginsPerIP.burst = rate.Every(loginsPerIPEvery), loginsPerIPBurst
	a.loginFailures.rate, a.loginFailures.burst = rate.Every(loginFailuresEvery), loginFailuresBurst
	a.checks = make(chan struct{}, maxPasswordChecks)
	a.crossOrigin = http.NewCrossOriginProtection()
	a.crossOrigin.SetDenyHandler(http.HandlerFunc(s.crossOriginDenied))
	files, err := fs.Glob(templateFS, "templates/admin-*.html")
	if err != nil {
		return fmt.Errorf("web: admin pages: %w", err)
	}
	for _, file := range files {
		if file == "templates/admin-layout.html" {
			continue
		}
		name := strings.TrimSuffix(path.Base(file), ".html")
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/admin-layout.html", file)
		if err != nil {
			return fmt.Errorf("web: page %s: %w", name, err)
		}
		s.pages[name] = t
	}
	for _, name := range []string{"admin-login", "admin-setup", "admin-audit"} {
		if s.pages[name] == nil {
			return fmt.Errorf("web: page %s is missing", name)
		}
	}
	return nil
}

// adminRoutes adds the sign-in pages, the audit trail and /api/v1/whoami.
func (s *Server) adminRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /admin/login", s.handleLoginForm)
	m.Handle("POST /admin/login", s.crossOriginCheck(s.handleLogin))
	m.Handle("POST /admin/logout", s.crossOriginCheck(s.handleLogout))
	m.HandleFunc("GET /admin/setup", s.handleSetupForm)
	m.Handle("POST /admin/setup", s.crossOriginCheck(s.handleSetup))
	m.HandleFunc("GET /admin/audit", s.requireAdmin(s.handleAudit))
	m.HandleFunc("GET /api/v1/whoami", s.requireAdmin(s.handleWhoami))
	s.adminPageRoutes(m)
	s.adminManualRoutes(m)
	s.adminProductRoutes(m)
	s.adminReleaseRoutes(m)
	s.adminDeleteRoutes(m)
	s.adminAPIRoutes(m)
}

// ---- who is asking ----

type adminKey struct{}

type adminIdentity struct {
	actor  string // "user:alice" or "token:deploy"
	userID int64
	user   string // the user's name when signed in with a session, else ""
}

// adminActor returns who makes the request: "user:<name>" for a signed-in
// user, "token:<name>" for an API token, and the user's (or token owner's) id.
// Outside requireAdmin it returns "", 0.
func adminActor(ctx context.Context) (actor string, userID int64) {
	id, _ := ctx.Value(adminKey{}).(*adminIdentity)
	if id == nil {
		return "", 0
	}
	return id.actor, id.userID
}

// requireAdmin lets a request through to h only from a signed-in administrator
// (the session cookie) or, under /api/, a script with an API token
// (Authorization: Bearer). Pages redirect everyone else to the login page, the
// API answers 401. Requests with a non-safe method must also pass the
// cross-origin check, so every state-changing admin route gets it by being
// wrapped here. h finds the actor with adminActor.
func (s *Server) requireAdmin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := s.admin.crossOrigin.Check(r); err != nil {
			s.crossOriginDenied(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		api := isAPIRequest(r)
		id, err := s.authenticate(r, api)
		if err != nil {
			s.Logger.ErrorContext(r.Context(), "admin authentication", "route", r.Pattern, "error", err)
			if api {
				authAPIError(w, http.StatusInternalServerError, "internal", "Internal error.")
			} else {
				s.Error(w, r, err)
			}
			return
		}
		if id == nil {
			if api {
				w.Header().Set("WWW-Authenticate", `Bearer realm="vend"`)
				authAPIError(w, http.StatusUnauthorized, "unauthorized", "Sign in with an API token: Authorization: Bearer <token>.")
				return
			}
			to := "/admin/login"
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				to += "?next=" + url.QueryEscape(safeNext(r.URL.RequestURI()))
			}
			http.Redirect(w, r, to, http.StatusSeeOther)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), adminKey{}, id)))
	}
}

func isAPIRequest(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/") }

// authenticate finds the session of the request's cookie or, if api, the
// token of its Authorization header. It returns nil, nil for neither.
func (s *Server) authenticate(r *http.Request, api bool) (*adminIdentity, error) {
	ctx := r.Context()
	if c, err := r.Cookie(adminCookie); err == nil && c.Value != "" {
		var id *adminIdentity
		err := s.DB.View(ctx, func(tx store.Tx) error {
			sess, err := tx.FindAdminSession(ctx, account.TokenHash(c.Value))
			if vend.ErrorCode(err) == vend.ENOTFOUND { // unknown, ended or expired
				return nil
			} else if err != nil {
				return err
			}
			u, err := tx.FindUserByID(ctx, sess.UserID)
			if err != nil {
				return err
			}
			id = &adminIdentity{actor: "user:" + u.Name, userID: u.ID, user: u.Name}
			return nil
		})
		if err != nil || id != nil {
			return id, err
		}
	}
	bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !api || !ok || bearer == "" {
		return nil, nil
	}
	// The token is looked up by its hash: what a timing difference of the lookup
	// could tell is about the hash, which does not help find a token.
	var tok *vend.APIToken
	err := s.DB.View(ctx, func(tx store.Tx) error {
		var err error
		tok, err = tx.FindAPITokenByHash(ctx, account.TokenHash(strings.TrimSpace(bearer)))
		return err
	})
	if vend.ErrorCode(err) == vend.ENOTFOUND {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if s.Now().Sub(tok.LastUsedAt) >= tokenTouchEvery {
		err := s.DB.Update(ctx, func(tx store.Tx) error { return tx.TouchAPIToken(ctx, tok.ID) })
		if err != nil && vend.ErrorCode(err) != vend.ENOTFOUND {
			return nil, err
		}
	}
	return &adminIdentity{actor: "token:" + tok.Name, userID: tok.UserID}, nil
}

// crossOriginCheck wraps a form handler outside requireAdmin (login, logout,
// setup) with the cross-origin check.
func (s *Server) crossOriginCheck(h http.HandlerFunc) http.Handler {
	return s.admin.crossOrigin.Handler(h)
}

func (s *Server) crossOriginDenied(w http.ResponseWriter, r *http.Request) {
	s.Logger.WarnContext(r.Context(), "cross-origin request refused", "route", r.Pattern, "remote", r.RemoteAddr)
	if isAPIRequest(r) {
		authAPIError(w, http.StatusForbidden, "forbidden", "Cross-origin request refused.")
		return
	}
	s.render(w, r, http.StatusForbidden, "message", message{view: view{Title: "Refused"},
		Paragraphs: []string{"This request came from another site and was refused. Open the admin and try again there."}})
}

// authAPIError writes the API's error shape: {"error":{"code":…,"message":…}}.
func authAPIError(w http.ResponseWriter, status int, code, msg string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

// ---- pages ----

// adminView is what the admin layout needs from every admin page: embed it in
// the page's view struct and fill it with newAdminView.
type adminView struct {
	Title   string
	Nav     string // the menu entry to mark: dashboard, orders, products, notifications, audit
	User    string // who is signed in; "" hides the menu (login and setup pages)
	Refresh int    // seconds; 0: no automatic refresh
}

// newAdminView fills the layout's fields for a page behind requireAdmin.
func newAdminView(r *http.Request, title, nav string) adminView {
	v := adminView{Title: title, Nav: nav}
	if id, _ := r.Context().Value(adminKey{}).(*adminIdentity); id != nil {
		v.User = id.user
	}
	return v
}

type loginPage struct {
	adminView
	Name, Next string
	Problem    string
	NoUsers    bool
}

type setupPage struct {
	adminView
	Token, Name string
	Problem     string
	Invalid     bool
}

// ---- login and logout ----

const (
	loginFailed  = "Wrong name or password."
	loginTooMany = "Too many tries. Please wait a few minutes, then try again."
	loginBusy    = "Too many sign-ins at once. Please try again in a moment."
)

func (s *Server) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if id, err := s.authenticate(r, false); err == nil && id != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	p := loginPage{adminView: adminView{Title: "Sign in"}, Next: next}
	err := s.DB.View(r.Context(), func(tx store.Tx) error {
		users, err := tx.FindUsers(r.Context())
		p.NoUsers = len(users) == 0
		return err
	})
	if err != nil {
		s.Error(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "admin-login", p)
}

// handleLogin checks a name and password. A wrong password and a name nobody
// has get the same answer in the same time: the password is checked against a
// hash either way (vend.CheckPassword of "" costs as much as a real one).
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, maxAdminFormBytes)
	name, pw := r.PostFormValue("name"), r.PostFormValue("password")
	p := loginPage{adminView: adminView{Title: "Sign in"}, Name: name, Next: safeNext(r.PostFormValue("next"))}
	refuse := func(status int, problem string) {
		p.Problem = problem
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "60")
		}
		s.render(w, r, status, "admin-login", p)
	}
	now := s.Now()
	if !s.admin.loginsPerIP.allow(r.RemoteAddr, now) {
		s.Logger.WarnContext(ctx, "admin login refused: too many tries from this address", "remote", r.RemoteAddr)
		refuse(http.StatusTooManyRequests, loginTooMany)
		return
	}
	// The try is charged to the name before the check, so tries sent at once
	// cannot all get through on one unit of budget; a success gives it back.
	give, ok := s.admin.loginFailures.take(nameKey(name), now)
	if !ok {
		s.Logger.WarnContext(ctx, "admin login refused: too many failures for this name", "remote", r.RemoteAddr)
		refuse(http.StatusTooManyRequests, loginTooMany)
		return
	}
	var user *vend.User
	err := s.DB.View(ctx, func(tx store.Tx) error {
		var err error
		user, err = tx.FindUserByName(ctx, name)
		if vend.ErrorCode(err) == vend.ENOTFOUND {
			user, err = nil, nil
		}
		return err
	})
	if err != nil {
		give()
		s.Error(w, r, err)
		return
	}
	hash := ""
	if user != nil {
		hash = user.PasswordHash
	}
	match, err := s.checkPassword(ctx, hash, pw)
	if err != nil {
		give()
		refuse(http.StatusServiceUnavailable, loginBusy)
		return
	}
	if !match || user == nil {
		who := "(no such user)"
		if user != nil {
			who = user.Name
		}
		s.Logger.WarnContext(ctx, "admin login failed", "user", who, "remote", r.RemoteAddr)
		refuse(http.StatusUnauthorized, loginFailed)
		return
	}
	give()
	rehash := ""
	if vend.PasswordNeedsRehash(user.PasswordHash) {
		rehash, _ = vend.HashPassword(pw) // on failure the old hash stays, which still works
	}
	if err := s.startSession(w, r, user, rehash); err != nil {
		s.Error(w, r, err)
		return
	}
	s.Logger.InfoContext(ctx, "admin login", "user", user.Name, "remote", r.RemoteAddr)
	http.Redirect(w, r, p.Next, http.StatusSeeOther)
}

// checkPassword runs vend.CheckPassword when one of the few slots for it is free.
func (s *Server) checkPassword(ctx context.Context, hash, pw string) (bool, error) {
	wait := time.NewTimer(passwordCheckWait)
	defer wait.Stop()
	select {
	case s.admin.checks <- struct{}{}:
		defer func() { <-s.admin.checks }()
	case <-ctx.Done():
		return false, ctx.Err()
	case <-wait.C:
		return false, vend.Errorf(vend.EINTERNAL, "busy")
	}
	return vend.CheckPassword(hash, pw), nil
}

// startSession signs user in: a new session (ending the one the browser had,
// if any, so a session id can never be planted before login), the last login
// time, and the cookie. rehash, if set, replaces a hash with old parameters.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, user *vend.User, rehash string) error {
	ctx := r.Context()
	token := account.NewToken()
	var expires time.Time
	err := s.DB.Update(ctx, func(tx store.Tx) error {
		u, err := tx.FindUserByID(ctx, user.ID)
		if err != nil {
			return err
		}
		u.LastLoginAt = tx.Now()
		if rehash != "" && u.PasswordHash == user.PasswordHash { // not changed meanwhile
			u.PasswordHash = rehash
		}
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		if c, err := r.Cookie(adminCookie); err == nil && c.Value != "" {
			if err := tx.DeleteAdminSession(ctx, account.TokenHash(c.Value)); err != nil {
				return err
			}
		}
		expires = tx.Now().Add(AdminSessionLifetime)
		return tx.CreateAdminSession(ctx, &vend.AdminSession{Hash: account.TokenHash(token), UserID: u.ID, ExpiresAt: expires})
	})
	if err != nil {
		return err
	}
	s.setAdminCookie(w, token, int(AdminSessionLifetime/time.Second))
	return nil
}

// setAdminCookie sets the session cookie; maxAge < 0 deletes it.
func (s *Server) setAdminCookie(w http.ResponseWriter, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: adminCookie, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: strings.HasPrefix(s.BaseURL, "https://"),
	})
}

// handleLogout ends the browser's session: its row goes, so the cookie is
// worthless even if it was copied.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(adminCookie); err == nil && c.Value != "" {
		err := s.DB.Update(r.Context(), func(tx store.Tx) error {
			return tx.DeleteAdminSession(r.Context(), account.TokenHash(c.Value))
		})
		if err != nil {
			s.Error(w, r, err)
			return
		}
	}
	s.setAdminCookie(w, "", -1)
	http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
}

// safeNext returns next if it is a path of the admin on this site, else /admin:
// the login page must not send anyone to another site.
func safeNext(next string) string {
	const home = "/admin"
	u, err := url.Parse(next)
	if err != nil || next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.ContainsAny(next, "\\\x00\r\n\t") || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" ||
		(u.Path != home && !strings.HasPrefix(u.Path, home+"/")) {
		return home
	}
	return next
}

// nameKey is the budget key of a user name: a hash, so any name (with colons,
// or shaped like an address) has a budget of its own.
func nameKey(name string) string { return "user-" + account.TokenHash(name) }

// ---- the first user ----

func (s *Server) handleSetupForm(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	err := account.CheckSetupToken(r.Context(), s.DB, token)
	s.renderSetup(w, r, setupPage{Token: token}, err)
}

func (s *Server) renderSetup(w http.ResponseWriter, r *http.Request, p setupPage, err error) {
	p.adminView = adminView{Title: "Set up the first administrator"}
	status := http.StatusOK
	if err != nil {
		if status = statusOf(err); status == http.StatusInternalServerError {
			s.Error(w, r, err)
			return
		}
		p.Problem = vend.ErrorMessage(err)
		p.Invalid = errors.Is(err, account.ErrSetupLink)
		if p.Invalid {
			p.Token = ""
		}
	}
	s.render(w, r, status, "admin-setup", p)
}

// handleSetup creates the first administrator from the setup link's form and
// signs them in.
func (s *Server) handleSetup(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, maxAdminFormBytes)
	token, name := r.PostFormValue("token"), strings.TrimSpace(r.PostFormValue("name"))
	pw, pw2 := r.PostFormValue("password"), r.PostFormValue("password2")
	p := setupPage{Token: token, Name: name}
	if !s.admin.loginsPerIP.allow(r.RemoteAddr, s.Now()) {
		p.adminView, p.Problem = adminView{Title: "Set up the first administrator"}, loginTooMany
		w.Header().Set("Retry-After", "60")
		s.render(w, r, http.StatusTooManyRequests, "admin-setup", p)
		return
	}
	err := account.CheckSetupToken(ctx, s.DB, token)
	var user *vend.User
	if err == nil {
		user, err = account.NewUser(name, pw)
	}
	if err == nil && pw != pw2 {
		err = vend.Errorf(vend.EINVALID, "The two passwords differ.")
	}
	if err == nil {
		err = account.Setup(ctx, s.DB, token, user)
	}
	if err != nil {
		s.renderSetup(w, r, p, err)
		return
	}
	s.Logger.InfoContext(ctx, "first administrator created", "user", user.Name, "remote", r.RemoteAddr)
	if err := s.startSession(w, r, user, ""); err != nil {
		s.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin", http.StatusSeeOther)
}

// ---- audit trail ----

// audit writes an audit entry for the administrator of the request, inside the
// handler's write transaction, so the change and its record commit together:
//
//	err := s.DB.Update(ctx, func(tx store.Tx) error {
//		… change the grant …
//		return s.audit(ctx, tx, "grant.revoke", fmt.Sprintf("grant:%d", g.ID), before, g)
//	})
func (s *Server) audit(ctx context.Context, tx store.Tx, action, target string, before, after any) error {
	actor, _ := adminActor(ctx)
	if actor == "" {
		return fmt.Errorf("web: audit %s %s: no administrator in the request (route without requireAdmin?)", action, target)
	}
	return store.RecordAudit(ctx, tx, actor, action, target, before, after)
}

type auditPage struct {
	adminView
	Target  string
	Entries []auditRow
	More    bool // there may be older entries than those shown
}

type auditRow struct {
	*vend.AuditEntry
	Before, After string // indented JSON
}

const auditPageSize = 200

// handleAudit shows the audit trail, newest first, optionally of one target.
func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request) {
	target := strings.TrimSpace(r.URL.Query().Get("target"))
	if len(target) > 200 {
		target = target[:200]
	}
	var entries []*vend.AuditEntry
	err := s.DB.View(r.Context(), func(tx store.Tx) error {
		var err error
		entries, err = tx.FindAuditEntries(r.Context(), store.AuditFilter{Target: target, Limit: auditPageSize})
		return err
	})
	if err != nil {
		s.Error(w, r, err)
		return
	}
	p := auditPage{adminView: newAdminView(r, "Audit trail", "audit"), Target: target, More: len(entries) == auditPageSize}
	for _, e := range entries {
		p.Entries = append(p.Entries, auditRow{AuditEntry: e, Before: indentJSON(e.Before), After: indentJSON(e.After)})
	}
	s.render(w, r, http.StatusOK, "admin-audit", p)
}

func indentJSON(s string) string {
	var b bytes.Buffer
	if json.Indent(&b, []byte(s), "", "  ") != nil {
		return s
	}
	return b.String()
}

// handleWhoami answers GET /api/v1/whoami: who the token or session is.
func (s *Server) handleWhoami(w http.ResponseWriter, r *http.Request) {
	actor, userID := adminActor(r.Context())
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(struct {
		Actor  string `json:"actor"`
		UserID int64  `json:"user_id"`
	}{actor, userID})
}
