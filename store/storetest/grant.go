package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

func findGrant(tb testing.TB, db store.DB, id int64) *vend.Grant {
	tb.Helper()
	var g *vend.Grant
	view(tb, db, func(tx store.Tx) error {
		var err error
		g, err = tx.FindGrantByID(ctx, id)
		return err
	})
	return g
}

func sameGrant(a, b *vend.Grant) bool {
	return a.ID == b.ID && a.ItemID == b.ItemID && a.OrderID == b.OrderID && a.ProductID == b.ProductID && a.PublicID == b.PublicID &&
		a.State == b.State && a.Reason == b.Reason && a.DownloadLimit == b.DownloadLimit && a.DownloadsUsed == b.DownloadsUsed &&
		sameTime(a.ExpiresAt, b.ExpiresAt) && a.ExpiresAt.IsZero() == b.ExpiresAt.IsZero() &&
		sameTime(a.CreatedAt, b.CreatedAt) && sameTime(a.UpdatedAt, b.UpdatedAt)
}

func addUsed(tb testing.TB, db store.DB, id int64, delta int) {
	tb.Helper()
	update(tb, db, func(tx store.Tx) error { return tx.AddDownloadsUsed(ctx, id, delta) })
}

func testGrants(t *testing.T, open Opener) {
	subtests(t, open, map[string]func(t *testing.T, db store.DB){
		"LockGrant and LockOrderRef hold until the transaction ends, then others proceed": func(t *testing.T, db store.DB) {
			f := mustFixture(t, db, "p")
			for range 2 { // the second time, the first lock must have been released
				update(t, db, func(tx store.Tx) error {
					if err := tx.LockGrant(ctx, f.Grant.ID); err != nil {
						return err
					}
					return tx.LockOrderRef(ctx, "paypal", f.Order.Ref)
				})
			}
			done := make(chan error, 2)
			for range 2 {
				go func() {
					done <- db.Update(ctx, func(tx store.Tx) error {
						if err := tx.LockGrant(ctx, f.Grant.ID); err != nil {
							return err
						}
						return tx.AddDownloadsUsed(ctx, f.Grant.ID, 1)
					})
				}()
			}
			for range 2 {
				if err := <-done; err != nil {
					t.Fatal(err)
				}
			}
			if got := findGrant(t, db, f.Grant.ID).DownloadsUsed; got != 2 {
				t.Errorf("downloads used %d, want 2", got)
			}
		},
		"CreateGrant stores every field, found by id, public id and order": func(t *testing.T, db store.DB) {
			p := mustProduct(t, db, "p")
			o, it := mustOrder(t, db, "T1", p)
			expires := time.Date(2030, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
			g := &vend.Grant{ItemID: it.ID, OrderID: o.ID, ProductID: p.ID, PublicID: "pub1", State: vend.GrantActive,
				DownloadLimit: 3, DownloadsUsed: 1, ExpiresAt: expires}
			var at time.Time
			update(t, db, func(tx store.Tx) error { at = tx.Now(); return tx.CreateGrant(ctx, g) })
			if g.ID == 0 || !g.CreatedAt.Equal(at) || !g.UpdatedAt.Equal(at) {
				t.Fatalf("CreateGrant left id %d created %v, want Now %v", g.ID, g.CreatedAt, at)
			}
			view(t, db, func(tx store.Tx) error {
				byPublic, err := tx.FindGrantByPublicID(ctx, "pub1")
				if err != nil {
					return err
				}
				byOrder, err := tx.FindGrantsByOrder(ctx, o.ID)
				if err != nil {
					return err
				}
				byID, err := tx.FindGrantByID(ctx, g.ID)
				if err != nil {
					return err
				}
				if len(byOrder) != 1 {
					t.Fatalf("%d grants of the order, want 1", len(byOrder))
				}
				for name, got := range map[string]*vend.Grant{"by id": byID, "by public id": byPublic, "by order": byOrder[0]} {
					if !sameGrant(got, g) {
						t.Errorf("%s: got %+v, want %+v", name, got, g)
					}
				}
				return nil
			})
		},
		"a grant that never expires reads back with a zero ExpiresAt": func(t *testing.T, db store.DB) {
			f := mustFixture(t, db, "p")
			if got := findGrant(t, db, f.Grant.ID); !got.ExpiresAt.IsZero() || got.Expired(time.Now().Add(100*365*24*time.Hour)) {
				t.Errorf("ExpiresAt = %v, want zero", got.ExpiresAt)
			}
		},
		"one grant per item": func(t *testing.T, db store.DB) {
			f := mustFixture(t, db, "p")
			err := db.Update(ctx, func(tx store.Tx) error {
				return tx.CreateGrant(ctx, &vend.Grant{ItemID: f.Item.ID, OrderID: f.Order.ID, ProductID: "p", PublicID: "other", State: vend.GrantActive})
			})
			if err == nil {
				t.Error("a second grant for the same item was created")
			}
		},
		"public ids are unique": func(t *testing.T, db store.DB) {
			f := mustFixture(t, db, "p")
			var it *vend.Item
			update(t, db, func(tx store.Tx) error {
				it = &vend.Item{OrderID: f.Order.ID, ProductID: "p", Quantity: 1}
				return tx.CreateItem(ctx, it)
			})
			err := db.Update(ctx, func(tx store.Tx) error {
				return tx.CreateGrant(ctx, &vend.Grant{ItemID: it.ID, OrderID: f.Order.ID, ProductID: "p", PublicID: f.Grant.PublicID, State: vend.GrantActive})
			})
			if err == nil {
				t.Error("a second grant with the same public id was created")
			}
		},
		"FindGrantByPublicID compares exactly": func(t *testing.T, db store.DB) {
			mustGrantFor := mustFixture(t, db, "p")
			view(t, db, func(tx store.Tx) error {
				for _, id := range []string{"PUB-P", "pub-p ", "pub-", "", "pub-p%"} {
					_, err := tx.FindGrantByPublicID(ctx, id)
					wantNotFound(t, "FindGrantByPublicID("+id+")", err)
				}
				g, err := tx.FindGrantByPublicID(ctx, mustGrantFor.Grant.PublicID)
				if err == nil && g.ID != mustGrantFor.Grant.ID {
					t.Errorf("found grant %d, want %d", g.ID, mustGrantFor.Grant.ID)
				}
				return err
			})
		},
		"UpdateGrant changes state, reason, limit, count and expiry": func(t *testing.T, db store.DB) {
			f := mustFixture(t, db, "p")
			g := f.Grant
			time.Sleep(5 * time.Millisecond)
			g.State, g.Reason, g.DownloadLimit, g.DownloadsUsed, g.ExpiresAt = vend.GrantRevoked, "refunded", 10, 4, time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
			update(t, db, func(tx store.Tx) error { return tx.UpdateGrant(ctx, g) })
			got := findGrant(t, db, g.ID)
			if !sameGrant(got, g) || !got.UpdatedAt.After(got.CreatedAt) {
				t.Errorf("got %+v, want %+v", got, g)
			}
			g.State, g.Reason, g.ExpiresAt = vend.GrantActive, "", time.Time{}
			update(t, db, func(tx store.Tx) error { return tx.UpdateGrant(ctx, g) })
			if got := findGrant(t, db, g.ID); !sameGrant(got, g) {
				t.Errorf("after restore got %+v, want %+v", got, g)
			}
		},
		"FindGrantsByOrder lists the order's grants in creation order": func(t *testing.T, db store.DB) {
			a := mustFixture(t, db, "a")
			mustFixture(t, db, "b")
			var it *vend.Item
			update(t, db, func(tx store.Tx) error {
				it = &vend.Item{OrderID: a.Order.ID, ProductID: "b", Quantity: 1}
				return tx.CreateItem(ctx, it)
			})
			second := mustGrant(t, db, a.Order, it, "second")
			view(t, db, func(tx store.Tx) error {
				gs, err := tx.FindGrantsByOrder(ctx, a.Order.ID)
				if len(gs) != 2 || gs[0].ID != a.Grant.ID || gs[1].ID != second.ID {
					t.Errorf("got %d grants, want %d then %d", len(gs), a.Grant.ID, second.ID)
				}
				if none, _ := tx.FindGrantsByOrder(ctx, a.Order.ID+1000); len(none) != 0 {
					t.Errorf("missing order has %d grants", len(none))
				}
				return err
			})
		},
		"AddDownloadsUsed adds and never goes below 0": func(t *testing.T, db store.DB) {
			f := mustFixture(t, db, "p")
			tests := []struct {
				delta, want int
			}{{-1, 0}, {-5, 0}, {1, 1}, {2, 3}, {-1, 2}, {-10, 0}, {0, 0}, {1, 1}}
			for _, tt := range tests {
				addUsed(t, db, f.Grant.ID, tt.delta)
				if got := findGrant(t, db, f.Grant.ID).DownloadsUsed; got != tt.want {
					t.Errorf("after %+d: downloads used %d, want %d", tt.delta, got, tt.want)
				}
			}
		},
		"AddDownloadsUsed from 50 goroutines counts every one": func(t *testing.T, db store.DB) {
			f := mustFixture(t, db, "p")
			var wg sync.WaitGroup
			for range 50 {
				wg.Go(func() {
					if err := db.Update(ctx, func(tx store.Tx) error { return tx.AddDownloadsUsed(ctx, f.Grant.ID, 1) }); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if got := findGrant(t, db, f.Grant.ID).DownloadsUsed; got != 50 {
				t.Errorf("downloads used %d, want 50", got)
			}
		},
		"AddDownloadsUsed touches only its grant": func(t *testing.T, db store.DB) {
			a := mustFixture(t, db, "a")
			b := mustFixture(t, db, "b")
			addUsed(t, db, a.Grant.ID, 2)
			if got := findGrant(t, db, b.Grant.ID).DownloadsUsed; got != 0 {
				t.Errorf("other grant used %d", got)
			}
		},
	})
}
