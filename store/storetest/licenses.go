package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// mustLicense issues key for unit of the fixture's item.
func mustLicense(tb testing.TB, db store.DB, f fixture, unit int, key string) *vend.License {
	tb.Helper()
	l := &vend.License{GrantID: f.Grant.ID, OrderID: f.Order.ID, ItemID: f.Item.ID, ProductID: f.Product.ID, Unit: unit, Key: key,
		ActivationLimit: 2, ExpiresAt: time.Now().Add(time.Hour)}
	update(tb, db, func(tx store.Tx) error { return tx.CreateLicense(ctx, l, vend.KeyHash(key)) })
	return l
}

func findLicense(tb testing.TB, db store.DB, id int64) *vend.License {
	tb.Helper()
	var l *vend.License
	view(tb, db, func(tx store.Tx) error {
		var err error
		l, err = tx.FindLicenseByID(ctx, id)
		return err
	})
	return l
}

func testLicenses(t *testing.T, open Opener) {
	subtests(t, open, map[string]func(t *testing.T, db store.DB){
		"CreateLicense stores every field, found by hash and by id": func(t *testing.T, db store.DB) {
			f := mustFixture(t, db, "p")
			l := mustLicense(t, db, f, 0, "ABCDE-FGHJK")
			var byHash *vend.License
			view(t, db, func(tx store.Tx) error {
				var err error
				byHash, err = tx.FindLicenseByHash(ctx, vend.KeyHash("ABCDE-FGHJK"))
				return err
			})
			for name, got := range map[string]*vend.License{"by hash": byHash, "by id": findLicense(t, db, l.ID)} {
				if got.ID != l.ID || got.GrantID != f.Grant.ID || got.OrderID != f.Order.ID || got.ItemID != f.Item.ID ||
					got.ProductID != f.Product.ID || got.Unit != 0 || got.Key != "ABCDE-FGHJK" || got.ActivationLimit != 2 ||
					got.Disabled || !sameTime(got.ExpiresAt, l.ExpiresAt) || !sameTime(got.CreatedAt, l.CreatedAt) || got.Activations != 0 {
					t.Errorf("%s: %+v, want %+v", name, got, l)
				}
			}
			view(t, db, func(tx store.Tx) error {
				_, err := tx.FindLicenseByHash(ctx, vend.KeyHash("NOPE"))
				wantNotFound(t, "an unknown key", err)
				return nil
			})
		},
		"one key per (item, unit), and a key only once": func(t *testing.T, db store.DB) {
			f := mustFixture(t, db, "p")
			mustLicense(t, db, f, 0, "KEY-A")
			for name, l := range map[string]*vend.License{
				"the same unit":     {GrantID: f.Grant.ID, OrderID: f.Order.ID, ItemID: f.Item.ID, ProductID: f.Product.ID, Unit: 0, Key: "KEY-B", ActivationLimit: 1},
				"the same key hash": {GrantID: f.Grant.ID, OrderID: f.Order.ID, ItemID: f.Item.ID, ProductID: f.Product.ID, Unit: 1, Key: "KEY-A", ActivationLimit: 1},
			} {
				err := db.Update(ctx, func(tx store.Tx) error { return tx.CreateLicense(ctx, l, vend.KeyHash(l.Key)) })
				if vend.ErrorCode(err) != vend.ECONFLICT {
					t.Errorf("%s: %v, want ECONFLICT", name, err)
				}
			}
			mustLicense(t, db, f, 1, "KEY-B")
		},
		"UpdateLicense saves disabled, limit and expiry": func(t *testing.T, db store.DB) {
			f := mustFixture(t, db, "p")
			l := mustLicense(t, db, f, 0, "KEY-A")
			l.Disabled, l.ActivationLimit, l.ExpiresAt = true, vend.Unlimited, time.Time{}
			update(t, db, func(tx store.Tx) error { return tx.UpdateLicense(ctx, l) })
			if got := findLicense(t, db, l.ID); !got.Disabled || got.ActivationLimit != vend.Unlimited || !got.ExpiresAt.IsZero() {
				t.Errorf("after update: %+v", got)
			}
			err := db.Update(ctx, func(tx store.Tx) error { return tx.UpdateLicense(ctx, &vend.License{ID: l.ID + 100}) })
			wantNotFound(t, "updating a missing key", err)
		},
		"instances count while active, and deactivate once": func(t *testing.T, db store.DB) {
			f := mustFixture(t, db, "p")
			l := mustLicense(t, db, f, 0, "KEY-A")
			other := mustLicense(t, db, f, 1, "KEY-B")
			for i, name := range []string{"laptop", "desktop"} {
				in := &vend.LicenseInstance{LicenseID: l.ID, InstanceID: fmt.Sprint("inst-", i), Name: name, IP: "192.0.2.1"}
				update(t, db, func(tx store.Tx) error { return tx.LockLicense(ctx, l.ID) })
				update(t, db, func(tx store.Tx) error { return tx.CreateInstance(ctx, in) })
			}
			if got := findLicense(t, db, l.ID).Activations; got != 2 {
				t.Errorf("%d activations, want 2", got)
			}
			update(t, db, func(tx store.Tx) error { return tx.DeactivateInstance(ctx, l.ID, "inst-0") })
			for name, err := range map[string]error{
				"again":              db.Update(ctx, func(tx store.Tx) error { return tx.DeactivateInstance(ctx, l.ID, "inst-0") }),
				"of another key":     db.Update(ctx, func(tx store.Tx) error { return tx.DeactivateInstance(ctx, other.ID, "inst-1") }),
				"an unknown one":     db.Update(ctx, func(tx store.Tx) error { return tx.DeactivateInstance(ctx, l.ID, "nope") }),
				"locking a lost key": db.Update(ctx, func(tx store.Tx) error { return tx.LockLicense(ctx, l.ID+100) }),
			} {
				if name == "locking a lost key" && err == nil {
					continue // SQLite locks nothing per key
				}
				wantNotFound(t, "deactivate "+name, err)
			}
			if got := findLicense(t, db, l.ID).Activations; got != 1 {
				t.Errorf("%d activations after one deactivation, want 1", got)
			}
			var active, all []*vend.LicenseInstance
			view(t, db, func(tx store.Tx) error {
				var err error
				if active, err = tx.FindInstances(ctx, l.ID, false); err != nil {
					return err
				}
				all, err = tx.FindInstances(ctx, l.ID, true)
				return err
			})
			if len(active) != 1 || active[0].InstanceID != "inst-1" || active[0].Name != "desktop" || active[0].IP != "192.0.2.1" {
				t.Errorf("active instances %+v", active)
			}
			if len(all) != 2 || all[0].DeactivatedAt.IsZero() || !all[1].DeactivatedAt.IsZero() {
				t.Errorf("all instances %+v", all)
			}
		},
		"FindLicenses filters by order, grant and product, newest first, in pages": func(t *testing.T, db store.DB) {
			a, b := mustFixture(t, db, "a"), mustFixture(t, db, "b")
			a0, a1 := mustLicense(t, db, a, 0, "A0"), mustLicense(t, db, a, 1, "A1")
			b0 := mustLicense(t, db, b, 0, "B0")
			ids := func(f store.LicenseFilter) []int64 {
				var out []int64
				view(t, db, func(tx store.Tx) error {
					ls, err := tx.FindLicenses(ctx, f)
					for _, l := range ls {
						out = append(out, l.ID)
					}
					return err
				})
				return out
			}
			for _, tt := range []struct {
				name string
				f    store.LicenseFilter
				want []int64
			}{
				{"all", store.LicenseFilter{}, []int64{b0.ID, a1.ID, a0.ID}},
				{"an order", store.LicenseFilter{OrderID: &a.Order.ID}, []int64{a1.ID, a0.ID}},
				{"a grant", store.LicenseFilter{GrantID: &b.Grant.ID}, []int64{b0.ID}},
				{"a product", store.LicenseFilter{ProductID: &b.Product.ID}, []int64{b0.ID}},
				{"a page", store.LicenseFilter{Limit: 2}, []int64{b0.ID, a1.ID}},
				{"the next page", store.LicenseFilter{Limit: 2, Before: a1.ID}, []int64{a0.ID}},
			} {
				if got := ids(tt.f); fmt.Sprint(got) != fmt.Sprint(tt.want) {
					t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
				}
			}
		},
		"the pool: keys added once, claimed oldest first, counted; items waiting for keys": func(t *testing.T, db store.DB) {
			f := mustFixture(t, db, "p")
			p := f.Product
			p.License = vend.LicensePolicy{Mode: vend.LicenseList, ActivationLimit: 1, LowStock: 5}
			update(t, db, func(tx store.Tx) error { return tx.SaveProduct(ctx, p) })
			mustLicense(t, db, f, 0, "ISSUED-1")
			var added int
			update(t, db, func(tx store.Tx) error {
				var err error
				added, err = tx.AddPoolKeys(ctx, p.ID, []string{"key-a", "KEY-B", "KEY-A", "issued-1"})
				return err
			})
			if added != 2 {
				t.Errorf("added %d keys, want 2 (one repeated in another case, one issued already)", added)
			}
			claim := func() (string, error) {
				var key string
				err := db.Update(ctx, func(tx store.Tx) error {
					var err error
					key, err = tx.ClaimPoolKey(ctx, p.ID)
					return err
				})
				return key, err
			}
			count := func() int {
				var n int
				view(t, db, func(tx store.Tx) error {
					var err error
					n, err = tx.CountPoolKeys(ctx, p.ID)
					return err
				})
				return n
			}
			if n := count(); n != 2 {
				t.Errorf("%d unused keys, want 2", n)
			}
			if k, err := claim(); err != nil || k != "key-a" {
				t.Errorf("first claim: %q %v, want the oldest, as written", k, err)
			}
			if k, err := claim(); err != nil || k != "KEY-B" {
				t.Errorf("second claim: %q %v", k, err)
			}
			_, err := claim()
			wantNotFound(t, "a claim from an empty pool", err)
			if n := count(); n != 0 {
				t.Errorf("%d unused keys after taking both", n)
			}
			waiting := func(product string) []store.WaitingItem {
				var out []store.WaitingItem
				view(t, db, func(tx store.Tx) error {
					var err error
					out, err = tx.FindWaitingItems(ctx, product, 10)
					return err
				})
				return out
			}
			if w := waiting(""); len(w) != 0 {
				t.Errorf("waiting %+v, want none", w)
			}
			it := f.Item
			it.Quantity = 3
			update(t, db, func(tx store.Tx) error {
				if err := tx.UpdateItem(ctx, it); err != nil {
					return err
				}
				return tx.SetWaiting(ctx, f.Grant, 2)
			})
			if w := waiting(p.ID); len(w) != 1 || w[0].Item.ID != it.ID || w[0].Have != 1 || w[0].Waiting != 2 || w[0].Grant.ID != f.Grant.ID ||
				w[0].Item.Quantity != 3 {
				t.Errorf("waiting %+v, want the item with 1 of 3 and 2 waiting", w)
			}
			if w := waiting("other"); len(w) != 0 {
				t.Errorf("another product's waiting items: %+v", w)
			}
			update(t, db, func(tx store.Tx) error { return tx.SetWaiting(ctx, f.Grant, 1) })
			if w := waiting(""); len(w) != 1 || w[0].Waiting != 1 {
				t.Errorf("after waiting for one less: %+v", w)
			}
			view(t, db, func(tx store.Tx) error {
				n, err := tx.KeysWaiting(ctx, it.ID)
				if n != 1 {
					t.Errorf("KeysWaiting %d, want 1", n)
				}
				if none, err := tx.KeysWaiting(ctx, it.ID+1000); none != 0 || err != nil {
					t.Errorf("an item that waits for nothing: %d %v", none, err)
				}
				return err
			})
			// A revoked grant's item waits for nothing; 0 forgets it.
			g := *f.Grant
			g.State = vend.GrantRevoked
			update(t, db, func(tx store.Tx) error { return tx.UpdateGrant(ctx, &g) })
			if w := waiting(""); len(w) != 0 {
				t.Errorf("a revoked grant's item waits: %+v", w)
			}
			update(t, db, func(tx store.Tx) error { return tx.SetWaiting(ctx, f.Grant, 0) })
		},
		"a product's licence policy and updates, a grant's updates_until and a file's retirement round-trip": func(t *testing.T, db store.DB) {
			f := mustFixture(t, db, "p")
			p := f.Product
			p.License = vend.LicensePolicy{Mode: vend.LicenseGenerated, ActivationLimit: vend.Unlimited, Length: 365 * 24 * time.Hour,
				KeyFormat: "APP-XXXXXXXXXXXXXXXX", LowStock: 7}
			p.UpdatesFor, p.RenewURL = 30*24*time.Hour, "https://shop.example/renew"
			update(t, db, func(tx store.Tx) error { return tx.SaveProduct(ctx, p) })
			var got *vend.Product
			view(t, db, func(tx store.Tx) error {
				var err error
				got, err = tx.FindProductByID(ctx, p.ID)
				return err
			})
			if got.License != p.License || got.UpdatesFor != p.UpdatesFor || got.RenewURL != p.RenewURL {
				t.Errorf("product read back %+v %v %q, want %+v", got.License, got.UpdatesFor, got.RenewURL, p.License)
			}
			g := f.Grant
			g.UpdatesUntil = time.Now().Add(48 * time.Hour)
			update(t, db, func(tx store.Tx) error { return tx.UpdateGrant(ctx, g) })
			view(t, db, func(tx store.Tx) error {
				back, err := tx.FindGrantByID(ctx, g.ID)
				if err == nil && !sameTime(back.UpdatesUntil, g.UpdatesUntil) {
					t.Errorf("grant updates until %v, want %v", back.UpdatesUntil, g.UpdatesUntil)
				}
				return err
			})
			next := &vend.File{Name: "v2.zip", Key: "k2", Size: 2, SHA256: sha("v2")}
			var at time.Time
			update(t, db, func(tx store.Tx) error { at = tx.Now(); return tx.SetFiles(ctx, p.ID, []*vend.File{next}) })
			var versions []*vend.File
			view(t, db, func(tx store.Tx) error {
				var err error
				versions, err = tx.FindFileVersions(ctx, p.ID)
				return err
			})
			for _, v := range versions {
				switch v.ID {
				case next.ID:
					if !v.RetiredAt.IsZero() {
						t.Errorf("the current file is retired at %v", v.RetiredAt)
					}
				case f.File.ID:
					if !sameTime(v.RetiredAt, at) {
						t.Errorf("the replaced file retired at %v, want %v", v.RetiredAt, at)
					}
				}
			}
		},
	})
}
