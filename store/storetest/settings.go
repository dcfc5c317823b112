package storetest

import (
	"testing"

	"github.com/vend-shop/vend/store"
)

func testSettings(t *testing.T, open Opener) {
	subtests(t, open, map[string]func(t *testing.T, db store.DB){
		"CreateSetting stores once; the first value stays": func(t *testing.T, db store.DB) {
			view(t, db, func(tx store.Tx) error {
				_, err := tx.FindSetting(ctx, "link_secret")
				wantNotFound(t, "a setting never stored", err)
				return nil
			})
			var first, second bool
			update(t, db, func(tx store.Tx) error {
				var err error
				first, err = tx.CreateSetting(ctx, "link_secret", "aaaa")
				return err
			})
			update(t, db, func(tx store.Tx) error {
				var err error
				second, err = tx.CreateSetting(ctx, "link_secret", "bbbb")
				return err
			})
			if !first || second {
				t.Errorf("created %v then %v, want true then false", first, second)
			}
			view(t, db, func(tx store.Tx) error {
				v, err := tx.FindSetting(ctx, "link_secret")
				if v != "aaaa" {
					t.Errorf("value %q, want the first one", v)
				}
				return err
			})
		},
		"PutSetting stores and replaces": func(t *testing.T, db store.DB) {
			for _, v := range []string{"one", "two"} {
				update(t, db, func(tx store.Tx) error { return tx.PutSetting(ctx, "self_test", v) })
				view(t, db, func(tx store.Tx) error {
					got, err := tx.FindSetting(ctx, "self_test")
					if got != v {
						t.Errorf("value %q, want %q", got, v)
					}
					return err
				})
			}
		},
	})
}
