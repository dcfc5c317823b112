package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// runStdin runs one command in process, as Main does, with stdin as its
// standard input.
func runStdin(t *testing.T, env []string, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	app := &App{Stdout: &out, Stderr: &errOut, Environ: env}
	root := newRootCmd(app)
	root.SetArgs(args)
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errOut)
	if err := root.ExecuteContext(context.Background()); err != nil {
		errOut.WriteString("vend: " + err.Error() + "\n")
		return out.String(), errOut.String(), 1
	}
	return out.String(), errOut.String(), 0
}

// auditTrail returns the data directory's audit entries, newest first.
func auditTrail(t *testing.T, dataDir string) []*vend.AuditEntry {
	t.Helper()
	db := openLedger(t, dataDir)
	var out []*vend.AuditEntry
	err := db.View(context.Background(), func(tx store.Tx) error {
		var err error
		out, err = tx.FindAuditEntries(context.Background(), store.AuditFilter{Limit: 100})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestUserCLI(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	env := []string{"VEND_DATA_DIR=" + dir, "VEND_BASE_URL=https://shop.example.com"}
	const pw, newPW = "a long password for alice", "another long password"

	t.Run("add", func(t *testing.T) {
		out, errOut, code := runStdin(t, env, pw+"\n", "user", "add", "alice", "--password-stdin")
		if code != 0 || !strings.Contains(out, "User alice added") || !strings.Contains(out, "https://shop.example.com/admin/login") {
			t.Fatalf("user add: exit %d\n%s%s", code, out, errOut)
		}
	})
	t.Run("ErrAdd", func(t *testing.T) {
		tests := []struct{ name, stdin, want string }{
			{"alice", pw, "There is a user"},
			{"bob", "short\n", "at least 10 characters"},
			{"bob", "", "at least 10 characters"},
			{"bob smith", pw, "no spaces"},
			{"", pw, "1 to 64"},
		}
		for _, tt := range tests {
			_, errOut, code := runStdin(t, env, tt.stdin, "user", "add", tt.name, "--password-stdin")
			if code == 0 || !strings.Contains(errOut, tt.want) {
				t.Errorf("user add %q with %q: exit %d, %s; want %q", tt.name, tt.stdin, code, errOut, tt.want)
			}
		}
		// No terminal and no --password-stdin: nothing to ask on.
		if _, errOut, code := runStdin(t, env, pw+"\n", "user", "add", "carol"); code == 0 || !strings.Contains(errOut, "--password-stdin") {
			t.Errorf("user add without a terminal: exit %d %s", code, errOut)
		}
	})
	t.Run("list", func(t *testing.T) {
		mustVend(t, env, "user", "list") // reads fine
		var users []map[string]any
		if err := json.Unmarshal([]byte(mustVend(t, env, "user", "list", "--json")), &users); err != nil {
			t.Fatal(err)
		}
		if len(users) != 1 || users[0]["name"] != "alice" {
			t.Fatalf("users %v", users)
		}
		for k := range users[0] {
			if strings.Contains(k, "password") || strings.Contains(k, "hash") {
				t.Errorf("user list --json shows %s", k)
			}
		}
		if out := mustVend(t, env, "user", "list"); !strings.Contains(out, "alice") || !strings.Contains(out, "never") {
			t.Errorf("user list:\n%s", out)
		}
	})
	t.Run("passwd ends every session", func(t *testing.T) {
		db := openLedger(t, dir)
		ctx := context.Background()
		var alice *vend.User
		err := db.Update(ctx, func(tx store.Tx) error {
			var err error
			if alice, err = tx.FindUserByName(ctx, "alice"); err != nil {
				return err
			}
			return tx.CreateAdminSession(ctx, &vend.AdminSession{Hash: "signed-in-browser", UserID: alice.ID, ExpiresAt: time.Now().Add(time.Hour)})
		})
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !vend.CheckPassword(alice.PasswordHash, pw) {
			t.Fatal("the added user's hash does not check")
		}
		out, errOut, code := runStdin(t, env, newPW+"\n", "user", "passwd", "alice", "--password-stdin")
		if code != 0 || !strings.Contains(out, "Password of alice changed") {
			t.Fatalf("passwd: exit %d\n%s%s", code, out, errOut)
		}
		db = openLedger(t, dir)
		db.View(ctx, func(tx store.Tx) error {
			if _, err := tx.FindAdminSession(ctx, "signed-in-browser"); vend.ErrorCode(err) != vend.ENOTFOUND {
				t.Errorf("the session outlived the new password: %v", err)
			}
			u, err := tx.FindUserByName(ctx, "alice")
			if err != nil || !vend.CheckPassword(u.PasswordHash, newPW) || vend.CheckPassword(u.PasswordHash, pw) {
				t.Errorf("after passwd the new password does not check, or the old one does")
			}
			return nil
		})
		if _, errOut, code := runStdin(t, env, newPW+"\n", "user", "passwd", "nobody", "--password-stdin"); code == 0 || !strings.Contains(errOut, "No such user") {
			t.Errorf("passwd of nobody: exit %d %s", code, errOut)
		}
	})

	var token string
	var tokenID float64
	t.Run("token create", func(t *testing.T) {
		var created map[string]any
		if err := json.Unmarshal([]byte(mustVend(t, env, "token", "create", "--name", "deploy", "--json")), &created); err != nil {
			t.Fatal(err)
		}
		token, _ = created["token"].(string)
		tokenID, _ = created["id"].(float64)
		if !strings.HasPrefix(token, "vend_") || len(token) < 40 || created["name"] != "deploy" || created["hash"] != nil {
			t.Fatalf("token create: %v", created)
		}
		out := mustVend(t, env, "token", "create", "--name", "backup script", "--user", "alice")
		if m := regexp.MustCompile(`Bearer (vend_\S+)`).FindStringSubmatch(out); m == nil || m[1] == token {
			t.Errorf("token create prints no new token:\n%s", out)
		}
		if _, errOut, code := runMain(t, env, "token", "create", "--name", "x", "--user", "nobody"); code == 0 || !strings.Contains(errOut, "No such user") {
			t.Errorf("token for nobody: exit %d %s", code, errOut)
		}
		if _, errOut, code := runMain(t, env, "token", "create"); code == 0 || !strings.Contains(errOut, "name") {
			t.Errorf("token without a name: exit %d %s", code, errOut)
		}
	})
	t.Run("token list shows no secret", func(t *testing.T) {
		out := mustVend(t, env, "token", "list", "--json")
		sum := sha256.Sum256([]byte(token))
		if strings.Contains(out, token) || strings.Contains(out, hex.EncodeToString(sum[:])) {
			t.Errorf("token list shows the token or its hash:\n%s", out)
		}
		var tokens []map[string]any
		if err := json.Unmarshal([]byte(out), &tokens); err != nil || len(tokens) != 2 || tokens[0]["name"] != "deploy" {
			t.Errorf("token list --json: %v %s", err, out)
		}
		if table := mustVend(t, env, "token", "list"); !strings.Contains(table, "backup script") || !strings.Contains(table, "alice") {
			t.Errorf("token list:\n%s", table)
		}
		// The store holds the hash the server looks tokens up by.
		db := openLedger(t, dir)
		db.View(context.Background(), func(tx store.Tx) error {
			if got, err := tx.FindAPITokenByHash(context.Background(), hex.EncodeToString(sum[:])); err != nil || got.Name != "deploy" {
				t.Errorf("token by hash: %v %v", got, err)
			}
			return nil
		})
	})
	t.Run("token delete", func(t *testing.T) {
		id := fmt.Sprint(int64(tokenID))
		if out := mustVend(t, env, "token", "delete", id); !strings.Contains(out, `"deploy" deleted`) {
			t.Errorf("token delete: %s", out)
		}
		if out := mustVend(t, env, "token", "list"); strings.Contains(out, "deploy") {
			t.Errorf("deleted token still listed:\n%s", out)
		}
		if _, errOut, code := runMain(t, env, "token", "delete", id); code == 0 || !strings.Contains(errOut, "No API token") {
			t.Errorf("deleting it again: exit %d %s", code, errOut)
		}
	})
	t.Run("every change is in the audit trail, without secrets", func(t *testing.T) {
		entries := auditTrail(t, dir)
		var actions []string
		for _, e := range entries {
			actions = append(actions, e.Action+" "+e.Target)
			if e.Actor != "cli" {
				t.Errorf("entry %s by %q, want cli", e.Action, e.Actor)
			}
			for _, secret := range []string{pw, newPW, token, "argon2id", `"hash"`} {
				if strings.Contains(e.Before+e.After, secret) {
					t.Errorf("entry %s holds %q: %s %s", e.Action, secret, e.Before, e.After)
				}
			}
		}
		want := []string{"token.delete token:1", "token.create token:2", "token.create token:1", "user.passwd user:1", "user.create user:1"}
		if strings.Join(actions, ", ") != strings.Join(want, ", ") {
			t.Errorf("audit trail\n got %v\nwant %v", actions, want)
		}
		if !strings.Contains(entries[0].Before, `"name":"deploy"`) || entries[0].After != "" {
			t.Errorf("token.delete before %s after %s", entries[0].Before, entries[0].After)
		}
	})
}

// TestServe_SetupLink starts vend serve on an empty data directory: it prints a
// setup link that creates the first administrator, once; started again, with a
// user, it prints none.
func TestServe_SetupLink(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	addr := freeAddr(t)
	env := []string{"VEND_DATA_DIR=" + dir, "VEND_LISTEN=" + addr, "VEND_LOG_LEVEL=warn"}
	// serve starts vend serve and returns what it printed once listening, and
	// a function that stops it.
	serve := func() (string, func()) {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan int, 1)
		var out, errOut syncBuffer
		go func() { done <- Main(ctx, []string{"serve"}, &out, &errOut, env) }()
		stopped := false
		stop := func() {
			if stopped {
				return
			}
			stopped = true
			cancel()
			if code := <-done; code != 0 {
				t.Errorf("vend serve exited %d\n%s", code, errOut.String())
			}
		}
		t.Cleanup(stop)
		// serve warns that PayPal is not configured after everything it prints
		// at start: the listening line and, if it makes one, the setup link.
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(errOut.String(), "every PayPal IPN will be refused") {
			if time.Now().After(deadline) {
				t.Fatalf("vend serve did not start:\n%s%s", out.String(), errOut.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		return out.String(), stop
	}

	out, stop := serve()
	m := regexp.MustCompile(`Set up the first admin user: (http://\S+/admin/setup\?token=(\S+))`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("first serve printed no setup link:\n%s", out)
	}
	link, token := m[1], m[2]
	if code, body := get(t, link); code != http.StatusOK || !strings.Contains(body, `name="password"`) {
		t.Fatalf("GET %s: %d\n%s", link, code, body)
	}
	post := func(name string) *http.Response {
		t.Helper()
		resp, err := noRedirect.PostForm("http://"+addr+"/admin/setup", url.Values{"token": {token}, "name": {name},
			"password": {"a long password for alice"}, "password2": {"a long password for alice"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := post("alice"); resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) == 0 {
		t.Fatalf("setup: %d", resp.StatusCode)
	}
	if resp := post("mallory"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("the link a second time: %d", resp.StatusCode)
	}
	if out := mustVend(t, env, "user", "list"); !strings.Contains(out, "alice") || strings.Contains(out, "mallory") {
		t.Errorf("users after setup:\n%s", out)
	}
	if entries := auditTrail(t, dir); len(entries) != 1 || entries[0].Actor != "setup" || entries[0].Action != "user.create" {
		t.Errorf("audit trail after setup: %+v", entries)
	}
	stop()

	if out, _ := serve(); strings.Contains(out, "Set up") || !strings.Contains(out, "listening") {
		t.Errorf("serve with an administrator printed:\n%s", out)
	}
}

func TestUserDeleteCLI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := []string{"VEND_DATA_DIR=" + dir}
	const pw = "a long password for anyone"
	for _, name := range []string{"alice", "bob"} {
		if out, errOut, code := runStdin(t, env, pw+"\n", "user", "add", name, "--password-stdin"); code != 0 {
			t.Fatalf("user add %s: exit %d\n%s%s", name, code, out, errOut)
		}
	}
	mustVend(t, env, "token", "create", "--name", "bob's script", "--user", "bob")
	mustVend(t, env, "token", "create", "--name", "alice's script", "--user", "alice")
	db := openLedger(t, dir)
	ctx := context.Background()
	err := db.Update(ctx, func(tx store.Tx) error {
		bob, err := tx.FindUserByName(ctx, "bob")
		if err != nil {
			return err
		}
		return tx.CreateAdminSession(ctx, &vend.AdminSession{Hash: "bobs-browser", UserID: bob.ID, ExpiresAt: time.Now().Add(time.Hour)})
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	if out := mustVend(t, env, "user", "delete", "bob"); !strings.Contains(out, "User bob deleted") {
		t.Errorf("user delete bob: %s", out)
	}
	db = openLedger(t, dir)
	db.View(ctx, func(tx store.Tx) error {
		if _, err := tx.FindAdminSession(ctx, "bobs-browser"); vend.ErrorCode(err) != vend.ENOTFOUND {
			t.Errorf("bob's session outlived him: %v", err)
		}
		return nil
	})
	db.Close()
	if tokens := mustVend(t, env, "token", "list"); strings.Contains(tokens, "bob's script") || !strings.Contains(tokens, "alice's script") {
		t.Errorf("token list after deleting bob:\n%s", tokens)
	}
	if e := auditTrail(t, dir)[0]; e.Action != "user.delete" || e.Target != "user:2" || !strings.Contains(e.Before, `"bob's script"`) || e.After != "" {
		t.Errorf("audit entry %s %s before %s after %s", e.Action, e.Target, e.Before, e.After)
	}

	// Without an administrator only the CLI could open the admin again.
	if _, errOut, code := runMain(t, env, "user", "delete", "alice"); code == 0 || !strings.Contains(errOut, "last administrator") {
		t.Errorf("deleting the last administrator: exit %d %s", code, errOut)
	}
	if _, errOut, code := runMain(t, env, "user", "delete", "bob"); code == 0 || !strings.Contains(errOut, "No such user") {
		t.Errorf("deleting bob again: exit %d %s", code, errOut)
	}
}
