package account_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/account"
	"github.com/vend-shop/vend/store"
	"github.com/vend-shop/vend/store/sqlite/sqlitetest"
)

const password = "a long enough password"

func TestNewUser(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		u, err := account.NewUser("alice", password)
		if err != nil {
			t.Fatal(err)
		}
		if u.Name != "alice" || !vend.CheckPassword(u.PasswordHash, password) {
			t.Errorf("user %q, or the hash does not check", u.Name)
		}
	})
	for _, tt := range []struct{ name, user, pw string }{
		{"ErrNameEmpty", "", password},
		{"ErrNameSpace", "alice smith", password},
		{"ErrPasswordShort", "alice", "short"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := account.NewUser(tt.user, tt.pw); vend.ErrorCode(err) != vend.EINVALID {
				t.Errorf("NewUser(%q, %q): %v, want EINVALID", tt.user, tt.pw, err)
			}
		})
	}
}

// auditEntries returns the audit trail, newest first, as "actor action target".
func auditEntries(t *testing.T, db store.DB) []string {
	t.Helper()
	var out []string
	err := db.View(context.Background(), func(tx store.Tx) error {
		es, err := tx.FindAuditEntries(context.Background(), store.AuditFilter{})
		for _, e := range es {
			out = append(out, e.Actor+" "+e.Action+" "+e.Target)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCreateUser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := sqlitetest.MustOpenDB(t)
	u, err := account.NewUser("alice", password)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(ctx, func(tx store.Tx) error { return account.CreateUser(ctx, tx, u, "cli") }); err != nil {
		t.Fatal(err)
	}
	if got := auditEntries(t, db); len(got) != 1 || got[0] != fmt.Sprintf("cli user.create user:%d", u.ID) {
		t.Errorf("audit trail %q", got)
	}
	again := &vend.User{Name: "alice", PasswordHash: u.PasswordHash}
	err = db.Update(ctx, func(tx store.Tx) error { return account.CreateUser(ctx, tx, again, "cli") })
	if vend.ErrorCode(err) != vend.ECONFLICT || !strings.Contains(vend.ErrorMessage(err), "alice") {
		t.Errorf("a second alice: %v", err)
	}
}

func TestSetup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := sqlitetest.MustOpenDB(t)
	token, err := account.SetupToken(ctx, db)
	if err != nil || len(token) != 43 {
		t.Fatalf("SetupToken on an empty shop: %q, %v", token, err)
	}
	if err := account.CheckSetupToken(ctx, db, token); err != nil {
		t.Errorf("the fresh link: %v", err)
	}
	for _, bad := range []string{"", account.NewToken(), account.TokenHash(token)} {
		if err := account.CheckSetupToken(ctx, db, bad); !errors.Is(err, account.ErrSetupLink) {
			t.Errorf("token %q: %v", bad, err)
		}
	}
	alice, err := account.NewUser("alice", password)
	if err != nil {
		t.Fatal(err)
	}
	if err := account.Setup(ctx, db, token, alice); err != nil {
		t.Fatal(err)
	}
	if got := auditEntries(t, db); len(got) != 1 || got[0] != fmt.Sprintf("setup user.create user:%d", alice.ID) {
		t.Errorf("audit trail %q", got)
	}
	mallory, err := account.NewUser("mallory", password)
	if err != nil {
		t.Fatal(err)
	}
	if err := account.Setup(ctx, db, token, mallory); !errors.Is(err, account.ErrSetupLink) {
		t.Errorf("the link a second time: %v", err)
	}
	if tok, err := account.SetupToken(ctx, db); tok != "" || err != nil {
		t.Errorf("SetupToken with a user: %q, %v", tok, err)
	}
}

func TestNewAPIToken(t *testing.T) {
	t.Parallel()
	token, hash := account.NewAPIToken()
	other, _ := account.NewAPIToken()
	if !strings.HasPrefix(token, "vend_") || hash != account.TokenHash(token) || hash == token || other == token {
		t.Errorf("token %q, hash %q, another %q", token, hash, other)
	}
}
