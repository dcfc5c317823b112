package postgres_test

import (
	"context"
	"sync"
	"testing"

	"github.com/vend-shop/vend/store"
	"github.com/vend-shop/vend/store/postgres"
	"github.com/vend-shop/vend/store/postgres/pgtest"
	"github.com/vend-shop/vend/store/storetest"
)

func TestDB(t *testing.T) {
	storetest.Run(t, func(tb testing.TB) store.DB { return pgtest.MustOpenDB(tb) })
}

// TestDB_Migrate_Concurrent: instances that start at once on an empty database
// migrate it once, and all of them come up.
func TestDB_Migrate_Concurrent(t *testing.T) {
	url := pgtest.URL(t)
	var wg sync.WaitGroup
	errs := make([]error, 5)
	for i := range errs {
		wg.Go(func() {
			db := postgres.NewDB(url)
			db.MaxConns = 2
			errs[i] = db.Open(context.Background())
			db.Close()
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("instance %d: %v", i, err)
		}
	}
}
