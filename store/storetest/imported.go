package storetest

import (
	"testing"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

func testImportedItems(t *testing.T, open Opener) {
	subtests(t, open, map[string]func(t *testing.T, db store.DB){
		"SaveImportedItem adds once, FindImportedItem finds it by provider and txn id": func(t *testing.T, db store.DB) {
			view(t, db, func(tx store.Tx) error {
				_, err := tx.FindImportedItem(ctx, "websale", "shop/1/W1/111")
				wantNotFound(t, "an item never imported", err)
				return nil
			})
			it := &vend.ImportedItem{Provider: "websale", OrderRef: "shop/1/W1", TxnID: "shop/1/W1/111", Email: "Kunde@example.de"}
			var added, again bool
			update(t, db, func(tx store.Tx) error {
				var err error
				added, err = tx.SaveImportedItem(ctx, it)
				return err
			})
			at := now(t, db)
			update(t, db, func(tx store.Tx) error {
				var err error
				again, err = tx.SaveImportedItem(ctx, &vend.ImportedItem{Provider: "websale", OrderRef: "shop/1/W1", TxnID: "shop/1/W1/111", Email: "Kunde@example.de"})
				return err
			})
			if !added || again {
				t.Errorf("added %v then %v, want true then false", added, again)
			}
			view(t, db, func(tx store.Tx) error {
				got, err := tx.FindImportedItem(ctx, "websale", "shop/1/W1/111")
				if err != nil {
					return err
				}
				if got.OrderRef != it.OrderRef || got.Email != it.Email || !sameTime(got.CreatedAt, it.CreatedAt) ||
					!sameTime(got.UpdatedAt, it.CreatedAt) || got.CreatedAt.After(at) {
					t.Errorf("found %+v, want %+v unchanged by the second save", got, it)
				}
				for _, other := range [][2]string{{"paypal", "shop/1/W1/111"}, {"websale", "shop/1/W1/222"}} {
					_, err := tx.FindImportedItem(ctx, other[0], other[1])
					wantNotFound(t, "another provider's or item's", err)
				}
				return nil
			})
		},
		"a later import corrects the email address": func(t *testing.T, db store.DB) {
			update(t, db, func(tx store.Tx) error {
				_, err := tx.SaveImportedItem(ctx, &vend.ImportedItem{Provider: "websale", OrderRef: "shop/1/W2", TxnID: "shop/1/W2/111", Email: "old@example.de"})
				return err
			})
			update(t, db, func(tx store.Tx) error {
				_, err := tx.SaveImportedItem(ctx, &vend.ImportedItem{Provider: "websale", OrderRef: "shop/1/W2", TxnID: "shop/1/W2/111", Email: "new@example.de"})
				return err
			})
			view(t, db, func(tx store.Tx) error {
				got, err := tx.FindImportedItem(ctx, "websale", "shop/1/W2/111")
				if err == nil && got.Email != "new@example.de" {
					t.Errorf("email %q after the second import, want new@example.de", got.Email)
				}
				return err
			})
		},
	})
}
