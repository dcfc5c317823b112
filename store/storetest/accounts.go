package storetest

import (
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

func createUser(tb testing.TB, db store.DB, name string) *vend.User {
	tb.Helper()
	u := &vend.User{Name: name, PasswordHash: "$argon2id$hash-of-" + name}
	update(tb, db, func(tx store.Tx) error { return tx.CreateUser(ctx, u) })
	return u
}

func testAccounts(t *testing.T, open Opener) {
	subtests(t, open, map[string]func(t *testing.T, db store.DB){
		"users are found by id and name; a name is taken once": func(t *testing.T, db store.DB) {
			alice := createUser(t, db, "alice")
			createUser(t, db, "bob")
			err := db.Update(ctx, func(tx store.Tx) error { return tx.CreateUser(ctx, &vend.User{Name: "alice", PasswordHash: "x"}) })
			if vend.ErrorCode(err) != vend.ECONFLICT {
				t.Errorf("second alice: %v, want ECONFLICT", err)
			}
			alice.PasswordHash, alice.LastLoginAt = "$argon2id$new", time.Now().Truncate(time.Millisecond)
			update(t, db, func(tx store.Tx) error { return tx.UpdateUser(ctx, alice) })
			view(t, db, func(tx store.Tx) error {
				byName, err := tx.FindUserByName(ctx, "alice")
				if err != nil {
					return err
				}
				byID, err := tx.FindUserByID(ctx, alice.ID)
				if err != nil {
					return err
				}
				if byName.ID != alice.ID || byID.PasswordHash != "$argon2id$new" || !byID.LastLoginAt.Equal(alice.LastLoginAt) {
					t.Errorf("read back %+v and %+v, want %+v", byName, byID, alice)
				}
				users, err := tx.FindUsers(ctx)
				if err != nil {
					return err
				}
				if len(users) != 2 || users[0].Name != "alice" || users[1].Name != "bob" {
					t.Errorf("FindUsers: %+v", users)
				}
				if _, err := tx.FindUserByName(ctx, "carol"); vend.ErrorCode(err) != vend.ENOTFOUND {
					t.Errorf("carol: %v, want ENOTFOUND", err)
				}
				return nil
			})
		},
		"a deleted user takes its sessions and tokens along, and no one else's": func(t *testing.T, db store.DB) {
			alice, bob := createUser(t, db, "alice"), createUser(t, db, "bob")
			expires := time.Now().Add(time.Hour)
			update(t, db, func(tx store.Tx) error {
				for _, u := range []*vend.User{alice, bob} {
					if err := tx.CreateAdminSession(ctx, &vend.AdminSession{Hash: "s-" + u.Name, UserID: u.ID, ExpiresAt: expires}); err != nil {
						return err
					}
					if err := tx.CreateAPIToken(ctx, &vend.APIToken{Name: "deploy", UserID: u.ID, Hash: "t-" + u.Name}); err != nil {
						return err
					}
				}
				return tx.DeleteUser(ctx, alice.ID)
			})
			view(t, db, func(tx store.Tx) error {
				if _, err := tx.FindUserByID(ctx, alice.ID); vend.ErrorCode(err) != vend.ENOTFOUND {
					t.Errorf("alice after delete: %v, want ENOTFOUND", err)
				}
				for hash, want := range map[string]bool{"alice": false, "bob": true} {
					_, err := tx.FindAdminSession(ctx, "s-"+hash)
					if (err == nil) != want {
						t.Errorf("session of %s: %v, want found %v", hash, err, want)
					}
					_, err = tx.FindAPITokenByHash(ctx, "t-"+hash)
					if (err == nil) != want {
						t.Errorf("token of %s: %v, want found %v", hash, err, want)
					}
				}
				return nil
			})
			err := db.Update(ctx, func(tx store.Tx) error { return tx.DeleteUser(ctx, alice.ID) })
			if vend.ErrorCode(err) != vend.ENOTFOUND {
				t.Errorf("deleting alice again: %v, want ENOTFOUND", err)
			}
		},
		"sessions are found until they expire, and end with logout or a new password": func(t *testing.T, db store.DB) {
			alice := createUser(t, db, "alice")
			now := time.Now()
			for _, s := range []*vend.AdminSession{
				{Hash: "live", UserID: alice.ID, ExpiresAt: now.Add(time.Hour)},
				{Hash: "other", UserID: alice.ID, ExpiresAt: now.Add(time.Hour)},
				{Hash: "old", UserID: alice.ID, ExpiresAt: now.Add(-time.Second)},
			} {
				update(t, db, func(tx store.Tx) error { return tx.CreateAdminSession(ctx, s) })
			}
			find := func(hash string) error {
				return db.View(ctx, func(tx store.Tx) error { _, err := tx.FindAdminSession(ctx, hash); return err })
			}
			if err := find("live"); err != nil {
				t.Errorf("live session: %v", err)
			}
			if err := find("old"); vend.ErrorCode(err) != vend.ENOTFOUND {
				t.Errorf("expired session: %v, want ENOTFOUND", err)
			}
			update(t, db, func(tx store.Tx) error { return tx.DeleteAdminSession(ctx, "live") })
			if err := find("live"); vend.ErrorCode(err) != vend.ENOTFOUND {
				t.Errorf("after logout: %v", err)
			}
			update(t, db, func(tx store.Tx) error { return tx.DeleteUserSessions(ctx, alice.ID) })
			if err := find("other"); vend.ErrorCode(err) != vend.ENOTFOUND {
				t.Errorf("after a new password: %v", err)
			}
		},
		"API tokens are found by hash, listed, touched and deleted": func(t *testing.T, db store.DB) {
			alice := createUser(t, db, "alice")
			tok := &vend.APIToken{Name: "deploy", UserID: alice.ID, Hash: "h1"}
			update(t, db, func(tx store.Tx) error { return tx.CreateAPIToken(ctx, tok) })
			update(t, db, func(tx store.Tx) error { return tx.TouchAPIToken(ctx, tok.ID) })
			view(t, db, func(tx store.Tx) error {
				got, err := tx.FindAPITokenByHash(ctx, "h1")
				if err != nil {
					return err
				}
				if got.ID != tok.ID || got.Name != "deploy" || got.UserID != alice.ID || got.LastUsedAt.IsZero() {
					t.Errorf("token %+v", got)
				}
				all, err := tx.FindAPITokens(ctx)
				if len(all) != 1 {
					t.Errorf("%d tokens", len(all))
				}
				return err
			})
			update(t, db, func(tx store.Tx) error { return tx.DeleteAPIToken(ctx, tok.ID) })
			err := db.View(ctx, func(tx store.Tx) error { _, err := tx.FindAPITokenByHash(ctx, "h1"); return err })
			if vend.ErrorCode(err) != vend.ENOTFOUND {
				t.Errorf("deleted token: %v", err)
			}
		},
		"audit entries are kept and found by target, newest first": func(t *testing.T, db store.DB) {
			for _, e := range []*vend.AuditEntry{
				{Actor: "user:alice", Action: "grant.reset", Target: "grant:1", Before: `{"downloads_used":5}`, After: `{"downloads_used":0}`},
				{Actor: "token:deploy", Action: "order.edit", Target: "order:7"},
				{Actor: "cli", Action: "grant.revoke", Target: "grant:1"},
			} {
				update(t, db, func(tx store.Tx) error { return tx.CreateAuditEntry(ctx, e) })
			}
			view(t, db, func(tx store.Tx) error {
				es, err := tx.FindAuditEntries(ctx, store.AuditFilter{Target: "grant:1"})
				if err != nil {
					return err
				}
				if len(es) != 2 || es[0].Action != "grant.revoke" || es[1].Before != `{"downloads_used":5}` || es[1].At.IsZero() {
					t.Errorf("entries %+v", es)
				}
				all, err := tx.FindAuditEntries(ctx, store.AuditFilter{})
				if len(all) != 3 {
					t.Errorf("%d entries, want 3", len(all))
				}
				return err
			})
		},
	})
}
