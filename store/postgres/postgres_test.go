package postgres_test

import (
	"context"
	"database/sql"
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

// TestDB_CounterMigration: migration 00021 counts the attempts and sessions
// a ledger already holds.
func TestDB_CounterMigration(t *testing.T) {
	url := pgtest.URL(t)
	db := postgres.NewDB(url)
	if err := db.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	storetest.RunCounterMigration(t, db, func(t *testing.T) store.DB {
		db.Close()
		raw, err := sql.Open("pgx", url)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		for _, q := range storetest.UndoCounterDays {
			if _, err := raw.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		db := postgres.NewDB(url)
		if err := db.Open(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}
