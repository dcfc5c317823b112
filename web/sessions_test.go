package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/account"
	"github.com/vend-shop/vend/store"
)

const alicePassword = "alice's long password"

// addUser creates an administrator with the real password hash.
func (e *testEnv) addUser(name, pw string) *vend.User {
	e.tb.Helper()
	u := &vend.User{Name: name, PasswordHash: passwordHash(e.tb, pw)}
	if err := e.DB.Update(context.Background(), func(tx store.Tx) error { return tx.CreateUser(context.Background(), u) }); err != nil {
		e.tb.Fatal(err)
	}
	return u
}

// passwordHashes are vend.HashPassword's hashes, one per password for the whole
// test binary: each hash costs 64 MiB of argon2id, about 0.3 s under the race
// detector, and the tests sign in with a handful of passwords. Every login still
// verifies the password against its hash, and no test depends on a fresh salt.
var passwordHashes sync.Map // password → hash

func passwordHash(tb testing.TB, pw string) string {
	tb.Helper()
	if h, ok := passwordHashes.Load(pw); ok {
		return h.(string)
	}
	hash, err := vend.HashPassword(pw)
	if err != nil {
		tb.Fatal(err)
	}
	h, _ := passwordHashes.LoadOrStore(pw, hash)
	return h.(string)
}

// adminRequest sends a request with the session cookie (if not "") and further
// headers; a non-nil form is the body.
func (e *testEnv) adminRequest(method, path, cookie string, form url.Values, h http.Header) answer {
	e.tb.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req, err := http.NewRequest(method, e.HTTP.URL+path, body)
	if err != nil {
		e.tb.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: adminCookie, Value: cookie})
	}
	for k, v := range h {
		req.Header[k] = v
	}
	return e.do(req)
}

// login posts the login form from a browser on the same site.
func (e *testEnv) login(name, pw, next string, h http.Header) answer {
	e.tb.Helper()
	return e.adminRequest(http.MethodPost, "/admin/login", "", url.Values{"name": {name}, "password": {pw}, "next": {next}}, h)
}

// mustLogin signs in and returns the session cookie's value.
func (e *testEnv) mustLogin(name, pw string) string {
	e.tb.Helper()
	a := e.login(name, pw, "", sameOrigin)
	c := sessionCookie(a)
	if a.Status != http.StatusSeeOther || c == nil || c.Value == "" {
		e.tb.Fatalf("login of %s: %d, cookie %v\n%s", name, a.Status, c, a.Body)
	}
	return c.Value
}

// signIn starts a session for u as a login does once the password matched
// (Server.startSession), and returns the cookie's value: for tests of what a
// signed-in administrator can do, whose subject is not the login (that is
// TestAdminLogin*); it spares them an argon2id check each.
func (e *testEnv) signIn(u *vend.User) string {
	e.tb.Helper()
	rec := httptest.NewRecorder()
	if err := e.Server.startSession(rec, httptest.NewRequest(http.MethodPost, "/admin/login", nil), u, ""); err != nil {
		e.tb.Fatal(err)
	}
	c := sessionCookie(answer{Header: rec.Result().Header})
	if c == nil || c.Value == "" {
		e.tb.Fatalf("no session cookie for %s", u.Name)
	}
	return c.Value
}

func sessionCookie(a answer) *http.Cookie {
	for _, c := range (&http.Response{Header: a.Header}).Cookies() {
		if c.Name == adminCookie {
			return c
		}
	}
	return nil
}

// Headers a browser sends with a form: from this site and from another.
var (
	sameOrigin = http.Header{"Sec-Fetch-Site": {"same-origin"}}
	crossSite  = http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}}
)

func TestAdminLogin(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	alice := e.addUser("alice", alicePassword)

	t.Run("a protected page sends strangers to the login page", func(t *testing.T) {
		a := e.Get("/admin/audit?target=order:7")
		if a.Status != http.StatusSeeOther || a.Header.Get("Location") != "/admin/login?next="+url.QueryEscape("/admin/audit?target=order:7") {
			t.Fatalf("GET /admin/audit: %d Location %q", a.Status, a.Header.Get("Location"))
		}
		form := e.Get(a.Header.Get("Location"))
		if form.Status != http.StatusOK || !strings.Contains(form.Body, `action="/admin/login"`) ||
			!strings.Contains(form.Body, `name="next" value="/admin/audit?target=order:7"`) {
			t.Errorf("login form: %d\n%s", form.Status, form.Body)
		}
	})
	t.Run("OK", func(t *testing.T) {
		a := e.login("alice", alicePassword, "/admin/audit", sameOrigin)
		if a.Status != http.StatusSeeOther || a.Header.Get("Location") != "/admin/audit" {
			t.Fatalf("login: %d Location %q\n%s", a.Status, a.Header.Get("Location"), a.Body)
		}
		c := sessionCookie(a)
		if c == nil || len(c.Value) != 43 || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure ||
			c.MaxAge != int(AdminSessionLifetime/time.Second) {
			t.Fatalf("session cookie %+v", c)
		}
		page := e.adminRequest(http.MethodGet, "/admin/audit", c.Value, nil, nil)
		if page.Status != http.StatusOK || !strings.Contains(page.Body, "Audit trail") || !strings.Contains(page.Body, "alice") ||
			!strings.Contains(page.Body, `action="/admin/logout"`) {
			t.Errorf("audit page with the cookie: %d\n%s", page.Status, page.Body)
		}
		// The store has the cookie's hash, never the cookie.
		e.view(func(ctx context.Context, tx store.Tx) error {
			if _, err := tx.FindAdminSession(ctx, c.Value); vend.ErrorCode(err) != vend.ENOTFOUND {
				t.Errorf("session found by the cookie itself: %v", err)
			}
			s, err := tx.FindAdminSession(ctx, account.TokenHash(c.Value))
			if err != nil || s.UserID != alice.ID || !s.ExpiresAt.Equal(testEpoch.Add(AdminSessionLifetime)) {
				t.Errorf("session %+v, %v", s, err)
			}
			u, err := tx.FindUserByID(ctx, alice.ID)
			if err != nil || !u.LastLoginAt.Equal(testEpoch) {
				t.Errorf("last login %v, %v", u.LastLoginAt, err)
			}
			return nil
		})
	})
	t.Run("the cookie is Secure when the shop is on https", func(t *testing.T) {
		base := e.Server.BaseURL
		e.Server.BaseURL = "https://shop.example.com"
		defer func() { e.Server.BaseURL = base }()
		if c := sessionCookie(e.login("alice", alicePassword, "", nil)); c == nil || !c.Secure {
			t.Errorf("cookie %+v, want Secure", c)
		}
	})
	t.Run("ErrWrongPassword and ErrNoSuchUser answer alike", func(t *testing.T) {
		wrong := e.login("alice", "not alice's password", "", sameOrigin)
		nobody := e.login("mallory", alicePassword, "", sameOrigin)
		if wrong.Status != http.StatusUnauthorized || !strings.Contains(wrong.Body, "Wrong name or password.") {
			t.Errorf("wrong password: %d\n%s", wrong.Status, wrong.Body)
		}
		// The page shows the name typed back; apart from it, nothing differs.
		if nobody.Status != wrong.Status || strings.ReplaceAll(nobody.Body, "mallory", "alice") != wrong.Body {
			t.Errorf("unknown user: %d, wrong password: %d; bodies:\n%s\n---\n%s", nobody.Status, wrong.Status, nobody.Body, wrong.Body)
		}
		for _, h := range []string{"Content-Type", "Cache-Control", "Set-Cookie", "Retry-After"} {
			if wrong.Header.Get(h) != nobody.Header.Get(h) {
				t.Errorf("header %s: %q and %q", h, wrong.Header.Get(h), nobody.Header.Get(h))
			}
		}
	})
}

// TestAdminLogin_SameTimeForUnknownUsers checks that a name nobody has costs a
// password check too: answering at once would tell which names exist.
func TestAdminLogin_SameTimeForUnknownUsers(t *testing.T) {
	e := newTestEnv(t)
	e.addUser("alice", alicePassword)
	try := func(name string) time.Duration {
		start := time.Now()
		if a := e.login(name, "a wrong password", "", nil); a.Status != http.StatusUnauthorized {
			t.Fatalf("%s: %d", name, a.Status)
		}
		return time.Since(start)
	}
	// The fastest of five tries each, taken in turn, so that a moment when
	// other tests load the machine slows both names.
	wrong, unknown := time.Hour, time.Hour
	for range 5 {
		wrong, unknown = min(wrong, try("alice")), min(unknown, try("mallory"))
	}
	if unknown < wrong/3 {
		t.Errorf("a wrong password takes %v, an unknown name %v: the difference tells which names exist", wrong, unknown)
	}
}

func TestAdminLogin_SessionEnds(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.addUser("alice", alicePassword)
	protected := func(cookie string) int {
		t.Helper()
		return e.adminRequest(http.MethodGet, "/admin/audit", cookie, nil, nil).Status
	}

	t.Run("logout ends the session, also for a copy of the cookie", func(t *testing.T) {
		cookie := e.mustLogin("alice", alicePassword)
		other := e.mustLogin("alice", alicePassword) // another browser stays signed in
		a := e.adminRequest(http.MethodPost, "/admin/logout", cookie, url.Values{}, sameOrigin)
		if a.Status != http.StatusSeeOther || a.Header.Get("Location") != "/admin/login" {
			t.Fatalf("logout: %d %q", a.Status, a.Header.Get("Location"))
		}
		if c := sessionCookie(a); c == nil || c.MaxAge >= 0 {
			t.Errorf("logout does not delete the cookie: %+v", c)
		}
		if got := protected(cookie); got != http.StatusSeeOther {
			t.Errorf("old cookie after logout: %d, want a redirect to login", got)
		}
		if got := protected(other); got != http.StatusOK {
			t.Errorf("the other browser's session: %d", got)
		}
	})
	t.Run("a session expires after 12 hours", func(t *testing.T) {
		cookie := e.mustLogin("alice", alicePassword)
		e.Clock.Add(AdminSessionLifetime - time.Second)
		if got := protected(cookie); got != http.StatusOK {
			t.Fatalf("a second before expiry: %d", got)
		}
		e.Clock.Add(time.Second)
		a := e.adminRequest(http.MethodGet, "/admin/audit", cookie, nil, nil)
		if a.Status != http.StatusSeeOther || !strings.HasPrefix(a.Header.Get("Location"), "/admin/login?next=") {
			t.Errorf("expired session: %d %q", a.Status, a.Header.Get("Location"))
		}
	})
	t.Run("a made-up cookie is no session", func(t *testing.T) {
		if got := protected(account.NewToken()); got != http.StatusSeeOther {
			t.Errorf("random cookie: %d", got)
		}
	})
}

func TestAdminLogin_NextStaysOnSite(t *testing.T) {
	t.Parallel()
	tests := []struct{ next, want string }{
		{"/admin/orders?q=alice", "/admin/orders?q=alice"},
		{"/admin", "/admin"},
		{"", "/admin"},
		{"https://evil.example/admin", "/admin"},
		{"//evil.example/admin", "/admin"},
		{"/\\evil.example/admin", "/admin"},
		{"\\\\evil.example", "/admin"},
		{"/admin\\..\\\\evil.example", "/admin"},
		{"javascript:alert(1)", "/admin"},
		{"http:/admin", "/admin"},
		{"/admin\r\nLocation: https://evil.example", "/admin"},
		{"/d/some-download", "/admin"}, // on the site, but not the admin
		{"/administrator", "/admin"},
		{" //evil.example", "/admin"},
	}
	for _, tt := range tests {
		if got := safeNext(tt.next); got != tt.want {
			t.Errorf("safeNext(%q) = %q, want %q", tt.next, got, tt.want)
		}
	}

	// The same through HTTP: the form's next after login, and the login page's
	// redirect of someone signed in already.
	e := newTestEnv(t)
	e.addUser("alice", alicePassword)
	if a := e.login("alice", alicePassword, "//evil.example/admin", nil); a.Status != http.StatusSeeOther || a.Header.Get("Location") != "/admin" {
		t.Errorf("login with an off-site next: %d %q", a.Status, a.Header.Get("Location"))
	}
	cookie := e.mustLogin("alice", alicePassword)
	for _, tt := range tests {
		a := e.adminRequest(http.MethodGet, "/admin/login?next="+url.QueryEscape(tt.next), cookie, nil, nil)
		if a.Status != http.StatusSeeOther || a.Header.Get("Location") != tt.want {
			t.Errorf("GET /admin/login?next=%q signed in: %d %q, want %q", tt.next, a.Status, a.Header.Get("Location"), tt.want)
		}
	}
}

func TestAdminLogin_Budgets(t *testing.T) {
	t.Parallel()
	t.Run("five failures for a name, then one try per five minutes", func(t *testing.T) {
		e := newTestEnv(t)
		e.addUser("alice", alicePassword)
		e.addUser("bob", "bob's long password")
		for i := range loginFailuresBurst {
			if a := e.login("alice", fmt.Sprintf("guess %d of many", i), "", nil); a.Status != http.StatusUnauthorized {
				t.Fatalf("failure %d: %d", i+1, a.Status)
			}
		}
		over := e.login("alice", alicePassword, "", nil) // right, but over the budget
		if over.Status != http.StatusTooManyRequests || sessionCookie(over) != nil || !strings.Contains(over.Body, "Too many tries") {
			t.Fatalf("the right password over the budget: %d\n%s", over.Status, over.Body)
		}
		// Another name is not slowed down by alice's.
		if a := e.login("bob", "bob's long password", "", nil); a.Status != http.StatusSeeOther {
			t.Errorf("bob after alice's failures: %d", a.Status)
		}
		e.Clock.Add(loginFailuresEvery)
		if a := e.login("alice", alicePassword, "", nil); a.Status != http.StatusSeeOther {
			t.Errorf("alice after five minutes: %d\n%s", a.Status, a.Body)
		}
		// Successes are not failures: alice still has her one try back... used
		// well, so she has it still.
		if a := e.login("alice", alicePassword, "", nil); a.Status != http.StatusSeeOther {
			t.Errorf("alice again: %d", a.Status)
		}
	})
	t.Run("a name nobody has is limited alike", func(t *testing.T) {
		e := newTestEnv(t, behindProxy)
		e.addUser("alice", alicePassword)
		// Each try from another address: only the names' budgets are spent.
		try := func(name string, i int) answer {
			return e.login(name, "a wrong password", "", http.Header{"X-Forwarded-For": {fmt.Sprintf("203.0.113.%d", i)}})
		}
		var known, unknown answer
		for i := range loginFailuresBurst + 1 {
			known, unknown = try("alice", i), try("nobody", 100+i)
			if i < loginFailuresBurst && (known.Status != http.StatusUnauthorized || unknown.Status != http.StatusUnauthorized) {
				t.Fatalf("failure %d: alice %d, nobody %d", i+1, known.Status, unknown.Status)
			}
		}
		if known.Status != http.StatusTooManyRequests || unknown.Status != known.Status ||
			strings.ReplaceAll(unknown.Body, "nobody", "alice") != known.Body {
			t.Errorf("over the budget: alice %d, nobody %d\n%s\n---\n%s", known.Status, unknown.Status, known.Body, unknown.Body)
		}
	})
	t.Run("ten tries per address, then one a minute", func(t *testing.T) {
		e := newTestEnv(t, behindProxy)
		e.addUser("alice", alicePassword)
		from := func(ip string) http.Header { return http.Header{"X-Forwarded-For": {ip}} }
		for i := range loginsPerIPBurst {
			// A new name each time: only the address's budget is spent.
			if a := e.login(fmt.Sprintf("guess%d", i), "a wrong password", "", from("203.0.113.7")); a.Status != http.StatusUnauthorized {
				t.Fatalf("try %d: %d", i+1, a.Status)
			}
		}
		over := e.login("alice", alicePassword, "", from("203.0.113.7"))
		if over.Status != http.StatusTooManyRequests || sessionCookie(over) != nil || over.Header.Get("Retry-After") == "" {
			t.Fatalf("11th try from one address: %d %v", over.Status, over.Header)
		}
		if a := e.login("alice", alicePassword, "", from("198.51.100.9")); a.Status != http.StatusSeeOther {
			t.Errorf("another address: %d", a.Status)
		}
		e.Clock.Add(loginsPerIPEvery)
		if a := e.login("alice", alicePassword, "", from("203.0.113.7")); a.Status != http.StatusSeeOther {
			t.Errorf("a minute later: %d", a.Status)
		}
		if a := e.login("alice", alicePassword, "", from("203.0.113.7")); a.Status != http.StatusTooManyRequests {
			t.Errorf("a second try in that minute: %d", a.Status)
		}
	})
}

// behindProxy trusts the test client as a proxy, so X-Forwarded-For names the
// client address.
func behindProxy(s *Server) { s.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} }

func TestAdmin_CrossOrigin(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	alice := e.addUser("alice", alicePassword)
	token, hash := account.NewAPIToken()
	e.update(func(ctx context.Context, tx store.Tx) error {
		return tx.CreateAPIToken(ctx, &vend.APIToken{Name: "deploy", UserID: alice.ID, Hash: hash})
	})
	// A state-changing admin route, as the other admin handlers are made.
	e.Server.mux.HandleFunc("POST /admin/test-change", e.Server.requireAdmin(func(w http.ResponseWriter, r *http.Request) {
		err := e.Server.DB.Update(r.Context(), func(tx store.Tx) error {
			return e.Server.audit(r.Context(), tx, "test.change", "test:1", nil, map[string]string{"x": "y"})
		})
		if err != nil {
			t.Error(err)
		}
	}))
	e.Server.mux.HandleFunc("POST /api/v1/test-change", e.Server.requireAdmin(func(w http.ResponseWriter, r *http.Request) {
		actor, _ := adminActor(r.Context())
		fmt.Fprint(w, actor)
	}))

	t.Run("ErrCrossSite", func(t *testing.T) {
		cookie := e.mustLogin("alice", alicePassword)
		for _, h := range []http.Header{crossSite, {"Origin": {"https://evil.example"}}} {
			if a := e.login("alice", alicePassword, "", h); a.Status != http.StatusForbidden || sessionCookie(a) != nil {
				t.Errorf("cross-site login %v: %d", h, a.Status)
			}
			if a := e.adminRequest(http.MethodPost, "/admin/logout", cookie, url.Values{}, h); a.Status != http.StatusForbidden {
				t.Errorf("cross-site logout %v: %d", h, a.Status)
			}
			if a := e.adminRequest(http.MethodPost, "/admin/test-change", cookie, url.Values{}, h); a.Status != http.StatusForbidden {
				t.Errorf("cross-site change %v: %d", h, a.Status)
			}
		}
		if a := e.adminRequest(http.MethodGet, "/admin/audit", cookie, nil, nil); a.Status != http.StatusOK || strings.Contains(a.Body, "test.change") {
			t.Errorf("after refused requests the session is gone or a change was made: %d", a.Status)
		}
	})
	t.Run("OK same origin", func(t *testing.T) {
		cookie := e.mustLogin("alice", alicePassword) // through sameOrigin
		for _, h := range []http.Header{sameOrigin, {"Origin": {e.HTTP.URL}}} {
			if a := e.adminRequest(http.MethodPost, "/admin/test-change", cookie, url.Values{}, h); a.Status != http.StatusOK {
				t.Errorf("same-origin change %v: %d", h, a.Status)
			}
		}
		if a := e.adminRequest(http.MethodPost, "/admin/logout", cookie, url.Values{}, sameOrigin); a.Status != http.StatusSeeOther {
			t.Errorf("same-origin logout: %d", a.Status)
		}
	})
	t.Run("a script with a token sends no browser headers and passes", func(t *testing.T) {
		a := e.adminRequest(http.MethodPost, "/api/v1/test-change", "", nil, http.Header{"Authorization": {"Bearer " + token}})
		if a.Status != http.StatusOK || a.Body != "token:deploy" {
			t.Errorf("API POST with a token: %d %q", a.Status, a.Body)
		}
		h := http.Header{"Authorization": {"Bearer " + token}, "Sec-Fetch-Site": {"cross-site"}}
		if a := e.adminRequest(http.MethodPost, "/api/v1/test-change", "", nil, h); a.Status != http.StatusForbidden ||
			!strings.Contains(a.Body, `"code":"forbidden"`) {
			t.Errorf("API POST from a browser on another site: %d %s", a.Status, a.Body)
		}
	})
}

func TestAdminAPI_Tokens(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	alice := e.addUser("alice", alicePassword)
	token, hash := account.NewAPIToken()
	tok := &vend.APIToken{Name: "deploy", UserID: alice.ID, Hash: hash}
	e.update(func(ctx context.Context, tx store.Tx) error { return tx.CreateAPIToken(ctx, tok) })
	whoami := func(auth string) (answer, map[string]any) {
		t.Helper()
		h := http.Header{}
		if auth != "" {
			h.Set("Authorization", auth)
		}
		a := e.adminRequest(http.MethodGet, "/api/v1/whoami", "", nil, h)
		var v map[string]any
		if err := json.Unmarshal([]byte(a.Body), &v); err != nil {
			t.Fatalf("whoami: %d, not JSON: %q", a.Status, a.Body)
		}
		return a, v
	}

	forged, _ := account.NewAPIToken()
	for _, tt := range []struct{ name, auth string }{
		{"ErrNoToken", ""},
		{"ErrBadToken", "Bearer " + forged},
		{"ErrTokenHash", "Bearer " + hash}, // the stored hash is not a token
		{"ErrNotBearer", "Basic " + token},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, v := whoami(tt.auth)
			errObj, _ := v["error"].(map[string]any)
			if a.Status != http.StatusUnauthorized || errObj["code"] != "unauthorized" || errObj["message"] == "" ||
				!strings.HasPrefix(a.Header.Get("Content-Type"), "application/json") || a.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%d %v %v", a.Status, a.Header, v)
			}
		})
	}
	t.Run("OK", func(t *testing.T) {
		e.Clock.Add(time.Hour)
		a, v := whoami("Bearer " + token)
		if a.Status != http.StatusOK || v["actor"] != "token:deploy" || v["user_id"] != float64(alice.ID) {
			t.Fatalf("whoami with a token: %d %v", a.Status, v)
		}
		e.view(func(ctx context.Context, tx store.Tx) error {
			got, err := tx.FindAPITokenByHash(ctx, hash)
			if err != nil || !got.LastUsedAt.Equal(testEpoch.Add(time.Hour)) {
				t.Errorf("last used %v, %v", got.LastUsedAt, err)
			}
			return nil
		})
	})
	t.Run("OK with a session", func(t *testing.T) {
		cookie := e.mustLogin("alice", alicePassword)
		a := e.adminRequest(http.MethodGet, "/api/v1/whoami", cookie, nil, nil)
		if a.Status != http.StatusOK || !strings.Contains(a.Body, `"actor":"user:alice"`) {
			t.Errorf("whoami with a session: %d %s", a.Status, a.Body)
		}
	})
	t.Run("a deleted token stops working", func(t *testing.T) {
		e.update(func(ctx context.Context, tx store.Tx) error { return tx.DeleteAPIToken(ctx, tok.ID) })
		if a, _ := whoami("Bearer " + token); a.Status != http.StatusUnauthorized {
			t.Errorf("deleted token: %d", a.Status)
		}
	})
	t.Run("a token is no session: pages still want a login", func(t *testing.T) {
		token2, hash2 := account.NewAPIToken()
		e.update(func(ctx context.Context, tx store.Tx) error {
			return tx.CreateAPIToken(ctx, &vend.APIToken{Name: "other", UserID: alice.ID, Hash: hash2})
		})
		a := e.adminRequest(http.MethodGet, "/admin/audit", "", nil, http.Header{"Authorization": {"Bearer " + token2}})
		if a.Status != http.StatusSeeOther {
			t.Errorf("admin page with a bearer token: %d", a.Status)
		}
	})
}

func TestAdminSetup(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	ctx := context.Background()
	token, err := account.SetupToken(ctx, e.DB)
	if err != nil || len(token) != 43 {
		t.Fatalf("SetupToken on an empty shop: %q, %v", token, err)
	}
	setup := func(token, name, pw, pw2 string) answer {
		t.Helper()
		return e.adminRequest(http.MethodPost, "/admin/setup", "",
			url.Values{"token": {token}, "name": {name}, "password": {pw}, "password2": {pw2}}, sameOrigin)
	}

	t.Run("the form", func(t *testing.T) {
		a := e.Get("/admin/setup?token=" + token)
		if a.Status != http.StatusOK || !strings.Contains(a.Body, `name="token" value="`+token+`"`) {
			t.Errorf("setup form: %d\n%s", a.Status, a.Body)
		}
		if a := e.Get("/admin/login"); !strings.Contains(a.Body, "no administrator yet") {
			t.Errorf("the login page does not say there is no user yet:\n%s", a.Body)
		}
	})
	t.Run("ErrBadToken", func(t *testing.T) {
		for _, bad := range []string{"", account.NewToken(), account.TokenHash(token)} {
			if a := e.Get("/admin/setup?token=" + url.QueryEscape(bad)); a.Status != http.StatusForbidden || strings.Contains(a.Body, `name="password"`) {
				t.Errorf("GET with token %q: %d", bad, a.Status)
			}
			if a := setup(bad, "mallory", alicePassword, alicePassword); a.Status != http.StatusForbidden {
				t.Errorf("POST with token %q: %d", bad, a.Status)
			}
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		for _, tt := range []struct{ name, pw, pw2 string }{
			{"alice", "short", "short"},
			{"alice", alicePassword, alicePassword + "x"},
			{"", alicePassword, alicePassword},
			{"alice smith", alicePassword, alicePassword},
			{"<script>", alicePassword, alicePassword},
		} {
			a := setup(token, tt.name, tt.pw, tt.pw2)
			if a.Status != http.StatusBadRequest || strings.Contains(a.Body, "<script>") {
				t.Errorf("setup %q %q/%q: %d", tt.name, tt.pw, tt.pw2, a.Status)
			}
		}
	})
	t.Run("ErrCrossSite", func(t *testing.T) {
		a := e.adminRequest(http.MethodPost, "/admin/setup", "",
			url.Values{"token": {token}, "name": {"mallory"}, "password": {alicePassword}, "password2": {alicePassword}}, crossSite)
		if a.Status != http.StatusForbidden {
			t.Errorf("cross-site setup: %d", a.Status)
		}
	})
	t.Run("OK once", func(t *testing.T) {
		a := setup(token, "alice", alicePassword, alicePassword)
		c := sessionCookie(a)
		if a.Status != http.StatusSeeOther || a.Header.Get("Location") != "/admin" || c == nil {
			t.Fatalf("setup: %d %q\n%s", a.Status, a.Header.Get("Location"), a.Body)
		}
		if page := e.adminRequest(http.MethodGet, "/admin/audit", c.Value, nil, nil); page.Status != http.StatusOK ||
			!strings.Contains(page.Body, "user.create") || !strings.Contains(page.Body, "setup") {
			t.Errorf("signed in after setup, the audit page: %d\n%s", page.Status, page.Body)
		}
		if a := e.login("alice", alicePassword, "", nil); a.Status != http.StatusSeeOther {
			t.Errorf("login with the new user: %d", a.Status)
		}
		e.Clock.Add(loginsPerIPEvery * loginsPerIPBurst) // the tries above spent the address's budget
		if a := setup(token, "mallory", alicePassword, alicePassword); a.Status != http.StatusForbidden {
			t.Errorf("the link a second time: %d", a.Status)
		}
		if a := e.Get("/admin/setup?token=" + token); a.Status != http.StatusForbidden {
			t.Errorf("GET the used link: %d", a.Status)
		}
		if tok, err := account.SetupToken(ctx, e.DB); tok != "" || err != nil {
			t.Errorf("SetupToken with a user: %q, %v", tok, err)
		}
		e.view(func(ctx context.Context, tx store.Tx) error {
			if users, _ := tx.FindUsers(ctx); len(users) != 1 || users[0].Name != "alice" {
				t.Errorf("users %v", users)
			}
			return nil
		})
	})
}

func TestAdminSetup_LinkExpires(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	old, err := account.SetupToken(context.Background(), e.DB)
	if err != nil {
		t.Fatal(err)
	}
	e.Clock.Add(account.SetupLinkLifetime)
	fresh, err := account.SetupToken(context.Background(), e.DB) // a restart prints a new one
	if err != nil || fresh == old {
		t.Fatal(fresh, err)
	}
	if a := e.Get("/admin/setup?token=" + old); a.Status != http.StatusForbidden {
		t.Errorf("expired link: %d", a.Status)
	}
	if a := e.Get("/admin/setup?token=" + fresh); a.Status != http.StatusOK {
		t.Errorf("fresh link: %d", a.Status)
	}
}

func TestAdminAudit_EscapesEverything(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.addUser("alice", alicePassword)
	const evil = `<script>alert("x")</script>`
	e.update(func(ctx context.Context, tx store.Tx) error {
		before := map[string]string{"buyer_name": evil}
		after := map[string]string{"buyer_name": "Eve " + evil, "note": `"><img src=x onerror=alert(1)>`}
		if err := store.RecordAudit(ctx, tx, "user:alice", "order.edit", "order:7", before, after); err != nil {
			return err
		}
		if err := store.RecordAudit(ctx, tx, "token:"+evil, "order.edit"+evil, "order:"+evil, nil, nil); err != nil {
			return err
		}
		return store.RecordAudit(ctx, tx, "cli", "grant.revoke", "grant:12", nil, map[string]string{"state": "revoked"})
	})
	cookie := e.mustLogin("alice", alicePassword)
	// The rows of the page's table (the form above has examples of targets).
	rows := func(path string) string {
		t.Helper()
		page := e.adminRequest(http.MethodGet, path, cookie, nil, nil)
		i := strings.Index(page.Body, "<tbody>")
		if page.Status != http.StatusOK || i < 0 {
			t.Fatalf("%s: %d\n%s", path, page.Status, page.Body)
		}
		return page.Body[i:]
	}
	page := e.adminRequest(http.MethodGet, "/admin/audit", cookie, nil, nil)
	if strings.Contains(page.Body, "<script>") {
		t.Errorf("the audit page has <script> unescaped")
	}
	page.Body = rows("/admin/audit")
	for _, raw := range []string{"<script>", "<img", "onerror=alert(1)>"} {
		if strings.Contains(page.Body, raw) {
			t.Errorf("the audit page has %q unescaped", raw)
		}
	}
	for _, want := range []string{"&lt;script&gt;", "order:7", "grant:12", "cli", "user:alice", "revoked"} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("the audit page lacks %q", want)
		}
	}
	if strings.Index(page.Body, "grant:12") > strings.Index(page.Body, "order:7") {
		t.Error("the audit page is not newest first")
	}

	t.Run("filter by target", func(t *testing.T) {
		if page := rows("/admin/audit?target=order:7"); !strings.Contains(page, "order:7") || strings.Contains(page, "grant:12") {
			t.Errorf("filtered page:\n%s", page)
		}
		page := e.adminRequest(http.MethodGet, "/admin/audit?target="+url.QueryEscape("order:"+evil), cookie, nil, nil)
		if strings.Contains(page.Body, "<script>") || !strings.Contains(page.Body, "order.edit&lt;script&gt;") {
			t.Errorf("filtered by a hostile target:\n%s", page.Body)
		}
	})
	t.Run("ErrNoActor", func(t *testing.T) {
		err := e.DB.Update(context.Background(), func(tx store.Tx) error {
			return e.Server.audit(context.Background(), tx, "x", "y:1", nil, nil)
		})
		if err == nil {
			t.Error("audit outside an admin request wrote an entry")
		}
	})
}

func (e *testEnv) update(fn func(ctx context.Context, tx store.Tx) error) {
	e.tb.Helper()
	ctx := context.Background()
	if err := e.DB.Update(ctx, func(tx store.Tx) error { return fn(ctx, tx) }); err != nil {
		e.tb.Fatal(err)
	}
}
