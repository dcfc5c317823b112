package catalog_test

import (
	"context"
	"sync"
	"testing"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/catalog"
	"github.com/vend-shop/vend/store"
	"github.com/vend-shop/vend/store/sqlite/sqlitetest"
)

func TestEditProduct(t *testing.T) {
	ctx := context.Background()
	db := sqlitetest.MustOpenDB(t)
	p := catalog.NewProduct("BOOK")
	if err := (catalog.Fields{Name: "Book", Price: "19.95", Currency: "eur"}).Apply(p); err != nil {
		t.Fatal(err)
	}
	if err := catalog.CreateProduct(ctx, db, "cli", p); err != nil {
		t.Fatal(err)
	}
	if err := catalog.CreateProduct(ctx, db, "cli", p); vend.ErrorCode(err) != vend.ECONFLICT {
		t.Errorf("creating it twice: %v", err)
	}
	if got, err := catalog.EditProduct(ctx, db, "cli", "BOOK", catalog.Fields{Limit: "0"}); vend.ErrorCode(err) != vend.EINVALID || got == nil || got.DownloadLimit != 0 {
		t.Errorf("a limit of 0: %+v %v", got, err)
	}
	if _, err := catalog.EditProduct(ctx, db, "cli", "NOPE", catalog.Fields{Name: "x"}); vend.ErrorCode(err) != vend.ENOTFOUND {
		t.Errorf("no such product: %v", err)
	}

	// Edits of different fields at once each keep the other's.
	for i := range 20 {
		var wg sync.WaitGroup
		name, price := "Book "+string(rune('A'+i)), vend.Amount(2000+i)
		wg.Go(func() {
			if _, err := catalog.EditProduct(ctx, db, "user:a", "BOOK", catalog.Fields{Name: name}); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			if _, err := catalog.EditProduct(ctx, db, "user:b", "BOOK", catalog.Fields{Price: price.String()}); err != nil {
				t.Error(err)
			}
		})
		wg.Wait()
		var got *vend.Product
		err := db.View(ctx, func(tx store.Tx) (err error) {
			got, err = tx.FindProductByID(ctx, "BOOK")
			return err
		})
		if err != nil || got.Name != name || got.Price != price || got.Currency != "EUR" {
			t.Fatalf("round %d: %+v %v, want name %q and price %s", i, got, err, name, price)
		}
	}
	var trail []*vend.AuditEntry
	err := db.View(ctx, func(tx store.Tx) (err error) {
		trail, err = tx.FindAuditEntries(ctx, store.AuditFilter{Target: "product:BOOK", Limit: 100})
		return err
	})
	if err != nil || len(trail) != 41 || trail[40].Action != "product.create" || trail[0].Action != "product.edit" {
		t.Errorf("audit: %d entries, %v", len(trail), err)
	}
}
