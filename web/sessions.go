package web

import (
	"context"
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
		// mailboxOn shows the mailbox in the menu, on every admin page alike.
		on := template.FuncMap{"mailboxOn": func() bool { return s.Mailbox != nil }}
		t, err := template.New(name).Funcs(funcs).Funcs(adminFuncs).Funcs(on).ParseFS(templateFS, "templates/admin-layout.html", file)
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

// adminKey is the context key of the request's adminIdentity.
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
