package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

func testReleases(t *testing.T, open Opener) {
	subtests(t, open, map[string]func(t *testing.T, db store.DB){
		"CreateRelease, FindRelease and UpdateRelease keep every field": func(t *testing.T, db store.DB) {
			mustProduct(t, db, "BOOK")
			r := &vend.Release{ProductID: "BOOK", Version: "2nd edition", Notify: true, Reset: true, Actor: "user:alice",
				Status: vend.ReleaseRunning, Total: 3}
			update(t, db, func(tx store.Tx) error { return tx.CreateRelease(ctx, r) })
			if r.ID == 0 || r.CreatedAt.IsZero() {
				t.Fatalf("created %+v: no id or time", r)
			}
			view(t, db, func(tx store.Tx) error {
				got, err := tx.FindRelease(ctx, r.ID)
				if err == nil && (got.ProductID != "BOOK" || got.Version != "2nd edition" || !got.Notify || !got.Reset ||
					got.Actor != "user:alice" || got.Status != vend.ReleaseRunning || got.Total != 3 || got.Done != 0) {
					t.Errorf("found %+v", got)
				}
				return err
			})
			r.Status, r.Done, r.Cursor = vend.ReleaseDone, 3, 42
			update(t, db, func(tx store.Tx) error { return tx.UpdateRelease(ctx, r) })
			view(t, db, func(tx store.Tx) error {
				got, err := tx.FindRelease(ctx, r.ID)
				if err == nil && (got.Status != vend.ReleaseDone || got.Done != 3 || got.Cursor != 42) {
					t.Errorf("after the update %+v", got)
				}
				_, nf := tx.FindRelease(ctx, r.ID+100)
				wantNotFound(t, "a release that does not exist", nf)
				return err
			})
		},
		"FindReleases: newest first, running ones only when asked, at most limit": func(t *testing.T, db store.DB) {
			mustProduct(t, db, "BOOK")
			var ids []int64
			for i, status := range []vend.ReleaseStatus{vend.ReleaseDone, vend.ReleaseRunning, vend.ReleaseDone, vend.ReleaseRunning} {
				r := &vend.Release{ProductID: "BOOK", Version: fmt.Sprint(i), Actor: "cli", Status: status}
				update(t, db, func(tx store.Tx) error { return tx.CreateRelease(ctx, r) })
				ids = append(ids, r.ID)
			}
			view(t, db, func(tx store.Tx) error {
				all, err := tx.FindReleases(ctx, false, 10)
				if err != nil {
					return err
				}
				if got := releaseIDs(all); fmt.Sprint(got) != fmt.Sprint([]int64{ids[3], ids[2], ids[1], ids[0]}) {
					t.Errorf("all releases %v, want newest first of %v", got, ids)
				}
				running, err := tx.FindReleases(ctx, true, 10)
				if err != nil {
					return err
				}
				if got := releaseIDs(running); fmt.Sprint(got) != fmt.Sprint([]int64{ids[3], ids[1]}) {
					t.Errorf("running releases %v, want %d and %d", got, ids[3], ids[1])
				}
				two, err := tx.FindReleases(ctx, false, 2)
				if len(two) != 2 {
					t.Errorf("limit 2 gave %d releases", len(two))
				}
				return err
			})
		},
		"FindActiveGrants pages a product's active grants by id; CountActiveGrants counts them": func(t *testing.T, db store.DB) {
			book, other := mustProduct(t, db, "BOOK"), mustProduct(t, db, "OTHER")
			var active []int64
			for i := range 5 {
				o, it := mustOrder(t, db, fmt.Sprintf("TXN-%d", i), book)
				g := mustGrant(t, db, o, it, fmt.Sprintf("pub-%d", i))
				if i == 2 { // a refunded buyer is not told
					g.State, g.Reason = vend.GrantRevoked, "refunded"
					update(t, db, func(tx store.Tx) error { return tx.UpdateGrant(ctx, g) })
					continue
				}
				active = append(active, g.ID)
			}
			o, it := mustOrder(t, db, "TXN-OTHER", other)
			mustGrant(t, db, o, it, "pub-other")
			view(t, db, func(tx store.Tx) error {
				n, err := tx.CountActiveGrants(ctx, "BOOK")
				if err != nil {
					return err
				}
				if n != 4 {
					t.Errorf("CountActiveGrants = %d, want 4", n)
				}
				first, err := tx.FindActiveGrants(ctx, "BOOK", 0, 3)
				if err != nil {
					return err
				}
				rest, err := tx.FindActiveGrants(ctx, "BOOK", first[len(first)-1].ID, 3)
				if err != nil {
					return err
				}
				if got := grantIDs(append(first, rest...)); fmt.Sprint(got) != fmt.Sprint(active) || len(first) != 3 {
					t.Errorf("pages %v then %v, want %v in pages of 3", grantIDs(first), grantIDs(rest), active)
				}
				none, err := tx.FindActiveGrants(ctx, "BOOK", active[len(active)-1], 3)
				if len(none) != 0 {
					t.Errorf("after the last grant: %v", grantIDs(none))
				}
				return err
			})
		},
		"LockRelease: two workers stepping one release at once lose no step": func(t *testing.T, db store.DB) {
			mustProduct(t, db, "BOOK")
			r := &vend.Release{ProductID: "BOOK", Actor: "cli", Status: vend.ReleaseRunning}
			update(t, db, func(tx store.Tx) error { return tx.CreateRelease(ctx, r) })
			const workers = 8
			var wg sync.WaitGroup
			for range workers {
				wg.Go(func() {
					// Read, then write back one more: without the lock, two
					// transactions read the same Done and one step is lost.
					err := db.Update(ctx, func(tx store.Tx) error {
						if err := tx.LockRelease(ctx, r.ID); err != nil {
							return err
						}
						got, err := tx.FindRelease(ctx, r.ID)
						if err != nil {
							return err
						}
						got.Done++
						return tx.UpdateRelease(ctx, got)
					})
					if err != nil {
						t.Errorf("step: %v", err)
					}
				})
			}
			wg.Wait()
			view(t, db, func(tx store.Tx) error {
				got, err := tx.FindRelease(ctx, r.ID)
				if err == nil && got.Done != workers {
					t.Errorf("Done = %d after %d steps", got.Done, workers)
				}
				return err
			})
		},
	})
}
