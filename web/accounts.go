package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/account"
	"github.com/vend-shop/vend/store"
)

// accountPages serves signing in and out, the first user's setup link and
// the API's whoami.
type accountPages struct{ *Server }

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

const (
	loginFailed  = "Wrong name or password."
	loginTooMany = "Too many tries. Please wait a few minutes, then try again."
	loginBusy    = "Too many sign-ins at once. Please try again in a moment."
)

func (s accountPages) handleLoginForm(w http.ResponseWriter, r *http.Request) error {
	next := safeNext(r.URL.Query().Get("next"))
	if id, err := s.authenticate(r, false); err == nil && id != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return nil
	}
	p := loginPage{adminView: adminView{Title: "Sign in"}, Next: next}
	err := s.DB.View(r.Context(), func(tx store.Tx) error {
		users, err := tx.FindUsers(r.Context())
		p.NoUsers = len(users) == 0
		return err
	})
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "admin-login", p)
	return nil
}

// handleLogin checks a name and password. A wrong password and a name nobody
// has get the same answer in the same time: the password is checked against a
// hash either way (vend.CheckPassword of "" costs as much as a real one).
func (s accountPages) handleLogin(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
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
		s.refused("login")
		refuse(http.StatusTooManyRequests, loginTooMany)
		return nil
	}
	// The try is charged to the name before the check, so tries sent at once
	// cannot all get through on one unit of budget; a success gives it back.
	give, ok := s.admin.loginFailures.take(nameKey(name), now)
	if !ok {
		s.Logger.WarnContext(ctx, "admin login refused: too many failures for this name", "remote", r.RemoteAddr)
		s.refused("login")
		refuse(http.StatusTooManyRequests, loginTooMany)
		return nil
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
		return err
	}
	hash := ""
	if user != nil {
		hash = user.PasswordHash
	}
	match, err := s.checkPassword(ctx, hash, pw)
	if err != nil {
		give()
		refuse(http.StatusServiceUnavailable, loginBusy)
		return nil
	}
	if !match || user == nil {
		who := "(no such user)"
		if user != nil {
			who = user.Name
		}
		s.Logger.WarnContext(ctx, "admin login failed", "user", who, "remote", r.RemoteAddr)
		refuse(http.StatusUnauthorized, loginFailed)
		return nil
	}
	give()
	rehash := ""
	if vend.PasswordNeedsRehash(user.PasswordHash) {
		rehash, _ = vend.HashPassword(pw) // on failure the old hash stays, which still works
	}
	if err := s.startSession(w, r, user, rehash); err != nil {
		return err
	}
	s.Logger.InfoContext(ctx, "admin login", "user", user.Name, "remote", r.RemoteAddr)
	http.Redirect(w, r, p.Next, http.StatusSeeOther)
	return nil
}

// checkPassword runs vend.CheckPassword when one of the few slots for it is free.
func (s accountPages) checkPassword(ctx context.Context, hash, pw string) (bool, error) {
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

// handleLogout ends the browser's session: its row goes, so the cookie is
// worthless even if it was copied.
func (s accountPages) handleLogout(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(adminCookie); err == nil && c.Value != "" {
		err := s.DB.Update(r.Context(), func(tx store.Tx) error {
			return tx.DeleteAdminSession(r.Context(), account.TokenHash(c.Value))
		})
		if err != nil {
			return err
		}
	}
	s.setAdminCookie(w, "", -1)
	http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
	return nil
}

// nameKey is the budget key of a user name: a hash, so any name (with colons,
// or shaped like an address) has a budget of its own.
func nameKey(name string) string { return "user-" + account.TokenHash(name) }

func (s accountPages) handleSetupForm(w http.ResponseWriter, r *http.Request) error {
	token := r.URL.Query().Get("token")
	err := account.CheckSetupToken(r.Context(), s.DB, token)
	s.renderSetup(w, r, setupPage{Token: token}, err)
	return nil
}

func (s accountPages) renderSetup(w http.ResponseWriter, r *http.Request, p setupPage, err error) {
	p.adminView = adminView{Title: "Set up the first administrator"}
	status := http.StatusOK
	if err != nil {
		if status = vend.HTTPStatus(err); status == http.StatusInternalServerError {
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
func (s accountPages) handleSetup(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	token, name := r.PostFormValue("token"), strings.TrimSpace(r.PostFormValue("name"))
	pw, pw2 := r.PostFormValue("password"), r.PostFormValue("password2")
	p := setupPage{Token: token, Name: name}
	if !s.admin.loginsPerIP.allow(r.RemoteAddr, s.Now()) {
		p.adminView, p.Problem = adminView{Title: "Set up the first administrator"}, loginTooMany
		w.Header().Set("Retry-After", "60")
		s.render(w, r, http.StatusTooManyRequests, "admin-setup", p)
		return nil
	}
	err := account.CheckSetupToken(ctx, s.DB, token)
	if err == nil {
		err = vend.ValidateUserName(name)
	}
	if err == nil {
		err = vend.ValidatePassword(pw)
	}
	if err == nil && pw != pw2 { // before hashing, which holds 64 MiB
		err = vend.Errorf(vend.EINVALID, "The two passwords differ.")
	}
	var user *vend.User
	if err == nil {
		user, err = account.NewUser(name, pw)
	}
	if err == nil {
		err = account.Setup(ctx, s.DB, token, user)
	}
	if err != nil {
		s.renderSetup(w, r, p, err)
		return nil
	}
	s.Logger.InfoContext(ctx, "first administrator created", "user", user.Name, "remote", r.RemoteAddr)
	if err := s.startSession(w, r, user, ""); err != nil {
		return err
	}
	http.Redirect(w, r, "/admin", http.StatusSeeOther)
	return nil
}

// handleWhoami answers GET /api/v1/whoami: who the token or session is.
func (s accountPages) handleWhoami(w http.ResponseWriter, r *http.Request) error {
	actor, userID := adminActor(r.Context())
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(struct {
		Actor  string `json:"actor"`
		UserID int64  `json:"user_id"`
	}{actor, userID})
	return nil
}
